package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// --- dead letters ---

// deadLetters lists every dead letter, two a page (pageAll checks the
// pages).
func deadLetters(t *testing.T, s store.Store) []store.DeadLetter {
	t.Helper()
	return pageAll(t, "ListDeadLetters", 2, func(p store.Page) ([]store.DeadLetter, string, error) {
		return s.ListDeadLetters(t.Context(), p)
	})
}

func deadKeys(dls []store.DeadLetter) []string {
	out := []string{}
	for _, d := range dls {
		out = append(out, d.DedupKey)
	}
	return out
}

// kill enqueues e, claims it and fails it into the dead letters (the
// store must have MaxAttempts 1); it returns the dead letter's ID.
func kill(t *testing.T, s store.Store, e store.Event, cause string) string {
	t.Helper()
	if !enqueue(t, s, e) {
		t.Fatalf("Enqueue(%q) = false", e.DedupKey)
	}
	d := claimOne(t, s, "killer")
	if d.DedupKey != e.DedupKey {
		t.Fatalf("claimed %q, want %q", d.DedupKey, e.DedupKey)
	}
	if dead, err := s.Fail(t.Context(), d.Receipt, cause, 0); err != nil || !dead {
		t.Fatalf("Fail(%q) = %v, %v; want dead", e.DedupKey, dead, err)
	}
	return d.ID
}

func getDeadLetter(t *testing.T, s store.Store, id string) store.DeadLetter {
	t.Helper()
	d, err := s.GetDeadLetter(t.Context(), id)
	if err != nil {
		t.Fatalf("GetDeadLetter(%s): %v", id, err)
	}
	return d
}

// testDeadLetterListAndGet: dead letters are listed in the order they
// died, a page at a time, and each is found by the ID its entry had;
// unknown and malformed IDs are not found, a foreign cursor is refused.
func testDeadLetterListAndGet(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 1))
	ctx := t.Context()
	if dls := deadLetters(t, s); len(dls) != 0 {
		t.Fatalf("dead letters of an empty store: %v", deadKeys(dls))
	}
	// Enqueued in one order, killed in another: the listing follows death.
	for _, k := range []string{"d0", "d1", "d2", "d3", "d4"} {
		mustAdd(t, s, k)
	}
	held := map[string]store.Delivery{}
	for _, d := range claim(t, s, "c1", 10, 0) {
		held[d.DedupKey] = d
	}
	ids := map[string]string{}
	order := []string{"d3", "d0", "d4", "d1", "d2"}
	for _, k := range order {
		d := held[k]
		if dead, err := s.Fail(ctx, d.Receipt, "cause of "+k, 0); err != nil || !dead {
			t.Fatalf("Fail(%s) = %v, %v", k, dead, err)
		}
		ids[k] = d.ID
	}
	dls := deadLetters(t, s)
	if got := deadKeys(dls); !slices.Equal(got, order) {
		t.Fatalf("dead letters = %v, want the order of death %v", got, order)
	}
	for _, d := range dls {
		if d.ID != ids[d.DedupKey] || d.Attempts != 1 || d.LastError != "cause of "+d.DedupKey {
			t.Errorf("dead letter %s = {ID %q, Attempts %d, LastError %q}, want {%q, 1, cause of %s}",
				d.DedupKey, d.ID, d.Attempts, d.LastError, ids[d.DedupKey], d.DedupKey)
		}
		got := getDeadLetter(t, s, d.ID)
		checkEvent(t, "GetDeadLetter("+d.ID+")", got.Event, event(d.DedupKey))
		if got.ID != d.ID || got.LastError != d.LastError || !got.DiedAt.Equal(d.DiedAt) || got.Attempts != 1 {
			t.Errorf("GetDeadLetter(%s) = %+v, want %+v", d.ID, got, d)
		}
	}
	// Pages of any size give the same list.
	items, next, err := s.ListDeadLetters(ctx, store.Page{Limit: 5})
	if err != nil || next != "" || !slices.Equal(deadKeys(items), order) {
		t.Errorf("ListDeadLetters(limit 5) = %v, next %q, %v; want all, no next page", deadKeys(items), next, err)
	}
	items, next, err = s.ListDeadLetters(ctx, store.Page{Limit: 4})
	if err != nil || next == "" || len(items) != 4 {
		t.Fatalf("ListDeadLetters(limit 4) = %d, next %q, %v", len(items), next, err)
	}
	items, next, err = s.ListDeadLetters(ctx, store.Page{Limit: 4, Cursor: next})
	if err != nil || next != "" || !slices.Equal(deadKeys(items), order[4:]) {
		t.Errorf("second page = %v, next %q, %v; want %v", deadKeys(items), next, err, order[4:])
	}
	_, _, err = s.ListDeadLetters(ctx, store.Page{Cursor: "not-a-cursor!"})
	if !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("ListDeadLetters with a bad cursor: %v, want ErrInvalidCursor", err)
	}

	for _, id := range []string{"", "0", "nope", "99999", "1-1", "9999999999999-0", ids["d0"] + "0"} {
		_, err := s.GetDeadLetter(ctx, id)
		wantNotFound(t, fmt.Sprintf("GetDeadLetter(%q)", id), err)
	}
	// A queue entry that is not dead is not a dead letter.
	mustAdd(t, s, "alive")
	alive := claimOne(t, s, "c1")
	_, err = s.GetDeadLetter(ctx, alive.ID)
	wantNotFound(t, "GetDeadLetter of a live entry", err)
	_, err = s.RetryDeadLetter(ctx, alive.ID)
	wantNotFound(t, "RetryDeadLetter of a live entry", err)
	_, err = s.DropDeadLetter(ctx, alive.ID)
	wantNotFound(t, "DropDeadLetter of a live entry", err)
	if err := s.Ack(ctx, alive.Receipt); err != nil {
		t.Errorf("Ack of the live entry after the dead-letter calls: %v", err)
	}
}

// testRetryDeadLetter: a retried dead letter leaves the dead letters and
// is queued again as a fresh entry (a new ID, no attempts, no error, no
// NotBefore; the same event), even though its dedup key is still
// remembered, which it stays; a second retry finds nothing; the new entry
// lives and dies like any other.
func testRetryDeadLetter(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 1))
	ctx := t.Context()
	e := event("poison")
	e.Kind, e.Receiver = "change_contact.update_user", "/wecom/contacts"
	e.Payload = []byte("<xml>企业微信 \x00\xff</xml>")
	e.NotBefore = baseTime // due long ago
	id := kill(t, s, e, "boom")
	kill(t, s, event("other"), "boom")
	wantStats(t, s, store.QueueStats{Dead: 2})

	entryID, err := s.RetryDeadLetter(ctx, id)
	if err != nil {
		t.Fatalf("RetryDeadLetter(%s): %v", id, err)
	}
	if entryID == "" || entryID == id {
		t.Errorf("RetryDeadLetter = %q, want a new entry ID (not %q)", entryID, id)
	}
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 1})
	_, err = s.GetDeadLetter(ctx, id)
	wantNotFound(t, "GetDeadLetter of a retried one", err)
	if got := deadKeys(deadLetters(t, s)); !slices.Equal(got, []string{"other"}) {
		t.Errorf("dead letters after the retry = %v, want [other]", got)
	}
	_, err = s.RetryDeadLetter(ctx, id)
	wantNotFound(t, "RetryDeadLetter again", err)
	_, err = s.DropDeadLetter(ctx, id)
	wantNotFound(t, "DropDeadLetter of a retried one", err)
	// The dedup key is still remembered: a replayed callback stays a
	// duplicate, and the retry did not need it to be free.
	if enqueue(t, s, e) {
		t.Error("Enqueue of the retried event's DedupKey = true, want false (within DedupTTL)")
	}

	d := claimOne(t, s, "c1")
	want := e
	want.NotBefore = time.Time{}
	checkEvent(t, "retried delivery", d.Event, want)
	if d.ID != entryID || d.Attempts != 0 || d.LastError != "" || !d.NotBefore.IsZero() {
		t.Errorf("retried delivery = {ID %q, Attempts %d, LastError %q, NotBefore %v}, want {%q, 0, \"\", zero}",
			d.ID, d.Attempts, d.LastError, d.NotBefore, entryID)
	}
	// It dies again: a new dead letter, under the new entry's ID.
	if dead, err := s.Fail(ctx, d.Receipt, "boom again", 0); err != nil || !dead {
		t.Fatalf("Fail of the retried entry = %v, %v; want dead", dead, err)
	}
	if got := getDeadLetter(t, s, entryID); got.DedupKey != "poison" || got.LastError != "boom again" || got.Attempts != 1 {
		t.Errorf("the second death = %+v", got)
	}
	if got := deadKeys(deadLetters(t, s)); !slices.Equal(got, []string{"other", "poison"}) {
		t.Errorf("dead letters = %v, want [other poison]", got)
	}
	// Retried again, it is acked for good.
	if _, err := s.RetryDeadLetter(ctx, entryID); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, claimOne(t, s, "c1").Receipt); err != nil {
		t.Fatalf("Ack of the twice-retried entry: %v", err)
	}
	wantStats(t, s, store.QueueStats{Dead: 1})
}

// testDropDeadLetter: a dropped dead letter is gone for good and returned
// as it was; dropping or retrying it again finds nothing.
func testDropDeadLetter(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 1))
	ctx := t.Context()
	id := kill(t, s, event("drop-me"), "bad payload")
	keep := kill(t, s, event("keep-me"), "bad payload")
	was := getDeadLetter(t, s, id)
	got, err := s.DropDeadLetter(ctx, id)
	if err != nil {
		t.Fatalf("DropDeadLetter(%s): %v", id, err)
	}
	checkEvent(t, "DropDeadLetter", got.Event, event("drop-me"))
	if got.ID != id || got.LastError != "bad payload" || !got.DiedAt.Equal(was.DiedAt) {
		t.Errorf("DropDeadLetter = %+v, want %+v", got, was)
	}
	_, err = s.DropDeadLetter(ctx, id)
	wantNotFound(t, "DropDeadLetter again", err)
	_, err = s.RetryDeadLetter(ctx, id)
	wantNotFound(t, "RetryDeadLetter of a dropped one", err)
	_, err = s.GetDeadLetter(ctx, id)
	wantNotFound(t, "GetDeadLetter of a dropped one", err)
	if got := deadKeys(deadLetters(t, s)); !slices.Equal(got, []string{"keep-me"}) {
		t.Errorf("dead letters after the drop = %v", got)
	}
	getDeadLetter(t, s, keep)
	wantStats(t, s, store.QueueStats{Dead: 1})
	claimNone(t, s, "c1")
}

// testConcurrentRetriesQueueOnce: many retries (and drops) of one dead
// letter at once: exactly one succeeds, the others are ErrNotFound, and
// the event is queued once at most.
func testConcurrentRetriesQueueOnce(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 1))
	for round, drops := range []int{0, 4} {
		id := kill(t, s, event(fmt.Sprint("contested-", round)), "boom")
		const racers = 16
		var retried, dropped atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				var err error
				if i < drops {
					if _, err = s.DropDeadLetter(t.Context(), id); err == nil {
						dropped.Add(1)
					}
				} else if _, err = s.RetryDeadLetter(t.Context(), id); err == nil {
					retried.Add(1)
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("racer %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := retried.Load() + dropped.Load(); n != 1 {
			t.Fatalf("round %d: %d of %d concurrent retries and drops succeeded, want exactly 1", round, n, racers)
		}
		want := store.QueueStats{}
		if retried.Load() == 1 {
			want.Ready = 1
		}
		wantStats(t, s, want)
		if ds := claim(t, s, "c1", 10, 0); len(ds) != int(want.Ready) {
			t.Fatalf("round %d: %d entries claimable after the race, want %d", round, len(ds), want.Ready)
		} else {
			for _, d := range ds {
				if err := s.Ack(t.Context(), d.Receipt); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
