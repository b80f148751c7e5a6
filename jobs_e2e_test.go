package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestRemindersThreeReplicas runs three `wecomply serve` processes on one
// real Redis, each with the reminders job, after the people owing a
// notice have let three days pass. The reminder run is made once
// between them — every person gets exactly one reminder, in
// ceil(people/1000) message/send calls ([notify] card_batch = 1000) —
// and, when the replica running it is SIGKILLed mid-run (while it waits
// on WeCom's user/get), another
// takes the run over once its lease expires and finishes it, still
// without a second reminder to anyone.
func TestRemindersThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three servers; skipped with -short")
	}
	for _, kill := range []bool{false, true} {
		name := "clean"
		if kill {
			name = "kill the leader"
		}
		t.Run(name, func(t *testing.T) { remindersThreeReplicas(t, kill) })
	}
}

const remindPeople = 2500

func remindersThreeReplicas(t *testing.T, kill bool) {
	bin := buildBinary(t)
	redisURL := redistest.Start(t)
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{CorpID: testCorpID,
		Apps: map[string]wecomtest.AppConfig{"app": {Secret: testAppSecret, AgentID: 1000002}, "contacts": {Secret: contactsSecret}}})
	fake.AddDepartment(wecomtest.Department{ID: 1, Name: "示例科技"})
	users := make([]string, remindPeople)
	for i := range users {
		users[i] = fmt.Sprintf("u%05d", i)
		fake.AddUser(wecomtest.User{UserID: users[i], Name: users[i], Department: []int64{1}})
	}

	// Day 0: one replica publishes the notice (the reminders job off):
	// everyone owes it and gets the card.
	addr := freeAddr(t)
	cmd := startServer(t, bin, remindConfig(t, fake.URL, redisURL, "", addr), "http://"+addr)
	waitInboxes(t, fake, users, 1, 60*time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// Three days pass: the obligations are moved back in the store to
	// three days before the run's activation, the way the clock would
	// have moved forward.
	cfg, err := config.Load(remindConfig(t, fake.URL, redisURL, "0 0 1 1 *", "127.0.0.1:0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shanghai := jobsLocation(cfg)
	// The yearly activation: the same for every replica however long they
	// take to start (a daily one moves at 16:00 UTC). The replicas are
	// processes on the wall clock, so the year is the wall clock's.
	wall := time.Now()
	activation := time.Date(wall.In(shanghai).Year(), 1, 1, 0, 0, 0, 0, shanghai)
	keys := make([]store.ObligationKey, len(users))
	for i, u := range users {
		keys[i] = store.ObligationKey{UserID: u, NoticeID: "conduct", Version: 1}
	}
	ctx := context.Background()
	// With kill, the first three were reminded twice already and are due
	// to be escalated: the run first asks WeCom who their leaders are, and
	// the first answer is slow — the leader is surely mid-run when killed.
	if err := st.UpdateObligations(ctx, keys, func(o policy.Obligation) (policy.Obligation, error) {
		o.CreatedAt = activation.Add(-72 * time.Hour)
		if kill && o.UserID < users[3] {
			o.Reminders, o.LastRemindedAt, o.DueAt = 2, activation.Add(-72*time.Hour), activation.Add(-time.Hour)
		}
		return o, nil
	}); err != nil {
		t.Fatal(err)
	}
	if kill {
		fake.InjectFault(wecomtest.Fault{Path: "user/get", Delay: 800 * time.Millisecond, Times: 1})
	}
	sendsBefore := fake.CountRequests("message/send")

	// Three replicas start: each catches up the day's run.
	replicas := make([]*exec.Cmd, 3)
	for i := range replicas {
		addr := freeAddr(t)
		replicas[i] = startServer(t, bin, remindConfig(t, fake.URL, redisURL, "0 0 1 1 *", addr), "http://"+addr)
	}
	var run store.JobRun
	killed := ""
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs, err := st.ListJobRuns(ctx, "reminders", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 {
			run = runs[0]
			if kill && killed == "" && run.Outcome == store.RunRunning {
				killed = run.Holder
				p := replicaOf(t, replicas, run.Holder)
				if err := p.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				p.Wait()
				t.Logf("killed the leader %s mid-run; %d reminder(s) delivered by then", killed, len(reminders(fake, users)))
			}
			if run.Outcome == store.RunOK && (!kill || killed != "") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reminders run did not finish: %+v (killed %q)", run, killed)
		}
		time.Sleep(20 * time.Millisecond) // the leader waits 800 ms on user/get
	}
	if !run.ScheduledAt.Equal(activation) {
		t.Errorf("run for %v, want the activation %v", run.ScheduledAt, activation)
	}
	if kill {
		if run.Starts != 2 || run.Holder == killed {
			t.Errorf("run %+v: want taken over (2 starts) and finished by another replica than %s", run, killed)
		}
	} else if run.Starts != 1 {
		t.Errorf("run %+v: want made once between three replicas", run)
	}
	if run.Counts["reminded"] == 0 && !kill {
		t.Errorf("run counts %v: nobody reminded", run.Counts)
	}

	// Every person gets exactly one reminder, however the run went: once
	// all are delivered and the shared queue is drained (nothing ready,
	// nothing leased, a dead leader's deliveries taken over and done), no
	// duplicate can be on its way.
	eventually(t, "every reminder delivered", func() bool { return len(reminders(fake, users)) == len(users) })
	eventually(t, "the queue drained", func() bool {
		s, err := st.QueueStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s.Ready == 0 && s.Leased == 0
	})
	got := reminders(fake, users)
	msgIDs := map[string]bool{}
	for u, ms := range got {
		if len(ms) != 1 {
			t.Errorf("%s got %d reminders, want 1", u, len(ms))
		}
		for _, m := range ms {
			msgIDs[m.MsgID] = true
		}
	}
	if len(got) != len(users) {
		t.Errorf("%d of %d people reminded", len(got), len(users))
	}
	// One call per thousand people (all in one language); a call cut off
	// by the kill and made again with the same body is dropped by WeCom's
	// duplicate check, so deliveries stay at one per person.
	if want := (len(users) + 999) / 1000; len(msgIDs) != want {
		t.Errorf("reminders went out in %d message/send calls, want %d", len(msgIDs), want)
	}
	t.Logf("%d people, run %+v, %d message/send calls after the cards (%d delivering reminders)",
		len(users), run, fake.CountRequests("message/send")-sendsBefore, len(msgIDs))
}

// replicaOf finds the replica that holds a run: its holder is host-pid.
func replicaOf(t *testing.T, replicas []*exec.Cmd, holder string) *exec.Cmd {
	t.Helper()
	pid, err := strconv.Atoi(holder[strings.LastIndexByte(holder, '-')+1:])
	if err != nil {
		t.Fatalf("holder %q: %v", holder, err)
	}
	for _, r := range replicas {
		if r.Process.Pid == pid {
			return r
		}
	}
	t.Fatalf("no replica has pid %d", pid)
	return nil
}

// reminders returns the reminder cards each person got.
func reminders(fake *wecomtest.Server, users []string) map[string][]wecomtest.InboxMessage {
	out := map[string][]wecomtest.InboxMessage{}
	for _, u := range users {
		for _, m := range cards(fake, u) {
			if strings.Contains(string(m.Message), "提醒") {
				out[u] = append(out[u], m)
			}
		}
	}
	return out
}

// remindConfig writes a config on Redis with one notice for everyone,
// reminded every two days at any hour, and the reminders job on spec.
func remindConfig(t *testing.T, apiURL, redisURL, spec, listen string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
[server]
listen = %q
[log]
level = "info"
[wecom]
corp_id = %q
agent_id = 1000002
api_timeout = "1s"
secret = %q
contacts_secret = %q
api_base_url = %q
[[wecom.callback]]
path = "/wecom/callback"
token = %q
encoding_aes_key = %q
[store]
backend = "redis"
redis_url = %q
# Long enough for a publish chunk of 500 people (each an fsynced Redis
# write) on a loaded machine: the event timeout is two thirds of it.
lease = "6s"
[workers]
retry_backoff = "100ms"
[jobs]
lease = "5s"
reminders = %q
digest = ""
reconcile = ""
retention = ""
# The cards and reminder cards of 2,500 people a thousand a call, as the
# test counts them (the default, one card a call, would make 5,000 calls).
[notify]
card_batch = 1000
[calendar]
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
working_hours = "00:00-24:00"
[policy]
company = "示例科技"
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
remind_every_days = 2
escalate_after = 2
[notices.audience]
everyone = true
[admin]
tokens = [%q]
`, listen, testCorpID, testAppSecret, contactsSecret, apiURL, testToken, testKey, redisURL, spec, testAdmin)
	p := filepath.Join(t.TempDir(), "wecomply.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
