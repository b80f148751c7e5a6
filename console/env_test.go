package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	testCorp  = "wwconsoletest"
	testAgent = 1000002
)

// env is a console over a real embedded store, signing in through the
// fake WeCom with the real wecom client.
type env struct {
	t     testing.TB
	clk   *testclock.Clock
	fake  *wecomtest.Server
	st    *embedded.Store
	con   *Server
	srv   *httptest.Server
	notes []policy.Notice
}

// The demo members: wangfang (officer by UserID), chenjing (officer by
// tag 5), lisi (viewer), zhangsan (no role).
func newEnv(t testing.TB, mutate ...func(*Options)) *env {
	t.Helper()
	clk := testclock.Frozen(time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC))
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{CorpID: testCorp, Now: clk.Now,
		Apps: map[string]wecomtest.AppConfig{wecom.AppMessages: {Secret: "app-secret-0123456789", AgentID: testAgent}}})
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "示例科技"})
	fake.AddDepartment(wecomtest.Department{ID: 7, Name: "合规与法务部", ParentID: 1})
	people := []policy.Person{
		{UserID: "wangfang", Name: "王芳", Departments: []int64{7}, DepartmentPath: []int64{1, 7}, Active: true},
		{UserID: "chenjing", Name: "陈静", Departments: []int64{7}, DepartmentPath: []int64{1, 7}, Tags: []int64{5}, Active: true},
		{UserID: "lisi", Name: "李四", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
		{UserID: "zhangsan", Name: "张三", Departments: []int64{1}, DepartmentPath: []int64{1}, Active: true},
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "w.db"), embedded.Options{Now: clk.Now, Queue: store.QueueOptions{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, p := range people {
		fake.AddUser(wecomtest.User{UserID: p.UserID, Name: p.Name, Department: p.Departments})
		if err := st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	client, err := wecom.NewClient(wecom.ClientConfig{CorpID: testCorp, AgentID: testAgent,
		Secrets: map[string]string{wecom.AppMessages: "app-secret-0123456789"}, BaseURL: fake.URL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}, Tokens: st, Holder: "test", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	notes := []policy.Notice{
		{ID: "archive", Version: 1, Title: "会话存档告知", Template: "ack_card", Languages: []string{"zh-CN", "en"}, Summary: "我们会存档与客户的会话。", URL: "https://example.com/n/1"},
		{ID: "archive", Version: 2, Title: "会话存档告知", Template: "ack_card", Languages: []string{"zh-CN", "en"}, Summary: "我们会存档与客户的会话，保存三年。", URL: "https://example.com/n/2"},
	}
	e := &env{t: t, clk: clk, fake: fake, st: st, notes: notes}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	o := Options{
		Store: st, SignIn: client, Notices: notes, Jobs: []string{"remind"},
		Render: func(n policy.Notice, lang string, due time.Time) (templates.Rendered, error) {
			day := "随时"
			if !due.IsZero() {
				day = due.In(mustZone(t, "Asia/Shanghai")).Format("2006-01-02")
			}
			return tmpl.Render(n.Template, lang, map[string]any{"Company": "示例科技", "Title": n.Title, "Version": n.Version, "Summary": n.Summary, "URL": n.URL, "Due": day,
				"Disclosure": (*templates.Disclosure)(nil)}) // as the notifier renders without [disclosure]
		},
		CorpID: testCorp, AgentID: testAgent, BaseURL: e.srv.URL, OAuthBaseURL: fake.URL, LoginBaseURL: fake.URL,
		Roles:    Roles{Officers: []string{"wangfang", "tag:5"}, Viewers: []string{"lisi"}},
		Location: mustZone(t, "Asia/Shanghai"), Now: clk.Now, SessionIdle: 30 * time.Minute,
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, m := range mutate {
		m(&o)
	}
	if e.con, err = New(o); err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = e.con
	return e
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// browser is an HTTP client with a cookie jar that follows redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// signIn signs userID in through the fake WeCom's page (via "oauth" or
// "web") and returns the browser and the page it landed on.
func (e *env) signIn(userID, via string) (*http.Client, *http.Response, string) {
	e.t.Helper()
	b := e.browser()
	resp, _ := e.get(b, "/console/auth/start?via="+via)
	if !strings.HasPrefix(resp.Request.URL.String(), e.fake.URL) {
		e.t.Fatalf("auth/start led to %s, want the fake WeCom", resp.Request.URL)
	}
	resp, err := b.PostForm(resp.Request.URL.String(), url.Values{"userid": {userID}})
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return b, resp, string(body)
}

// get fetches a console path and returns the response and body.
func (e *env) get(b *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	resp, err := b.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// noFollow is a client that does not follow redirects, sharing b's jar.
func noFollow(b *http.Client) *http.Client {
	return &http.Client{Jar: b.Jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// csrf reads the session's CSRF token from a page of the console.
func (e *env) csrf(b *http.Client) string {
	e.t.Helper()
	_, body := e.get(b, "/console/holds")
	const marker = `name="csrf" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		e.t.Fatalf("no csrf field on the holds page: %s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

func obligation(userID string, at time.Time) policy.Obligation {
	return policy.Obligation{UserID: userID, NoticeID: "archive", Version: 2, Status: policy.Pending, Reason: "published", CreatedAt: at, DueAt: at.AddDate(0, 0, 7)}
}
