package storetest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// --- helpers ---

func obligation(user, notice string, version int, status policy.ObligationStatus) policy.Obligation {
	return policy.Obligation{
		UserID:    user,
		NoticeID:  notice,
		Version:   version,
		Status:    status,
		Reason:    policy.ReasonPublished,
		CreatedAt: baseTime,
		DueAt:     baseTime.Add(7 * 24 * time.Hour),
	}
}

// sameJSON fails unless got and want encode alike (times compare by
// instant and zone, which the stores keep).
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func createObligation(t *testing.T, s store.Store, o policy.Obligation) bool {
	t.Helper()
	created, err := s.CreateObligation(t.Context(), o)
	if err != nil {
		t.Fatalf("CreateObligation(%s, %s, %d): %v", o.UserID, o.NoticeID, o.Version, err)
	}
	return created
}

func getObligation(t *testing.T, s store.Store, user, notice string, version int) policy.Obligation {
	t.Helper()
	o, err := s.GetObligation(t.Context(), user, notice, version)
	if err != nil {
		t.Fatalf("GetObligation(%s, %s, %d): %v", user, notice, version, err)
	}
	return o
}

func counts(t *testing.T, s store.Store, notice string, version int) map[policy.ObligationStatus]int {
	t.Helper()
	c, err := s.CountObligations(t.Context(), notice, version)
	if err != nil {
		t.Fatalf("CountObligations(%s, %d): %v", notice, version, err)
	}
	return c
}

func wantCounts(t *testing.T, s store.Store, notice string, version int, want map[policy.ObligationStatus]int) {
	t.Helper()
	if got := counts(t, s, notice, version); !maps.Equal(got, want) {
		t.Errorf("CountObligations(%s, %d) = %v, want %v", notice, version, got, want)
	}
}

// pageAll reads every page of a listing with the given limit: every page
// but the last must be full, and no page larger than the limit.
func pageAll[T any](t *testing.T, what string, limit int, list func(store.Page) ([]T, string, error)) []T {
	t.Helper()
	var out []T
	p := store.Page{Limit: limit}
	for pages := 1; ; pages++ {
		items, next, err := list(p)
		if err != nil {
			t.Fatalf("%s, page %d: %v", what, pages, err)
		}
		if len(items) > p.Size() || (next != "" && len(items) != p.Size()) {
			t.Fatalf("%s, page %d: %d items (next %q) with a limit of %d", what, pages, len(items), next, p.Size())
		}
		if items == nil {
			t.Fatalf("%s, page %d: nil slice, want an empty one", what, pages)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		if pages > 1_000_000 {
			t.Fatalf("%s: no end of pages", what)
		}
		p.Cursor = next
	}
}

func compareObligations(a, b policy.Obligation) int {
	return cmp.Or(strings.Compare(a.NoticeID, b.NoticeID), cmp.Compare(a.Version, b.Version), strings.Compare(a.UserID, b.UserID))
}

func obligationIDs(os []policy.Obligation) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = fmt.Sprintf("%q/%d/%q:%s", o.NoticeID, o.Version, o.UserID, o.Status)
	}
	return out
}

func listObligations(t *testing.T, s store.Store, f store.ObligationFilter, limit int) []policy.Obligation {
	t.Helper()
	return pageAll(t, fmt.Sprintf("ListObligations(%+v)", f), limit, func(p store.Page) ([]policy.Obligation, string, error) {
		return s.ListObligations(t.Context(), f, p)
	})
}

// tricky names: prefixes of each other, NUL bytes, non-ASCII, so that
// the key encodings' order and boundaries are tested.
var (
	trickyNotices = []string{"a", "a\x00", "a\x00b", "ab", "b", "规章"}
	trickyUsers   = []string{"u", "u\x00x", "u1", "u10", "u2", "U", "张三", "u\u00ff", "u\U0010FFFF"}
	trickyVersion = []int{1, 2, 10, 256}
)

// --- obligations ---

func testObligationCreate(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	o := obligation("zhangsan", "archive", 3, policy.Pending)
	if !createObligation(t, s, o) {
		t.Fatal("first CreateObligation = false")
	}
	again := o
	again.Reason, again.Reminders = policy.ReasonNewMember, 9
	if createObligation(t, s, again) {
		t.Error("second CreateObligation of the same identity = true")
	}
	sameJSON(t, "stored obligation", getObligation(t, s, "zhangsan", "archive", 3), o)

	// Another version, notice or person is another obligation.
	for _, other := range []policy.Obligation{
		obligation("zhangsan", "archive", 4, policy.Pending),
		obligation("zhangsan", "archive2", 3, policy.Pending),
		obligation("lisi", "archive", 3, policy.Overdue),
	} {
		if !createObligation(t, s, other) {
			t.Errorf("CreateObligation(%s, %s, %d) = false", other.UserID, other.NoticeID, other.Version)
		}
	}
	noStatus := obligation("wangwu", "archive", 3, "")
	createObligation(t, s, noStatus)
	if got := getObligation(t, s, "wangwu", "archive", 3); got.Status != policy.Pending {
		t.Errorf("created without a status: stored %q, want pending", got.Status)
	}
	wantCounts(t, s, "archive", 3, map[policy.ObligationStatus]int{policy.Pending: 2, policy.Overdue: 1})

	for _, bad := range []policy.Obligation{obligation("", "archive", 1, policy.Pending), obligation("u", "", 1, policy.Pending)} {
		if _, err := s.CreateObligation(ctx, bad); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateObligation(%q, %q) = %v, want an error", bad.UserID, bad.NoticeID, err)
		}
	}
	_, err := s.GetObligation(ctx, "zhangsan", "archive", 5)
	wantNotFound(t, "GetObligation of an unknown version", err)
	_, err = s.GetObligation(ctx, "nobody", "archive", 3)
	wantNotFound(t, "GetObligation of an unknown person", err)
	wantCounts(t, s, "unknown", 1, map[policy.ObligationStatus]int{})
}

func testObligationClose(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	closeAt := baseTime.Add(time.Hour)
	closeO := func(user string, status policy.ObligationStatus, reason policy.Reason) (bool, error) {
		return s.CloseObligation(ctx, user, "archive", 1, status, reason, closeAt)
	}
	_, err := closeO("nobody", policy.Superseded, policy.ReasonNewVersion)
	wantNotFound(t, "CloseObligation of none", err)

	createObligation(t, s, obligation("a", "archive", 1, policy.Pending))
	createObligation(t, s, obligation("b", "archive", 1, policy.Overdue))
	createObligation(t, s, obligation("c", "archive", 1, policy.Pending))

	if changed, err := closeO("a", policy.Superseded, policy.ReasonNewVersion); err != nil || !changed {
		t.Fatalf("CloseObligation(pending) = %v, %v; want changed", changed, err)
	}
	got := getObligation(t, s, "a", "archive", 1)
	want := obligation("a", "archive", 1, policy.Superseded)
	want.ClosedReason = policy.ReasonNewVersion
	want.ClosedAt = closeAt
	sameJSON(t, "closed obligation", got, want)

	if changed, err := closeO("a", policy.Cancelled, policy.ReasonMemberDeleted); err != nil || changed {
		t.Errorf("CloseObligation of a closed one = %v, %v; want unchanged", changed, err)
	}
	sameJSON(t, "after closing again", getObligation(t, s, "a", "archive", 1), want)

	if changed, err := closeO("b", policy.Cancelled, policy.ReasonLeftAudience); err != nil || !changed {
		t.Errorf("CloseObligation(overdue) = %v, %v; want changed", changed, err)
	}
	if got := getObligation(t, s, "b", "archive", 1); got.Status != policy.Cancelled || got.ClosedReason != policy.ReasonLeftAudience {
		t.Errorf("after closing overdue: %s (%s)", got.Status, got.ClosedReason)
	}

	// An acknowledged one stays acknowledged.
	if _, err := s.Attest(ctx, attestation("c", "archive", 1, policy.ChannelCard, baseTime)); err != nil {
		t.Fatal(err)
	}
	if changed, err := closeO("c", policy.Superseded, policy.ReasonNewVersion); err != nil || changed {
		t.Errorf("CloseObligation of an acknowledged one = %v, %v; want unchanged", changed, err)
	}
	wantCounts(t, s, "archive", 1, map[policy.ObligationStatus]int{policy.Superseded: 1, policy.Cancelled: 1, policy.Acknowledged: 1})

	for _, status := range []policy.ObligationStatus{policy.Pending, policy.Overdue, policy.Acknowledged, ""} {
		createObligation(t, s, obligation("d", "archive", 1, policy.Pending))
		if _, err := closeO("d", status, policy.ReasonNewVersion); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("CloseObligation to %q = %v, want an error", status, err)
		}
	}
	if got := getObligation(t, s, "d", "archive", 1); got.Status != policy.Pending {
		t.Errorf("after refused closes: %s", got.Status)
	}
}

func testObligationUpdate(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	called := false
	err := s.UpdateObligation(ctx, "nobody", "archive", 1, func(o policy.Obligation) (policy.Obligation, error) {
		called = true
		return o, nil
	})
	wantNotFound(t, "UpdateObligation of none", err)
	if called {
		t.Error("UpdateObligation called fn for a missing obligation")
	}

	o := obligation("a", "archive", 1, policy.Pending)
	createObligation(t, s, o)
	createObligation(t, s, obligation("b", "archive", 1, policy.Pending))
	remindedAt := baseTime.Add(24 * time.Hour)
	err = s.UpdateObligation(ctx, "a", "archive", 1, func(o policy.Obligation) (policy.Obligation, error) {
		o.Status, o.Reminders, o.LastRemindedAt = policy.Overdue, o.Reminders+1, remindedAt
		return o, nil
	})
	if err != nil {
		t.Fatalf("UpdateObligation: %v", err)
	}
	want := o
	want.Status, want.Reminders, want.LastRemindedAt = policy.Overdue, 1, remindedAt
	sameJSON(t, "updated obligation", getObligation(t, s, "a", "archive", 1), want)
	wantCounts(t, s, "archive", 1, map[policy.ObligationStatus]int{policy.Pending: 1, policy.Overdue: 1})
	if got := listObligations(t, s, store.ObligationFilter{Status: policy.Overdue}, 10); len(got) != 1 || got[0].UserID != "a" {
		t.Errorf("overdue after update: %v", obligationIDs(got))
	}
	if got := listObligations(t, s, store.ObligationFilter{NoticeID: "archive", Version: 1, Status: policy.Pending}, 10); len(got) != 1 || got[0].UserID != "b" {
		t.Errorf("pending after update: %v", obligationIDs(got))
	}

	// An error from fn is returned and nothing changes.
	boom := errors.New("boom")
	err = s.UpdateObligation(ctx, "a", "archive", 1, func(o policy.Obligation) (policy.Obligation, error) {
		o.Reminders = 100
		return o, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateObligation with a failing fn = %v, want it to wrap fn's error", err)
	}
	// So does a change of identity.
	for name, change := range map[string]func(*policy.Obligation){
		"user": func(o *policy.Obligation) { o.UserID = "b" }, "notice": func(o *policy.Obligation) { o.NoticeID = "x" },
		"version": func(o *policy.Obligation) { o.Version = 2 }, "status": func(o *policy.Obligation) { o.Status = "" },
	} {
		err = s.UpdateObligation(ctx, "a", "archive", 1, func(o policy.Obligation) (policy.Obligation, error) {
			o.Reminders = 100
			change(&o)
			return o, nil
		})
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateObligation changing the %s = %v, want an error", name, err)
		}
	}
	sameJSON(t, "after refused updates", getObligation(t, s, "a", "archive", 1), want)

	// Concurrent read-modify-writes lose nothing.
	const goroutines, each = 20, 5
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				err := s.UpdateObligation(ctx, "b", "archive", 1, func(o policy.Obligation) (policy.Obligation, error) {
					o.Reminders++
					return o, nil
				})
				if err != nil {
					t.Errorf("concurrent UpdateObligation: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := getObligation(t, s, "b", "archive", 1); got.Reminders != goroutines*each {
		t.Errorf("after %d concurrent increments: Reminders = %d", goroutines*each, got.Reminders)
	}
}

// testObligationList pages through a set of obligations with tricky
// names under many filters and page sizes, against the same filter and
// order computed here.
func testObligationList(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	statuses := []policy.ObligationStatus{policy.Pending, policy.Overdue, policy.Acknowledged, policy.Superseded, policy.Cancelled}
	var all []policy.Obligation
	i := 0
	for _, n := range trickyNotices {
		for _, v := range trickyVersion {
			for _, u := range trickyUsers {
				i++
				if i%4 == 0 {
					continue
				}
				o := obligation(u, n, v, statuses[(i*7)%len(statuses)])
				createObligation(t, s, o)
				all = append(all, o)
			}
		}
	}
	slices.SortFunc(all, compareObligations)

	var filters []store.ObligationFilter
	for _, n := range []string{"", "a", "a\x00", "规章", "zz"} {
		for _, v := range []int{0, 2, 10} {
			for _, st := range []policy.ObligationStatus{"", policy.Pending, policy.Acknowledged} {
				for _, u := range []string{"", "u", "u\x00x", "nobody"} {
					filters = append(filters, store.ObligationFilter{NoticeID: n, Version: v, Status: st, UserID: u})
				}
			}
		}
	}
	for fi, f := range filters {
		var want []policy.Obligation
		for _, o := range all {
			if (f.NoticeID == "" || o.NoticeID == f.NoticeID) && (f.Version == 0 || o.Version == f.Version) &&
				(f.Status == "" || o.Status == f.Status) && (f.UserID == "" || o.UserID == f.UserID) {
				want = append(want, o)
			}
		}
		limits := []int{0, 3}
		if fi%10 == 0 {
			limits = append(limits, 1)
		}
		for _, limit := range limits {
			got := listObligations(t, s, f, limit)
			if !slices.Equal(obligationIDs(got), obligationIDs(want)) {
				t.Errorf("ListObligations(%+v) with limit %d:\n got %q\nwant %q", f, limit, obligationIDs(got), obligationIDs(want))
			}
		}
	}
	sameJSON(t, "listed obligation", listObligations(t, s, store.ObligationFilter{}, 1000)[0], all[0])

	for _, n := range trickyNotices {
		for _, v := range trickyVersion {
			want := map[policy.ObligationStatus]int{}
			for _, o := range all {
				if o.NoticeID == n && o.Version == v {
					want[o.Status]++
				}
			}
			wantCounts(t, s, n, v, want)
		}
	}

	// Cursors: another listing's cursor is refused or harmless; garbage
	// is refused.
	for _, bad := range []string{"!!!", "AAAA", "bm90IGEga2V5"} {
		if _, _, err := s.ListObligations(ctx, store.ObligationFilter{}, store.Page{Cursor: bad}); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("ListObligations with cursor %q: %v, want ErrInvalidCursor", bad, err)
		}
	}
	_, next, err := s.ListObligations(ctx, store.ObligationFilter{NoticeID: "b"}, store.Page{Limit: 2})
	if err != nil || next == "" {
		t.Fatalf("ListObligations(b) = %q, %v", next, err)
	}
	// The cursor of a later notice, on a filter of an earlier one: the
	// range is past, nothing is listed.
	if got, next, err := s.ListObligations(ctx, store.ObligationFilter{NoticeID: "a"}, store.Page{Cursor: next}); err != nil || len(got) != 0 || next != "" {
		t.Errorf("a cursor beyond the filter's range: %v, %q, %v; want nothing", obligationIDs(got), next, err)
	}
}

// testObligationsAtScale: 100,000 obligations of one notice version
// (every tenth overdue) beside a few of another: counts come from the
// counters, one status and one person are listed from their indexes, and
// the whole version pages through.
func testObligationsAtScale(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const n, notice = 100_000, "all-staff"
	start := time.Now()
	parallel(t, n, func(i int) error {
		st := policy.Pending
		if i%10 == 0 {
			st = policy.Overdue
		}
		_, err := s.CreateObligation(ctx, obligation(fmt.Sprintf("user%06d", i), notice, 1, st))
		return err
	})
	for i := range 100 {
		createObligation(t, s, obligation(fmt.Sprintf("user%06d", i), "other", 1, policy.Pending))
	}
	created := time.Since(start)

	start = time.Now()
	wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{policy.Pending: n * 9 / 10, policy.Overdue: n / 10})
	counted := time.Since(start)

	start = time.Now()
	page, next, err := s.ListObligations(ctx, store.ObligationFilter{NoticeID: notice, Version: 1, Status: policy.Overdue}, store.Page{Limit: 1000})
	if err != nil || len(page) != 1000 || next == "" || page[999].UserID != "user009990" {
		t.Fatalf("first page of overdue: %d items, next %q, %v", len(page), next, err)
	}
	overduePage := time.Since(start)

	start = time.Now()
	mine, next, err := s.ListObligations(ctx, store.ObligationFilter{UserID: "user000051", Status: policy.Pending}, store.Page{})
	if err != nil || next != "" || len(mine) != 2 || mine[0].NoticeID != notice || mine[1].NoticeID != "other" {
		t.Fatalf("one person's pending obligations: %v, %q, %v", obligationIDs(mine), next, err)
	}
	onePerson := time.Since(start)

	start = time.Now()
	everyone := listObligations(t, s, store.ObligationFilter{NoticeID: notice, Version: 1}, 1000)
	pagedAll := time.Since(start)
	if len(everyone) != n {
		t.Fatalf("paged through %d obligations, want %d", len(everyone), n)
	}
	for i, o := range everyone {
		if want := fmt.Sprintf("user%06d", i); o.UserID != want {
			t.Fatalf("obligation %d is %s's, want %s's", i, o.UserID, want)
		}
	}

	// Status changes keep the counts exact.
	for i := range 100 {
		user := fmt.Sprintf("user%06d", i)
		if i%2 == 0 {
			if _, err := s.Attest(ctx, attestation(user, notice, 1, policy.ChannelReply, baseTime)); err != nil {
				t.Fatal(err)
			}
		} else if _, err := s.CloseObligation(ctx, user, notice, 1, policy.Cancelled, policy.ReasonMemberDeleted, baseTime); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{
		policy.Pending: n*9/10 - 90, policy.Overdue: n/10 - 10, policy.Acknowledged: 50, policy.Cancelled: 50})
	t.Logf("created %d obligations in %v; counted in %v; a page of 1,000 overdue in %v; one person's in %v; paged through all in %v",
		n, created, counted, overduePage, onePerson, pagedAll)
}

// parallel runs fn(0…n-1) on many goroutines, failing t on the first
// error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	const workers = 256
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					if failed.CompareAndSwap(false, true) {
						t.Errorf("item %d: %v", i, err)
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		t.FailNow()
	}
}

// --- attestations ---

func attestation(user, notice string, version int, ch policy.Channel, at time.Time) policy.Attestation {
	return policy.Attestation{
		UserID:      user,
		NoticeID:    notice,
		Version:     version,
		ContentHash: "sha256:" + notice,
		Channel:     ch,
		CreateTime:  at.Unix(),
		ReceivedAt:  at,
		TaskID:      "task-" + user,
		DedupKey:    fmt.Sprintf("%s:%s:%d:%d", user, notice, version, at.UnixNano()),
	}
}

func attest(t *testing.T, s store.Store, a policy.Attestation) bool {
	t.Helper()
	created, err := s.Attest(t.Context(), a)
	if err != nil {
		t.Fatalf("Attest(%s, %s, %d): %v", a.UserID, a.NoticeID, a.Version, err)
	}
	return created
}

func testAttest(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	for _, u := range []string{"card", "reply", "overdue", "superseded"} {
		createObligation(t, s, obligation(u, "archive", 2, policy.Pending))
	}
	err := s.UpdateObligation(ctx, "overdue", "archive", 2, func(o policy.Obligation) (policy.Obligation, error) {
		o.Status = policy.Overdue
		return o, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseObligation(ctx, "superseded", "archive", 2, policy.Superseded, policy.ReasonNewVersion, baseTime); err != nil {
		t.Fatal(err)
	}

	at := baseTime.Add(time.Hour)
	card := attestation("card", "archive", 2, policy.ChannelCard, at)
	if !attest(t, s, card) {
		t.Fatal("first Attest = false")
	}
	want := obligation("card", "archive", 2, policy.Acknowledged)
	want.AcknowledgedAt, want.ClosedReason, want.ClosedAt = at, policy.ReasonCardClicked, at
	sameJSON(t, "obligation acknowledged by a click", getObligation(t, s, "card", "archive", 2), want)
	got, err := s.GetAttestation(ctx, "card", "archive", 2)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "stored attestation", got, card)

	// A second click, replay or reply changes nothing.
	later := attestation("card", "archive", 2, policy.ChannelReply, at.Add(time.Minute))
	if attest(t, s, later) {
		t.Error("second Attest = true")
	}
	got, _ = s.GetAttestation(ctx, "card", "archive", 2)
	sameJSON(t, "attestation after a second", got, card)
	sameJSON(t, "obligation after a second attestation", getObligation(t, s, "card", "archive", 2), want)

	reply := attestation("reply", "archive", 2, policy.ChannelReply, at)
	attest(t, s, reply)
	if o := getObligation(t, s, "reply", "archive", 2); o.Status != policy.Acknowledged || o.ClosedReason != policy.ReasonReplyAck || !o.AcknowledgedAt.Equal(at) || !o.ClosedAt.Equal(at) {
		t.Errorf("acknowledged by a reply: %+v", o)
	}
	attest(t, s, attestation("overdue", "archive", 2, policy.ChannelCard, at))
	if o := getObligation(t, s, "overdue", "archive", 2); o.Status != policy.Acknowledged {
		t.Errorf("overdue, then attested: %s", o.Status)
	}
	// Evidence of a closed obligation is kept; the obligation stays closed.
	if !attest(t, s, attestation("superseded", "archive", 2, policy.ChannelCard, at)) {
		t.Error("Attest of a superseded obligation = false; the evidence must be kept")
	}
	if o := getObligation(t, s, "superseded", "archive", 2); o.Status != policy.Superseded || !o.AcknowledgedAt.IsZero() {
		t.Errorf("superseded, then attested: %+v", o)
	}
	// So is evidence without an obligation, which is not created.
	if !attest(t, s, attestation("stranger", "archive", 2, policy.ChannelCard, at)) {
		t.Error("Attest without an obligation = false")
	}
	_, err = s.GetObligation(ctx, "stranger", "archive", 2)
	wantNotFound(t, "obligation after attesting without one", err)
	wantCounts(t, s, "archive", 2, map[policy.ObligationStatus]int{policy.Acknowledged: 3, policy.Superseded: 1})

	_, err = s.GetAttestation(ctx, "card", "archive", 1)
	wantNotFound(t, "GetAttestation of another version", err)
	for name, bad := range map[string]policy.Attestation{
		"no user":    attestation("", "archive", 2, policy.ChannelCard, at),
		"no notice":  attestation("x", "", 2, policy.ChannelCard, at),
		"no channel": attestation("x", "archive", 2, "", at),
		"a channel":  attestation("x", "archive", 2, "email", at),
	} {
		if _, err := s.Attest(ctx, bad); err == nil {
			t.Errorf("Attest with %s succeeded", name)
		}
	}
}

// testAttestConcurrent: 20 replicas' workers attest the same person and
// version at once (while the cron updates the obligation): one
// attestation is created, and the obligation carries its time.
func testAttestConcurrent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	for round := range 3 {
		notice := fmt.Sprint("archive-", round)
		createObligation(t, s, obligation("zhangsan", notice, 1, policy.Pending))
		const n = 20
		var created atomic.Int32
		var winner atomic.Int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ok, err := s.Attest(ctx, attestation("zhangsan", notice, 1, policy.ChannelCard, baseTime.Add(time.Duration(i+1)*time.Second)))
				if err != nil {
					t.Errorf("Attest: %v", err)
				}
				if ok {
					created.Add(1)
					winner.Store(int64(i))
				}
			})
		}
		for range n {
			wg.Go(func() {
				err := s.UpdateObligation(ctx, "zhangsan", notice, 1, func(o policy.Obligation) (policy.Obligation, error) {
					o.Reminders++
					return o, nil
				})
				if err != nil {
					t.Errorf("UpdateObligation: %v", err)
				}
			})
		}
		wg.Wait()
		if c := created.Load(); c != 1 {
			t.Fatalf("round %d: %d attestations created, want 1", round, c)
		}
		at := baseTime.Add(time.Duration(winner.Load()+1) * time.Second)
		a, err := s.GetAttestation(ctx, "zhangsan", notice, 1)
		if err != nil || !a.ReceivedAt.Equal(at) {
			t.Errorf("round %d: stored attestation received at %v (%v), want the winner's %v", round, a.ReceivedAt, err, at)
		}
		o := getObligation(t, s, "zhangsan", notice, 1)
		if o.Status != policy.Acknowledged || !o.AcknowledgedAt.Equal(at) || o.Reminders != n {
			t.Errorf("round %d: obligation %s at %v with %d reminders; want acknowledged at %v with %d", round, o.Status, o.AcknowledgedAt, o.Reminders, at, n)
		}
		wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{policy.Acknowledged: 1})
	}
}

func testAttestationList(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	var all []policy.Attestation
	i := 0
	for _, n := range trickyNotices {
		for _, v := range trickyVersion {
			for _, u := range trickyUsers {
				if i++; i%3 == 0 {
					continue
				}
				// Some people attested again in later rounds (stored
				// out of order); their rounds are listed in order.
				rounds := []int{0}
				switch i % 7 {
				case 1:
					rounds = []int{2, 0, 1}
				case 2:
					rounds = []int{256, 10, 0}
				}
				for _, r := range rounds {
					a := attestation(u, n, v, policy.ChannelCard, baseTime.Add(time.Duration(i)*time.Second))
					a.Round = r
					attest(t, s, a)
					all = append(all, a)
				}
			}
		}
	}
	key := func(a policy.Attestation) string {
		return fmt.Sprintf("%q/%d/%q/%d", a.NoticeID, a.Version, a.UserID, a.Round)
	}
	slices.SortFunc(all, func(a, b policy.Attestation) int {
		return cmp.Or(strings.Compare(a.NoticeID, b.NoticeID), cmp.Compare(a.Version, b.Version), strings.Compare(a.UserID, b.UserID),
			cmp.Compare(a.Round, b.Round))
	})
	for _, n := range []string{"", "a", "a\x00", "nothing"} {
		for _, v := range []int{0, 1, 256} {
			for _, u := range []string{"", "u", "张三"} {
				f := store.AttestationFilter{NoticeID: n, Version: v, UserID: u}
				var want []string
				for _, a := range all {
					if (n == "" || a.NoticeID == n) && (v == 0 || a.Version == v) && (u == "" || a.UserID == u) {
						want = append(want, key(a))
					}
				}
				for _, limit := range []int{0, 4} {
					got := pageAll(t, fmt.Sprintf("ListAttestations(%+v)", f), limit, func(p store.Page) ([]policy.Attestation, string, error) {
						return s.ListAttestations(ctx, f, p)
					})
					var keys []string
					for _, a := range got {
						keys = append(keys, key(a))
					}
					if !slices.Equal(keys, want) {
						t.Errorf("ListAttestations(%+v) with limit %d:\n got %q\nwant %q", f, limit, keys, want)
					}
				}
			}
		}
	}
	// GetAttestation gives each person's latest round (the last of
	// theirs in listing order), however their names prefix others'.
	for i, a := range all {
		if i+1 < len(all) && all[i+1].NoticeID == a.NoticeID && all[i+1].Version == a.Version && all[i+1].UserID == a.UserID {
			continue
		}
		got, err := s.GetAttestation(ctx, a.UserID, a.NoticeID, a.Version)
		if err != nil || got.Round != a.Round {
			t.Errorf("GetAttestation(%q, %q, %d) = round %d, %v; want round %d", a.UserID, a.NoticeID, a.Version, got.Round, err, a.Round)
		}
	}
	got, _, err := s.ListAttestations(ctx, store.AttestationFilter{}, store.Page{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListAttestations: %v, %v", got, err)
	}
	sameJSON(t, "listed attestation", got[0], all[0])
	if _, _, err := s.ListAttestations(ctx, store.AttestationFilter{}, store.Page{Cursor: "%%"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("ListAttestations with a bad cursor: %v, want ErrInvalidCursor", err)
	}
}
