// Command notify measures one notice to many members (issue 3): a real
// `wecomply serve` process sends an acknowledgement card to -members
// people through the fake WeCom, run here. It reports the WeCom API calls
// made, the wall time from submit to the last recorded result, and the
// server's peak RSS.
//
//	go build -o /tmp/wecomply . && go run ./bench/notify -bin /tmp/wecomply [-members 100000] [-store embedded|redis -redis URL]
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/wecomply/wecomply/bench/internal/server"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	corpID = "wwbenchnotify001"
	secret = "bench-app-secret-0123456789"
	admin  = "bench-admin-token-0123456789"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "notify bench:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("bin", "", "the wecomply binary to run")
	members := flag.Int("members", 100000, "recipients of the notice")
	backend := flag.String("store", "embedded", "store backend: embedded or redis")
	redisURL := flag.String("redis", "", "Redis URL (with -store redis)")
	flag.Parse()
	if *bin == "" {
		return fmt.Errorf("-bin is required")
	}

	fake := wecomtest.NewServer(wecomtest.ServerConfig{CorpID: corpID,
		Apps: map[string]wecomtest.AppConfig{"app": {Secret: secret, AgentID: 1000002}}})
	defer fake.Close()
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "Bench"})
	users := make([]string, *members)
	for i := range users {
		users[i] = fmt.Sprintf("u%06d", i)
		fake.AddUser(wecomtest.User{UserID: users[i], Name: users[i], Department: []int64{1}})
	}

	dir, err := os.MkdirTemp("", "wecomply-notify-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	token, key, err := wecom.GenerateKeys(rand.Reader)
	if err != nil {
		return err
	}
	srv, base, err := server.Start(*bin, dir, server.Config{CorpID: corpID, AgentID: 1000002,
		Secrets: map[string]string{"secret": secret}, APIURL: fake.URL, Token: token, AESKey: key,
		Backend: *backend, RedisURL: *redisURL, Admin: admin}, os.Stderr)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()

	body, _ := json.Marshal(map[string]any{"key": "bench:v1", "template": "ack_card", "lang": "zh-CN", "to": users,
		"data": map[string]any{"Company": "示例科技", "Title": "会话存档告知", "Version": 1, "Summary": "公司将存档您与客户的企业微信会话。",
			"Due": "2026-12-01", "URL": ""}})
	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/sends", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("submit: %d %s", resp.StatusCode, out)
	}
	submitted := time.Since(start)
	for {
		sent, err := recorded(base)
		if err != nil {
			return err
		}
		if sent >= *members {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("only %d of %d results after 10 minutes", sent, *members)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wall := time.Since(start)
	rss, err := server.PeakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}
	delivered := 0
	for _, u := range users {
		if n := len(fake.Inbox(u)); n != 1 {
			return fmt.Errorf("%s has %d messages, want 1", u, n)
		}
		delivered++
	}
	calls := map[string]int{}
	for _, r := range fake.Requests() {
		calls[r.Path]++
	}
	total := 0
	for _, n := range calls {
		total += n
	}
	fmt.Printf("store=%s members=%d delivered=%d api_calls=%d %v submit=%s wall=%s peak_rss=%.1fMB\n",
		*backend, *members, delivered, total, calls, submitted.Round(time.Millisecond), wall.Round(time.Millisecond), float64(rss)/1024)
	return nil
}

// recorded reads how many recipients have a "sent" result from /metrics.
func recorded(base string) (int, error) {
	m, err := server.Scrape(base)
	if err != nil {
		return 0, err
	}
	return int(m[`wecomply_notify_recipients_total{status="sent"}`]), nil
}
