package wecom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Envelope is the body of a callback POST (path/90238, path/90968): the
// ciphertext and two informational fields.
type Envelope struct {
	// ToUserName is the CorpID (the suiteid for suite callbacks). It is
	// informational: the receiveid inside the ciphertext is what counts,
	// and Decrypt checks it.
	ToUserName string
	// AgentID is the receiving app's id; empty on callbacks that are not
	// about an app, such as those of the contact-sync assistant.
	AgentID string
	// Encrypt is the Base64 ciphertext, to verify and decrypt.
	Encrypt string
	// JSON records that the body was the JSON variant
	// {"tousername","encrypt","agentid"} rather than XML.
	JSON bool
}

// xmlEnvelope collects every occurrence of each field, so that a duplicate
// is caught instead of silently overwritten.
type xmlEnvelope struct {
	XMLName    xml.Name
	ToUserName []string `xml:"ToUserName"`
	AgentID    []string `xml:"AgentID"`
	Encrypt    []string `xml:"Encrypt"`
}

// ParseEnvelope parses the body of a callback POST: the XML envelope
// <xml><ToUserName/><AgentID/><Encrypt/></xml>, or the JSON variant when
// the first non-space byte is '{'. Values are trimmed of surrounding
// white space. A body that is not well-formed, has another root element,
// repeats a field, or has no (or an empty) Encrypt returns an error
// wrapping ErrEnvelope. Entities other than XML's five predefined ones are
// rejected and nothing external is ever fetched.
func ParseEnvelope(body []byte) (Envelope, error) {
	body = trimBOM(body)
	if first(body) == '{' {
		return parseJSONEnvelope(body)
	}
	if e, ok := scanEnvelope(body); ok {
		return e, nil
	}
	return parseXMLEnvelope(body)
}

// scanEnvelope is ParseEnvelope's fast path, on scanTree: it reports
// false for anything it does not accept outright (scanTree's nil, another
// root, a repeated field, no Encrypt), so that the caller's encoding/xml
// path gives the verdict and the reason.
func scanEnvelope(body []byte) (Envelope, bool) {
	root := scanTree(string(body))
	if root == nil || root.name != "xml" {
		return Envelope{}, false
	}
	var e Envelope
	var seen [3]bool
	for _, c := range root.children {
		var i int
		var dst *string
		switch c.name {
		case "ToUserName":
			i, dst = 0, &e.ToUserName
		case "AgentID":
			i, dst = 1, &e.AgentID
		case "Encrypt":
			i, dst = 2, &e.Encrypt
		default:
			continue
		}
		if seen[i] {
			return Envelope{}, false
		}
		seen[i], *dst = true, c.text // scanTree has trimmed it
	}
	if e.Encrypt == "" {
		return Envelope{}, false
	}
	return e, true
}

// parseXMLEnvelope parses an XML envelope with encoding/xml.
func parseXMLEnvelope(body []byte) (Envelope, error) {
	d := newXMLDecoder(body)
	var x xmlEnvelope
	if err := d.Decode(&x); err != nil {
		return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: %s", ErrEnvelope, describeXMLError(err))
	}
	if x.XMLName.Local != "xml" {
		return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: root element is not <xml>", ErrEnvelope)
	}
	if err := expectXMLEnd(d); err != nil {
		return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: %s", ErrEnvelope, describeXMLError(err))
	}
	var e Envelope
	for _, f := range []struct {
		name string
		vals []string
		dst  *string
	}{
		{"ToUserName", x.ToUserName, &e.ToUserName},
		{"AgentID", x.AgentID, &e.AgentID},
		{"Encrypt", x.Encrypt, &e.Encrypt},
	} {
		if len(f.vals) > 1 {
			return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: %s appears %d times", ErrEnvelope, f.name, len(f.vals))
		}
		if len(f.vals) == 1 {
			*f.dst = strings.TrimSpace(f.vals[0])
		}
	}
	if e.Encrypt == "" {
		return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: Encrypt is missing or empty", ErrEnvelope)
	}
	return e, nil
}

func parseJSONEnvelope(body []byte) (Envelope, error) {
	var j struct {
		ToUserName *string          `json:"tousername"`
		Encrypt    *string          `json:"encrypt"`
		AgentID    *json.RawMessage `json:"agentid"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: %s", ErrEnvelope, describeJSONError(err))
	}
	e := Envelope{JSON: true}
	if j.ToUserName != nil {
		e.ToUserName = strings.TrimSpace(*j.ToUserName)
	}
	if j.Encrypt != nil {
		e.Encrypt = strings.TrimSpace(*j.Encrypt)
	}
	if j.AgentID != nil {
		// A string in the documented sample ("218"); accept a bare number too.
		raw := bytes.TrimSpace(*j.AgentID)
		switch {
		case string(raw) == "null":
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: agentid is not a string", ErrEnvelope)
			}
			e.AgentID = strings.TrimSpace(s)
		case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
			e.AgentID = string(raw)
		default:
			return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: agentid is neither a string nor a number", ErrEnvelope)
		}
	}
	if e.Encrypt == "" {
		return Envelope{}, fmt.Errorf("wecom: parse envelope: %w: encrypt is missing or empty", ErrEnvelope)
	}
	return e, nil
}

// Marshal returns the envelope as WeCom sends it: XML with CDATA values
// in the order of the official example (path/90968), or the JSON variant
// when e.JSON. An empty AgentID is left out.
func (e Envelope) Marshal() []byte {
	if e.JSON {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		v := struct {
			ToUserName string `json:"tousername"`
			Encrypt    string `json:"encrypt"`
			AgentID    string `json:"agentid,omitempty"`
		}{e.ToUserName, e.Encrypt, e.AgentID}
		if err := enc.Encode(v); err != nil { // unreachable: only strings
			return nil
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	var b strings.Builder
	b.WriteString("<xml><ToUserName>")
	writeCDATA(&b, e.ToUserName)
	b.WriteString("</ToUserName><Encrypt>")
	writeCDATA(&b, e.Encrypt)
	b.WriteString("</Encrypt>")
	if e.AgentID != "" {
		b.WriteString("<AgentID>")
		writeCDATA(&b, e.AgentID)
		b.WriteString("</AgentID>")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

// writeCDATA writes s as CDATA, as WeCom does. A "]]>" inside s is split
// across two sections so that it cannot end the section early. A string
// CDATA cannot carry unchanged (a carriage return, which parsers turn into
// a newline, or a character XML does not allow) is written as escaped text
// instead; characters XML does not allow become U+FFFD.
func writeCDATA(b *strings.Builder, s string) {
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\r' || !isXMLChar(r) }) || !utf8.ValidString(s) {
		xml.EscapeText(b, []byte(s)) // writes to a strings.Builder cannot fail
		return
	}
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// newXMLDecoder returns a strict decoder: unknown entities are errors,
// and a declared encoding other than UTF-8 is refused (no CharsetReader).
func newXMLDecoder(b []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	return d
}

// expectXMLEnd reads what follows the root element: only white space,
// comments and processing instructions may.
func expectXMLEnd(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return errors.New("content after the root element")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the root element")
			}
		}
	}
}

// describeXMLError reduces a parser error to its position, because the
// parser's message may quote the input.
func describeXMLError(err error) string {
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("XML syntax error on line %d", se.Line)
	case err == io.EOF:
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated XML"
	}
	var ue xml.UnmarshalError
	if errors.As(err, &ue) {
		return "XML structure error"
	}
	var te *xml.TagPathError
	if errors.As(err, &te) {
		return "XML structure error"
	}
	if msg := err.Error(); strings.HasPrefix(msg, "content after") || strings.HasPrefix(msg, "text after") {
		return msg
	}
	return "malformed XML"
}

// describeJSONError reduces a JSON error to its position, because the
// decoder's message may quote the input.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("JSON syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("JSON field %q has the wrong type", te.Field)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return "truncated JSON"
	}
	return "malformed JSON"
}

// trimBOM drops a leading UTF-8 byte order mark.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

// first returns the first byte that is not XML/JSON white space, or 0.
func first(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}
