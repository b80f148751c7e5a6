package wecom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of DecodeChatMessage. They never quote the plaintext.
var (
	// ErrChatNotObject: the plaintext is not one JSON object.
	ErrChatNotObject = errors.New("wecom: archive message is not a JSON object")
	// ErrChatNoMsgID: the plaintext is a JSON object without a msgid.
	ErrChatNoMsgID = errors.New("wecom: archive message has no msgid")
)

// maxNestedJSON bounds how many times a JSON string inside the message
// (chatrecord / mixed / note item content) is decoded again: a chatrecord
// inside a chatrecord inside … stops there.
const maxNestedJSON = 8

// DecodeChatMessage decodes one decrypted archive record (ARCHIVE.md §1),
// leniently: every documented shape (the payload key that differs from
// msgtype, vote at the top level or under "vote", switch records,
// agree_time / disagree_time, ids above 2^53 kept exact, JSON strings
// inside JSON decoded again) and any unknown type, which still gives its
// common fields, a Text made of the "content" strings found in it, its
// Media and Raw. Raw control bytes (< 0x20) inside strings are escaped to
// \u00XX first, never deleted; Raw is that escaped JSON.
//
// It fails only when plain is not a JSON object (ErrChatNotObject) or has
// no msgid (ErrChatNoMsgID); the errors never quote plain.
func DecodeChatMessage(plain []byte) (ChatMessage, error) {
	raw := escapeControlBytes(plain)
	if !json.Valid(raw) {
		return ChatMessage{}, fmt.Errorf("decode archive message (%d bytes): invalid JSON: %w", len(plain), ErrChatNotObject)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ChatMessage{}, fmt.Errorf("decode archive message (%d bytes): %w", len(plain), ErrChatNotObject)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return ChatMessage{}, fmt.Errorf("decode archive message (%d bytes): top level is %s: %w", len(plain), jsonKind(v), ErrChatNotObject)
	}
	if _, err := dec.Token(); err != io.EOF {
		// json.Valid already refuses trailing data; kept for safety.
		return ChatMessage{}, fmt.Errorf("decode archive message (%d bytes): data after the object: %w", len(plain), ErrChatNotObject)
	}

	m := ChatMessage{Raw: raw}
	m.MsgID = scalarString(obj["msgid"])
	if m.MsgID == "" {
		return ChatMessage{}, fmt.Errorf("decode archive message (%d bytes): field msgid: missing or empty: %w", len(plain), ErrChatNoMsgID)
	}
	m.Action = scalarString(obj["action"])
	m.Type = scalarString(obj["msgtype"])
	m.From = scalarString(obj["from"])
	m.ToList = stringList(obj["tolist"])
	m.RoomID = scalarString(obj["roomid"])
	m.Time = msTime(obj["msgtime"])

	if m.Action == ActionSwitch {
		m.SwitchUser = scalarString(obj["user"])
		if t := msTime(obj["time"]); !t.IsZero() {
			m.Time = t
		}
	}

	payload := chatPayload(obj, m.Type)
	switch m.Type {
	case "revoke":
		m.PreMsgID = scalarString(payload["pre_msgid"])
	case "agree", "disagree":
		a := &ChatAgree{UserID: scalarString(payload["userid"]), Agreed: m.Type == "agree"}
		a.Time = msTime(payload["agree_time"])
		if a.Time.IsZero() {
			a.Time = msTime(payload["disagree_time"])
		}
		m.Agree = a
	}

	var tb textBuilder
	if m.Type == "" || !chatText(&tb, m.Type, payload, 0) {
		// An unknown type (or none): every "content" string in it.
		contentTexts(&tb, obj, 0)
	}
	m.Text = tb.String()

	var mc mediaCollector
	mc.walk(obj, m.Type, 0)
	m.Media = mc.media
	return m, nil
}

// escapeControlBytes returns plain with every raw byte < 0x20 inside a
// JSON string replaced by \u00XX (a backslash followed by one becomes the
// escape of that byte). Bytes outside strings are kept: whitespace there
// is legal JSON, anything else is invalid either way. plain itself is
// returned when nothing needs escaping.
func escapeControlBytes(plain []byte) []byte {
	const hexdigits = "0123456789abcdef"
	var out []byte
	inStr, esc := false, false
	for i, c := range plain {
		if !inStr {
			if c == '"' {
				inStr = true
			}
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		if c < 0x20 {
			if out == nil {
				out = make([]byte, i, len(plain)+16)
				copy(out, plain[:i])
			}
			if !esc {
				out = append(out, '\\')
			}
			esc = false
			out = append(out, 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
			continue
		}
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inStr = false
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return plain
	}
	return out
}

// chatPayload returns the object holding msgtype's fields (ARCHIVE.md
// §1.4): the key differs from msgtype for docmsg, external_redpacket and
// the "info" types; vote's fields may sit at the top level or under
// "vote". An absent or non-object payload gives an empty map.
func chatPayload(obj map[string]any, msgtype string) map[string]any {
	key := msgtype
	switch msgtype {
	case "docmsg":
		key = "doc"
	case "external_redpacket":
		key = "redpacket"
	case "markdown", "news", "voiptext", "qydiskfile", "meeting_notification", "solitaire", "note":
		key = "info"
	case "vote":
		if p, ok := obj["vote"].(map[string]any); ok {
			return p
		}
		return obj
	case "":
		return map[string]any{}
	}
	if p, ok := obj[key].(map[string]any); ok {
		return p
	}
	// A lenient second look: the payload under msgtype itself, or "info".
	if p, ok := obj[msgtype].(map[string]any); ok {
		return p
	}
	if p, ok := obj["info"].(map[string]any); ok && key != "info" {
		return p
	}
	return map[string]any{}
}

// chatText appends the searchable text of a payload of type typ to tb and
// reports whether typ is a type it knows (an unknown one falls back to the
// "content" strings). depth counts the JSON strings decoded again so far.
func chatText(tb *textBuilder, typ string, p map[string]any, depth int) bool {
	switch typ {
	case "text", "markdown", "meeting_notification":
		tb.add(p["content"])
	case "link":
		tb.add(p["title"], p["description"])
	case "file", "qydiskfile", "voip_doc_share":
		tb.add(p["filename"])
	case "news":
		for _, it := range objects(firstOf(p, "item", "items")) {
			tb.add(it["title"], it["description"])
		}
	case "card":
		tb.add(p["corpname"])
	case "location":
		tb.add(p["title"], p["address"])
	case "weapp":
		tb.add(p["title"], p["description"])
	case "calendar":
		tb.add(p["title"], p["place"], p["remarks"])
	case "collect":
		tb.add(p["title"])
	case "meeting":
		tb.add(p["topic"], p["address"], p["remarks"])
	case "sphfeed":
		tb.add(p["sph_name"], p["feed_desc"])
	case "docmsg", "doc":
		tb.add(p["title"])
	case "solitaire":
		tb.add(p["solitaire_content"])
	case "todo":
		tb.add(p["title"], p["content"])
	case "vote":
		tb.add(p["votetitle"])
		if items, ok := p["voteitem"].([]any); ok {
			for _, it := range items {
				tb.add(it)
			}
		}
	case "redpacket", "external_redpacket":
		tb.add(p["wish"])
	case "chatrecord":
		tb.add(p["title"])
		nestedTexts(tb, firstOf(p, "item", "items"), depth)
	case "mixed", "note":
		nestedTexts(tb, firstOf(p, "item", "items"), depth)
	case "image", "voice", "video", "emotion", "revoke", "agree", "disagree",
		"voiptext", "meeting_voice_call":
		// No text of their own.
	default:
		return false
	}
	return true
}

// nestedTexts appends the texts of chatrecord / mixed / note items: each
// item's type ("type" or "msg_type", ChatRecordText → text) selects how
// its content, a JSON string decoded again (or an object), is read.
func nestedTexts(tb *textBuilder, items any, depth int) {
	for _, it := range objects(items) {
		typ := itemType(it)
		content, ok := nestedJSON(it["content"], depth)
		if !ok {
			// Not JSON: a plain string is text as it is (JSON past the
			// nesting bound is not).
			if s, isStr := it["content"].(string); isStr && !looksJSON(s) {
				tb.add(s)
			}
			continue
		}
		p, isObj := content.(map[string]any)
		if !isObj || !chatText(tb, typ, p, depth+1) {
			contentTexts(tb, content, depth+1)
		}
	}
}

// contentTexts appends every "content" string found in v (nested JSON
// strings under "content" decoded again): the text of a type it does not
// know.
func contentTexts(tb *textBuilder, v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			val := x[k]
			if k == "content" {
				if nested, ok := nestedJSON(val, depth); ok {
					contentTexts(tb, nested, depth+1)
					continue
				}
				if s, ok := val.(string); ok {
					tb.add(s)
					continue
				}
			}
			contentTexts(tb, val, depth)
		}
	case []any:
		for _, e := range x {
			contentTexts(tb, e, depth)
		}
	}
}

// nestedJSON decodes v again when it is a string holding a JSON object or
// array (chatrecord / mixed / note item content), within maxNestedJSON;
// an object or array is returned as it is.
func nestedJSON(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case map[string]any, []any:
		return x, true
	case string:
		if depth >= maxNestedJSON {
			return nil, false
		}
		if !looksJSON(x) {
			return nil, false
		}
		s := strings.TrimSpace(x)
		b := escapeControlBytes([]byte(s))
		if !json.Valid(b) {
			return nil, false
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var out any
		if err := dec.Decode(&out); err != nil {
			return nil, false
		}
		return out, true
	}
	return nil, false
}

// looksJSON reports whether s starts like a JSON object or array.
func looksJSON(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && (s[0] == '{' || s[0] == '[')
}

// itemType is the type of a chatrecord / mixed / note item, normalised to
// the top-level msgtype it mirrors: "ChatRecordText" → "text",
// "ChatRecordMixed" → "mixed", "file" → "file".
func itemType(it map[string]any) string {
	t, _ := it["type"].(string)
	if t == "" {
		t, _ = it["msg_type"].(string)
	}
	t = strings.ToLower(t)
	if rest, ok := strings.CutPrefix(t, "chatrecord"); ok && rest != "" {
		t = rest
	}
	if t == "doc" {
		t = "docmsg"
	}
	return t
}

// mediaCollector gathers every object with an sdkfileid, nested JSON
// strings included, once per sdkfileid.
type mediaCollector struct {
	media []ChatMedia
	seen  map[string]bool
}

func (c *mediaCollector) walk(v any, typ string, depth int) {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["sdkfileid"].(string); ok && id != "" && !c.seen[id] {
			if c.seen == nil {
				c.seen = make(map[string]bool)
			}
			c.seen[id] = true
			c.media = append(c.media, ChatMedia{
				Type:      typ,
				SDKFileID: id,
				MD5Sum:    scalarString(x["md5sum"]),
				Size:      int64Of(firstOf(x, "filesize", "voice_size", "imagesize", "fileSize", "size")),
				FileName:  scalarString(x["filename"]),
			})
		}
		childType := typ
		if t := itemType(x); t != "" {
			if _, hasContent := x["content"]; hasContent {
				childType = t
			}
		}
		for _, k := range sortedKeys(x) {
			val := x[k]
			switch k {
			case "sdkfileid":
				continue
			case "content":
				if nested, ok := nestedJSON(val, depth); ok {
					c.walk(nested, childType, depth+1)
					continue
				}
			}
			if isMediaPayloadKey(k) {
				// The payload key of a media type names its media.
				c.walk(val, k, depth)
				continue
			}
			c.walk(val, typ, depth)
		}
	case []any:
		for _, e := range x {
			c.walk(e, typ, depth)
		}
	}
}

// isMediaPayloadKey: keys whose object is a media payload of that type.
func isMediaPayloadKey(k string) bool {
	switch k {
	case "image", "voice", "video", "file", "emotion", "meeting_voice_call", "voip_doc_share":
		return true
	}
	return false
}

// textBuilder joins non-empty texts with newlines.
type textBuilder struct{ b strings.Builder }

func (t *textBuilder) add(vs ...any) {
	for _, v := range vs {
		s, ok := v.(string)
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if t.b.Len() > 0 {
			t.b.WriteByte('\n')
		}
		t.b.WriteString(s)
	}
}

func (t *textBuilder) String() string { return t.b.String() }

// scalarString is v as a string: a string itself, or a number's literal
// (a msgid of plain digits sent as a number stays exact).
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// stringList is a JSON array of strings (non-strings skipped); a lone
// string is a list of one.
func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s := scalarString(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	case string:
		if x != "" {
			return []string{x}
		}
	}
	return nil
}

// int64Of reads an integer that may come as a number (integer or float
// literal) or as a string of digits; anything else is 0. Integers are
// parsed exactly, never through float64.
func int64Of(v any) int64 {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return 0 // above int64: not a size or a time
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -9e18 && f <= 9e18 {
		return int64(f)
	}
	return 0
}

// msTime is a UTC millisecond timestamp; 0, absent or unreadable gives
// the zero time.
func msTime(v any) time.Time {
	ms := int64Of(v)
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// firstOf is the first of keys present in m.
func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// objects is the objects of a JSON array (other elements skipped).
func objects(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, e := range arr {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// sortedKeys is m's keys in order, so Text and Media do not depend on
// map iteration.
func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "not an object"
}
