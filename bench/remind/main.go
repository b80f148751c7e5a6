// Command remind measures one reminder run (issue 5): -members people
// owe a notice, -open of them have not acknowledged it three days later,
// -due of them (of everyone; at most -open) are due a reminder at the run
// (the rest of the open ones were reminded the day before, and the
// notice reminds every two days), and a real `wecomply serve` process
// makes the day's reminder run (the catch-up at start-up) through the
// fake WeCom, run here. It reports the
// run's wall time (as the run records it, and until the last reminder's
// result is recorded), the message/send calls and the server's peak RSS.
//
// The notice is published first by a server with the reminders job off
// (everyone gets the card); the store is then moved three days on, 70%
// acknowledged; then a second server starts with the job on.
//
//	go build -o /tmp/wecomply . && go run ./bench/remind -bin /tmp/wecomply [-members 100000 -open 0.3 -due 0.01] [-store embedded|redis -redis URL]
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wecomply/wecomply/bench/internal/server"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	corpID  = "wwbenchremind001"
	secret  = "bench-app-secret-0123456789"
	contact = "bench-contacts-secret-0123456789"
	admin   = "bench-admin-token-0123456789"
	notice  = "conduct"
	version = 1
	// remindEvery is the notice's remind_every_days.
	remindEvery = 2
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "remind bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	bin, backend, redisURL, dir, token, key string
	fake                                    *wecomtest.Server
}

func run() error {
	b := &bench{}
	flag.StringVar(&b.bin, "bin", "", "the wecomply binary to run")
	members := flag.Int("members", 100000, "people owing the notice")
	open := flag.Float64("open", 0.3, "the share of them who have not acknowledged")
	due := flag.Float64("due", -1, "the share of them due a reminder at the run, at most -open (default: -open, every open one)")
	flag.StringVar(&b.backend, "store", "embedded", "store backend: embedded or redis")
	flag.StringVar(&b.redisURL, "redis", "", "Redis URL (with -store redis)")
	flag.Parse()
	if b.bin == "" {
		return fmt.Errorf("-bin is required")
	}
	if *due < 0 {
		*due = *open
	}
	if *due > *open {
		return fmt.Errorf("-due %v is more than -open %v", *due, *open)
	}

	b.fake = wecomtest.NewServer(wecomtest.ServerConfig{CorpID: corpID,
		Apps: map[string]wecomtest.AppConfig{"app": {Secret: secret, AgentID: 1000002}, "contacts": {Secret: contact}}})
	defer b.fake.Close()
	b.fake.AddDepartment(wecomtest.Department{ID: 1, Name: "Bench"})
	users := make([]string, *members)
	for i := range users {
		users[i] = fmt.Sprintf("u%06d", i)
		b.fake.AddUser(wecomtest.User{UserID: users[i], Name: users[i], Department: []int64{1}})
	}
	var err error
	if b.dir, err = os.MkdirTemp("", "wecomply-remind-bench"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	if b.token, b.key, err = wecom.GenerateKeys(rand.Reader); err != nil {
		return err
	}

	// Day 0: published, everyone gets the card.
	publishStart := time.Now()
	srv, base, err := b.start("")
	if err != nil {
		return err
	}
	if err := waitSent(base, *members, 10*time.Minute); err != nil {
		srv.Process.Kill()
		return err
	}
	published := time.Since(publishStart)
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	// Three days on: the share not open has acknowledged.
	// The run is the catch-up of the yearly activation ("0 0 1 1 *"): the
	// same whenever the bench runs (but at New Year).
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return err
	}
	activation := time.Date(time.Now().In(shanghai).Year(), 1, 1, 0, 0, 0, 0, shanghai)
	pending, dueNow, err := b.age(users, *open, *due, activation)
	if err != nil {
		return err
	}

	sendsBefore := b.fake.CountRequests("message/send")
	start := time.Now()
	srv, base, err = b.start("0 0 1 1 *")
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if err := waitSent(base, dueNow, 10*time.Minute); err != nil { // this process's count
		return err
	}
	delivered := time.Since(start)
	rss, err := server.PeakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}
	anon, file, err := server.RSS(srv.Process.Pid)
	if err != nil {
		return err
	}
	r, err := lastRun(base)
	if err != nil {
		return err
	}
	calls := b.fake.CountRequests("message/send") - sendsBefore
	target := (dueNow + 999) / 1000
	fmt.Printf("store=%s members=%d pending=%d due=%d publish=%s run=%s (%v) start_to_last_result=%s send_calls=%d (target <= %d) peak_rss=%.1fMB (now: anon %.1fMB, file %.1fMB)\n",
		b.backend, *members, pending, dueNow, published.Round(time.Millisecond), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond), r.Counts,
		delivered.Round(time.Millisecond), calls, target, float64(rss)/1024, float64(anon)/1024, float64(file)/1024)
	return nil
}

// start starts a server with the reminders job on spec ("" off).
func (b *bench) start(spec string) (*exec.Cmd, string, error) {
	return server.Start(b.bin, b.dir, server.Config{CorpID: corpID, AgentID: 1000002,
		Secrets: map[string]string{"secret": secret, "contacts_secret": contact}, APIURL: b.fake.URL,
		Token: b.token, AESKey: b.key, Backend: b.backend, RedisURL: b.redisURL, Admin: admin,
		Jobs: map[string]string{"reminders": spec},
		Extra: fmt.Sprintf(`[calendar]
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
working_hours = "00:00-24:00"
[policy]
company = "示例科技"
consent_policy_url = "https://compliance.example.com/policy/archive"
[[notices]]
id = %q
version = %d
title = "行为准则"
template = "ack_card"
languages = ["zh-CN"]
summary = "请阅读并确认。"
url = "https://compliance.example.com/conduct"
due_days = 30
remind_every_days = %d
[notices.audience]
everyone = true
`, notice, version, remindEvery)}, os.Stderr)
}

// age moves the store three days past activation's eve: the obligations
// were created three days before it, all but the open share were
// acknowledged the day before, and all the open ones but the due share
// were reminded the day before (the notice reminds every remindEvery
// days). It
// returns how many stay open, and how many of them are due.
func (b *bench) age(users []string, open, due float64, activation time.Time) (pending, dueNow int, err error) {
	ctx := context.Background()
	var st interface {
		store.Obligations
		Close() error
	}
	if b.backend == "redis" {
		st, err = redisstore.Open(ctx, redisstore.Options{URL: b.redisURL, Namespace: corpID,
			Logger: slog.New(slog.DiscardHandler)})
	} else {
		st, err = embedded.Open(filepath.Join(b.dir, "wecomply.db"), embedded.Options{Logger: slog.New(slog.DiscardHandler)})
	}
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	// The store keeps the due index of the notice as the server does
	// (what it writes below are the server's writes of three days), so
	// that the run starts on an index kept up to date, not one to build
	// (store.Obligations.IndexDue; BenchmarkStore/IndexDue100000 measures
	// building one).
	if err := st.IndexDue(ctx, []policy.Notice{{ID: notice, Version: version, RemindEveryDays: remindEvery}}); err != nil {
		return 0, 0, err
	}
	every := max(int(1/open+0.5), 1) // open 0.3: every third person… approximately
	openSet := map[string]bool{}
	want := int(float64(len(users))*open + 0.5)
	for i, u := range users {
		if len(openSet) < want && i%every == 0 {
			openSet[u] = true
		}
	}
	for i := 0; len(openSet) < want && i < len(users); i++ {
		openSet[users[i]] = true
	}
	// The due ones: the first of the open ones, in user order.
	dueSet := map[string]bool{}
	wantDue := int(float64(len(users))*due + 0.5)
	for _, u := range users {
		if len(dueSet) < wantDue && openSet[u] {
			dueSet[u] = true
		}
	}
	keys := make([]store.ObligationKey, len(users))
	for i, u := range users {
		keys[i] = store.ObligationKey{UserID: u, NoticeID: notice, Version: version}
	}
	created := activation.Add(-72 * time.Hour)
	dayBefore := activation.Add(-24 * time.Hour)
	err = st.UpdateObligations(ctx, keys, func(o policy.Obligation) (policy.Obligation, error) {
		o.CreatedAt = created
		o.DueAt = created.AddDate(0, 0, 30)
		switch {
		case !openSet[o.UserID]:
			o.Status, o.AcknowledgedAt, o.ClosedReason = policy.Acknowledged, dayBefore, policy.ReasonCardClicked
		case !dueSet[o.UserID]:
			o.Reminders, o.LastRemindedAt = 1, dayBefore
		}
		return o, nil
	})
	return len(openSet), len(dueSet), err
}

// waitSent waits until n recipients have a "sent" result.
func waitSent(base string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		m, err := server.Scrape(base)
		if err != nil {
			return err
		}
		sent := int(m[`wecomply_notify_recipients_total{status="sent"}`])
		if sent >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d results after %s", sent, n, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lastRun reads the reminders job's latest run from the admin API.
func lastRun(base string) (store.JobRun, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/jobs?job=reminders&limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return store.JobRun{}, err
		}
		var out struct {
			Jobs []struct {
				Runs []store.JobRun `json:"runs"`
			} `json:"jobs"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			return store.JobRun{}, err
		}
		if len(out.Jobs) == 1 && len(out.Jobs[0].Runs) == 1 && out.Jobs[0].Runs[0].Outcome != store.RunRunning {
			return out.Jobs[0].Runs[0], nil
		}
		if time.Now().After(deadline) {
			return store.JobRun{}, fmt.Errorf("the reminders run is not recorded finished: %+v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
