package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// newFakeWeCom starts the fake WeCom API with the test corp's app and n
// members user000…
func newFakeWeCom(t *testing.T, n int) (*wecomtest.Server, []string) {
	t.Helper()
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{CorpID: testCorpID,
		Apps: map[string]wecomtest.AppConfig{"app": {Secret: testAppSecret, AgentID: 1000002}}, Now: testclock.New(t).Now})
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "示例科技"})
	var users []string
	for i := range n {
		u := fmt.Sprintf("user%03d", i)
		fake.AddUser(wecomtest.User{UserID: u, Name: u, Department: []int64{1}})
		users = append(users, u)
	}
	return fake, users
}

// adminPost POSTs JSON to the admin API and returns the status and body.
func adminPost(t *testing.T, url string, body any) (int, string) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func ackCardSend(key string, to []string) map[string]any {
	return map[string]any{"key": key, "template": "ack_card", "lang": "zh-CN", "to": to, "data": map[string]any{
		"Company": "示例科技", "Title": "会话存档告知", "Version": 3, "Summary": "公司将存档您与客户的企业微信会话。",
		"Due": "2026-12-01", "URL": ""}}
}

// waitInboxes waits until every user has want cards in the fake WeCom,
// and fails if anyone has more.
func waitInboxes(t *testing.T, fake *wecomtest.Server, users []string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		done := true
		for _, u := range users {
			n := 0
			for _, m := range fake.Inbox(u) {
				if m.MsgType == "template_card" {
					n++
				}
			}
			if n > want {
				t.Fatalf("%s has %d cards, want %d", u, n, want)
			}
			done = done && n == want
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every user had %d card(s) after %s", want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeSendsAndReceivesACard: an admin sends an acknowledgement card
// through the API; the fake WeCom delivers it; a person clicks it; WeCom's
// signed template_card_event reaches the server and is logged with the
// card's task id.
func TestServeSendsAndReceivesACard(t *testing.T) {
	fake, users := newFakeWeCom(t, 20)
	base := startApp(t, writeConfigAPI(t, "127.0.0.1:0", "embedded", "", fake.URL), io.Discard)
	status, body := adminPost(t, base+"/api/v1/sends", ackCardSend("archive-notice:v3", users))
	if status != http.StatusAccepted || !strings.Contains(body, `"recipients":20`) {
		t.Fatalf("POST /api/v1/sends: %d %s", status, body)
	}
	waitInboxes(t, fake, users, 1, 20*time.Second)

	card := fake.Inbox("user007")[0]
	click, err := fake.Click("user007", card.MsgID, "ack")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := wecomtest.BuildEvent(click.Spec())
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := sender(t, base, "/wecom/callback", testToken, testKey).Post(context.Background(), plain); err != nil || status != 200 {
		t.Fatalf("click callback: %d %v", status, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := listEvents(t, base, "?kind=template_card_event")
		if len(r.Events) == 1 {
			e := r.Events[0]
			if e["user_id"] != "user007" || e["task_id"] != card.TaskID || e["event_key"] != "ack" {
				t.Errorf("logged click %v, want user007 / %s / ack", e, card.TaskID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the click never reached the event log")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Every recipient's result, through the API.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/sends/archive-notice:v3", nil)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Counts map[string]int `json:"counts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Counts["sent"] != 20 {
		t.Errorf("results %+v %v", res, err)
	}
}

// TestTwoReplicasFetchTheTokenOnce: two servers on one Redis share the
// app's access token: WeCom's gettoken is called once between them.
func TestTwoReplicasFetchTheTokenOnce(t *testing.T) {
	url := redistest.Start(t)
	fake, users := newFakeWeCom(t, 40)
	a := startApp(t, writeConfigAPI(t, "127.0.0.1:0", "redis", url, fake.URL), io.Discard)
	b := startApp(t, writeConfigAPI(t, "127.0.0.1:0", "redis", url, fake.URL), io.Discard)
	// Both at once, so both need a token at the same moment.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if status, body := adminPost(t, a+"/api/v1/sends", ackCardSend("replica-a:v1", users[:20])); status != 202 {
			t.Errorf("replica a: %d %s", status, body)
		}
	}()
	if status, body := adminPost(t, b+"/api/v1/sends", ackCardSend("replica-b:v1", users[20:])); status != 202 {
		t.Errorf("replica b: %d %s", status, body)
	}
	<-done
	waitInboxes(t, fake, users, 1, 20*time.Second)
	if n := fake.TokenFetches("app"); n != 1 {
		t.Errorf("gettoken called %d times by two replicas, want 1", n)
	}
}
