package wecom

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file keeps the encoding/xml-only decoders as they were before
// scanTree, as the reference the differential fuzz targets compare the
// fast paths with.

// refParseXMLTree is the old parseXMLTree: encoding/xml tokens only.
func refParseXMLTree(b []byte) (*node, error) { return parseXMLTreeStd(b) }

// refParseEnvelope is the old ParseEnvelope: encoding/xml's Unmarshal.
func refParseEnvelope(body []byte) (Envelope, error) {
	body = trimBOM(body)
	if first(body) == '{' {
		return parseJSONEnvelope(body)
	}
	return parseXMLEnvelope(body)
}

// refDecode is the old Decode: an encoding/xml tree, then the typed
// event, then the digest of the canonical form built as strings.
func refDecode(plaintext []byte) (Event, error) {
	b := trimBOM(plaintext)
	var (
		root *node
		err  error
	)
	if first(b) == '{' {
		root, err = parseJSONTree(b)
	} else {
		root, err = refParseXMLTree(b)
		if err == nil && root.name != "xml" {
			err = fmt.Errorf("root element is not <xml>")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("wecom: decode: %w: %v", ErrDecode, err)
	}
	h := Header{
		ToUserName:   root.str("ToUserName"),
		FromUserName: root.str("FromUserName"),
		MsgType:      root.str("MsgType"),
		Event:        root.str("Event"),
		ChangeType:   root.str("ChangeType"),
		AgentID:      root.str("AgentID"),
	}
	if h.MsgType == "" {
		return nil, fmt.Errorf("wecom: decode: %w: MsgType is missing", ErrDecode)
	}
	if h.CreateTime, err = intField(root, "CreateTime"); err != nil {
		return nil, err
	}
	kind := h.Kind()
	ev, err := decodeKind(kind, root, h, plaintext)
	if err != nil {
		return nil, err
	}
	head := ev.Head()
	if id := root.str("MsgId"); h.MsgType != "event" && id != "" {
		head.dedupKey = "msg:" + id
	} else {
		sum := sha256.Sum256(refCanonical(root))
		head.dedupKey = kind + ":" + strconv.FormatInt(h.CreateTime, 10) + ":" + hex.EncodeToString(sum[:16])
	}
	return ev, nil
}

// refCanonical is the old canonical form, one string per line.
func refCanonical(root *node) []byte {
	var lines []string
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		for _, c := range n.children {
			p := c.name
			if path != "" {
				p = path + "/" + c.name
			}
			if len(c.children) == 0 || c.text != "" {
				lines = append(lines, p+"="+refEscapeLine(c.text))
			}
			walk(c, p)
		}
	}
	walk(root, "")
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n"))
}

func refEscapeLine(s string) string {
	if !strings.ContainsAny(s, "\\\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// sameTree reports whether two trees have the same names, texts and
// children (scanTree's bookkeeping aside).
func sameTree(a, b *node) bool {
	if a.name != b.name || a.text != b.text || len(a.children) != len(b.children) {
		return false
	}
	for i := range a.children {
		if !sameTree(a.children[i], b.children[i]) {
			return false
		}
	}
	return true
}
