// Package index holds what the store backends share of the listings of
// obligations, attestations, consents and people: the order-preserving
// key encoding of their identities and indexes, the choice of index for a
// filter, cursors and the checks of what is stored, so that both backends
// order, filter and page alike.
//
// A key is a tuple of fields, each encoded so that comparing two encoded
// keys byte by byte compares the tuples field by field (strings byte-wise,
// integers numerically), and so that the encoding of a tuple is a prefix
// of another's only if the first tuple is a prefix of the second. The
// embedded store uses the keys as bbolt keys (range scans by prefix), the
// Redis store as members of sorted sets read with ZRANGE … BYLEX.
package index

import (
	"bytes"
	"encoding/binary"
)

// AppendString appends the encoding of s: its bytes, each 0x00 written as
// 0x00 0xFF, then the terminator 0x00 0x01. Inside an encoded string 0x00
// is always followed by 0xFF, so the terminator is unambiguous and sorts
// before any continuation: "a" < "a\x00" < "a\x01" < "ab".
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = append(b, s[i])
		if s[i] == 0 {
			b = append(b, 0xFF)
		}
	}
	return append(b, 0x00, 0x01)
}

// AppendInt appends v as 8 bytes, big-endian with the sign bit flipped,
// so that byte order is numeric order.
func AppendInt(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v)^(1<<63))
}

// ReadString reads a string encoded by AppendString from the front of b.
func ReadString(b []byte) (s string, rest []byte, ok bool) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		if i+1 >= len(b) {
			return "", nil, false
		}
		switch b[i+1] {
		case 0x01:
			out = append(out, b[:i]...)
			return string(out), b[i+2:], true
		case 0xFF:
			out = append(out, b[:i+1]...)
			b = b[i+2:]
			i = -1
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}

// ReadInt reads an integer encoded by AppendInt from the front of b.
func ReadInt(b []byte) (v int64, rest []byte, ok bool) {
	if len(b) < 8 {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)), b[8:], true
}

// Successor returns the smallest key greater than every key that starts
// with prefix, or nil if there is none (prefix is empty or all 0xFF).
func Successor(prefix []byte) []byte {
	p := bytes.TrimRight(prefix, "\xff")
	if len(p) == 0 {
		return nil
	}
	out := append([]byte(nil), p...)
	out[len(out)-1]++
	return out
}
