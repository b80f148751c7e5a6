package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

func result(notice, user string, status store.DeliveryStatus) store.RecipientResult {
	r := store.RecipientResult{
		NoticeKey:   notice,
		UserID:      user,
		UnitID:      notice + "/unit-1",
		ContentHash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Status:      status,
		At:          baseTime,
	}
	switch status {
	case store.StatusSent:
		r.MsgID, r.ResponseCode = "msg-"+user, "resp-"+user
	case store.StatusFailed:
		r.Error = "wecom: send: errcode 45009"
	}
	return r
}

func sameResult(a, b store.RecipientResult) bool {
	at := a.At.Equal(b.At)
	a.At, b.At = time.Time{}, time.Time{}
	return at && a == b
}

func checkResults(t *testing.T, what string, got, want []store.RecipientResult) {
	t.Helper()
	users := func(rs []store.RecipientResult) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.UserID
		}
		return out
	}
	if !slices.Equal(users(got), users(want)) {
		t.Errorf("%s: users %q, want %q", what, users(got), users(want))
		return
	}
	for i := range got {
		if !sameResult(got[i], want[i]) {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func listResults(t *testing.T, s store.Store, notice string) []store.RecipientResult {
	t.Helper()
	rs, err := s.ListSendResults(t.Context(), notice)
	if err != nil {
		t.Fatalf("ListSendResults(%s): %v", notice, err)
	}
	return rs
}

func putResults(t *testing.T, s store.Store, rs []store.RecipientResult) {
	t.Helper()
	if err := s.PutSendResults(t.Context(), rs); err != nil {
		t.Fatalf("PutSendResults(%d results): %v", len(rs), err)
	}
}

func testSendResults(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const n1, n2 = "notice:policy-2026/v3", "notice:other"
	c := result(n1, "c", store.StatusSent)
	a := result(n1, "a", store.StatusInvalid)
	zh := result(n1, "张三", store.StatusUnlicensed)
	upper := result(n1, "A", store.StatusSent)
	b := result(n1, "b", store.StatusFailed)
	other := result(n2, "a", store.StatusSent)
	putResults(t, s, []store.RecipientResult{c, a, zh, upper, other, b})
	putResults(t, s, nil)

	// Ordered by UserID, byte-wise.
	checkResults(t, "list", listResults(t, s, n1), []store.RecipientResult{upper, a, b, c, zh})
	checkResults(t, "other notice", listResults(t, s, n2), []store.RecipientResult{other})
	checkResults(t, "unknown notice", listResults(t, s, "notice:none"), nil)
	checkResults(t, "prefix of a notice", listResults(t, s, "notice:"), nil)

	// Some users' results: those that have one, in order, once each.
	getResults := func(notice string, users ...string) []store.RecipientResult {
		t.Helper()
		rs, err := s.GetSendResults(ctx, notice, users)
		if err != nil {
			t.Fatalf("GetSendResults(%s, %q): %v", notice, users, err)
		}
		if rs == nil {
			t.Fatalf("GetSendResults(%s, %q): nil slice, want an empty one", notice, users)
		}
		return rs
	}
	checkResults(t, "some", getResults(n1, "张三", "zz", "a", "c", "a", ""), []store.RecipientResult{a, c, zh})
	checkResults(t, "some of the other notice", getResults(n2, "a", "b"), []store.RecipientResult{other})
	checkResults(t, "none asked", getResults(n1), nil)
	checkResults(t, "unknown notice", getResults("notice:none", "a"), nil)
	checkResults(t, "prefix of a notice", getResults("notice:", "other"), nil)

	got, err := s.SendResult(ctx, n1, "张三")
	if err != nil || !sameResult(got, zh) {
		t.Errorf("SendResult = %+v, %v; want %+v", got, err, zh)
	}
	_, err = s.SendResult(ctx, n1, "zz")
	wantNotFound(t, "SendResult of an unknown user", err)
	_, err = s.SendResult(ctx, "notice:none", "a")
	wantNotFound(t, "SendResult of an unknown notice", err)

	// A later result replaces the earlier one of the same notice and user.
	sent := result(n1, "a", store.StatusSent)
	sent.At = baseTime.Add(time.Minute)
	putResults(t, s, []store.RecipientResult{sent})
	if got, err := s.SendResult(ctx, n1, "a"); err != nil || !sameResult(got, sent) {
		t.Errorf("after replacing, SendResult = %+v, %v; want %+v", got, err, sent)
	}
	checkResults(t, "after replacing", listResults(t, s, n1), []store.RecipientResult{upper, sent, b, c, zh})
	checkResults(t, "other notice after replacing", listResults(t, s, n2), []store.RecipientResult{other})
	checkResults(t, "some after replacing", getResults(n1, "a", "b"), []store.RecipientResult{sent, b})

	for _, bad := range []store.RecipientResult{result("", "a", store.StatusSent), result(n1, "", store.StatusSent)} {
		if err := s.PutSendResults(ctx, []store.RecipientResult{bad}); err == nil {
			t.Errorf("PutSendResults(notice %q, user %q) succeeded, want an error", bad.NoticeKey, bad.UserID)
		}
	}
}

func testSendResultsMany(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const n = 100_000
	const notice = "notice:all-staff"
	rs := make([]store.RecipientResult, n)
	for i := range rs { // in reverse order
		rs[i] = result(notice, fmt.Sprintf("user%06d", n-1-i), store.StatusSent)
	}
	start := time.Now()
	putResults(t, s, rs)
	// Replace some, and add a result of another notice.
	var again []store.RecipientResult
	for i := 0; i < n; i += 97 {
		again = append(again, result(notice, fmt.Sprintf("user%06d", i), store.StatusFailed))
	}
	putResults(t, s, append(again, result(notice+"-2", "user000000", store.StatusSent)))
	got := listResults(t, s, notice)
	t.Logf("put %d results, replaced %d, listed them in %v", n, len(again), time.Since(start))
	if len(got) != n {
		t.Fatalf("ListSendResults returned %d results, want %d", len(got), n)
	}
	for i, r := range got {
		want := fmt.Sprintf("user%06d", i)
		if r.UserID != want || r.NoticeKey != notice {
			t.Fatalf("result %d = %s/%s, want %s/%s", i, r.NoticeKey, r.UserID, notice, want)
		}
		if wantStatus := map[bool]store.DeliveryStatus{true: store.StatusFailed, false: store.StatusSent}[i%97 == 0]; r.Status != wantStatus {
			t.Fatalf("result %d: status %s, want %s", i, r.Status, wantStatus)
		}
	}
	// Some thousands of them, and some who have none, in any order.
	users, want := someUsers(n, 37)
	some, err := s.GetSendResults(t.Context(), notice, users)
	if err != nil {
		t.Fatalf("GetSendResults(%d users): %v", len(users), err)
	}
	gotUsers := make([]string, len(some))
	for i, r := range some {
		gotUsers[i] = r.UserID
	}
	if !slices.Equal(gotUsers, want) {
		t.Errorf("GetSendResults(%d users) returned %d results, want %d in order", len(users), len(gotUsers), len(want))
	}
}

// someUsers names every step-th of user000000… from past the n-th down
// (more than one batch of a backend, in reverse order, some of them
// beyond n), and those of them below n in order.
func someUsers(n, step int) (ids, known []string) {
	for i := n + 500; i >= 0; i -= step {
		ids = append(ids, fmt.Sprintf("user%06d", i))
		if i < n {
			known = append(known, fmt.Sprintf("user%06d", i))
		}
	}
	slices.Sort(known)
	return ids, known
}
