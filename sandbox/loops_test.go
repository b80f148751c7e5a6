package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/wecom"
)

func TestReplyAndEnterSendChatEvents(t *testing.T) {
	f := newFixture(t)
	w := f.do(http.MethodPost, Prefix+"reply", url.Values{"user": {"lina"}, "content": {"确认"}})
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, Prefix+"inbox?user=lina&note=") {
		t.Fatalf("reply: %d %q\n%s", w.Code, loc, w.Body)
	}
	w = f.do(http.MethodPost, Prefix+"enter", url.Values{"user": {"lina"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("enter: %d\n%s", w.Code, w.Body)
	}
	events, _ := f.app.recorded()
	if len(events) != 2 {
		t.Fatalf("the server got %d callbacks, want 2", len(events))
	}
	text, ok := events[0].(*wecom.TextMessage)
	if !ok || text.FromUserName != "lina" || text.Content != "确认" || text.AgentID != "1000002" || text.ToUserName != testCorpID {
		t.Errorf("reply event %#v", events[0])
	}
	if enter, ok := events[1].(*wecom.EnterAgent); !ok || enter.FromUserName != "lina" {
		t.Errorf("enter event %#v", events[1])
	}
	// The inbox shows what lina sent, and tells what happened.
	page := f.get(w.Header().Get("Location"))
	for _, want := range []string{`<div class="bubble mine">确认</div>`, "opened the app 进入应用", "enter_agent callback was signed", "200 OK"} {
		if !strings.Contains(page, want) {
			t.Errorf("lina's inbox lacks %s", want)
		}
	}

	for name, form := range map[string]url.Values{
		"unknown person":   {"user": {"ghost"}, "content": {"确认"}},
		"empty content":    {"user": {"lina"}, "content": {" "}},
		"content too long": {"user": {"lina"}, "content": {strings.Repeat("x", maxValueBytes+1)}},
	} {
		if w := f.do(http.MethodPost, Prefix+"reply", form); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, w.Code)
		}
	}
	if w := f.do(http.MethodPost, Prefix+"enter", url.Values{"user": {"ghost"}}); w.Code != http.StatusBadRequest {
		t.Errorf("enter as nobody: %d, want 400", w.Code)
	}
	if events, _ := f.app.recorded(); len(events) != 2 {
		t.Errorf("refused forms reached the server: %d callbacks", len(events))
	}
}

func TestCustomerLoopForms(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.org.Customers[0] // 张先生, followed by sunlei
	ext := c.Contact.ExternalUserID

	// The customer's answer goes into the fake: check_single_agree says so.
	w := f.do(http.MethodPost, Prefix+"consent", url.Values{"user": {"sunlei"}, "external": {ext}, "status": {"Disagree"}})
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, Prefix+"customer?id="+ext+"&note=") {
		t.Fatalf("consent: %d %q\n%s", w.Code, loc, w.Body)
	}
	infos, err := f.client.CheckSingleAgree(ctx, []wecom.AgreeQuery{{UserID: "sunlei", ExternalOpenID: ext}})
	if err != nil || len(infos) != 1 || infos[0].Status != "Disagree" {
		t.Fatalf("check_single_agree after the form: %+v %v", infos, err)
	}
	w = f.do(http.MethodPost, Prefix+"consent", url.Values{"user": {"sunlei"}, "external": {ext}, "status": {"Agree"}, "back": {"home"}})
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, Prefix+"?note=") {
		t.Errorf("consent from the guide returns to %q, want the home page", loc)
	}

	// The add: a signed add_external_contact with a welcome code the
	// server can use once.
	w = f.do(http.MethodPost, Prefix+"add", url.Values{"user": {"sunlei"}, "external": {ext}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", w.Code, w.Body)
	}
	events, _ := f.app.recorded()
	ev, ok := events[len(events)-1].(*wecom.ExternalContactChange)
	if !ok || ev.ChangeType != "add_external_contact" || ev.UserID != "sunlei" || ev.ExternalUserID != ext || ev.WelcomeCode == "" {
		t.Fatalf("add event %#v", events[len(events)-1])
	}
	if err := f.client.SendWelcomeMessage(ctx, wecom.WelcomeMessage{WelcomeCode: ev.WelcomeCode, Text: "您好，<script>alert(1)</script> 我们会存档会话。"}); err != nil {
		t.Fatalf("send_welcome_msg with the add's code: %v", err)
	}
	f.app.script("/api/v1/consents", map[string]any{"consents": []map[string]any{
		{"user_id": "sunlei", "external_user_id": ext, "status": "agreed", "source": "check_single_agree"}}})

	if list := f.get(Prefix + "customers"); !strings.Contains(list, `<span class="st-Agree">Agree</span>`) || !strings.Contains(list, "1 message(s)") {
		t.Errorf("the customers page does not show 张先生's answer and message:\n%s", list)
	}
	page := f.get(Prefix + "customer?id=" + url.QueryEscape(ext))
	for _, want := range []string{"张先生", "欢迎语 welcome message from 孙磊 (sunlei)", "您好，&lt;script&gt;alert(1)&lt;/script&gt; 我们会存档会话。",
		`<span class="st-Agree">Agree</span>`, `<span class="st-agreed">agreed</span>`, `action="/sandbox/add"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the customer's page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("the customer's page contains a raw <script>")
	}

	n := len(events)
	for name, form := range map[string]url.Values{
		"unknown customer": {"user": {"sunlei"}, "external": {"wmNobody"}, "status": {"Agree"}},
		"unknown person":   {"user": {"ghost"}, "external": {ext}, "status": {"Agree"}},
		"bad status":       {"user": {"sunlei"}, "external": {ext}, "status": {"Maybe"}},
	} {
		if w := f.do(http.MethodPost, Prefix+"consent", form); w.Code != http.StatusBadRequest {
			t.Errorf("consent, %s: %d, want 400", name, w.Code)
		}
	}
	if w := f.do(http.MethodPost, Prefix+"add", url.Values{"user": {"sunlei"}, "external": {"wmNobody"}}); w.Code != http.StatusBadRequest {
		t.Errorf("add an unknown customer: %d, want 400", w.Code)
	}
	if events, _ := f.app.recorded(); len(events) != n {
		t.Errorf("refused forms reached the server: %d callbacks, want %d", len(events), n)
	}
	if w := f.do(http.MethodGet, Prefix+"customer?id=wmNobody", nil); w.Code != http.StatusNotFound {
		t.Errorf("an unknown customer's page: %d, want 404", w.Code)
	}
}

// scriptPolicy makes the stub answer the policy API as a server with one
// notice, half acknowledged, would.
func scriptPolicy(f *fixture) {
	f.app.script("/api/v1/notices", map[string]any{"notices": []map[string]any{{
		"id": "archive", "version": 2, "key": "archive:v2", "title": "会话存档告知<script>", "template": "ack_card",
		"languages": []string{"zh-CN", "en"}, "due_days": 7,
		"audience": map[string]any{"permit_list": true, "departments": []int64{3}},
		"coverage": map[string]any{"audience": 4, "acknowledged": 2, "pending": 1, "overdue": 1, "superseded": 3, "ratio": 0.5},
	}}})
	f.app.script("/api/v1/obligations", map[string]any{"obligations": []map[string]any{
		{"user_id": "lina", "notice_id": "archive", "version": 2, "status": "pending", "reason": "published",
			"created_at": "2026-11-20T02:00:00Z", "due_at": "2026-11-27T02:00:00Z"},
		{"user_id": "sunlei", "notice_id": "archive", "version": 2, "status": "acknowledged", "reason": "published",
			"created_at": "2026-11-20T02:00:00Z", "due_at": "2026-11-27T02:00:00Z", "acknowledged_at": "2026-11-21T02:00:00Z", "closed_reason": "card_clicked"},
	}, "next_cursor": ""})
	f.app.script("/api/v1/attestations", map[string]any{"attestations": []map[string]any{
		{"user_id": "sunlei", "notice_id": "archive", "version": 2, "content_hash": "0123456789abcdef0123", "channel": "card",
			"create_time": 1795443899, "received_at": "2026-11-21T02:00:00Z", "task_id": "wc-task-1"},
	}})
	f.app.script("/api/v1/consents", map[string]any{"consents": []map[string]any{
		{"user_id": "sunlei", "external_user_id": f.org.Customers[0].Contact.ExternalUserID, "status": "disagreed", "source": "check_single_agree"},
	}})
	f.app.script("/api/v1/audit/verify", map[string]any{"entries": 25, "ok": true, "head": "feedfacecafebeef0011"})
	f.app.script("/api/v1/audit", map[string]any{"entries": []map[string]any{
		{"seq": 24, "at": "2026-11-21T02:00:00Z", "kind": "attestation", "subject": "sunlei", "hash": "aaaa",
			"data": map[string]any{"event": "template_card_event", "action": "Acknowledge", "reason": "card_clicked", "count": 1}},
		{"seq": 25, "at": "2026-11-21T02:00:01Z", "kind": "delivery", "subject": "sunlei", "hash": "bbbb",
			"data": map[string]any{"event": "template_card_event", "action": "UpdateCard", "reason": "card_clicked", "count": 1}},
	}})
}

func TestComplianceViewReadsTheAdminAPI(t *testing.T) {
	f := newFixture(t)
	scriptPolicy(f)
	page := f.get(Prefix + "compliance")
	for _, want := range []string{
		"《会话存档告知&lt;script&gt;》", "<code>archive:v2</code>", "the archive permit list &#43; 示例科技 / 销售部",
		`<i style="width:50%"></i>`, "acknowledged: 2 of 4", "overdue 1",
		`<td class="st-acknowledged">acknowledged</td>`, `<td class="st-pending">pending</td>`, "李娜", "(card_clicked)",
		`<td><b>card</b></td>`, "wc-task-1", "0123456789ab…", `href="/sandbox/attestations.csv"`,
		"disagreed (1)", "张先生", "✔ The chain verifies</span>: 25 entries", "template_card_event</code> → UpdateCard",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the compliance page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("the compliance page contains a raw <script>")
	}
	// The latest entries: after = entries − shown; newest first.
	if q := f.app.query("/api/v1/audit"); q.Get("after") != "5" || q.Get("limit") != "20" {
		t.Errorf("audit queried with %v, want after=5&limit=20", q)
	}
	if i, j := strings.Index(page, "UpdateCard"), strings.Index(page, "→ Acknowledge"); i < 0 || j < 0 || i > j {
		t.Error("the audit entries are not newest first")
	}
	// The acknowledgement, the latest change, comes first.
	if i, j := strings.Index(page, ">孙磊</a> <span class=\"mono\">sunlei</span></td><td><code>archive</code>"), strings.Index(page, ">李娜</a>"); i < 0 || j < 0 || i > j {
		t.Error("the obligations are not latest change first")
	}
	if f.get(Prefix + "compliance?status=pending"); f.app.query("/api/v1/obligations").Get("status") != "pending" {
		t.Errorf("the status filter is not passed on: %v", f.app.query("/api/v1/obligations"))
	}

	// A broken chain is shown as such (409 from verify).
	f.app.script("/api/v1/audit/verify", stubAnswer{Status: http.StatusConflict, ContentType: "application/json",
		Body: `{"entries":25,"ok":false,"first_bad":7,"problem":"hash mismatch","head":"x"}`})
	if page := f.get(Prefix + "compliance"); !strings.Contains(page, "does not verify</span> at entry 7: hash mismatch") {
		t.Error("a broken audit chain is not shown")
	}
	// An API that fails leaves an error on the page, not a 500.
	f.app.script("/api/v1/notices", stubAnswer{Status: http.StatusServiceUnavailable, ContentType: "application/json", Body: `{"error":"store unavailable"}`})
	if page := f.get(Prefix + "compliance"); !strings.Contains(page, "503 Service Unavailable: store unavailable") {
		t.Error("a failing notices API is not reported")
	}
}

func TestHomeGuidesBothLoops(t *testing.T) {
	f := newFixture(t)
	scriptPolicy(f)
	page := f.get(Prefix)
	ext := f.org.Customers[0].Contact.ExternalUserID
	for _, want := range []string{
		"The employee loop", "《会话存档告知&lt;script&gt;》 version 2", "4 people owe it, 2 have acknowledged it",
		`href="/sandbox/inbox?user=sunlei"`, `href="/sandbox/inbox?user=lina"`, "Reply “确认”",
		"The customer loop", `<input type="hidden" name="status" value="Disagree">`, `<input type="hidden" name="external" value="` + ext + `">`,
		`action="/sandbox/add"`, "王芳", "陈静", "-notice-version 2",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the home page lacks %s", want)
		}
	}
}

func TestInboxShowsThePersonsRecord(t *testing.T) {
	f := newFixture(t)
	f.app.script("/api/v1/people/sunlei", map[string]any{
		"user_id": "sunlei",
		"obligations": []map[string]any{{"user_id": "sunlei", "notice_id": "archive", "version": 1, "status": "acknowledged",
			"created_at": "2026-11-20T02:00:00Z", "acknowledged_at": "2026-11-21T02:00:00Z", "closed_reason": "reply_ack"}},
		"attestations": []map[string]any{{"user_id": "sunlei", "notice_id": "archive", "version": 1, "channel": "reply",
			"received_at": "2026-11-21T02:00:00Z", "content_hash": "abc"}},
		"consents": []map[string]any{{"user_id": "sunlei", "external_user_id": f.org.Customers[0].Contact.ExternalUserID, "status": "disagreed", "source": "check_single_agree"}},
	})
	page := f.get(Prefix + "inbox?user=sunlei")
	for _, want := range []string{`<td class="st-acknowledged">acknowledged</td>`, "(reply_ack)", "Attested <code>archive</code> v1 by <b>reply</b>",
		`Customer 张先生: <span class="st-disagreed">disagreed</span>`, `Reply “确认” 回复`, `Reply “ack” 回复`, `http-equiv="refresh"`} {
		if !strings.Contains(page, want) {
			t.Errorf("sunlei's inbox lacks %s", want)
		}
	}
	// Someone the server knows nothing of (404) owes nothing; a paused
	// page does not refresh, so one can type.
	page = f.get(Prefix + "inbox?user=lina&pause=1")
	if !strings.Contains(page, "Owes no notice.") || strings.Contains(page, `http-equiv="refresh"`) || !strings.Contains(page, "Auto-refresh is paused") {
		t.Error("lina's paused inbox: want no record, no refresh")
	}
}

func TestAttestationsCSVIsPassedThrough(t *testing.T) {
	f := newFixture(t)
	const csv = "user_id,notice_id,version\nsunlei,archive,1\n"
	f.app.script("/api/v1/attestations", stubAnswer{Status: http.StatusOK, ContentType: "text/csv; charset=utf-8", Body: csv})
	w := f.do(http.MethodGet, Prefix+"attestations.csv?notice=archive&version=1", nil)
	if w.Code != http.StatusOK || w.Body.String() != csv || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "attestations.csv") {
		t.Errorf("csv: %d %v\n%s", w.Code, w.Header(), w.Body)
	}
	if q := f.app.query("/api/v1/attestations"); q.Get("format") != "csv" || q.Get("notice") != "archive" || q.Get("version") != "1" ||
		q.Has("view") || q.Has("lang") {
		t.Errorf("the export was asked with %v", q)
	}
	f.do(http.MethodGet, Prefix+"attestations.csv?view=engineer&lang=zh-CN", nil)
	if q := f.app.query("/api/v1/attestations"); q.Get("view") != "engineer" || q.Get("lang") != "zh-CN" {
		t.Errorf("the view and language are not passed on: %v", q)
	}
	for _, bad := range []string{"?notice=../x", "?version=0", "?version=x", "?view=auditor", "?lang=fr"} {
		if w := f.do(http.MethodGet, Prefix+"attestations.csv"+bad, nil); w.Code != http.StatusBadRequest {
			t.Errorf("attestations.csv%s: %d, want 400", bad, w.Code)
		}
	}
	f.app.script("/api/v1/attestations", stubAnswer{Status: http.StatusServiceUnavailable, ContentType: "application/json", Body: `{"error":"store unavailable"}`})
	if w := f.do(http.MethodGet, Prefix+"attestations.csv", nil); w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "503") {
		t.Errorf("a failing export: %d %s, want 502", w.Code, w.Body)
	}
}

func TestNewRoutesKeepTheGuards(t *testing.T) {
	f := newFixture(t)
	ext := f.org.Customers[0].Contact.ExternalUserID
	consent := url.Values{"user": {"sunlei"}, "external": {ext}, "status": {"Disagree"}}
	for _, tt := range []struct {
		method, target string
		form           url.Values
		header         []string
		status         int
	}{
		{"GET", Prefix + "customers", nil, nil, 200},
		{"GET", Prefix + "compliance", nil, nil, 200},
		{"GET", Prefix + "reply", nil, nil, 405},
		{"GET", Prefix + "consent", nil, nil, 405},
		{"POST", Prefix + "consent", consent, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"POST", Prefix + "add", consent, []string{"Origin", "https://evil.example"}, 403},
		{"POST", Prefix + "reply", url.Values{"user": {"sunlei"}, "content": {"确认"}}, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"POST", Prefix + "enter", url.Values{"user": {"sunlei"}}, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"POST", Prefix + "consent", consent, []string{"Sec-Fetch-Site", "same-origin"}, 303},
	} {
		w := f.do(tt.method, tt.target, tt.form, tt.header...)
		if w.Code != tt.status {
			t.Errorf("%s %s %v: %d, want %d", tt.method, tt.target, tt.header, w.Code, tt.status)
		}
	}
	if events, _ := f.app.recorded(); len(events) != 0 {
		t.Errorf("refused requests reached the server: %d callbacks", len(events))
	}
}

func TestDemoPolicy(t *testing.T) {
	o := Demo()
	p := o.DemoPolicy("en", 2)
	if p.NoticeID != "archive" || p.Version != 2 || p.Title != "Chat archiving notice" || !strings.HasSuffix(p.URL, "/archive/2") ||
		!slices.Equal(p.Officers, o.Officers) || p.DueDays != 7 || p.ConsentPolicyURL == "" {
		t.Errorf("policy %+v", p)
	}
	if zh := o.DemoPolicy("fr", 1); zh.Title != "会话存档告知" {
		t.Errorf("a language without texts: %q, want the Chinese title", zh.Title)
	}
	// The audience is the permit list (sales and customer service) and
	// 销售部: sales is on the permit list, so it is the permit list.
	got := o.Audience(p)
	if len(got) != len(o.Permit) || !slices.Contains(got, "sunlei") || !slices.Contains(got, "lvfang") || slices.Contains(got, "zoukai") {
		t.Errorf("audience %v, want the %d of the permit list", got, len(o.Permit))
	}
	if d := o.DescribeAudience(p); d != "the archive permit list + 示例科技 / 销售部" {
		t.Errorf("DescribeAudience = %q", d)
	}
}
