// Command process measures event processing end to end with the policy
// on (issue 10): a company in the fake WeCom (-members people in ten
// departments, a notice everyone owes, published so everyone has its
// acknowledgement card and an open obligation), -events queued events of
// a realistic mix that refer to those people and that card (bench/load's
// mix: replies "确认", add_external_contact, update_user, clicks on the
// card, enter_agent), preloaded into the store while no server runs; then
// a real `wecomply serve` with the processor on drains them.
//
// It reports events/s from the first claim until the queue is drained
// (every preloaded event settled and no entry ready or leased, as
// /metrics counts them), the server's peak RSS, and a CPU profile taken
// from the server's debug listener during the drain (`go tool pprof -top`).
//
//	go build -o /tmp/wecomply . && go run ./bench/process -bin /tmp/wecomply [-events 10000 -members 1000] [-store embedded|redis -redis URL]
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wecomply/wecomply/bench/internal/server"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	appSecret      = "bench-app-secret-0123456789"
	contactsSecret = "bench-contacts-secret-0123456789"
	customerSecret = "bench-customer-secret-0123456789"
	admin          = "bench-admin-token-0123456789"
	agentID        = 1000002
	receiver       = "/wecom/callback"
	buttonKey      = "ack:conduct:v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "process bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	bin, backend, redisURL, dir, token, key, corpID string
	workers, batch                                  int
	storeExtra                                      string
	debug                                           string
	log                                             io.Writer
	fake                                            *wecomtest.Server
	members                                         []string
}

func run() error {
	b := &bench{}
	flag.StringVar(&b.bin, "bin", "", "the wecomply binary to run")
	events := flag.Int("events", 10000, "queued events to process")
	members := flag.Int("members", 1000, "people in the company (everyone owes the notice)")
	flag.StringVar(&b.backend, "store", "embedded", "store backend: embedded or redis")
	flag.StringVar(&b.redisURL, "redis", "", "Redis URL (with -store redis)")
	flag.IntVar(&b.workers, "workers", 0, "[workers] count (0: the config's default)")
	flag.IntVar(&b.batch, "batch", 0, "[workers] claim_batch (0: the config's default)")
	flag.StringVar(&b.storeExtra, "store-extra", "", `more [store] keys, e.g. 'batch_delay = "100us"'`)
	profile := flag.Duration("profile", 5*time.Second, "CPU profile length, from the first claim (0: none)")
	top := flag.Int("top", 25, "pprof -top entries to print")
	profOut := flag.String("profile-out", "", "keep the CPU profile in this file")
	logPath := flag.String("log", "", "the server's log (default: in the temporary directory)")
	flag.Parse()
	if b.bin == "" || *events <= 0 || *members < 10 {
		return fmt.Errorf("need -bin, -events > 0, -members ≥ 10")
	}
	// A fresh corp id per run: the Redis store's namespace.
	var rnd [4]byte
	rand.Read(rnd[:])
	b.corpID = "wwbenchprocess" + hex.EncodeToString(rnd[:])
	var err error
	if b.dir, err = os.MkdirTemp("", "wecomply-process-bench"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	if *logPath == "" {
		*logPath = filepath.Join(b.dir, "server.log")
	}
	logFile, err := os.Create(*logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	b.log = logFile
	if b.token, b.key, err = wecom.GenerateKeys(rand.Reader); err != nil {
		return err
	}
	b.company(*members, *events)
	defer b.fake.Close()

	// Published: everyone has the card and an open obligation.
	srv, base, err := b.start("")
	if err != nil {
		return err
	}
	if err := b.waitPublished(base); err != nil {
		srv.Process.Kill()
		srv.Wait()
		return err
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	if err := b.preload(*events); err != nil {
		return err
	}

	if b.debug, err = server.FreeAddr(); err != nil {
		return err
	}
	srv, base, err = b.start(b.debug)
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	profPath := *profOut
	if profPath == "" {
		profPath = filepath.Join(b.dir, "cpu.pprof")
	}
	r, err := b.drain(base, *events, *profile, profPath)
	if err != nil {
		return err
	}
	rss, err := server.PeakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("store=%s events=%d members=%d workers=%s drain=%s events/s=%.0f settled=%v jobs=%.0f peak_rss=%.1fMB wecom_calls=%d\n",
		b.backend, *events, *members, orDefault(b.workers, b.batch), r.elapsed.Round(time.Millisecond),
		float64(*events)/r.elapsed.Seconds(), r.outcomes, r.jobs, float64(rss)/1024, r.calls)
	if *profile > 0 {
		// Flat (where the CPU is spent), then cumulative within wecomply
		// (which of its paths spends it).
		for _, args := range [][]string{{"-top"}, {"-top", "-cum", "-focus=wecomply"}} {
			args = append(args, fmt.Sprintf("-nodecount=%d", *top), b.bin, profPath)
			out, err := exec.Command("go", append([]string{"tool", "pprof"}, args...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("pprof: %w: %s", err, out)
			}
			fmt.Printf("# go tool pprof %s\n%s", strings.Join(args[:len(args)-2], " "), out)
		}
	}
	return nil
}

func orDefault(workers, batch int) string {
	s := func(n int) string {
		if n == 0 {
			return "default"
		}
		return fmt.Sprint(n)
	}
	return s(workers) + "/" + s(batch)
}

// company fills the fake: members in departments 2..11, a quarter of them
// in the archive's permit list, and a customer for every add event.
func (b *bench) company(members, events int) {
	b.fake = wecomtest.NewServer(wecomtest.ServerConfig{CorpID: b.corpID, Apps: map[string]wecomtest.AppConfig{
		"app": {Secret: appSecret, AgentID: agentID}, "contacts": {Secret: contactsSecret},
		"customer": {Secret: customerSecret}}})
	b.fake.AddDepartment(wecomtest.Department{ID: 1, Name: "基准科技"})
	for d := int64(2); d <= 11; d++ {
		b.fake.AddDepartment(wecomtest.Department{ID: d, ParentID: 1, Name: fmt.Sprintf("部门%d", d)})
	}
	var permit []string
	for i := range members {
		id := fmt.Sprintf("u%05d", i)
		b.members = append(b.members, id)
		b.fake.AddUser(wecomtest.User{UserID: id, Name: fmt.Sprintf("员工%d", i), Department: []int64{int64(2 + i%10)}})
		if i%4 == 0 {
			permit = append(permit, id)
		}
	}
	b.fake.SetPermitUsers(permit)
	now := time.Now()
	for i := range events {
		if k := i % 10; k == 4 || k == 5 {
			user := b.members[i%members]
			ext := externalID(i)
			b.fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: ext, Name: fmt.Sprintf("客户%d", i), Type: 1},
				wecomtest.FollowUser{UserID: user, CreateTime: now.Unix(), AddWay: 1})
			if i%4 == 0 {
				b.fake.SetAgree(user, ext, "Agree", now)
			}
		}
	}
}

func externalID(i int) string { return fmt.Sprintf("wmbench%07d", i) }

// start starts a server, with pprof on debug ("" off).
func (b *bench) start(debug string) (*exec.Cmd, string, error) {
	workers := ""
	if b.workers > 0 || b.batch > 0 {
		workers = "[workers]\n"
		if b.workers > 0 {
			workers += fmt.Sprintf("count = %d\n", b.workers)
		}
		if b.batch > 0 {
			workers += fmt.Sprintf("claim_batch = %d\n", b.batch)
		}
	}
	return server.Start(b.bin, b.dir, server.Config{CorpID: b.corpID, AgentID: agentID,
		Secrets: map[string]string{"secret": appSecret, "contacts_secret": contactsSecret, "customer_secret": customerSecret},
		APIURL:  b.fake.URL, Token: b.token, AESKey: b.key, Backend: b.backend, RedisURL: b.redisURL, Admin: admin,
		DebugListen: debug, StoreExtra: b.storeExtra, Extra: `[calendar]
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
working_hours = "00:00-24:00"
[policy]
company = "基准科技"
consent_policy_url = "https://compliance.example.com/policy/archive"
[[notices]]
id = "conduct"
version = 1
title = "行为准则"
template = "ack_card"
languages = ["zh-CN"]
summary = "请阅读并确认。"
url = "https://compliance.example.com/conduct"
due_days = 30
[notices.audience]
everyone = true
` + workers}, b.log)
}

// waitPublished waits until every member has the card and the queue has
// been empty for two samples in a row.
func (b *bench) waitPublished(base string) error {
	deadline := time.Now().Add(10 * time.Minute)
	empty := 0
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		m, err := server.Scrape(base)
		if err != nil || backlog(m) > 0 {
			empty = 0
			continue
		}
		if empty++; empty < 2 {
			continue
		}
		missing := 0
		for _, u := range b.members {
			if len(b.fake.Inbox(u)) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
	}
	return errors.New("the notice was not published to everyone within 10 minutes")
}

func backlog(m server.Metrics) float64 {
	return m[`wecomply_queue_entries{state="ready"}`] + m[`wecomply_queue_entries{state="leased"}`]
}

// preload enqueues n events of the mix into the store, no server running.
func (b *bench) preload(n int) error {
	ctx := context.Background()
	var st interface {
		store.Queue
		Close() error
	}
	var err error
	if b.backend == "redis" {
		st, err = redisstore.Open(ctx, redisstore.Options{URL: b.redisURL, Namespace: b.corpID,
			Logger: slog.New(slog.DiscardHandler)})
	} else {
		st, err = embedded.Open(filepath.Join(b.dir, "wecomply.db"), embedded.Options{Logger: slog.New(slog.DiscardHandler)})
	}
	if err != nil {
		return err
	}
	defer st.Close()
	cards := map[string]string{} // member → the card's msgid
	for _, u := range b.members {
		for _, m := range b.fake.Inbox(u) {
			if m.MsgType == "template_card" {
				cards[u] = m.MsgID
			}
		}
		if cards[u] == "" {
			return fmt.Errorf("%s has no card", u)
		}
	}
	now := time.Now()
	for i := range n {
		user := b.members[i%len(b.members)]
		spec := wecomtest.EventSpec{CorpID: b.corpID, CreateTime: now.Unix(), UserID: user}
		switch i % 10 {
		case 0, 1, 2, 3:
			spec.Kind, spec.Content, spec.MsgID = "text", "确认", fmt.Sprint(7000000000000000000+int64(i))
		case 4, 5:
			ext := externalID(i)
			spec.Kind, spec.ExternalUserID, spec.State = "change_external_contact.add_external_contact", ext, "channel-a"
			spec.WelcomeCode = b.fake.IssueWelcomeCode(user, ext)
		case 6:
			spec.Kind, spec.Department = "change_contact.update_user", fmt.Sprintf("%d", 2+(i/10)%10)
			spec.Position = fmt.Sprintf("岗位%d", i) // a change of its own
		case 7, 8:
			click, err := b.fake.Click(user, cards[user], buttonKey)
			if err != nil {
				return err
			}
			spec = click.Spec()
		default:
			spec.Kind = "enter_agent"
			spec.CreateTime += int64(i / len(b.members)) // one visit per person and second
		}
		plain, err := wecomtest.BuildEvent(spec)
		if err != nil {
			return err
		}
		ev, err := wecom.Decode(plain)
		if err != nil {
			return err
		}
		added, err := st.Enqueue(ctx, store.Event{DedupKey: ev.DedupKey(), Kind: ev.Kind(), Receiver: receiver,
			ReceivedAt: now.UTC(), Payload: plain})
		if err != nil {
			return err
		}
		if !added {
			return fmt.Errorf("event %d (%s) is a duplicate", i, ev.DedupKey())
		}
	}
	return nil
}

type result struct {
	elapsed  time.Duration
	outcomes map[string]float64
	jobs     float64
	calls    int
}

// drain waits for the first claim, takes a CPU profile of length prof
// into profPath meanwhile, and waits until the n events are settled and
// the queue is empty.
func (b *bench) drain(base string, n int, prof time.Duration, profPath string) (result, error) {
	calls0 := len(b.fake.Requests())
	deadline := time.Now().Add(15 * time.Minute)
	var start time.Time
	profDone := make(chan error, 1)
	for {
		m, err := server.Scrape(base)
		if err != nil {
			return result{}, err
		}
		events, jobs, outcomes := settled(m)
		if start.IsZero() && (events+jobs > 0 || m[`wecomply_queue_entries{state="leased"}`] > 0) {
			start = time.Now()
			if prof > 0 {
				go func() { profDone <- b.profile(prof, profPath) }()
			} else {
				profDone <- nil
			}
		}
		if !start.IsZero() && events >= float64(n) && backlog(m) == 0 {
			r := result{elapsed: time.Since(start), outcomes: outcomes, jobs: jobs, calls: len(b.fake.Requests()) - calls0}
			return r, <-profDone
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("not drained after 15 minutes: %v settled, backlog %v", outcomes, backlog(m))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled sums wecomply_events_processed_total's settled outcomes (ok,
// dead) of WeCom events and of jobs, and the events' by outcome.
func settled(m server.Metrics) (events, jobs float64, outcomes map[string]float64) {
	outcomes = map[string]float64{}
	for series, v := range m {
		rest, ok := strings.CutPrefix(series, "wecomply_events_processed_total{")
		if !ok {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		job := strings.HasPrefix(labels["kind"], store.JobPrefix)
		if job {
			outcomes[labels["kind"]+":"+labels["outcome"]] += v
		} else {
			outcomes[labels["outcome"]] += v
		}
		if !slices.Contains([]string{"ok", "dead"}, labels["outcome"]) {
			continue
		}
		if job {
			jobs += v
		} else {
			events += v
		}
	}
	return events, jobs, outcomes
}

// profile takes a CPU profile of d from the server's debug listener.
func (b *bench) profile(d time.Duration, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", b.debug, max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
