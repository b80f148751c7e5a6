package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

func obligationKey(user, notice string, version int) store.ObligationKey {
	return store.ObligationKey{UserID: user, NoticeID: notice, Version: version}
}

// testUpdateObligations: one call updates thousands of obligations (more
// than one batch), skips missing ones, updates a repeated key once, and
// keeps the counters and the status index exact.
func testUpdateObligations(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const n, notice = 2500, "bulk"
	parallel(t, n, func(i int) error {
		_, err := s.CreateObligation(ctx, obligation(fmt.Sprintf("user%05d", i), notice, 1, policy.Pending))
		return err
	})
	for i := range 10 {
		createObligation(t, s, obligation(fmt.Sprintf("user%05d", i), "other", 1, policy.Pending))
	}
	var keys, bulk []store.ObligationKey
	for i := range n {
		bulk = append(bulk, obligationKey(fmt.Sprintf("user%05d", i), notice, 1))
		keys = append(keys, bulk[i])
		if i%500 == 0 {
			keys = append(keys, obligationKey(fmt.Sprintf("nobody%d", i), notice, 1), obligationKey(fmt.Sprintf("user%05d", i), notice, 2))
		}
	}
	keys = append(keys, keys[:5]...) // repeated: updated once
	keys = append(keys, obligationKey("user00003", "other", 1), obligationKey("user00004", "other", 1))

	remindedAt := baseTime.Add(24 * time.Hour)
	var mu sync.Mutex
	seen := map[store.ObligationKey]bool{}
	remind := func(o policy.Obligation) (policy.Obligation, error) {
		mu.Lock()
		seen[obligationKey(o.UserID, o.NoticeID, o.Version)] = true
		mu.Unlock()
		if o.Status == policy.Pending {
			o.Status = policy.Overdue
		}
		o.Reminders++
		o.LastRemindedAt = remindedAt
		return o, nil
	}
	if err := s.UpdateObligations(ctx, keys, remind); err != nil {
		t.Fatalf("UpdateObligations of %d keys: %v", len(keys), err)
	}
	if len(seen) != n+2 {
		t.Errorf("fn saw %d obligations, want %d (missing keys skipped)", len(seen), n+2)
	}
	want := obligation("user00001", notice, 1, policy.Overdue)
	want.Reminders, want.LastRemindedAt = 1, remindedAt
	sameJSON(t, "an updated obligation", getObligation(t, s, "user00001", notice, 1), want)
	for i, o := range listObligations(t, s, store.ObligationFilter{NoticeID: notice}, 1000) {
		if o.Status != policy.Overdue || o.Reminders != 1 {
			t.Fatalf("obligation %d after one update: %s with %d reminders, want overdue with 1", i, o.Status, o.Reminders)
		}
	}
	for _, k := range []store.ObligationKey{obligationKey("nobody0", notice, 1), obligationKey("user00000", notice, 2)} {
		_, err := s.GetObligation(ctx, k.UserID, k.NoticeID, k.Version)
		wantNotFound(t, "an obligation UpdateObligations was given but that did not exist", err)
	}
	wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{policy.Overdue: n})
	wantCounts(t, s, "other", 1, map[policy.ObligationStatus]int{policy.Overdue: 2, policy.Pending: 8})
	if got := listObligations(t, s, store.ObligationFilter{NoticeID: notice, Status: policy.Pending}, 0); len(got) != 0 {
		t.Errorf("pending after the update: %d", len(got))
	}

	// Status changes of every kind keep the counts exact; an update that
	// changes nothing writes nothing (and is no error).
	err := s.UpdateObligations(ctx, bulk, func(o policy.Obligation) (policy.Obligation, error) {
		i, err := strconv.Atoi(strings.TrimPrefix(o.UserID, "user"))
		if err != nil {
			return o, err
		}
		switch i % 4 {
		case 0:
			o.Status = policy.Pending
		case 1:
			o.Status, o.AcknowledgedAt, o.ClosedReason = policy.Acknowledged, remindedAt, policy.ReasonCardClicked
		case 2:
			o.Status, o.ClosedReason = policy.Cancelled, policy.ReasonMemberDeleted
		}
		return o, nil
	})
	if err != nil {
		t.Fatalf("UpdateObligations changing statuses: %v", err)
	}
	byStatus := map[policy.ObligationStatus]int{policy.Pending: 0, policy.Acknowledged: 0, policy.Cancelled: 0, policy.Overdue: 0}
	for st := range byStatus {
		byStatus[st] = len(listObligations(t, s, store.ObligationFilter{NoticeID: notice, Version: 1, Status: st}, 1000))
	}
	wantCounts(t, s, notice, 1, byStatus)
	wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{policy.Pending: n / 4, policy.Acknowledged: n / 4, policy.Cancelled: n / 4, policy.Overdue: n / 4})
	if err := s.UpdateObligations(ctx, nil, remind); err != nil {
		t.Errorf("UpdateObligations of no keys: %v", err)
	}

	// An error from fn, or a change of identity, is returned; nothing of
	// the small batch it was in is written.
	for _, u := range []string{"a", "b", "c"} {
		createObligation(t, s, obligation(u, "errs", 1, policy.Pending))
	}
	errKeys := []store.ObligationKey{obligationKey("a", "errs", 1), obligationKey("b", "errs", 1), obligationKey("c", "errs", 1)}
	boom := errors.New("boom")
	err = s.UpdateObligations(ctx, errKeys, func(o policy.Obligation) (policy.Obligation, error) {
		o.Reminders = 7
		if o.UserID == "b" {
			return o, boom
		}
		return o, nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateObligations with a failing fn = %v, want it to wrap fn's error", err)
	}
	for name, change := range map[string]func(*policy.Obligation){
		"user": func(o *policy.Obligation) { o.UserID = "x" }, "version": func(o *policy.Obligation) { o.Version = 9 },
		"status": func(o *policy.Obligation) { o.Status = "" },
	} {
		err := s.UpdateObligations(ctx, errKeys, func(o policy.Obligation) (policy.Obligation, error) {
			o.Reminders = 7
			if o.UserID == "c" {
				change(&o)
			}
			return o, nil
		})
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateObligations changing the %s = %v, want an error", name, err)
		}
	}
	for _, k := range errKeys {
		if o := getObligation(t, s, k.UserID, k.NoticeID, k.Version); o.Reminders != 0 {
			t.Errorf("%s's obligation after refused updates: %d reminders, want 0", k.UserID, o.Reminders)
		}
	}
}

// testUpdateObligationsConcurrent: replicas' reminder runs update the
// same obligations (each its own order) while workers close some of
// them: no update is lost, no close is undone, and the counters and the
// status index agree with the records.
func testUpdateObligationsConcurrent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const n, runners, runs, notice = 300, 6, 4, "overlap"
	keys := make([]store.ObligationKey, n)
	for i := range n {
		keys[i] = obligationKey(fmt.Sprintf("user%03d", i), notice, 1)
	}
	parallel(t, n, func(i int) error {
		_, err := s.CreateObligation(ctx, obligation(keys[i].UserID, notice, 1, policy.Pending))
		return err
	})
	remind := func(o policy.Obligation) (policy.Obligation, error) {
		if o.Status == policy.Pending {
			o.Status = policy.Overdue
		}
		o.Reminders++
		return o, nil
	}
	var wg sync.WaitGroup
	for r := range runners {
		wg.Go(func() {
			mine := slices.Clone(keys)
			if r%2 == 1 {
				slices.Reverse(mine)
			}
			mine = append(mine[r*n/runners:], mine[:r*n/runners]...)
			for range runs {
				if err := s.UpdateObligations(ctx, mine, remind); err != nil {
					t.Errorf("UpdateObligations: %v", err)
					return
				}
			}
		})
	}
	for c := range 4 {
		wg.Go(func() {
			for i := 3 * c; i < n; i += 12 { // every third, by four closers
				k := keys[i]
				if _, err := s.CloseObligation(ctx, k.UserID, k.NoticeID, k.Version, policy.Cancelled, policy.ReasonLeftAudience, baseTime); err != nil {
					t.Errorf("CloseObligation: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, o := range listObligations(t, s, store.ObligationFilter{NoticeID: notice}, 0) {
		want := policy.Overdue
		if i%3 == 0 {
			want = policy.Cancelled
		}
		if o.Status != want || o.Reminders != runners*runs {
			t.Errorf("%s: %s with %d reminders, want %s with %d", o.UserID, o.Status, o.Reminders, want, runners*runs)
		}
	}
	wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{policy.Cancelled: n / 3, policy.Overdue: n - n/3})
	for _, st := range []policy.ObligationStatus{policy.Pending, policy.Overdue, policy.Cancelled} {
		got := listObligations(t, s, store.ObligationFilter{Status: st}, 0)
		for _, o := range got {
			if o.Status != st {
				t.Errorf("the %s index lists %s's obligation, which is %s", st, o.UserID, o.Status)
			}
		}
		if c := counts(t, s, notice, 1)[st]; len(got) != c {
			t.Errorf("the %s index lists %d, the counter says %d", st, len(got), c)
		}
	}
}
