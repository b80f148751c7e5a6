package rules

import (
	"unicode"
	"unicode/utf8"
)

// invalidByte stands in the folded text for a byte that is not part of
// valid UTF-8. It never occurs in valid UTF-8, so no term or literal can
// match across it.
const invalidByte = 0xFF

// folder folds text so that matching is insensitive to case, to full
// width (全角) versus half width (半角), and, when traditional is set, to
// traditional versus simplified characters. Folding maps each rune to one
// rune, so a substring of the original folds to a substring of the
// folded text, and offsets map back rune by rune.
type folder struct {
	traditional bool
}

// foldRune is the one-rune mapping. Case folds to the smallest lower-case
// form in the rune's Unicode case orbit, so every case variant that
// regexp's (?i) treats as equal folds to the same rune (K, k and the
// Kelvin sign K all become k).
func (f folder) foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		r -= 0xFEE0
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	case r == 0x3000: // ideographic space
		return ' '
	case r >= cjkFirst && r < cjkLast: // CJK ideographs: no case
		if f.traditional {
			if s := t2s[r-cjkFirst]; s != 0 {
				return s
			}
		}
		return r
	}
	if unicode.SimpleFold(r) == r {
		return r
	}
	best := unicode.ToLower(r)
	for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
		if l := unicode.ToLower(o); l < best {
			best = l
		}
	}
	return best
}

// foldString folds s without keeping offsets (terms and literals).
func (f folder) foldString(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = utf8.AppendRune(b, f.foldRune(r))
	}
	return string(b)
}

// fold appends the folded text of s to dst and, for every folded byte,
// the offset in s of the rune it came from to offs; a last entry holds
// len(s). A match [i, j) in the folded text is s[offs[i]:offs[j]].
func (f folder) fold(dst []byte, offs []int32, s string) ([]byte, []int32) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			offs = append(offs, int32(i))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, invalidByte)
			offs = append(offs, int32(i))
			i++
			continue
		}
		start := len(dst)
		dst = utf8.AppendRune(dst, f.foldRune(r))
		for range len(dst) - start {
			offs = append(offs, int32(i))
		}
		i += n
	}
	offs = append(offs, int32(len(s)))
	return dst, offs
}
