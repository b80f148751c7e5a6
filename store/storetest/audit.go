package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

func auditEntry(id string, i int) store.AuditEntry {
	return store.AuditEntry{
		ID:      id,
		At:      baseTime.Add(time.Duration(i) * time.Second).In(time.FixedZone("CST", 8*3600)),
		Kind:    "decision",
		Subject: fmt.Sprintf("user%03d", i),
		// Spaces, HTML-ish characters, U+2028 and Chinese: stored
		// compacted and otherwise as they are, hashed as stored.
		Data: json.RawMessage(fmt.Sprintf("{ \"action\": \"send_card\", \"n\": %d, \"note\": \"<a & b>\u2028张\" }", i)),
	}
}

func appendAudit(t *testing.T, s store.Store, e store.AuditEntry) store.AuditEntry {
	t.Helper()
	got, err := s.AppendAudit(t.Context(), e)
	if err != nil {
		t.Fatalf("AppendAudit(%s): %v", e.ID, err)
	}
	return got
}

// appendAuditN appends n entries with IDs e1…en, one at a time.
func appendAuditN(t *testing.T, s store.Store, n int) []store.AuditEntry {
	t.Helper()
	out := make([]store.AuditEntry, n)
	for i := range n {
		out[i] = appendAudit(t, s, auditEntry(fmt.Sprint("e", i+1), i+1))
	}
	return out
}

func listAuditAll(t *testing.T, s store.Store, page int) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	var after uint64
	for {
		es, err := s.ListAudit(t.Context(), after, page)
		if err != nil {
			t.Fatalf("ListAudit(%d, %d): %v", after, page, err)
		}
		if len(es) > page {
			t.Fatalf("ListAudit(%d, %d) returned %d entries", after, page, len(es))
		}
		out = append(out, es...)
		if len(es) < page {
			return out
		}
		after = es[len(es)-1].Seq
	}
}

func verifyAudit(t *testing.T, s store.Store) store.AuditReport {
	t.Helper()
	rep, err := s.VerifyAudit(t.Context())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return rep
}

func wantAuditOK(t *testing.T, s store.Store, entries uint64, head string) {
	t.Helper()
	rep := verifyAudit(t, s)
	if !rep.OK || rep.Entries != entries || rep.Head != head || rep.FirstBad != 0 || rep.Problem != "" {
		t.Errorf("VerifyAudit = %+v; want OK with %d entries and head %s", rep, entries, head)
	}
}

func testAuditAppendAndList(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	wantAuditOK(t, s, 0, "")
	if es, err := s.ListAudit(ctx, 0, 10); err != nil || len(es) != 0 {
		t.Errorf("ListAudit of an empty log = %v, %v", es, err)
	}

	appended := appendAuditN(t, s, 10)
	prev := ""
	for i, e := range appended {
		in := auditEntry(fmt.Sprint("e", i+1), i+1)
		if e.Seq != uint64(i+1) || e.PrevHash != prev || e.Hash != store.AuditHash(e) || len(e.Hash) != 64 {
			t.Errorf("entry %d: seq %d, prev %q, hash %q; want seq %d, prev %q and its hash", i, e.Seq, e.PrevHash, e.Hash, i+1, prev)
		}
		if e.ID != in.ID || e.Kind != in.Kind || e.Subject != in.Subject || !e.At.Equal(in.At) || e.At.Location() != time.UTC {
			t.Errorf("entry %d = %+v, want the fields of %+v with At in UTC", i, e, in)
		}
		if want := fmt.Sprintf("{\"action\":\"send_card\",\"n\":%d,\"note\":\"<a & b>\u2028张\"}", i+1); string(e.Data) != want {
			t.Errorf("entry %d: Data %s, want it compacted: %s", i, e.Data, want)
		}
		prev = e.Hash
	}
	// Without data, with a time far from now, and with a time zone.
	bare := appendAudit(t, s, store.AuditEntry{ID: "bare", Kind: "purge", At: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -3600))})
	if bare.Data != nil || bare.Subject != "" || bare.Hash != store.AuditHash(bare) {
		t.Errorf("entry without data = %+v", bare)
	}
	appended = append(appended, bare)

	for _, page := range []int{1, 3, 11, 100} {
		got := listAuditAll(t, s, page)
		sameJSON(t, fmt.Sprintf("ListAudit in pages of %d", page), got, appended)
	}
	if es, err := s.ListAudit(ctx, 4, 2); err != nil || len(es) != 2 || es[0].Seq != 5 || es[1].Seq != 6 {
		t.Errorf("ListAudit(4, 2) = %v, %v; want entries 5 and 6", es, err)
	}
	for _, c := range []struct {
		after uint64
		limit int
	}{{11, 5}, {100, 5}, {0, 0}, {0, -1}} {
		if es, err := s.ListAudit(ctx, c.after, c.limit); err != nil || len(es) != 0 {
			t.Errorf("ListAudit(%d, %d) = %d entries, %v; want none", c.after, c.limit, len(es), err)
		}
	}
	wantAuditOK(t, s, 11, bare.Hash)

	for name, bad := range map[string]store.AuditEntry{
		"no id":        {Kind: "decision", At: baseTime},
		"no kind":      {ID: "x", At: baseTime},
		"invalid data": {ID: "x", Kind: "decision", At: baseTime, Data: json.RawMessage(`{"a":`)},
		"invalid utf8": {ID: "x\xff", Kind: "decision", At: baseTime},
	} {
		if _, err := s.AppendAudit(ctx, bad); err == nil {
			t.Errorf("AppendAudit with %s succeeded", name)
		}
	}
	wantAuditOK(t, s, 11, bare.Hash)
}

func testAuditIdempotent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	first := appendAudit(t, s, auditEntry("dup", 1))
	appendAudit(t, s, auditEntry("other", 2))
	again := auditEntry("dup", 3)
	again.Kind, again.Data = "delivery", json.RawMessage(`{"changed":true}`)
	sameJSON(t, "AppendAudit of an ID in the log", appendAudit(t, s, again), first)

	// Concurrent appends of one ID: one entry, every caller gets it.
	const n = 10
	got := make([]store.AuditEntry, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e, err := s.AppendAudit(t.Context(), auditEntry("same", 10+i))
			if err != nil {
				t.Errorf("AppendAudit: %v", err)
			}
			got[i] = e
		})
	}
	wg.Wait()
	for i := range got {
		if got[i].Seq != 3 || got[i].Hash != got[0].Hash {
			t.Errorf("concurrent append %d of one ID = seq %d hash %s; want seq 3, all alike", i, got[i].Seq, got[i].Hash)
		}
	}
	if es := listAuditAll(t, s, 100); len(es) != 3 {
		t.Errorf("log holds %d entries, want 3", len(es))
	}
	wantAuditOK(t, s, 3, got[0].Hash)
}

// testAuditConcurrent: 8 goroutines × 100 appends make one chain of 800
// entries, Seq 1…800 without gaps, that verifies.
func testAuditConcurrent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const goroutines, each = 8, 100
	seqs := make([][]uint64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e, err := s.AppendAudit(t.Context(), auditEntry(fmt.Sprintf("g%d-%d", g, i), i))
				if err != nil {
					t.Errorf("AppendAudit: %v", err)
					return
				}
				seqs[g] = append(seqs[g], e.Seq)
			}
		})
	}
	wg.Wait()
	var all []uint64
	for g := range seqs {
		if !slices.IsSorted(seqs[g]) {
			t.Errorf("goroutine %d got seqs out of order: %v", g, seqs[g])
		}
		all = append(all, seqs[g]...)
	}
	slices.Sort(all)
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("seqs handed out: %v…; want 1…%d, each once", all[:min(i+2, len(all))], goroutines*each)
		}
	}
	es := listAuditAll(t, s, 333)
	if len(es) != goroutines*each {
		t.Fatalf("log holds %d entries, want %d", len(es), goroutines*each)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) || (i > 0 && e.PrevHash != es[i-1].Hash) {
			t.Fatalf("entry %d: seq %d does not follow or link", i, e.Seq)
		}
	}
	wantAuditOK(t, s, goroutines*each, es[len(es)-1].Hash)
}

// testAuditTampering changes the stored log behind the store's back,
// through the backend's hooks, and expects VerifyAudit to point at the
// first entry that no longer verifies.
func testAuditTampering(t *testing.T, open OpenFunc, o Options) {
	if o.TamperAudit == nil || o.DeleteAuditRaw == nil || o.SwapAuditRaw == nil {
		t.Skip("the backend offers no raw access to its audit log")
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T, s store.Store)
		bad    []uint64 // acceptable FirstBad values
	}{
		{"EditedData", func(t *testing.T, s store.Store) {
			o.TamperAudit(t, s, 5, func(e *store.AuditEntry) { e.Data = json.RawMessage(`{"action":"nothing"}`) })
		}, []uint64{5}},
		{"EditedTime", func(t *testing.T, s store.Store) {
			o.TamperAudit(t, s, 5, func(e *store.AuditEntry) { e.At = e.At.Add(-time.Hour) })
		}, []uint64{5}},
		{"Removed", func(t *testing.T, s store.Store) { o.DeleteAuditRaw(t, s, 5) }, []uint64{5, 6}},
		{"RemovedFirst", func(t *testing.T, s store.Store) { o.DeleteAuditRaw(t, s, 1) }, []uint64{1, 2}},
		{"RemovedLast", func(t *testing.T, s store.Store) { o.DeleteAuditRaw(t, s, 10) }, []uint64{10}},
		{"Swapped", func(t *testing.T, s store.Store) { o.SwapAuditRaw(t, s, 4, 5) }, []uint64{4, 5}},
		{"SwappedAndRenumbered", func(t *testing.T, s store.Store) {
			o.SwapAuditRaw(t, s, 4, 5)
			o.TamperAudit(t, s, 4, func(e *store.AuditEntry) { e.Seq = 4 })
			o.TamperAudit(t, s, 5, func(e *store.AuditEntry) { e.Seq = 5 })
		}, []uint64{4, 5}},
		{"EditedWithItsHashRecomputed", func(t *testing.T, s store.Store) {
			o.TamperAudit(t, s, 5, func(e *store.AuditEntry) {
				e.Data = json.RawMessage(`{"action":"nothing"}`)
				e.Hash = store.AuditHash(*e)
			})
		}, []uint64{6}},
		{"WrongPrevHash", func(t *testing.T, s store.Store) {
			o.TamperAudit(t, s, 5, func(e *store.AuditEntry) {
				e.PrevHash = store.AuditHash(store.AuditEntry{ID: "forged"})
				e.Hash = store.AuditHash(*e)
			})
		}, []uint64{5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t, opts(longLease, 5))
			es := appendAuditN(t, s, 10)
			wantAuditOK(t, s, 10, es[9].Hash)
			c.tamper(t, s)
			rep := verifyAudit(t, s)
			if rep.OK || rep.Problem == "" || !slices.Contains(c.bad, rep.FirstBad) {
				t.Errorf("VerifyAudit after tampering = %+v; want not OK, first bad one of %v", rep, c.bad)
			}
			t.Logf("report: %+v", rep)
		})
	}
}

// testAuditAtScale: 100,000 entries (appended from many goroutines)
// verify, streamed; an edit in the middle is found.
func testAuditAtScale(t *testing.T, open OpenFunc, o Options) {
	s := open(t, opts(longLease, 5))
	const n = 100_000
	start := time.Now()
	parallel(t, n, func(i int) error {
		_, err := s.AppendAudit(t.Context(), auditEntry(fmt.Sprint("e", i), i))
		return err
	})
	appended := time.Since(start)
	start = time.Now()
	rep := verifyAudit(t, s)
	t.Logf("appended %d entries in %v; verified them in %v", n, appended, time.Since(start))
	if !rep.OK || rep.Entries != n {
		t.Fatalf("VerifyAudit = %+v; want OK with %d entries", rep, n)
	}
	if o.TamperAudit == nil {
		return
	}
	o.TamperAudit(t, s, 54321, func(e *store.AuditEntry) { e.Subject = "someone else" })
	if rep := verifyAudit(t, s); rep.OK || rep.FirstBad != 54321 || rep.Entries != n {
		t.Errorf("VerifyAudit after editing entry 54321 = %+v", rep)
	}
}
