package processor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/processor"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// faults cuts a run off: while armed, the mutating calls the processor
// makes — on its store and on its notifier — are counted, and every one
// after the first budget fails with errCrash without taking effect, as if
// the process had died right after the budget-th. Disarmed, it passes
// everything through.
type faults struct {
	mu     sync.Mutex
	armed  bool
	budget int
	calls  int
	// keys are the notify keys the processor submitted under, armed or
	// not (a snapshot lists their send results).
	keys map[string]bool
}

// arm starts counting, allowing budget calls.
func (f *faults) arm(budget int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.budget, f.calls = true, budget, 0
}

// disarm stops counting and returns how many calls were made while armed.
func (f *faults) disarm() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = false
	return f.calls
}

// step counts one mutating call and says whether it may run.
func (f *faults) step(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	f.calls++
	if f.calls > f.budget {
		return fmt.Errorf("%s: %w", op, errCrash)
	}
	return nil
}

func (f *faults) key(k string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[k] = true
}

func (f *faults) submitted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.keys))
}

// faultStore is the processor's store with faults on every write.
type faultStore struct {
	processor.Store
	f *faults
}

func (s faultStore) Enqueue(ctx context.Context, e store.Event) (bool, error) {
	if err := s.f.step("enqueue"); err != nil {
		return false, err
	}
	return s.Store.Enqueue(ctx, e)
}

func (s faultStore) AppendEventLog(ctx context.Context, e store.LogEntry) error {
	if err := s.f.step("event log"); err != nil {
		return err
	}
	return s.Store.AppendEventLog(ctx, e)
}

func (s faultStore) CreateObligation(ctx context.Context, o policy.Obligation) (bool, error) {
	if err := s.f.step("create obligation"); err != nil {
		return false, err
	}
	return s.Store.CreateObligation(ctx, o)
}

func (s faultStore) CloseObligation(ctx context.Context, userID, noticeID string, version int, status policy.ObligationStatus, reason policy.Reason, at time.Time) (bool, error) {
	if err := s.f.step("close obligation"); err != nil {
		return false, err
	}
	return s.Store.CloseObligation(ctx, userID, noticeID, version, status, reason, at)
}

func (s faultStore) UpdateObligation(ctx context.Context, userID, noticeID string, version int, fn func(policy.Obligation) (policy.Obligation, error)) error {
	if err := s.f.step("update obligation"); err != nil {
		return err
	}
	return s.Store.UpdateObligation(ctx, userID, noticeID, version, fn)
}

func (s faultStore) UpdateObligations(ctx context.Context, keys []store.ObligationKey, fn func(policy.Obligation) (policy.Obligation, error)) error {
	if err := s.f.step("update obligations"); err != nil {
		return err
	}
	return s.Store.UpdateObligations(ctx, keys, fn)
}

func (s faultStore) Attest(ctx context.Context, a policy.Attestation) (bool, error) {
	if err := s.f.step("attest"); err != nil {
		return false, err
	}
	return s.Store.Attest(ctx, a)
}

func (s faultStore) PutConsent(ctx context.Context, c policy.Consent) error {
	if err := s.f.step("put consent"); err != nil {
		return err
	}
	return s.Store.PutConsent(ctx, c)
}

func (s faultStore) PutPerson(ctx context.Context, p policy.Person) error {
	if err := s.f.step("put person"); err != nil {
		return err
	}
	return s.Store.PutPerson(ctx, p)
}

func (s faultStore) DeletePerson(ctx context.Context, userID string) error {
	if err := s.f.step("delete person"); err != nil {
		return err
	}
	return s.Store.DeletePerson(ctx, userID)
}

func (s faultStore) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	if err := s.f.step("audit"); err != nil {
		return store.AuditEntry{}, err
	}
	return s.Store.AppendAudit(ctx, e)
}

func (s faultStore) PutSendResults(ctx context.Context, results []store.RecipientResult) error {
	if err := s.f.step("send results"); err != nil {
		return err
	}
	return s.Store.PutSendResults(ctx, results)
}

// faultNotifier is the processor's notifier with faults on every call.
type faultNotifier struct {
	processor.Notifier
	f *faults
}

func (n faultNotifier) Submit(ctx context.Context, no notify.Notice) (notify.Submitted, error) {
	n.f.key(no.Key)
	if err := n.f.step("submit"); err != nil {
		return notify.Submitted{}, err
	}
	return n.Notifier.Submit(ctx, no)
}

func (n faultNotifier) UpdateCard(ctx context.Context, u notify.CardUpdate) error {
	if err := n.f.step("update card"); err != nil {
		return err
	}
	return n.Notifier.UpdateCard(ctx, u)
}

func (n faultNotifier) SendWelcome(ctx context.Context, w notify.Welcome) (store.RecipientResult, error) {
	n.f.key(notify.WelcomeKey(w.UserID))
	if err := n.f.step("send welcome"); err != nil {
		return store.RecipientResult{}, err
	}
	return n.Notifier.SendWelcome(ctx, w)
}

// The company of the re-processing test. Notices: conduct (everyone),
// archive (the archive permit list), trading (department 2 or tag 7).
// People: zhangsan owes conduct (for the reply, the click, the entry,
// the contact changes); wangwu is in the permit list and owes conduct
// and archive, and follows the customer wmCustomer1 (a consent on record,
// the customer has declined archiving); lisi is in WeCom only (a new
// member); officer is the compliance officer.
var reprocessNotices = []policy.Notice{
	testNotices[0], testNotices[1],
	{ID: "trading", Version: 1, Title: "交易合规须知", Template: "ack_card", Languages: []string{"zh-CN"}, DueDays: 3,
		Summary: "请阅读交易合规须知。", URL: "https://compliance.example.com/trading",
		Audience: policy.Audience{Departments: []int64{2}, Tags: []int64{7}}},
}

const customer = "wmCustomer1"

// reprocessUsers are everyone whose WeCom inbox a snapshot reads.
var reprocessUsers = []string{"zhangsan", "wangwu", "lisi", "officer", customer}

// reprocessCase is one event to process twice: setup prepares the event
// in a fresh environment (where a click or a welcome code needs WeCom's
// side) at start, and returns it as the queue holds it.
type reprocessCase struct {
	name  string
	setup func(t *testing.T, e *env, start time.Time) store.Event
	// decides are the actions one clean run must take (checked, so that
	// the company really makes policy act).
	decides []string
	// quick: the event carries a welcome code, which lives 20 s; its
	// redelivery comes within that (later, WeCom refuses the code whoever
	// decides what), and the customer must have got the welcome.
	quick bool
}

// wecomEvent is the queue entry of the WeCom event spec, received at.
func wecomEvent(t *testing.T, spec wecomtest.EventSpec, at time.Time) store.Event {
	t.Helper()
	if spec.CreateTime == 0 {
		spec.CreateTime = at.Unix()
	}
	if spec.MsgID == "" {
		spec.MsgID = "7000000000000000001"
	}
	plain, err := wecomtest.BuildEvent(spec)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := wecom.Decode(plain)
	if err != nil {
		t.Fatal(err)
	}
	return store.Event{DedupKey: ev.DedupKey(), Kind: ev.Kind(), Receiver: "/wecom/callback", ReceivedAt: at.UTC(), Payload: plain}
}

// jobEvent is the queue entry of a processor job.
func jobEvent(kind, key string, payload any, at time.Time) store.Event {
	return store.Event{DedupKey: key, Kind: kind, Receiver: "policy", ReceivedAt: at.UTC(), Payload: must(json.Marshal(payload))}
}

// setupCompany builds the company in e, as processing its members'
// create_user an hour before start would have left it (written directly,
// which is quicker), and sets the clock to start.
func setupCompany(t *testing.T, e *env, start time.Time) {
	t.Helper()
	ctx := context.Background()
	before := start.Add(-time.Hour)
	e.fake.AddDepartment(wecomtest.Department{ID: 2, Name: "交易部", ParentID: 1})
	e.fake.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
	e.fake.AddUser(wecomtest.User{UserID: "wangwu", Name: "王五", Department: []int64{1}})
	e.fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{1}})
	e.fake.SetPermitUsers([]string{"wangwu", "lisi"})
	e.fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: customer, Name: "张先生", Type: 1},
		wecomtest.FollowUser{UserID: "wangwu", CreateTime: before.Add(-time.Hour).Unix()})
	e.fake.SetAgree("wangwu", customer, wecom.AgreeStatusDisagree, before)
	for _, p := range []policy.Person{
		{UserID: "zhangsan", Name: "张三", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
		{UserID: "wangwu", Name: "王五", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true, InPermitList: true},
	} {
		if err := e.st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []struct{ user, notice string }{{"zhangsan", "conduct"}, {"wangwu", "conduct"}, {"wangwu", "archive"}} {
		if _, err := e.st.CreateObligation(ctx, policy.Obligation{UserID: o.user, NoticeID: o.notice, Version: 1, Status: policy.Pending,
			Reason: policy.ReasonNewMember, CreatedAt: before, DueAt: before.AddDate(0, 0, 7)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.PutConsent(ctx, policy.Consent{UserID: "wangwu", ExternalUserID: customer, Status: policy.ConsentUnknown,
		Source: "add_external_contact", AddedAt: before.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(start)
}

// clickCard sends zhangsan conduct's card, as the processor does, and
// returns his click on its button.
func clickCard(t *testing.T, e *env, start time.Time) store.Event {
	t.Helper()
	n := reprocessNotices[0]
	if _, err := e.n.Submit(context.Background(), notify.Notice{Key: n.Key(), Template: n.Template, Lang: "zh-CN",
		Data: map[string]any{"Company": "示例科技", "Title": n.Title, "Version": n.Version, "Summary": n.Summary, "URL": n.URL,
			"Due": start.Add(-time.Hour).AddDate(0, 0, 7).Format(time.DateOnly)},
		To: []string{"zhangsan"}, ButtonKey: n.ButtonKey()}); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	for _, m := range e.fake.Inbox("zhangsan") {
		if m.MsgType == "template_card" {
			click, err := e.fake.Click("zhangsan", m.MsgID, n.ButtonKey())
			if err != nil {
				t.Fatal(err)
			}
			return wecomEvent(t, click.Spec(), start)
		}
	}
	t.Fatal("zhangsan got no card to click")
	return store.Event{}
}

// spec is a case whose event is spec, from the company as set up.
func spec(s wecomtest.EventSpec) func(t *testing.T, e *env, start time.Time) store.Event {
	return func(t *testing.T, e *env, start time.Time) store.Event { return wecomEvent(t, s, start) }
}

// reprocessCases gives every kind of wecomtest.Kinds a case (those that
// policy acts on with an event that makes it act), a few variants, and
// the processor's jobs that decide.
func reprocessCases(t *testing.T) []reprocessCase {
	ext := func(change string) wecomtest.EventSpec {
		return wecomtest.EventSpec{Kind: "change_external_contact." + change, UserID: "wangwu", ExternalUserID: customer}
	}
	withCode := func(change string) func(t *testing.T, e *env, start time.Time) store.Event {
		return func(t *testing.T, e *env, start time.Time) store.Event {
			s := ext(change)
			s.WelcomeCode = e.fake.IssueWelcomeCode("wangwu", customer)
			return wecomEvent(t, s, start)
		}
	}
	// An add decides the welcome and the consent check, which decides
	// the texts (the customer declined).
	added := []string{"SendWelcome", "RecordConsent", "CheckConsent", "SendText", "Alert"}
	recorded := []string{"RecordConsent"}
	special := map[string]reprocessCase{
		// One open obligation: acknowledged, and told so.
		"text": {setup: spec(wecomtest.EventSpec{Kind: "text", UserID: "zhangsan", Content: "确认"}), decides: []string{"Acknowledge", "SendText"}},
		// Asked what is still open.
		"enter_agent": {setup: spec(wecomtest.EventSpec{Kind: "enter_agent", UserID: "zhangsan"}), decides: []string{"SendText"}},
		// The card's button, clicked in WeCom.
		"template_card_event": {setup: clickCard, decides: []string{"Acknowledge", "UpdateCard"}},
		// A new member: owes conduct and archive.
		"change_contact.create_user": {setup: spec(wecomtest.EventSpec{Kind: "change_contact.create_user", UserID: "lisi", Department: "1"}),
			decides: []string{"CreateObligation", "SendCard"}},
		// Moved into department 2: owes trading.
		"change_contact.update_user": {setup: spec(wecomtest.EventSpec{Kind: "change_contact.update_user", UserID: "zhangsan", Department: "2"}),
			decides: []string{"CreateObligation", "SendCard"}},
		// Gone: conduct cancelled.
		"change_contact.delete_user": {setup: spec(wecomtest.EventSpec{Kind: "change_contact.delete_user", UserID: "zhangsan"}), decides: []string{"CloseObligation"}},
		// Tagged 7: owes trading.
		"change_contact.update_tag": {setup: spec(wecomtest.EventSpec{Kind: "change_contact.update_tag", TagID: "7", AddUserItems: "zhangsan"}),
			decides: []string{"CreateObligation", "SendCard"}},
		// A customer added: the welcome message, the consent recorded and
		// checked (WeCom says declined: the employee and the officer are
		// told).
		"change_external_contact.add_external_contact":      {setup: withCode("add_external_contact"), decides: added, quick: true},
		"change_external_contact.add_half_external_contact": {setup: withCode("add_half_external_contact"), decides: added, quick: true},
		"change_external_contact.edit_external_contact":     {setup: spec(ext("edit_external_contact"))},
		"change_external_contact.del_external_contact":      {setup: spec(ext("del_external_contact")), decides: recorded},
		"change_external_contact.del_follow_user":           {setup: spec(ext("del_follow_user")), decides: recorded},
		"change_external_contact.transfer_fail":             {setup: spec(ext("transfer_fail")), decides: recorded},
		"change_external_contact.msg_audit_approved":        {setup: spec(ext("msg_audit_approved")), decides: recorded},
	}
	var cases []reprocessCase
	for _, kind := range wecomtest.Kinds() {
		c, ok := special[kind]
		if !ok {
			c.setup = spec(wecomtest.EventSpec{Kind: kind, UserID: "zhangsan"})
		}
		c.name = kind
		cases = append(cases, c)
		delete(special, kind)
	}
	if len(special) > 0 {
		t.Fatalf("cases for kinds wecomtest does not list: %v", special)
	}
	return append(cases,
		// Two open: asked which.
		reprocessCase{name: "text/two_open", setup: spec(wecomtest.EventSpec{Kind: "text", UserID: "wangwu", Content: "确认"}), decides: []string{"SendText"}},
		// None open: told so.
		reprocessCase{name: "text/none_open", setup: spec(wecomtest.EventSpec{Kind: "text", UserID: "officer", Content: "确认"}), decides: []string{"SendText"}},
		// Disabled: conduct cancelled (left the audience).
		reprocessCase{name: "change_contact.update_user/disabled", setup: spec(wecomtest.EventSpec{Kind: "change_contact.update_user", UserID: "zhangsan", Status: "2"}),
			decides: []string{"CloseObligation"}},
		// The consent check after an add: declined, told.
		reprocessCase{name: "job/consent_check", setup: func(t *testing.T, e *env, start time.Time) store.Event {
			return jobEvent(processor.KindConsentCheck, "consent-check:test", map[string]string{"user_id": "wangwu", "external_user_id": customer}, start)
		}, decides: []string{"RecordConsent", "SendText", "Alert"}},
		// No answer long after the add: told once.
		reprocessCase{name: "job/consent_check/missing", setup: func(t *testing.T, e *env, start time.Time) store.Event {
			e.fake.SetAgree("lisi", "wmQuiet", wecom.AgreeStatusAgree, start.Add(-time.Hour)) // someone else's answer only
			if err := e.st.PutConsent(context.Background(), policy.Consent{UserID: "wangwu", ExternalUserID: "wmQuiet",
				Status: policy.ConsentUnknown, Source: "add_external_contact", AddedAt: start.Add(-100 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			return jobEvent(processor.KindConsentCheck, "consent-check:quiet", map[string]string{"user_id": "wangwu", "external_user_id": "wmQuiet"}, start)
		}, decides: []string{"RecordConsent", "SendText", "Alert"}},
		// A publish's chunk: lisi, in department 2, owes trading.
		reprocessCase{name: "job/publish_chunk", setup: func(t *testing.T, e *env, start time.Time) store.Event {
			return jobEvent(processor.KindPublishChunk, "publish:trading:v1:test", map[string]any{"notice": "trading:v1", "people": []policy.Person{
				{UserID: "lisi", Name: "李四", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Active: true},
			}}, start)
		}, decides: []string{"CreateObligation", "SendCard"}},
		// Reconciliation found zhangsan in department 2.
		reprocessCase{name: "job/reconcile_person", setup: func(t *testing.T, e *env, start time.Time) store.Event {
			return jobEvent(processor.KindReconcilePerson, "reconcile:test:people_changed:zhangsan", map[string]any{"user_id": "zhangsan", "departments": []int64{2}}, start)
		}, decides: []string{"CreateObligation", "SendCard"}},
	)
}

// snapshot is what the world looks like after an event: every message
// WeCom delivered (what, to whom, card updates), and every record the
// store keeps about people, with the event's dedup key written <event>
// (it digests the event's single-use codes, which differ between
// environments).
type snapshot map[string][]string

func takeSnapshot(t *testing.T, e *env, f *faults, dedupKey string) snapshot {
	t.Helper()
	ctx := context.Background()
	s := snapshot{}
	add := func(section string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s[section] = append(s[section], strings.ReplaceAll(string(b), dedupKey, "<event>"))
	}
	for _, u := range reprocessUsers {
		for _, m := range e.fake.Inbox(u) {
			// What the recipient sees, and who sent it; not the ids and
			// times of the sending.
			add("wecom "+u, []string{m.App, m.From, m.MsgType, string(m.Message), m.ReplaceName, m.ReplaceText, m.Clicked})
		}
		slices.Sort(s["wecom "+u])
	}
	obs, _, err := e.st.ListObligations(ctx, store.ObligationFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs {
		add("obligations", o)
	}
	atts, _, err := e.st.ListAttestations(ctx, store.AttestationFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		add("attestations", a)
	}
	cs, _, err := e.st.ListConsents(ctx, store.ConsentFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		add("consents", c)
	}
	people, _, err := e.st.ListPeople(ctx, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		add("people", p)
	}
	for _, key := range f.submitted() {
		rs, err := e.st.ListSendResults(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			add("send results", []string{r.NoticeKey, r.UserID, r.ContentHash, string(r.Status), r.Error})
		}
		slices.Sort(s["send results"])
	}
	audit, err := e.st.ListAudit(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range audit {
		// Not the digest in the id: it digests the data with the event's
		// real dedup key; nor At: when it was written.
		id := a.ID[:max(strings.LastIndex(a.ID, ":"), 0)]
		add("audit", []string{id, a.Kind, a.Subject, string(a.Data)})
	}
	log, _, err := e.st.ListEventLog(ctx, "", store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range log {
		add("event log", l)
	}
	slices.Sort(s["event log"])
	qs, err := e.st.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add("queue", qs)
	return s
}

// diffSnapshots fails t with every section in which got differs from
// want.
func diffSnapshots(t *testing.T, got, want snapshot) {
	t.Helper()
	var sections []string
	for k := range want {
		sections = append(sections, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			sections = append(sections, k)
		}
	}
	slices.Sort(sections)
	for _, k := range sections {
		g, w := got[k], want[k]
		if slices.Equal(g, w) {
			continue
		}
		var b strings.Builder
		for _, x := range w {
			if !slices.Contains(g, x) {
				fmt.Fprintf(&b, "\n  - %s", x)
			}
		}
		for _, x := range g {
			if !slices.Contains(w, x) {
				fmt.Fprintf(&b, "\n  + %s", x)
			}
		}
		if b.Len() == 0 {
			b.WriteString("\n  (the same entries in another order)")
		}
		t.Errorf("%s differs from one clean run (- missing, + extra):%s", k, b.String())
	}
}

// reprocessEnv is a fresh environment with faults around the processor,
// on backend (sharing the Redis server at redisURL, under its own
// namespace), its company set up at start.
type reprocessEnv struct {
	*env
	f *faults
}

func newReprocessEnv(t *testing.T, backend, redisURL string, n int, start time.Time) reprocessEnv {
	t.Helper()
	f := &faults{keys: map[string]bool{}}
	s := testSettings()
	s.AckWords, s.WelcomeTemplate = []string{"确认"}, "welcome"
	e := newEnvConfig(t, backend, envConfig{
		Notices: reprocessNotices, Settings: &s,
		Wrap:      func(n processor.Notifier) processor.Notifier { return faultNotifier{Notifier: n, f: f} },
		WrapStore: func(st processor.Store) processor.Store { return faultStore{Store: st, f: f} },
		RedisURL:  redisURL, Namespace: fmt.Sprintf("%s-%d", corpID, n),
	})
	setupCompany(t, e, start)
	return reprocessEnv{env: e, f: f}
}

// TestReprocessingChangesNothing: an event processed again — after its
// first processing was cut off after any of its steps, or after it
// completed, and later (minutes, or the next day) — leaves WeCom and the
// store exactly as one clean processing does: the same messages, once
// each, the same records, the same audit entries. Every kind of event
// wecomtest builds is tried, each with a company in which policy acts on
// it where it can, and the processor's jobs that decide.
func TestReprocessingChangesNothing(t *testing.T) {
	settings := []struct {
		name  string
		later time.Duration
	}{
		{"minutes later", 7 * time.Minute},
		{"the next day", 25 * time.Hour},
	}
	var total, envs atomic.Int64
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			redisURL := ""
			if backend == "redis" {
				redisURL = redistest.Start(t)
			}
			fresh := func(t *testing.T, start time.Time) reprocessEnv {
				return newReprocessEnv(t, backend, redisURL, int(envs.Add(1)), start)
			}
			for _, c := range reprocessCases(t) {
				for _, set := range settings {
					t.Run(c.name+"/"+set.name, func(t *testing.T) {
						t.Parallel()
						later := set.later
						if c.quick {
							later = min(later, 10*time.Second)
						}
						total.Add(int64(reprocess(t, c, later, fresh)))
					})
				}
			}
		})
	}
	t.Logf("%d (kind, k) cases", total.Load())
}

// reprocess runs c once cleanly, then once for every step k its
// processing makes: cut off after k steps, processed again later; it
// returns how many cut-off runs it compared.
func reprocess(t *testing.T, c reprocessCase, later time.Duration, fresh func(*testing.T, time.Time) reprocessEnv) int {
	ctx := context.Background()
	// One to two minutes ahead of the wall clock, on the minute: the
	// welcome code's 20 s are counted by WeCom's (the fake's) clock, and
	// notify's deadline for it by the wall clock. Nothing decided depends
	// on the day or the hour.
	start := time.Now().UTC().Add(2 * time.Minute).Truncate(time.Minute)
	run := func(e reprocessEnv, ev store.Event, attempts int) error {
		return e.mux.Handle(ctx, store.Delivery{Receipt: store.Receipt{ID: "the-event"}, Event: ev, Attempts: attempts})
	}

	e := fresh(t, start)
	ev := c.setup(t, e.env, start)
	e.f.arm(math.MaxInt)
	if err := run(e, ev, 0); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	steps := e.f.disarm()
	e.drain(t)
	_, audited := e.audit(t)
	for _, a := range c.decides {
		if !slices.ContainsFunc(audited, func(d auditData) bool { return d.Action == a }) {
			t.Errorf("one clean run decided no %s (audited: %+v)", a, audited)
		}
	}
	if welcomes := e.fake.Inbox(customer); c.quick && len(welcomes) != 1 {
		t.Errorf("one clean run: the customer got %d messages, want the welcome", len(welcomes))
	}
	if t.Failed() {
		t.FailNow()
	}
	want := takeSnapshot(t, e.env, e.f, ev.DedupKey)

	for k := range steps + 1 {
		e := fresh(t, start)
		ev := c.setup(t, e.env, start)
		e.f.arm(k)
		err := run(e, ev, 0)
		e.f.disarm()
		if k < steps && !errors.Is(err, errCrash) {
			t.Fatalf("k=%d of %d: the cut-off run returned %v, want the crash", k, steps, err)
		}
		if k == steps && err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		e.clock.Advance(later)
		if err := run(e, ev, 1); err != nil {
			t.Fatalf("k=%d of %d: processed again: %v", k, steps, err)
		}
		e.drain(t)
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			diffSnapshots(t, takeSnapshot(t, e.env, e.f, ev.DedupKey), want)
		})
	}
	return steps + 1
}
