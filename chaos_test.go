package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestChaos is the exactly-once promise under fire, on each store: 10 s of
// callbacks of four kinds (a 确认 reply, a card click, a new member, a new
// customer), every WeCom API call answered after 2 s, 4 workers claiming
// up to 16 events at a time (so a backlog builds), and the server
// SIGKILLed three times during the load and started again at once.
// WeCom's side is simulated as WeCom behaves: a callback without a 200 is
// sent again until it gets one.
//
// Afterwards every event answered 200 is in the event log once, and each
// had its outward effect once at the fake WeCom: one ack_confirm text per
// reply (and no other text), one card update per reply and per click
// (each card went out in its own send, [notify] card_batch = 1, so a
// reply has its card's own response_code), one card per new member, at most one welcome message per customer — nothing doubled,
// however often an event was processed again after a kill or a lease
// taken over. On the code before the exactly-once issue, a reply waiting
// in a worker's batch lost its lease, was processed twice, and its member
// got "您目前没有待确认的告知" after the confirmation.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, kills it three times; skipped with -short")
	}
	bin := buildBinary(t)
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel() // each mostly waits on the fake's 2 s answers
			chaos(t, bin, backend)
		})
	}
}

// The chaos load: perKind events of each of the four kinds, sent evenly
// over loadTime, with a kill at each of killAt.
const (
	chaosPerKind  = 20
	chaosLoadTime = 10 * time.Second
	chaosAPIDelay = 2 * time.Second
)

var chaosKillAt = []time.Duration{2500 * time.Millisecond, 5 * time.Second, 7500 * time.Millisecond}

func chaos(t *testing.T, bin, backend string) {
	fake := policyCompany(t)
	// Members of Sales who owe the notice: the first chaosPerKind reply
	// 确认, the next click their card, the last add a customer.
	members := make([]string, 3*chaosPerKind)
	for i := range members {
		members[i] = fmt.Sprintf("m%03d", i)
		fake.AddUser(wecomtest.User{UserID: members[i], Name: members[i], Department: []int64{2}})
	}
	redisURL := ""
	if backend == "redis" {
		redisURL = redistest.Start(t)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := writePolicyConfigStore(t, fake.URL, t.TempDir(), 1, redisURL)
	editConfig(t, cfg,
		`listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", addr),
		// Every call takes 2 s: a client timeout above it, and a lease
		// that holds an event's few calls.
		`api_timeout = "1s"`, `api_timeout = "8s"`,
		`lease = "2s"`, `lease = "15s"`,
		"[workers]\n", "[workers]\ncount = 4\nclaim_batch = 16\n",
		"[admin]\n", jobsOff+"[admin]\n",
	)
	srv := &chaosServer{t: t, bin: bin, cfg: cfg, base: base}
	srv.start()
	defer srv.stop()
	waitInboxes(t, fake, members, 1, 60*time.Second) // the published notice's cards

	removeDelay := fake.InjectFault(wecomtest.Fault{Delay: chaosAPIDelay})
	defer removeDelay()
	c, err := wecom.NewCipher(testToken, testKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	s := &wecomtest.Sender{URL: base + "/wecom/callback", Cipher: c, Client: &http.Client{Timeout: 5 * time.Second}}

	var (
		mu        sync.Mutex
		accepted  = map[string]bool{} // dedup keys answered 200
		posts     int
		wg        sync.WaitGroup
		repliers  = members[:chaosPerKind]
		clickers  = members[chaosPerKind : 2*chaosPerKind]
		employees = members[2*chaosPerKind:]
		hires     = make([]string, chaosPerKind)
		customers = make([]string, chaosPerKind)
	)
	for i := range chaosPerKind {
		hires[i] = fmt.Sprintf("hire%03d", i)
		customers[i] = fmt.Sprintf("wmchaos%03d", i)
	}
	// send makes the n-th event's callback and sends it until WeCom
	// would stop: until it is answered 200.
	send := func(n int) {
		i, kind := n/4, n%4
		spec := wecomtest.EventSpec{CorpID: testCorpID, CreateTime: time.Now().Unix()}
		switch kind {
		case 0:
			spec.Kind, spec.UserID, spec.Content, spec.MsgID = "text", repliers[i], "确认", strconv.Itoa(7100000000000000000+n)
		case 1:
			card := cards(fake, clickers[i])[0]
			click, err := fake.Click(clickers[i], card.MsgID, "ack:archive:v1")
			if err != nil {
				t.Error(err)
				return
			}
			spec = click.Spec()
			spec.CorpID = testCorpID
		case 2:
			fake.AddUser(wecomtest.User{UserID: hires[i], Name: hires[i], Department: []int64{2}})
			spec.Kind, spec.UserID, spec.Department = "change_contact.create_user", hires[i], "2"
		default:
			fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: customers[i], Name: customers[i]},
				wecomtest.FollowUser{UserID: employees[i]})
			spec.Kind, spec.UserID, spec.ExternalUserID = "change_external_contact.add_external_contact", employees[i], customers[i]
			spec.WelcomeCode = fake.IssueWelcomeCode(employees[i], customers[i])
		}
		plain, err := wecomtest.BuildEvent(spec)
		if err != nil {
			t.Error(err)
			return
		}
		ev, err := wecom.Decode(plain)
		if err != nil {
			t.Error(err)
			return
		}
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			status, _, err := s.Post(context.Background(), plain)
			mu.Lock()
			posts++
			if err == nil && status == 200 {
				accepted[ev.DedupKey()] = true
				mu.Unlock()
				return
			}
			mu.Unlock()
			time.Sleep(200 * time.Millisecond) // WeCom waits before it retries
		}
		t.Errorf("event %d (%s) never answered 200", n, spec.Kind)
	}

	start := time.Now()
	total := 4 * chaosPerKind
	wg.Go(func() {
		// The load, evenly spread; each send reports with t.Error only,
		// as it runs off the test goroutine.
		for n := range total {
			time.Sleep(time.Until(start.Add(chaosLoadTime * time.Duration(n) / time.Duration(total))))
			wg.Go(func() { send(n) })
		}
	})
	// The kills, on the test goroutine (kill and start may t.Fatal), each
	// followed by a moment with no server at all (callbacks fail and are
	// sent again) and a restart.
	for _, at := range chaosKillAt {
		time.Sleep(time.Until(start.Add(at)))
		srv.kill()
		time.Sleep(300 * time.Millisecond)
		srv.start()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d events answered 200 in %s (%d posts), %d SIGKILLs", len(accepted), time.Since(start).Round(time.Millisecond), posts, len(chaosKillAt))

	// Processed: every accepted event in the log, the queue drained.
	var r eventsResponse
	waitFor(t, "every accepted event in the event log", 3*time.Minute, func() bool {
		r = listEvents(t, base, "?limit=1000")
		return len(r.Events) >= len(accepted)
	})
	seen := map[string]int{}
	for _, e := range r.Events {
		seen[e["dedup_key"].(string)]++
	}
	for key := range accepted {
		if seen[key] != 1 {
			t.Errorf("event %s appears %d times in the event log, want 1", key, seen[key])
		}
	}
	waitFor(t, "the queue drained and every effect seen", 3*time.Minute, func() bool {
		if !drained(t, base) {
			return false
		}
		for i := range chaosPerKind {
			if len(texts(fake, repliers[i])) == 0 || updatedCards(fake, repliers[i]) == 0 || updatedCards(fake, clickers[i]) == 0 ||
				len(cards(fake, hires[i])) == 0 {
				return false
			}
		}
		return true
	})

	// Nothing doubled, counted at the fake WeCom.
	welcomes := 0
	for i := range chaosPerKind {
		if got := texts(fake, repliers[i]); len(got) != 1 || !strings.Contains(got[0], "会话存档告知") {
			t.Errorf("%s (replied 确认) got texts %q, want exactly one ack_confirm", repliers[i], got)
		}
		if n := updatedCards(fake, repliers[i]); n != 1 {
			t.Errorf("%s (replied 确认) has %d updated cards, want 1", repliers[i], n)
		}
		if n := updatedCards(fake, clickers[i]); n != 1 {
			t.Errorf("%s (clicked) has %d updated cards, want 1", clickers[i], n)
		}
		if n := len(fake.Inbox(clickers[i])); n != 1 {
			t.Errorf("%s (clicked) has %d messages, want only the card", clickers[i], n)
		}
		if n := len(fake.Inbox(hires[i])); n != 1 {
			t.Errorf("%s (new member) has %d messages, want one card", hires[i], n)
		}
		w := len(fake.Inbox(customers[i]))
		if w > 1 {
			t.Errorf("customer %s got %d welcome messages, want at most one", customers[i], w)
		}
		welcomes += w
	}
	for _, u := range append(append([]string{}, members...), hires...) {
		if d := fake.Drops(u); d != 0 {
			t.Errorf("%s: %d messages dropped by the member limit", u, d)
		}
	}
	updates := 0
	for _, req := range fake.Requests() {
		if req.Path == "message/update_template_card" && req.Errcode == 0 && req.Status == 200 {
			updates++
		}
	}
	// One per click and one per reply: a reply greys out the card with
	// its own send's response_code (one card a send), a click with the
	// fresh code its callback brings.
	if updates != 2*chaosPerKind {
		t.Errorf("%d successful update_template_card calls, want %d (one per reply and one per click)", updates, 2*chaosPerKind)
	}
	t.Logf("at the fake: %d message/send calls, %d card updates, %d of %d welcome messages (a welcome code lives 20 s)",
		fake.CountRequests("message/send"), updates, welcomes, chaosPerKind)
}

// chaosServer is the `wecomply serve` process that TestChaos kills and
// starts again.
type chaosServer struct {
	t              *testing.T
	bin, cfg, base string
	mu             sync.Mutex
	cmd            *exec.Cmd
}

func (s *chaosServer) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd = startServer(s.t, s.bin, s.cfg, s.base)
}

func (s *chaosServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Wait()
}

func (s *chaosServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		s.t.Errorf("after SIGTERM: %v", err)
	}
}

// texts returns the content of each text message in user's inbox.
func texts(fake *wecomtest.Server, user string) []string {
	var out []string
	for _, m := range fake.Inbox(user) {
		if m.MsgType == "text" {
			out = append(out, m.Content)
		}
	}
	return out
}

// updatedCards counts the cards in user's inbox whose button was greyed
// out by an update.
func updatedCards(fake *wecomtest.Server, user string) int {
	n := 0
	for _, m := range cards(fake, user) {
		if m.ReplaceName != "" {
			n++
		}
	}
	return n
}
