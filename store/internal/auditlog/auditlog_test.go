package auditlog

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// TestStoredFormKeepsTheHashedBytes: whatever JSON Data holds, the stored
// entry reads back with the bytes that were hashed.
func TestStoredFormKeepsTheHashedBytes(t *testing.T) {
	for _, d := range []string{"", "null", `""`, "0", "[]", "{}", ` "a" `, `{"h":"<&>","ls":"` + "\u2028" + `","zh":"张三","esc":"\u00e9\n"}`} {
		e, err := Normalize(store.AuditEntry{ID: "x", Kind: "k", At: time.Now(), Data: []byte(d)})
		if err != nil {
			t.Fatalf("Normalize(%q): %v", d, err)
		}
		e = Seal(e, 0, "")
		v, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(back.Data) != string(e.Data) || store.AuditHash(back) != e.Hash {
			t.Errorf("Data %q stored as %s reads back as %q", d, v, back.Data)
		}
	}
}

func chain(n int) []store.AuditEntry {
	out := make([]store.AuditEntry, n)
	var prev Head
	for i := range out {
		e, _ := Normalize(store.AuditEntry{ID: fmt.Sprint("e", i), Kind: "k", At: time.Unix(int64(i), 0)})
		out[i] = Seal(e, prev.Seq, prev.Hash)
		prev = Head{out[i].Seq, out[i].Hash}
	}
	return out
}

func TestVerifier(t *testing.T) {
	es := chain(5)
	head := Head{5, es[4].Hash}
	walk := func(head Head, hasHead bool, stored []uint64, es []store.AuditEntry) store.AuditReport {
		v := NewVerifier(head, hasHead)
		for i, e := range es {
			v.Add(stored[i], e, nil)
		}
		return v.Report()
	}
	for _, c := range []struct {
		name     string
		head     Head
		hasHead  bool
		stored   []uint64
		entries  []store.AuditEntry
		firstBad uint64
		problem  string
	}{
		{"intact", head, true, []uint64{1, 2, 3, 4, 5}, es, 0, ""},
		{"empty", Head{}, false, nil, nil, 0, ""},
		{"gap", head, true, []uint64{1, 2, 4, 5}, []store.AuditEntry{es[0], es[1], es[3], es[4]}, 3, "missing"},
		{"repeated", head, true, []uint64{1, 2, 2, 3}, []store.AuditEntry{es[0], es[1], es[1], es[2]}, 2, "again"},
		{"moved", head, true, []uint64{1, 2, 3}, []store.AuditEntry{es[0], es[2], es[1]}, 2, "reordered"},
		{"tail removed", head, true, []uint64{1, 2, 3}, es[:3], 4, "end"},
		{"head replaced", Head{5, "x"}, true, []uint64{1, 2, 3, 4, 5}, es, 5, "head"},
		{"no head", Head{}, false, []uint64{1}, es[:1], 1, "no head"},
		{"appended during the walk", Head{4, es[3].Hash}, true, []uint64{1, 2, 3, 4, 5}, es, 0, ""},
	} {
		rep := walk(c.head, c.hasHead, c.stored, c.entries)
		if rep.FirstBad != c.firstBad || rep.OK != (c.problem == "") || !strings.Contains(rep.Problem, c.problem) {
			t.Errorf("%s: %+v; want first bad %d, problem with %q", c.name, rep, c.firstBad, c.problem)
		}
		if rep.Entries != uint64(len(c.entries)) {
			t.Errorf("%s: %d entries, want %d", c.name, rep.Entries, len(c.entries))
		}
	}
	v := NewVerifier(head, true)
	v.Add(1, store.AuditEntry{}, errors.New("bad json"))
	if rep := v.Report(); rep.OK || rep.FirstBad != 1 {
		t.Errorf("undecodable first entry: %+v", rep)
	}
}
