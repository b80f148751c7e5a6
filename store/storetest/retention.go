package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// --- legal holds ---

func hold(id, subject string) store.Hold {
	return store.Hold{ID: id, Subject: subject, Reason: "case " + id, CreatedBy: "admin", CreatedAt: baseTime}
}

func putHold(t *testing.T, s store.Store, h store.Hold) bool {
	t.Helper()
	created, err := s.PutHold(t.Context(), h)
	if err != nil {
		t.Fatalf("PutHold(%s): %v", h.ID, err)
	}
	return created
}

func holdIDs(hs []store.Hold) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

func listHolds(t *testing.T, s store.Store) []store.Hold {
	t.Helper()
	hs, err := s.ListHolds(t.Context())
	if err != nil {
		t.Fatalf("ListHolds: %v", err)
	}
	return hs
}

func testHolds(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	if hs := listHolds(t, s); len(hs) != 0 {
		t.Fatalf("ListHolds of none = %v", holdIDs(hs))
	}
	_, err := s.GetHold(ctx, "h1")
	wantNotFound(t, "GetHold of none", err)
	_, err = s.DeleteHold(ctx, "h1")
	wantNotFound(t, "DeleteHold of none", err)

	h2 := hold("h2", "zhangsan")
	h2.ExpiresAt = baseTime.Add(24 * time.Hour)
	h1 := hold("h1", "wmEXTERNAL")
	h1.Reason = "案件 2026-17"
	if !putHold(t, s, h2) || !putHold(t, s, h1) {
		t.Fatal("PutHold of new holds = false, want true")
	}
	again := h1
	again.Subject, again.Reason = "lisi", "changed"
	if putHold(t, s, again) {
		t.Error("PutHold of an existing ID = true, want false")
	}
	got, err := s.GetHold(ctx, "h1")
	if err != nil {
		t.Fatalf("GetHold(h1): %v", err)
	}
	sameJSON(t, "GetHold(h1) after a second put", got, h1)
	hs := listHolds(t, s)
	if ids := holdIDs(hs); !slices.Equal(ids, []string{"h1", "h2"}) {
		t.Fatalf("ListHolds = %v, want [h1 h2]", ids)
	}
	sameJSON(t, "ListHolds[1]", hs[1], h2)
	if !hs[1].ExpiresAt.Equal(h2.ExpiresAt) || !hs[0].ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, %v; want %v and zero", hs[1].ExpiresAt, hs[0].ExpiresAt, h2.ExpiresAt)
	}

	released, err := s.DeleteHold(ctx, "h1")
	if err != nil {
		t.Fatalf("DeleteHold(h1): %v", err)
	}
	sameJSON(t, "DeleteHold(h1)", released, h1)
	_, err = s.DeleteHold(ctx, "h1")
	wantNotFound(t, "DeleteHold again", err)
	if ids := holdIDs(listHolds(t, s)); !slices.Equal(ids, []string{"h2"}) {
		t.Fatalf("ListHolds after release = %v, want [h2]", ids)
	}
	if !putHold(t, s, h1) {
		t.Error("PutHold of a released ID = false, want true (it is gone)")
	}

	for _, tc := range []struct {
		field string
		h     store.Hold
	}{
		{"id", store.Hold{Subject: "u", Reason: "r", CreatedAt: baseTime}},
		{"subject", store.Hold{ID: "x", Reason: "r", CreatedAt: baseTime}},
		{"reason", store.Hold{ID: "x", Subject: "u", CreatedAt: baseTime}},
		{"created_at", store.Hold{ID: "x", Subject: "u", Reason: "r"}},
		{"expires_at", store.Hold{ID: "x", Subject: "u", Reason: "r", CreatedAt: baseTime, ExpiresAt: baseTime}},
		{"subject", store.Hold{ID: "x", Subject: "\xff", Reason: "r", CreatedAt: baseTime}},
	} {
		_, err := s.PutHold(ctx, tc.h)
		var he *store.HoldError
		if !errors.As(err, &he) || he.Field != tc.field {
			t.Errorf("PutHold(%+v) = %v, want a HoldError on %s", tc.h, err, tc.field)
		}
	}
}

// testPlaceAndReleaseHold: store.PlaceHold and store.ReleaseHold write
// one audit entry per change, with the hold's fields and who made it,
// however often a change is retried.
func testPlaceAndReleaseHold(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	entries := func() []store.AuditEntry {
		t.Helper()
		es, err := s.ListAudit(ctx, 0, 100)
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		return es
	}
	h := hold("case-17", "zhangsan")
	op := store.HoldOp{Via: "console", Actor: "wangfang"}
	got, created, err := store.PlaceHold(ctx, s, h, op)
	if err != nil || !created {
		t.Fatalf("PlaceHold = %v, %v; want created", created, err)
	}
	sameJSON(t, "PlaceHold", got, h)

	// A retry, with a later CreatedAt (the server's): the hold as first
	// stored, and no second entry.
	retry := h
	retry.CreatedAt = baseTime.Add(time.Minute)
	if got, created, err := store.PlaceHold(ctx, s, retry, store.HoldOp{Via: "api"}); err != nil || created || !got.CreatedAt.Equal(h.CreatedAt) {
		t.Errorf("PlaceHold again = %+v, %v, %v; want the stored hold, not created", got, created, err)
	}
	other := h
	other.Reason = "another case"
	if _, _, err := store.PlaceHold(ctx, s, other, op); !errors.Is(err, store.ErrHoldExists) {
		t.Errorf("PlaceHold of another hold with the id: %v, want ErrHoldExists", err)
	}
	var he *store.HoldError
	if _, _, err := store.PlaceHold(ctx, s, store.Hold{ID: "x", Subject: "u", CreatedAt: baseTime}, op); !errors.As(err, &he) || he.Field != "reason" {
		t.Errorf("PlaceHold without a reason: %v, want a HoldError on reason", err)
	}

	released, err := store.ReleaseHold(ctx, s, "case-17", store.HoldOp{Via: "api", Actor: "legal@corp", At: baseTime.Add(time.Hour)})
	if err != nil {
		t.Fatalf("ReleaseHold: %v", err)
	}
	sameJSON(t, "ReleaseHold", released, h)
	_, err = store.ReleaseHold(ctx, s, "case-17", op)
	wantNotFound(t, "ReleaseHold again", err)
	_, err = s.GetHold(ctx, "case-17")
	wantNotFound(t, "GetHold after the release", err)

	es := entries()
	if len(es) != 2 {
		t.Fatalf("audit = %d entries, want 2 (placed, released)", len(es))
	}
	for i, want := range []struct {
		kind, id, data string
		at             time.Time
	}{
		{store.AuditHoldCreate, store.HoldAuditID(h, "create"),
			`{"id":"case-17","subject":"zhangsan","reason":"case case-17","created_by":"admin","created_at":"2026-03-04T05:06:07.891234Z","via":"console","actor":"wangfang"}`, baseTime},
		{store.AuditHoldRelease, store.HoldAuditID(h, "release"),
			`{"id":"case-17","subject":"zhangsan","reason":"case case-17","created_by":"admin","created_at":"2026-03-04T05:06:07.891234Z","via":"api","actor":"legal@corp"}`, baseTime.Add(time.Hour)},
	} {
		e := es[i]
		if e.Kind != want.kind || e.ID != want.id || e.Subject != "zhangsan" || string(e.Data) != want.data || !e.At.Equal(want.at) {
			t.Errorf("entry %d = %s %s %s at %v %s\nwant %s %s zhangsan at %v %s", i, e.Kind, e.ID, e.Subject, e.At, e.Data, want.kind, want.id, want.at, want.data)
		}
	}
}

// --- purge ---

// purgeAll runs batches of limit until the purge is complete and sums
// them; it fails if the batches do not end.
func purgeAll(t *testing.T, s store.Store, kind store.RecordKind, before time.Time, held []string, limit int) store.PurgeResult {
	t.Helper()
	b := store.PurgeBatch{Kind: kind, Before: before, Limit: limit}
	if held != nil {
		b.Held = store.HoldSet{}
		for _, h := range held {
			b.Held[h] = true
		}
	}
	var sum store.PurgeResult
	for i := 0; ; i++ {
		if i > 10_000 {
			t.Fatalf("Purge(%s) did not end", kind)
		}
		res, err := s.Purge(t.Context(), b)
		if err != nil {
			t.Fatalf("Purge(%s, cursor %q): %v", kind, b.Cursor, err)
		}
		if res.Purged+res.Held > limit {
			t.Fatalf("Purge(%s) with limit %d purged %d and held %d", kind, limit, res.Purged, res.Held)
		}
		sum.Purged += res.Purged
		sum.Held += res.Held
		if res.Next == "" {
			return sum
		}
		b.Cursor = res.Next
	}
}

func wantPurged(t *testing.T, what string, got store.PurgeResult, purged, held int) {
	t.Helper()
	if got.Purged != purged || got.Held != held {
		t.Errorf("%s: purged %d, held %d; want %d, %d", what, got.Purged, got.Held, purged, held)
	}
}

func logKeys(es []store.LogEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.DedupKey)
	}
	return out
}

func testPurgeEventLog(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	cutoff := baseTime.Add(time.Hour)
	entries := []store.LogEntry{
		logEntry("old-zhang", "text", baseTime, map[string]string{"user_id": "zhangsan", "msg_id": "1"}),
		logEntry("old-li", "text", baseTime.Add(time.Minute), map[string]string{"user_id": "lisi"}),
		logEntry("old-ext", "change_external_contact.add_external_contact", baseTime.Add(2*time.Minute),
			map[string]string{"user_id": "wangwu", "external_user_id": "wmHELD"}),
		logEntry("old-nokind", "", baseTime.Add(3*time.Minute), nil),
		logEntry("at-cutoff", "text", cutoff, map[string]string{"user_id": "lisi"}),
		logEntry("new", "text", cutoff.Add(time.Minute), map[string]string{"user_id": "lisi"}),
	}
	for _, e := range entries {
		if err := s.AppendEventLog(t.Context(), e); err != nil {
			t.Fatalf("AppendEventLog(%s): %v", e.DedupKey, err)
		}
	}
	res := purgeAll(t, s, store.RecordEventLog, cutoff, []string{"zhangsan", "wmHELD"}, 1)
	wantPurged(t, "first purge", res, 2, 2)
	if got, want := logKeys(listLog(t, s, "", 100)), []string{"new", "at-cutoff", "old-ext", "old-zhang"}; !slices.Equal(got, want) {
		t.Errorf("log after purge = %v, want %v", got, want)
	}
	if got, want := logKeys(listLog(t, s, "text", 100)), []string{"new", "at-cutoff", "old-zhang"}; !slices.Equal(got, want) {
		t.Errorf("text log after purge = %v, want %v", got, want)
	}

	res = purgeAll(t, s, store.RecordEventLog, cutoff, []string{"zhangsan", "wmHELD"}, 100)
	wantPurged(t, "the same purge again", res, 0, 2)

	// The hold on zhangsan is released: the next run purges his entry.
	res = purgeAll(t, s, store.RecordEventLog, cutoff, []string{"wmHELD"}, 100)
	wantPurged(t, "after a release", res, 1, 1)
	if got, want := logKeys(listLog(t, s, "text", 100)), []string{"new", "at-cutoff"}; !slices.Equal(got, want) {
		t.Errorf("text log after the release = %v, want %v", got, want)
	}

	// A purged entry's dedup key is free: the same event logs again.
	if err := s.AppendEventLog(t.Context(), entries[1]); err != nil {
		t.Fatal(err)
	}
	if got := logKeys(listLog(t, s, "", 100)); !slices.Contains(got, "old-li") {
		t.Errorf("log after re-appending a purged entry = %v, want it there", got)
	}
}

// testPurgeEventLogBatches: a log of many entries, every tenth held,
// purged in small batches: each batch examines at most its limit, the
// batches end, and exactly the held and recent entries stay.
func testPurgeEventLogBatches(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const n = 500
	var held []string
	for i := range n {
		user := fmt.Sprintf("u%03d", i)
		if i%10 == 0 {
			held = append(held, user)
		}
		// Pairs share a microsecond, so batch boundaries fall inside ties.
		at := baseTime.Add(time.Duration(i/2) * time.Microsecond)
		if err := s.AppendEventLog(t.Context(), logEntry(fmt.Sprintf("e%03d", i), "text", at, map[string]string{"user_id": user})); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := baseTime.Add(200 * time.Microsecond) // entries 0..399 are past it
	res := purgeAll(t, s, store.RecordEventLog, cutoff, held, 7)
	wantPurged(t, "batched purge", res, 360, 40)
	if got := len(listLog(t, s, "", 10_000)); got != n-360 {
		t.Errorf("%d entries left, want %d", got, n-360)
	}
	if got := len(listLog(t, s, "text", 10_000)); got != n-360 {
		t.Errorf("%d text entries left, want %d", got, n-360)
	}
}

func testPurgeAttestations(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	cutoff := baseTime.Add(24 * time.Hour)
	old := []policy.Attestation{
		attestation("zhangsan", "code", 1, policy.ChannelCard, baseTime),
		attestation("lisi", "code", 1, policy.ChannelCard, baseTime),
		attestation("lisi", "secret", 1, policy.ChannelReply, baseTime),
		attestation("wangwu", "gift", 2, policy.ChannelCard, baseTime),
	}
	recent := attestation("zhangsan", "gift", 2, policy.ChannelCard, cutoff.Add(time.Hour))
	for _, a := range append(old, recent) {
		attest(t, s, a)
	}
	// zhangsan is held (a member) and so is notice "secret".
	res := purgeAll(t, s, store.RecordAttestations, cutoff, []string{"zhangsan", "secret"}, 2)
	wantPurged(t, "purge", res, 2, 2)
	want := []string{"code/1/zhangsan", "gift/2/zhangsan", "secret/1/lisi"}
	ids := func(as []policy.Attestation) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, fmt.Sprintf("%s/%d/%s", a.NoticeID, a.Version, a.UserID))
		}
		return out
	}
	if got := ids(listAttestations(t, s, store.AttestationFilter{}, 100)); !slices.Equal(got, want) {
		t.Errorf("attestations after purge = %v, want %v", got, want)
	}
	if got := ids(listAttestations(t, s, store.AttestationFilter{UserID: "lisi"}, 100)); !slices.Equal(got, []string{"secret/1/lisi"}) {
		t.Errorf("lisi's attestations after purge = %v (the user index must follow)", got)
	}
	if got := ids(listAttestations(t, s, store.AttestationFilter{UserID: "wangwu"}, 100)); len(got) != 0 {
		t.Errorf("wangwu's attestations after purge = %v, want none", got)
	}
	_, err := s.GetAttestation(ctx, "wangwu", "gift", 2)
	wantNotFound(t, "GetAttestation of a purged one", err)

	wantPurged(t, "again", purgeAll(t, s, store.RecordAttestations, cutoff, []string{"zhangsan", "secret"}, 100), 0, 2)
	wantPurged(t, "nothing held", purgeAll(t, s, store.RecordAttestations, cutoff, nil, 100), 2, 0)
	if got := ids(listAttestations(t, s, store.AttestationFilter{}, 100)); !slices.Equal(got, []string{"gift/2/zhangsan"}) {
		t.Errorf("attestations at the end = %v", got)
	}
}

func testPurgeConsents(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	cutoff := baseTime.Add(24 * time.Hour)
	ended := func(user, external string, at time.Time) policy.Consent {
		c := consent(user, external, policy.ConsentAgreed)
		c.DeletedAt, c.DeleteReason = at, "del_external_contact"
		return c
	}
	putConsent(t, s, ended("zhangsan", "wm1", baseTime))              // purged
	putConsent(t, s, ended("zhangsan", "wmHELD", baseTime))           // held (the customer)
	putConsent(t, s, ended("lisi", "wm2", cutoff.Add(time.Hour)))     // ended recently
	putConsent(t, s, consent("lisi", "wm3", policy.ConsentDisagreed)) // current: never purged
	putConsent(t, s, func() policy.Consent {                          // ended long ago, unknown status
		c := ended("wangwu", "wm4", baseTime)
		c.Status = policy.ConsentUnknown
		return c
	}())
	res := purgeAll(t, s, store.RecordConsents, cutoff, []string{"wmHELD"}, 2)
	wantPurged(t, "purge", res, 2, 1)
	if got, want := consentKeys(listConsents(t, s, store.ConsentFilter{}, 100)),
		[]string{`"lisi"/"wm2":agreed`, `"lisi"/"wm3":disagreed`, `"zhangsan"/"wmHELD":agreed`}; !slices.Equal(got, want) {
		t.Errorf("consents after purge = %v, want %v", got, want)
	}
	if got := listConsents(t, s, store.ConsentFilter{Status: policy.ConsentUnknown}, 100); len(got) != 0 {
		t.Errorf("unknown consents after purge = %v, want none (the status index must follow)", consentKeys(got))
	}
	if got, want := consentKeys(listConsents(t, s, store.ConsentFilter{Status: policy.ConsentAgreed}, 100)),
		[]string{`"lisi"/"wm2":agreed`, `"zhangsan"/"wmHELD":agreed`}; !slices.Equal(got, want) {
		t.Errorf("agreed consents after purge = %v, want %v", got, want)
	}
	// A purged pair can be recorded again (the customer came back).
	putConsent(t, s, consent("zhangsan", "wm1", policy.ConsentAgreed))
	if _, err := s.GetConsent(t.Context(), "zhangsan", "wm1"); err != nil {
		t.Errorf("GetConsent of a re-added pair: %v", err)
	}
	wantPurged(t, "again", purgeAll(t, s, store.RecordConsents, cutoff, []string{"wmHELD"}, 100), 0, 1)
}

func testPurgeArguments(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	for i := range 3 {
		attest(t, s, attestation(fmt.Sprintf("u%d", i), "code", 1, policy.ChannelCard, baseTime))
		putConsent(t, s, consent(fmt.Sprintf("u%d", i), "wm", policy.ConsentAgreed))
	}
	res, err := s.Purge(ctx, store.PurgeBatch{Kind: store.RecordConsents, Before: baseTime, Limit: 1})
	if err != nil || res.Next == "" {
		t.Fatalf("Purge(consents, limit 1) = %+v, %v; want a next cursor", res, err)
	}
	_, err = s.Purge(ctx, store.PurgeBatch{Kind: store.RecordAttestations, Before: baseTime, Cursor: res.Next})
	if !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("Purge with a cursor of another kind: err = %v, want ErrInvalidCursor", err)
	}
	for i := range 2 {
		r := result("code:v1", fmt.Sprintf("u%d", i), store.StatusSent)
		r.At = baseTime.Add(-time.Hour)
		putResults(t, s, []store.RecipientResult{r})
	}
	res, err = s.Purge(ctx, store.PurgeBatch{Kind: store.RecordSendResults, Before: baseTime, Limit: 1, Held: store.HoldSet{"code": true}})
	if err != nil || res.Next == "" {
		t.Fatalf("Purge(send_results, limit 1) = %+v, %v; want a next cursor", res, err)
	}
	_, err = s.Purge(ctx, store.PurgeBatch{Kind: store.RecordObligations, Before: baseTime, Cursor: res.Next})
	if !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("Purge(obligations) with a send_results cursor: err = %v, want ErrInvalidCursor", err)
	}
	_, err = s.Purge(ctx, store.PurgeBatch{Kind: store.RecordEventLog, Before: baseTime, Cursor: "!!"})
	if !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("Purge with a garbage cursor: err = %v, want ErrInvalidCursor", err)
	}
	if _, err := s.Purge(ctx, store.PurgeBatch{Kind: "people", Before: baseTime}); err == nil {
		t.Error("Purge of an unknown kind: no error")
	}
	if _, err := s.Purge(ctx, store.PurgeBatch{Kind: store.RecordEventLog}); err == nil {
		t.Error("Purge without a cutoff: no error")
	}
	// An empty store purges nothing and ends at once.
	wantPurged(t, "empty log", purgeAll(t, s, store.RecordEventLog, baseTime.Add(time.Hour), nil, 10), 0, 0)
}

// benchPurge is Bench's PurgeEventLog1000: purging 1,000 event-log
// entries past retention (one batch of 1,000, looked up in a set of 100
// held subjects that none of them names), the work of one retention
// batch.
func benchPurge(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("PurgeEventLog1000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		held := store.HoldSet{}
		for i := range 100 {
			held[fmt.Sprint("held", i)] = true
		}
		cutoff := baseTime.Add(time.Hour)
		var seq atomic.Int64
		for b.Loop() {
			b.StopTimer()
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					for range 1000 / 16 {
						n := seq.Add(1)
						e := logEntry(fmt.Sprint("e", n), "text", baseTime.Add(time.Duration(n)*time.Microsecond),
							map[string]string{"user_id": fmt.Sprint("u", n%5000), "msg_id": fmt.Sprint(n)})
						if err := s.AppendEventLog(ctx, e); err != nil {
							b.Error(err)
						}
					}
				})
			}
			wg.Wait()
			b.StartTimer()
			res, err := s.Purge(ctx, store.PurgeBatch{Kind: store.RecordEventLog, Before: cutoff, Limit: 1000,
				Held: held})
			if err != nil || res.Purged != 1000/16*16 {
				b.Fatalf("Purge = %+v, %v", res, err)
			}
		}
		b.ReportMetric(float64(b.N*(1000/16*16))/b.Elapsed().Seconds(), "records/s")
	})
}

// benchPurgeResults is Bench's PurgeSendResults1000 (one batch of 1,000
// send results past retention, deleted) and PurgeSendResultsKeep100000
// (a whole run over 100,000 recent results, none deleted: what a daily
// run costs when nothing is old yet, in batches of 1,000).
func benchPurgeResults(b *testing.B, open func(b *testing.B) store.Store) {
	results := func(notice string, n int, at time.Time) []store.RecipientResult {
		rs := make([]store.RecipientResult, n)
		for i := range rs {
			rs[i] = result(notice, fmt.Sprintf("user%06d", i), store.StatusSent)
			rs[i].At = at
		}
		return rs
	}
	cutoff := baseTime.Add(time.Hour)
	b.Run("PurgeSendResults1000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		n := 0
		for b.Loop() {
			b.StopTimer()
			n++
			if err := s.PutSendResults(ctx, results(fmt.Sprintf("notice%d:v1", n), 1000, baseTime)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			res, err := s.Purge(ctx, store.PurgeBatch{Kind: store.RecordSendResults, Before: cutoff, Limit: 1000})
			if err != nil || res.Purged != 1000 {
				b.Fatalf("Purge = %+v, %v", res, err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("PurgeSendResultsKeep100000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		if err := s.PutSendResults(ctx, results("all-staff:v1", 100_000, cutoff.Add(time.Hour))); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			p := store.PurgeBatch{Kind: store.RecordSendResults, Before: cutoff, Limit: 1000}
			for {
				res, err := s.Purge(ctx, p)
				if err != nil || res.Purged != 0 {
					b.Fatalf("Purge = %+v, %v", res, err)
				}
				if p.Cursor = res.Next; p.Cursor == "" {
					break
				}
			}
		}
	})
}

// testPurgeDeadLetters: dead letters past retention are purged, in
// batches, unless a held subject occurs anywhere in their payload.
func testPurgeDeadLetters(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 1))
	ctx := t.Context()
	payload := func(from, content string) []byte {
		return []byte("<xml><FromUserName><![CDATA[" + from + "]]></FromUserName><MsgType>text</MsgType><Content><![CDATA[" + content + "]]></Content></xml>")
	}
	for i, p := range [][]byte{
		payload("zhangsan", "工资条"), payload("lisi", "合同"), payload("wangwu", "zhangsan 的报销"), payload("zhaoliu", "hi"),
	} {
		e := event(fmt.Sprint("dead", i))
		e.Payload = p
		enqueue(t, s, e)
		d := claimOne(t, s, "c1")
		if dead, err := s.Fail(ctx, d.Receipt, "poison", 0); err != nil || !dead {
			t.Fatalf("Fail = %v, %v; want dead", dead, err)
		}
	}
	mustAdd(t, s, "alive") // queue entries are not dead letters: never purged
	// Died just now: within any retention.
	wantPurged(t, "recent", purgeAll(t, s, store.RecordDeadLetters, time.Now().Add(-time.Hour), nil, 2), 0, 0)
	// zhangsan is held: his own message and one that mentions him stay.
	later := time.Now().Add(time.Hour)
	wantPurged(t, "past retention", purgeAll(t, s, store.RecordDeadLetters, later, []string{"zhangsan"}, 3), 2, 2)
	keys := deadKeys(deadLetters(t, s))
	if !slices.Equal(keys, []string{"dead0", "dead2"}) {
		t.Errorf("dead letters after purge = %v, want dead0 and dead2 (held)", keys)
	}
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 2})
	wantPurged(t, "after the release", purgeAll(t, s, store.RecordDeadLetters, later, nil, 100), 2, 0)
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 0})
}

// testPurgeObligations: only closed obligations past retention are
// purged, counted from ClosedAt (or AcknowledgedAt for a record closed
// before ClosedAt was kept; one with neither stays), unless a hold names
// the person or the notice; the user and status indexes and the counts
// follow, and a purged obligation can be created again.
func testPurgeObligations(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	cutoff := baseTime.Add(24 * time.Hour)
	closeAt := func(user, notice string, status policy.ObligationStatus, at time.Time) {
		t.Helper()
		createObligation(t, s, obligation(user, notice, 1, policy.Pending))
		if changed, err := s.CloseObligation(ctx, user, notice, 1, status, policy.ReasonLeftAudience, at); err != nil || !changed {
			t.Fatalf("CloseObligation(%s, %s) = %v, %v", user, notice, changed, err)
		}
	}
	// Purged: acknowledged, cancelled and superseded long ago.
	createObligation(t, s, obligation("lisi", "code", 1, policy.Pending))
	attest(t, s, attestation("lisi", "code", 1, policy.ChannelCard, baseTime))
	closeAt("wangwu", "code", policy.Cancelled, baseTime)
	closeAt("zhaoliu", "code", policy.Superseded, baseTime.Add(time.Minute))
	// Held: the person, and the notice.
	closeAt("zhangsan", "code", policy.Cancelled, baseTime)
	closeAt("lisi", "secret", policy.Superseded, baseTime)
	// Closed recently; at the cutoff exactly.
	closeAt("lisi", "gift", policy.Cancelled, cutoff.Add(time.Hour))
	closeAt("wangwu", "gift", policy.Cancelled, cutoff)
	// Open, however old: never purged.
	old := obligation("zhaoliu", "gift", 1, policy.Pending)
	old.CreatedAt, old.DueAt = baseTime.Add(-1000*24*time.Hour), baseTime.Add(-990*24*time.Hour)
	createObligation(t, s, old)
	createObligation(t, s, obligation("sunqi", "gift", 1, policy.Overdue))
	// Closed before ClosedAt was kept: acknowledged ones count from
	// AcknowledgedAt; one with neither time stays.
	legacy := func(user string, status policy.ObligationStatus, ackAt time.Time) {
		t.Helper()
		createObligation(t, s, obligation(user, "legacy", 1, policy.Pending))
		err := s.UpdateObligation(ctx, user, "legacy", 1, func(o policy.Obligation) (policy.Obligation, error) {
			o.Status, o.AcknowledgedAt, o.ClosedAt = status, ackAt, time.Time{}
			return o, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	legacy("lisi", policy.Acknowledged, baseTime)
	legacy("wangwu", policy.Cancelled, time.Time{})

	res := purgeAll(t, s, store.RecordObligations, cutoff, []string{"zhangsan", "secret"}, 2)
	wantPurged(t, "purge", res, 4, 2)
	want := []string{
		`"code"/1/"zhangsan":cancelled`,
		`"gift"/1/"lisi":cancelled`, `"gift"/1/"sunqi":overdue`, `"gift"/1/"wangwu":cancelled`, `"gift"/1/"zhaoliu":pending`,
		`"legacy"/1/"wangwu":cancelled`,
		`"secret"/1/"lisi":superseded`,
	}
	if got := obligationIDs(listObligations(t, s, store.ObligationFilter{}, 3)); !slices.Equal(got, want) {
		t.Errorf("obligations after purge = %v, want %v", got, want)
	}
	// The indexes follow the records.
	if got, want := obligationIDs(listObligations(t, s, store.ObligationFilter{UserID: "lisi"}, 100)),
		[]string{`"gift"/1/"lisi":cancelled`, `"secret"/1/"lisi":superseded`}; !slices.Equal(got, want) {
		t.Errorf("lisi's obligations after purge = %v, want %v", got, want)
	}
	if got := listObligations(t, s, store.ObligationFilter{Status: policy.Acknowledged}, 100); len(got) != 0 {
		t.Errorf("acknowledged obligations after purge = %v, want none", obligationIDs(got))
	}
	if got, want := obligationIDs(listObligations(t, s, store.ObligationFilter{NoticeID: "code", Status: policy.Cancelled}, 100)),
		[]string{`"code"/1/"zhangsan":cancelled`}; !slices.Equal(got, want) {
		t.Errorf("cancelled obligations of code after purge = %v, want %v", got, want)
	}
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Cancelled: 1})
	wantCounts(t, s, "legacy", 1, map[policy.ObligationStatus]int{policy.Cancelled: 1})
	_, err := s.GetObligation(ctx, "lisi", "code", 1)
	wantNotFound(t, "GetObligation of a purged one", err)
	// The evidence is another kind, with its own retention.
	if _, err := s.GetAttestation(ctx, "lisi", "code", 1); err != nil {
		t.Errorf("the attestation of a purged obligation: %v", err)
	}

	wantPurged(t, "again", purgeAll(t, s, store.RecordObligations, cutoff, []string{"zhangsan", "secret"}, 100), 0, 2)
	// A purged obligation can be owed again.
	if !createObligation(t, s, obligation("wangwu", "code", 1, policy.Pending)) {
		t.Error("CreateObligation of a purged obligation = false")
	}
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Cancelled: 1, policy.Pending: 1})
	wantPurged(t, "released", purgeAll(t, s, store.RecordObligations, cutoff, nil, 100), 2, 0)
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Pending: 1})
}

// testPurgeSendResults: results whose At is past retention are purged
// unless a hold names their user, their notice or an id in their key; a
// result replaced by a later send counts from the later one.
func testPurgeSendResults(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	cutoff := baseTime.Add(24 * time.Hour)
	at := func(r store.RecipientResult, t time.Time) store.RecipientResult { r.At = t; return r }
	const card, remind = "archive:v3", "archive:v3:remind:2026-03-04"
	putResults(t, s, []store.RecipientResult{
		result(card, "a", store.StatusSent),                                 // purged
		result(card, "b", store.StatusFailed),                               // purged
		result(card, "zhangsan", store.StatusSent),                          // held: the user
		at(result(card, "c", store.StatusSent), cutoff.Add(time.Hour)),      // recent
		at(result(card, "d", store.StatusSent), cutoff),                     // at the cutoff
		result(card, "f", store.StatusFailed),                               // replaced below
		result("secret:v1", "a", store.StatusSent),                          // held: the notice
		result("secret:v1:remind:2026-03-04", "a", store.StatusSent),        // held: the notice
		result("welcome:wangwu", "wmCUSTOMER", store.StatusSent),            // held: the employee in the key
		result("digest:2026-03-04:en:1", "officer", store.StatusSent),       // purged
		at(result(remind, "a", store.StatusSent), baseTime.Add(-time.Hour)), // purged
	})
	putResults(t, s, []store.RecipientResult{at(result(card, "f", store.StatusSent), cutoff.Add(time.Minute))})

	held := []string{"zhangsan", "secret", "wangwu"}
	res := purgeAll(t, s, store.RecordSendResults, cutoff, held, 2)
	wantPurged(t, "purge", res, 4, 4)
	users := func(notice string) []string {
		out := []string{}
		for _, r := range listResults(t, s, notice) {
			out = append(out, r.UserID)
		}
		return out
	}
	if got, want := users(card), []string{"c", "d", "f", "zhangsan"}; !slices.Equal(got, want) {
		t.Errorf("results of %s after purge = %v, want %v", card, got, want)
	}
	for notice, want := range map[string][]string{
		remind: {}, "digest:2026-03-04:en:1": {}, "secret:v1": {"a"}, "welcome:wangwu": {"wmCUSTOMER"},
	} {
		if got := users(notice); !slices.Equal(got, want) {
			t.Errorf("results of %s after purge = %v, want %v", notice, got, want)
		}
	}
	_, err := s.SendResult(ctx, card, "a")
	wantNotFound(t, "SendResult of a purged one", err)
	if r, err := s.SendResult(ctx, card, "f"); err != nil || r.Status != store.StatusSent {
		t.Errorf("the replaced result = %+v, %v; want the later one, kept", r, err)
	}

	wantPurged(t, "again", purgeAll(t, s, store.RecordSendResults, cutoff, held, 100), 0, 4)
	// A purged result is recorded again by a later send.
	putResults(t, s, []store.RecipientResult{result(card, "a", store.StatusSent)})
	if _, err := s.SendResult(ctx, card, "a"); err != nil {
		t.Errorf("SendResult of a result put again: %v", err)
	}
	wantPurged(t, "released", purgeAll(t, s, store.RecordSendResults, cutoff, nil, 100), 5, 0)
	if got, want := users(card), []string{"c", "d", "f"}; !slices.Equal(got, want) {
		t.Errorf("results of %s at the end = %v, want %v", card, got, want)
	}
}

// testPurgeInBatches: many obligations and results, every tenth held,
// purged in small batches: each batch examines at most its limit, the
// batches end, and exactly the held and recent records stay.
func testPurgeInBatches(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const n = 300
	cutoff := baseTime.Add(200 * time.Microsecond)
	var held []string
	var rs []store.RecipientResult
	for i := range n {
		user := fmt.Sprintf("u%03d", i)
		if i%10 == 0 {
			held = append(held, user)
		}
		// Three at a time share a microsecond (one API call's results
		// share their At), so batch boundaries fall inside ties.
		closed := baseTime.Add(time.Duration(i/3*3) * time.Microsecond)
		createObligation(t, s, obligation(user, "code", 1, policy.Pending))
		if _, err := s.CloseObligation(ctx, user, "code", 1, policy.Cancelled, policy.ReasonLeftAudience, closed); err != nil {
			t.Fatal(err)
		}
		r := result(fmt.Sprintf("notice:v%d", i%4+1), user, store.StatusSent)
		r.At = closed
		rs = append(rs, r)
	}
	putResults(t, s, rs)
	// 0..200 are past the cutoff (198, 199 and 200 share 198µs).
	past := 201
	wantHeld := (past + 9) / 10
	res := purgeAll(t, s, store.RecordObligations, cutoff, held, 7)
	wantPurged(t, "obligations in batches", res, past-wantHeld, wantHeld)
	if got := len(listObligations(t, s, store.ObligationFilter{}, 1000)); got != n-(past-wantHeld) {
		t.Errorf("%d obligations left, want %d", got, n-(past-wantHeld))
	}
	if got := len(listObligations(t, s, store.ObligationFilter{Status: policy.Cancelled}, 1000)); got != n-(past-wantHeld) {
		t.Errorf("%d cancelled obligations left, want %d", got, n-(past-wantHeld))
	}
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Cancelled: n - (past - wantHeld)})

	res = purgeAll(t, s, store.RecordSendResults, cutoff, held, 7)
	wantPurged(t, "results in batches", res, past-wantHeld, wantHeld)
	left := 0
	for v := 1; v <= 4; v++ {
		left += len(listResults(t, s, fmt.Sprintf("notice:v%d", v)))
	}
	if left != n-(past-wantHeld) {
		t.Errorf("%d results left, want %d", left, n-(past-wantHeld))
	}
	wantPurged(t, "results again", purgeAll(t, s, store.RecordSendResults, cutoff, held, 7), 0, wantHeld)
}

// testPurgeDeadLettersKeepsIncident: while one dead letter is within
// retention, none is purged, however old the others are, so that an
// incident's letters stay together until someone deals with them; once
// the young one is dealt with, the old ones go.
func testPurgeDeadLettersKeepsIncident(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 1))
	ctx := t.Context()
	kill(t, s, event("incident-1"), "boom")
	second := getDeadLetter(t, s, kill(t, s, event("incident-2"), "boom"))
	// The next one dies later, by the clock the store keeps (Redis's
	// milliseconds): the cutoff falls between them.
	for time.Now().Before(second.DiedAt.Add(20 * time.Millisecond)) {
		time.Sleep(5 * time.Millisecond)
	}
	young := getDeadLetter(t, s, kill(t, s, event("later"), "boom"))
	cutoff := second.DiedAt.Add(10 * time.Millisecond)
	if young.DiedAt.Before(cutoff) {
		t.Fatalf("the later letter died at %v, before the cutoff %v", young.DiedAt, cutoff)
	}
	wantPurged(t, "one within retention", purgeAll(t, s, store.RecordDeadLetters, cutoff, nil, 1), 0, 0)
	if got := deadKeys(deadLetters(t, s)); !slices.Equal(got, []string{"incident-1", "incident-2", "later"}) {
		t.Fatalf("dead letters after the purge = %v, want all three", got)
	}
	// The operator retries the young one: the old ones are past retention.
	if _, err := s.RetryDeadLetter(ctx, young.ID); err != nil {
		t.Fatal(err)
	}
	wantPurged(t, "all past retention", purgeAll(t, s, store.RecordDeadLetters, cutoff, nil, 1), 2, 0)
	wantStats(t, s, store.QueueStats{Ready: 1})
	_, err := s.GetDeadLetter(ctx, second.ID)
	wantNotFound(t, "GetDeadLetter of a purged one", err)
}

// testPurgeRecipientClaims: claims made before the cutoff are purged,
// in batches, unless a hold names the user, the notice or the claim key;
// younger ones stay; a purged claim can be made again, by its old owner
// or another, and counts from then.
func testPurgeRecipientClaims(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	cutoff := baseTime.Add(24 * time.Hour)
	const card, secret, reminder = "archive:v3:sha256:aaa", "secret:v1:sha256:bbb", "archive:v3:remind:2026-03-04:sha256:ccc"
	claimUsersAt(t, s, card, "plan-a", baseTime, "u1", "u2", "zhangsan") // zhangsan is held
	claimUsersAt(t, s, secret, "plan-b", baseTime, "u1")                 // the notice is held
	claimUsersAt(t, s, reminder, "plan-c", baseTime.Add(-time.Hour), "u1")
	claimUsersAt(t, s, card, "plan-d", cutoff, "u3")                      // at the cutoff: kept
	claimUsersAt(t, s, card, "plan-d", cutoff.Add(time.Hour), "u4")       // recent
	claimUsersAt(t, s, card, "plan-d", cutoff.Add(time.Hour), "u1", "u2") // claimed by plan-a: nothing, and no new time

	held := []string{"zhangsan", "secret"}
	wantPurged(t, "purge", purgeAll(t, s, store.RecordRecipientClaims, cutoff, held, 2), 3, 2)
	wantPurged(t, "again", purgeAll(t, s, store.RecordRecipientClaims, cutoff, held, 2), 0, 2)
	// The purged claims are free again: plan-a's plan that runs again
	// gets them back, with a new time.
	if got := claimUsersAt(t, s, card, "plan-a", cutoff.Add(2*time.Hour), "u1", "u2", "zhangsan", "u3", "u4"); !slices.Equal(got, []string{"u1", "u2", "zhangsan"}) {
		t.Errorf("plan-a claiming again after the purge got %q, want u1, u2 and its held zhangsan", got)
	}
	if got := claimUsersAt(t, s, reminder, "plan-x", cutoff.Add(2*time.Hour), "u1"); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("another plan claiming a purged claim got %q, want [u1]", got)
	}
	if got := claimUsersAt(t, s, secret, "plan-x", cutoff.Add(2*time.Hour), "u1"); len(got) != 0 {
		t.Errorf("another plan got the held claim: %q", got)
	}
	// The holds are released: the held ones go; the young and the new
	// claims stay.
	wantPurged(t, "released", purgeAll(t, s, store.RecordRecipientClaims, cutoff, nil, 100), 2, 0)
	if got := claimUsersAt(t, s, card, "plan-y", cutoff.Add(3*time.Hour), "u1", "u2", "u3", "u4"); len(got) != 0 {
		t.Errorf("plan-y got %q of claims that are all younger than the cutoff", got)
	}
	wantPurged(t, "later", purgeAll(t, s, store.RecordRecipientClaims, cutoff.Add(4*time.Hour), nil, 3), 5, 0)

	// Many claims, every tenth user held, in small batches: each batch
	// examines at most its limit and exactly the held and recent stay.
	var users, hold []string
	for i := range 300 {
		u := fmt.Sprintf("m%03d", i)
		users = append(users, u)
		if i%10 == 0 {
			hold = append(hold, u)
		}
		// Three at a time share a microsecond.
		claimUsersAt(t, s, "all:v1:sha256:ddd", "plan-m", baseTime.Add(time.Duration(i/3*3)*time.Microsecond), u)
	}
	batchCutoff := baseTime.Add(200 * time.Microsecond) // 0..200 are past it
	past, wantHeld := 201, 21
	wantPurged(t, "in batches", purgeAll(t, s, store.RecordRecipientClaims, batchCutoff, hold, 7), past-wantHeld, wantHeld)
	if got := claimUsersAt(t, s, "all:v1:sha256:ddd", "plan-n", cutoff, users...); len(got) != past-wantHeld {
		t.Errorf("another plan got %d of the users, want the %d purged", len(got), past-wantHeld)
	}
}
