package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// dueNotice is reminded every 2 days at most 3 times, escalated after 2
// reminders, and owed again 30 days after an acknowledgement.
var dueNotice = policy.Notice{ID: "code", Version: 2, DueDays: 7, RemindEveryDays: 2, MaxReminders: 3, EscalateAfter: 2, ReattestDays: 30}

// dueDay is baseTime plus d days.
func dueDay(d float64) time.Time { return baseTime.Add(time.Duration(d * 24 * float64(time.Hour))) }

func indexDue(t *testing.T, s store.Store, notices ...policy.Notice) {
	t.Helper()
	if err := s.IndexDue(t.Context(), notices); err != nil {
		t.Fatalf("IndexDue: %v", err)
	}
}

// dueOrder is the order ListObligationsDue promises at until: by the
// millisecond of Due.From, then UserID; then those due at exactly until
// (Due.At) by UserID.
func dueOrder(n policy.Notice, until time.Time) func(a, b policy.Obligation) int {
	key := func(o policy.Obligation) (int, int64) {
		d := policy.NextDue(n, o)
		if !d.From.IsZero() && !until.Before(d.From) {
			return 0, d.From.UnixMilli()
		}
		return 1, 0
	}
	return func(a, b policy.Obligation) int {
		ka, ta := key(a)
		kb, tb := key(b)
		return cmp.Or(cmp.Compare(ka, kb), cmp.Compare(ta, tb), strings.Compare(a.UserID, b.UserID))
	}
}

// wantDue checks ListObligationsDue of n at each instant of at (and a
// millisecond and a nanosecond either side of it) against what the
// reminder run would pick of all n's obligations (policy.Actionable),
// in the promised order, read in pages of limit.
func wantDue(t *testing.T, s store.Store, n policy.Notice, limit int, at ...time.Time) {
	t.Helper()
	all := listObligations(t, s, store.ObligationFilter{NoticeID: n.ID, Version: n.Version}, 1000)
	var instants []time.Time
	for _, t0 := range at {
		instants = append(instants, t0, t0.Add(-time.Millisecond), t0.Add(time.Millisecond), t0.Add(-1), t0.Add(1))
	}
	for _, until := range instants {
		var want []policy.Obligation
		for _, o := range all {
			if policy.Actionable(n, o, until) {
				want = append(want, o)
			}
		}
		slices.SortFunc(want, dueOrder(n, until))
		got := pageAll(t, fmt.Sprintf("ListObligationsDue(%s, %s)", n.Key(), until), limit, func(p store.Page) ([]policy.Obligation, string, error) {
			return s.ListObligationsDue(t.Context(), n.ID, n.Version, until, p)
		})
		if g, w := obligationIDs(got), obligationIDs(want); !slices.Equal(g, w) {
			t.Errorf("due at %s:\n got %v\nwant %v", until.Format(time.RFC3339Nano), g, w)
		}
	}
}

// dueInstants are the instants the due tests look at: every 6 hours
// for 40 days, and the instants each obligation of n becomes due.
func dueInstants(t *testing.T, s store.Store, n policy.Notice) []time.Time {
	t.Helper()
	var out []time.Time
	for h := -6; h <= 40*24; h += 6 {
		out = append(out, baseTime.Add(time.Duration(h)*time.Hour))
	}
	for _, o := range listObligations(t, s, store.ObligationFilter{NoticeID: n.ID, Version: n.Version}, 1000) {
		d := policy.NextDue(n, o)
		for _, t0 := range []time.Time{d.From, d.At} {
			if !t0.IsZero() {
				out = append(out, t0)
			}
		}
	}
	return out
}

func checkDue(t *testing.T, s store.Store, n policy.Notice, what string) {
	t.Helper()
	t.Run(what, func(t *testing.T) {
		at := dueInstants(t, s, n)
		wantDue(t, s, n, 2, at...)
		wantDue(t, s, n, 1000, at...)
	})
}

// testDueFollowsWrites: the due index of a notice version follows every
// write of its obligations (create, update one and many, close,
// acknowledge, purge): at every instant ListObligationsDue returns what
// the reminder run may act on, read off all the obligations.
func testDueFollowsWrites(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	other := policy.Notice{ID: "gift", Version: 1} // no cadence: only due dates
	indexDue(t, s, dueNotice, other)

	mk := func(user string, fs ...func(*policy.Obligation)) policy.Obligation {
		o := obligation(user, dueNotice.ID, dueNotice.Version, policy.Pending)
		for _, f := range fs {
			f(&o)
		}
		createObligation(t, s, o)
		return o
	}
	noDue := func(o *policy.Obligation) { o.DueAt = time.Time{} }
	for _, u := range trickyUsers {
		mk(u)
	}
	mk("nodue", noDue)
	mk("overdue", func(o *policy.Obligation) { o.Status = policy.Overdue })
	mk("later", func(o *policy.Obligation) { o.CreatedAt, o.DueAt = dueDay(3), dueDay(10) })
	// Others' obligations: another version, another notice.
	createObligation(t, s, obligation("u", dueNotice.ID, 1, policy.Pending))
	createObligation(t, s, obligation("u", "gift", 1, policy.Pending))
	checkDue(t, s, dueNotice, "created")
	checkDue(t, s, other, "created, the other notice")

	// Reminded (many at once), twice.
	keys := []store.ObligationKey{}
	for _, u := range append(slices.Clone(trickyUsers[:4]), "nodue", "overdue") {
		keys = append(keys, store.ObligationKey{UserID: u, NoticeID: dueNotice.ID, Version: dueNotice.Version})
	}
	for _, at := range []time.Time{dueDay(2), dueDay(4)} {
		err := s.UpdateObligations(ctx, keys, func(o policy.Obligation) (policy.Obligation, error) {
			return policy.MarkReminded{At: at}.Update(o), nil
		})
		if err != nil {
			t.Fatalf("UpdateObligations: %v", err)
		}
	}
	checkDue(t, s, dueNotice, "reminded")

	// Overdue (one), escalated (one).
	update := func(user string, fn func(policy.Obligation) policy.Obligation) {
		t.Helper()
		err := s.UpdateObligation(ctx, user, dueNotice.ID, dueNotice.Version, func(o policy.Obligation) (policy.Obligation, error) {
			return fn(o), nil
		})
		if err != nil {
			t.Fatalf("UpdateObligation(%s): %v", user, err)
		}
	}
	update(trickyUsers[0], policy.MarkOverdue{At: dueDay(7)}.Update)
	update(trickyUsers[1], policy.MarkEscalated{At: dueDay(8)}.Update)
	checkDue(t, s, dueNotice, "overdue and escalated")

	// Closed; acknowledged (then due again 30 days on).
	if changed, err := s.CloseObligation(ctx, trickyUsers[2], dueNotice.ID, dueNotice.Version, policy.Cancelled, policy.ReasonLeftAudience, dueDay(1)); err != nil || !changed {
		t.Fatalf("CloseObligation = %v, %v", changed, err)
	}
	attest(t, s, attestation(trickyUsers[3], dueNotice.ID, dueNotice.Version, policy.ChannelCard, dueDay(1.5)))
	attest(t, s, attestation("later", dueNotice.ID, dueNotice.Version, policy.ChannelReply, dueDay(3.25)))
	checkDue(t, s, dueNotice, "closed and acknowledged")

	// Reopened in round 1 at day 31.5 (due at that very instant, then
	// from its first reminder), then reminded once.
	update(trickyUsers[3], policy.Reattest{Round: 1, At: dueDay(31.5), DueAt: dueDay(38.5)}.Update)
	checkDue(t, s, dueNotice, "reopened")
	update(trickyUsers[3], policy.MarkReminded{At: dueDay(33.5)}.Update)
	checkDue(t, s, dueNotice, "reopened and reminded")

	// Purged: the closed ones, long after.
	res := purgeAll(t, s, store.RecordObligations, dueDay(1000), nil, 3)
	if res.Purged != 2 {
		t.Errorf("purged %d, want 2 (the cancelled one and the acknowledged one)", res.Purged)
	}
	checkDue(t, s, dueNotice, "purged")
	checkDue(t, s, other, "purged, the other notice")
}

// testDueIndexBuilt: obligations written before IndexDue (a store from
// before the index, or written by a process that gave no notices or
// other cadences) are indexed when IndexDue is given their notice
// version, or when it is read; a changed cadence builds it again.
func testDueIndexBuilt(t *testing.T, open OpenFunc, o Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	write := func(s store.Store, users ...string) {
		t.Helper()
		for i, u := range users {
			ob := obligation(u, dueNotice.ID, dueNotice.Version, policy.Pending)
			ob.CreatedAt = dueDay(float64(i) / 4)
			createObligation(t, s, ob)
		}
		err := s.UpdateObligation(ctx, users[0], dueNotice.ID, dueNotice.Version, func(o policy.Obligation) (policy.Obligation, error) {
			return policy.MarkReminded{At: dueDay(2)}.Update(o), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Before any IndexDue: no schedule.
	write(s, "a1", "a2", "a3")
	_, _, err := s.ListObligationsDue(ctx, dueNotice.ID, dueNotice.Version, dueDay(3), store.Page{})
	if err == nil {
		t.Error("ListObligationsDue of a notice version not given to IndexDue: nil error")
	}
	indexDue(t, s, dueNotice)
	checkDue(t, s, dueNotice, "indexed")

	// Another cadence: built again for it.
	faster := dueNotice
	faster.RemindEveryDays = 1
	indexDue(t, s, faster)
	checkDue(t, s, faster, "cadence changed")

	// Written while the schedule lacks the notice version: read after
	// it is given again, the index is built again first.
	indexDue(t, s, policy.Notice{ID: "gift", Version: 1})
	write(s, "b1", "b2")
	if err := s.UpdateObligation(ctx, "a2", dueNotice.ID, dueNotice.Version, func(o policy.Obligation) (policy.Obligation, error) {
		return policy.MarkReminded{At: dueDay(1)}.Update(o), nil
	}); err != nil {
		t.Fatal(err)
	}
	indexDue(t, s, faster)
	checkDue(t, s, faster, "written without the notice")

	// A later version: the earlier one is no longer listed.
	v3 := faster
	v3.Version = 3
	indexDue(t, s, v3)
	if _, _, err := s.ListObligationsDue(ctx, faster.ID, faster.Version, dueDay(3), store.Page{}); err == nil {
		t.Error("ListObligationsDue of a superseded version: nil error")
	}
	if o.Reopen == nil {
		return
	}
	// Reopened by a process that gives no notices and writes.
	s = o.Reopen(t, s, opts(longLease, 5))
	write(s, "c1", "c2")
	s = o.Reopen(t, s, opts(longLease, 5))
	indexDue(t, s, dueNotice)
	checkDue(t, s, dueNotice, "reopened")
}

// testDueListArguments: a bad cursor, and a cursor from another
// instant's listing, which goes on after its entry.
func testDueListArguments(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	indexDue(t, s, dueNotice)
	for i := range 5 {
		createObligation(t, s, obligation(fmt.Sprintf("u%d", i), dueNotice.ID, dueNotice.Version, policy.Pending))
	}
	for _, c := range []string{"!", "AAAA", "x"} {
		_, _, err := s.ListObligationsDue(ctx, dueNotice.ID, dueNotice.Version, dueDay(3), store.Page{Cursor: c, Limit: 2})
		if !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("ListObligationsDue with cursor %q: %v, want store.ErrInvalidCursor", c, err)
		}
	}
	first, next, err := s.ListObligationsDue(ctx, dueNotice.ID, dueNotice.Version, dueDay(3), store.Page{Limit: 2})
	if err != nil || len(first) != 2 || next == "" {
		t.Fatalf("first page: %d items, next %q, %v", len(first), next, err)
	}
	rest, next, err := s.ListObligationsDue(ctx, dueNotice.ID, dueNotice.Version, dueDay(3), store.Page{Cursor: next, Limit: 10})
	if err != nil || next != "" {
		t.Fatalf("second page: next %q, %v", next, err)
	}
	if got := obligationIDs(append(first, rest...)); len(got) != 5 || !slices.IsSortedFunc(got, strings.Compare) {
		t.Errorf("pages = %v, want u0…u4 in order", got)
	}
}
