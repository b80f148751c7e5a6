package main

import (
	"io"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// clockMatrixTimes are the times of day TestClockMatrix sets the clock
// to on each day of its week: past midnight, either side of the
// calendar's working mornings (and the reminders' 10:00), and the last
// minute of the day.
var clockMatrixTimes = []struct{ hour, minute int }{{0, 30}, {9, 59}, {10, 5}, {23, 59}}

// TestClockMatrix runs the tests whose verdict depends on the day or the
// hour with the app's clock (and the fake WeCom's) at each day of one
// week at each of clockMatrixTimes, Shanghai time: 28 settings. A test
// that reasons about days and hours from the wall clock, or picks "the
// next Monday" without minding the hour, fails here on some setting,
// whatever day the suite runs on.
func TestClockMatrix(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func(*testing.T, *testclock.Clock)
	}{
		{"ReminderLifecycle", reminderLifecycle},
		{"ReattestationWithoutDueDate", reattestationWithoutDueDate},
		{"ServeRunsTheDigest", serveRunsTheDigest},
		{"DigestReportsSinceTheLastDigest", digestReportsSinceTheLastDigest},
	}
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, shanghai)
	for day := range 7 {
		for _, hm := range clockMatrixTimes {
			at := time.Date(monday.Year(), monday.Month(), monday.Day()+day, hm.hour, hm.minute, 0, 0, shanghai)
			t.Run(at.Format("Mon_15:04"), func(t *testing.T) {
				t.Parallel()
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) { tt.run(t, testclock.At(at)) })
				}
			})
		}
	}
}

// TestAppRunsOnItsClock: every part of the app that reasons about days
// and hours takes its time from the app's clock, here years from the
// wall clock: the callback handler accepts a callback signed on it and
// stamps its ReceivedAt, the processor dates obligations, the notifier
// its results, and the cron catches up the activations before it.
func TestAppRunsOnItsClock(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2031, 5, 6, 10, 0, 0, 0, shanghai) // a Tuesday
	clk := testclock.At(at)
	fake := policyCompanyAt(t, clk)
	base := startAppAt(t, clk, writePolicyConfig(t, fake.URL, t.TempDir(), 1), io.Discard)
	onClock := func(what string, got time.Time) {
		t.Helper()
		if got.Before(at) || !got.Before(at.Add(time.Minute)) {
			t.Errorf("%s: %v, want the app's clock (from %v)", what, got, at)
		}
	}

	postEvent(t, base, wecomtest.EventSpec{Kind: "enter_agent", UserID: "wangwu", CreateTime: clk.Now().Unix()})
	var events struct {
		Events []struct {
			ReceivedAt time.Time `json:"received_at"`
		} `json:"events"`
	}
	eventually(t, "the event logged", func() bool {
		apiGet(t, base, "/api/v1/events?kind=enter_agent", &events)
		return len(events.Events) == 1
	})
	onClock("the event's received_at", events.Events[0].ReceivedAt)

	var obs struct {
		Obligations []policy.Obligation `json:"obligations"`
	}
	eventually(t, "zhangsan's obligation", func() bool {
		apiGet(t, base, "/api/v1/obligations?user=zhangsan", &obs)
		return len(obs.Obligations) == 1
	})
	onClock("the obligation's created_at", obs.Obligations[0].CreatedAt)
	if due := obs.Obligations[0].DueAt; !due.Equal(obs.Obligations[0].CreatedAt.AddDate(0, 0, 7)) {
		t.Errorf("due_at %v, want 7 days after created_at", due)
	}

	var sends struct {
		Results []store.RecipientResult `json:"results"`
	}
	eventually(t, "the card's send result", func() bool {
		apiGet(t, base, "/api/v1/sends/archive:v1", &sends)
		return len(sends.Results) == 1 && sends.Results[0].Status == store.StatusSent
	})
	onClock("the send result's at", sends.Results[0].At)

	j := finishedRun(t, base, "digest")
	if len(j.Runs) != 1 || j.Runs[0].Outcome != store.RunOK {
		t.Fatalf("the digest job: %+v; want one run caught up, ok", j)
	}
	run := j.Runs[0]
	if want := time.Date(2031, 5, 6, 9, 0, 0, 0, shanghai); !run.ScheduledAt.Equal(want) {
		t.Errorf("the digest caught up the activation %v, want %v", run.ScheduledAt, want)
	}
	onClock("the digest run's started_at", run.StartedAt)
}
