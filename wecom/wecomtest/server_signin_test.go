package wecomtest_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// TestGetUserInfo: a code is exchanged once, by the app it was issued
// for, within five minutes (path/91023); everything else is 40029, no
// code 41008.
func TestGetUserInfo(t *testing.T) {
	tests := []struct {
		name    string
		app     string
		code    func(f *fake) string
		advance time.Duration
		want    int
		userID  string
	}{
		{"fresh code", "app", func(f *fake) string { return f.s.SignInCode("zhangsan", agentID) }, 0, 0, "zhangsan"},
		{"UserID case kept as stored", "app", func(f *fake) string { return f.s.SignInCode("LiSi", agentID) }, 0, 0, "lisi"},
		{"just within five minutes", "app", func(f *fake) string { return f.s.SignInCode("zhangsan", agentID) }, 5 * time.Minute, 0, "zhangsan"},
		{"expired", "app", func(f *fake) string { return f.s.SignInCode("zhangsan", agentID) }, 5*time.Minute + time.Second, 40029, ""},
		{"another app's code", "other", func(f *fake) string { return f.s.SignInCode("zhangsan", agentID) }, 0, 40029, ""},
		{"unknown code", "app", func(*fake) string { return "nope" }, 0, 40029, ""},
		{"no code", "app", func(*fake) string { return "" }, 0, 41008, ""},
		{"contacts secret may not", "contacts", func(f *fake) string { return f.s.SignInCode("zhangsan", agentID) }, 0, 48002, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.token(tt.app) // before the clock moves
			code := tt.code(f)
			f.clk.Advance(tt.advance)
			m := f.get(tt.app, "auth/getuserinfo", url.Values{"code": {code}})
			wantErrcode(t, m, tt.want)
			if got, _ := m["userid"].(string); got != tt.userID {
				t.Errorf("userid = %q, want %q", got, tt.userID)
			}
		})
	}
	t.Run("reused", func(t *testing.T) {
		f := newFake(t)
		code := f.s.SignInCode("zhangsan", agentID)
		wantErrcode(t, f.get("app", "auth/getuserinfo", url.Values{"code": {code}}), 0)
		wantErrcode(t, f.get("app", "auth/getuserinfo", url.Values{"code": {code}}), 40029)
	})
	t.Run("no code for a departed member or unknown agent", func(t *testing.T) {
		f := newFake(t)
		if c := f.s.SignInCode("left", agentID); c != "" {
			t.Errorf("code for a departed member: %q", c)
		}
		if c := f.s.SignInCode("zhangsan", 42); c != "" {
			t.Errorf("code for an unknown agent: %q", c)
		}
	})
}

// TestSignInPages drives both entry pages as a browser would: a bad link
// is refused naming the parameter; picking a member redirects back with a
// code and the state, and the code names that member.
func TestSignInPages(t *testing.T) {
	const back = "https://console.example.com/console/auth/callback"
	oauth := func(f *fake, state string) string {
		return wecom.AuthorizeURL(f.s.URL, corpID, agentID, back, state)
	}
	web := func(f *fake, state string) string {
		return wecom.WebLoginURL(f.s.URL, corpID, agentID, back, state, "en")
	}
	tests := []struct {
		name    string
		link    func(f *fake) string
		pick    string
		wantErr string // on the page, with status 400; "" for a redirect
	}{
		{"oauth: pick a member", func(f *fake) string { return oauth(f, "abc123") }, "wangwu", ""},
		{"web login: pick a member", func(f *fake) string { return web(f, "xyz") }, "lisi", ""},
		{"oauth: state with a dash", func(f *fake) string { return oauth(f, "a-b") }, "lisi", "84025"},
		{"oauth: wrong corp", func(f *fake) string { return wecom.AuthorizeURL(f.s.URL, "wwother", agentID, back, "s") }, "lisi", "appid"},
		{"web login: unknown agent", func(f *fake) string { return wecom.WebLoginURL(f.s.URL, corpID, 9, back, "s", "") }, "lisi", "agentid"},
		{"web login: relative redirect", func(f *fake) string { return wecom.WebLoginURL(f.s.URL, corpID, agentID, "/x", "s", "") }, "lisi", "redirect_uri"},
		{"departed member", func(f *fake) string { return oauth(f, "s") }, "left", "no active member"},
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			link := tt.link(f)
			resp, err := noRedirect.PostForm(strings.TrimSuffix(link, "#wechat_redirect"), url.Values{"userid": {tt.pick}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.wantErr != "" {
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				if resp.StatusCode == http.StatusFound || !strings.Contains(b.String(), tt.wantErr) {
					t.Fatalf("status %d, page %q; want a page naming %q", resp.StatusCode, b.String(), tt.wantErr)
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := url.Parse(link)
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != back {
				t.Errorf("redirected to %s, want %s", got, back)
			}
			if loc.Query().Get("state") != want.Query().Get("state") {
				t.Errorf("state = %q, want %q", loc.Query().Get("state"), want.Query().Get("state"))
			}
			m := f.get("app", "auth/getuserinfo", url.Values{"code": {loc.Query().Get("code")}})
			wantErrcode(t, m, 0)
			if m["userid"] != tt.pick {
				t.Errorf("userid = %v, want %s", m["userid"], tt.pick)
			}
		})
	}
	t.Run("a typed UserID", func(t *testing.T) {
		f := newFake(t)
		resp, err := noRedirect.PostForm(web(f, "s"), url.Values{"userid_typed": {" zhaoliu "}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		m := f.get("app", "auth/getuserinfo", url.Values{"code": {loc.Query().Get("code")}})
		if m["userid"] != "zhaoliu" {
			t.Errorf("userid = %v, want zhaoliu", m["userid"])
		}
	})
	t.Run("the picker lists active members", func(t *testing.T) {
		f := newFake(t)
		resp, err := noRedirect.Get(strings.TrimSuffix(oauth(f, "s"), "#wechat_redirect"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if !strings.Contains(b.String(), `data-userid="zhangsan"`) || strings.Contains(b.String(), `data-userid="left"`) {
			t.Errorf("picker page: %s", b.String())
		}
	})
}
