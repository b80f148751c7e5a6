package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
)

func TestLastActivation(t *testing.T) {
	loc := shanghai(t)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, spec, now, want string // want "" : none
	}{
		{"hourly, mid-hour", "0 * * * *", "2026-03-02 15:30", "2026-03-02 15:00"},
		{"hourly, on the hour: the activation now counts", "0 * * * *", "2026-03-02 15:00", "2026-03-02 15:00"},
		{"every minute", "* * * * *", "2026-03-02 15:30", "2026-03-02 15:30"},
		{"daily at 09:00, before it: yesterday's", "0 9 * * *", "2026-03-02 08:59", "2026-03-01 09:00"},
		{"daily 02:30, in the spec's zone", "30 2 * * *", "2026-03-02 15:30", "2026-03-02 02:30"},
		{"weekdays at 09:00, on Monday morning: Friday's", "0 9 * * 1-5", "2026-03-02 08:00", "2026-02-27 09:00"},
		{"monthly", "0 3 1 * *", "2026-03-02 15:30", "2026-03-01 03:00"},
		{"yearly", "0 0 1 1 *", "2026-03-02 15:30", "2026-01-01 00:00"},
		{"leap day, years back", "0 0 29 2 *", "2026-03-02 15:30", "2024-02-29 00:00"},
		{"descriptor", "@daily", "2026-03-02 15:30", "2026-03-02 00:00"},
		{"@every has no fixed activations", "@every 1h", "2026-03-02 15:30", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched, err := cron.ParseStandard(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := lastActivation(sched, at(tt.now))
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("lastActivation(%q, %s) = %v, want none", tt.spec, tt.now, got)
				}
				return
			}
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("lastActivation(%q, %s) = %v, want %v", tt.spec, tt.now, got, want)
			}
		})
	}
}

// TestCatchUp: at start-up, one run for the latest activation missed,
// however many were missed; none when the latest has run.
func TestCatchUp(t *testing.T) {
	loc := shanghai(t)
	monday := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, loc) } // a Monday
	now := monday(15, 30)
	type past struct {
		at      time.Time
		outcome string // store.RunOK, RunFailed or RunRunning (a leader that died)
	}
	tests := []struct {
		name     string
		past     []past
		wantRun  bool // a run for 15:00 is made
		wantRuns int  // runs recorded afterwards
		starts   int  // of the 15:00 run
	}{
		{"last run at 10:00: exactly one run, for 15:00", []past{{monday(10, 0), store.RunOK}}, true, 2, 1},
		{"down three days: one run, not 72", []past{{monday(15, 0).AddDate(0, 0, -3), store.RunOK}}, true, 2, 1},
		{"never run: one run", nil, true, 1, 1},
		{"the latest activation ran: none", []past{{monday(14, 0), store.RunOK}, {monday(15, 0), store.RunOK}}, false, 2, 1},
		{"the latest activation failed: not made again", []past{{monday(15, 0), store.RunFailed}}, false, 1, 1},
		{"the latest activation left running by a dead leader: taken over", []past{{monday(15, 0), store.RunRunning}}, true, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := testclock.Frozen(now)
			st := openEmbedded(t, nil) // leases on the wall clock
			ctx := context.Background()
			for _, p := range tt.past {
				seedRun(t, st, "reminders", p.at, p.outcome)
			}
			var c counter
			r := newReplica(t, st, "replica-a", []Job{
				{Name: "reminders", Spec: "0 * * * *", Run: c.quick},
				{Name: "digest", Spec: "", Run: c.quick}, // off: never caught up
			}, withClock(clk))
			r.catchUp(ctx)

			wantStarts := 0
			if tt.wantRun {
				wantStarts = 1
			}
			if n := int(c.starts.Load()); n != wantStarts {
				t.Errorf("the job ran %d times, want %d", n, wantStarts)
			}
			got := runs(t, st, "reminders")
			if len(got) != tt.wantRuns {
				t.Fatalf("%d runs recorded, want %d: %+v", len(got), tt.wantRuns, got)
			}
			if !got[0].ScheduledAt.Equal(monday(15, 0)) || got[0].Starts != tt.starts {
				t.Errorf("latest run %+v, want one for 15:00 started %d times", got[0], tt.starts)
			}
			if tt.wantRun && (got[0].Outcome != store.RunOK || got[0].Holder != "replica-a" || got[0].Counts["sent"] != 3) {
				t.Errorf("caught-up run %+v, want ok by replica-a with its counts", got[0])
			}
			if rs := runs(t, st, "digest"); len(rs) != 0 {
				t.Errorf("the job that is off ran: %+v", rs)
			}
		})
	}
}

// TestStartCatchesUp: Start makes the missed run in the background.
func TestStartCatchesUp(t *testing.T) {
	loc := shanghai(t)
	clk := testclock.Frozen(time.Date(2026, 3, 2, 15, 30, 0, 0, loc))
	st := openEmbedded(t, nil)
	var c counter
	r := newReplica(t, st, "replica-a", []Job{{Name: "reminders", Spec: "0 * * * *", Run: c.quick}}, withClock(clk))
	r.Start(context.Background())
	waitFor(t, "the caught-up run is recorded ok", func() bool {
		rs := runs(t, st, "reminders")
		return len(rs) == 1 && rs[0].Outcome == store.RunOK
	})
	<-r.Stop().Done()
	if n := c.starts.Load(); n != 1 {
		t.Errorf("the job ran %d times, want 1", n)
	}
	if rs := runs(t, st, "reminders"); !rs[0].ScheduledAt.Equal(time.Date(2026, 3, 2, 15, 0, 0, 0, loc)) {
		t.Errorf("caught up %v, want 15:00", rs[0].ScheduledAt)
	}
}
