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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	token, key, err := wecom.GenerateKeys(rand.Reader)
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`
[server]
listen = %q
[log]
level = "warn"
[wecom]
corp_id = %q
agent_id = 1000002
secret = %q
api_base_url = %q
[[wecom.callback]]
path = "/wecom/callback"
token = %q
encoding_aes_key = %q
[store]
backend = %q
path = %q
redis_url = %q
# The cron's jobs are off: they would call WeCom at start-up (catch-up)
# and muddy what this bench counts.
[jobs]
reminders = ""
digest = ""
reconcile = ""
retention = ""
[admin]
tokens = [%q]
`, addr, corpID, secret, fake.URL, token, key, *backend, filepath.Join(dir, "wecomply.db"), *redisURL, admin)
	cfgPath := filepath.Join(dir, "wecomply.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	srv := exec.Command(*bin, "serve", "-config", cfgPath)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	base := "http://" + addr
	if err := server.WaitReady(base); err != nil {
		return err
	}

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
