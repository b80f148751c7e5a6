package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	testToken    = "SandboxTok3n"
	testAESKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAdmin    = "admin-token-for-sandbox-tests"
	testCallback = "/wecom/callback"
)

// stubApp stands in for the wecomply server: it verifies and decrypts
// callbacks as the real one does and records them, and answers the admin
// API with what the test scripted.
type stubApp struct {
	t      *testing.T
	cipher *wecom.Cipher

	mu      sync.Mutex
	events  []wecom.Event
	sends   []sendRequest
	refuse  string         // a notice key answered with 400
	results map[string]any // GET /api/v1/sends/:key answer
	log     []map[string]any
	// policy answers GET requests to other admin API paths (the policy
	// API), by path: a value is JSON-encoded with 200, a stubAnswer as
	// scripted; queries records each path's last query.
	policy  map[string]any
	queries map[string]url.Values
}

// stubAnswer is a scripted admin API answer.
type stubAnswer struct {
	Status      int
	ContentType string
	Body        string
}

func (s *stubApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Path == testCallback {
		body, _ := io.ReadAll(r.Body)
		env, err := wecom.ParseEnvelope(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		q := r.URL.Query()
		plain, err := s.cipher.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		ev, err := wecom.Decode(plain)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.events = append(s.events, ev)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testAdmin {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "missing or invalid bearer token"})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/sends":
		var req sendRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			s.t.Errorf("POST /api/v1/sends: %v", err)
		}
		s.sends = append(s.sends, req)
		if req.Key == s.refuse {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "notify: notice " + req.Key + ": refused by the test"})
			return
		}
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]any{"key": req.Key, "recipients": len(req.To)})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/sends/"):
		json.NewEncoder(w).Encode(s.results)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/events":
		json.NewEncoder(w).Encode(map[string]any{"events": s.log})
	case r.Method == http.MethodGet && s.policy[r.URL.Path] != nil:
		if s.queries == nil {
			s.queries = map[string]url.Values{}
		}
		s.queries[r.URL.Path] = r.URL.Query()
		if a, ok := s.policy[r.URL.Path].(stubAnswer); ok {
			w.Header().Set("Content-Type", a.ContentType)
			w.WriteHeader(a.Status)
			io.WriteString(w, a.Body)
			return
		}
		json.NewEncoder(w).Encode(s.policy[r.URL.Path])
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "no such path in the stub"})
	}
}

// script sets the answer to GET path.
func (s *stubApp) script(path string, answer any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policy == nil {
		s.policy = map[string]any{}
	}
	s.policy[path] = answer
}

// query returns the last query of GET path.
func (s *stubApp) query(path string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[path]
}

func (s *stubApp) recorded() ([]wecom.Event, []sendRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events), slices.Clone(s.sends)
}

// fixture is a page on a seeded fake WeCom, driving a stub server.
type fixture struct {
	t      *testing.T
	fake   *wecomtest.Server
	org    Org
	client *wecom.Client
	app    *stubApp
	page   *Page
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, fake: newFake(t)}
	f.org = Seed(f.fake)
	f.client = newClient(t, f.fake)
	cipher, err := wecom.NewCipher(testToken, testAESKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	f.app = &stubApp{t: t, cipher: cipher}
	srv := httptest.NewServer(f.app)
	t.Cleanup(srv.Close)
	f.page, err = New(Options{Fake: f.fake, Org: f.org, AppURL: srv.URL, CallbackPath: testCallback, Cipher: cipher,
		AdminToken: testAdmin, CorpID: testCorpID, AgentID: testAgentID, Lang: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// do sends a request to the page as a browser on loopback would.
func (f *fixture) do(method, target string, form url.Values, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	req.Host = "127.0.0.1:8080"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.page.ServeHTTP(w, req)
	return w
}

// get fetches a page and fails the test unless it is 200.
func (f *fixture) get(target string) string {
	f.t.Helper()
	w := f.do(http.MethodGet, target, nil)
	if w.Code != http.StatusOK {
		f.t.Fatalf("GET %s: %d\n%s", target, w.Code, w.Body)
	}
	return w.Body.String()
}

// sendCard sends an acknowledgement card to users through the WeCom API,
// as the server's notifier does.
func (f *fixture) sendCard(taskID string, users ...string) string {
	f.t.Helper()
	res, err := f.client.SendMessage(context.Background(), wecom.Message{
		ToUser: users, MsgType: wecom.MsgTemplateCard,
		TemplateCard: &wecom.TemplateCard{
			CardType: wecom.CardButtonInteraction, TaskID: taskID,
			Source:       &wecom.CardSource{Desc: "示例科技 合规", DescColor: 1},
			MainTitle:    &wecom.CardMainTitle{Title: "请确认：会话存档告知（第 3 版）", Desc: "请于 2026-12-01 前阅读并确认"},
			SubTitleText: "公司将存档您与客户的企业微信会话。<script>alert(1)</script>",
			ButtonList:   []wecom.CardButton{{Text: "我已阅读并确认", Style: 1, Key: "ack"}},
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.MsgID
}

func TestClickSendsTheCallbackAndShowsTheUpdate(t *testing.T) {
	f := newFixture(t)
	msgID := f.sendCard("wc-test-1", "sunlei", "lina")

	const sunleiUnread = `孙磊<span class="uid">sunlei</span></span><span class="badge">1</span>`
	if home := f.get(Prefix); !strings.Contains(home, sunleiUnread) {
		t.Errorf("the people list does not show sunlei with 1 unread:\n%s", home)
	}
	inbox := f.get(Prefix + "inbox?user=sunlei")
	for _, want := range []string{
		"请确认：会话存档告知（第 3 版）", "示例科技 合规", "&lt;script&gt;alert(1)&lt;/script&gt;",
		`name="msgid" value="` + msgID + `"`, `name="key" value="ack"`, ">我已阅读并确认</button>", "task_id wc-test-1",
	} {
		if !strings.Contains(inbox, want) {
			t.Errorf("inbox lacks %s", want)
		}
	}
	if strings.Contains(inbox, "<script>") {
		t.Error("inbox contains a raw <script>")
	}
	if home := f.get(Prefix); strings.Contains(home, sunleiUnread) || !strings.Contains(home, `李娜<span class="uid">lina</span></span><span class="badge">1</span>`) {
		t.Error("after sunlei's inbox was shown, sunlei should have nothing unread and lina still 1")
	}

	w := f.do(http.MethodPost, Prefix+"click", url.Values{"user": {"sunlei"}, "msgid": {msgID}, "key": {"ack"}})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, Prefix+"inbox?user=sunlei&note=") {
		t.Fatalf("click: %d %q, want 303 to the inbox\n%s", w.Code, loc, w.Body)
	}
	events, _ := f.app.recorded()
	if len(events) != 1 {
		t.Fatalf("the server got %d callbacks, want 1", len(events))
	}
	ev, ok := events[0].(*wecom.TemplateCardEvent)
	if !ok {
		t.Fatalf("the server got %T, want a template_card_event", events[0])
	}
	if ev.FromUserName != "sunlei" || ev.TaskID != "wc-test-1" || ev.EventKey != "ack" || ev.ToUserName != testCorpID || ev.AgentID != "1000002" {
		t.Errorf("event %+v", ev)
	}
	if page := f.get(loc); !strings.Contains(page, "200 OK") || !strings.Contains(page, "clicked 「我已阅读并确认」") {
		t.Errorf("the inbox does not tell what the click did:\n%s", page)
	}

	// The server answers the click as notify will: it greys out the
	// button with the click's response_code, which must be one the fake
	// issued.
	if _, err := f.client.UpdateTemplateCard(context.Background(), wecom.CardUpdate{
		UserIDs: []string{"sunlei"}, ResponseCode: ev.ResponseCode, ReplaceName: "已确认"}); err != nil {
		t.Fatalf("update_template_card with the click's response_code: %v", err)
	}
	inbox = f.get(Prefix + "inbox?user=sunlei")
	if !strings.Contains(inbox, `<button class="greyed" disabled>已确认</button>`) || strings.Contains(inbox, `action="/sandbox/click"`) {
		t.Errorf("the updated card is not greyed out, or still clickable:\n%s", inbox)
	}
	if other := f.get(Prefix + "inbox?user=lina"); !strings.Contains(other, `action="/sandbox/click"`) {
		t.Error("lina's card is not clickable any more, though only sunlei's was updated")
	}

	// A click the fake refuses (the button is gone) sends nothing.
	w = f.do(http.MethodPost, Prefix+"click", url.Values{"user": {"sunlei"}, "msgid": {msgID}, "key": {"ack"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("second click: %d", w.Code)
	}
	if page := f.get(w.Header().Get("Location")); !strings.Contains(page, "refused the click") {
		t.Errorf("the refusal is not shown:\n%s", page)
	}
	if events, _ := f.app.recorded(); len(events) != 1 {
		t.Errorf("a refused click reached the server: %d callbacks", len(events))
	}
}

func TestSendSubmitsToTheAdminAPI(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"template": {"ack_card"}, "lang": {"en"}, "key": {"notice-1"}, "mode": {"dept"}, "dept": {"3"}}
	for _, fd := range DemoData("ack_card", "en") {
		form.Set("data."+fd.Name, fd.Value)
	}
	form.Set("data.Title", "Edited title")
	w := f.do(http.MethodPost, Prefix+"send", form)
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, Prefix+"sends?key=notice-1&note=") {
		t.Fatalf("send: %d %q\n%s", w.Code, loc, w.Body)
	}
	_, sends := f.app.recorded()
	if len(sends) != 1 {
		t.Fatalf("the admin API got %d sends, want 1", len(sends))
	}
	s := sends[0]
	if s.Key != "notice-1" || s.Template != "ack_card" || s.Lang != "en" || s.Data["Title"] != "Edited title" || s.Data["Version"] != "3" {
		t.Errorf("send %+v", s)
	}
	if want := f.org.Members(3); !slices.Equal(s.To, want) || len(want) != 22 {
		t.Errorf("to %v, want the %d people of 销售部 and its teams %v", s.To, len(want), want)
	}

	f.app.mu.Lock()
	f.app.results = map[string]any{"key": "notice-1", "counts": map[string]int{"sent": 1},
		"results": []map[string]any{{"user_id": "sunlei", "status": "sent", "msg_id": "m1", "at": "2026-11-23T10:15:00Z"}}}
	f.app.mu.Unlock()
	page := f.get(Prefix + "sends?key=notice-1")
	for _, want := range []string{"孙磊", `class="st-sent">sent</td>`, "waiting for 21", `http-equiv="refresh"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the results page lacks %q", want)
		}
	}
}

func TestSendFormRefusesBadInput(t *testing.T) {
	valid := func() url.Values {
		form := url.Values{"template": {"reminder"}, "lang": {"zh-CN"}, "key": {"k"}, "mode": {"people"}, "user": {"sunlei"}}
		for _, fd := range DemoData("reminder", "zh-CN") {
			form.Set("data."+fd.Name, fd.Value)
		}
		return form
	}
	tests := []struct {
		name    string
		edit    func(v url.Values)
		status  int
		want    string
		reached bool // the admin API was asked (and refused)
	}{
		{"welcome is not sendable", func(v url.Values) { v.Set("template", "welcome") }, 400, "Choose one of the templates", false},
		{"unknown language", func(v url.Values) { v.Set("lang", "fr") }, 400, "Choose a language", false},
		{"value too long", func(v url.Values) { v.Set("data.Title", strings.Repeat("长", 1000)) }, 400, "longer than 2048 bytes", false},
		{"key too long", func(v url.Values) { v.Set("key", strings.Repeat("k", 201)) }, 400, "longer than 200", false},
		{"nobody picked", func(v url.Values) { v.Del("user") }, 400, "pick at least one person", false},
		{"userid too long", func(v url.Values) { v.Set("users", strings.Repeat("u", 65)) }, 400, "is not a userid", false},
		{"unknown department", func(v url.Values) { v.Set("mode", "dept"); v.Set("dept", "99") }, 400, "choose a department", false},
		{"no audience", func(v url.Values) { v.Set("mode", "") }, 400, "choose the recipients", false},
		{"body too large", func(v url.Values) { v.Set("users", strings.Repeat("a,", 40<<10)) }, 413, "", false},
		{"refused by the server", func(v url.Values) { v.Set("key", "refuse-me") }, 400, "refused by the test", true},
		{"script in an error is escaped", func(v url.Values) { v.Set("users", "<script>x</script>"+strings.Repeat("x", 60)) }, 400, "&lt;script&gt;", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.app.refuse = "refuse-me"
			form := valid()
			tt.edit(form)
			w := f.do(http.MethodPost, Prefix+"send", form)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("%d, want %d with %q\n%s", w.Code, tt.status, tt.want, w.Body)
			}
			if strings.Contains(w.Body.String(), "<script>x") {
				t.Error("input echoed unescaped")
			}
			if _, sends := f.app.recorded(); (len(sends) > 0) != tt.reached {
				t.Errorf("the admin API got %d sends", len(sends))
			}
		})
	}
	// The valid form itself passes.
	f := newFixture(t)
	if w := f.do(http.MethodPost, Prefix+"send", valid()); w.Code != http.StatusSeeOther {
		t.Errorf("the valid form: %d\n%s", w.Code, w.Body)
	}
}

func TestSimulateSendsSignedEvents(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodPost, Prefix+"simulate", url.Values{"kind": {"change_external_contact.add_external_contact"}, "user": {"zhenghao"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), Prefix+"events?note=") {
		t.Fatalf("simulate: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	events, _ := f.app.recorded()
	if len(events) != 1 {
		t.Fatalf("%d callbacks, want 1", len(events))
	}
	ev, ok := events[0].(*wecom.ExternalContactChange)
	if !ok {
		t.Fatalf("got %T", events[0])
	}
	want, _ := f.org.Customer(ev.ExternalUserID)
	if ev.UserID != "zhenghao" || want.Contact.Name != "王阿姨" || ev.WelcomeCode == "" {
		t.Errorf("event %+v: want zhenghao adding his customer 王阿姨 with a welcome code", ev)
	}
	// The welcome code is one the fake issued: the server can use it.
	if err := f.client.SendWelcomeMessage(context.Background(), wecom.WelcomeMessage{WelcomeCode: ev.WelcomeCode, Text: "您好"}); err != nil {
		t.Errorf("send_welcome_msg with the simulated code: %v", err)
	}
	if got := f.fake.Inbox(ev.ExternalUserID); len(got) != 1 {
		t.Errorf("the customer got %d welcome messages, want 1", len(got))
	}

	w = f.do(http.MethodPost, Prefix+"simulate", url.Values{"kind": {"change_contact.create_user"}, "user": {"wangfang"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("simulate create_user: %d", w.Code)
	}
	events, _ = f.app.recorded()
	if uc, ok := events[len(events)-1].(*wecom.UserChange); !ok || uc.UserID != "wangfang" || uc.Name == nil || *uc.Name != "王芳" {
		t.Errorf("create_user event %+v", events[len(events)-1])
	}

	for _, bad := range []url.Values{
		{"kind": {"no_such_kind"}, "user": {"sunlei"}},
		{"kind": {"text"}, "user": {"ghost"}},
		{"kind": {"text"}, "user": {"sunlei"}, "content": {strings.Repeat("x", 2049)}},
	} {
		if w := f.do(http.MethodPost, Prefix+"simulate", bad); w.Code != http.StatusBadRequest {
			t.Errorf("simulate %v: %d, want 400", bad, w.Code)
		}
	}
	if events, _ := f.app.recorded(); len(events) != 2 {
		t.Errorf("refused forms reached the server: %d callbacks", len(events))
	}
}

func TestInboxRendersMessagesSafely(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	send := func(m wecom.Message) string {
		t.Helper()
		m.ToUser = []string{"lina"}
		res, err := f.client.SendMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return res.MsgID
	}
	send(wecom.Message{MsgType: wecom.MsgText, Text: &wecom.Text{Content: "first line\n<script>alert(1)</script>"}})
	send(wecom.Message{MsgType: wecom.MsgMarkdown, Markdown: &wecom.Markdown{Content: "### <font color=\"warning\">合规提醒</font>\n> 员工：<img src=x onerror=alert(2)>"}})
	recalled := send(wecom.Message{MsgType: wecom.MsgText, Text: &wecom.Text{Content: "oops"}})
	if err := f.client.RecallMessage(ctx, recalled); err != nil {
		t.Fatal(err)
	}
	page := f.get(Prefix + "inbox?user=lina")
	for _, want := range []string{
		"first line\n&lt;script&gt;alert(1)&lt;/script&gt;",
		`<div class="md-h md-h3"><span class="md-warning">合规提醒</span></div>`,
		`<blockquote class="md-quote">员工：&lt;img src=x onerror=alert(2)&gt;</blockquote>`,
		"已撤回 recalled",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("inbox lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<img") {
		t.Error("inbox contains raw markup from a message")
	}
	// Newest first: the recalled message comes before the text.
	if i, j := strings.Index(page, "oops"), strings.Index(page, "first line"); i < 0 || j < 0 || i > j {
		t.Error("the inbox is not newest first")
	}
}

func TestEventsPageShowsTheLog(t *testing.T) {
	f := newFixture(t)
	f.app.mu.Lock()
	f.app.log = []map[string]any{{"kind": "template_card_event", "dedup_key": "d1", "create_time": 1795443899,
		"received_at": "2026-11-23T10:15:00Z", "receiver": "/wecom/callback", "user_id": "sunlei", "task_id": "wc-1", "event_key": "<b>ack</b>"}}
	f.app.mu.Unlock()
	page := f.get(Prefix + "events")
	for _, want := range []string{"<code>template_card_event</code>", "孙磊", "task_id=wc-1", "event_key=&lt;b&gt;ack&lt;/b&gt;", `http-equiv="refresh"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the event log page lacks %s", want)
		}
	}
}

func TestPageGuards(t *testing.T) {
	f := newFixture(t)
	click := url.Values{"user": {"sunlei"}, "msgid": {"m"}, "key": {"ack"}}
	tests := []struct {
		name   string
		method string
		target string
		form   url.Values
		header []string
		status int
	}{
		{"home", "GET", Prefix, nil, nil, 200},
		{"every page renders", "GET", Prefix + "send?template=disclosure&lang=en", nil, nil, 200},
		{"simulate form", "GET", Prefix + "simulate", nil, nil, 200},
		{"notices", "GET", Prefix + "sends", nil, nil, 200},
		{"unknown person", "GET", Prefix + "inbox?user=ghost", nil, nil, 404},
		{"unknown page", "GET", Prefix + "nope", nil, nil, 404},
		{"GET is not a click", "GET", Prefix + "click", nil, nil, 405},
		{"cross-site POST", "POST", Prefix + "click", click, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-origin POST", "POST", Prefix + "send", url.Values{}, []string{"Origin", "https://evil.example"}, 403},
		{"same-origin POST", "POST", Prefix + "click", click, []string{"Sec-Fetch-Site", "same-origin"}, 303},
		{"click without a key", "POST", Prefix + "click", url.Values{"user": {"sunlei"}, "msgid": {"m"}}, nil, 400},
		{"a DNS name", "GET", Prefix, nil, []string{"Host", "rebind.evil.example:8080"}, 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w *httptest.ResponseRecorder
			if len(tt.header) == 2 && tt.header[0] == "Host" {
				req := httptest.NewRequest(tt.method, tt.target, nil)
				req.Host = tt.header[1]
				w = httptest.NewRecorder()
				f.page.ServeHTTP(w, req)
			} else {
				w = f.do(tt.method, tt.target, tt.form, tt.header...)
			}
			if w.Code != tt.status {
				t.Errorf("%s %s: %d, want %d\n%s", tt.method, tt.target, w.Code, tt.status, w.Body)
			}
			if w.Code == 200 && !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Error("no Content-Security-Policy")
			}
		})
	}
}

func TestNewNeedsItsParts(t *testing.T) {
	f := newFixture(t)
	cipher, _ := wecom.NewCipher(testToken, testAESKey, testCorpID)
	for i, o := range []Options{
		{Org: f.org, AppURL: "http://x", CallbackPath: "/cb", Cipher: cipher, AdminToken: "t"},
		{Fake: f.fake, AppURL: "http://x", CallbackPath: "/cb", AdminToken: "t"},
		{Fake: f.fake, Cipher: cipher, CallbackPath: "/cb", AdminToken: "t"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("options %d: New succeeded without a required part", i)
		}
	}
}
