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
		if dead, err := s.Fail(ctx, d.ID, "poison", 0); err != nil || !dead {
			t.Fatalf("Fail = %v, %v; want dead", dead, err)
		}
	}
	mustAdd(t, s, "alive") // queue entries are not dead letters: never purged
	// Died just now: within any retention.
	wantPurged(t, "recent", purgeAll(t, s, store.RecordDeadLetters, time.Now().Add(-time.Hour), nil, 2), 0, 0)
	// zhangsan is held: his own message and one that mentions him stay.
	later := time.Now().Add(time.Hour)
	wantPurged(t, "past retention", purgeAll(t, s, store.RecordDeadLetters, later, []string{"zhangsan"}, 3), 2, 2)
	dls, err := s.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range dls {
		keys = append(keys, d.DedupKey)
	}
	if !slices.Equal(keys, []string{"dead0", "dead2"}) {
		t.Errorf("dead letters after purge = %v, want dead0 and dead2 (held)", keys)
	}
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 2})
	wantPurged(t, "after the release", purgeAll(t, s, store.RecordDeadLetters, later, nil, 100), 2, 0)
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 0})
}
