package storetest

import (
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// claimNoneBefore claims with no wait and requires nothing if less than
// d has passed since start; a delivery after that (a slow machine) is
// given back, so the caller's next claim gets it.
func claimNoneBefore(t *testing.T, s store.Store, consumer string, start time.Time, d time.Duration) {
	t.Helper()
	ds := claim(t, s, consumer, 10, 0)
	if len(ds) == 0 {
		return
	}
	if el := time.Since(start); el < d-slack {
		t.Fatalf("Claim(%s) returned %q %v after it was put off by %v", consumer, ds[0].DedupKey, el, d)
	}
	for _, d := range ds {
		if err := s.Release(t.Context(), d.Receipt); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
}

func testEnqueueNotBefore(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const delay = time.Second
	start := time.Now()
	e := event("scheduled")
	e.NotBefore = start.Add(delay).Truncate(time.Microsecond)
	if !enqueue(t, s, e) {
		t.Fatal("Enqueue of a scheduled event = false, want true")
	}
	// Deduplication holds at enqueue time, not at the scheduled time.
	dup := e
	dup.NotBefore = time.Time{}
	if enqueue(t, s, dup) {
		t.Fatal("second Enqueue of a scheduled DedupKey = true, want false")
	}
	// An event due in the past is claimable at once; scheduled ones wait.
	past := event("due")
	past.NotBefore = baseTime
	mustAdd(t, s, "now")
	if !enqueue(t, s, past) {
		t.Fatal("Enqueue(due) = false")
	}
	wantStats(t, s, store.QueueStats{Ready: 3}) // a scheduled entry counts as ready
	var scheduled *store.Delivery
	got := map[string]bool{}
	for _, d := range claim(t, s, "c1", 10, 0) {
		got[d.DedupKey] = true
		switch d.DedupKey {
		case "scheduled":
			if el := time.Since(start); el < delay-slack {
				t.Fatalf("scheduled event claimed %v after the start, before its NotBefore (%v)", el, delay)
			}
			scheduled = &d // a slow machine: it is due already
			continue
		case "due":
			if !d.NotBefore.Equal(past.NotBefore) {
				t.Errorf("due: NotBefore = %v, want %v", d.NotBefore, past.NotBefore)
			}
		}
		if err := s.Ack(t.Context(), d.Receipt); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	if !got["now"] || !got["due"] {
		t.Fatalf("first Claim got %v, want \"now\" and \"due\"", got)
	}
	if scheduled == nil {
		claimNoneBefore(t, s, "c1", start, delay)
		d := claimEventually(t, s, "c2")
		scheduled = &d
		if el := time.Since(start); el < delay-slack {
			t.Errorf("scheduled event claimable %v after the start, before its NotBefore (%v)", el, delay)
		}
	}
	d := *scheduled
	checkEvent(t, "scheduled", d.Event, e)
	if !d.NotBefore.Equal(e.NotBefore) {
		t.Errorf("NotBefore = %v, want %v", d.NotBefore, e.NotBefore)
	}
	if d.Attempts != 0 || d.LastError != "" {
		t.Errorf("scheduled event delivered with Attempts %d, LastError %q; want 0, \"\"", d.Attempts, d.LastError)
	}
	wantStats(t, s, store.QueueStats{Leased: 1})
	if err := s.Ack(t.Context(), d.Receipt); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	wantStats(t, s, store.QueueStats{})
}

func testScheduledEachAtItsTime(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	start := time.Now()
	due := map[string]time.Duration{"third": 900 * time.Millisecond, "second": 600 * time.Millisecond, "first": 300 * time.Millisecond}
	for _, key := range []string{"third", "second", "first"} { // not in due order
		e := event(key)
		e.NotBefore = start.Add(due[key])
		if !enqueue(t, s, e) {
			t.Fatalf("Enqueue(%s) = false", key)
		}
	}
	got := map[string]bool{}
	deadline := time.Now().Add(eventually)
	for len(got) < len(due) && time.Now().Before(deadline) {
		for _, d := range claim(t, s, "c1", 10, 100*time.Millisecond) {
			if el := time.Since(start); el < due[d.DedupKey]-slack {
				t.Errorf("%s claimed %v after the start, before its NotBefore (%v)", d.DedupKey, el, due[d.DedupKey])
			}
			if got[d.DedupKey] {
				t.Errorf("%s delivered twice", d.DedupKey)
			}
			got[d.DedupKey] = true
		}
	}
	if len(got) != len(due) {
		t.Errorf("claimed %v within %v, want all of %v", got, eventually, due)
	}
}

func testPostpone(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const after = 700 * time.Millisecond
	e := event("rate-limited")
	enqueue(t, s, e)
	d := claimOne(t, s, "c1")
	if _, err := s.Fail(ctx, d.Receipt, "boom", 0); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	d = claimOne(t, s, "c1")
	start := time.Now()
	if err := s.Postpone(ctx, d.Receipt, after); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	wantNotFound(t, "second Postpone", s.Postpone(ctx, d.Receipt, after))
	wantNotFound(t, "Ack after Postpone", s.Ack(ctx, d.Receipt))
	wantNotFound(t, "Postpone of a malformed id", s.Postpone(ctx, store.Receipt{ID: "no-such-id", Token: d.Token}, after))
	wantStats(t, s, store.QueueStats{Ready: 1})
	claimNoneBefore(t, s, "c1", start, after)

	again := claimEventually(t, s, "c2")
	if el := time.Since(start); el < after-slack {
		t.Errorf("claimable %v after Postpone, before %v", el, after)
	}
	// Postponing is not a failure: the attempts stay as they were.
	if again.ID != d.ID || again.Attempts != 1 || again.LastError != "boom" {
		t.Errorf("after Postpone = {%q, %d, %q}, want {%q, 1, \"boom\"}", again.ID, again.Attempts, again.LastError, d.ID)
	}
	checkEvent(t, "postponed", again.Event, e)

	// Postponed by nothing: claimable at once.
	if err := s.Postpone(ctx, again.Receipt, 0); err != nil {
		t.Fatalf("Postpone(0): %v", err)
	}
	if third := claimOne(t, s, "c3"); third.Attempts != 1 {
		t.Errorf("after Postpone(0): Attempts %d, want 1", third.Attempts)
	}
}

func testPostponeLongerThanLease(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(shortLease, 2))
	after := 4 * shortLease
	mustAdd(t, s, "later")
	d := claimOne(t, s, "c1")
	start := time.Now()
	if err := s.Postpone(t.Context(), d.Receipt, after); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	again := claimEventually(t, s, "c2")
	if el := time.Since(start); el < after-slack {
		t.Errorf("claimable %v after Postpone, before %v", el, after)
	}
	// Waiting out a postponement is not a lease that expired.
	if again.Attempts != 0 || again.LastError != "" {
		t.Errorf("after Postpone: Attempts %d, LastError %q; want 0, \"\"", again.Attempts, again.LastError)
	}
	wantStats(t, s, store.QueueStats{Leased: 1})
}
