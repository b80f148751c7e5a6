package wecomtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	corpID  = "ww0123456789abcdef"
	agentID = 1000002
	otherID = 1000003
)

// fake is a Server plus a minimal client made of net/http and
// encoding/json (deliberately not the wecom client).
type fake struct {
	t      testing.TB
	s      *wecomtest.Server
	clk    *testclock.Clock
	client *http.Client

	mu     sync.Mutex
	tokens map[string]string
}

var apps = map[string]wecomtest.AppConfig{
	"app":      {Secret: "app-secret", AgentID: agentID},
	"other":    {Secret: "other-secret", AgentID: otherID},
	"contacts": {Secret: "contacts-secret"},
	"customer": {Secret: "customer-secret"},
	"archive":  {Secret: "archive-secret"},
}

// newFake starts a server with the apps above, a fixed clock, a fixed
// random source and a small directory:
//
//	1 root ── 2 rd ── 3 rd-gz
//	       └─ 4 sales
//	zhangsan (1), lisi (2), wangwu (3), zhaoliu (2, 4), left (5, status 5),
//	disabled (2, status 2); tag 7 = zhangsan + party 4.
func newFake(t testing.TB, mutate ...func(*wecomtest.ServerConfig)) *fake {
	t.Helper()
	clk := testclock.Frozen(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	cfg := wecomtest.ServerConfig{
		CorpID: corpID,
		Apps:   apps,
		Now:    clk.Now,
		Rand:   mrand.NewChaCha8([32]byte{1, 2, 3}),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s := wecomtest.NewTestServer(t, cfg)
	f := &fake{t: t, s: s, clk: clk, client: &http.Client{Timeout: 10 * time.Second}, tokens: map[string]string{}}
	s.AddDepartment(wecomtest.Department{ID: 1, Name: "root", Order: 1})
	s.AddDepartment(wecomtest.Department{ID: 2, Name: "rd", ParentID: 1, Order: 10, DepartmentLeader: []string{"lisi"}})
	s.AddDepartment(wecomtest.Department{ID: 3, Name: "rd-gz", ParentID: 2})
	s.AddDepartment(wecomtest.Department{ID: 4, Name: "sales", ParentID: 1, Order: 20})
	s.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
	s.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{2}, IsLeaderInDept: []int{1}})
	s.AddUser(wecomtest.User{UserID: "wangwu", Name: "王五", Department: []int64{3}, DirectLeader: []string{"lisi"}})
	s.AddUser(wecomtest.User{UserID: "zhaoliu", Name: "赵六", Department: []int64{2, 4}})
	s.AddUser(wecomtest.User{UserID: "left", Name: "gone", Department: []int64{2}, Status: 5})
	s.AddUser(wecomtest.User{UserID: "disabled", Name: "off", Department: []int64{2}, Status: 2})
	s.AddTag(wecomtest.Tag{ID: 7, Name: "t", UserIDs: []string{"zhangsan"}, PartyIDs: []int64{4}})
	return f
}

// token returns a cached access token of app.
func (f *fake) token(app string) string {
	f.t.Helper()
	f.mu.Lock()
	tok, ok := f.tokens[app]
	f.mu.Unlock()
	if ok {
		return tok
	}
	q := url.Values{"corpid": {corpID}, "corpsecret": {apps[app].Secret}}
	_, m := f.do(http.MethodGet, "gettoken", "", q, nil)
	if errcode(m) != 0 {
		f.t.Fatalf("gettoken %s: %v", app, m)
	}
	tok = m["access_token"].(string)
	f.mu.Lock()
	f.tokens[app] = tok
	f.mu.Unlock()
	return tok
}

func (f *fake) forget(app string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, app)
}

// do makes one request and decodes a JSON answer; body may be nil, a
// string (sent as is) or a value to marshal.
func (f *fake) do(method, path, tok string, q url.Values, body any) (int, map[string]any) {
	f.t.Helper()
	status, raw, err := f.raw(method, path, tok, q, body)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	var m map[string]any
	if status == http.StatusOK {
		if err := json.Unmarshal(raw, &m); err != nil {
			f.t.Fatalf("%s %s: answer %q: %v", method, path, raw, err)
		}
	}
	return status, m
}

func (f *fake) raw(method, path, tok string, q url.Values, body any) (int, []byte, error) {
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	if tok != "" {
		q.Set("access_token", tok)
	}
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, f.s.URL+"/cgi-bin/"+path+"?"+q.Encode(), r)
	if err != nil {
		return 0, nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// post and get call an API with app's token, fetching a new token once on
// 42001 as a client does when the fake's clock has outrun the old one.
func (f *fake) post(app, path string, body any) map[string]any {
	f.t.Helper()
	return f.call(app, http.MethodPost, path, nil, body)
}

func (f *fake) get(app, path string, q url.Values) map[string]any {
	f.t.Helper()
	return f.call(app, http.MethodGet, path, q, nil)
}

func (f *fake) call(app, method, path string, q url.Values, body any) map[string]any {
	f.t.Helper()
	_, m := f.do(method, path, f.token(app), q, body)
	if errcode(m) == 42001 {
		f.forget(app)
		_, m = f.do(method, path, f.token(app), q, body)
	}
	return m
}

func errcode(m map[string]any) int {
	v, ok := m["errcode"].(float64)
	if !ok {
		return -999
	}
	return int(v)
}

func wantErrcode(t testing.TB, m map[string]any, want int) {
	t.Helper()
	if got := errcode(m); got != want {
		t.Fatalf("errcode = %d, want %d; answer %v", got, want, m)
	}
}

func text(to, content string) map[string]any {
	return map[string]any{"touser": to, "msgtype": "text", "agentid": agentID, "text": map[string]any{"content": content}}
}

func TestGetToken(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name   string
		method string
		q      url.Values
		want   int
	}{
		{"ok", http.MethodGet, url.Values{"corpid": {corpID}, "corpsecret": {"app-secret"}}, 0},
		{"wrong corpid", http.MethodGet, url.Values{"corpid": {"wwother"}, "corpsecret": {"app-secret"}}, 40013},
		{"wrong secret", http.MethodGet, url.Values{"corpid": {corpID}, "corpsecret": {"nope"}}, 40001},
		{"missing corpid", http.MethodGet, url.Values{"corpsecret": {"app-secret"}}, 41002},
		{"missing secret", http.MethodGet, url.Values{"corpid": {corpID}}, 41004},
		{"POST", http.MethodPost, url.Values{"corpid": {corpID}, "corpsecret": {"app-secret"}}, 40058},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, m := f.do(tt.method, "gettoken", "", tt.q, nil)
			wantErrcode(t, m, tt.want)
			if tt.want != 0 {
				if _, ok := m["access_token"]; ok {
					t.Errorf("failed gettoken has an access_token: %v", m)
				}
				return
			}
			if m["errmsg"] != "ok" || m["expires_in"] != 7200.0 || len(m["access_token"].(string)) < 64 {
				t.Errorf("answer %v, want errmsg ok, expires_in 7200 and a long token", m)
			}
		})
	}
	if got := f.s.TokenFetches("app"); got != 1 {
		t.Errorf("TokenFetches(app) = %d, want 1", got)
	}
}

func TestTokenLifecycle(t *testing.T) {
	f := newFake(t, func(c *wecomtest.ServerConfig) { c.TokenTTL = time.Hour })
	send := func(tok string) int {
		_, m := f.do(http.MethodPost, "message/send", tok, nil, text("zhangsan", "hi"))
		return errcode(m)
	}
	if got := send(""); got != 41001 {
		t.Errorf("no token: %d, want 41001", got)
	}
	if got := send("not-a-token"); got != 40014 {
		t.Errorf("unknown token: %d, want 40014", got)
	}
	tok := f.token("app")
	if got := send(tok); got != 0 {
		t.Fatalf("fresh token: %d", got)
	}
	f.clk.Advance(time.Hour - time.Second)
	if got := send(tok); got != 0 {
		t.Errorf("token at TTL-1s: %d, want 0", got)
	}
	f.clk.Advance(time.Second)
	if got := send(tok); got != 42001 {
		t.Errorf("token at TTL: %d, want 42001", got)
	}

	f.forget("app")
	tok = f.token("app")
	f.s.ExpireTokens()
	if got := send(tok); got != 42001 {
		t.Errorf("after ExpireTokens: %d, want 42001", got)
	}
	f.forget("app")
	tok = f.token("app")
	if got := send(tok); got != 0 {
		t.Errorf("token fetched after ExpireTokens: %d, want 0", got)
	}
	f.s.InvalidateTokens()
	if got := send(tok); got != 40014 {
		t.Errorf("after InvalidateTokens: %d, want 40014", got)
	}
	if got := f.s.TokenFetches("app"); got != 3 {
		t.Errorf("TokenFetches(app) = %d, want 3", got)
	}
	// Another app's token is another app: the contacts token may not send.
	if got := send(f.token("contacts")); got != 48002 {
		t.Errorf("contacts token sends: %d, want 48002", got)
	}
}

// TestPermissions checks which secret's token may call which API (48002
// otherwise).
func TestPermissions(t *testing.T) {
	f := newFake(t)
	f.s.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmA", Name: "A", Type: 1}, wecomtest.FollowUser{UserID: "zhangsan"})
	calls := []struct {
		path    string
		method  string
		q       url.Values
		body    func(app string) any
		allowed []string
	}{
		{"message/send", http.MethodPost, nil, func(app string) any {
			m := text("zhangsan", "hi")
			if app == "other" {
				m["agentid"] = otherID
			}
			return m
		}, []string{"app", "other"}},
		{"message/recall", http.MethodPost, nil, func(string) any { return map[string]any{"msgid": "x"} }, []string{"app", "other"}},
		{"message/update_template_card", http.MethodPost, nil, func(string) any { return map[string]any{"agentid": agentID} }, []string{"app", "other"}},
		{"user/get", http.MethodGet, url.Values{"userid": {"zhangsan"}}, nil, []string{"app", "other", "contacts"}},
		{"user/list_id", http.MethodPost, nil, func(string) any { return map[string]any{} }, []string{"contacts"}},
		{"department/list", http.MethodGet, nil, nil, []string{"app", "other", "contacts"}},
		{"externalcontact/get", http.MethodGet, url.Values{"external_userid": {"wmA"}}, nil, []string{"app", "other", "customer"}},
		{"externalcontact/send_welcome_msg", http.MethodPost, nil, func(string) any { return map[string]any{} }, []string{"app", "other", "customer"}},
		{"msgaudit/get_permit_user_list", http.MethodPost, nil, func(string) any { return map[string]any{} }, []string{"archive"}},
		{"msgaudit/check_single_agree", http.MethodPost, nil, func(string) any { return map[string]any{} }, []string{"archive"}},
		{"msgaudit/check_room_agree", http.MethodPost, nil, func(string) any { return map[string]any{"roomid": "r"} }, []string{"archive"}},
	}
	for _, c := range calls {
		for app := range apps {
			t.Run(c.path+"/"+app, func(t *testing.T) {
				var body any
				if c.body != nil {
					body = c.body(app)
				}
				_, m := f.do(c.method, c.path, f.token(app), c.q, body)
				allowed := false
				for _, a := range c.allowed {
					allowed = allowed || a == app
				}
				if got := errcode(m); (got == 48002) == allowed {
					t.Errorf("errcode %d; allowed = %v", got, allowed)
				}
			})
		}
	}
	// message/send checks the body's agentid against the token's app.
	for _, tt := range []struct {
		agentid any
		want    int
	}{{nil, 41011}, {12345, 40056}, {otherID, 301002}, {"1000002", 40058}} {
		m := text("zhangsan", "hi")
		if tt.agentid == nil {
			delete(m, "agentid")
		} else {
			m["agentid"] = tt.agentid
		}
		if got := errcode(f.post("app", "message/send", m)); got != tt.want {
			t.Errorf("agentid %v: %d, want %d", tt.agentid, got, tt.want)
		}
	}
}

func TestRoutingAndRecording(t *testing.T) {
	f := newFake(t)
	tok := f.token("app")
	status, _, err := f.raw(http.MethodGet, "no/such/api", tok, nil, nil)
	if err != nil || status != http.StatusNotFound {
		t.Errorf("unknown path: %d %v, want 404", status, err)
	}
	_, m := f.do(http.MethodGet, "message/send", tok, nil, nil)
	wantErrcode(t, m, 40058)
	_, m = f.do(http.MethodPost, "user/get", f.token("contacts"), url.Values{"userid": {"zhangsan"}}, nil)
	wantErrcode(t, m, 40058)
	for _, body := range []string{`{"touser":"zhangsan",`, `{"touser":["zhangsan"],"msgtype":"text"}`} {
		m = f.post("app", "message/send", body)
		if !strings.Contains(fmt.Sprint(m["errmsg"]), "Warning: wrong json format.") || errcode(m) == 0 {
			t.Errorf("malformed %s: %v, want an errmsg with the wrong-json warning", body, m)
		}
	}
	wantErrcode(t, f.post("app", "message/send", text("zhangsan", "hi")), 0)

	reqs := f.s.Requests()
	// gettoken, 404, GET send, gettoken (contacts), POST user/get, 2 malformed, send.
	if len(reqs) != 8 {
		t.Errorf("recorded %d requests, want 8", len(reqs))
	}
	secrets := []string{tok, f.token("contacts"), "app-secret", "contacts-secret"}
	for _, r := range f.s.Requests() {
		dump := fmt.Sprintf("%+v %s", r, r.Body)
		for _, s := range secrets {
			if strings.Contains(dump, s) {
				t.Errorf("recorded request %s %s contains a secret", r.Method, r.Path)
			}
		}
		if r.At.IsZero() {
			t.Errorf("request %s has no time", r.Path)
		}
	}
	last := reqs[len(reqs)-1]
	if last.Path != "message/send" || last.Method != http.MethodPost || last.App != "app" || last.Errcode != 0 || last.Status != 200 ||
		!bytes.Contains(last.Body, []byte(`"content":"hi"`)) {
		t.Errorf("last request = %+v", last)
	}
	if got := f.s.CountRequests("message/send"); got != 4 {
		t.Errorf("CountRequests(message/send) = %d, want 4", got)
	}
	if got := f.s.CountRequests("gettoken"); got != 2 {
		t.Errorf("CountRequests(gettoken) = %d, want 2", got)
	}
}

func TestMaxRequests(t *testing.T) {
	f := newFake(t, func(c *wecomtest.ServerConfig) { c.MaxRequests = 3 })
	for i := range 5 {
		f.post("app", "message/send", text("zhangsan", fmt.Sprint(i)))
	}
	reqs := f.s.Requests()
	if len(reqs) != 3 || !bytes.Contains(reqs[2].Body, []byte(`"4"`)) || !bytes.Contains(reqs[0].Body, []byte(`"2"`)) {
		t.Errorf("kept %d requests; want the last 3 in order", len(reqs))
	}
	if got := f.s.CountRequests(""); got != 6 {
		t.Errorf("CountRequests() = %d, want 6", got)
	}
}

func TestAppCallsPerMinute(t *testing.T) {
	f := newFake(t, func(c *wecomtest.ServerConfig) { c.AppCallsPerMinute = 3 })
	for i := range 3 {
		wantErrcode(t, f.post("app", "message/send", text("zhangsan", fmt.Sprint(i))), 0)
	}
	wantErrcode(t, f.post("app", "message/send", text("zhangsan", "x")), 45009)
	wantErrcode(t, f.post("other", "message/send", map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": otherID, "text": map[string]any{"content": "y"}}), 0)
	f.clk.Advance(59 * time.Second)
	wantErrcode(t, f.post("app", "message/send", text("zhangsan", "x")), 45009)
	f.clk.Advance(time.Second)
	wantErrcode(t, f.post("app", "message/send", text("zhangsan", "x")), 0)
}

func TestFaults(t *testing.T) {
	t.Run("errcode twice then ok", func(t *testing.T) {
		f := newFake(t)
		f.s.InjectFault(wecomtest.Fault{Path: "message/send", Errcode: -1, Times: 2})
		for i, want := range []int{-1, -1, 0, 0} {
			m := f.post("app", "message/send", text("zhangsan", fmt.Sprint(i)))
			wantErrcode(t, m, want)
			if want != 0 && m["errmsg"] == "" {
				t.Errorf("fault errcode without errmsg")
			}
		}
		if n := len(f.s.Inbox("zhangsan")); n != 2 {
			t.Errorf("inbox has %d, want 2 (faulted sends are not processed)", n)
		}
		reqs := f.s.Requests()
		if !reqs[1].Fault || reqs[1].Errcode != -1 || reqs[3].Fault {
			t.Errorf("recorded faults wrong: %+v", reqs)
		}
	})
	t.Run("http status", func(t *testing.T) {
		f := newFake(t)
		remove := f.s.InjectFault(wecomtest.Fault{Path: "message/send", HTTPStatus: 502})
		status, _, err := f.raw(http.MethodPost, "message/send", f.token("app"), nil, text("zhangsan", "x"))
		if err != nil || status != 502 {
			t.Errorf("got %d %v, want 502", status, err)
		}
		remove()
		wantErrcode(t, f.post("app", "message/send", text("zhangsan", "x")), 0)
	})
	t.Run("reset", func(t *testing.T) {
		f := newFake(t)
		f.token("app")
		f.s.InjectFault(wecomtest.Fault{Reset: true, Times: 1})
		_, _, err := f.raw(http.MethodPost, "message/send", f.token("app"), nil, text("zhangsan", "x"))
		if err == nil {
			t.Fatal("a reset answered")
		}
		if n := len(f.s.Inbox("zhangsan")); n != 0 {
			t.Errorf("inbox has %d, want 0", n)
		}
		if r := f.s.Requests()[1]; !r.Reset || r.Status != 0 {
			t.Errorf("recorded %+v, want a reset", r)
		}
	})
	t.Run("delay and client timeout", func(t *testing.T) {
		f := newFake(t)
		f.token("app")
		f.s.InjectFault(wecomtest.Fault{Path: "message/send", Delay: 300 * time.Millisecond, Times: 1})
		f.client.Timeout = 50 * time.Millisecond
		_, _, err := f.raw(http.MethodPost, "message/send", f.token("app"), nil, text("zhangsan", "x"))
		var ue *url.Error
		if !errors.As(err, &ue) || !ue.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
		f.client.Timeout = 10 * time.Second
		deadline := time.Now().Add(2 * time.Second)
		for len(f.s.Inbox("zhangsan")) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := len(f.s.Inbox("zhangsan")); n != 1 {
			t.Errorf("the delayed send delivered %d, want 1 (WeCom processes what it received)", n)
		}
	})
	t.Run("after processing, then retry with duplicate check", func(t *testing.T) {
		for _, fault := range []wecomtest.Fault{
			{Path: "message/send", Reset: true, AfterProcessing: true, Times: 1},
			{Path: "message/send", HTTPStatus: 504, AfterProcessing: true, Times: 1},
			{Path: "message/send", Errcode: -1, AfterProcessing: true, Times: 1},
		} {
			f := newFake(t)
			f.token("app")
			f.s.InjectFault(fault)
			body := text("lisi", "once")
			body["enable_duplicate_check"] = 1
			status, raw, err := f.raw(http.MethodPost, "message/send", f.token("app"), nil, body)
			if err == nil && status == 200 && !bytes.Contains(raw, []byte(`"errcode":-1`)) {
				t.Fatalf("%+v: the answer was not lost: %d %s", fault, status, raw)
			}
			if n := len(f.s.Inbox("lisi")); n != 1 {
				t.Fatalf("%+v: delivered %d before the answer was lost, want 1", fault, n)
			}
			m := f.post("app", "message/send", body)
			wantErrcode(t, m, 0)
			if n := len(f.s.Inbox("lisi")); n != 1 {
				t.Errorf("%+v: retry with enable_duplicate_check delivered again: %d", fault, n)
			}
			if m["msgid"] != f.s.Inbox("lisi")[0].MsgID {
				t.Errorf("retry answered msgid %v, want the first send's %s", m["msgid"], f.s.Inbox("lisi")[0].MsgID)
			}
		}
	})
	t.Run("any path and probability", func(t *testing.T) {
		f := newFake(t)
		f.token("app")
		f.s.InjectFault(wecomtest.Fault{Errcode: 45009, Probability: 0.5})
		hits := 0
		for i := range 200 {
			if errcode(f.post("app", "message/send", text("zhangsan", fmt.Sprint(i)))) == 45009 {
				hits++
			}
		}
		if hits < 60 || hits > 140 {
			t.Errorf("probability 0.5 hit %d of 200", hits)
		}
		_, m := f.do(http.MethodGet, "gettoken", "", url.Values{"corpid": {corpID}, "corpsecret": {"app-secret"}}, nil)
		if c := errcode(m); c != 0 && c != 45009 {
			t.Errorf("gettoken under an any-path fault: %d", c)
		}
	})
	t.Run("welcome 41096 keeps the code, 41051 scripted", func(t *testing.T) {
		f := newFake(t)
		code := f.s.IssueWelcomeCode("zhangsan", "wmA")
		remove := f.s.InjectFault(wecomtest.Fault{Path: "externalcontact/send_welcome_msg", Errcode: 41096, Times: 1})
		body := map[string]any{"welcome_code": code, "text": map[string]any{"content": "hi"}}
		wantErrcode(t, f.post("customer", "externalcontact/send_welcome_msg", body), 41096)
		remove()
		wantErrcode(t, f.post("customer", "externalcontact/send_welcome_msg", body), 0)
		f.s.InjectFault(wecomtest.Fault{Path: "externalcontact/send_welcome_msg", Errcode: 41051})
		wantErrcode(t, f.post("customer", "externalcontact/send_welcome_msg", body), 41051)
	})
}

// TestConcurrency sends from many goroutines while others read, then
// checks that requests, answers and inboxes agree.
func TestConcurrency(t *testing.T) {
	f := newFake(t, func(c *wecomtest.ServerConfig) { c.MemberPerMinute, c.MemberPerHour = -1, -1 })
	const workers, each = 16, 40
	for i := range workers {
		f.s.AddUser(wecomtest.User{UserID: fmt.Sprintf("w%d", i), Department: []int64{4}})
	}
	f.token("app")
	var wg sync.WaitGroup
	msgids := make(chan string, workers*each)
	stop := make(chan struct{})
	go func() { // a reader racing the writers
		for {
			select {
			case <-stop:
				return
			default:
				f.s.Requests()
				f.s.Inbox("zhangsan")
			}
		}
	}()
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				m := f.post("app", "message/send", text(fmt.Sprintf("w%d|zhangsan", i), fmt.Sprintf("%d-%d", i, j)))
				if errcode(m) != 0 {
					t.Errorf("send: %v", m)
					return
				}
				msgids <- m["msgid"].(string)
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(msgids)
	seen := map[string]bool{}
	for id := range msgids {
		if seen[id] {
			t.Errorf("msgid %s issued twice", id)
		}
		seen[id] = true
	}
	if got := f.s.CountRequests("message/send"); got != workers*each {
		t.Errorf("CountRequests = %d, want %d", got, workers*each)
	}
	inbox := f.s.Inbox("zhangsan")
	if len(inbox) != workers*each {
		t.Errorf("zhangsan got %d, want %d", len(inbox), workers*each)
	}
	for i := range workers {
		if n := len(f.s.Inbox(fmt.Sprintf("w%d", i))); n != each {
			t.Errorf("w%d got %d, want %d", i, n, each)
		}
	}
	for _, im := range inbox {
		if !seen[im.MsgID] {
			t.Errorf("inbox message %s was never answered", im.MsgID)
		}
	}
}
