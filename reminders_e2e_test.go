package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestReminderLifecycle drives the reminders job of a running server on
// an injected clock — the activation each run is for — through a
// notice's life: quiet hours and weekends, the cadence, escalation to the
// direct leader and the notice's owner after two reminders, an
// acknowledgement from a reminder card, and re-attestation 30 days later
// with its own attestation. (TestClockMatrix runs it on every day of a
// week, at four times of day.)
func TestReminderLifecycle(t *testing.T) { reminderLifecycle(t, testclock.New(t)) }

func reminderLifecycle(t *testing.T, clk *testclock.Clock) {
	fake := policyCompanyAt(t, clk)
	fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{2}, DirectLeader: []string{"wangwu"}})
	a, base := startJobsApp(t, clk, fake, "due_days = 1\nremind_every_days = 2\nescalate_after = 2\nreattest_days = 30\nowners = [\"wangfang\"]\n")
	ctx := context.Background()

	eventually(t, "the cards", func() bool { return len(cards(fake, "zhangsan")) == 1 && len(cards(fake, "lisi")) == 1 })
	shanghai := jobsLocation(a.cfg)
	// The first Monday, 10:00 in Shanghai, at least two days (the cadence)
	// from now, which is after the cards went out.
	now := clk.Now().In(shanghai)
	mon := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, shanghai)
	for mon.Weekday() != time.Monday || mon.Before(now.Add(48*time.Hour)) {
		mon = mon.AddDate(0, 0, 1)
	}
	run := func(at time.Time) map[string]int {
		t.Helper()
		r, err := a.jobs.RunScheduled(ctx, "reminders", at)
		if err != nil {
			t.Fatalf("run at %v: %v (%+v)", at, err, r)
		}
		return r.Counts
	}
	remindersOf := func(user string) int { return len(reminders(fake, []string{user})[user]) }
	want := func(what string, zhangsan, lisi int) {
		t.Helper()
		eventually(t, what, func() bool { return remindersOf("zhangsan") == zhangsan && remindersOf("lisi") == lisi })
	}

	if c := run(mon.AddDate(0, 0, -1)); c["quiet"] != 1 || c["reminded"] != 0 {
		t.Errorf("Sunday: %v, want a quiet run", c)
	}
	if c := run(mon.Add(-2 * time.Hour)); c["quiet"] != 1 {
		t.Errorf("Monday 08:00: %v, want a quiet run", c)
	}
	if c := run(mon); c["reminded"] != 2 || c["overdue"] != 2 {
		t.Errorf("Monday 10:00: %v, want both reminded and marked overdue", c)
	}
	want("the first reminders", 1, 1)
	if c := run(mon.Add(time.Hour)); c["reminded"] != 0 {
		t.Errorf("Monday 11:00: %v, want nobody reminded (the cadence is two days)", c)
	}
	if c := run(mon.AddDate(0, 0, 1)); c["reminded"] != 0 {
		t.Errorf("Tuesday: %v, want nobody reminded", c)
	}
	if c := run(mon.AddDate(0, 0, 2)); c["reminded"] != 2 || c["escalated"] != 0 {
		t.Errorf("Wednesday: %v, want the second reminders and no escalation yet", c)
	}
	want("the second reminders", 2, 2)
	if c := run(mon.AddDate(0, 0, 4)); c["escalated"] != 2 {
		t.Errorf("Friday: %v, want both escalated", c)
	}
	want("the third reminders", 3, 3)
	// lisi's leader is told about lisi; the owner about both; zhangsan has
	// no leader.
	markdown := func(user, text string) bool { return markdowns(fake, user, text) > 0 }
	eventually(t, "the escalations", func() bool {
		return markdown("wangwu", "李四（lisi）") && markdown("wangfang", "李四（lisi）") && markdown("wangfang", "张三（zhangsan）")
	})
	if markdown("wangwu", "zhangsan") {
		t.Error("wangwu was told about zhangsan, who is not their report")
	}
	if c := run(mon.AddDate(0, 0, 8)); c["escalated"] != 0 {
		t.Errorf("the next Tuesday: %v, want no second escalation", c)
	}

	// lisi acknowledges from the latest reminder card.
	rs := reminders(fake, []string{"lisi"})["lisi"]
	click, err := fake.Click("lisi", rs[len(rs)-1].MsgID, "ack:archive:v1")
	if err != nil {
		t.Fatalf("click the reminder: %v", err)
	}
	postEvent(t, base, click.Spec())
	var ats attestationsResponse
	eventually(t, "lisi's attestation", func() bool {
		apiGet(t, base, "/api/v1/attestations?user=lisi", &ats)
		return len(ats.Attestations) == 1
	})

	// 30 days after the acknowledgement (a working morning): owed again,
	// with a new card, acknowledged as round 1.
	reattestAndAck(t, clk, a, fake, base, "lisi")

	var jobsResp jobsResponse
	if status := apiGet(t, base, "/api/v1/jobs?job=reminders&limit=100", &jobsResp); status != 200 || len(jobsResp.Jobs) != 1 {
		t.Fatalf("GET /api/v1/jobs: %d %+v", status, jobsResp)
	}
	if j := jobsResp.Jobs[0]; !j.Off || len(j.Runs) != 10 || j.Runs[0].Outcome != store.RunOK || j.Runs[0].Counts["reattest"] != 0 {
		t.Errorf("the reminders job as listed: %+v, want off (no spec) with the test's 10 runs, latest first", j)
	}
	var report struct {
		OK bool `json:"ok"`
	}
	if status := apiGet(t, base, "/api/v1/audit/verify", &report); status != 200 || !report.OK {
		t.Errorf("audit verify: %d %+v", status, report)
	}
}

// TestReattestationWithoutDueDate: a notice with no due date says "any
// time" on every card, so the re-attestation card has the first card's
// text; it still goes out (its own notify key), and its click is the
// next round's attestation.
func TestReattestationWithoutDueDate(t *testing.T) {
	reattestationWithoutDueDate(t, testclock.New(t))
}

func reattestationWithoutDueDate(t *testing.T, clk *testclock.Clock) {
	fake := policyCompanyAt(t, clk)
	a, base := startJobsApp(t, clk, fake, "reattest_days = 30\n")
	eventually(t, "zhangsan's card", func() bool { return len(cards(fake, "zhangsan")) == 1 })
	click, err := fake.Click("zhangsan", cards(fake, "zhangsan")[0].MsgID, "ack:archive:v1")
	if err != nil {
		t.Fatal(err)
	}
	postEvent(t, base, click.Spec())
	var ats attestationsResponse
	eventually(t, "zhangsan's attestation", func() bool {
		apiGet(t, base, "/api/v1/attestations?user=zhangsan", &ats)
		return len(ats.Attestations) == 1
	})
	reattestAndAck(t, clk, a, fake, base, "zhangsan")
}

// jobsOff is a [jobs] section that turns every cron job off: the test
// makes the runs, for the activations it chooses.
const jobsOff = "[jobs]\nreminders = \"\"\ndigest = \"\"\nreconcile = \"\"\nretention = \"\"\n"

// startJobsApp runs a server on clk and the policy company with the
// archive notice's due_days line replaced by notice (TOML keys of the
// notice) and the cron off.
func startJobsApp(t *testing.T, clk *testclock.Clock, fake *wecomtest.Server, notice string) (*app, string) {
	t.Helper()
	cfgPath := writePolicyConfig(t, fake.URL, t.TempDir(), 1)
	editConfig(t, cfgPath, "due_days = 7\n", notice, "[admin]\n", jobsOff+"[admin]\n")
	ctx, cancel := context.WithCancel(context.Background())
	a, base, done := launchAppAt(t, ctx, clk, cfgPath, io.Discard)
	t.Cleanup(func() { cancel(); <-done })
	return a, base
}

// reattestAndAck runs the reminders on the first working morning (10:00)
// at least 30 days after now on clk, when user, who acknowledged the
// notice before now, owes it again: they get a new card, and clicking it
// is a second attestation.
func reattestAndAck(t *testing.T, clk *testclock.Clock, a *app, fake *wecomtest.Server, base, user string) {
	t.Helper()
	ctx := context.Background()
	shanghai := jobsLocation(a.cfg)
	now := clk.Now().In(shanghai)
	reattest := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, shanghai)
	for reattest.Weekday() == time.Saturday || reattest.Weekday() == time.Sunday || reattest.Before(now.AddDate(0, 0, 30)) {
		reattest = reattest.AddDate(0, 0, 1)
	}
	run := func(at time.Time) map[string]int {
		t.Helper()
		r, err := a.jobs.RunScheduled(ctx, "reminders", at)
		if err != nil {
			t.Fatalf("run at %v: %v (%+v)", at, err, r)
		}
		return r.Counts
	}
	ackCards := func() []wecomtest.InboxMessage {
		var out []wecomtest.InboxMessage
		for _, m := range cards(fake, user) {
			if !strings.Contains(string(m.Message), "提醒") {
				out = append(out, m)
			}
		}
		return out
	}
	if c := run(reattest); c["reattest"] != 1 {
		t.Errorf("30 days later: %v, want %s owing it again", c, user)
	}
	eventually(t, "the re-attestation card", func() bool { return len(ackCards()) == 2 })
	if c := run(reattest.Add(time.Hour)); c["reattest"] != 0 {
		t.Errorf("an hour later: %v, want no second re-attestation", c)
	}
	click, err := fake.Click(user, ackCards()[1].MsgID, "ack:archive:v1")
	if err != nil {
		t.Fatalf("click the re-attestation card: %v", err)
	}
	postEvent(t, base, click.Spec())
	var ats attestationsResponse
	eventually(t, user+"'s second attestation", func() bool {
		apiGet(t, base, "/api/v1/attestations?user="+user, &ats)
		return len(ats.Attestations) == 2
	})
}
