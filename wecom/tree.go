package wecom

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxDepth bounds the nesting of a decoded plaintext. WeCom's deepest
// documented payload (open_approval_change) nests six levels.
const maxDepth = 64

// node is one element of a decoded plaintext: its local name, its own
// character data (CDATA or not, trimmed) and its child elements in
// document order. XML and JSON plaintexts both become a tree of nodes.
type node struct {
	name     string
	text     string
	children []*node
	// parent and nchild are scanTree's bookkeeping while it builds the
	// tree; unused afterwards.
	parent, nchild int32
}

// child returns the first child element named name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// all returns every child element named name, in order.
func (n *node) all(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// str returns the trimmed text of the first child named name, or "".
func (n *node) str(name string) string {
	if c := n.child(name); c != nil {
		return c.text
	}
	return ""
}

// ptr returns the trimmed text of the first child named name, or nil when
// there is no such child: for fields WeCom sends only when they changed.
func (n *node) ptr(name string) *string {
	if c := n.child(name); c != nil {
		s := c.text
		return &s
	}
	return nil
}

// strs returns the texts of every child named name.
func (n *node) strs(name string) []string {
	var out []string
	for _, c := range n.all(name) {
		out = append(out, c.text)
	}
	return out
}

// parseXMLTree parses an XML plaintext into a tree: with scanTree when it
// can, otherwise with encoding/xml. The error never quotes the input.
func parseXMLTree(b []byte) (*node, error) {
	if root := scanTree(string(b)); root != nil {
		return root, nil
	}
	return parseXMLTreeStd(b)
}

// parseXMLTreeStd parses an XML plaintext into a tree with encoding/xml:
// every input scanTree leaves, including every malformed one.
func parseXMLTreeStd(b []byte) (*node, error) {
	d := newXMLDecoder(b)
	var (
		root  *node
		stack []*node
		texts []*strings.Builder
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if root == nil {
				return nil, errors.New("no root element")
			}
			return root, nil
		}
		if err != nil {
			return nil, errors.New(describeXMLError(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("content after the root element")
			}
			if len(stack) == maxDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", maxDepth)
			}
			n := &node{name: t.Name.Local}
			if root == nil {
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
			texts = append(texts, &strings.Builder{})
		case xml.EndElement:
			// The strict decoder has already matched the names.
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(texts[len(texts)-1].String())
			stack, texts = stack[:len(stack)-1], texts[:len(texts)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, errors.New("text outside the root element")
				}
				continue
			}
			texts[len(texts)-1].Write(t)
		}
	}
}

// parseJSONTree converts a JSON plaintext into the tree of the equivalent
// XML: the top-level object is <xml>, each member an element (in document
// order), a nested object nested elements, an array repeated elements,
// numbers their exact digits, booleans "true"/"false". A null member is
// left out. The error never quotes the input.
func parseJSONTree(b []byte) (*node, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return nil, errors.New(describeJSONError(err))
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, errors.New("JSON plaintext is not an object")
	}
	root := &node{name: "xml"}
	if err := readJSONObject(d, root, 1); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		if err == nil {
			return nil, errors.New("content after the JSON object")
		}
		return nil, errors.New(describeJSONError(err))
	}
	return root, nil
}

// readJSONObject reads the members of an object whose '{' has been read,
// appending them to parent as elements.
func readJSONObject(d *json.Decoder, parent *node, depth int) error {
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return errors.New(describeJSONError(err))
		}
		key, ok := tok.(string)
		if !ok { // unreachable: the decoder only yields string keys
			return errors.New("JSON object key is not a string")
		}
		if err := readJSONValue(d, parent, key, depth); err != nil {
			return err
		}
	}
	if _, err := d.Token(); err != nil { // the closing '}'
		return errors.New(describeJSONError(err))
	}
	return nil
}

// readJSONValue reads one value and appends it to parent as element(s)
// named name.
func readJSONValue(d *json.Decoder, parent *node, name string, depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("JSON nested deeper than %d", maxDepth)
	}
	tok, err := d.Token()
	if err != nil {
		return errors.New(describeJSONError(err))
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{name: name}
			parent.children = append(parent.children, n)
			return readJSONObject(d, n, depth+1)
		case '[':
			for d.More() {
				if err := readJSONValue(d, parent, name, depth+1); err != nil {
					return err
				}
			}
			if _, err := d.Token(); err != nil { // the closing ']'
				return errors.New(describeJSONError(err))
			}
			return nil
		}
		return errors.New("unexpected JSON delimiter") // unreachable
	case nil:
		return nil
	case string:
		parent.children = append(parent.children, &node{name: name, text: strings.TrimSpace(t)})
	case json.Number:
		parent.children = append(parent.children, &node{name: name, text: t.String()})
	case bool:
		text := "false"
		if t {
			text = "true"
		}
		parent.children = append(parent.children, &node{name: name, text: text})
	}
	return nil
}

// canonicalDigest returns the SHA-256 of the tree's canonical form for
// DedupKey: one line "path=value" for every element that is a leaf or has
// text of its own (path from below the root, joined with "/"; value
// trimmed, with "\\" and newlines escaped so lines cannot run together),
// sorted, joined with "\n". Whitespace between elements and the choice of
// CDATA or plain text do not change it. The lines are built in one buffer
// and sorted as byte ranges of it.
func canonicalDigest(root *node) [sha256.Size]byte {
	var c canonicalWriter
	c.buf = make([]byte, 0, 1024)
	c.lines = make([]lineSpan, 0, 32)
	c.walk(root, nil)
	buf := c.buf
	slices.SortFunc(c.lines, func(a, b lineSpan) int {
		return bytes.Compare(buf[a.start:a.end], buf[b.start:b.end])
	})
	out := make([]byte, 0, len(buf)+len(c.lines))
	for i, l := range c.lines {
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, buf[l.start:l.end]...)
	}
	return sha256.Sum256(out)
}

type lineSpan struct{ start, end int }

type canonicalWriter struct {
	buf   []byte
	lines []lineSpan
}

// walk writes the lines of n's children; path is n's path ("" for the root).
func (c *canonicalWriter) walk(n *node, path []byte) {
	for _, ch := range n.children {
		start := len(c.buf)
		if len(path) > 0 {
			c.buf = append(c.buf, path...)
			c.buf = append(c.buf, '/')
		}
		c.buf = append(c.buf, ch.name...)
		p := c.buf[start:len(c.buf):len(c.buf)] // the path, as written: appending after it copies
		if len(ch.children) == 0 || ch.text != "" {
			c.buf = append(c.buf, '=')
			c.buf = appendEscapedLine(c.buf, ch.text)
			c.lines = append(c.lines, lineSpan{start, len(c.buf)})
		} else {
			// Not a line of its own: keep the bytes only as the path.
			p = append([]byte(nil), p...)
			c.buf = c.buf[:start]
		}
		c.walk(ch, p)
	}
}

// appendEscapedLine appends s with "\\" and "\n" escaped.
func appendEscapedLine(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, s[i])
		}
	}
	return b
}
