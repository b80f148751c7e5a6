package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// TestEveryRouteNeedsASession walks the registered routes: every one
// that is not part of signing in answers a request without a session
// with a redirect to the sign-in page, and does nothing.
func TestEveryRouteNeedsASession(t *testing.T) {
	e := newEnv(t)
	c := noFollow(e.browser())
	fill := strings.NewReplacer("{$}", "", "{id}", "wangfang", "{version}", "1", "{rest...}", "no/such/page")
	n := 0
	for _, rt := range e.con.Routes() {
		if rt.Public {
			continue
		}
		n++
		path := fill.Replace(rt.Path)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			req, _ := http.NewRequest(rt.Method, e.srv.URL+path, strings.NewReader("csrf=x&subject=wangfang&reason=r"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/signin") {
				t.Errorf("%s %s without a session: %d → %q, want 303 to /console/signin", rt.Method, path, resp.StatusCode, loc)
			}
		})
	}
	if n < 15 {
		t.Errorf("only %d routes behind a session; is the walk broken?", n)
	}
	if hs, _ := e.st.ListHolds(context.Background()); len(hs) != 0 {
		t.Errorf("a request without a session placed holds: %v", hs)
	}
}

// TestSignIn: both sign-in links lead through WeCom and back to a
// session with the member's role; a state that this browser did not
// start, a reused code and a member without a role are refused.
func TestSignIn(t *testing.T) {
	tests := []struct {
		name, user, via string
		want            string // on the page landed on
	}{
		{"officer by UserID, in-WeCom OAuth", "wangfang", "oauth", `王芳 (wangfang, 合规专员)`},
		{"officer by tag, Web login", "chenjing", "web", `陈静 (chenjing, 合规专员)`},
		{"viewer", "lisi", "oauth", `李四 (lisi, 查看者)`},
		{"no role", "zhangsan", "oauth", `你没有控制台的访问权限`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, resp, body := e.signIn(tt.user, tt.via)
			if !strings.Contains(body, tt.want) {
				t.Errorf("landed on %s:\n%s\nwant %q", resp.Request.URL, body, tt.want)
			}
		})
	}

	t.Run("state from another browser", func(t *testing.T) {
		e := newEnv(t)
		victim := e.browser()
		resp, _ := e.get(noFollow(victim), "/console/auth/start?via=oauth")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		state := loc.Query().Get("state")
		code := e.fake.SignInCode("wangfang", testAgent)
		attacker := noFollow(e.browser())
		resp, _ = e.get(attacker, "/console/auth/callback?code="+url.QueryEscape(code)+"&state="+state)
		if got := resp.Header.Get("Location"); got != "/console/signin?error=state" {
			t.Errorf("callback with a state this browser did not start: → %q", got)
		}
	})
	t.Run("reused code", func(t *testing.T) {
		e := newEnv(t)
		b := noFollow(e.browser())
		code := e.fake.SignInCode("wangfang", testAgent)
		for i, want := range []string{"/console/", "/console/signin?error=code"} {
			resp, _ := e.get(b, "/console/auth/start?via=web")
			loc, _ := url.Parse(resp.Header.Get("Location"))
			resp, _ = e.get(b, "/console/auth/callback?code="+url.QueryEscape(code)+"&state="+loc.Query().Get("state"))
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("exchange %d: → %q, want %q", i+1, got, want)
			}
		}
	})
	t.Run("cookie attributes", func(t *testing.T) {
		e := newEnv(t)
		b := noFollow(e.browser())
		resp, _ := e.get(b, "/console/auth/start?via=oauth")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		resp, _ = e.get(b, "/console/auth/callback?code="+url.QueryEscape(e.fake.SignInCode("wangfang", testAgent))+"&state="+loc.Query().Get("state"))
		var sc *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie && c.Value != "" {
				sc = c
			}
		}
		if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/console/" || sc.Secure {
			t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path /console/, not Secure over http", sc)
		}
		e2 := newEnv(t, func(o *Options) { o.BaseURL = "https://compliance.example.com" })
		if c := e2.con.cookie(sessionCookie, "x", 0); !c.Secure {
			t.Error("cookie over an https base URL is not Secure")
		}
	})
}

// TestSessionIdleTimeout: a session unused for longer than the idle
// timeout is gone; one used in time is kept alive.
func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t)
	b, _, _ := e.signIn("wangfang", "oauth")
	c := noFollow(b)
	e.clk.Advance(29 * time.Minute)
	if resp, _ := e.get(c, "/console/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after 29 min: %d, want 200", resp.StatusCode)
	}
	e.clk.Advance(29 * time.Minute) // 29 min since the last request
	if resp, _ := e.get(c, "/console/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("29 min after the last request: %d, want 200", resp.StatusCode)
	}
	e.clk.Advance(31 * time.Minute)
	if resp, _ := e.get(c, "/console/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
		t.Errorf("31 min idle: %d → %q, want a redirect to sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestPostsNeedCSRFAndRole: a POST without the session's CSRF token is
// refused; a viewer cannot place or release a hold, retry a dead letter
// or download evidence; an officer can place and release a hold, and
// both are in the audit log.
func TestPostsNeedCSRFAndRole(t *testing.T) {
	ctx := context.Background()
	form := func(csrf string) url.Values {
		v := url.Values{"subject": {"zhangsan"}, "reason": {"案件 2026-17"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	tests := []struct {
		name   string
		user   string
		csrf   func(real string) string
		want   int
		placed bool
	}{
		{"officer without a token", "wangfang", func(string) string { return "" }, http.StatusForbidden, false},
		{"officer with a wrong token", "wangfang", func(string) string { return "not-the-token" }, http.StatusForbidden, false},
		{"viewer with the token", "lisi", func(r string) string { return r }, http.StatusForbidden, false},
		{"officer with the token", "wangfang", func(r string) string { return r }, http.StatusSeeOther, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b, _, _ := e.signIn(tt.user, "oauth")
			token := e.csrf(b)
			resp, err := noFollow(b).PostForm(e.srv.URL+"/console/holds", form(tt.csrf(token)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("POST /console/holds: %d, want %d", resp.StatusCode, tt.want)
			}
			hs, err := e.st.ListHolds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if (len(hs) == 1) != tt.placed {
				t.Fatalf("holds = %v, want placed %v", hs, tt.placed)
			}
			if !tt.placed {
				return
			}
			if hs[0].Subject != "zhangsan" || hs[0].CreatedBy != "wangfang" {
				t.Errorf("hold = %+v", hs[0])
			}
			resp, err = noFollow(b).PostForm(e.srv.URL+"/console/holds/"+hs[0].ID+"/release", url.Values{"csrf": {token}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if hs, _ := e.st.ListHolds(ctx); resp.StatusCode != http.StatusSeeOther || len(hs) != 0 {
				t.Errorf("release: %d, holds %v", resp.StatusCode, hs)
			}
			kinds := auditKinds(t, e)
			if !strings.Contains(kinds, "hold.create hold.release") {
				t.Errorf("audit kinds %q lack the hold's create and release", kinds)
			}
			// Each entry holds the hold's fields, made via the console by
			// the officer (the shape the admin API writes too).
			es, err := e.st.ListAudit(ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range es {
				if x.Kind != store.AuditHoldCreate && x.Kind != store.AuditHoldRelease {
					continue
				}
				var d store.HoldAudit
				if err := json.Unmarshal(x.Data, &d); err != nil || d.ID != hs[0].ID || d.Subject != "zhangsan" || d.Via != "console" || d.Actor != "wangfang" {
					t.Errorf("%s entry data = %s (%v)", x.Kind, x.Data, err)
				}
			}
		})
	}
	t.Run("viewer cannot release, retry or export", func(t *testing.T) {
		e := newEnv(t, func(o *Options) { o.Evidence = stubEvidence{} })
		if _, err := e.st.PutHold(ctx, store.Hold{ID: "h1", Subject: "zhangsan", Reason: "r", CreatedAt: e.clk.Now()}); err != nil {
			t.Fatal(err)
		}
		b, _, _ := e.signIn("lisi", "oauth")
		token := e.csrf(b)
		for _, path := range []string{"/console/holds/h1/release", "/console/deadletters/d1/retry"} {
			resp, err := noFollow(b).PostForm(e.srv.URL+path, url.Values{"csrf": {token}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer POST %s: %d, want 403", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/console/evidence/person/zhangsan", "/console/evidence/notice/archive/1", "/console/audit/export"} {
			if resp, _ := e.get(b, path); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer GET %s: %d, want 403", path, resp.StatusCode)
			}
		}
		if _, body := e.get(b, "/console/people/zhangsan"); strings.Contains(body, "evidence-person") {
			t.Error("a viewer sees the evidence download")
		}
		if hs, _ := e.st.ListHolds(ctx); len(hs) != 1 {
			t.Errorf("holds = %v, want h1 still there", hs)
		}
	})
}

// stubEvidence stands in for the evidence maker (another package's
// work): it writes a fixed body.
type stubEvidence struct{}

func (stubEvidence) PersonPack(_ context.Context, actor, userID string, w io.Writer) error {
	_, err := io.WriteString(w, "PK person "+userID+" by "+actor)
	return err
}

func (stubEvidence) NoticePack(_ context.Context, actor, noticeID string, version int, w io.Writer) error {
	_, err := fmt.Fprintf(w, "PK notice %s:v%d by %s", noticeID, version, actor)
	return err
}

func auditKinds(t *testing.T, e *env) string {
	t.Helper()
	es, err := e.st.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, x := range es {
		ks = append(ks, x.Kind)
	}
	return strings.Join(ks, " ")
}

// TestPageViewsAreAudited: a page with personal data writes who looked,
// which page and the filter to the audit log.
func TestPageViewsAreAudited(t *testing.T) {
	tests := []struct {
		path, page string
		filter     map[string]string
	}{
		{"/console/people/zhangsan", "person", map[string]string{"user_id": "zhangsan"}},
		{"/console/obligations?status=overdue&user=lisi", "obligations", map[string]string{"status": "overdue", "user": "lisi"}},
		{"/console/consents?status=agreed", "consents", map[string]string{"status": "agreed"}},
		{"/console/audit?kind=hold", "audit", map[string]string{"kind": "hold"}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.st.CreateObligation(context.Background(), obligation("zhangsan", e.clk.Now())); err != nil {
				t.Fatal(err)
			}
			b, _, _ := e.signIn("lisi", "oauth")
			if resp, body := e.get(b, tt.path); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", tt.path, resp.StatusCode, body)
			}
			es, err := e.st.ListAudit(context.Background(), 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range es {
				var v viewAudit
				if x.Kind != AuditView || json.Unmarshal(x.Data, &v) != nil || v.Page != tt.page {
					continue
				}
				if v.Actor != "lisi" || v.Role != "viewer" {
					t.Errorf("view entry %s: actor %q role %q", x.Data, v.Actor, v.Role)
				}
				for k, want := range tt.filter {
					if v.Filter[k] != want {
						t.Errorf("view entry %s: filter[%s] = %q, want %q", x.Data, k, v.Filter[k], want)
					}
				}
				return
			}
			t.Errorf("no %s entry for page %s in %s", AuditView, tt.page, auditKinds(t, e))
		})
	}
}

// TestLanguageAndZone: the language switch is remembered, and every
// time says its zone (+08:00, Asia/Shanghai), whatever the machine's.
func TestLanguageAndZone(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.CreateObligation(context.Background(), obligation("zhangsan", e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	_, body := e.get(b, "/console/people/zhangsan")
	body = html.UnescapeString(body)
	for _, want := range []string{"时间线", "所有时间均为 Asia/Shanghai (UTC+08:00)", "2026-12-05 11:29 +08:00", `datetime="2026-12-05T03:29:54Z"`} {
		if !strings.Contains(body, want) {
			t.Errorf("person page lacks %q", want)
		}
	}
	resp, body := e.get(b, "/console/lang?to=en&back="+url.QueryEscape("/console/people/zhangsan"))
	if resp.Request.URL.Path != "/console/people/zhangsan" || !strings.Contains(body, "Timeline") || !strings.Contains(body, "All times are in Asia/Shanghai") {
		t.Errorf("after switching to English: at %s\n%s", resp.Request.URL, body)
	}
	if _, body := e.get(b, "/console/"); !strings.Contains(body, "Dashboard") {
		t.Error("English is not remembered")
	}
	if resp, _ := e.get(noFollow(b), "/console/lang?to=en&back=https://evil.example.com/"); resp.Header.Get("Location") != "/console/" {
		t.Errorf("lang switch redirects off the console: %q", resp.Header.Get("Location"))
	}
}

// TestPagesRender: every page renders for an officer, in both languages.
func TestPagesRender(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.st.CreateObligation(ctx, obligation("zhangsan", e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	for _, lang := range []string{"en", "zh-CN"} {
		e.get(b, "/console/lang?to="+lang)
		for _, tt := range []struct{ path, want string }{
			{"/console/", "<svg"},
			{"/console/people", "zhangsan"},
			{"/console/people/zhangsan", "archive:v2"},
			{"/console/holds", "hold-form"},
			{"/console/notices", "archive:v2"},
			{"/console/notices/archive/2", "-我们会存档与客户的会话。"},
			{"/console/obligations?notice=archive&version=2", "zhangsan"},
			{"/console/consents", "<table"},
			{"/console/deadletters", "<table"},
			{"/console/audit", "console.signin"},
			{"/console/audit/verify", "verify-result"},
			{"/console/archive", "<h1"},
			{"/console/transfers", "transfers-off"},
		} {
			resp, body := e.get(b, tt.path)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s: %d, want 200 with %q\n%s", lang, tt.path, resp.StatusCode, tt.want, body)
			}
		}
	}
}

// TestUnknownPage: a signed-in member gets a 404 page for a path the
// console does not have.
func TestUnknownPage(t *testing.T) {
	e := newEnv(t)
	b, _, _ := e.signIn("lisi", "oauth")
	if resp, body := e.get(b, "/console/no/such/page"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "没有这个页面") {
		t.Errorf("unknown page: %d\n%s", resp.StatusCode, body)
	}
}

// TestMessagesCoverTemplates: every text key a page uses has both
// languages.
func TestMessagesCoverTemplates(t *testing.T) {
	re := regexp.MustCompile(`\.T "([a-z_0-9]+)"`)
	err := fs.WalkDir(webFS, "web", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(webFS, path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if tr, ok := messages[m[1]]; !ok || tr[0] == "" || tr[1] == "" {
				t.Errorf("%s uses %q, which has no zh-CN and en text", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"st_pending", "st_overdue", "st_acknowledged", "st_superseded", "st_cancelled", "consent_agreed", "consent_disagreed", "consent_unknown",
		"role_viewer", "role_officer", "role_admin", "signin_err_state", "signin_err_code", "signin_err_no_role", "signin_err_not_member", "signin_err_refused",
		"tr_err_required", "tr_err_long", "tr_err_notice", "tr_err_date", "tr_err_window", "tr_err_no_archive", "err_export_off", "err_no_transfers"} {
		if _, ok := messages[prefix]; !ok {
			t.Errorf("no text %q", prefix)
		}
	}
}

// deptNames names departments for the dashboard.
type deptNames map[int64]string

func (d deptNames) DepartmentNames(context.Context) (map[int64]string, error) { return d, nil }

// TestDashboardFigures: coverage counts acknowledged over owed, the
// overdue chart counts by department with names, and the trend ends at
// today's acknowledgements.
func TestDashboardFigures(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Departments = deptNames{1: "总部", 7: "合规与法务部"} })
	ctx := context.Background()
	now := e.clk.Now()
	for _, u := range []string{"zhangsan", "lisi", "wangfang", "chenjing"} {
		o := obligation(u, now.AddDate(0, 0, -10))
		if u != "chenjing" {
			o.Status = policy.Overdue
		}
		if _, err := e.st.CreateObligation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.Attest(ctx, policy.Attestation{UserID: "chenjing", NoticeID: "archive", Version: 2, ContentHash: "h", Channel: policy.ChannelCard,
		ReceivedAt: now.Add(-time.Hour), DedupKey: "k"}); err != nil {
		t.Fatal(err)
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	_, body := e.get(b, "/console/")
	body = html.UnescapeString(body)
	for _, want := range []string{"25.0%</b> (1/4)", "逾期 3", ">总部</text>", ">合规与法务部</text>", "12-05: 1/4"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}
