package retention_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/retention"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

var day = 24 * time.Hour

// now is a retention activation: 03:00 Beijing time.
var now = time.Date(2026, 11, 23, 3, 0, 0, 0, time.FixedZone("CST", 8*3600))

// written is the purger's clock in the tests: the run is made an hour
// and a half after its activation (a catch-up), and each reading is a
// second after the last, so entries stamped when written are in order.
func written() func() time.Time {
	var mu sync.Mutex
	t := now.Add(90 * time.Minute)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// backends opens a fresh store of each backend: the embedded one on a
// temporary file and the Redis one on a private redis-server.
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	url := redistest.Start(t)
	var n atomic.Int64
	return map[string]func(t *testing.T) store.Store{
		"embedded": openStore,
		"redis": func(t *testing.T) store.Store {
			s, err := redisstore.Open(t.Context(), redisstore.Options{URL: url, Namespace: fmt.Sprintf("wwret%d", n.Add(1)),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
}

func logEntry(key string, at time.Time, user string) store.LogEntry {
	return store.LogEntry{Kind: "text", DedupKey: key, CreateTime: at.Unix(), ReceivedAt: at, Receiver: "/wecom/callback",
		Fields: map[string]string{"user_id": user, "msg_id": key}}
}

func attestation(user, notice string, at time.Time) policy.Attestation {
	return policy.Attestation{UserID: user, NoticeID: notice, Version: 1, ContentHash: "sha256:x", Channel: policy.ChannelCard,
		CreateTime: at.Unix(), ReceivedAt: at, DedupKey: user + notice}
}

func logKeys(t *testing.T, s store.Store) []string {
	t.Helper()
	es, _, err := s.ListEventLog(t.Context(), "", store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.DedupKey)
	}
	slices.Sort(out)
	return out
}

func auditOf(t *testing.T, s store.Store) []store.AuditEntry {
	t.Helper()
	es, err := s.ListAudit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantInOrder fails unless the purger's entries among entries are
// stamped when they were written: after the activation they are for, and
// in the order of the chain.
func wantInOrder(t *testing.T, entries []store.AuditEntry) {
	t.Helper()
	var last time.Time
	for _, e := range entries {
		if !strings.HasPrefix(e.ID, "retention:") {
			continue
		}
		if !e.At.After(now.Add(90*time.Minute)) || !e.At.After(last) {
			t.Errorf("entry %d (%s) stamped %v, after %v: want stamped when written, in order", e.Seq, e.ID, e.At, last)
		}
		last = e.At
	}
}

func wantChainOK(t *testing.T, s store.Store) {
	t.Helper()
	rep, err := s.VerifyAudit(t.Context())
	if err != nil || !rep.OK {
		t.Fatalf("VerifyAudit = %+v, %v; want OK", rep, err)
	}
}

func run(t *testing.T, p *retention.Purger, at time.Time) map[string]int {
	t.Helper()
	counts, err := p.Run(t.Context(), at)
	if err != nil {
		t.Fatalf("Run(%v): %v", at, err)
	}
	return counts
}

// TestPurgeHoldReleaseAndAudit walks a retention's life: records past
// retention are purged and held ones kept; a re-run at the same now
// changes nothing and appends nothing; after the hold is released the
// next run purges them; the audit chain verifies throughout.
func TestPurgeHoldReleaseAndAudit(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) { testPurgeHoldReleaseAndAudit(t, open(t)) })
	}
}

func testPurgeHoldReleaseAndAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Audit history before retention ever runs: the purge must extend
	// the chain, never cut it.
	for i, id := range []string{"decision-1", "delivery-1"} {
		if _, err := s.AppendAudit(ctx, store.AuditEntry{ID: id, At: now.Add(-time.Duration(400-i) * day), Kind: "decision", Subject: "zhangsan"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []store.LogEntry{
		logEntry("old-zhang", now.Add(-200*day), "zhangsan"),
		logEntry("old-li", now.Add(-181*day), "lisi"),
		logEntry("young-li", now.Add(-179*day), "lisi"),
	} {
		if err := s.AppendEventLog(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []policy.Attestation{
		attestation("zhangsan", "code", now.Add(-1100*day)),
		attestation("lisi", "code", now.Add(-1100*day)),
		attestation("lisi", "gift", now.Add(-30*day)),
	} {
		if _, err := s.Attest(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutHold(ctx, store.Hold{ID: "case-17", Subject: "zhangsan", Reason: "labour arbitration 2026-17", CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// An expired hold protects nothing.
	if _, err := s.PutHold(ctx, store.Hold{ID: "case-3", Subject: "lisi", Reason: "closed", CreatedAt: now.Add(-100 * day), ExpiresAt: now.Add(-day)}); err != nil {
		t.Fatal(err)
	}

	p := retention.New(s, retention.Policy{Keep: map[store.RecordKind]time.Duration{
		store.RecordEventLog:     180 * day,
		store.RecordAttestations: 1095 * day,
		store.RecordConsents:     0, // kept forever
	}, BatchSize: 1}, written())

	counts := run(t, p, now)
	want := map[string]int{"event_log.purged": 1, "event_log.held": 1, "attestations.purged": 1, "attestations.held": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("counts[%s] = %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
	if _, ok := counts["consents.purged"]; ok {
		t.Errorf("counts = %v: consents have no retention and must not be purged", counts)
	}
	if got := logKeys(t, s); !slices.Equal(got, []string{"old-zhang", "young-li"}) {
		t.Errorf("event log = %v, want old-zhang (held) and young-li (within 180 days)", got)
	}
	if _, err := s.GetAttestation(ctx, "lisi", "code", 1); err == nil {
		t.Error("lisi's 3-year-old attestation was not purged")
	}
	if _, err := s.GetAttestation(ctx, "zhangsan", "code", 1); err != nil {
		t.Errorf("zhangsan's held attestation: %v", err)
	}
	wantChainOK(t, s)
	entries := auditOf(t, s)
	if len(entries) != 2+3 {
		t.Fatalf("audit has %d entries, want 2 + the run's start and a done per purged kind", len(entries))
	}
	wantInOrder(t, entries)
	done := entries[len(entries)-1]
	if done.Kind != retention.AuditPurge || done.Subject != "attestations" || done.ID != retention.AuditID(store.RecordAttestations, now, "done") {
		t.Errorf("last entry = %+v", done)
	}
	var data retention.PurgeData
	if err := json.Unmarshal(done.Data, &data); err != nil {
		t.Fatal(err)
	}
	if *data.Purged != 1 || *data.Held != 1 || !slices.Equal(data.Holds, []string{"case-17"}) || data.RetentionDays != 1095 ||
		!data.Cutoff.Equal(now.Add(-1095*day)) {
		t.Errorf("purge audit data = %s", done.Data)
	}
	for _, e := range entries[2:] {
		if json.Valid(e.Data) && (slices.Contains([]string{"zhangsan", "lisi"}, e.Subject) || containsAny(string(e.Data), "zhangsan", "lisi")) {
			t.Errorf("purge audit entry %s names a person: %s", e.ID, e.Data)
		}
	}

	// The same activation again (a run taken over): nothing more is
	// purged; the re-run's no-op summary is its one new entry, once.
	for range 2 {
		counts = run(t, p, now)
		if counts["event_log.purged"] != 0 || counts["attestations.purged"] != 0 {
			t.Errorf("re-run purged %v", counts)
		}
		if entries := auditOf(t, s); len(entries) != 6 || entries[5].Kind != retention.AuditNoop {
			t.Errorf("re-run at the same now: audit has %d entries, want 6, the last the no-op summary", len(entries))
		}
	}

	// Release the hold: the next day's run purges zhangsan's records.
	if _, err := s.DeleteHold(ctx, "case-17"); err != nil {
		t.Fatal(err)
	}
	next := now.Add(day)
	counts = run(t, p, next)
	if counts["event_log.purged"] != 1 || counts["attestations.purged"] != 1 || counts["event_log.held"] != 0 {
		t.Errorf("after the release: counts = %v", counts)
	}
	if got := logKeys(t, s); !slices.Equal(got, []string{"young-li"}) {
		t.Errorf("event log after the release = %v, want young-li", got)
	}
	if n := len(auditOf(t, s)); n != 9 {
		t.Errorf("audit has %d entries after the second day, want 9", n)
	}
	wantInOrder(t, auditOf(t, s))
	wantChainOK(t, s)
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

// TestConsentsOfEndedRelationships: only a consent whose relationship
// ended longer ago than the retention is purged.
func TestConsentsOfEndedRelationships(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	for _, c := range []policy.Consent{
		{UserID: "zhangsan", ExternalUserID: "wm1", Status: policy.ConsentAgreed, DeletedAt: now.Add(-1200 * day)},
		{UserID: "zhangsan", ExternalUserID: "wm2", Status: policy.ConsentAgreed, DeletedAt: now.Add(-10 * day)},
		{UserID: "zhangsan", ExternalUserID: "wm3", Status: policy.ConsentAgreed, AddedAt: now.Add(-2000 * day)},
	} {
		if err := s.PutConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	p := retention.New(s, retention.Policy{Keep: map[store.RecordKind]time.Duration{store.RecordConsents: 1095 * day}}, written())
	if counts := run(t, p, now); counts["consents.purged"] != 1 {
		t.Errorf("counts = %v, want one consent purged", counts)
	}
	cs, _, err := s.ListConsents(ctx, store.ConsentFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ExternalUserID != "wm2" || cs[1].ExternalUserID != "wm3" {
		t.Errorf("consents left = %+v", cs)
	}
	wantChainOK(t, s)
}

// TestNothingConfiguredPurgesNothing: all retentions 0 (keep forever).
func TestNothingConfiguredPurgesNothing(t *testing.T) {
	s := openStore(t)
	if err := s.AppendEventLog(t.Context(), logEntry("ancient", now.Add(-5000*day), "u")); err != nil {
		t.Fatal(err)
	}
	counts := run(t, retention.New(s, retention.Policy{}, written()), now)
	if len(counts) != 0 || len(auditOf(t, s)) != 0 || len(logKeys(t, s)) != 1 {
		t.Errorf("with no retention: counts %v, audit %d, log %v", counts, len(auditOf(t, s)), logKeys(t, s))
	}
}

// holdAfterFirstBatch places a hold on subject once the first purge
// batch is done, as an admin could while a long purge runs.
type holdAfterFirstBatch struct {
	retention.Store
	t       *testing.T
	subject string
	batches int
}

func (s *holdAfterFirstBatch) Purge(ctx context.Context, b store.PurgeBatch) (store.PurgeResult, error) {
	res, err := s.Store.Purge(ctx, b)
	if s.batches++; s.batches == 1 {
		if _, err := s.PutHold(ctx, store.Hold{ID: "late", Subject: s.subject, Reason: "placed mid-run", CreatedAt: now}); err != nil {
			s.t.Fatal(err)
		}
	}
	return res, err
}

// TestHoldPlacedDuringARunProtectsTheNextBatch: holds are read before
// every batch, not once a run.
func TestHoldPlacedDuringARunProtectsTheNextBatch(t *testing.T) {
	s := openStore(t)
	for _, e := range []store.LogEntry{
		logEntry("old-li", now.Add(-300*day), "lisi"),
		logEntry("old-zhang", now.Add(-200*day), "zhangsan"),
	} {
		if err := s.AppendEventLog(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	st := &holdAfterFirstBatch{Store: s, t: t, subject: "zhangsan"}
	p := retention.New(st, retention.Policy{Keep: map[store.RecordKind]time.Duration{store.RecordEventLog: 180 * day}, BatchSize: 1}, written())
	counts := run(t, p, now)
	if counts["event_log.purged"] != 1 || counts["event_log.held"] != 1 {
		t.Errorf("counts = %v, want lisi's entry purged and zhangsan's held", counts)
	}
	if got := logKeys(t, s); !slices.Equal(got, []string{"old-zhang"}) {
		t.Errorf("event log = %v, want old-zhang", got)
	}
	entries := auditOf(t, s)
	var data retention.PurgeData
	if err := json.Unmarshal(entries[len(entries)-1].Data, &data); err != nil || !slices.Equal(data.Holds, []string{"late"}) {
		t.Errorf("done entry = %s, want the late hold listed", entries[len(entries)-1].Data)
	}
}

// TestObligationsAndSendResults: closed obligations and send results
// are purged on both backends like the other kinds, each kind with its
// own audit entries; open obligations and held ones stay.
func TestObligationsAndSendResults(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) { testObligationsAndSendResults(t, open(t)) })
	}
}

func testObligationsAndSendResults(t *testing.T, s store.Store) {
	ctx := t.Context()
	owe := func(user, notice string) {
		t.Helper()
		o := policy.Obligation{UserID: user, NoticeID: notice, Version: 1, Reason: policy.ReasonPublished,
			CreatedAt: now.Add(-2000 * day), DueAt: now.Add(-1990 * day)}
		if _, err := s.CreateObligation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"zhangsan", "lisi", "wangwu", "zhaoliu"} {
		owe(user, "code")
	}
	// lisi acknowledged 3 years ago, zhangsan too (held), wangwu left
	// then; zhaoliu never answered: open, kept however old.
	for _, user := range []string{"lisi", "zhangsan"} {
		if _, err := s.Attest(ctx, attestation(user, "code", now.Add(-1100*day))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CloseObligation(ctx, "wangwu", "code", 1, policy.Cancelled, policy.ReasonMemberDeleted, now.Add(-1096*day)); err != nil {
		t.Fatal(err)
	}
	result := func(notice, user string, at time.Time) store.RecipientResult {
		return store.RecipientResult{NoticeKey: notice, UserID: user, UnitID: "u1", ContentHash: "sha256:x",
			Status: store.StatusSent, MsgID: "msg-" + user, ResponseCode: "rc-" + user, At: at}
	}
	if err := s.PutSendResults(ctx, []store.RecipientResult{
		result("code:v1", "lisi", now.Add(-400*day)),
		result("code:v1", "zhangsan", now.Add(-400*day)),
		result("code:v1", "wangwu", now.Add(-10*day)),
		result("welcome:zhangsan", "wmCUSTOMER", now.Add(-400*day)),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHold(ctx, store.Hold{ID: "case-17", Subject: "zhangsan", Reason: "labour arbitration 2026-17", CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	p := retention.New(s, retention.Policy{Keep: map[store.RecordKind]time.Duration{
		store.RecordObligations: 1095 * day,
		store.RecordSendResults: 365 * day,
	}, BatchSize: 1}, written())

	counts := run(t, p, now)
	want := map[string]int{"obligations.purged": 2, "obligations.held": 1, "send_results.purged": 1, "send_results.held": 2}
	if !maps.Equal(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	os, _, err := s.ListObligations(ctx, store.ObligationFilter{NoticeID: "code"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range os {
		left = append(left, o.UserID+":"+string(o.Status))
	}
	if !slices.Equal(left, []string{"zhangsan:acknowledged", "zhaoliu:pending"}) {
		t.Errorf("obligations left = %v, want zhangsan's (held) and zhaoliu's (open)", left)
	}
	rs, err := s.ListSendResults(ctx, "code:v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].UserID != "wangwu" || rs[1].UserID != "zhangsan" {
		t.Errorf("results left = %+v, want wangwu's (recent) and zhangsan's (held)", rs)
	}
	if _, err := s.SendResult(ctx, "welcome:zhangsan", "wmCUSTOMER"); err != nil {
		t.Errorf("the welcome zhangsan's customer was sent, held by the key: %v", err)
	}

	entries := auditOf(t, s)
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Kind+" "+e.Subject)
	}
	if want := []string{"purge.start ", "purge obligations", "purge send_results"}; !slices.Equal(kinds, want) {
		t.Errorf("audit = %v, want %v", kinds, want)
	}
	if entries[2].ID != retention.AuditID(store.RecordSendResults, now, "done") {
		t.Errorf("last audit id = %s", entries[2].ID)
	}
	for _, e := range entries {
		if containsAny(string(e.Data), "zhangsan", "lisi", "wmCUSTOMER") {
			t.Errorf("purge audit entry %s names a person: %s", e.ID, e.Data)
		}
	}
	wantChainOK(t, s)

	if counts := run(t, p, now); counts["obligations.purged"] != 0 || counts["send_results.purged"] != 0 || len(auditOf(t, s)) != 4 {
		t.Errorf("re-run at the same now: counts %v, %d audit entries; want nothing purged, one no-op summary", counts, len(auditOf(t, s)))
	}
}

// TestRecipientClaims: claims made before recipient_claims_days are
// purged, younger ones and held ones kept, the purge audited like the
// others (no person in its data); the plan that made a purged claim can
// make it again.
func TestRecipientClaims(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) { testRecipientClaims(t, open(t)) })
	}
}

func testRecipientClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	claim := func(key, owner string, at time.Time, users ...string) []string {
		t.Helper()
		got, err := s.ClaimRecipients(ctx, key, owner, users, at)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	const remind, reply = "archive:v3:remind:2026-11-19:sha256:aa", "reply:msg1:sha256:bb"
	claim(remind, "notify:plan-1", now.Add(-4*day), "lisi", "wangwu", "zhangsan")
	claim(reply, "notify:plan-2", now.Add(-1*day), "lisi")
	if _, err := s.PutHold(ctx, store.Hold{ID: "case-17", Subject: "zhangsan", Reason: "labour arbitration 2026-17", CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	p := retention.New(s, retention.Policy{Keep: map[store.RecordKind]time.Duration{store.RecordRecipientClaims: 3 * day}, BatchSize: 1}, written())
	counts := run(t, p, now)
	if want := map[string]int{"recipient_claims.purged": 2, "recipient_claims.held": 1}; !maps.Equal(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	if got := claim(remind, "notify:plan-1", now, "lisi", "wangwu", "zhangsan"); !slices.Equal(got, []string{"lisi", "wangwu", "zhangsan"}) {
		t.Errorf("the plan claiming again got %q, want all three (two anew, the held one still its own)", got)
	}
	if got := claim(reply, "notify:plan-3", now, "lisi"); len(got) != 0 {
		t.Errorf("another plan got the young claim: %q", got)
	}
	entries := auditOf(t, s)
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Kind+" "+e.Subject)
		if containsAny(string(e.Data), "zhangsan", "lisi", "wangwu") {
			t.Errorf("purge audit entry %s names a person: %s", e.ID, e.Data)
		}
	}
	if want := []string{"purge.start ", "purge recipient_claims"}; !slices.Equal(kinds, want) {
		t.Errorf("audit = %v, want %v", kinds, want)
	}
	var data retention.PurgeData
	if err := json.Unmarshal(entries[1].Data, &data); err != nil || *data.Purged != 2 || *data.Held != 1 || data.RetentionDays != 3 ||
		!slices.Equal(data.Holds, []string{"case-17"}) {
		t.Errorf("purge entry data = %s, %v", entries[1].Data, err)
	}
	wantChainOK(t, s)
}

// TestQuietRunIsOneNoopEntry: a run that deletes nothing of most kinds
// writes one no-op summary naming them (with what holds kept), not two
// entries a kind; a kind that deleted records keeps its own entry. Every
// entry is stamped when written — after an entry another part of the
// server wrote between the activation and the (late) run — so the log
// reads in order.
func TestQuietRunIsOneNoopEntry(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			if _, err := s.AppendAudit(ctx, store.AuditEntry{ID: "decision-1", At: now.Add(30 * time.Minute), Kind: "decision"}); err != nil {
				t.Fatal(err)
			}
			keep := map[store.RecordKind]time.Duration{}
			for _, k := range store.RecordKinds {
				keep[k] = 30 * day
			}
			for _, e := range []store.LogEntry{logEntry("old", now.Add(-40*day), "lisi"), logEntry("held", now.Add(-40*day), "zhangsan")} {
				if err := s.AppendEventLog(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Attest(ctx, attestation("zhangsan", "code", now.Add(-40*day))); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PutHold(ctx, store.Hold{ID: "case-17", Subject: "zhangsan", Reason: "labour arbitration 2026-17", CreatedAt: now.Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
			run(t, retention.New(s, retention.Policy{Keep: keep}, written()), now)

			entries := auditOf(t, s)
			var kinds []string
			for _, e := range entries {
				kinds = append(kinds, e.Kind+" "+e.Subject)
			}
			if want := []string{"decision ", "purge.start ", "purge event_log", "retention.noop "}; !slices.Equal(kinds, want) {
				t.Fatalf("audit = %v, want %v", kinds, want)
			}
			wantInOrder(t, entries)
			if !entries[1].At.After(entries[0].At) {
				t.Errorf("the run's start stamped %v, before the decision written before it (%v)", entries[1].At, entries[0].At)
			}
			var noop retention.RunData
			if err := json.Unmarshal(entries[3].Data, &noop); err != nil {
				t.Fatal(err)
			}
			if entries[3].ID != retention.RunAuditID(now, "noop") || !noop.ScheduledAt.Equal(now) || !slices.Equal(noop.Holds, []string{"case-17"}) {
				t.Errorf("no-op entry %s: %s", entries[3].ID, entries[3].Data)
			}
			var quiet []string
			for _, k := range noop.Kinds {
				quiet = append(quiet, string(k.Kind))
				if *k.Purged != 0 || (k.Kind == store.RecordAttestations) != (*k.Held == 1) || k.RetentionDays != 30 {
					t.Errorf("no-op kind %s: purged %d, held %d, %d days", k.Kind, *k.Purged, *k.Held, k.RetentionDays)
				}
			}
			want := slices.DeleteFunc(slices.Clone(store.RecordKinds), func(k store.RecordKind) bool { return k == store.RecordEventLog })
			if len(quiet) != len(want) {
				t.Errorf("no-op kinds %v, want every kind but event_log (%v)", quiet, want)
			}
			var done retention.PurgeData
			if err := json.Unmarshal(entries[2].Data, &done); err != nil || *done.Purged != 1 || *done.Held != 1 || !done.ScheduledAt.Equal(now) {
				t.Errorf("event_log's purge entry: %s", entries[2].Data)
			}
			wantChainOK(t, s)
		})
	}
}
