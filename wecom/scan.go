package wecom

import (
	"strings"
	"unicode/utf8"
)

// scanTree is the fast path of parseXMLTree and ParseEnvelope: a
// hand-written, single-pass reader of the XML that WeCom actually sends
// (elements without attributes, text, CDATA, the five predefined
// entities, ASCII white space between elements). It returns the same tree
// encoding/xml gives, or nil when the input is malformed or uses anything
// outside that subset (a declaration, comment, DOCTYPE, attribute,
// namespace prefix, character reference, carriage return, non-ASCII name,
// nesting deeper than maxDepth, text around the root). On nil the caller
// parses with encoding/xml, which accepts or rejects the input with its
// reasons; so the fast path never has to reproduce an error, only to be
// sure of what it accepts. FuzzTreeDifferential checks that every tree it
// returns is the tree of encoding/xml.
//
// Names and texts are substrings of s; only a text split by a child
// element or holding an entity is built anew.
func scanTree(s string) *node {
	sc := scanner{s: s}
	if !sc.scan() {
		return nil
	}
	return sc.link()
}

type scanner struct {
	s     string
	nodes []node
	// stack holds the indexes of the open elements; tails the white space
	// met in each since its last non-white text (kept in case more text
	// follows, trimmed off otherwise).
	stack [maxDepth]int32
	tails [maxDepth]string
	depth int
}

func (sc *scanner) scan() bool {
	s := sc.s
	i := skipSpace(s, 0)
	for {
		if sc.depth == 0 && len(sc.nodes) > 0 {
			return skipSpace(s, i) == len(s) // only white space after the root
		}
		if i >= len(s) {
			return false // no root, or unclosed elements
		}
		if s[i] != '<' {
			if sc.depth == 0 {
				return false // text before the root
			}
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				return false // unclosed
			}
			text, ok := charData(s[i : i+j])
			if !ok {
				return false
			}
			sc.addText(text)
			i += j
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "</"):
			name, j := scanName(s, i+2)
			j = skipSpace(s, j)
			if name == "" || j >= len(s) || s[j] != '>' || sc.depth == 0 {
				return false
			}
			if sc.nodes[sc.stack[sc.depth-1]].name != name {
				return false // mismatched
			}
			sc.close()
			i = j + 1
		case strings.HasPrefix(s[i:], "<![CDATA["):
			i += len("<![CDATA[")
			j := strings.Index(s[i:], "]]>")
			if j < 0 || sc.depth == 0 || !validChars(s[i:i+j]) {
				return false
			}
			sc.addText(s[i : i+j])
			i += j + len("]]>")
		default:
			name, j := scanName(s, i+1)
			j = skipSpace(s, j)
			if name == "" || j >= len(s) {
				return false
			}
			empty := false
			switch {
			case s[j] == '>':
				i = j + 1
			case s[j] == '/' && j+1 < len(s) && s[j+1] == '>':
				empty, i = true, j+2
			default:
				return false // an attribute, or malformed
			}
			if sc.depth == maxDepth || sc.depth == 0 && len(sc.nodes) > 0 {
				return false
			}
			sc.open(name)
			if empty {
				sc.close()
			}
		}
	}
}

func (sc *scanner) open(name string) {
	parent := int32(-1)
	if sc.depth > 0 {
		parent = sc.stack[sc.depth-1]
		sc.nodes[parent].nchild++
	}
	if sc.nodes == nil {
		// Every element opens with a '<' that starts neither an end tag
		// nor a CDATA section: room for all of them from the start, in
		// well-formed input (a "</" inside CDATA makes it short, and
		// append then grows it).
		sc.nodes = make([]node, 0, max(1, strings.Count(sc.s, "<")-strings.Count(sc.s, "</")-strings.Count(sc.s, "<![CDATA[")))
	}
	sc.nodes = append(sc.nodes, node{name: name, parent: parent})
	sc.stack[sc.depth] = int32(len(sc.nodes) - 1)
	sc.tails[sc.depth] = ""
	sc.depth++
}

func (sc *scanner) close() {
	sc.depth--
	n := &sc.nodes[sc.stack[sc.depth]]
	n.text = strings.TrimSpace(n.text)
	sc.tails[sc.depth] = ""
}

// addText appends a piece of character data to the open element. The
// element's text is the concatenation of its pieces, trimmed; white space
// before the first non-white piece is dropped at once (trimming would drop
// it) and white space after it is held back until more text follows.
func (sc *scanner) addText(p string) {
	d := sc.depth - 1
	n := &sc.nodes[sc.stack[d]]
	switch {
	case isSpace(p):
		if n.text != "" {
			sc.tails[d] += p
		}
	case n.text == "":
		n.text = p
	default:
		n.text = n.text + sc.tails[d] + p
		sc.tails[d] = ""
	}
}

// link turns the flat, document-ordered nodes into the tree: every
// element's children slice is carved from one shared slice.
func (sc *scanner) link() *node {
	nodes := sc.nodes
	ptrs := make([]*node, len(nodes)-1)
	off := 0
	for i := range nodes {
		if c := int(nodes[i].nchild); c > 0 {
			nodes[i].children = ptrs[off : off : off+c]
			off += c
		}
	}
	for i := 1; i < len(nodes); i++ {
		p := &nodes[nodes[i].parent]
		p.children = append(p.children, &nodes[i])
	}
	return &nodes[0]
}

// scanName reads an element name of ASCII letters, digits, '_', '-' and
// '.', starting with a letter or '_'. It returns "" for anything else (a
// namespace prefix or a non-ASCII name included: the slow path judges
// those).
func scanName(s string, i int) (string, int) {
	start := i
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' ||
			i > start && (c >= '0' && c <= '9' || c == '-' || c == '.') {
			continue
		}
		break
	}
	if i < len(s) && (s[i] == ':' || s[i] >= utf8.RuneSelf) {
		return "", i
	}
	return s[start:i], i
}

// skipSpace skips ' ', '\t' and '\n' ('\r' is left to the slow path,
// which normalises it).
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	return i
}

func isSpace(s string) bool { return skipSpace(s, 0) == len(s) }

// validChars reports whether s is valid UTF-8 of characters XML allows,
// without '\r'.
func validChars(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
			return false
		}
		i += size
	}
	return true
}

// charData checks and unescapes a run of text between tags. Only the five
// predefined entities are unescaped; "]]>" is not allowed in text.
func charData(s string) (string, bool) {
	if !validChars(s) || strings.Contains(s, "]]>") {
		return "", false
	}
	amp := strings.IndexByte(s, '&')
	if amp < 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for amp >= 0 {
		b.WriteString(s[:amp])
		s = s[amp+1:]
		semi := strings.IndexByte(s, ';')
		if semi < 0 {
			return "", false
		}
		switch s[:semi] {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "apos":
			b.WriteByte('\'')
		case "quot":
			b.WriteByte('"')
		default:
			return "", false // a character reference or an undeclared entity
		}
		s = s[semi+1:]
		amp = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String(), true
}
