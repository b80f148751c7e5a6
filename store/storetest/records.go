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

// --- consents ---

func consent(user, external string, status policy.ConsentStatus) policy.Consent {
	return policy.Consent{
		UserID:         user,
		ExternalUserID: external,
		Status:         status,
		Source:         "msg_audit_approved",
		ChangedAt:      baseTime,
		AddedAt:        baseTime.Add(-time.Hour),
	}
}

func putConsent(t *testing.T, s store.Store, c policy.Consent) {
	t.Helper()
	if err := s.PutConsent(t.Context(), c); err != nil {
		t.Fatalf("PutConsent(%s, %s): %v", c.UserID, c.ExternalUserID, err)
	}
}

func consentKeys(cs []policy.Consent) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%q/%q:%s", c.UserID, c.ExternalUserID, c.Status)
	}
	return out
}

func listConsents(t *testing.T, s store.Store, f store.ConsentFilter, limit int) []policy.Consent {
	t.Helper()
	return pageAll(t, fmt.Sprintf("ListConsents(%+v)", f), limit, func(p store.Page) ([]policy.Consent, string, error) {
		return s.ListConsents(t.Context(), f, p)
	})
}

func testConsents(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	_, err := s.GetConsent(ctx, "u", "wm1")
	wantNotFound(t, "GetConsent of none", err)

	statuses := []policy.ConsentStatus{policy.ConsentUnknown, policy.ConsentAgreed, policy.ConsentDisagreed}
	byKey := map[string]policy.Consent{}
	key := func(c policy.Consent) string { return c.UserID + "\x00\x00" + c.ExternalUserID }
	put := func(c policy.Consent) {
		putConsent(t, s, c)
		byKey[key(c)] = c
	}
	i := 0
	for _, u := range trickyUsers {
		for _, ext := range []string{"wm", "wm\x00", "wm1", "wo张"} {
			i++
			put(consent(u, ext, statuses[i%3]))
		}
	}
	// Replacing moves a record between statuses.
	changed := consent("u1", "wm1", policy.ConsentDisagreed)
	changed.Source, changed.NotifiedAt = "check_single_agree", baseTime.Add(time.Hour)
	put(changed)
	put(consent("u1", "wm", policy.ConsentAgreed))
	put(consent("u10", "wm", policy.ConsentAgreed))
	put(consent("u10", "wm", policy.ConsentAgreed)) // the same again

	got, err := s.GetConsent(ctx, "u1", "wm1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "replaced consent", got, changed)

	all := slices.SortedFunc(func(yield func(policy.Consent) bool) {
		for _, c := range byKey {
			if !yield(c) {
				return
			}
		}
	}, func(a, b policy.Consent) int {
		return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ExternalUserID, b.ExternalUserID))
	})
	for _, st := range append([]policy.ConsentStatus{""}, statuses...) {
		for _, u := range []string{"", "u1", "u\x00x", "nobody"} {
			f := store.ConsentFilter{Status: st, UserID: u}
			var want []policy.Consent
			for _, c := range all {
				if (st == "" || c.Status == st) && (u == "" || c.UserID == u) {
					want = append(want, c)
				}
			}
			for _, limit := range []int{0, 1, 5} {
				if got := listConsents(t, s, f, limit); !slices.Equal(consentKeys(got), consentKeys(want)) {
					t.Errorf("ListConsents(%+v) with limit %d:\n got %q\nwant %q", f, limit, consentKeys(got), consentKeys(want))
				}
			}
		}
	}
	if got := listConsents(t, s, store.ConsentFilter{UserID: "u1", Status: policy.ConsentDisagreed}, 0); len(got) != 1 {
		t.Errorf("disagreed of u1: %q", consentKeys(got))
	} else {
		sameJSON(t, "listed consent", got[0], changed)
	}

	noStatus := consent("x", "wm", "")
	putConsent(t, s, noStatus)
	if got, _ := s.GetConsent(ctx, "x", "wm"); got.Status != policy.ConsentUnknown {
		t.Errorf("put without a status: stored %q, want unknown", got.Status)
	}
	for _, bad := range []policy.Consent{consent("", "wm", policy.ConsentAgreed), consent("u", "", policy.ConsentAgreed)} {
		if err := s.PutConsent(ctx, bad); err == nil {
			t.Errorf("PutConsent(%q, %q) succeeded", bad.UserID, bad.ExternalUserID)
		}
	}
	if _, _, err := s.ListConsents(ctx, store.ConsentFilter{}, store.Page{Cursor: "AAAA"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("ListConsents with a bad cursor: %v, want ErrInvalidCursor", err)
	}
}

// testConsentsByStatus: the few refusals among many consents are listed
// from the status index.
func testConsentsByStatus(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const n = 20_000
	start := time.Now()
	parallel(t, n, func(i int) error {
		st := policy.ConsentAgreed
		if i%100 == 0 {
			st = policy.ConsentDisagreed
		}
		return s.PutConsent(t.Context(), consent(fmt.Sprintf("user%03d", i%500), fmt.Sprintf("wm%06d", i), st))
	})
	put := time.Since(start)
	start = time.Now()
	got := listConsents(t, s, store.ConsentFilter{Status: policy.ConsentDisagreed}, 1000)
	t.Logf("put %d consents in %v; listed the %d disagreed in %v", n, put, len(got), time.Since(start))
	if len(got) != n/100 {
		t.Fatalf("listed %d disagreed, want %d", len(got), n/100)
	}
	for i := 1; i < len(got); i++ {
		if a, b := got[i-1], got[i]; cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ExternalUserID, b.ExternalUserID)) >= 0 {
			t.Fatalf("disagreed out of order at %d: %q", i, consentKeys(got[i-1:i+1]))
		}
	}
	// They agree after all: the index follows.
	for _, c := range got[:10] {
		c.Status = policy.ConsentAgreed
		putConsent(t, s, c)
	}
	if again := listConsents(t, s, store.ConsentFilter{Status: policy.ConsentDisagreed}, 1000); len(again) != n/100-10 {
		t.Errorf("after 10 agreed: %d disagreed, want %d", len(again), n/100-10)
	}
}

// --- people ---

func person(user string) policy.Person {
	return policy.Person{
		UserID:         user,
		Name:           "Name of " + user,
		Departments:    []int64{2},
		DepartmentPath: []int64{1, 2},
		Tags:           []int64{7},
		InPermitList:   true,
		Active:         true,
		DirectLeaders:  []string{"boss"},
		Language:       "zh-CN",
	}
}

func listPeople(t *testing.T, s store.Store, limit int) []policy.Person {
	t.Helper()
	return pageAll(t, "ListPeople", limit, func(p store.Page) ([]policy.Person, string, error) {
		return s.ListPeople(t.Context(), p)
	})
}

func peopleIDs(ps []policy.Person) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.UserID
	}
	return out
}

func testPeople(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	_, err := s.GetPerson(ctx, "nobody")
	wantNotFound(t, "GetPerson of none", err)
	if got := listPeople(t, s, 0); len(got) != 0 {
		t.Errorf("ListPeople of none = %q", peopleIDs(got))
	}
	for _, u := range trickyUsers {
		if err := s.PutPerson(ctx, person(u)); err != nil {
			t.Fatal(err)
		}
	}
	moved := person("u1")
	moved.Departments, moved.DepartmentPath, moved.Active, moved.DirectLeaders = []int64{3}, []int64{1, 3}, false, nil
	if err := s.PutPerson(ctx, moved); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPerson(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "replaced person", got, moved)
	got, _ = s.GetPerson(ctx, "张三")
	sameJSON(t, "person", got, person("张三"))

	want := slices.Sorted(slices.Values(trickyUsers))
	for _, limit := range []int{0, 1, 3} {
		if got := peopleIDs(listPeople(t, s, limit)); !slices.Equal(got, want) {
			t.Errorf("ListPeople with limit %d = %q, want %q", limit, got, want)
		}
	}
	// Some of them: those known, in order, once each.
	some, err := s.GetPeople(ctx, []string{"张三", "nobody", "u1", "U", "u1", ""})
	if err != nil {
		t.Fatalf("GetPeople: %v", err)
	}
	if got, want := peopleIDs(some), []string{"U", "u1", "张三"}; !slices.Equal(got, want) {
		t.Errorf("GetPeople = %q, want %q", got, want)
	} else {
		sameJSON(t, "GetPeople's moved person", some[1], moved)
	}
	if none, err := s.GetPeople(ctx, nil); err != nil || none == nil || len(none) != 0 {
		t.Errorf("GetPeople of none = %v, %v; want an empty slice", none, err)
	}
	for _, u := range []string{"u", "u2", "nobody"} {
		if err := s.DeletePerson(ctx, u); err != nil {
			t.Errorf("DeletePerson(%s): %v", u, err)
		}
	}
	_, err = s.GetPerson(ctx, "u2")
	wantNotFound(t, "GetPerson after DeletePerson", err)
	want = slices.DeleteFunc(want, func(u string) bool { return u == "u" || u == "u2" })
	if got := peopleIDs(listPeople(t, s, 2)); !slices.Equal(got, want) {
		t.Errorf("ListPeople after deleting = %q, want %q", got, want)
	}
	if err := s.PutPerson(ctx, person("")); err == nil {
		t.Error("PutPerson without a user id succeeded")
	}
	if _, _, err := s.ListPeople(ctx, store.Page{Cursor: "not base64!"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("ListPeople with a bad cursor: %v, want ErrInvalidCursor", err)
	}
}

// testPeopleAtScale: 100,000 people page through quickly, in order.
func testPeopleAtScale(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const n = 100_000
	start := time.Now()
	parallel(t, n, func(i int) error { return s.PutPerson(t.Context(), person(fmt.Sprintf("user%06d", n-1-i))) })
	put := time.Since(start)
	start = time.Now()
	got := listPeople(t, s, 1000)
	t.Logf("put %d people in %v; paged through them in %v", n, put, time.Since(start))
	if len(got) != n {
		t.Fatalf("paged through %d people, want %d", len(got), n)
	}
	for i, p := range got {
		if want := fmt.Sprintf("user%06d", i); p.UserID != want {
			t.Fatalf("person %d is %s, want %s", i, p.UserID, want)
		}
	}
	// Some thousands of them, and some unknown, in any order.
	ids, want := someUsers(n, 41)
	some, err := s.GetPeople(t.Context(), ids)
	if err != nil {
		t.Fatalf("GetPeople(%d): %v", len(ids), err)
	}
	if got := peopleIDs(some); !slices.Equal(got, want) {
		t.Errorf("GetPeople(%d) returned %d people, want %d in order", len(ids), len(got), len(want))
	}
}

// --- recipient claims ---

func claimUsers(t *testing.T, s store.Store, key, owner string, users ...string) []string {
	t.Helper()
	return claimUsersAt(t, s, key, owner, baseTime, users...)
}

func claimUsersAt(t *testing.T, s store.Store, key, owner string, at time.Time, users ...string) []string {
	t.Helper()
	got, err := s.ClaimRecipients(t.Context(), key, owner, users, at)
	if err != nil {
		t.Fatalf("ClaimRecipients(%s, %s): %v", key, owner, err)
	}
	return got
}

func users(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("u%02d", i))
	}
	return out
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func testClaimRecipients(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const key = "archive:v3:sha256:abc"
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("plan A claims 0-5", claimUsers(t, s, key, "plan-a", users(0, 6)...), users(0, 6))
	check("plan B claims 3-9", claimUsers(t, s, key, "plan-b", users(3, 10)...), users(6, 10))
	// Each plan gets the same answer again, however it asks.
	check("plan A again", claimUsers(t, s, key, "plan-a", users(0, 6)...), users(0, 6))
	check("plan B again, everyone", claimUsers(t, s, key, "plan-b", users(0, 10)...), users(6, 10))
	check("plan A, everyone, reversed", claimUsers(t, s, key, "plan-a", reversed(users(0, 12))...),
		append(reversed(users(10, 12)), reversed(users(0, 6))...))
	// Repeats count once; order is the caller's.
	check("plan B with repeats", claimUsers(t, s, key, "plan-b", "u09", "u07", "u09", "u00", "u12"), []string{"u09", "u07", "u12"})
	// Another key is another set of claims.
	check("plan B, another key", claimUsers(t, s, key+"-v4", "plan-b", users(0, 3)...), users(0, 3))
	check("nothing", claimUsers(t, s, key, "plan-c"), []string{})

	for name, args := range map[string][3]string{"no key": {"", "o", "u"}, "no owner": {key, "", "u"}, "empty user": {key, "o", ""}} {
		if _, err := s.ClaimRecipients(ctx, args[0], args[1], []string{args[2]}, baseTime); err == nil {
			t.Errorf("ClaimRecipients with %s succeeded", name)
		}
	}
	if _, err := s.ClaimRecipients(ctx, key, "o", []string{"u"}, time.Time{}); err == nil {
		t.Error("ClaimRecipients without a time succeeded")
	}
}

// testClaimRecipientsAtScale: 100,000 users of one key in batches of
// 1,000; a second plan gets none of them, the first all of them again.
func testClaimRecipientsAtScale(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const n, batch, key = 100_000, 1000, "all-staff:v1:sha256:def"
	all := make([]string, n)
	for i := range all {
		all[i] = fmt.Sprintf("user%06d", i)
	}
	start := time.Now()
	for i := 0; i < n; i += batch {
		if got := claimUsers(t, s, key, "plan-a", all[i:i+batch]...); len(got) != batch {
			t.Fatalf("plan A claimed %d of batch %d, want all", len(got), i/batch)
		}
	}
	first := time.Since(start)
	start = time.Now()
	for i := 0; i < n; i += batch {
		if got := claimUsers(t, s, key, "plan-b", all[i:i+batch]...); len(got) != 0 {
			t.Fatalf("plan B got %d of batch %d, want none", len(got), i/batch)
		}
	}
	if got := claimUsers(t, s, key, "plan-a", all...); !slices.Equal(got, all) {
		t.Fatalf("plan A asking again for all %d got %d", n, len(got))
	}
	t.Logf("claimed %d users in batches of %d in %v; checked them twice in %v", n, batch, first, time.Since(start))
}

// testRecordsSurviveReopen: the compliance records, their indexes,
// counters and the audit chain are in the data, not in the store value.
func testRecordsSurviveReopen(t *testing.T, open OpenFunc, o Options) {
	if o.Reopen == nil {
		t.Skip("the backend offers no Reopen")
	}
	q := opts(longLease, 5)
	s := open(t, q)
	ctx := t.Context()
	createObligation(t, s, obligation("a", "archive", 1, policy.Pending))
	createObligation(t, s, obligation("b", "archive", 1, policy.Pending))
	attest(t, s, attestation("a", "archive", 1, policy.ChannelCard, baseTime))
	putConsent(t, s, consent("a", "wm1", policy.ConsentDisagreed))
	if err := s.PutPerson(ctx, person("a")); err != nil {
		t.Fatal(err)
	}
	claimUsers(t, s, "k", "plan-a", "a", "b")
	es := appendAuditN(t, s, 3)
	reopen(t, s, "a", "archive", 1, 1)
	attest(t, s, inRound(attestation("a", "archive", 1, policy.ChannelReply, baseTime.Add(time.Hour)), 1))
	run, _ := startRun(t, s, "reminders", runTime, "replica-a", runTime)
	run.Outcome, run.FinishedAt = store.RunOK, runTime.Add(time.Minute)
	finishRun(t, s, run)

	s = o.Reopen(t, s, q)

	wantCounts(t, s, "archive", 1, map[policy.ObligationStatus]int{policy.Pending: 1, policy.Acknowledged: 1})
	if got := listObligations(t, s, store.ObligationFilter{Status: policy.Pending}, 0); len(got) != 1 || got[0].UserID != "b" {
		t.Errorf("after reopen, pending: %q", obligationIDs(got))
	}
	if attest(t, s, attestation("a", "archive", 1, policy.ChannelCard, baseTime.Add(time.Hour))) {
		t.Error("after reopen, a second attestation was created")
	}
	if got := listAttestations(t, s, store.AttestationFilter{UserID: "a"}, 0); len(got) != 2 || got[1].Round != 1 {
		t.Errorf("after reopen, %d attestations of a, want rounds 0 and 1", len(got))
	}
	if a := getAttestation(t, s, "a", "archive", 1); a.Round != 1 {
		t.Errorf("after reopen, the latest attestation is of round %d, want 1", a.Round)
	}
	if _, started := startRun(t, s, "reminders", runTime, "replica-b", runTime.Add(time.Hour)); started {
		t.Error("after reopen, a run finished ok was started again")
	}
	if runs := listRuns(t, s, "reminders", 10); len(runs) != 1 || runs[0].Outcome != store.RunOK {
		t.Errorf("after reopen, job runs: %+v", runs)
	}
	if got := listConsents(t, s, store.ConsentFilter{Status: policy.ConsentDisagreed}, 0); len(got) != 1 {
		t.Errorf("after reopen, disagreed: %q", consentKeys(got))
	}
	if got := peopleIDs(listPeople(t, s, 0)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after reopen, people: %q", got)
	}
	if got := claimUsers(t, s, "k", "plan-b", "a", "b", "c"); !slices.Equal(got, []string{"c"}) {
		t.Errorf("after reopen, plan B claimed %q, want [c]", got)
	}
	sameJSON(t, "after reopen, AppendAudit of an ID in the log", appendAudit(t, s, auditEntry("e2", 9)), es[1])
	next := appendAudit(t, s, auditEntry("e4", 4))
	if next.Seq != 4 || next.PrevHash != es[2].Hash {
		t.Errorf("after reopen, appended seq %d after %q; want seq 4 after %q", next.Seq, next.PrevHash, es[2].Hash)
	}
	wantAuditOK(t, s, 4, next.Hash)
}
