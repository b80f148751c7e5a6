package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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

// eventually polls cond every 20 ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSandbox starts a sandbox in-process on a loopback port with its
// store in dir. It stops when the test ends, or when the returned stop
// is called; a clean shutdown is asserted either way.
func runSandbox(t *testing.T, dir string) (sb *sandboxEnv, stop func()) {
	t.Helper()
	logs := &syncBuffer{}
	sb, err := startSandbox(context.Background(), sandboxOptions{Listen: "127.0.0.1:0", Data: dir, Lang: "zh-CN"}, logs)
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

// TestSandboxEndToEnd is what the README tells a newcomer to try, through
// the page: send the acknowledgement card to a department, see it in a
// person's inbox, click it as that person, find the click in the event
// log. Everything in between is the real server: admin API, notifier,
// workers, WeCom client, callback handler, embedded store.
func TestSandboxEndToEnd(t *testing.T) {
	dir := t.TempDir()
	sb, stop := runSandbox(t, dir)
	page := sb.base + sandbox.Prefix
	team := sb.org.Members(4) // 华东销售组
	if len(team) < 2 {
		t.Fatalf("department 4 has %v", team)
	}

	form := url.Values{"template": {"ack_card"}, "lang": {"zh-CN"}, "key": {"e2e-ack-1"}, "mode": {"dept"}, "dept": {"4"}}
	for _, f := range sandbox.DemoData("ack_card", "zh-CN") {
		form.Set("data."+f.Name, f.Value)
	}
	if loc := pagePost(t, page+"send", form); !strings.HasPrefix(loc, sandbox.Prefix+"sends?key=e2e-ack-1&") {
		t.Fatalf("send redirected to %q", loc)
	}

	cards := func(user string) []wecomtest.InboxMessage {
		var out []wecomtest.InboxMessage
		for _, m := range sb.fake.Inbox(user) {
			if m.MsgType == "template_card" {
				out = append(out, m)
			}
		}
		return out
	}
	eventually(t, "every member of the team has the card", func() bool {
		for _, u := range team {
			if len(cards(u)) != 1 {
				return false
			}
		}
		return true
	})
	for _, u := range sb.org.Members(6) { // 客户服务部 got nothing
		if n := len(sb.fake.Inbox(u)); n != 0 {
			t.Errorf("%s, outside the department, got %d messages", u, n)
		}
	}
	eventually(t, "the send results are recorded", func() bool {
		var r struct {
			Counts map[string]int `json:"counts"`
		}
		adminGet(t, sb, "/api/v1/sends/e2e-ack-1", &r)
		return r.Counts["sent"] == len(team)
	})
	if res := pageGet(t, page+"sends?key=e2e-ack-1"); !strings.Contains(res, `class="st-sent">sent</td>`) || strings.Contains(res, "waiting for") {
		t.Errorf("the results page does not show every send done:\n%s", res)
	}

	person := team[1]
	card := cards(person)[0]
	inbox := pageGet(t, page+"inbox?user="+person)
	for _, want := range []string{"请确认：会话存档告知（第 3 版）", "示例科技 合规", ">我已阅读并确认</button>",
		`name="msgid" value="` + card.MsgID + `"`, `name="key" value="ack"`, "task_id " + card.TaskID} {
		if !strings.Contains(inbox, want) {
			t.Errorf("%s's inbox page lacks %s", person, want)
		}
	}

	loc := pagePost(t, page+"click", url.Values{"user": {person}, "msgid": {card.MsgID}, "key": {"ack"}})
	if after := pageGet(t, sb.base+loc); !strings.Contains(after, "200 OK") {
		t.Errorf("the page does not report the callback's 200:\n%s", after)
	}
	eventually(t, "the click is in the event log", func() bool { return len(cardClicks(t, sb, person)) > 0 })
	clicks := cardClicks(t, sb, person)
	if len(clicks) != 1 || clicks[0]["task_id"] != card.TaskID || clicks[0]["event_key"] != "ack" || clicks[0]["receiver"] != "/wecom/callback" {
		t.Errorf("event log entries of %s: %v, want one click of task %s", person, clicks, card.TaskID)
	}
	if log := pageGet(t, page+"events"); !strings.Contains(log, "task_id="+card.TaskID) {
		t.Error("the event log page does not show the click's task_id")
	}
	if got := cards(person)[0].Clicked; got != "ack" {
		t.Errorf("the fake recorded the click as %q", got)
	}

	// The app is still the app: health, and "/" leads to the page.
	if body := pageGet(t, sb.base+"/healthz"); strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %q", body)
	}
	resp, err := noRedirects.Get(sb.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != sandbox.Prefix {
		t.Errorf("GET /: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Stop cleanly; a -data dir is kept, and the next run continues on it.
	stop()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the -data dir is gone: %v", err)
	}
	sb2, _ := runSandbox(t, dir)
	if clicks := cardClicks(t, sb2, person); len(clicks) != 1 {
		t.Errorf("after a restart on the same -data dir the event log has %d clicks of %s, want 1", len(clicks), person)
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
