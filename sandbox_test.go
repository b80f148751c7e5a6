package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/sandbox"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds, failing the test after 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, 20*time.Second, cond)
}

// waitFor polls cond every 20 ms until it holds, failing the test after
// within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSandbox starts a sandbox in-process on a loopback port with its
// store in dir and the demo notice at version. It stops when the test
// ends, or when the returned stop is called; a clean shutdown is asserted
// either way.
func runSandbox(t *testing.T, dir string, version int) (sb *sandboxEnv, stop func()) {
	t.Helper()
	logs := &syncBuffer{}
	sb, err := startSandbox(context.Background(), sandboxOptions{Listen: "127.0.0.1:0", Data: dir, Lang: "zh-CN", NoticeVersion: version,
		Now: testclock.New(t).Now}, logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sb.run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("sandbox stopped with %v\nlogs:\n%s", err, logs)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("sandbox did not shut down within 15s\nlogs:\n%s", logs)
			}
		})
	}
	t.Cleanup(stop)
	return sb, stop
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// pagePost POSTs a form to the sandbox page and returns the redirect.
func pagePost(t *testing.T, target string, form url.Values) string {
	t.Helper()
	resp, err := noRedirects.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303\n%s", target, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// pageGet fetches a page and returns its body; it must be 200.
func pageGet(t *testing.T, target string) string {
	t.Helper()
	resp, err := noRedirects.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", target, resp.StatusCode, body)
	}
	return string(body)
}

// adminGet calls the admin API with the sandbox's token.
func adminGet(t *testing.T, sb *sandboxEnv, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, sb.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+sb.adminToken)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// cardClicks returns the template_card_event entries of userID in the
// event log.
func cardClicks(t *testing.T, sb *sandboxEnv, userID string) []map[string]any {
	t.Helper()
	var r eventsResponse
	adminGet(t, sb, "/api/v1/events?kind=template_card_event&limit=1000", &r)
	var out []map[string]any
	for _, e := range r.Events {
		if e["user_id"] == userID {
			out = append(out, e)
		}
	}
	return out
}

// noticeCards returns the cards of the demo notice's version in user's
// inbox: the cards whose button acknowledges that version.
func noticeCards(sb *sandboxEnv, user string, version int) []wecomtest.InboxMessage {
	key := fmt.Sprintf(`"key":"ack:%s:v%d"`, sandbox.DemoNoticeID, version)
	var out []wecomtest.InboxMessage
	for _, m := range sb.fake.Inbox(user) {
		if m.MsgType == "template_card" && strings.Contains(string(m.Message), key) {
			out = append(out, m)
		}
	}
	return out
}

// sandboxAttestation is an attestation as the admin API returns it.
type sandboxAttestation struct {
	UserID  string `json:"user_id"`
	Version int    `json:"version"`
	Channel string `json:"channel"`
	TaskID  string `json:"task_id"`
}

// attestationsOf returns user's attestations of the demo notice.
func attestationsOf(t *testing.T, sb *sandboxEnv, user string) []sandboxAttestation {
	t.Helper()
	var r struct {
		Attestations []sandboxAttestation `json:"attestations"`
	}
	adminGet(t, sb, "/api/v1/attestations?notice="+sandbox.DemoNoticeID+"&user="+user, &r)
	return r.Attestations
}

// messagesOf returns user's (or a customer's) messages of msgType whose
// content or object contains text.
func messagesOf(sb *sandboxEnv, user, msgType, text string) []wecomtest.InboxMessage {
	var out []wecomtest.InboxMessage
	for _, m := range sb.fake.Inbox(user) {
		if m.MsgType == msgType && (strings.Contains(m.Content, text) || strings.Contains(string(m.Message), text)) {
			out = append(out, m)
		}
	}
	return out
}

// TestSandboxEndToEnd is what the README tells a newcomer to try, through
// the page: the notice published at start-up is in the audience's inboxes;
// one person clicks the card and it turns 已确认, another replies 确认; a
// customer who declines archiving is added: the customer gets the welcome
// message, the employee a card, the officers an alert; the compliance
// view shows it all. Then a restart on the same -data dir with version 2
// supersedes what is still open. Everything in between is the real
// server: callback handler, workers, processor, notifier, WeCom client,
// admin API, embedded store.
func TestSandboxEndToEnd(t *testing.T) {
	dir := t.TempDir()
	sb, stop := runSandbox(t, dir, 1)
	page := sb.base + sandbox.Prefix
	audience := sb.org.Audience(sb.policy)
	team := sb.org.Members(4) // 华东销售组, in the audience
	if len(team) < 4 || len(audience) < len(team) {
		t.Fatalf("department 4 has %v; the audience %v", team, audience)
	}

	// Published at start-up: everyone in the audience has the card,
	// nobody else anything.
	eventually(t, "everyone in the audience has the notice card", func() bool {
		for _, u := range audience {
			if len(noticeCards(sb, u, 1)) != 1 {
				return false
			}
		}
		return true
	})
	for _, u := range sb.org.Members(8) { // 技术部
		if n := len(sb.fake.Inbox(u)); n != 0 {
			t.Errorf("%s, outside the audience, got %d messages", u, n)
		}
	}
	// One message/send a card ([notify] card_batch = 1): every card has
	// its own response_code, so a reply 确认 greys out the replier's own.
	key := fmt.Sprintf(`ack:%s:v1`, sandbox.DemoNoticeID)
	sends := 0
	for _, req := range sb.fake.Requests() {
		if req.Path == "message/send" && strings.Contains(string(req.Body), key) {
			var b struct {
				ToUser string `json:"touser"`
			}
			if err := json.Unmarshal(req.Body, &b); err != nil || strings.Contains(b.ToUser, "|") {
				t.Errorf("a send of the notice's card to %q (%v), want one person", b.ToUser, err)
			}
			sends++
		}
	}
	if sends != len(audience) {
		t.Errorf("the publish made %d message/send calls, want one a person (%d)", sends, len(audience))
	}
	t.Logf("the publish to %d people: %d message/send calls", len(audience), sends)

	// The employee loop, by the card: click it through the page.
	person := team[1]
	card := noticeCards(sb, person, 1)[0]
	inbox := pageGet(t, page+"inbox?user="+person)
	for _, want := range []string{"请确认：会话存档告知（第 1 版）", "示例科技 合规", ">我已阅读并确认</button>",
		`name="msgid" value="` + card.MsgID + `"`, `name="key" value="ack:archive:v1"`, "task_id " + card.TaskID,
		`<td class="st-pending">pending</td>`, `action="/sandbox/reply"`, `action="/sandbox/enter"`} {
		if !strings.Contains(inbox, want) {
			t.Errorf("%s's inbox page lacks %s", person, want)
		}
	}
	loc := pagePost(t, page+"click", url.Values{"user": {person}, "msgid": {card.MsgID}, "key": {"ack:archive:v1"}})
	if after := pageGet(t, sb.base+loc); !strings.Contains(after, "200 OK") {
		t.Errorf("the page does not report the callback's 200:\n%s", after)
	}
	eventually(t, "the card turns 已确认", func() bool {
		return strings.HasPrefix(noticeCards(sb, person, 1)[0].ReplaceName, "已确认")
	})
	eventually(t, "the click's attestation", func() bool { return len(attestationsOf(t, sb, person)) == 1 })
	if a := attestationsOf(t, sb, person)[0]; a.Channel != "card" || a.Version != 1 || a.TaskID != card.TaskID {
		t.Errorf("%s's attestation %+v, want by card of task %s", person, a, card.TaskID)
	}
	inbox = pageGet(t, page+"inbox?user="+person)
	for _, want := range []string{`<button class="greyed" disabled>已确认`, `<td class="st-acknowledged">acknowledged</td>`, "Attested <code>archive</code> v1 by <b>card</b>"} {
		if !strings.Contains(inbox, want) {
			t.Errorf("after the click, %s's inbox page lacks %s", person, want)
		}
	}
	clicks := cardClicks(t, sb, person)
	if len(clicks) != 1 || clicks[0]["task_id"] != card.TaskID || clicks[0]["event_key"] != "ack:archive:v1" || clicks[0]["receiver"] != "/wecom/callback" {
		t.Errorf("event log entries of %s: %v, want one click of task %s", person, clicks, card.TaskID)
	}
	if log := pageGet(t, page+"events"); !strings.Contains(log, "task_id="+card.TaskID) {
		t.Error("the event log page does not show the click's task_id")
	}

	// The employee loop, by a reply in the app chat; and opening the app
	// lists what is still open.
	replier, opener := team[2], team[3]
	if loc := pagePost(t, page+"reply", url.Values{"user": {replier}, "content": {"确认"}}); !strings.HasPrefix(loc, sandbox.Prefix+"inbox?user="+replier+"&") {
		t.Errorf("reply redirected to %q", loc)
	}
	eventually(t, "the reply's attestation", func() bool { return len(attestationsOf(t, sb, replier)) == 1 })
	if a := attestationsOf(t, sb, replier)[0]; a.Channel != "reply" || a.Version != 1 {
		t.Errorf("%s's attestation %+v, want by reply", replier, a)
	}
	eventually(t, "the app's answer to the reply", func() bool { return len(messagesOf(sb, replier, "text", "已确认《会话存档告知》")) == 1 })
	if inbox := pageGet(t, page+"inbox?user="+replier); !strings.Contains(inbox, `<div class="bubble mine">确认</div>`) {
		t.Errorf("%s's inbox page does not show the reply they sent", replier)
	}
	pagePost(t, page+"enter", url.Values{"user": {opener}})
	eventually(t, "the open notices, on entering the app", func() bool { return len(messagesOf(sb, opener, "text", "会话存档告知")) == 1 })

	// The customer loop: the customer declines first, then the employee
	// adds them.
	var customer sandbox.Customer
	for _, c := range sb.org.Customers {
		if c.Followers[0].UserID == person {
			customer = c
			break
		}
	}
	ext := customer.Contact.ExternalUserID
	if ext == "" {
		t.Fatalf("%s follows no customer", person)
	}
	if loc := pagePost(t, page+"consent", url.Values{"user": {person}, "external": {ext}, "status": {"Disagree"}, "back": {"home"}}); !strings.HasPrefix(loc, sandbox.Prefix+"?note=") {
		t.Errorf("consent redirected to %q", loc)
	}
	if loc := pagePost(t, page+"add", url.Values{"user": {person}, "external": {ext}}); !strings.HasPrefix(loc, sandbox.Prefix+"customer?id="+ext+"&") {
		t.Errorf("add redirected to %q", loc)
	}
	eventually(t, "the customer's welcome message", func() bool { return len(messagesOf(sb, ext, "welcome", "存档")) == 1 })
	eventually(t, "the employee's consent card", func() bool {
		for _, m := range messagesOf(sb, person, "template_card", "不同意") {
			if m.CardType == "text_notice" {
				return true
			}
		}
		return false
	})
	for _, officer := range sb.org.Officers {
		eventually(t, officer+"'s alert", func() bool { return len(messagesOf(sb, officer, "markdown", ext)) == 1 })
	}
	cust := pageGet(t, page+"customer?id="+ext)
	for _, want := range []string{"欢迎语 welcome message from", "温馨提示", `<span class="st-Disagree">Disagree</span>`, `<span class="st-disagreed">disagreed</span>`} {
		if !strings.Contains(cust, want) {
			t.Errorf("the customer's page lacks %s", want)
		}
	}

	// The compliance view, from the admin API.
	comp := pageGet(t, page+"compliance")
	for _, want := range []string{"《会话存档告知》", fmt.Sprintf("acknowledged: 2 of %d", len(audience)), "the archive permit list",
		`<td><b>card</b></td>`, `<td><b>reply</b></td>`, "disagreed (1)", customer.Contact.Name, "✔ The chain verifies", "policy.consent_checked"} {
		if !strings.Contains(comp, want) {
			t.Errorf("the compliance page lacks %s", want)
		}
	}
	resp, err := noRedirects.Get(page + "attestations.csv")
	if err != nil {
		t.Fatal(err)
	}
	csvBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The officer's export: BOM, department names, the notice's title,
	// times in the console's zone. (The name column holds the store's
	// name of the person: people recorded at publish from user/list_id
	// have none until user/get or a change event names them.)
	rows, csvErr := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(csvBody), "\uFEFF"))).ReadAll()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(string(csvBody), "\uFEFF") || csvErr != nil || len(rows) < 2 || rows[0][7] != "acknowledged_at (Asia/Shanghai)" {
		t.Errorf("attestations.csv: %d %s %v\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), csvErr, csvBody)
	}
	var personRow, replyRow bool
	for _, r := range rows[min(1, len(rows)):] {
		personRow = personRow || (len(r) == 9 && r[1] == person && strings.Contains(r[2], "华东销售组") &&
			r[3] == "会话存档告知" && r[4] == "archive" && r[5] == "1")
		replyRow = replyRow || (len(r) == 9 && r[6] == "reply")
	}
	if !personRow || !replyRow {
		t.Errorf("attestations.csv lacks %s's row with department and title, or a reply:\n%s", person, csvBody)
	}

	// The send form still sends what one asks, here to 技术部.
	form := url.Values{"template": {"disclosure"}, "lang": {"zh-CN"}, "key": {"e2e-disclosure"}, "mode": {"dept"}, "dept": {"8"}}
	for _, f := range sandbox.DemoData("disclosure", "zh-CN") {
		form.Set("data."+f.Name, f.Value)
	}
	if loc := pagePost(t, page+"send", form); !strings.HasPrefix(loc, sandbox.Prefix+"sends?key=e2e-disclosure&") {
		t.Fatalf("send redirected to %q", loc)
	}
	eventually(t, "the send results are recorded", func() bool {
		var r struct {
			Counts map[string]int `json:"counts"`
		}
		adminGet(t, sb, "/api/v1/sends/e2e-disclosure", &r)
		return r.Counts["sent"] == len(sb.org.Members(8))
	})

	// The app is still the app: health, and "/" leads to the page.
	if body := pageGet(t, sb.base+"/healthz"); strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %q", body)
	}
	resp, err = noRedirects.Get(sb.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != sandbox.Prefix {
		t.Errorf("GET /: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Stop cleanly; a -data dir is kept, and the next run continues on it,
	// here with version 2 of the notice: everyone owes it and gets its
	// card (in the new run's fake WeCom), what was open of version 1 is
	// superseded, version 1's attestations stay.
	stop()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the -data dir is gone: %v", err)
	}
	sb2, _ := runSandbox(t, dir, 2)
	eventually(t, "version 2's card", func() bool { return len(noticeCards(sb2, person, 2)) == 1 && len(noticeCards(sb2, opener, 2)) == 1 })
	if clicks := cardClicks(t, sb2, person); len(clicks) != 1 {
		t.Errorf("after a restart on the same -data dir the event log has %d clicks of %s, want 1", len(clicks), person)
	}
	var obs struct {
		Obligations []struct {
			UserID  string `json:"user_id"`
			Version int    `json:"version"`
			Status  string `json:"status"`
		} `json:"obligations"`
	}
	adminGet(t, sb2, "/api/v1/obligations?notice="+sandbox.DemoNoticeID+"&limit=1000", &obs)
	got := map[string]string{}
	for _, o := range obs.Obligations {
		if o.UserID == person || o.UserID == opener {
			got[fmt.Sprintf("%s v%d", o.UserID, o.Version)] = o.Status
		}
	}
	want := map[string]string{person + " v1": "acknowledged", person + " v2": "pending", opener + " v1": "superseded", opener + " v2": "pending"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("obligations after version 2: %v, want %v", got, want)
	}
	if ats := attestationsOf(t, sb2, person); len(ats) != 1 || ats[0].Version != 1 {
		t.Errorf("%s's attestations after version 2: %+v, want version 1's", person, ats)
	}
	if comp := pageGet(t, sb2.base+sandbox.Prefix+"compliance"); !strings.Contains(comp, "<code>archive:v2</code>") {
		t.Error("the compliance page does not show version 2")
	}
}

// TestSandboxCommand runs the command as a newcomer does: it prints where
// everything is, serves, and at Ctrl-C stops and removes its temp dir.
func TestSandboxCommand(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	out, logs := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sandboxCmd(ctx, []string{"-listen", "127.0.0.1:0", "-lang", "en"}, out, logs) }()
	eventually(t, "the sandbox prints its URLs", func() bool { return strings.Contains(out.String(), "Ctrl-C") })
	text := out.String()
	find := func(label string) string {
		t.Helper()
		m := regexp.MustCompile(regexp.QuoteMeta(label) + `\s+(\S+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("the output has no %q:\n%s", label, text)
		}
		return m[1]
	}
	pageURL, callbackURL, token, fakeURL, dir := find("Sandbox page:"), find("Callback URL:"), find("Admin token:"), find("Fake WeCom API:"), find("Data dir:")
	for _, want := range []string{"Token and EncodingAESKey generated", "curl -H 'Authorization: Bearer " + token + "'", "removed at exit"} {
		if !strings.Contains(text, want) {
			t.Errorf("the output lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasSuffix(pageURL, "/sandbox/") || !strings.HasSuffix(callbackURL, "/wecom/callback") || !strings.HasSuffix(fakeURL, "/cgi-bin/") {
		t.Errorf("URLs: %s %s %s", pageURL, callbackURL, fakeURL)
	}
	if body := pageGet(t, pageURL); !strings.Contains(body, "示例科技") {
		t.Error("the sandbox page does not show the demo company")
	}
	if body := pageGet(t, pageURL+"send"); !strings.Contains(body, "Chat archiving notice") {
		t.Error("-lang en does not make the demo values English")
	}
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(pageURL, "/sandbox/")+"/api/v1/events?limit=10", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the printed admin token does not open the event log: %d", resp.StatusCode)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("data dir: %v", err)
	}
	if who := consoleSignIn(t, find("Console:"), "wangfang"); !strings.Contains(who, "王芳 (wangfang, 合规专员)") {
		t.Errorf("signing in to the printed console URL as wangfang shows %q, want 王芳 as an officer", who)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sandbox: %v\n%s", err, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the sandbox did not stop within 15s")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temp data dir %s is still there (%v)", dir, err)
	}
}

func TestSandboxFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown language", []string{"-lang", "fr"}, 2, "-lang must be zh-CN or en"},
		{"notice version 0", []string{"-notice-version", "0"}, 2, "-notice-version must be 1 to 1000"},
		{"an argument", []string{"extra"}, 2, "sandbox takes only flags"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"bad listen address", []string{"-listen", "nonsense", "-data", t.TempDir()}, 1, "server.listen"},
		{"help", []string{"-h"}, 0, "-keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"sandbox"}, tt.args...), &stdout, &stderr, nil)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
		})
	}
}

// consoleSignIn signs userID in to the console at consoleURL through the
// fake WeCom's sign-in page, as a browser would, and returns the
// "signed in as" line of the page it lands on.
func consoleSignIn(t *testing.T, consoleURL, userID string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := b.Get(consoleURL + "auth/start?via=web")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = b.PostForm(resp.Request.URL.String(), url.Values{"userid": {userID}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`id="who">([^<]*)<`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no signed-in member on %s:\n%s", resp.Request.URL, body)
	}
	return string(m[1])
}
