package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// The fake WeCom's secrets for the policy tests.
const (
	contactsSecret = "contacts-secret-for-tests"
	customerSecret = "customer-secret-for-tests"
	archiveSecret  = "archive-secret-for-tests"
)

// policyCompany starts the fake WeCom with a small company: the root
// department 1, Sales (2) under it and East Sales (3) under Sales;
// zhangsan in East Sales and in the archive permit list, wangwu in the
// root, and wangfang, the compliance officer. Its clock is the suite's
// (testclock.New).
func policyCompany(t *testing.T) *wecomtest.Server {
	t.Helper()
	return policyCompanyAt(t, testclock.New(t))
}

// policyCompanyAt is policyCompany on the clock clk.
func policyCompanyAt(t *testing.T, clk *testclock.Clock) *wecomtest.Server {
	t.Helper()
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{CorpID: testCorpID, Apps: map[string]wecomtest.AppConfig{
		"app": {Secret: testAppSecret, AgentID: 1000002}, "contacts": {Secret: contactsSecret},
		"customer": {Secret: customerSecret}, "archive": {Secret: archiveSecret},
	}, Now: clk.Now})
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "示例科技"})
	fake.AddDepartment(wecomtest.Department{ID: 2, Name: "销售部", ParentID: 1})
	fake.AddDepartment(wecomtest.Department{ID: 3, Name: "华东销售组", ParentID: 2})
	for _, u := range []wecomtest.User{
		{UserID: "zhangsan", Name: "张三", Department: []int64{3}},
		{UserID: "wangwu", Name: "王五", Department: []int64{1}},
		{UserID: "wangfang", Name: "王芳", Department: []int64{1}},
	} {
		fake.AddUser(u)
	}
	fake.SetPermitUsers([]string{"zhangsan"})
	return fake
}

// writePolicyConfig writes a config with the archive notice at version v,
// for Sales and its sub-departments, against the fake WeCom, with its
// data in dataDir (so a restart keeps it).
func writePolicyConfig(t *testing.T, apiURL, dataDir string, v int) string {
	t.Helper()
	return writePolicyConfigStore(t, apiURL, dataDir, v, "")
}

// writePolicyConfigStore is writePolicyConfig on Redis when redisURL is
// set.
func writePolicyConfigStore(t *testing.T, apiURL, dataDir string, v int, redisURL string) string {
	t.Helper()
	backend := "embedded"
	if redisURL != "" {
		backend = "redis"
	}
	cfg := fmt.Sprintf(`
[server]
listen = "127.0.0.1:0"
[log]
level = "debug"
[wecom]
corp_id = %q
agent_id = 1000002
api_timeout = "1s"
secret = %q
contacts_secret = %q
customer_secret = %q
archive_secret = %q
api_base_url = %q
[[wecom.callback]]
path = "/wecom/callback"
token = %q
encoding_aes_key = %q
[store]
backend = %q
path = %q
redis_url = %q
lease = "2s"
[workers]
retry_backoff = "100ms"
[policy]
company = "示例科技"
officers = ["wangfang"]
consent_policy = "请勿在企业微信中讨论交易细节。"
consent_policy_url = "https://compliance.example.com/policy/archive"
[[notices]]
id = "archive"
version = %d
title = "会话存档告知"
template = "ack_card"
languages = ["zh-CN", "en"]
summary = "公司将存档您与客户的企业微信会话。"
url = "https://compliance.example.com/notices/archive"
due_days = 7
[notices.audience]
departments = [2]
[disclosure]
controller = "示例科技有限公司"
contact = "合规部 privacy@example.com"
purpose = "业务留痕与纠纷处理"
retention = "3 年"
rights_url = "https://compliance.example.com/privacy/rights"
[admin]
tokens = [%q]
`, testCorpID, testAppSecret, contactsSecret, customerSecret, archiveSecret, apiURL, testToken, testKey,
		backend, filepath.Join(dataDir, "wecomply.db"), redisURL, v, testAdmin)
	p := filepath.Join(t.TempDir(), "wecomply.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// editConfig replaces, in the config file at path, each old string of
// pairs with the new one after it; each must occur.
func editConfig(t *testing.T, path string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(cfg, pairs[i]) {
			t.Fatalf("config has no %q to replace", pairs[i])
		}
		cfg = strings.Replace(cfg, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// apiGet GETs an admin API path and decodes the JSON answer into v.
func apiGet(t *testing.T, base, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// auditEntry is an entry of GET /api/v1/audit.
type auditEntry struct {
	Kind    string          `json:"kind"`
	Subject string          `json:"subject"`
	Data    json.RawMessage `json:"data"`
}

// auditLog returns the audit log's first 1,000 entries, oldest first.
func auditLog(t *testing.T, base string) []auditEntry {
	t.Helper()
	var audit struct {
		Entries []auditEntry `json:"entries"`
	}
	if code := apiGet(t, base, "/api/v1/audit?limit=1000", &audit); code != http.StatusOK {
		t.Fatalf("GET /api/v1/audit: %d", code)
	}
	return audit.Entries
}

// cards returns a person's template cards in the fake WeCom.
func cards(fake *wecomtest.Server, user string) []wecomtest.InboxMessage {
	var out []wecomtest.InboxMessage
	for _, m := range fake.Inbox(user) {
		if m.MsgType == "template_card" {
			out = append(out, m)
		}
	}
	return out
}

// markdowns counts the markdown messages in user's inbox that contain
// every one of texts.
func markdowns(fake *wecomtest.Server, user string, texts ...string) int {
	n := 0
	for _, m := range fake.Inbox(user) {
		if m.MsgType == "markdown" && !slices.ContainsFunc(texts, func(s string) bool { return !strings.Contains(m.Content, s) }) {
			n++
		}
	}
	return n
}

// postEvent signs and POSTs an event to the app's callback, as WeCom
// does: signed at its CreateTime, which is the suite clock's now when
// spec has none (a click the fake made has the fake's).
func postEvent(t *testing.T, base string, spec wecomtest.EventSpec) []byte {
	t.Helper()
	spec.CorpID = testCorpID
	if spec.CreateTime == 0 {
		spec.CreateTime = testclock.New(t).Now().Unix()
	}
	plain, err := wecomtest.BuildEvent(spec)
	if err != nil {
		t.Fatal(err)
	}
	s := sender(t, base, "/wecom/callback", testToken, testKey)
	s.Now = func() time.Time { return time.Unix(spec.CreateTime, 0) }
	postWith(t, s, plain)
	return plain
}

// postPlain signs plain on the suite's clock and POSTs it to the app's
// callback.
func postPlain(t *testing.T, base string, plain []byte) {
	t.Helper()
	postWith(t, sender(t, base, "/wecom/callback", testToken, testKey), plain)
}

func postWith(t *testing.T, s *wecomtest.Sender, plain []byte) {
	t.Helper()
	status, body, err := s.Post(context.Background(), plain)
	if err != nil || status != 200 {
		t.Fatalf("callback: %d %s %v", status, body, err)
	}
}

type attestationsResponse struct {
	Attestations []struct {
		UserID      string `json:"user_id"`
		NoticeID    string `json:"notice_id"`
		Version     int    `json:"version"`
		ContentHash string `json:"content_hash"`
		Channel     string `json:"channel"`
		TaskID      string `json:"task_id"`
	} `json:"attestations"`
}

// TestEmployeeLoop runs the employee loop through the real HTTP callback
// against the fake WeCom: the published notice reaches the audience (and
// its sub-department); a new member owes it and gets the card; their click
// is attested once, however often it comes, and the card turns
// "acknowledged"; a new version supersedes what is still open and is owed
// again; the audit chain verifies.
func TestEmployeeLoop(t *testing.T) {
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			redisURL := ""
			if backend == "redis" {
				redisURL = redistest.Start(t)
			}
			employeeLoop(t, redisURL)
		})
	}
}

func employeeLoop(t *testing.T, redisURL string) {
	fake := policyCompany(t)
	base := startApp(t, writePolicyConfigStore(t, fake.URL, t.TempDir(), 1, redisURL), io.Discard)

	// Published at start-up: zhangsan (East Sales, under Sales) owes it;
	// wangwu (not in Sales) does not.
	eventually(t, "zhangsan's card", func() bool { return len(cards(fake, "zhangsan")) == 1 })
	if c := string(cards(fake, "zhangsan")[0].Message); !strings.Contains(c, `"keyname":"处理者","value":"示例科技有限公司"`) {
		t.Errorf("the card lacks the [disclosure] lines: %s", c)
	}
	if n := len(cards(fake, "wangwu")); n != 0 {
		t.Errorf("wangwu, outside the audience, got %d cards", n)
	}

	// A new member of Sales: create_user → an obligation and a card.
	fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{2}})
	postEvent(t, base, wecomtest.EventSpec{Kind: "change_contact.create_user", UserID: "lisi", Department: "2"})
	eventually(t, "lisi's card", func() bool { return len(cards(fake, "lisi")) == 1 })
	card := cards(fake, "lisi")[0]

	// lisi clicks; the click arrives twice (WeCom's retry) and a second,
	// distinct click arrives too: one attestation.
	click, err := fake.Click("lisi", card.MsgID, "ack:archive:v1")
	if err != nil {
		t.Fatalf("click: %v (the card's button key must name the notice version)", err)
	}
	plain, err := wecomtest.BuildEvent(click.Spec())
	if err != nil {
		t.Fatal(err)
	}
	postPlain(t, base, plain)
	postPlain(t, base, plain)
	second := click.Spec()
	second.CreateTime++
	second.ResponseCode = "another-code"
	postEvent(t, base, second)

	// Both clicks processed (the retry was dropped as a duplicate when it
	// came), then: one attestation.
	eventually(t, "both clicks processed", func() bool { return processed(t, base, "template_card_event") >= 2 })
	var ats attestationsResponse
	apiGet(t, base, "/api/v1/attestations?user=lisi", &ats)
	if len(ats.Attestations) != 1 {
		t.Fatalf("lisi has %d attestations, want 1", len(ats.Attestations))
	}
	a := ats.Attestations[0]
	if a.NoticeID != "archive" || a.Version != 1 || a.Channel != "card" || a.ContentHash == "" || a.TaskID != card.TaskID {
		t.Errorf("attestation %+v (card task id %s)", a, card.TaskID)
	}
	// The card turned "acknowledged" in place.
	eventually(t, "lisi's card updated", func() bool {
		c := cards(fake, "lisi")
		return len(c) == 1 && strings.Contains(c[0].ReplaceName, "已确认")
	})

	// zhangsan replies the word instead of clicking: attested by reply,
	// with the content hash of the card he was shown, and his card turns
	// "acknowledged" as after a click.
	postEvent(t, base, wecomtest.EventSpec{Kind: "text", UserID: "zhangsan", Content: " 确认。"})
	eventually(t, "zhangsan's reply attestation", func() bool {
		apiGet(t, base, "/api/v1/attestations?user=zhangsan", &ats)
		return len(ats.Attestations) == 1 && ats.Attestations[0].Channel == "reply"
	})
	if h := ats.Attestations[0].ContentHash; len(h) != 64 {
		t.Errorf("the reply's content hash %q, want the card's (processor tests check it is the very card's)", h)
	}
	eventually(t, "zhangsan's card updated", func() bool {
		c := cards(fake, "zhangsan")
		return len(c) == 1 && strings.Contains(c[0].ReplaceName, "已确认")
	})
	eventually(t, "the reply's confirmation", func() bool {
		for _, m := range fake.Inbox("zhangsan") {
			if m.MsgType == "text" && strings.Contains(m.Content, "已确认") {
				return true
			}
		}
		return false
	})
	// Someone who still owes it opens the app: told what is open.
	fake.AddUser(wecomtest.User{UserID: "zhaoliu", Name: "赵六", Department: []int64{3}})
	postEvent(t, base, wecomtest.EventSpec{Kind: "change_contact.create_user", UserID: "zhaoliu", Department: "3"})
	eventually(t, "zhaoliu's card", func() bool { return len(cards(fake, "zhaoliu")) == 1 })
	postEvent(t, base, wecomtest.EventSpec{Kind: "enter_agent", UserID: "zhaoliu"})
	eventually(t, "zhaoliu's list of open notices", func() bool {
		for _, m := range fake.Inbox("zhaoliu") {
			if m.MsgType == "text" && strings.Contains(m.Content, "会话存档告知") {
				return true
			}
		}
		return false
	})

	// Coverage: three owe version 1, two acknowledged.
	var notices struct {
		Notices []struct {
			Key      string         `json:"key"`
			Coverage map[string]any `json:"coverage"`
		} `json:"notices"`
	}
	apiGet(t, base, "/api/v1/notices", &notices)
	if len(notices.Notices) != 1 || notices.Notices[0].Coverage["audience"] != float64(3) || notices.Notices[0].Coverage["acknowledged"] != float64(2) {
		t.Errorf("notices %+v", notices)
	}
	var report struct {
		OK      bool   `json:"ok"`
		Entries uint64 `json:"entries"`
	}
	if status := apiGet(t, base, "/api/v1/audit/verify", &report); status != 200 || !report.OK || report.Entries == 0 {
		t.Errorf("audit verify: %d %+v", status, report)
	}
}

// TestNewVersionIsOwedAgain: a restart with the notice at version 2
// supersedes what is still open of version 1, keeps version 1's
// attestations, and everyone in the audience owes version 2 — once,
// however often the server restarts.
func TestNewVersionIsOwedAgain(t *testing.T) {
	fake := policyCompany(t)
	fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{2}})
	data := t.TempDir()
	v1 := writePolicyConfig(t, fake.URL, data, 1)
	// runUntil runs a server until done and its queue is drained: all it
	// was given to do at start-up is done.
	runUntil := func(cfg string, done func(base string) bool) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		base, stopped := startAppCtx(t, ctx, cfg)
		eventually(t, "the server's work", func() bool { return done(base) && drained(t, base) })
		cancel()
		<-stopped
	}
	// Version 1: both get a card; lisi acknowledges.
	runUntil(v1, func(base string) bool {
		if len(cards(fake, "lisi")) != 1 || len(cards(fake, "zhangsan")) != 1 {
			return false
		}
		c := cards(fake, "lisi")[0]
		if c.ReplaceName == "" {
			if click, err := fake.Click("lisi", c.MsgID, "ack:archive:v1"); err == nil {
				plain, _ := wecomtest.BuildEvent(click.Spec())
				postPlain(t, base, plain)
			}
		}
		var ats attestationsResponse
		apiGet(t, base, "/api/v1/attestations?notice=archive&version=1", &ats)
		return len(ats.Attestations) == 1
	})
	// Version 2, twice (a restart): each person gets one v2 card.
	v2 := writePolicyConfig(t, fake.URL, data, 2)
	for range 2 {
		runUntil(v2, func(base string) bool { return len(cards(fake, "lisi")) == 2 && len(cards(fake, "zhangsan")) == 2 })
	}
	if len(cards(fake, "lisi")) != 2 || len(cards(fake, "zhangsan")) != 2 {
		t.Fatalf("cards after two starts at v2: lisi %d, zhangsan %d; want 2 each", len(cards(fake, "lisi")), len(cards(fake, "zhangsan")))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, _ := startAppCtx(t, ctx, v2)
	var obs struct {
		Obligations []struct {
			UserID  string `json:"user_id"`
			Version int    `json:"version"`
			Status  string `json:"status"`
		} `json:"obligations"`
	}
	apiGet(t, base, "/api/v1/obligations?notice=archive", &obs)
	got := map[string]string{}
	for _, o := range obs.Obligations {
		got[fmt.Sprintf("%s v%d", o.UserID, o.Version)] = o.Status
	}
	want := map[string]string{"lisi v1": "acknowledged", "zhangsan v1": "superseded", "lisi v2": "pending", "zhangsan v2": "pending"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("obligations %v, want %v", got, want)
	}
	var ats attestationsResponse
	apiGet(t, base, "/api/v1/attestations?notice=archive", &ats)
	if len(ats.Attestations) != 1 || ats.Attestations[0].Version != 1 {
		t.Errorf("attestations %+v, want lisi's of version 1 only", ats.Attestations)
	}
}

// TestCustomerLoop: an employee in the permit list adds a customer who has
// declined archiving: the customer gets the disclosure welcome message
// within the welcome code's 20 s, the employee a card saying the chat is
// not archived, the compliance officer an alert.
func TestCustomerLoop(t *testing.T) {
	clk := testclock.New(t)
	fake := policyCompanyAt(t, clk)
	fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmCustomer1", Name: "张先生", Type: 1},
		wecomtest.FollowUser{UserID: "zhangsan", CreateTime: clk.Now().Unix()})
	fake.SetAgree("zhangsan", "wmCustomer1", "Disagree", clk.Now())
	base := startAppAt(t, clk, writePolicyConfig(t, fake.URL, t.TempDir(), 1), io.Discard)

	code := fake.IssueWelcomeCode("zhangsan", "wmCustomer1")
	sent := time.Now()
	postEvent(t, base, wecomtest.EventSpec{Kind: "change_external_contact.add_external_contact", UserID: "zhangsan",
		ExternalUserID: "wmCustomer1", WelcomeCode: code})
	eventually(t, "the welcome message", func() bool { return len(fake.Inbox("wmCustomer1")) == 1 })
	if d := time.Since(sent); d > 20*time.Second {
		t.Errorf("welcome sent after %s, beyond the code's 20 s", d)
	}
	if w := fake.Inbox("wmCustomer1")[0]; w.MsgType != "welcome" || !strings.Contains(string(w.Message), "存档") || !strings.Contains(string(w.Message), "张三") {
		t.Errorf("welcome %+v", w)
	}
	// It says what PIPL Art. 17 asks, from [disclosure].
	if w := string(fake.Inbox("wmCustomer1")[0].Message); !strings.Contains(w, "个人信息处理者：示例科技有限公司（联系方式：合规部 privacy@example.com）") ||
		!strings.Contains(w, "https://compliance.example.com/privacy/rights") {
		t.Errorf("the welcome lacks the disclosure: %s", w)
	}

	// The consent check finds "Disagree": the employee gets a card, the
	// officer an alert.
	eventually(t, "the employee's consent card", func() bool {
		for _, m := range cards(fake, "zhangsan") {
			if m.CardType == "text_notice" && strings.Contains(string(m.Message), "不同意") {
				return true
			}
		}
		return false
	})
	defer func() {
		if t.Failed() {
			for _, m := range fake.Inbox("wangfang") {
				t.Logf("wangfang: %s %q", m.MsgType, m.Content)
			}
		}
	}()
	eventually(t, "the officer's alert", func() bool { return markdowns(fake, "wangfang", "张先生（wmCustomer1）", "张三") > 0 })
	var consents struct {
		Consents []struct {
			UserID         string `json:"user_id"`
			ExternalUserID string `json:"external_user_id"`
			Status         string `json:"status"`
		} `json:"consents"`
	}
	apiGet(t, base, "/api/v1/consents?status=disagreed", &consents)
	if len(consents.Consents) != 1 || consents.Consents[0].ExternalUserID != "wmCustomer1" {
		t.Errorf("consents %+v", consents)
	}
}

// TestAuditVerifyDetectsTampering: the audit log of a real run verifies,
// with the CLI and the API; an entry edited in the store's file is found.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	fake := policyCompany(t)
	data := t.TempDir()
	cfg := writePolicyConfig(t, fake.URL, data, 1)
	ctx, cancel := context.WithCancel(context.Background())
	_, stopped := startAppCtx(t, ctx, cfg)
	eventually(t, "zhangsan's card", func() bool { return len(cards(fake, "zhangsan")) == 1 })
	cancel()
	<-stopped

	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"audit", "verify", "-config", cfg}, &out, &errOut, nil); code != 0 || !strings.Contains(out.String(), "audit log ok") {
		t.Fatalf("verify an untouched log: exit %d\n%s%s", code, out.String(), errOut.String())
	}

	// Someone edits an entry in the file: zhangsan becomes zhangsi.
	db, err := bolt.Open(filepath.Join(data, "wecomply.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var edited uint64
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if i := strings.Index(string(v), "zhangsan"); i >= 0 {
				edited = binary.BigEndian.Uint64(k)
				nv := []byte(string(v[:i]) + "zhangsi" + string(v[i+len("zhangsan"):]))
				return b.Put(append([]byte(nil), k...), nv)
			}
		}
		return fmt.Errorf("no audit entry names zhangsan")
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code := run(context.Background(), []string{"audit", "verify", "-config", cfg}, &out, &errOut, nil)
	if code != 1 || !strings.Contains(out.String(), fmt.Sprintf("BROKEN at entry %d", edited)) {
		t.Errorf("verify an edited log: exit %d, %q; want exit 1 naming entry %d", code, out.String(), edited)
	}
	// The API says the same.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	base, _ := startAppCtx(t, ctx2, cfg)
	var report struct {
		OK       bool   `json:"ok"`
		FirstBad uint64 `json:"first_bad"`
	}
	if status := apiGet(t, base, "/api/v1/audit/verify", &report); status != http.StatusConflict || report.OK || report.FirstBad != edited {
		t.Errorf("GET /api/v1/audit/verify: %d %+v; want 409 at %d", status, report, edited)
	}
}
