package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// AuditHashDomain is the first field of every audit hash's input. It
// names the encoding, so that a different encoding can never produce the
// same input by accident.
const AuditHashDomain = "wecomply-audit-v1"

// AuditHash returns the hash that AppendAudit stores in e.Hash: the
// lowercase hex SHA-256 of these eight fields, in this order,
//
//  1. the text "wecomply-audit-v1" (AuditHashDomain)
//  2. Seq, in decimal ASCII without leading zeros ("1", "2", …)
//  3. ID
//  4. At in UTC, formatted as RFC 3339 with nanoseconds and no trailing
//     zeros (Go's time.RFC3339Nano, e.g. "2026-03-04T05:06:07.891234Z"):
//     the "at" string of the entry's JSON as the store keeps and lists it
//  5. Kind
//  6. Subject
//  7. Data, its bytes exactly as stored (AppendAudit stores it compacted,
//     json.Compact; "" when there is none)
//  8. PrevHash ("" for the first entry)
//
// each written as its length in bytes, an unsigned 64-bit big-endian
// integer, followed by its bytes (UTF-8 text as given). Prefixing every
// field with its length makes the input unambiguous: no two different
// entries encode alike, whatever bytes the fields hold. Hash itself is not
// part of the input.
//
// An auditor recomputes it from the JSON of ListAudit (or an export) with
// a few lines of any language, e.g. Python:
//
//	def field(b): return len(b).to_bytes(8, "big") + b
//	def audit_hash(e):
//	    parts = [b"wecomply-audit-v1", str(e["seq"]).encode(), e["id"].encode(),
//	             e["at"].encode(), e["kind"].encode(), e.get("subject", "").encode(),
//	             raw_data_bytes(e), e["prev_hash"].encode()]
//	    return hashlib.sha256(b"".join(field(p) for p in parts)).hexdigest()
//
// where raw_data_bytes is the "data" member's text exactly as it appears
// in the stored JSON (compact, so re-serialising it without spaces and
// without escaping "<", ">" or "&" gives the same bytes).
func AuditHash(e AuditEntry) string {
	fields := [...][]byte{
		[]byte(AuditHashDomain),
		strconv.AppendUint(nil, e.Seq, 10),
		[]byte(e.ID),
		[]byte(e.At.UTC().Format(time.RFC3339Nano)),
		[]byte(e.Kind),
		[]byte(e.Subject),
		e.Data,
		[]byte(e.PrevHash),
	}
	h := sha256.New()
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return hex.EncodeToString(h.Sum(nil))
}
