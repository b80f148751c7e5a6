package redis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// TestDueIndexAcrossReplicas: replicas sharing a namespace keep one due
// index. Started at once with the same notices, they build it once
// between them (or again, harmlessly) while others write; a replica
// configured with another cadence that writes marks it stale, and the
// next read of a replica builds it again for its own cadence, so that
// what it lists is what its cadence makes due.
func TestDueIndexAcrossReplicas(t *testing.T) {
	url := redistest.Start(t)
	ns := newNamespace()
	ctx := context.Background()
	n := policy.Notice{ID: "code", Version: 1, RemindEveryDays: 2}
	created := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a := open(t, Options{URL: url, Namespace: ns})
	const people = 3000
	for i := range people {
		o := policy.Obligation{UserID: fmt.Sprintf("u%05d", i), NoticeID: n.ID, Version: n.Version, Status: policy.Pending, CreatedAt: created}
		if i%10 != 0 { // 10% due at day 2 (of cadence 2); the rest reminded at day 1
			o.Reminders, o.LastRemindedAt = 1, created.Add(24*time.Hour)
		}
		if _, err := a.CreateObligation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	due := func(s *Store, n policy.Notice, at time.Time) []string {
		t.Helper()
		var users []string
		p := store.Page{Limit: 500}
		for {
			items, next, err := s.ListObligationsDue(ctx, n.ID, n.Version, at, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range items {
				users = append(users, o.UserID)
			}
			if p.Cursor = next; next == "" {
				slices.Sort(users) // the index's order is by time first
				return users
			}
		}
	}
	brute := func(s *Store, n policy.Notice, at time.Time) []string {
		t.Helper()
		var users []string
		p := store.Page{Limit: 1000}
		for {
			items, next, err := s.ListObligations(ctx, store.ObligationFilter{NoticeID: n.ID, Version: n.Version}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range items {
				if policy.Actionable(n, o, at) {
					users = append(users, o.UserID)
				}
			}
			if p.Cursor = next; next == "" {
				slices.Sort(users)
				return users
			}
		}
	}

	// Three replicas start at once; a fourth writes meanwhile.
	replicas := []*Store{a, open(t, Options{URL: url, Namespace: ns}), open(t, Options{URL: url, Namespace: ns})}
	writer := open(t, Options{URL: url, Namespace: ns})
	if err := writer.IndexDue(ctx, []policy.Notice{n}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, s := range replicas {
		wg.Go(func() {
			if err := s.IndexDue(ctx, []policy.Notice{n}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < people; i += 37 {
			err := writer.UpdateObligation(ctx, fmt.Sprintf("u%05d", i), n.ID, n.Version, func(o policy.Obligation) (policy.Obligation, error) {
				return policy.MarkReminded{At: created.Add(36 * time.Hour)}.Update(o), nil
			})
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	day2 := created.Add(48 * time.Hour)
	want := brute(a, n, day2)
	if len(want) == 0 || len(want) == people {
		t.Fatalf("%d of %d due: the fixture is wrong", len(want), people)
	}
	for i, s := range replicas {
		if got := due(s, n, day2); !slices.Equal(got, want) {
			t.Errorf("replica %d lists %d due, want %d", i, len(got), len(want))
		}
	}

	// A replica with another cadence writes: the index is stale, and
	// each replica's next read builds it for its own cadence.
	daily := n
	daily.RemindEveryDays = 1
	other := open(t, Options{URL: url, Namespace: ns})
	if err := other.IndexDue(ctx, []policy.Notice{daily}); err != nil {
		t.Fatal(err)
	}
	if got, want := due(other, daily, day2), brute(other, daily, day2); !slices.Equal(got, want) {
		t.Errorf("the daily replica lists %d due, want %d", len(got), len(want))
	}
	err := a.UpdateObligation(ctx, "u00001", n.ID, n.Version, func(o policy.Obligation) (policy.Obligation, error) {
		return policy.MarkReminded{At: created.Add(40 * time.Hour)}.Update(o), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := due(other, daily, day2), brute(other, daily, day2); !slices.Equal(got, want) {
		t.Errorf("the daily replica, after a write of another cadence, lists %d due, want %d", len(got), len(want))
	}
	if got, want := due(a, n, day2), brute(a, n, day2); !slices.Equal(got, want) {
		t.Errorf("replica 0, after the daily replica's build, lists %d due, want %d", len(got), len(want))
	}
}
