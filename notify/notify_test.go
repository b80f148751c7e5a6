package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
	"github.com/wecomply/wecomply/worker"
)

const (
	corpID    = "wwnotifytest0001"
	appSecret = "app-secret-for-notify-tests"
	agentID   = 1000002
)

// rig is a notifier on a real embedded store and a real WeCom client,
// talking to the fake WeCom, with a worker pool to run its jobs.
type rig struct {
	t      *testing.T
	clock  *testclock.Clock // shared by the fake WeCom, the store and the notifier
	fake   *wecomtest.Server
	st     *embedded.Store
	client *wecom.Client
	n      *Notifier
	users  []string
}

type rigOption func(*Config, *wecomtest.ServerConfig)

func newRig(t *testing.T, users int, opts ...rigOption) *rig {
	t.Helper()
	c := testclock.New(t)
	fcfg := wecomtest.ServerConfig{CorpID: corpID, Now: c.Now,
		Apps: map[string]wecomtest.AppConfig{"app": {Secret: appSecret, AgentID: agentID}}}
	ncfg := Config{
		MemberWindows: []store.RateWindow{{Period: time.Minute, Limit: 30}, {Period: time.Hour, Limit: 1000}},
		WindowWait:    100 * time.Millisecond,
		Now:           c.Now,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&ncfg, &fcfg)
	}
	fake := wecomtest.NewTestServer(t, fcfg)
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "示例科技"})
	r := &rig{t: t, clock: c, fake: fake}
	for i := range users {
		u := fmt.Sprintf("user%04d", i)
		fake.AddUser(wecomtest.User{UserID: u, Name: u, Department: []int64{1}})
		r.users = append(r.users, u)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{
		Queue: store.QueueOptions{Lease: 5 * time.Second, MaxAttempts: 10}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := wecom.NewClient(wecom.ClientConfig{CorpID: corpID, AgentID: agentID,
		Secrets: map[string]string{wecom.AppMessages: appSecret}, BaseURL: fake.URL,
		HTTPClient: &http.Client{Timeout: 500 * time.Millisecond}, Tokens: st, Holder: "test", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(st, client, tmpl, ncfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r.st, r.client, r.n = st, client, n
	return r
}

// run starts a worker pool with the notifier's jobs until the test ends.
func (r *rig) run() {
	r.t.Helper()
	mux := worker.NewMux(worker.ProcessorFunc(func(context.Context, store.Delivery, wecom.Event) error { return nil }))
	mux.HandleJobs(r.n.Jobs())
	pool, err := worker.New(r.st, mux, worker.Config{Count: 8, Batch: 4, Backoff: 20 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond, ClaimWait: 50 * time.Millisecond, EventTimeout: 4 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
}

func ackCard(key string, to []string) Notice {
	return Notice{Key: key, Template: "ack_card", Lang: "zh-CN", To: to, Data: map[string]any{
		"Company": "示例科技", "Title": "会话存档告知", "Version": 3, "Summary": "公司将存档您与客户的企业微信会话。",
		"Due": "2026-12-01", "URL": "https://compliance.example.com/n/3"}}
}

// eventually waits until cond holds, and fails the test if it does not
// within 20 s.
func (r *rig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitResults waits until key has a result for n recipients.
func (r *rig) waitResults(key string, n int, within time.Duration) []store.RecipientResult {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		rs, err := r.st.ListSendResults(context.Background(), key)
		if err != nil {
			r.t.Fatal(err)
		}
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d results for %s after %s, want %d", len(rs), key, within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// delivered counts, per user, the messages of a task-id family (a notice)
// in the fake's inboxes.
func (r *rig) delivered(users []string, match func(wecomtest.InboxMessage) bool) map[string]int {
	out := map[string]int{}
	for _, u := range users {
		for _, m := range r.fake.Inbox(u) {
			if match(m) {
				out[u]++
			}
		}
	}
	return out
}

func isCard(m wecomtest.InboxMessage) bool { return m.MsgType == "template_card" }

func TestDeliversACardOnceToEachRecipient(t *testing.T) {
	r := newRig(t, 3)
	r.run()
	got, err := r.n.Submit(context.Background(), ackCard("archive-notice:v3", r.users))
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipients != 3 || got.Skipped != 0 || got.ContentHash == "" {
		t.Fatalf("Submit = %+v", got)
	}
	rs := r.waitResults("archive-notice:v3", 3, 10*time.Second)
	for _, res := range rs {
		if res.Status != store.StatusSent || res.MsgID == "" || res.ResponseCode == "" || res.ContentHash != got.ContentHash {
			t.Errorf("result %+v", res)
		}
	}
	for u, n := range r.delivered(r.users, isCard) {
		if n != 1 {
			t.Errorf("%s got %d cards, want 1", u, n)
		}
	}
	card := r.fake.Inbox("user0000")[0]
	if card.CardType != "button_interaction" || card.TaskID == "" {
		t.Errorf("card %+v", card)
	}
	// The button a click answers.
	click, err := r.fake.Click("user0000", card.MsgID, AckKey)
	if err != nil || click.TaskID != card.TaskID || click.EventKey != AckKey {
		t.Errorf("click: %+v, %v", click, err)
	}

	// The same notice again: nobody gets it twice.
	again, err := r.n.Submit(context.Background(), ackCard("archive-notice:v3", r.users))
	if err != nil || again.Recipients != 0 || again.Skipped != 3 {
		t.Errorf("resubmit = %+v, %v; want all 3 skipped", again, err)
	}
	// A new version is a new notice.
	v4 := ackCard("archive-notice:v4", r.users)
	v4.Data.(map[string]any)["Version"] = 4
	if got, err := r.n.Submit(context.Background(), v4); err != nil || got.Recipients != 3 {
		t.Errorf("v4 = %+v, %v", got, err)
	}
	r.waitResults("archive-notice:v4", 3, 10*time.Second)
	// One send a person and version: a button card goes out in sends of
	// CardBatch (default 1) so that each card has its own response_code.
	if n := r.fake.CountRequests("message/send"); n != 6 {
		t.Errorf("%d message/send calls, want 6 (3 people × 2 versions)", n)
	}
}

// TestOneRecipientNoticeIsClaimedLikeAPlan: a notice to one person is
// sent without a plan job, yet two submissions of one notice that both
// name someone (one planned, one not) still send to them once: whichever
// runs first claims them.
func TestOneRecipientNoticeIsClaimedLikeAPlan(t *testing.T) {
	r := newRig(t, 2)
	ctx := context.Background()
	// Both queued before any worker runs: the plan of the two and the
	// lone send both name user0000.
	if got, err := r.n.Submit(ctx, ackCard("overlap:v1", r.users)); err != nil || got.Recipients != 2 {
		t.Fatalf("Submit to both = %+v, %v", got, err)
	}
	if got, err := r.n.Submit(ctx, ackCard("overlap:v1", r.users[:1])); err != nil || got.Recipients != 1 || got.Duplicate {
		t.Fatalf("Submit to one = %+v, %v", got, err)
	}
	// The lone send is in the queue as a send, with no plan job of its own.
	kinds := map[string]int{}
	ds, err := r.st.Claim(ctx, "inspect", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		kinds[d.Kind]++
		if err := r.st.Release(ctx, d.Receipt); err != nil {
			t.Fatal(err)
		}
	}
	if kinds[KindPlan] != 1 || kinds[KindSend] != 1 {
		t.Fatalf("queued %v, want one plan and one send", kinds)
	}
	r.run()
	r.waitResults("overlap:v1", 2, 10*time.Second)
	r.eventually("the queue drained", func() bool {
		st, err := r.st.QueueStats(ctx)
		return err == nil && st.Ready == 0 && st.Leased == 0
	})
	got := r.delivered(r.users, isCard)
	for _, u := range r.users {
		if got[u] != 1 {
			t.Errorf("%s got %d cards, want 1", u, got[u])
		}
	}
}

// TestUncountedNoticeIsSentOnce: a one-person notice whose Submit leaves
// the check for who got it to the send (Uncounted) is not sent again when
// submitted again after the queue forgot it (past the dedup TTL and
// WeCom's duplicate check): the send finds the result.
func TestUncountedNoticeIsSentOnce(t *testing.T) {
	r := newRig(t, 1)
	r.run()
	ctx := context.Background()
	n := ackCard("uncounted:v1", r.users)
	n.Uncounted = true
	if got, err := r.n.Submit(ctx, n); err != nil || got.Recipients != 1 {
		t.Fatalf("Submit = %+v, %v", got, err)
	}
	r.waitResults("uncounted:v1", 1, 10*time.Second)
	r.clock.Advance(25 * time.Hour)
	if got, err := r.n.Submit(ctx, n); err != nil || got.Duplicate {
		t.Fatalf("Submit again = %+v, %v; want a new send job", got, err)
	}
	r.eventually("the queue drained", func() bool {
		st, err := r.st.QueueStats(ctx)
		return err == nil && st.Ready == 0 && st.Leased == 0
	})
	if n := r.delivered(r.users, isCard)["user0000"]; n != 1 {
		t.Errorf("user0000 got %d cards, want 1", n)
	}
	if n := r.fake.CountRequests("message/send"); n != 1 {
		t.Errorf("%d message/send calls, want 1", n)
	}
}

// TestBatchesUpToAThousand: identical content goes out in calls of at
// most 1,000 recipients.
func TestBatchesUpToAThousand(t *testing.T) {
	r := newRig(t, 2500)
	r.run()
	if _, err := r.n.Submit(context.Background(), Notice{Key: "disclosure:v1", Template: "disclosure", Lang: "en", To: r.users,
		Data: map[string]any{"Company": "Example", "Scope": "chats with customers", "Retention": "3 years", "Officer": "Compliance"}}); err != nil {
		t.Fatal(err)
	}
	r.waitResults("disclosure:v1", 2500, 20*time.Second)
	var sizes []int
	for _, req := range r.fake.Requests() {
		if req.Path == "message/send" {
			sizes = append(sizes, countTo(t, req.Body))
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" && fmt.Sprint(sizes) != "[1000 500 1000]" && fmt.Sprint(sizes) != "[500 1000 1000]" {
		t.Errorf("send sizes %v, want two of 1000 and one of 500", sizes)
	}
	for u, n := range r.delivered(r.users, func(m wecomtest.InboxMessage) bool { return m.MsgType == "markdown" }) {
		if n != 1 {
			t.Errorf("%s got %d, want 1", u, n)
		}
	}
}

// TestExactlyOnceUnderFaults: with a fifth of the calls failing in every
// way WeCom fails — busy, frequency limit, expired token, 5xx, timeouts,
// answers lost after delivery — every recipient gets the notice exactly
// once.
func TestExactlyOnceUnderFaults(t *testing.T) {
	r := newRig(t, 300)
	faults := []wecomtest.Fault{}
	for _, f := range []wecomtest.Fault{
		{Errcode: -1}, {Errcode: 45009}, {HTTPStatus: 502}, {Delay: 800 * time.Millisecond}, {AfterProcessing: true, Reset: true},
	} {
		// Each kind once for certain among the first calls, then at random.
		f.Path, f.Times = "message/send", 1
		faults = append(faults, f)
	}
	for _, f := range append(faults, []wecomtest.Fault{
		{Path: "message/send", Errcode: -1, Probability: 0.05},
		{Path: "message/send", Errcode: 45009, Probability: 0.04},
		{Path: "message/send", HTTPStatus: 502, Probability: 0.04},
		{Path: "message/send", Delay: 800 * time.Millisecond, Probability: 0.03}, // beyond the client's timeout
		{Path: "message/send", AfterProcessing: true, Reset: true, Probability: 0.04},
	}...) {
		r.fake.InjectFault(f)
	}
	r.run()
	stopExpiring := make(chan struct{})
	go func() { // tokens expire now and then: 42001
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopExpiring:
				return
			case <-t.C:
				r.fake.ExpireTokens()
			}
		}
	}()
	defer close(stopExpiring)
	// Many small notices, so that many sends meet the faults.
	const notices, each = 150, 2
	for i := range notices {
		to := r.users[i*each : i*each+each]
		if _, err := r.n.Submit(context.Background(), ackCard(fmt.Sprintf("faults:%d", i), to)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range notices {
		rs := r.waitResults(fmt.Sprintf("faults:%d", i), each, 60*time.Second)
		for _, res := range rs {
			if res.Status != store.StatusSent {
				t.Errorf("%s: %s %s", res.UserID, res.Status, res.Error)
			}
		}
	}
	for u, n := range r.delivered(r.users, isCard) {
		if n != 1 {
			t.Errorf("%s got %d cards, want exactly 1", u, n)
		}
	}
	outcomes := map[string]int{}
	sends := 0
	for _, req := range r.fake.Requests() {
		switch {
		case req.Path != "message/send":
			outcomes[req.Path]++
			continue
		case req.Reset:
			outcomes["reset"]++
		case req.Status != http.StatusOK:
			outcomes[fmt.Sprint("http ", req.Status)]++
		case req.Fault && req.Errcode != -1 && req.Errcode != 45009:
			// A delayed call, processed after the client gave up (by then
			// perhaps with an expired token).
			outcomes["delayed"]++
		default:
			outcomes[fmt.Sprint("errcode ", req.Errcode)]++
		}
		sends++
	}
	t.Logf("%d message/send calls for %d sends: %v", sends, notices, outcomes)
	for _, want := range []string{"errcode -1", "errcode 45009", "errcode 42001", "http 502", "delayed", "reset"} {
		if outcomes[want] == 0 {
			t.Errorf("no %s was injected; the test proves less than it says", want)
		}
	}
}

// TestRespectsMemberLimitsBySchedulingNeverByLosing: a member who already
// had 30 messages this minute gets the notice after the window, not never
// (WeCom would drop it silently). A send waits whole: in sends of one
// card each, the other member's goes at once; in one send of both, both
// wait.
func TestRespectsMemberLimitsBySchedulingNeverByLosing(t *testing.T) {
	for _, tc := range []struct {
		cardBatch int
		early     []string // sent within the full minute
	}{
		{cardBatch: 1, early: []string{"user0001"}},
		{cardBatch: MaxRecipients, early: nil},
	} {
		t.Run(fmt.Sprintf("card_batch=%d", tc.cardBatch), func(t *testing.T) {
			respectsMemberLimits(t, tc.cardBatch, tc.early)
		})
	}
}

func respectsMemberLimits(t *testing.T, cardBatch int, early []string) {
	r := newRig(t, 2, func(c *Config, _ *wecomtest.ServerConfig) { c.WindowWait, c.CardBatch = time.Second, cardBatch })
	ctx := context.Background()
	// 30 messages to user0000 through notify, in this minute.
	r.run()
	for i := range 30 {
		if _, err := r.n.Submit(ctx, Notice{Key: fmt.Sprintf("burst:%d", i), Template: "reminder", Lang: "en",
			To: []string{"user0000"}, Data: map[string]any{"Title": "T", "Version": i, "Due": "tomorrow"}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		r.waitResults(fmt.Sprintf("burst:%d", i), 1, 20*time.Second)
	}
	if _, err := r.n.Submit(ctx, ackCard("limited:v1", r.users)); err != nil {
		t.Fatal(err)
	}
	r.eventually("the send postponed for the member limit", func() bool {
		return testutil.ToFloat64(r.n.m.postponed.WithLabelValues("member_limit")) > 0
	})
	// The handler counts the postponement before the worker records it
	// (Postpone, at the clock's now plus the wait): the clock moves on
	// only once nothing is leased — the send postponed, every ack done —
	// or the send would be put off from the advanced time, past the wait.
	r.eventually("the postponement recorded", func() bool {
		st, err := r.st.QueueStats(ctx)
		return err == nil && st.Leased == 0 && st.Ready == 1
	})
	rs, err := r.st.ListSendResults(ctx, "limited:v1")
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, res := range rs {
		sent = append(sent, res.UserID)
	}
	if slices.Sort(sent); !slices.Equal(sent, early) {
		t.Fatalf("sent within the full minute to %v, want %v: %+v", sent, early, rs)
	}
	r.clock.Advance(61 * time.Second)
	rs = r.waitResults("limited:v1", 2, 20*time.Second)
	for _, res := range rs {
		if res.Status != store.StatusSent {
			t.Errorf("%+v", res)
		}
	}
	if d := r.fake.Drops("user0000"); d != 0 {
		t.Errorf("the fake WeCom dropped %d messages to user0000: a limit was not respected", d)
	}
	if n := r.delivered([]string{"user0000"}, isCard)["user0000"]; n != 1 {
		t.Errorf("user0000 has %d cards", n)
	}
}

func TestInvalidRecipientsAreRecorded(t *testing.T) {
	r := newRig(t, 2)
	r.run()
	ctx := context.Background()
	if _, err := r.n.Submit(ctx, ackCard("mixed:v1", []string{"user0000", "ghost"})); err != nil {
		t.Fatal(err)
	}
	byUser := map[string]store.RecipientResult{}
	for _, res := range r.waitResults("mixed:v1", 2, 10*time.Second) {
		byUser[res.UserID] = res
	}
	if byUser["user0000"].Status != store.StatusSent || byUser["ghost"].Status != store.StatusInvalid {
		t.Errorf("results %+v", byUser)
	}
	if _, err := r.n.Submit(ctx, ackCard("ghosts:v1", []string{"ghost1", "ghost2"})); err != nil {
		t.Fatal(err)
	}
	for _, res := range r.waitResults("ghosts:v1", 2, 10*time.Second) { // 81013: all invalid
		if res.Status != store.StatusInvalid {
			t.Errorf("%+v", res)
		}
	}
}

func TestDeadlinePassedIsRecordedAsFailed(t *testing.T) {
	r := newRig(t, 1)
	r.fake.InjectFault(wecomtest.Fault{Path: "message/send", HTTPStatus: 503})
	r.run()
	n := ackCard("late:v1", r.users)
	n.Deadline = r.clock.Now().Add(2 * time.Second)
	if _, err := r.n.Submit(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	rs := r.waitResults("late:v1", 1, 20*time.Second)
	if rs[0].Status != store.StatusFailed || rs[0].Error == "" {
		t.Errorf("result %+v, want failed with the cause", rs[0])
	}
}

func TestSubmitRejectsBadNotices(t *testing.T) {
	r := newRig(t, 1)
	good := ackCard("k:v1", r.users)
	tests := []struct {
		name string
		edit func(*Notice)
		want string
	}{
		{"empty key", func(n *Notice) { n.Key = "" }, "notice key"},
		{"key with a slash", func(n *Notice) { n.Key = "a/b" }, "notice key"},
		{"unknown template", func(n *Notice) { n.Template = "nope" }, `no template "nope"`},
		{"missing value", func(n *Notice) { n.Data = map[string]any{"Company": "x"} }, "map has no entry"},
		{"welcome is not an app message", func(n *Notice) {
			n.Template, n.Data = "welcome", map[string]any{"EmployeeName": "x", "Company": "y"}
		}, "not an app message"},
		{"no recipients", func(n *Notice) { n.To = []string{""} }, "no recipients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := good
			n.Data = good.Data
			tt.edit(&n)
			_, err := r.n.Submit(context.Background(), n)
			var invalid *InvalidError
			if !errors.As(err, &invalid) || !containsText(err, tt.want) {
				t.Errorf("got %v, want an InvalidError with …%s…", err, tt.want)
			}
		})
	}
}

func containsText(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}

// countTo counts the recipients of a message/send body.
func countTo(t *testing.T, body []byte) int {
	t.Helper()
	var b struct {
		ToUser string `json:"touser"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return len(strings.Split(b.ToUser, "|"))
}

// resultReads counts the send results the notifier reads from the store
// (the real one, wrapped).
type resultReads struct {
	Store
	n int
}

func (r *resultReads) ListSendResults(ctx context.Context, noticeKey string) ([]store.RecipientResult, error) {
	rs, err := r.Store.ListSendResults(ctx, noticeKey)
	r.n += len(rs)
	return rs, err
}

func (r *resultReads) GetSendResults(ctx context.Context, noticeKey string, userIDs []string) ([]store.RecipientResult, error) {
	rs, err := r.Store.GetSendResults(ctx, noticeKey, userIDs)
	r.n += len(rs)
	return rs, err
}

func (r *resultReads) SendResult(ctx context.Context, noticeKey, userID string) (store.RecipientResult, error) {
	res, err := r.Store.SendResult(ctx, noticeKey, userID)
	if err == nil {
		r.n++
	}
	return res, err
}

// TestSubmitReadsOnlyItsRecipientsResults: a notice's card to a new
// member reads that member's result (to drop a duplicate), not the
// results of the 5,000 the notice went to before; one of them named
// again is still dropped.
func TestSubmitReadsOnlyItsRecipientsResults(t *testing.T) {
	r := newRig(t, 0)
	reads := &resultReads{Store: r.st}
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(reads, r.client, tmpl, Config{Now: r.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := n.Submit(ctx, ackCard("archive:v3", []string{"first"}))
	if err != nil {
		t.Fatal(err)
	}
	var earlier []store.RecipientResult
	for i := range 5000 {
		earlier = append(earlier, store.RecipientResult{NoticeKey: "archive:v3", UserID: fmt.Sprintf("user%04d", i),
			ContentHash: first.ContentHash, Status: store.StatusSent, At: r.clock.Now()})
	}
	if err := r.st.PutSendResults(ctx, earlier); err != nil {
		t.Fatal(err)
	}
	reads.n = 0
	got, err := n.Submit(ctx, ackCard("archive:v3", []string{"newcomer"}))
	if err != nil || got.Recipients != 1 {
		t.Fatalf("Submit to a newcomer = %+v, %v", got, err)
	}
	if reads.n != 0 {
		t.Errorf("a card to a newcomer read %d results, want none (the newcomer has none)", reads.n)
	}
	got, err = n.Submit(ctx, ackCard("archive:v3", []string{"user0042", "newcomer2"}))
	if err != nil || got.Recipients != 1 || got.Skipped != 1 {
		t.Fatalf("Submit to one who got it and a newcomer = %+v, %v; want 1 sent, 1 skipped", got, err)
	}
	if reads.n != 1 {
		t.Errorf("a card to two read %d results, want user0042's", reads.n)
	}
}

// TestCardBatch: a card answered by its buttons goes out in sends of
// Config.CardBatch (default 1), so that each person's card has its own
// response_code and an update with it greys exactly that card out; 1,000
// keeps one send, and one shared code, for many. Other messages go out
// 1,000 a send whatever CardBatch says.
func TestCardBatch(t *testing.T) {
	disclosure := func(key string, to []string) Notice {
		return Notice{Key: key, Template: "disclosure", Lang: "en", To: to,
			Data: map[string]any{"Company": "Example", "Scope": "chats with customers", "Retention": "3 years", "Officer": "Compliance"}}
	}
	for _, tc := range []struct {
		name      string
		cardBatch int // 0: the default
		notice    func(key string, to []string) Notice
		sizes     string // of the sends, sorted
		codes     int    // distinct response_codes among the results
	}{
		{name: "cards, default", notice: ackCard, sizes: "[1 1 1 1 1]", codes: 5},
		{name: "cards, 2 a send", cardBatch: 2, notice: ackCard, sizes: "[1 2 2]", codes: 3},
		{name: "cards, 1000 a send", cardBatch: MaxRecipients, notice: ackCard, sizes: "[5]", codes: 1},
		{name: "markdown, card batch 1", cardBatch: 1, notice: disclosure, sizes: "[5]", codes: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 5, func(c *Config, _ *wecomtest.ServerConfig) { c.CardBatch = tc.cardBatch })
			ctx := context.Background()
			if _, err := r.n.Submit(ctx, tc.notice("batch:v1", r.users)); err != nil {
				t.Fatal(err)
			}
			// The plan, run twice and with the config changed in between
			// (a crash, a restart with another card_batch), records the
			// same sends: its batch was fixed at Submit.
			ds, err := r.st.Claim(ctx, "inspect", 10, 0)
			if err != nil || len(ds) != 1 || ds[0].Kind != KindPlan {
				t.Fatalf("queued %+v, %v; want one plan", ds, err)
			}
			for _, batch := range []int{r.n.cfg.CardBatch, MaxRecipients + 1 - r.n.cfg.CardBatch} {
				r.n.cfg.CardBatch = batch
				if err := r.n.plan(ctx, ds[0]); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.st.Ack(ctx, ds[0].Receipt); err != nil {
				t.Fatal(err)
			}
			r.run()
			rs := r.waitResults("batch:v1", 5, 10*time.Second)
			r.eventually("the queue drained", func() bool {
				st, err := r.st.QueueStats(ctx)
				return err == nil && st.Ready == 0 && st.Leased == 0
			})
			var sizes []int
			for _, req := range r.fake.Requests() {
				if req.Path == "message/send" {
					sizes = append(sizes, countTo(t, req.Body))
				}
			}
			if slices.Sort(sizes); fmt.Sprint(sizes) != tc.sizes {
				t.Errorf("send sizes %v, want %s", sizes, tc.sizes)
			}
			codes := map[string]bool{}
			for _, res := range rs {
				if res.Status != store.StatusSent {
					t.Errorf("result %+v", res)
				}
				if res.ResponseCode != "" {
					codes[res.ResponseCode] = true
				}
			}
			if len(codes) != tc.codes {
				t.Errorf("%d distinct response codes, want %d", len(codes), tc.codes)
			}
			if tc.codes != len(rs) {
				return
			}
			// Each person's own code greys out their card, and theirs only.
			for _, res := range rs {
				if _, err := r.client.UpdateTemplateCard(ctx, wecom.CardUpdate{UserIDs: []string{res.UserID},
					ResponseCode: res.ResponseCode, ReplaceName: "已确认"}); err != nil {
					t.Errorf("update %s's card with their code: %v", res.UserID, err)
				}
			}
			for _, u := range r.users {
				for _, m := range r.fake.Inbox(u) {
					if isCard(m) && m.ReplaceName != "已确认" {
						t.Errorf("%s's card says %q, want 已确认", u, m.ReplaceName)
					}
				}
			}
		})
	}
}

// TestCardBatchOutOfRange: New refuses a CardBatch WeCom cannot send.
func TestCardBatchOutOfRange(t *testing.T) {
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := wecom.NewClient(wecom.ClientConfig{CorpID: corpID, AgentID: agentID,
		Secrets: map[string]string{wecom.AppMessages: appSecret}, BaseURL: "http://127.0.0.1:1", HTTPClient: &http.Client{Timeout: time.Second}, Tokens: st, Holder: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{-1, MaxRecipients + 1} {
		_, err := New(st, client, tmpl, Config{CardBatch: batch}, prometheus.NewRegistry())
		if err == nil || !strings.Contains(err.Error(), "CardBatch") {
			t.Errorf("CardBatch %d: %v, want an error naming CardBatch", batch, err)
		}
	}
}
