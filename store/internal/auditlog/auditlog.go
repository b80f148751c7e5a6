// Package auditlog holds what the store backends share of store.Audit:
// the checks and the normal form of an entry, its stored encoding, and the
// verification of the chain, so that both backends hash, keep and verify
// alike.
package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/wecomply/wecomply/store"
)

// VerifyPage is how many entries VerifyAudit reads at a time.
const VerifyPage = 1000

// Normalize checks e for AppendAudit and returns it in the form that is
// hashed and stored: At in UTC (without a monotonic reading), Data
// compacted (json.Compact); Seq, PrevHash and Hash cleared.
func Normalize(e store.AuditEntry) (store.AuditEntry, error) {
	if e.ID == "" {
		return e, errors.New("an audit entry needs an id")
	}
	if e.Kind == "" {
		return e, errors.New("an audit entry needs a kind")
	}
	if !utf8.ValidString(e.ID) || !utf8.ValidString(e.Kind) || !utf8.ValidString(e.Subject) {
		return e, errors.New("an audit entry's id, kind and subject must be UTF-8 (JSON keeps nothing else as it is)")
	}
	if y := e.At.UTC().Year(); y < 0 || y > 9999 {
		return e, fmt.Errorf("audit entry time %v out of range", e.At)
	}
	e.At = e.At.UTC().Round(0)
	if len(e.Data) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, e.Data); err != nil {
			return e, fmt.Errorf("audit entry data: %w", err)
		}
		e.Data = b.Bytes()
	} else {
		e.Data = nil
	}
	e.Seq, e.PrevHash, e.Hash = 0, "", ""
	return e, nil
}

// Seal returns the normalised e as the entry after (prevSeq, prevHash):
// with its Seq, PrevHash and Hash.
func Seal(e store.AuditEntry, prevSeq uint64, prevHash string) store.AuditEntry {
	e.Seq, e.PrevHash = prevSeq+1, prevHash
	e.Hash = store.AuditHash(e)
	return e
}

// Marshal encodes e as stored: JSON without HTML escaping, so that Data's
// bytes are kept exactly as hashed.
func Marshal(e store.AuditEntry) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Unmarshal decodes a stored entry.
func Unmarshal(v []byte) (store.AuditEntry, error) {
	var e store.AuditEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return e, fmt.Errorf("decode audit entry: %w", err)
	}
	return e, nil
}

// Head is the store's record of the last entry appended.
type Head struct {
	Seq  uint64
	Hash string
}

// String encodes h as stored by the Redis backend: "SEQ HASH".
func (h Head) String() string { return strconv.FormatUint(h.Seq, 10) + " " + h.Hash }

// ParseHead decodes Head.String.
func ParseHead(s string) (Head, error) {
	seq, hash, ok := bytes.Cut([]byte(s), []byte(" "))
	n, err := strconv.ParseUint(string(seq), 10, 64)
	if !ok || err != nil {
		return Head{}, errors.New("malformed audit head")
	}
	return Head{Seq: n, Hash: string(hash)}, nil
}

// Verifier walks the chain: give it every stored entry in storage order
// with Add, then take the Report.
type Verifier struct {
	head    Head // as read before the walk
	hasHead bool
	n       uint64 // entries seen
	prev    string // the previous entry's Hash
	headOK  bool   // the entry at head.Seq was seen with head.Hash
	rep     store.AuditReport
}

// NewVerifier starts a walk. head is the head record read before the
// first entry; hasHead is false if there is none. Entries appended during
// the walk (after head) are verified too.
func NewVerifier(head Head, hasHead bool) *Verifier {
	return &Verifier{head: head, hasHead: hasHead}
}

func (v *Verifier) fail(seq uint64, format string, args ...any) {
	if v.rep.Problem == "" {
		v.rep.FirstBad, v.rep.Problem = seq, fmt.Sprintf(format, args...)
	}
}

// Add checks the next stored entry: stored is the position the backend
// keeps it at (its key or score), e the entry decoded, or err if it could
// not be decoded. The first problem is kept; later entries are counted.
func (v *Verifier) Add(stored uint64, e store.AuditEntry, err error) {
	v.n++
	want := v.n
	if v.rep.Problem == "" {
		switch {
		case err != nil:
			v.fail(stored, "entry %d cannot be read: %v", stored, err)
		case stored > want:
			v.fail(want, "entry %d is missing (the log goes on with %d)", want, stored)
		case stored < want:
			v.fail(stored, "entry %d appears again, or out of order, after entry %d", stored, want-1)
		case e.Seq != stored:
			v.fail(stored, "entry %d holds the entry of seq %d: entries were reordered", stored, e.Seq)
		case e.PrevHash != v.prev:
			if stored == 1 {
				v.fail(stored, "entry 1 has a prev_hash; the first entry must have none")
			} else {
				v.fail(stored, "entry %d does not link to entry %d: its prev_hash is not that entry's hash (an entry was changed, removed or reordered)", stored, stored-1)
			}
		case store.AuditHash(e) != e.Hash:
			v.fail(stored, "entry %d does not match its hash: it was changed", stored)
		}
	}
	if v.hasHead && stored == v.head.Seq && e.Hash == v.head.Hash {
		v.headOK = true
	}
	v.prev = e.Hash
	v.rep.Head = e.Hash
}

// Report ends the walk: besides what Add found, the head record must
// name an entry that was seen, with its hash (entries removed from the
// end are found so).
func (v *Verifier) Report() store.AuditReport {
	rep := v.rep
	rep.Entries = v.n
	if rep.Problem == "" {
		switch {
		case !v.hasHead && v.n > 0:
			rep.FirstBad, rep.Problem = 1, "the log has entries but no head record"
		case v.hasHead && v.n < v.head.Seq:
			rep.FirstBad = v.n + 1
			rep.Problem = fmt.Sprintf("the log ends at entry %d but the head records entry %d: entries were removed from the end", v.n, v.head.Seq)
		case v.hasHead && v.head.Seq > 0 && !v.headOK:
			rep.FirstBad = v.head.Seq
			rep.Problem = fmt.Sprintf("entry %d does not have the hash the head records", v.head.Seq)
		}
	}
	rep.OK = rep.Problem == ""
	return rep
}
