// Command welcome measures the customer welcome under load: the latency
// from an add_external_contact callback to the send_welcome_msg call it
// causes, while a background of other callbacks arrives open-loop.
//
// It runs the fake WeCom in-process with a company (-members people in a
// few departments, -customers customers each followed by a member, a
// quarter of the members in the archive permit list so that consent
// checks happen too), starts a real `wecomply serve` against it with the
// compliance policy on (officers, a consent policy, one notice for the
// Sales departments, published at start-up and finished before the clock
// starts), and then, for -duration:
//
//   - posts -rate background callbacks a second, pre-signed, on schedule
//     (text messages, enter_agent, change_contact.update_user for members,
//     template_card_event clicks with unknown keys, edit_external_contact),
//     latency measured from the scheduled time as bench/load does;
//   - posts -adds add_external_contact callbacks a second, each with a
//     fresh welcome code from the fake (fake.IssueWelcomeCode), signed at
//     send time.
//
// A welcome's latency is the time the fake recorded the successful
// send_welcome_msg request carrying its code minus the time the callback
// was sent. One line is printed per run; the exit status is 1 if any
// welcome was never attempted (missing).
//
//	go build -o /tmp/wecomply . && go run ./bench/welcome -bin /tmp/wecomply [-store embedded|redis -redis URL] [-rate 500] [-adds 10] [-duration 30s]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wecomply/wecomply/bench/internal/server"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	appSecret      = "bench-app-secret-0123456789"
	contactsSecret = "bench-contacts-secret-0123456789"
	customerSecret = "bench-customer-secret-0123456789"
	archiveSecret  = "bench-archive-secret-0123456789"
	admin          = "bench-admin-token-0123456789"
	agentID        = 1000002

	welcomePath = "externalcontact/send_welcome_msg"
	codeTTL     = 20 * time.Second // the welcome code's validity (92137)
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "welcome bench:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

type options struct {
	bin, backend, redisURL, logPath string
	rate, adds, members, customers  int
	concurrency                     int
	duration                        time.Duration
}

func run() (int, error) {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the wecomply binary to run")
	flag.StringVar(&o.backend, "store", "embedded", "store backend: embedded or redis")
	flag.StringVar(&o.redisURL, "redis", "", "Redis URL (with -store redis)")
	flag.IntVar(&o.rate, "rate", 500, "background callbacks per second (open loop)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send")
	flag.IntVar(&o.adds, "adds", 10, "add_external_contact callbacks per second, each with a welcome code")
	flag.IntVar(&o.members, "members", 2000, "members of the company")
	flag.IntVar(&o.customers, "customers", 20000, "customers, each followed by a member")
	flag.IntVar(&o.concurrency, "concurrency", 64, "connections of the background sender")
	flag.StringVar(&o.logPath, "log", "", "write the server's log here (default: a temp file, removed)")
	flag.Parse()
	switch {
	case o.bin == "":
		return 0, fmt.Errorf("-bin is required")
	case o.backend == "redis" && o.redisURL == "":
		return 0, fmt.Errorf("-store redis needs -redis URL")
	case o.rate < 0 || o.adds <= 0 || o.members < 10 || o.customers < o.members || o.duration < time.Second:
		return 0, fmt.Errorf("need -rate ≥ 0, -adds > 0, -members ≥ 10, -customers ≥ -members, -duration ≥ 1s")
	}

	// A fresh corp id per run: the Redis store's namespace, so that runs
	// sharing a redis-server do not see each other's state.
	var rnd [4]byte
	rand.Read(rnd[:])
	corpID := "wwbenchwelcome" + hex.EncodeToString(rnd[:])

	fake := wecomtest.NewServer(wecomtest.ServerConfig{CorpID: corpID, Apps: map[string]wecomtest.AppConfig{
		"app": {Secret: appSecret, AgentID: agentID}, "contacts": {Secret: contactsSecret},
		"customer": {Secret: customerSecret}, "archive": {Secret: archiveSecret},
	}})
	defer fake.Close()
	co := newCompany(fake, o.members, o.customers, o.adds*int(o.duration.Seconds()))

	dir, err := os.MkdirTemp("", "wecomply-welcome-bench")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	token, key, err := wecom.GenerateKeys(rand.Reader)
	if err != nil {
		return 0, err
	}
	if o.logPath == "" {
		o.logPath = filepath.Join(dir, "server.log")
	}
	logFile, err := os.Create(o.logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	srv, base, err := server.Start(o.bin, dir, server.Config{CorpID: corpID, AgentID: agentID,
		Secrets: map[string]string{"secret": appSecret, "contacts_secret": contactsSecret,
			"customer_secret": customerSecret, "archive_secret": archiveSecret},
		APIURL: fake.URL, Token: token, AESKey: key, Backend: o.backend, RedisURL: o.redisURL, Admin: admin,
		Extra: policyConfig(co)}, logFile)
	if err != nil {
		return 0, err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()

	// The notice is published at start-up: wait until every member of its
	// audience has their card and the queue is empty, so that the
	// measurement does not include the publishing.
	pubStart := time.Now()
	if err := waitPublished(base, fake, co.audience); err != nil {
		return 0, err
	}
	published := time.Since(pubStart)

	cipher, err := wecom.NewCipher(token, key, corpID)
	if err != nil {
		return 0, err
	}
	callback := base + "/wecom/callback"
	sender := &wecomtest.Sender{URL: callback, Cipher: cipher}
	n := o.rate * int(o.duration.Seconds())
	bg, err := co.background(corpID, sender, n, o.rate)
	if err != nil {
		return 0, err
	}

	res := measure(o, co, fake, corpID, sender, bg, base)
	rss, err := server.PeakRSS(srv.Process.Pid)
	if err != nil {
		return 0, err
	}
	warns, errs := countLog(o.logPath)

	fmt.Printf("store=%s rate=%d/s achieved=%.1f/s cb_ok=%d cb_err=%d cb_p50=%s cb_p99=%s | adds=%d welcomed=%d missing=%d failed=%d "+
		"p50=%s p90=%s p99=%s max=%s | backlog_max=%d drain=%s srv_welcomes=%v srv_welcome_send_mean=%s srv_event_mean=%s publish=%s peak_rss=%.1fMB log_warn=%d log_error=%d api_calls=%v\n",
		o.backend, o.rate, res.achieved, res.cbOK, res.cbErr, round(res.cbP50), round(res.cbP99),
		res.adds, len(res.welcome), res.missing, res.failed,
		round(pct(res.welcome, 0.50)), round(pct(res.welcome, 0.90)), round(pct(res.welcome, 0.99)), round(pct(res.welcome, 1)),
		res.backlogMax, res.drain.Round(100*time.Millisecond), res.srvWelcomes, round(res.sendMean), round(res.eventMean), published.Round(100*time.Millisecond), float64(rss)/1024, warns, errs, res.calls)
	if res.addErr > 0 {
		fmt.Fprintf(os.Stderr, "welcome bench: %d add_external_contact callbacks were not answered 200\n", res.addErr)
	}
	if res.missing > 0 || res.addErr > 0 {
		return 1, nil
	}
	return 0, nil
}

// ---- the company ----

// company is who exists in the fake WeCom.
type company struct {
	members   []string
	permit    map[string]bool
	audience  []string // members of the notice's departments
	customers []pair   // existing customers and the member who follows each
	adds      []pair   // customers who will be added during the run, in order
	officers  []string
}

type pair struct{ user, external string }

// Departments: 1 the root; Sales (2) with East (3) and South (4) under it;
// R&D, Service, Finance and Admin (5–8) under the root. The notice's
// audience is Sales and its sub-departments.
var departments = []wecomtest.Department{
	{ID: 1, Name: "基准科技"},
	{ID: 2, Name: "销售部", ParentID: 1},
	{ID: 3, Name: "华东销售组", ParentID: 2},
	{ID: 4, Name: "华南销售组", ParentID: 2},
	{ID: 5, Name: "研发部", ParentID: 1},
	{ID: 6, Name: "客服部", ParentID: 1},
	{ID: 7, Name: "财务部", ParentID: 1},
	{ID: 8, Name: "行政部", ParentID: 1},
}

func newCompany(fake *wecomtest.Server, members, customers, adds int) *company {
	co := &company{permit: map[string]bool{}, officers: []string{"officer1", "officer2"}}
	for _, d := range departments {
		fake.AddDepartment(d)
	}
	for _, id := range co.officers {
		fake.AddUser(wecomtest.User{UserID: id, Name: "合规官" + id[len(id)-1:], Department: []int64{1}})
	}
	for i := range members - len(co.officers) {
		id := fmt.Sprintf("emp%05d", i)
		dept := int64(2 + i%7)
		fake.AddUser(wecomtest.User{UserID: id, Name: fmt.Sprintf("员工%d", i), Department: []int64{dept}})
		co.members = append(co.members, id)
		if dept <= 4 {
			co.audience = append(co.audience, id)
		}
		if i%4 == 0 {
			co.permit[id] = true
		}
	}
	fake.SetPermitUsers(slices.Sorted(func(yield func(string) bool) {
		for id := range co.permit {
			if !yield(id) {
				return
			}
		}
	}))
	now := time.Now()
	follow := func(ext, user string, i int) {
		fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: ext, Name: fmt.Sprintf("客户%d", i), Type: 1},
			wecomtest.FollowUser{UserID: user, CreateTime: now.Unix(), AddWay: 1})
		if co.permit[user] {
			status := "Agree"
			if i%20 == 0 {
				status = "Disagree"
			}
			fake.SetAgree(user, ext, status, now)
		}
	}
	for i := range customers {
		p := pair{co.members[i%len(co.members)], fmt.Sprintf("wmCust%06d", i)}
		follow(p.external, p.user, i)
		co.customers = append(co.customers, p)
	}
	// The customers added during the run: known to the fake already (as
	// after WeCom's add), with their consent where it is asked.
	for i := range adds {
		p := pair{co.members[(i*7)%len(co.members)], fmt.Sprintf("wmNew%06d", i)}
		follow(p.external, p.user, i)
		co.adds = append(co.adds, p)
	}
	return co
}

// request is a pre-signed callback.
type request struct {
	url  string
	body []byte
}

// background signs n callbacks in a realistic mix, CreateTime their
// scheduled second: 40% text messages (1 in 50 an acknowledgement word),
// 10% enter_agent, 10% update_user (a new position), 20% clicks on cards
// with keys wecomply does not know, 20% edit_external_contact.
func (co *company) background(corpID string, s *wecomtest.Sender, n, rate int) ([]request, error) {
	now := time.Now().Unix()
	counts := map[string]int{}
	next := func(kind string) int { c := counts[kind]; counts[kind]++; return c }
	out := make([]request, n)
	for i := range out {
		spec := wecomtest.EventSpec{CorpID: corpID, CreateTime: now + int64(i/max(rate, 1))}
		switch i % 10 {
		case 0, 1, 2, 3:
			c := next("text")
			spec.Kind, spec.UserID, spec.MsgID = "text", co.members[c%len(co.members)], strconv.FormatInt(7000000000000000000+int64(i), 10)
			spec.Content = fmt.Sprintf("请问客户 %d 的报价单今天能发出吗？", c)
			if c%50 == 0 {
				spec.Content = "确认"
			}
		case 4:
			spec.Kind, spec.UserID = "enter_agent", co.members[next("enter")%len(co.members)]
		case 5:
			c := next("update")
			spec.Kind, spec.UserID, spec.Position = "change_contact.update_user", co.members[c%len(co.members)], fmt.Sprintf("客户经理%d", c)
		case 6, 7:
			c := next("click")
			spec.Kind, spec.UserID, spec.CardType = "template_card_event", co.members[c%len(co.members)], "button_interaction"
			spec.TaskID, spec.EventKey = fmt.Sprintf("bench-task-%d", c), fmt.Sprintf("bench-unknown-%d", c%7)
		default:
			p := co.customers[next("edit")%len(co.customers)]
			spec.Kind, spec.UserID, spec.ExternalUserID = "change_external_contact.edit_external_contact", p.user, p.external
		}
		r, err := sign(s, spec)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func sign(s *wecomtest.Sender, spec wecomtest.EventSpec) (request, error) {
	plain, err := wecomtest.BuildEvent(spec)
	if err != nil {
		return request{}, err
	}
	req, err := s.Request(context.Background(), plain)
	if err != nil {
		return request{}, err
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return request{}, err
	}
	return request{url: req.URL.String(), body: body}, nil
}

// ---- the run ----

type result struct {
	achieved     float64
	cbOK, cbErr  int
	cbP50, cbP99 time.Duration
	adds, addErr int
	welcome      []time.Duration // sorted
	missing      int
	failed       int
	backlogMax   int
	drain        time.Duration
	calls        map[string]int // WeCom API calls from the start of the load to the end of the drain
	// The server's own means (from /metrics): its SendWelcome (the store
	// read, the API call, the result write) and the processing of one
	// queue entry of any kind.
	sendMean, eventMean time.Duration
	// srvWelcomes is wecomply_notify_welcomes_total by outcome: the
	// server's own view (a code it found expired is "failed" without a
	// call to WeCom, so it shows here and as missing in the fake).
	srvWelcomes map[string]int
}

type sentAdd struct {
	code string
	sent time.Time
}

func measure(o options, co *company, fake *wecomtest.Server, corpID string, sender *wecomtest.Sender, bg []request, base string) result {
	var res result
	// The server's queue depth, sampled while the load runs.
	stopPoll := make(chan struct{})
	var backlogMax atomic.Int64
	var pollWG sync.WaitGroup
	pollWG.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-t.C:
				if q, err := backlog(base); err == nil && int64(q) > backlogMax.Load() {
					backlogMax.Store(int64(q))
				}
			}
		}
	})

	bgClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.concurrency * 2, MaxIdleConnsPerHost: o.concurrency * 2, IdleConnTimeout: time.Minute}}
	addClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 32, MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute}}

	var (
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, len(bg))
		cbErr    int
		sentAdds []sentAdd
		addErr   int
	)
	post := func(c *http.Client, r request) bool {
		resp, err := c.Post(r.url, "text/xml", bytes.NewReader(r.body))
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	start := time.Now()
	var wg sync.WaitGroup
	// Background: open loop, latency from the scheduled time.
	type job struct {
		r  request
		at time.Time
	}
	jobs := make(chan job, len(bg))
	for range o.concurrency {
		wg.Go(func() {
			for j := range jobs {
				ok := post(bgClient, j.r)
				d := time.Since(j.at)
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else {
					cbErr++
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		if o.rate == 0 {
			close(jobs)
			return
		}
		interval := time.Second / time.Duration(o.rate)
		for i, r := range bg {
			at := start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			jobs <- job{r, at}
		}
		close(jobs)
	})
	// The measured adds: a fresh code each, signed when sent.
	wg.Go(func() {
		interval := time.Second / time.Duration(o.adds)
		var addWG sync.WaitGroup
		for i, p := range co.adds {
			at := start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			addWG.Go(func() {
				code := fake.IssueWelcomeCode(p.user, p.external)
				r, err := sign(sender, wecomtest.EventSpec{CorpID: corpID, Kind: "change_external_contact.add_external_contact",
					CreateTime: time.Now().Unix(), UserID: p.user, ExternalUserID: p.external, WelcomeCode: code, State: "bench"})
				sent := time.Now()
				ok := err == nil && post(addClient, r)
				mu.Lock()
				sentAdds = append(sentAdds, sentAdd{code, sent})
				if !ok {
					addErr++
				}
				mu.Unlock()
			})
		}
		addWG.Wait()
	})
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	res.achieved = float64(len(lat)) / elapsed.Seconds()
	res.cbOK, res.cbErr = len(lat), cbErr
	res.cbP50, res.cbP99 = pct(lat, 0.50), pct(lat, 0.99)
	res.adds, res.addErr = len(sentAdds), addErr

	// Wait for every welcome: until each code has a successful call, or
	// its 20 s are over (and a little more, for a call in flight).
	loadEnd := time.Now()
	var welcomed map[string]time.Time
	var attempted map[string]bool
	for {
		welcomed, attempted = welcomes(fake)
		done := true
		for _, a := range sentAdds {
			if _, ok := welcomed[a.code]; !ok && time.Since(a.sent) < codeTTL+2*time.Second {
				done = false
				break
			}
		}
		if done {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, a := range sentAdds {
		switch at, ok := welcomed[a.code]; {
		case ok:
			res.welcome = append(res.welcome, at.Sub(a.sent))
		case attempted[a.code]:
			res.failed++
		default:
			res.missing++
		}
	}
	slices.Sort(res.welcome)

	// How long the server took to work off what the load left queued.
	for time.Since(loadEnd) < 5*time.Minute {
		if q, err := backlog(base); err == nil && q == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	res.drain = time.Since(loadEnd)
	close(stopPoll)
	pollWG.Wait()
	res.backlogMax = int(backlogMax.Load())
	if m, err := server.Scrape(base); err == nil {
		res.sendMean = seconds(m.Mean("wecomply_welcome_send_seconds"))
		res.eventMean = seconds(m.Mean("wecomply_event_processing_seconds"))
		res.srvWelcomes = map[string]int{}
		for k, v := range m.Labelled("wecomply_notify_welcomes_total", "outcome") {
			res.srvWelcomes[k] = int(v)
		}
	}
	res.calls = map[string]int{}
	for _, r := range fake.Requests() {
		if !r.At.Before(start) {
			res.calls[r.Path]++
		}
	}
	return res
}

// welcomes reads the fake's send_welcome_msg requests: when each code was
// first used successfully, and which codes were tried at all.
func welcomes(fake *wecomtest.Server) (ok map[string]time.Time, tried map[string]bool) {
	ok, tried = map[string]time.Time{}, map[string]bool{}
	for _, r := range fake.Requests() {
		if r.Path != welcomePath {
			continue
		}
		var b struct {
			WelcomeCode string `json:"welcome_code"`
		}
		if json.Unmarshal(r.Body, &b) != nil || b.WelcomeCode == "" {
			continue
		}
		tried[b.WelcomeCode] = true
		if r.Status == http.StatusOK && r.Errcode == 0 && !r.Reset {
			if prev, seen := ok[b.WelcomeCode]; !seen || r.At.Before(prev) {
				ok[b.WelcomeCode] = r.At
			}
		}
	}
	return ok, tried
}

// ---- the server ----

// policyConfig is the bench's policy: the archive notice for Sales and
// the company's officers.
func policyConfig(co *company) string {
	return fmt.Sprintf(`[policy]
company = "基准科技"
officers = [%q, %q]
consent_policy = "请勿在企业微信中讨论交易细节。"
consent_policy_url = "https://compliance.example.com/policy/archive"
[[notices]]
id = "archive"
version = 1
title = "会话存档告知"
template = "ack_card"
languages = ["zh-CN", "en"]
summary = "公司将存档您与客户的企业微信会话。"
url = "https://compliance.example.com/notices/archive"
due_days = 7
[notices.audience]
departments = [2]
`, co.officers[0], co.officers[1])
}

// waitPublished waits until every member of the audience has a card and
// the server's queue has been empty for two samples in a row.
func waitPublished(base string, fake *wecomtest.Server, audience []string) error {
	deadline := time.Now().Add(3 * time.Minute)
	empty := 0
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		q, err := backlog(base)
		if err != nil || q > 0 {
			empty = 0
			continue
		}
		if empty++; empty < 2 {
			continue
		}
		missing := 0
		for _, u := range audience {
			if len(fake.Inbox(u)) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
	}
	return fmt.Errorf("the notice was not published within 3 minutes")
}

// backlog is the server's ready and leased queue entries, from /metrics.
func backlog(base string) (int, error) {
	m, err := server.Scrape(base)
	if err != nil {
		return 0, err
	}
	ready, ok1 := m[`wecomply_queue_entries{state="ready"}`]
	leased, ok2 := m[`wecomply_queue_entries{state="leased"}`]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("no wecomply_queue_entries in /metrics")
	}
	return int(ready + leased), nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// countLog counts the server's WARN and ERROR log lines.
func countLog(path string) (warns, errs int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.Contains(line, `"level":"WARN"`):
			warns++
		case strings.Contains(line, `"level":"ERROR"`):
			errs++
		}
	}
	return warns, errs
}

func pct(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	return xs[min(len(xs)-1, int(p*float64(len(xs))))]
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
