package archive_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/policy"
	storeembedded "github.com/wecomply/wecomply/store/embedded"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// The puller's tests run the real parts: the fake archive of wecomtest
// (RSA + its own symmetric scheme, key versions, faults, gaps,
// duplicates, the horizon), the embedded archive backend and the
// embedded main store (people, consents, audit log), each on a temp file.

// start is where the tests' clocks stand.
var start = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

// rsaKeys are two archive key pairs shared by the tests (2048-bit keys
// take a while to make).
var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var ks []*rsa.PrivateKey
	for range 3 {
		k, err := wecomtest.GenerateArchiveKey()
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return ks, nil
})

type alertLog struct {
	mu     sync.Mutex
	alerts []string // "kind: detail"
}

func (a *alertLog) Alert(_ context.Context, kind, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.alerts = append(a.alerts, kind+": "+detail)
}

func (a *alertLog) count(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, s := range a.alerts {
		if strings.HasPrefix(s, kind+": ") {
			n++
		}
	}
	return n
}

type env struct {
	t      *testing.T
	clock  *testclock.Clock
	srv    *wecomtest.ArchiveServer
	keys   []*rsa.PrivateKey
	store  archive.Store
	back   backend
	place  string // the store's file or DSN
	main   *storeembedded.Store
	crypt  *archive.Keys
	index  archive.IndexKey
	puller *archive.Puller
	arch   *archive.Archive
	alerts *alertLog
	mu     sync.Mutex // guards sleeps (decrypts run concurrently)
	sleeps []time.Duration
	n      int // msgids made
}

func masterKey(t *testing.T, id string, b byte) archive.MasterKey {
	t.Helper()
	m, err := archive.NewMasterKey(id, bytes.Repeat([]byte{b}, archive.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// agreeAll permits every internal party of the records ids and agrees
// every pair with an external one.
func (e *env) agreeAll(ids []string) {
	e.t.Helper()
	for _, id := range ids {
		plain, _ := e.srv.Plaintext(id)
		cm, err := wecom.DecodeChatMessage(plain)
		if err != nil {
			e.t.Fatal(err)
		}
		var internal, external []string
		for _, p := range append([]string{cm.From, cm.SwitchUser}, cm.ToList...) {
			switch {
			case p == "":
			case wecom.IsExternalID(p):
				external = append(external, p)
			default:
				internal = append(internal, p)
			}
		}
		e.permit(internal...)
		for _, u := range internal {
			for _, x := range external {
				e.consent(u, x, policy.ConsentAgreed, "msg_audit_approved")
			}
		}
	}
}

// newEnv makes a fake archive with key version 1 current, a source that
// holds the private keys of the versions given, and a puller over fresh
// stores, the archive's embedded.
func newEnv(t *testing.T, versions ...uint32) *env {
	t.Helper()
	return newEnvOn(t, backends[0], versions...)
}

// newEnvOn is newEnv with the archive on backend b.
func newEnvOn(t *testing.T, b backend, versions ...uint32) *env {
	t.Helper()
	ks, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: testclock.Frozen(start), keys: ks, alerts: &alertLog{}, back: b}
	e.srv = wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 7, Now: e.clock.Now})
	for _, k := range ks {
		e.srv.UploadPublicKey(&k.PublicKey)
	}
	if err := e.srv.UseKeyVersion(1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e.place = b.place(t)
	e.store, err = b.open(context.Background(), e.place, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.main, err = storeembedded.Open(filepath.Join(dir, "main.db"), storeembedded.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.main.Close() })
	e.crypt, err = archive.NewKeys(e.store, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.index, err = archive.NewIndexKey(bytes.Repeat([]byte{9}, archive.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.puller = &archive.Puller{
		Source: e.source(versions...),
		Store:  e.store,
		Keys:   e.crypt,
		Index:  e.index,
		Ledger: &archive.StoreLedger{Main: e.main, Archive: e.store},
		Alerts: e.alerts,
		Log:    slog.New(slog.DiscardHandler),
		Clock:  e.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.sleeps = append(e.sleeps, d)
			return ctx.Err()
		},
	}
	e.arch = &archive.Archive{Store: e.store, Keys: e.crypt, Index: e.index,
		Audit: archive.StoreAuditor{Audit: e.main}, Clock: e.clock.Now}
	return e
}

// source is a client of the fake holding the private keys of versions
// (1 and 2 if none are given).
func (e *env) source(versions ...uint32) wecom.ArchiveSource {
	if len(versions) == 0 {
		versions = []uint32{1, 2}
	}
	ring := map[uint32]*rsa.PrivateKey{}
	for _, v := range versions {
		ring[v] = e.keys[v-1]
	}
	return wecomtest.NewArchiveSource(e.srv, "", ring)
}

func (e *env) permit(users ...string) {
	e.t.Helper()
	for _, u := range users {
		if err := e.main.PutPerson(context.Background(), policy.Person{UserID: u, InPermitList: true, Active: true}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) consent(user, ext string, s policy.ConsentStatus, source string) {
	e.t.Helper()
	if err := e.main.PutConsent(context.Background(), policy.Consent{UserID: user, ExternalUserID: ext, Status: s, Source: source, ChangedAt: start.Add(-time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
}

// text adds a text message and returns its msgid.
func (e *env) text(from string, to []string, room, content string) string {
	e.t.Helper()
	e.n++
	id := fmt.Sprintf("%d_%d", 1000+e.n, e.clock.Now().UnixMilli())
	if room == "" && slices.ContainsFunc(append([]string{from}, to...), wecom.IsExternalID) {
		id += "_external"
	}
	msg := map[string]any{"msgid": id, "action": "send", "from": from, "tolist": to, "roomid": room,
		"msgtime": e.clock.Now().UnixMilli(), "msgtype": "text", "text": map[string]any{"content": content}}
	if _, err := e.srv.Add(msg); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) add(msg map[string]any) string {
	e.t.Helper()
	if _, err := e.srv.Add(msg); err != nil {
		e.t.Fatal(err)
	}
	return msg["msgid"].(string)
}

// pullAll pulls until caught up and returns the sum of the results.
func (e *env) pullAll() archive.PullResult {
	e.t.Helper()
	var sum archive.PullResult
	for range 1000 {
		r, err := e.puller.PullOnce(context.Background())
		if err != nil {
			e.t.Fatalf("PullOnce: %v", err)
		}
		sum.Records += r.Records
		sum.Stored += r.Stored
		sum.Duplicates += r.Duplicates
		sum.Withheld += r.Withheld
		sum.Quarantined += r.Quarantined
		sum.Gaps = append(sum.Gaps, r.Gaps...)
		sum.To = r.To
		if r.CaughtUp {
			return sum
		}
	}
	e.t.Fatal("never caught up")
	return sum
}

func (e *env) get(id string) archive.Message {
	e.t.Helper()
	m, err := e.store.GetMessage(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetMessage(%s): %v", id, err)
	}
	return m
}

func (e *env) open(id string) string {
	e.t.Helper()
	plain, err := e.crypt.Open(context.Background(), e.get(id))
	if err != nil {
		e.t.Fatalf("open %s: %v", id, err)
	}
	return string(plain)
}

func (e *env) cursor() uint64 {
	e.t.Helper()
	c, err := e.store.Cursor(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func lastSeq(srv *wecomtest.ArchiveServer) uint64 {
	recs := srv.Records()
	return recs[len(recs)-1].Seq
}

// A batch of every documented shape is stored, each msgid once, the
// kept ones opening to the fake's plaintext, over several pages.
func TestPullEveryShape(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		ids, err := e.srv.Generate(len(wecomtest.ArchiveKinds()) + 40)
		if err != nil {
			t.Fatal(err)
		}
		// Everyone internal is permitted and every pair agreed, so that what
		// is withheld is only what the ledger cannot answer (groups with
		// customers and no agree record).
		e.agreeAll(ids)
		e.puller.Limit = 7
		sum := e.pullAll()
		if sum.Quarantined != 0 {
			t.Fatalf("quarantined %d, want 0", sum.Quarantined)
		}
		if got, want := e.cursor(), lastSeq(e.srv); got != want {
			t.Errorf("cursor %d, want %d", got, want)
		}
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		st, err := e.store.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages != int64(len(distinct)) {
			t.Errorf("stored %d messages, want %d (one per msgid)", st.Messages, len(distinct))
		}
		kept := 0
		for id := range distinct {
			m := e.get(id)
			plain, _ := e.srv.Plaintext(id)
			want, _ := wecom.DecodeChatMessage(plain)
			if m.Type != want.Type || m.Action != want.Action {
				t.Errorf("%s: type %q action %q, want %q %q", id, m.Type, m.Action, want.Type, want.Action)
			}
			if m.Withheld != "" {
				if len(m.Content) != 0 || len(m.Tokens) != 0 {
					t.Errorf("%s: withheld %s but content or tokens kept", id, m.Withheld)
				}
				continue
			}
			kept++
			got, err := wecom.DecodeChatMessage([]byte(e.open(id)))
			if err != nil {
				t.Fatalf("%s: stored content does not decode: %v", id, err)
			}
			if got.Text != want.Text || got.MsgID != want.MsgID {
				t.Errorf("%s: opened text %q, want %q", id, got.Text, want.Text)
			}
			if want.Text != "" && len(m.Tokens) == 0 {
				t.Errorf("%s: text but no tokens", id)
			}
			if want.Action == wecom.ActionRecall && m.PreMsgID == "" {
				t.Errorf("%s: recall without pre_msgid", id)
			}
		}
		if kept == 0 {
			t.Fatal("nothing kept")
		}
		t.Logf("%d records, %d messages, %d kept, %d withheld, %d pages", len(ids), len(distinct), kept, sum.Withheld, len(ids)/7+1)
	})
}

// Key rotation mid-stream: versions 1 and 2 interleaved all decrypt; a
// version with no key quarantines and alerts without holding the cursor
// back, and RetryQuarantine resolves all once the key is there.
func TestKeyRotationMidStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b, 1, 2)
		e.permit("zhangsan", "lisi")
		var ids []string
		for i, v := range []uint32{1, 2, 1, 2, 2, 1} {
			if err := e.srv.UseKeyVersion(v); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.text("zhangsan", []string{"lisi"}, "", fmt.Sprintf("rotation %d v%d", i, v)))
		}
		if err := e.srv.UseKeyVersion(3); err != nil { // no private key for 3 yet
			t.Fatal(err)
		}
		var missing []string
		for i := range 3 {
			missing = append(missing, e.text("lisi", []string{"zhangsan"}, "", fmt.Sprintf("missing key %d", i)))
		}
		if err := e.srv.UseKeyVersion(2); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.text("zhangsan", []string{"lisi"}, "", "after the missing ones"))

		sum := e.pullAll()
		if sum.Quarantined != 3 {
			t.Fatalf("quarantined %d, want 3", sum.Quarantined)
		}
		if got := e.alerts.count(archive.AlertQuarantine); got != 1 {
			t.Errorf("%d quarantine alerts, want 1 for the page", got)
		} else if a := e.alerts.alerts[0]; !strings.Contains(a, "3 records") || !strings.Contains(a, missing[0]) || !strings.Contains(a, "publickey_ver 3") {
			t.Errorf("alert %q", a)
		}
		if got, want := e.cursor(), lastSeq(e.srv); got != want {
			t.Errorf("cursor %d, want %d: quarantine must not hold it back", got, want)
		}
		for i, id := range ids[:6] {
			if got, want := e.open(id), fmt.Sprintf("rotation %d", i); !strings.Contains(got, want) {
				t.Errorf("%s (v%d): content %q, want %q", id, e.get(id).PublicKeyVer, got, want)
			}
		}
		q, _, err := e.store.ListQuarantine(context.Background(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range q {
			if !strings.HasPrefix(it.Reason, archive.ReasonNoKey) || it.Record.PublicKeyVer != 3 {
				t.Errorf("quarantined %s: reason %q ver %d", it.Record.MsgID, it.Reason, it.Record.PublicKeyVer)
			}
		}

		// Without the key a retry resolves nothing and counts the attempt.
		if res, rem, err := e.puller.RetryQuarantine(context.Background()); err != nil || res != 0 || rem != 3 {
			t.Fatalf("RetryQuarantine without the key = %d, %d, %v; want 0, 3", res, rem, err)
		}
		q, _, _ = e.store.ListQuarantine(context.Background(), "", 10)
		if len(q) != 3 || q[0].Attempts < 2 {
			t.Fatalf("quarantine after a failed retry: %+v", q)
		}

		// The key of version 3 is added: all resolve.
		e.puller.Source = e.source(1, 2, 3)
		res, rem, err := e.puller.RetryQuarantine(context.Background())
		if err != nil || res != 3 || rem != 0 {
			t.Fatalf("RetryQuarantine = %d, %d, %v; want 3, 0", res, rem, err)
		}
		for i, id := range missing {
			if got := e.open(id); !strings.Contains(got, fmt.Sprintf("missing key %d", i)) {
				t.Errorf("%s: content %q", id, got)
			}
		}
		if q, _, err = e.store.ListQuarantine(context.Background(), "", 10); err != nil || len(q) != 0 {
			t.Errorf("quarantine not empty: %d, %v", len(q), err)
		}
	})
}

// Temporary SDK errors are retried with growing waits; when they outlast
// the retries, nothing is stored and the cursor stays.
func TestTemporaryErrorsRetried(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan")
	e.text("zhangsan", []string{"lisi"}, "", "one")
	e.text("zhangsan", []string{"lisi"}, "", "two")

	e.srv.FailNext(wecomtest.OpChatData, wecom.SDKErrNetwork, wecom.SDKErrParse, wecom.SDKErrSystem)
	e.srv.FailNext(wecomtest.OpDecrypt, wecom.SDKErrNetwork)
	r, err := e.puller.PullOnce(context.Background())
	if err != nil {
		t.Fatalf("PullOnce: %v", err)
	}
	if r.Stored != 2 {
		t.Fatalf("stored %d, want 2", r.Stored)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second}; !slices.Equal(e.sleeps, want) {
		t.Errorf("waits %v, want %v", e.sleeps, want)
	}

	e.text("zhangsan", []string{"lisi"}, "", "three")
	before := e.cursor()
	e.srv.FailNext(wecomtest.OpChatData, slices.Repeat([]int{wecom.SDKErrNetwork}, archive.DefaultRetries)...)
	if _, err := e.puller.PullOnce(context.Background()); err == nil {
		t.Fatal("PullOnce succeeded through more failures than retries")
	}
	if e.cursor() != before {
		t.Fatal("cursor moved on a failed pull")
	}
	// A decrypt that keeps failing temporarily stops the pull too.
	e.srv.FailNext(wecomtest.OpDecrypt, slices.Repeat([]int{wecom.SDKErrSystem}, archive.DefaultRetries)...)
	if _, err := e.puller.PullOnce(context.Background()); err == nil {
		t.Fatal("PullOnce succeeded though a record could not be decrypted for now")
	}
	if e.cursor() != before {
		t.Fatal("cursor moved on a failed pull")
	}
	if r := e.pullAll(); r.Stored != 1 {
		t.Fatalf("stored %d after the errors passed, want 1", r.Stored)
	}
}

func TestTerminalErrorsAlert(t *testing.T) {
	for _, tt := range []struct {
		code int
		kind string
	}{
		{wecom.SDKErrIPNotAllowed, archive.AlertIPNotAllowed},
		{wecom.SDKErrExpired, archive.AlertExpired},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			e := newEnv(t)
			e.text("zhangsan", []string{"lisi"}, "", "x")
			e.srv.FailNext(wecomtest.OpChatData, tt.code)
			_, err := e.puller.PullOnce(context.Background())
			var se *wecom.SDKError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("err = %v, want SDK code %d", err, tt.code)
			}
			if e.alerts.count(tt.kind) != 1 {
				t.Errorf("alerts %v, want one %s", e.alerts.alerts, tt.kind)
			}
			if len(e.sleeps) != 0 {
				t.Errorf("retried a terminal error: %v", e.sleeps)
			}
			if e.cursor() != 0 {
				t.Error("cursor moved")
			}
		})
	}
}

// A jump in seq is reported, alerted and kept for the status.
func TestGapReported(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		e.text("a", []string{"b"}, "", "1")
		e.text("a", []string{"b"}, "", "2")
		e.srv.SkipSeqs(5)
		e.text("a", []string{"b"}, "", "3")
		sum := e.pullAll()
		if len(sum.Gaps) != 1 || sum.Gaps[0].After != 2 || sum.Gaps[0].Before != 8 {
			t.Fatalf("gaps %+v, want one after 2 before 8", sum.Gaps)
		}
		if e.alerts.count(archive.AlertGap) != 1 {
			t.Errorf("alerts %v", e.alerts.alerts)
		}
		st, err := e.puller.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Gaps != 1 || len(st.GapList) != 1 {
			t.Errorf("status gaps %d %v", st.Gaps, st.GapList)
		}
	})
}

// A msgid served twice (in one page, across pages) is stored once.
func TestDuplicatesStoredOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		e.permit("zhangsan")
		a := e.text("zhangsan", []string{"lisi"}, "", "a")
		e.text("zhangsan", []string{"lisi"}, "", "b")
		if _, err := e.srv.Duplicate(a); err != nil {
			t.Fatal(err)
		}
		r := e.pullAll()
		if r.Stored != 2 || r.Duplicates != 1 {
			t.Fatalf("stored %d duplicates %d, want 2 and 1", r.Stored, r.Duplicates)
		}
		if _, err := e.srv.Duplicate(a); err != nil { // in a later page
			t.Fatal(err)
		}
		r = e.pullAll()
		if r.Stored != 0 || r.Duplicates != 1 {
			t.Fatalf("second pull stored %d duplicates %d, want 0 and 1", r.Stored, r.Duplicates)
		}
		distinct := map[string]bool{}
		for _, rec := range e.srv.Records() {
			distinct[rec.MsgID] = true
		}
		st, _ := e.store.Stats(context.Background())
		if st.Messages != int64(len(distinct)) {
			t.Errorf("stored %d messages, the fake has %d msgids", st.Messages, len(distinct))
		}
	})
}

// A record that is not a message is quarantined, not skipped, and does
// not hold the cursor back.
func TestUndecodableQuarantined(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		if _, err := e.srv.AddRaw("broken_1", []byte("not json at all")); err != nil {
			t.Fatal(err)
		}
		e.text("a", []string{"b"}, "", "fine")
		r := e.pullAll()
		if r.Quarantined != 1 || r.Stored != 1 {
			t.Fatalf("quarantined %d stored %d", r.Quarantined, r.Stored)
		}
		q, _, _ := e.store.ListQuarantine(context.Background(), "", 10)
		if len(q) != 1 || !strings.HasPrefix(q[0].Reason, archive.ReasonUndecodable) || strings.Contains(q[0].Reason, "not json") {
			t.Fatalf("quarantine %+v", q)
		}
		if e.cursor() != lastSeq(e.srv) {
			t.Error("cursor held back")
		}
	})
}

// Consent, on both backends: a disagreed conversation's content is never
// written — the marker is nowhere in the archive file, nor in any column
// of any table of the PostgreSQL database — and an agreed one's is
// written only encrypted: not in the clear either, but it opens.
func TestConsentContentNeverWritten(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		e.permit("zhangsan")
		e.consent("zhangsan", "wmNO", policy.ConsentDisagreed, "check_single_agree")
		e.consent("zhangsan", "wmYES", policy.ConsentAgreed, "msg_audit_approved")
		const no, yes, stream = "MARKER-DISAGREED-7f3a", "MARKER-AGREED-19bc", "MARKER-STREAM-DISAGREE-55e1"
		noID := e.text("wmNO", []string{"zhangsan"}, "", "my secret "+no)
		yesID := e.text("zhangsan", []string{"wmYES"}, "", "hello "+yes)
		// wmLATE agrees in the main store, then disagrees in the stream: the
		// record wins for the messages after it.
		e.consent("zhangsan", "wmLATE", policy.ConsentAgreed, "msg_audit_approved")
		e.add(map[string]any{"msgid": "dis_1_external", "action": "send", "from": "wmLATE", "tolist": []string{"zhangsan"},
			"msgtime": start.UnixMilli(), "msgtype": "disagree", "disagree": map[string]any{"userid": "wmLATE", "disagree_time": start.UnixMilli()}})
		lateID := e.text("wmLATE", []string{"zhangsan"}, "", stream)
		unknownID := e.text("wmWHO", []string{"zhangsan"}, "", "unknown customer MARKER-UNKNOWN-0a0a")

		e.pullAll()
		checks := []struct {
			id, withheld, consent string
		}{
			{noID, archive.WithheldNoConsent, "disagreed:check_single_agree"},
			{yesID, "", "agreed:msg_audit_approved"},
			{"dis_1_external", "", "disagreed:stream"},
			{lateID, archive.WithheldNoConsent, "disagreed:stream"},
			{unknownID, archive.WithheldNoConsent, "unknown"},
		}
		for _, c := range checks {
			m := e.get(c.id)
			if m.Withheld != c.withheld || m.Consent != c.consent {
				t.Errorf("%s: withheld %q consent %q, want %q %q", c.id, m.Withheld, m.Consent, c.withheld, c.consent)
			}
			if m.Withheld != "" && (len(m.Content) > 0 || len(m.Tokens) > 0 || m.From == "" || m.Time.IsZero() || m.Type != "text") {
				t.Errorf("%s: withheld message keeps %d content bytes, %d tokens, facts %q %v %q", c.id, len(m.Content), len(m.Tokens), m.From, m.Time, m.Type)
			}
		}
		// A later batch still sees the stream's disagreement (StoreLedger
		// reads the stored record).
		late2 := e.text("zhangsan", []string{"wmLATE"}, "", "again "+stream)
		e.pullAll()
		if m := e.get(late2); m.Withheld != archive.WithheldNoConsent || m.Consent != "disagreed:stream" {
			t.Errorf("later batch: withheld %q consent %q", m.Withheld, m.Consent)
		}

		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		// The agreed content opens from the reopened store.
		s, err := e.back.open(context.Background(), e.place, e.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		k, err := archive.NewKeys(s, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.GetMessage(context.Background(), yesID)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := k.Open(context.Background(), m)
		if err != nil || !bytes.Contains(plain, []byte(yes)) {
			t.Fatalf("agreed content: %q, %v", plain, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		// No marker is anywhere in the clear. The scan can fail: it finds
		// a fact kept in the clear (the customer's id) and a string
		// planted in the clear beside the store (a bytea column of a table
		// of its own in PostgreSQL; bytes appended to the file).
		const planted = "PLANTED-CLEARTEXT-3c3c"
		e.back.plant(t, e.place, planted)
		found := e.back.find(t, e.place, no, yes, stream, "MARKER-UNKNOWN", "MARKER", "wmNO", planted)
		for _, marker := range []string{no, yes, stream, "MARKER-UNKNOWN", "MARKER"} {
			if where := found[marker]; len(where) > 0 {
				t.Errorf("the %s archive holds %q in the clear at %v", b.name, marker, where)
			}
		}
		for _, control := range []string{"wmNO", planted} {
			if len(found[control]) == 0 {
				t.Errorf("the scan of the %s archive does not find %q, which is there in the clear", b.name, control)
			}
		}
	})
}

// The 5-day horizon: a lag past the configured fraction alerts once; a
// caught-up pull has no lag.
func TestHorizonAlert(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.text("a", []string{"b"}, "", "old")
	}
	e.clock.Advance(3 * 24 * time.Hour) // past 0.5 × 5 days
	e.puller.Limit = 2
	r, err := e.puller.PullOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.CaughtUp || r.Lag != 3*24*time.Hour {
		t.Fatalf("lag %v caught up %v, want 72h and not caught up", r.Lag, r.CaughtUp)
	}
	if e.alerts.count(archive.AlertHorizon) != 1 {
		t.Fatalf("alerts %v", e.alerts.alerts)
	}
	st, err := e.puller.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Lag != 3*24*time.Hour || st.HorizonUsed != 0.6 {
		t.Errorf("status lag %v used %v", st.Lag, st.HorizonUsed)
	}
	if _, err := e.puller.PullOnce(context.Background()); err != nil { // still behind: no second alert
		t.Fatal(err)
	}
	if e.alerts.count(archive.AlertHorizon) != 1 {
		t.Errorf("alerted again: %v", e.alerts.alerts)
	}
	if r := e.pullAll(); r.Lag != 0 {
		t.Errorf("caught up with lag %v", r.Lag)
	}
	if st, _ := e.puller.Status(context.Background()); st.Lag != 0 || !st.CaughtUp || st.Totals.Stored != 5 || st.Cursor != 5 {
		t.Errorf("status after catching up: %+v", st)
	}
}

// Run pulls at a wake and stops with its context; wakes never block.
func TestRunWakes(t *testing.T) {
	e := newEnv(t)
	e.puller.Interval = time.Hour
	for range 100 {
		e.puller.Wake() // coalesced, never blocks
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.puller.Run(ctx) }()
	e.text("a", []string{"b"}, "", "woken")
	want := lastSeq(e.srv)
	for e.cursor() != want {
		e.puller.Wake()
		select {
		case err := <-done:
			t.Fatalf("Run returned %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

// 10008 is retried once, then the record is quarantined; 10002 halves
// the page.
func TestDecryptKeyErrorAndParseError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		e.permit("zhangsan")
		for range 10 {
			e.text("zhangsan", []string{"lisi"}, "", "x")
		}
		e.puller.Limit = 4
		e.srv.FailNext(wecomtest.OpChatData, wecom.SDKErrParse)
		e.srv.FailNext(wecomtest.OpDecrypt, wecom.SDKErrDecryptKey, wecom.SDKErrDecryptKey, wecom.SDKErrDecryptKey)
		r, err := e.puller.PullOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The first record fails twice (quarantined), the second once (kept).
		if r.Records != 2 || r.Quarantined != 1 || r.Stored != 1 || r.CaughtUp {
			t.Fatalf("after 10002: %+v, want a page of 2 (half of 4), 1 quarantined, 1 stored", r)
		}
		q, _, _ := e.store.ListQuarantine(context.Background(), "", 10)
		if len(q) != 1 || !strings.HasPrefix(q[0].Reason, archive.ReasonDecrypt) {
			t.Fatalf("quarantine %+v", q)
		}
		// The page grows back after pages that succeed.
		r, _ = e.puller.PullOnce(context.Background())
		if r.Records != 4 {
			t.Errorf("next page %d records, want 4", r.Records)
		}
	})
}

// A recall is stored as its own message naming the original, which
// stays; a switch record is kept as an event.
func TestRecallAndSwitch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		e.permit("zhangsan")
		orig := e.text("zhangsan", []string{"lisi"}, "", "oops")
		e.add(map[string]any{"msgid": "recall_1", "action": "recall", "from": "zhangsan", "tolist": []string{"lisi"},
			"roomid": "", "msgtime": start.UnixMilli(), "msgtype": "revoke", "revoke": map[string]any{"pre_msgid": orig}})
		e.add(map[string]any{"msgid": "125289002219525886280", "action": "switch", "time": start.UnixMilli(), "user": "zhangsan"})
		e.pullAll()
		if m := e.get(orig); m.RecalledBy != "recall_1" || !strings.Contains(e.open(orig), "oops") {
			t.Errorf("original: recalled by %q", m.RecalledBy)
		}
		if m := e.get("recall_1"); m.PreMsgID != orig || m.Action != wecom.ActionRecall || m.Withheld != "" {
			t.Errorf("recall %+v", m)
		}
		sw := e.get("125289002219525886280")
		if sw.Action != wecom.ActionSwitch || sw.From != "zhangsan" || sw.Conversation != "switch:zhangsan" || sw.Consent != archive.ConsentEvent || !sw.Time.Equal(start) {
			t.Errorf("switch %+v", sw)
		}
	})
}

// Neither logs nor alerts nor errors carry chat content.
func TestNoPlaintextInLogsOrAlerts(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.puller.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const marker = "MARKER-LOG-4c4c"
	e.permit("zhangsan")
	e.text("zhangsan", []string{"lisi"}, "", marker)
	if _, err := e.srv.AddRaw("broken_2", []byte(`{"msgid":`+marker)); err != nil {
		t.Fatal(err)
	}
	e.srv.SkipSeqs(3)
	e.text("zhangsan", []string{"wmX"}, "", marker)
	e.pullAll()
	e.srv.FailNext(wecomtest.OpChatData, wecom.SDKErrIPNotAllowed)
	_, err := e.puller.PullOnce(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
	all := logs.String() + strings.Join(e.alerts.alerts, "\n") + err.Error()
	if strings.Contains(all, marker) {
		t.Errorf("chat content in logs or alerts:\n%s", all)
	}
	if e.alerts.count(archive.AlertQuarantine) != 1 || e.alerts.count(archive.AlertGap) != 1 {
		t.Errorf("alerts %v", e.alerts.alerts)
	}
}

// Records that expired at WeCom before they were pulled (10010 for the
// cursor) are recorded as a gap and the puller goes on from the oldest
// record WeCom still keeps, rather than failing forever.
func TestExpiredRecordsBecomeAGap(t *testing.T) {
	e := newEnv(t)
	e.srv = wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 7, Now: e.clock.Now, StaleSeq: wecomtest.StaleSeqExpired})
	e.srv.UploadPublicKey(&e.keys[0].PublicKey)
	e.puller.Source = e.source(1)
	e.permit("zhangsan")
	for range 3 {
		e.text("zhangsan", []string{"lisi"}, "", "pulled")
	}
	e.pullAll()
	lost := []string{e.text("zhangsan", []string{"lisi"}, "", "lost"), e.text("zhangsan", []string{"lisi"}, "", "lost")}
	e.clock.Advance(6 * 24 * time.Hour)
	kept := []string{e.text("zhangsan", []string{"lisi"}, "", "new"), e.text("zhangsan", []string{"lisi"}, "", "new")}

	r, err := e.puller.PullOnce(context.Background())
	if err != nil {
		t.Fatalf("PullOnce: %v", err)
	}
	if len(r.Gaps) != 1 || r.Gaps[0].After != 3 || r.Gaps[0].Before != 6 || r.To != 5 {
		t.Fatalf("result %+v, want a gap after 3 before 6 and the cursor at 5", r)
	}
	if e.alerts.count(archive.AlertExpired) != 1 || e.alerts.count(archive.AlertGap) != 1 {
		t.Errorf("alerts %v", e.alerts.alerts)
	}
	e.pullAll()
	for _, id := range kept {
		e.get(id)
	}
	for _, id := range lost {
		if _, err := e.store.GetMessage(context.Background(), id); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("%s: %v", id, err)
		}
	}
	if e.cursor() != 7 {
		t.Errorf("cursor %d, want 7", e.cursor())
	}
}

// When WeCom serves from the oldest record it keeps instead (the other
// documented behaviour), the jump is a gap of the same page.
func TestExpiredRecordsSkippedByWeComAreAGap(t *testing.T) {
	e := newEnv(t) // StaleSeqRestart
	e.permit("zhangsan")
	for range 3 {
		e.text("zhangsan", []string{"lisi"}, "", "pulled")
	}
	e.pullAll()
	e.text("zhangsan", []string{"lisi"}, "", "lost")
	e.text("zhangsan", []string{"lisi"}, "", "lost")
	e.clock.Advance(6 * 24 * time.Hour)
	e.text("zhangsan", []string{"lisi"}, "", "new")
	e.text("zhangsan", []string{"lisi"}, "", "new")
	r := e.pullAll()
	if len(r.Gaps) != 1 || r.Gaps[0].After != 3 || r.Gaps[0].Before != 6 || r.Stored != 2 || e.cursor() != 7 {
		t.Fatalf("result %+v cursor %d, want a gap after 3 before 6, 2 stored, cursor 7", r, e.cursor())
	}
	if e.alerts.count(archive.AlertGap) != 1 {
		t.Errorf("alerts %v", e.alerts.alerts)
	}
}
