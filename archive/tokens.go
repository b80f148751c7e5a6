package archive

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The blind index: text is normalised, cut into tokens, and each distinct
// token is stored only as the first 8 bytes of its HMAC-SHA256 under the
// index key. A query is cut and hashed the same way; the index only
// narrows the candidates, which Archive.Search decrypts and checks.

// IndexKey is the HMAC key of the blind index (32 bytes). Its bytes never
// print.
type IndexKey struct{ key secret }

// String implements fmt.Stringer without the key.
func (IndexKey) String() string { return "index key [redacted]" }

// Format prints String for every verb (%#v included), never the key.
func (k IndexKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue implements slog.LogValuer without the key.
func (k IndexKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// ParseIndexKey returns the index key from its base64 text (config or
// environment). Errors never contain the text.
func ParseIndexKey(b64 string) (IndexKey, error) {
	s, err := decodeSecret("index key", b64)
	if err != nil {
		return IndexKey{}, err
	}
	return IndexKey{key: s}, nil
}

// NewIndexKey returns the index key raw (32 bytes, copied).
func NewIndexKey(raw []byte) (IndexKey, error) {
	if len(raw) != KeySize {
		return IndexKey{}, fmt.Errorf("archive: index key: %d bytes, want %d", len(raw), KeySize)
	}
	return IndexKey{key: secret{b: append([]byte(nil), raw...)}}, nil
}

// Valid reports whether k was made by ParseIndexKey or NewIndexKey.
func (k IndexKey) Valid() bool { return k.key.valid() }

// Normalize returns s in the form the index and the check use: NFKC
// (full-width letters and digits become ASCII, compatibility forms are
// folded) and lower case.
func Normalize(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}

// Terms returns the distinct tokens of text, in order of first
// appearance, after Normalize:
//   - CJK (Han, Hiragana, Katakana, Hangul): every pair of neighbouring
//     characters (bigrams) and every character on its own, so that a
//     one-character query finds it;
//   - other letters (with their combining marks): words;
//   - digits: runs of digits.
//
// Everything else (spaces, punctuation, symbols, emoji) separates tokens.
func Terms(text string) []string { return terms(text, false) }

// QueryTerms returns the tokens of a query: as Terms, except that a run
// of two or more CJK characters gives only its bigrams (the characters on
// their own add nothing to the match). Every token QueryTerms gives for a
// text is among the Terms of any text that contains it.
func QueryTerms(query string) []string { return terms(query, true) }

type class int

const (
	classOther class = iota
	classCJK
	classLetter
	classDigit
	classMark // a combining mark: part of a word, never its start
)

func classify(r rune) class {
	switch {
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
		return classCJK
	case unicode.IsDigit(r):
		return classDigit
	case unicode.IsLetter(r):
		return classLetter
	case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Mc, r):
		return classMark
	}
	return classOther
}

func terms(text string, query bool) []string {
	s := Normalize(text)
	var out []string
	seen := map[string]bool{}
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	var run []rune
	runClass := classOther
	flush := func() {
		switch runClass {
		case classCJK:
			if len(run) == 1 || !query {
				for _, r := range run {
					add(string(r))
				}
			}
			for i := 0; i+1 < len(run); i++ {
				add(string(run[i : i+2]))
			}
		case classLetter, classDigit:
			add(string(run))
		}
		run = run[:0]
	}
	for _, r := range s {
		c := classify(r)
		if c == classMark {
			if runClass != classLetter {
				c = classOther
			} else {
				c = classLetter
			}
		}
		if c != runClass {
			flush()
			runClass = c
		}
		run = append(run, r)
	}
	flush()
	return out
}

// Tokens returns the blind index of text: the distinct hashes of its
// Terms, sorted.
func (k IndexKey) Tokens(text string) []uint64 { return k.hash(Terms(text)) }

// QueryTokens returns the hashes of QueryTerms(query), sorted.
func (k IndexKey) QueryTokens(query string) []uint64 { return k.hash(QueryTerms(query)) }

func (k IndexKey) hash(terms []string) []uint64 {
	if len(terms) == 0 {
		return nil
	}
	var mac hash.Hash = hmac.New(sha256.New, k.key.b)
	out := make([]uint64, 0, len(terms))
	for _, t := range terms {
		mac.Reset()
		mac.Write([]byte(t))
		out = append(out, binary.BigEndian.Uint64(mac.Sum(nil)[:8]))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Matches reports whether text contains query in the sense Search
// checks after the index narrowed the candidates: every
// whitespace-separated part of Normalize(query) is a substring of
// Normalize(text). An empty query matches everything.
func Matches(text, query string) bool {
	nt := Normalize(text)
	for _, part := range strings.Fields(Normalize(query)) {
		if !strings.Contains(nt, part) {
			return false
		}
	}
	return true
}
