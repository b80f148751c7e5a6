package processor_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

var cst = time.FixedZone("CST", 8*3600)

// lockedBuffer is a log sink for many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var digestNotice = policy.Notice{
	ID: "archive", Version: 3, Title: "会话存档告知", Template: "ack_card", Languages: []string{"zh-CN", "en"},
	Summary: "公司将存档您与客户的企业微信会话。", URL: "https://compliance.example.com/n/3", DueDays: 7,
	ComplianceOwners: []string{"owner1", "owner2"},
}

// newDigestEnv is the processor and notifier on the embedded store and
// the WeCom client talking to the fake WeCom, all on the test clock from
// base, with the digest's notice (or notices, when given), settings and
// members, logging to logs.
func newDigestEnv(t *testing.T, base time.Time, logs *lockedBuffer, notices ...policy.Notice) *env {
	t.Helper()
	if len(notices) == 0 {
		notices = []policy.Notice{digestNotice}
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnvConfig(t, "embedded", envConfig{
		Notices:  notices,
		Settings: &policy.Settings{Officers: []string{"officer1"}, DefaultLanguage: "zh-CN", Company: "示例科技", Location: cst},
		Start:    base,
		Notify: notify.Config{
			MemberWindows: []store.RateWindow{{Period: time.Minute, Limit: 30}, {Period: time.Hour, Limit: 1000}},
			Location:      cst, WindowWait: 100 * time.Millisecond,
		},
		Logger: log,
	})
	e.fake.AddDepartment(wecomtest.Department{ID: 2, Name: "销售部", ParentID: 1})
	e.fake.AddDepartment(wecomtest.Department{ID: 3, Name: "研发部", ParentID: 1})
	for _, u := range []string{"officer1", "owner1", "owner2", "zhangsan", "lisi", "wangwu", "newbie"} {
		e.fake.AddUser(wecomtest.User{UserID: u, Name: u, Department: []int64{1}})
	}
	return e
}

// kill makes an event a dead letter at the clock's time.
func (e *env) kill(t *testing.T, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.st.Enqueue(ctx, store.Event{DedupKey: key, Kind: "test.poison", ReceivedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	for {
		ds, err := e.st.Claim(ctx, "test", 1, 0)
		if err != nil || len(ds) != 1 || ds[0].DedupKey != key {
			t.Fatalf("Claim = %+v, %v; want %s", ds, err, key)
		}
		dead, err := e.st.Fail(ctx, ds[0].Receipt, "poison", 0)
		if err != nil {
			t.Fatal(err)
		}
		if dead {
			return
		}
	}
}

// markdown returns the markdown messages in a member's inbox.
func (e *env) markdown(user string) []string {
	var out []string
	for _, m := range e.fake.Inbox(user) {
		if m.MsgType == "markdown" {
			out = append(out, m.Content)
		}
	}
	return out
}

func (e *env) auditEntries(t *testing.T) int {
	t.Helper()
	es, err := e.st.ListAudit(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestDigestEndToEnd: the digest of a day with overdue people in two
// departments (and one nobody knows), a refusal in the window and one
// before it, and a card WeCom could not deliver reaches the officer and
// the owners in their languages, once: made again for the same now (a
// takeover) and at a later activation the same day, it sends nothing new
// and audits nothing new. No secret reaches the logs.
func TestDigestEndToEnd(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 11, 24, 8, 58, 0, 0, cst)
	logs := &lockedBuffer{}
	r := newDigestEnv(t, base, logs)
	people := []policy.Person{
		{UserID: "officer1", Name: "王芳", Departments: []int64{1}, Active: true},
		{UserID: "owner1", Name: "赵敏", Departments: []int64{1}, Active: true},
		{UserID: "owner2", Name: "Olivia", Departments: []int64{1}, Active: true, Language: "en"},
		{UserID: "zhangsan", Name: "张三", Departments: []int64{2}, Active: true},
		{UserID: "wangwu", Name: "王五", Departments: []int64{2, 3}, Active: true},
		{UserID: "lisi", Name: "李四", Departments: []int64{3}, Active: true},
	}
	for _, p := range people {
		if err := r.st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	created := base.AddDate(0, 0, -10)
	ob := func(user string, status policy.ObligationStatus, due time.Time) policy.Obligation {
		return policy.Obligation{UserID: user, NoticeID: "archive", Version: 3, Status: status, Reason: policy.ReasonPublished,
			CreatedAt: created, DueAt: due}
	}
	acked := ob("lisi", policy.Acknowledged, created.AddDate(0, 0, 7))
	acked.AcknowledgedAt = created.Add(time.Hour)
	for _, o := range []policy.Obligation{
		ob("zhangsan", policy.Overdue, created.AddDate(0, 0, 7)),
		ob("wangwu", policy.Pending, created.AddDate(0, 0, 7)), // past due, not marked yet
		ob("stranger", policy.Pending, created.AddDate(0, 0, 7)),
		ob("newbie", policy.Pending, base.AddDate(0, 0, 7)),
		acked,
		ob("gone", policy.Cancelled, created.AddDate(0, 0, 7)),
	} {
		if _, err := r.st.CreateObligation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []policy.Consent{
		{UserID: "zhangsan", ExternalUserID: "wmRefusedToday", Status: policy.ConsentDisagreed, NotifiedAt: base.Add(-2 * time.Hour)},
		{UserID: "lisi", ExternalUserID: "wmRefusedLastWeek", Status: policy.ConsentDisagreed, NotifiedAt: base.AddDate(0, 0, -7)},
		{UserID: "lisi", ExternalUserID: "wmAgreed", Status: policy.ConsentAgreed, ChangedAt: base.Add(-time.Hour)},
	} {
		if err := r.st.PutConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// The card to someone WeCom does not know fails for them.
	if _, err := r.n.Submit(ctx, notify.Notice{Key: digestNotice.Key(), Template: "ack_card", Lang: "zh-CN",
		To: []string{"ghost", "newbie"}, ButtonKey: digestNotice.ButtonKey(), Data: map[string]any{"Company": "示例科技",
			"Title": digestNotice.Title, "Version": 3, "Summary": digestNotice.Summary, "Due": "2026-12-01", "URL": digestNotice.URL}}); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	if rs, err := r.st.ListSendResults(ctx, digestNotice.Key()); err != nil || len(rs) != 2 {
		t.Fatalf("the card's results: %+v, %v; want 2", rs, err)
	}
	ghost, err := r.st.SendResult(ctx, digestNotice.Key(), "ghost")
	if err != nil || ghost.Status == store.StatusSent {
		t.Fatalf("ghost: %+v, %v", ghost, err)
	}

	r.clock.Advance(2 * time.Minute)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, cst) // the activation
	r.kill(t, "poison-1")                           // dies at now: counted
	r.clock.Advance(time.Second)
	r.kill(t, "poison-2") // after now: the next digest's
	before := r.fake.CountRequests("message/send")
	counts, err := r.proc.Digest(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"messages": 2, "notices": 1, "recipients": 3, "overdue": 3, "refusals": 1, "failures": 1, "dead_letters": 1}
	if !mapsEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	r.drain(t)
	if len(r.markdown("officer1")) != 1 || len(r.markdown("owner1")) != 1 || len(r.markdown("owner2")) != 1 {
		t.Fatalf("digests: officer1 %d, owner1 %d, owner2 %d; want one each",
			len(r.markdown("officer1")), len(r.markdown("owner1")), len(r.markdown("owner2")))
	}
	if got := r.fake.CountRequests("message/send") - before; got != 2 { // one a language
		t.Errorf("the digest made %d message/send requests, want 2", got)
	}
	zh, en := r.markdown("officer1")[0], r.markdown("owner2")[0]
	for _, s := range []string{"### 合规日报 2026-11-24", "统计区间：2026-11-23 09:00 至 2026-11-24 09:00",
		"《会话存档告知》第 3 版：已确认 1/5（20%），未确认 4，其中逾期 <font color=\"warning\">3</font>，投递失败 <font color=\"warning\">1</font>",
		"**各部门逾期未确认**（共 3 项）\n> 销售部：2\n> 未知部门：1",
		"员工 张三（zhangsan）的客户 wmRefusedToday", "→ ghost（ghost）",
		"<font color=\"warning\">1</font> 条死信（最早 2026-11-24），请见 /api/v1/dead-letters"} {
		if !strings.Contains(zh, s) {
			t.Errorf("the Chinese digest lacks %q:\n%s", s, zh)
		}
	}
	for _, s := range []string{"wmRefusedLastWeek", "wmAgreed", "newbie（newbie）", "一切正常"} {
		if strings.Contains(zh, s) {
			t.Errorf("the Chinese digest has %q:\n%s", s, zh)
		}
	}
	if !strings.Contains(en, "### Compliance digest 2026-11-24") || !strings.Contains(en, "> 销售部: 2") ||
		!strings.Contains(en, "1</font> dead letter (oldest from 2026-11-24) — see /api/v1/dead-letters") {
		t.Errorf("the English digest:\n%s", en)
	}
	if r.markdown("owner1")[0] != zh {
		t.Error("officer and owner got different Chinese digests")
	}

	sends, audits := r.fake.CountRequests("message/send"), r.auditEntries(t)
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"made again for the same now", now},
		{"a later activation the same day", now.Add(8 * time.Hour)},
	} {
		r.clock.Advance(time.Minute)
		if _, err := r.proc.Digest(ctx, tc.at); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r.drain(t) // runs a send, if one was wrongly planned
		if got := r.fake.CountRequests("message/send"); got != sends {
			t.Errorf("%s: %d message/send requests, want %d", tc.name, got, sends)
		}
		for _, u := range []string{"officer1", "owner1", "owner2"} {
			if n := len(r.markdown(u)); n != 1 {
				t.Errorf("%s: %s has %d digests", tc.name, u, n)
			}
		}
		if tc.at.Equal(now) {
			if got := r.auditEntries(t); got != audits {
				t.Errorf("%s: %d audit entries, want %d", tc.name, got, audits)
			}
		}
	}

	// The next day's digest goes out.
	next := now.AddDate(0, 0, 1)
	r.clock.Advance(24 * time.Hour)
	if _, err := r.proc.Digest(ctx, next); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	if n := len(r.markdown("officer1")); n != 2 {
		t.Fatalf("officer1 has %d digests after the next day's, want 2", n)
	}

	logged := logs.String()
	for _, secret := range []string{appSecret, contactsSecret} {
		if strings.Contains(logged, secret) {
			t.Errorf("a secret is in the logs")
		}
	}
	delivered := 0
	for _, e := range must(r.st.ListAudit(ctx, 0, 100000)) {
		if e.Kind == "delivery" {
			delivered += strings.Count(e.Subject, "digest:") // one entry may record both languages
		}
	}
	if delivered != 4 { // en and zh-CN, each day
		t.Errorf("%d digest deliveries audited, want 4", delivered)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDigestBeforePublish: the day's digest caught up at start-up is made
// for the day's activation (09:00), before the notice published at
// start-up (11:29) — whether its publish job has run yet or not. As the
// digest stood at 09:00 nobody owed the notice: the digest says the
// notice is not yet published, never "all clear … 0/0" as if nobody
// were left to acknowledge it; the next day's digest counts the
// audience.
func TestDigestBeforePublish(t *testing.T) {
	for _, tc := range []struct {
		name      string
		published bool // the publish job ran before the digest
	}{
		{"the publish job still queued", false},
		{"the publish job done, after the activation", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 11, 24, 11, 29, 0, 0, cst)
			everyone := digestNotice
			everyone.Audience = policy.Audience{Everyone: true}
			r := newDigestEnv(t, start, &lockedBuffer{}, everyone)
			if err := r.proc.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.published {
				r.drain(t)
				if o, err := r.st.GetObligation(ctx, "zhangsan", "archive", 3); err != nil || !o.Status.Open() {
					t.Fatalf("zhangsan's obligation after the publish: %+v, %v", o, err)
				}
			}
			activation := time.Date(2026, 11, 24, 9, 0, 0, 0, cst)
			if _, err := r.proc.Digest(ctx, activation); err != nil {
				t.Fatal(err)
			}
			r.drain(t)
			got := r.markdown("officer1")
			if len(got) != 1 {
				t.Fatalf("officer1 has %d digests, want 1", len(got))
			}
			for _, s := range []string{"《会话存档告知》第 3 版：<font color=\"warning\">尚未向任何人发布</font>（截至 2026-11-24 09:00 无人需确认）"} {
				if !strings.Contains(got[0], s) {
					t.Errorf("the digest lacks %q:\n%s", s, got[0])
				}
			}
			for _, s := range []string{"已确认 0/0", "一切正常"} {
				if strings.Contains(got[0], s) {
					t.Errorf("the digest has %q:\n%s", s, got[0])
				}
			}

			r.clock.Advance(24 * time.Hour)
			if _, err := r.proc.Digest(ctx, activation.AddDate(0, 0, 1)); err != nil {
				t.Fatal(err)
			}
			r.drain(t)
			got = r.markdown("officer1")
			if len(got) != 2 || !strings.Contains(got[1], "《会话存档告知》第 3 版：已确认 0/8（0%），未确认 8") {
				t.Errorf("the next day's digests:\n%s", strings.Join(got, "\n----\n"))
			}
		})
	}
}
