package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/processor"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
	"github.com/wecomply/wecomply/worker"
)

const (
	corpID         = "wwreconcile0000001"
	appSecret      = "app-secret-for-reconcile-tests"
	contactsSecret = "contacts-secret-for-reconcile-tests"
	customerSecret = "customer-secret-for-reconcile-tests"
	archiveSecret  = "archive-secret-for-reconcile-tests"
)

// clock is the tests' injected clock: Sleep advances it instead of
// waiting, and records how long each wait was.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return ctx.Err()
}

// env is a processor on an embedded store, talking to the fake WeCom.
type env struct {
	st    store.Store
	fake  *wecomtest.Server
	n     *notify.Notifier
	proc  *processor.Processor
	mux   *worker.Mux
	clock *clock
}

// The notices of the tests: "conduct" for everyone, "archive" for the
// archive permit list.
var testNotices = []policy.Notice{
	{ID: "conduct", Version: 1, Title: "行为准则", Template: "ack_card", Languages: []string{"zh-CN"}, DueDays: 7,
		Summary: "请阅读行为准则。", URL: "https://compliance.example.com/conduct", Audience: policy.Audience{Everyone: true}},
	{ID: "archive", Version: 1, Title: "会话存档告知", Template: "ack_card", Languages: []string{"zh-CN"}, DueDays: 7,
		Summary: "公司将存档您的会话。", URL: "https://compliance.example.com/archive", Audience: policy.Audience{PermitList: true}},
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, "embedded")
}

// backends are the store backends the end-to-end tests run on.
var backends = []string{"embedded", "redis"}

// newEnvOn is newEnv on the embedded store or on a real redis-server.
func newEnvOn(t testing.TB, backend string) *env {
	t.Helper()
	return newEnvWith(t, backend, testNotices, nil)
}

// newEnvWith is newEnvOn with other notices, and the processor's notifier
// wrapped by wrap (nil: not wrapped), e.g. to cut a run off after a send.
func newEnvWith(t testing.TB, backend string, notices []policy.Notice, wrap func(processor.Notifier) processor.Notifier) *env {
	t.Helper()
	return newEnvConfig(t, backend, envConfig{Notices: notices, Wrap: wrap})
}

// envConfig is what a test may change of newEnvConfig's environment.
type envConfig struct {
	Notices []policy.Notice
	// Wrap wraps the processor's notifier (nil: not wrapped).
	Wrap func(processor.Notifier) processor.Notifier
	// WrapStore wraps the processor's store (nil: not wrapped); the
	// notifier, the WeCom client and the test's own reads use the store
	// itself.
	WrapStore func(processor.Store) processor.Store
	// RedisURL, on the redis backend, is a running server to use instead
	// of starting one; Namespace (default the corp id) keeps this
	// environment's keys apart from the others' on it.
	RedisURL, Namespace string
	// Settings replace the tests' default settings (nil: kept).
	Settings *policy.Settings
	// Start, when set, is the clock's start, and the store, the WeCom
	// client and the notifier run on the test clock too (Advance moves
	// them all); otherwise only the processor and the fake WeCom do and
	// the clock starts at the current minute.
	Start time.Time
	// Notify is the notifier's configuration (Now is the test clock's
	// when Start is set).
	Notify notify.Config
	// Logger is the client's, the notifier's and the processor's logger
	// (nil: their default).
	Logger *slog.Logger
	// Alerts are the supervision alerts' settings.
	Alerts processor.AlertConfig
}

// testSettings are the settings of the tests' company (envConfig's
// default).
func testSettings() policy.Settings {
	return policy.Settings{Company: "示例科技", DefaultLanguage: "zh-CN", Officers: []string{"officer"},
		ConsentGrace: 72 * time.Hour, Location: time.UTC, ConsentPolicy: "请勿在企业微信中讨论交易细节。",
		ConsentPolicyURL: "https://compliance.example.com/policy/archive"}
}

// newEnvConfig is newEnvOn as cfg says.
func newEnvConfig(t testing.TB, backend string, cfg envConfig) *env {
	t.Helper()
	clk := &clock{t: testclock.New(t).Now().UTC().Truncate(time.Minute)}
	var storeNow func() time.Time
	if !cfg.Start.IsZero() {
		clk.t = cfg.Start
		storeNow = clk.Now
		cfg.Notify.Now = clk.Now
	}
	if cfg.Logger != nil {
		cfg.Notify.Logger = cfg.Logger
	}
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{CorpID: corpID, Now: clk.Now, Apps: map[string]wecomtest.AppConfig{
		"app": {Secret: appSecret, AgentID: 1000002}, "contacts": {Secret: contactsSecret},
		"customer": {Secret: customerSecret}, "archive": {Secret: archiveSecret},
	}})
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "示例科技"})
	fake.AddUser(wecomtest.User{UserID: "officer", Name: "王芳", Department: []int64{1}})

	var st store.Store
	var err error
	if backend == "redis" {
		url, ns := cfg.RedisURL, cfg.Namespace
		if url == "" {
			url = redistest.Start(t)
		}
		if ns == "" {
			ns = corpID
		}
		st, err = redisstore.Open(context.Background(), redisstore.Options{URL: url, Namespace: ns})
	} else {
		st, err = embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{Now: storeNow})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := wecom.NewClient(wecom.ClientConfig{
		CorpID: corpID, AgentID: 1000002,
		Secrets: map[string]string{wecom.AppMessages: appSecret, wecom.AppContacts: contactsSecret,
			wecom.AppCustomer: customerSecret, wecom.AppArchive: archiveSecret},
		BaseURL: fake.URL, HTTPClient: &http.Client{Timeout: 5 * time.Second}, Tokens: st, Holder: "test",
		Now: storeNow, Logger: cfg.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := notify.New(st, client, tmpl, cfg.Notify, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var n processor.Notifier = notifier
	if cfg.Wrap != nil {
		n = cfg.Wrap(notifier)
	}
	settings := testSettings()
	if cfg.Settings != nil {
		settings = *cfg.Settings
	}
	var pst processor.Store = st
	if cfg.WrapStore != nil {
		pst = cfg.WrapStore(st)
	}
	proc, err := processor.New(pst, n, client, nil, processor.Config{
		Notices:  cfg.Notices,
		Settings: settings,
		Now:      clk.Now, Sleep: clk.Sleep, Logger: cfg.Logger, Alerts: cfg.Alerts,
	}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	mux := worker.NewMux(proc)
	mux.HandleJobs(notifier.Jobs())
	proc.Register(mux)
	return &env{st: st, fake: fake, n: notifier, proc: proc, mux: mux, clock: clk}
}

// Advance moves the clock d forward.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set sets the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// drain runs every queued entry through the worker's mux until the queue
// is empty, as the worker pool would.
func (e *env) drain(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for range 1000 {
		ds, err := e.st.Claim(ctx, "test", 50, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return
		}
		for _, d := range ds {
			err := e.mux.Handle(ctx, d)
			var later *notify.WaitError
			switch {
			case err == nil:
				if err := e.st.Ack(ctx, d.Receipt); err != nil {
					t.Fatal(err)
				}
			case errors.As(err, &later):
				t.Fatalf("%s %s postponed: %v", d.Kind, d.DedupKey, err)
			default:
				t.Fatalf("%s %s: %v", d.Kind, d.DedupKey, err)
			}
		}
	}
	t.Fatal("the queue never drained")
}

func (e *env) obligation(t *testing.T, user, notice string) policy.Obligation {
	t.Helper()
	o, err := e.st.GetObligation(context.Background(), user, notice, 1)
	if err != nil {
		t.Fatalf("obligation %s/%s: %v", user, notice, err)
	}
	return o
}

// auditData is the part of an audit entry's data the tests read.
type auditData struct {
	Event  string `json:"event"`
	Origin string `json:"origin"`
	Action string `json:"action"`
	Reason string `json:"reason"`
}

func (e *env) audit(t *testing.T) ([]store.AuditEntry, []auditData) {
	t.Helper()
	entries, err := e.st.ListAudit(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]auditData, len(entries))
	for i, en := range entries {
		if err := json.Unmarshal(en.Data, &data[i]); err != nil {
			t.Fatal(err)
		}
	}
	return entries, data
}

func (e *env) queued(t *testing.T) int64 {
	t.Helper()
	qs, err := e.st.QueueStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return qs.Ready + qs.Leased
}

func wantCounts(t *testing.T, got map[string]int, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("counts[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

// TestReconcileMembers: a member added in WeCom without a callback gets
// their obligations, a member WeCom no longer lists has theirs cancelled,
// and one who joined the archive permit list owes the archive notice —
// each decided by the workers like the callback it stands for, recorded
// in the event and audit logs as coming from reconciliation; a run made
// again (the same activation) enqueues nothing, and a later one finds
// nothing left to do.
func TestReconcileMembers(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { reconcileMembers(t, newEnvOn(t, backend)) })
	}
}

func reconcileMembers(t *testing.T, e *env) {
	ctx := context.Background()
	e.fake.AddUser(wecomtest.User{UserID: "alice", Name: "Alice", Department: []int64{1}})
	e.fake.AddUser(wecomtest.User{UserID: "bob", Name: "Bob", Department: []int64{1}})
	e.fake.SetPermitUsers([]string{"alice", "bob"})
	now := e.clock.Now()
	for _, p := range []policy.Person{
		{UserID: "bob", Name: "Bob", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
		{UserID: "carol", Name: "Carol", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
		{UserID: "officer", Name: "王芳", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
	} {
		if err := e.st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"bob", "carol", "officer"} {
		if _, err := e.st.CreateObligation(ctx, policy.Obligation{UserID: u, NoticeID: "conduct", Version: 1,
			Status: policy.Pending, Reason: policy.ReasonPublished, CreatedAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}

	counts, err := e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"members": 3, "people": 3, "create_user": 1, "delete_user": 1,
		"permit_changed": 1, "departments_changed": 0, "enqueued": 3})
	e.drain(t)

	// alice: a missed create_user, exactly as the callback decides it.
	for _, n := range []string{"conduct", "archive"} {
		if o := e.obligation(t, "alice", n); o.Status != policy.Pending || o.Reason != policy.ReasonNewMember {
			t.Errorf("alice %s: %s (%s), want pending (new_member)", n, o.Status, o.Reason)
		}
	}
	if p, err := e.st.GetPerson(ctx, "alice"); err != nil || !p.InPermitList || p.Name != "Alice" {
		t.Errorf("alice stored as %+v (%v), want her name and in the permit list", p, err)
	}
	if n := cardCount(e.fake, "alice"); n != 2 {
		t.Errorf("alice got %d cards, want 2", n)
	}
	// carol: a missed delete_user.
	if o := e.obligation(t, "carol", "conduct"); o.Status != policy.Cancelled || o.ClosedReason != policy.ReasonMemberDeleted {
		t.Errorf("carol conduct: %s (%s), want cancelled (member_deleted)", o.Status, o.ClosedReason)
	}
	if _, err := e.st.GetPerson(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("carol is still stored (%v)", err)
	}
	// bob: joined the permit list without a callback.
	if o := e.obligation(t, "bob", "archive"); o.Status != policy.Pending || o.Reason != policy.ReasonJoinedAudience {
		t.Errorf("bob archive: %s (%s), want pending (joined_audience)", o.Status, o.Reason)
	}
	if o := e.obligation(t, "bob", "conduct"); o.Status != policy.Pending {
		t.Errorf("bob conduct: %s, want still pending", o.Status)
	}
	if p, _ := e.st.GetPerson(ctx, "bob"); !p.InPermitList {
		t.Error("bob is not stored as in the permit list")
	}

	// The event log shows where the contact events came from.
	log, _, err := e.st.ListEventLog(ctx, "", store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range log {
		if l.Receiver != processor.ReconcileReceiver {
			t.Errorf("event log entry %s %s: receiver %q, want %q", l.Kind, l.DedupKey, l.Receiver, processor.ReconcileReceiver)
		}
		kinds = append(kinds, l.Kind+" "+l.DedupKey)
	}
	slices.Sort(kinds)
	day := now.Format(time.DateOnly)
	if want := []string{"change_contact.create_user reconcile:" + day + ":create_user:alice",
		"change_contact.delete_user reconcile:" + day + ":delete_user:carol"}; !slices.Equal(kinds, want) {
		t.Errorf("event log: %q, want %q", kinds, want)
	}
	// Every decision about them is audited with a reconcile origin.
	entries, data := e.audit(t)
	decided := map[string]bool{}
	for i, d := range data {
		if !strings.HasPrefix(d.Origin, "reconcile:"+day+":") {
			t.Errorf("audit entry %d (%s %s): origin %q, want a reconcile one", entries[i].Seq, d.Action, entries[i].Subject, d.Origin)
		}
		if d.Action == "CreateObligation" || d.Action == "CloseObligation" {
			decided[entries[i].Subject+" "+d.Action+" "+d.Reason+" "+d.Event] = true
		}
	}
	for _, want := range []string{
		"alice CreateObligation new_member change_contact.create_user",
		"carol CloseObligation member_deleted change_contact.delete_user",
		"bob CreateObligation joined_audience policy.people_changed",
	} {
		if !decided[want] {
			t.Errorf("no audit entry %q in %v", want, decided)
		}
	}
	if rep, err := e.st.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}

	// The same activation again (a run taken over): nothing new.
	counts, err = e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if counts["enqueued"] != 0 || e.queued(t) != 0 {
		t.Errorf("a second run enqueued %d (queue %d), want nothing: %v", counts["enqueued"], e.queued(t), counts)
	}
	// The next day: everything matches, nothing to do.
	counts, err = e.proc.Reconcile(ctx, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"members": 3, "people": 3, "create_user": 0, "delete_user": 0,
		"permit_changed": 0, "departments_changed": 0, "enqueued": 0})
	e.drain(t)
	if after, _ := e.audit(t); len(after) != len(entries) {
		t.Errorf("audit grew from %d to %d entries on runs that found nothing", len(entries), len(after))
	}
}

// TestReconcileDepartmentsAndLeaving: a member moved between departments
// and out of the archive permit list without a callback is updated, and
// the archive notice they owed is cancelled (left_audience).
func TestReconcileDepartmentsAndLeaving(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.AddDepartment(wecomtest.Department{ID: 2, Name: "销售部", ParentID: 1})
	e.fake.AddUser(wecomtest.User{UserID: "dave", Name: "Dave", Department: []int64{1}})
	e.fake.SetPermitUsers(nil)
	now := e.clock.Now()
	for _, p := range []policy.Person{
		{UserID: "dave", Name: "Dave", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Active: true, InPermitList: true},
		{UserID: "officer", Name: "王芳", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
	} {
		if err := e.st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.CreateObligation(ctx, policy.Obligation{UserID: "dave", NoticeID: "archive", Version: 1,
		Status: policy.Pending, Reason: policy.ReasonPublished, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	counts, err := e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"departments_changed": 1, "permit_changed": 1, "enqueued": 1})
	e.drain(t)
	if o := e.obligation(t, "dave", "archive"); o.Status != policy.Cancelled || o.ClosedReason != policy.ReasonLeftAudience {
		t.Errorf("dave archive: %s (%s), want cancelled (left_audience)", o.Status, o.ClosedReason)
	}
	p, err := e.st.GetPerson(ctx, "dave")
	if err != nil || p.InPermitList || !slices.Equal(p.Departments, []int64{1}) || !slices.Equal(p.DepartmentPath, []int64{1}) {
		t.Errorf("dave stored as %+v (%v), want in department 1 only, not in the permit list", p, err)
	}
}

// TestReconcileDepartmentWalk: where user/list_id cannot be used (no
// contacts secret) the members are listed by walking the departments with
// user/list, which also shows their status and leaders: a member disabled
// without a callback leaves every audience, a new one is created, and one
// WeCom does not know (user/get 60111) is deleted.
func TestReconcileDepartmentWalk(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.InjectFault(wecomtest.Fault{Path: "user/list_id", Errcode: 48002})
	e.fake.AddDepartment(wecomtest.Department{ID: 2, Name: "销售部", ParentID: 1})
	e.fake.AddUser(wecomtest.User{UserID: "gina", Name: "Gina", Department: []int64{2}, Status: 2, DirectLeader: []string{"officer"}})
	e.fake.AddUser(wecomtest.User{UserID: "jack", Name: "Jack", Department: []int64{2}})
	e.fake.SetPermitUsers(nil)
	now := e.clock.Now()
	for _, p := range []policy.Person{
		{UserID: "gina", Name: "Gina", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Active: true},
		{UserID: "hank", Name: "Hank", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Active: true},
		{UserID: "officer", Name: "王芳", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
	} {
		if err := e.st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateObligation(ctx, policy.Obligation{UserID: p.UserID, NoticeID: "conduct", Version: 1,
			Status: policy.Pending, Reason: policy.ReasonPublished, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"department_walk": 1, "members": 3, "create_user": 1, "delete_user": 1,
		"status_changed": 1, "leaders_changed": 1, "departments_changed": 0, "enqueued": 3})
	if n := e.fake.CountRequests("user/list"); n != 2 {
		t.Errorf("%d user/list calls, want one per department (2)", n)
	}
	e.drain(t)
	if o := e.obligation(t, "gina", "conduct"); o.Status != policy.Cancelled || o.ClosedReason != policy.ReasonLeftAudience {
		t.Errorf("gina conduct: %s (%s), want cancelled (left_audience)", o.Status, o.ClosedReason)
	}
	if p, _ := e.st.GetPerson(ctx, "gina"); p.Active || !slices.Equal(p.DirectLeaders, []string{"officer"}) {
		t.Errorf("gina stored as %+v, want disabled, led by officer", p)
	}
	if o := e.obligation(t, "hank", "conduct"); o.Status != policy.Cancelled || o.ClosedReason != policy.ReasonMemberDeleted {
		t.Errorf("hank conduct: %s (%s), want cancelled (member_deleted)", o.Status, o.ClosedReason)
	}
	if o := e.obligation(t, "jack", "conduct"); o.Status != policy.Pending || o.Reason != policy.ReasonNewMember {
		t.Errorf("jack conduct: %s (%s), want pending (new_member)", o.Status, o.Reason)
	}
}

// TestReconcileWithoutSecrets: when neither user/list_id nor the
// department walk can be used, reconciliation has nothing to compare,
// and takes no one for deleted.
func TestReconcileWithoutSecrets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.InjectFault(wecomtest.Fault{Path: "user/list_id", Errcode: 48002})
	e.fake.InjectFault(wecomtest.Fault{Path: "user/list", Errcode: 60011})
	if err := e.st.PutPerson(ctx, policy.Person{UserID: "erin", Active: true}); err != nil {
		t.Fatal(err)
	}
	counts, err := e.proc.Reconcile(ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"members_unavailable": 1, "delete_user": 0, "enqueued": 0})
}

// TestReconcileFirstStart: with no people stored yet, or fewer than half
// of the members while publishing records them (a first start), nobody
// is taken for a new member.
func TestReconcileFirstStart(t *testing.T) {
	e := newEnv(t)
	e.fake.AddUser(wecomtest.User{UserID: "frank", Name: "Frank", Department: []int64{1}})
	counts, err := e.proc.Reconcile(context.Background(), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"members": 2, "no_baseline": 1, "create_user": 0, "enqueued": 0})
	if q := e.queued(t); q != 0 {
		t.Errorf("%d entries queued, want none", q)
	}

	// Publishing has recorded one of four so far: still not compared.
	e.fake.AddUser(wecomtest.User{UserID: "gus", Name: "Gus", Department: []int64{1}})
	e.fake.AddUser(wecomtest.User{UserID: "hal", Name: "Hal", Department: []int64{1}})
	if err := e.st.PutPerson(context.Background(), policy.Person{UserID: "officer", Departments: []int64{1}, Active: true}); err != nil {
		t.Fatal(err)
	}
	counts, err = e.proc.Reconcile(context.Background(), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"members": 4, "people": 1, "no_baseline": 1, "create_user": 0, "enqueued": 0})
}

// TestReconcileConsents: the pending consents are re-checked 100 pairs a
// call, ceil(n/100) calls, spaced within check_single_agree's documented
// 2,500 calls a minute on the injected clock; the answers are recorded
// through policy (a refusal tells the employee and the officer) with
// reconcile origins; a run made again asks nothing again.
func TestReconcileConsents(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { reconcileConsents(t, newEnvOn(t, backend)) })
	}
}

func reconcileConsents(t *testing.T, e *env) {
	ctx := context.Background()
	e.fake.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
	for _, p := range []policy.Person{ // known: no card for them from the member part
		{UserID: "zhangsan", Name: "张三", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
		{UserID: "officer", Name: "王芳", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
	} {
		if err := e.st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	now := e.clock.Now()
	const n = 250
	for i := range n {
		ext := fmt.Sprintf("wmCustomer%03d", i)
		e.fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: ext, Name: "客户" + ext[len(ext)-3:], Type: 1},
			wecomtest.FollowUser{UserID: "zhangsan", CreateTime: now.Add(-time.Hour).Unix()})
		switch {
		case i < 120:
			e.fake.SetAgree("zhangsan", ext, wecom.AgreeStatusAgree, now.Add(-30*time.Minute))
		case i < 125:
			e.fake.SetAgree("zhangsan", ext, wecom.AgreeStatusDisagree, now.Add(-20*time.Minute))
		}
		if err := e.st.PutConsent(ctx, policy.Consent{UserID: "zhangsan", ExternalUserID: ext, Status: policy.ConsentUnknown,
			Source: "add_external_contact", AddedAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Not pending: the relationship ended, or already answered.
	if err := e.st.PutConsent(ctx, policy.Consent{UserID: "zhangsan", ExternalUserID: "wmGone", Status: policy.ConsentUnknown,
		AddedAt: now.Add(-time.Hour), DeletedAt: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutConsent(ctx, policy.Consent{UserID: "zhangsan", ExternalUserID: "wmAgreed", Status: policy.ConsentAgreed}); err != nil {
		t.Fatal(err)
	}

	counts, err := e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"consents_pending": n, "consent_calls": 3, "consents_checked": n, "consents_answered": 125})

	var calls []wecomtest.RecordedRequest
	for _, r := range e.fake.Requests() {
		if r.Path == "msgaudit/check_single_agree" {
			calls = append(calls, r)
		}
	}
	if len(calls) != (n+99)/100 {
		t.Fatalf("%d check_single_agree calls, want %d", len(calls), (n+99)/100)
	}
	var sizes []int
	for i, c := range calls {
		var body struct {
			Info []json.RawMessage `json:"info"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(body.Info))
		if c.Errcode != 0 {
			t.Errorf("call %d answered %d", i, c.Errcode)
		}
		if i > 0 {
			// At most 2,500 calls a minute (path/91782): calls at least
			// a minute/2500 apart.
			if gap := c.At.Sub(calls[i-1].At); gap < time.Minute/2500 {
				t.Errorf("calls %d and %d only %v apart, want at least %v", i-1, i, gap, time.Minute/2500)
			}
		}
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("batch sizes %v, want [100 100 50]", sizes)
	}
	if len(e.clock.slept) != 2 {
		t.Errorf("slept %v, want a pause before each call but the first", e.clock.slept)
	}

	agreed, disagreed, unknown := 0, 0, 0
	for i := range n {
		c, err := e.st.GetConsent(ctx, "zhangsan", fmt.Sprintf("wmCustomer%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		switch c.Status {
		case policy.ConsentAgreed:
			agreed++
			if c.Source != "check_single_agree" || c.ChangedAt.IsZero() {
				t.Errorf("agreed consent %+v: want source check_single_agree and when", c)
			}
		case policy.ConsentDisagreed:
			disagreed++
			if c.NotifiedAt.IsZero() {
				t.Errorf("disagreed consent %+v: the employee was not told", c)
			}
		case policy.ConsentUnknown:
			unknown++
			if !c.CheckedAt.Equal(now) {
				t.Errorf("unanswered consent %+v: checked at %v, want %v", c, c.CheckedAt, now)
			}
		}
	}
	if agreed != 120 || disagreed != 5 || unknown != 125 {
		t.Errorf("consents: %d agreed, %d disagreed, %d unknown; want 120, 5, 125", agreed, disagreed, unknown)
	}
	_, data := e.audit(t)
	recorded := 0
	for _, d := range data {
		if d.Action == "RecordConsent" {
			recorded++
			if !strings.HasPrefix(d.Origin, "reconcile:"+now.Format(time.DateOnly)+":consent:zhangsan:") {
				t.Errorf("RecordConsent origin %q, want a reconcile one", d.Origin)
			}
		}
	}
	if recorded == 0 {
		t.Error("no RecordConsent in the audit log")
	}
	if rep, err := e.st.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Errorf("audit chain after parallel records: %+v, %v", rep, err)
	}
	e.drain(t) // the texts about the refusals
	for _, u := range []string{"zhangsan", "officer"} {
		if n := len(e.fake.Inbox(u)); n != 5 {
			t.Errorf("%s got %d messages, want one per refusal (5)", u, n)
		}
	}

	// The same activation again: every pair was checked at now.
	before := e.fake.CountRequests("msgaudit/check_single_agree")
	counts, err = e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"consents_pending": 0, "consent_calls": 0})
	if got := e.fake.CountRequests("msgaudit/check_single_agree"); got != before {
		t.Errorf("a second run made %d more calls", got-before)
	}
}

// TestReconcileConsentUnknownPair: WeCom refuses a whole batch (301061)
// when one pair names someone it does not know; the batch is asked pair
// by pair and the others are still recorded.
func TestReconcileConsentUnknownPair(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{1}})
	now := e.clock.Now()
	for i, u := range []string{"lisi", "lisi", "ghost", "lisi"} {
		ext := fmt.Sprintf("wmPair%d", i)
		e.fake.SetAgree("lisi", ext, wecom.AgreeStatusAgree, now.Add(-time.Minute))
		if err := e.st.PutConsent(ctx, policy.Consent{UserID: u, ExternalUserID: ext, Status: policy.ConsentUnknown,
			AddedAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := e.proc.Reconcile(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"consents_pending": 4, "consent_calls": 5, "consents_not_found": 1,
		"consents_checked": 3, "consents_answered": 3})
	if c, _ := e.st.GetConsent(ctx, "ghost", "wmPair2"); c.Status != policy.ConsentUnknown || !c.CheckedAt.IsZero() {
		t.Errorf("the unknown pair was recorded: %+v", c)
	}
}

func cardCount(fake *wecomtest.Server, user string) int {
	n := 0
	for _, m := range fake.Inbox(user) {
		if m.MsgType == "template_card" {
			n++
		}
	}
	return n
}

// TestReconcileConsentFrequencyLimit: hit by the frequency limit (45009)
// the re-check waits out WeCom's one-minute block on the injected clock
// and asks again; hit twice, the run fails for the job to report, having
// recorded nothing it did not ask.
func TestReconcileConsentFrequencyLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{1}})
	now := e.clock.Now()
	e.fake.SetAgree("lisi", "wmLimited", wecom.AgreeStatusAgree, now.Add(-time.Minute))
	if err := e.st.PutConsent(ctx, policy.Consent{UserID: "lisi", ExternalUserID: "wmLimited", Status: policy.ConsentUnknown,
		AddedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	remove := e.fake.InjectFault(wecomtest.Fault{Path: "msgaudit/check_single_agree", Errcode: 45009, Times: 1})
	counts, err := e.proc.Reconcile(ctx, now)
	remove()
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, counts, map[string]int{"consent_calls": 2, "consents_answered": 1})
	if !slices.Contains(e.clock.slept, time.Minute) {
		t.Errorf("slept %v, want the one-minute block waited out", e.clock.slept)
	}
	if c, _ := e.st.GetConsent(ctx, "lisi", "wmLimited"); c.Status != policy.ConsentAgreed {
		t.Errorf("consent %+v, want agreed", c)
	}

	if err := e.st.PutConsent(ctx, policy.Consent{UserID: "lisi", ExternalUserID: "wmLimited2", Status: policy.ConsentUnknown,
		AddedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.fake.InjectFault(wecomtest.Fault{Path: "msgaudit/check_single_agree", Errcode: 45009, Times: 2})
	if _, err := e.proc.Reconcile(ctx, now.Add(time.Hour)); err == nil || wecom.Classify(err) != wecom.ActionWaitWindow {
		t.Errorf("Reconcile = %v, want the 45009", err)
	}
	if c, _ := e.st.GetConsent(ctx, "lisi", "wmLimited2"); !c.CheckedAt.IsZero() {
		t.Errorf("consent %+v recorded as checked", c)
	}
}

// TestReconcileCatchUpDatesByTheClock: a run that catches up a missed
// activation (its scheduled time hours ago) dates what it finds by the
// clock, when it was found: a missed member's obligation is created now,
// due from now, not from the activation.
func TestReconcileCatchUpDatesByTheClock(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnvOn(t, backend)
			ctx := context.Background()
			e.fake.AddUser(wecomtest.User{UserID: "alice", Name: "Alice", Department: []int64{1}})
			e.fake.SetPermitUsers([]string{"alice"})
			if err := e.st.PutPerson(ctx, policy.Person{UserID: "officer", Name: "王芳", Departments: []int64{1},
				DepartmentPath: []int64{1}, Active: true}); err != nil {
				t.Fatal(err)
			}
			found := e.clock.Now()
			if _, err := e.proc.Reconcile(ctx, found.Add(-7*time.Hour-30*time.Minute)); err != nil {
				t.Fatal(err)
			}
			e.drain(t)
			o := e.obligation(t, "alice", "conduct")
			if o.CreatedAt.Before(found) {
				t.Errorf("alice's obligation created at %v, before the run found her (%v): dated by the schedule", o.CreatedAt, found)
			}
		})
	}
}
