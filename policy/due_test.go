package policy

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestNextDue(t *testing.T) {
	n := remindNotice // due in 7 days, reminded every 2 at most 3 times, escalated after 2
	cadence := 2*24*time.Hour - cadenceSlack
	reattest := n
	reattest.ReattestDays = 365
	noCadence := n
	noCadence.RemindEveryDays = 0
	reopened := func(o *Obligation) {
		o.Reason, o.Round, o.CreatedAt, o.DueAt = ReasonReattest, 1, day(400, 10, 0), day(407, 10, 0)
	}
	tests := []struct {
		name string
		n    Notice
		o    Obligation
		want Due
	}{
		// A fresh card: the first reminder comes before the due date.
		{"fresh: the first reminder", n, pending("zhangsan"), Due{From: monday.Add(cadence)}},
		// Reminded at day 2 and day 4: the next one would be the third
		// and last, at day 6, before the due date (day 7).
		{"reminded twice: the third", n, pending("zhangsan", reminded(2, day(4, 10, 0))), Due{From: day(4, 10, 0).Add(cadence)}},
		// Three reminders, the cap: the due date is next (overdue), and
		// the escalation is due then too.
		{"at the cap: overdue at the due date", n, pending("zhangsan", reminded(3, day(6, 10, 0))), Due{From: day(7, 10, 0)}},
		// Overdue, capped, escalated: nothing more will happen.
		{"overdue, capped, escalated: never", n,
			pending("zhangsan", status(Overdue), reminded(3, day(6, 10, 0)), escalatedAt(day(8, 10, 0))), Due{}},
		// Overdue, reminded twice on day 8, not escalated: the third
		// reminder and the escalation both a cadence later.
		{"overdue, escalation after a cadence", n,
			pending("zhangsan", status(Overdue), reminded(2, day(8, 10, 0))), Due{From: day(8, 10, 0).Add(cadence)}},
		// Reminded twice before the due date, capped at two: the
		// escalation waits for the due date, the later of the two.
		{"escalation waits for the due date", withMax(n, 2), pending("zhangsan", reminded(2, day(3, 10, 0))), Due{From: day(7, 10, 0)}},
		// No cadence, reminded twice earlier (the notice's cadence was
		// removed since): no reminder; the escalation from the due date.
		{"no cadence: escalation at the due date", noCadence, pending("zhangsan", reminded(2, day(3, 10, 0))), Due{From: day(7, 10, 0)}},
		// … and with no due date either: at any time.
		{"no cadence, no due date: always", noCadence, pending("zhangsan", reminded(2, day(3, 10, 0)), noDueDate), Due{From: dueAlways}},
		// No due date, no reminders configured: never.
		{"nothing configured: never", noCadence, pending("zhangsan", noDueDate), Due{}},
		// Acknowledged, no re-attestation: never.
		{"acknowledged: never", n, pending("zhangsan", acked(day(1, 10, 0), 0)), Due{}},
		// Acknowledged with reattest_days: a year after.
		{"acknowledged: re-attestation", reattest, pending("zhangsan", acked(day(1, 10, 0), 0)), Due{From: day(366, 10, 0)}},
		// Superseded and cancelled ones: never.
		{"superseded: never", reattest, pending("zhangsan", status(Superseded)), Due{}},
		{"cancelled: never", reattest, pending("zhangsan", status(Cancelled)), Due{}},
		// A round reopened at day 400: due at that very instant (the
		// run made again), then from its first reminder.
		{"reopened round: at its creation, then the reminder", reattest, pending("zhangsan", reopened),
			Due{From: day(400, 10, 0).Add(cadence), At: day(400, 10, 0)}},
		// … once reminded, only the cadence.
		{"reopened round, reminded", reattest, pending("zhangsan", reopened, reminded(1, day(402, 10, 0))),
			Due{From: day(402, 10, 0).Add(cadence)}},
		// Another notice's or version's obligation: never.
		{"another version: never", n, pending("zhangsan", func(o *Obligation) { o.Version = 2 }), Due{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextDue(tc.n, tc.o); !got.From.Equal(tc.want.From) || !got.At.Equal(tc.want.At) {
				t.Errorf("NextDue = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func withMax(n Notice, max int) Notice { n.MaxReminders = max; return n }

// TestNextDueIsActionable: for obligations and notices of every shape and
// instants around each of their times, Due.Includes answers as
// Actionable does.
func TestNextDueIsActionable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	times := func() time.Time {
		if r.IntN(5) == 0 {
			return time.Time{}
		}
		return day(r.IntN(20), r.IntN(24), r.IntN(60))
	}
	statuses := []ObligationStatus{Pending, Overdue, Acknowledged, Superseded, Cancelled}
	for i := range 20000 {
		n := remindNotice
		n.RemindEveryDays, n.MaxReminders, n.EscalateAfter, n.ReattestDays = r.IntN(4), r.IntN(4), r.IntN(4), r.IntN(3)*5
		o := Obligation{UserID: "u", NoticeID: n.ID, Version: n.Version, Status: statuses[r.IntN(len(statuses))],
			Reason: ReasonPublished, CreatedAt: times(), DueAt: times(), AcknowledgedAt: times(),
			Reminders: r.IntN(5), LastRemindedAt: times(), EscalatedAt: times()}
		if r.IntN(3) == 0 {
			o.Reason, o.Round = ReasonReattest, 1+r.IntN(2)
		}
		d := NextDue(n, o)
		// Every instant the obligation names, a little before and after,
		// and some at random.
		var at []time.Time
		for _, t0 := range []time.Time{o.CreatedAt, o.DueAt, o.AcknowledgedAt, o.LastRemindedAt, d.From, d.At} {
			if !t0.IsZero() {
				at = append(at, t0, t0.Add(-time.Nanosecond), t0.Add(time.Nanosecond), t0.Add(-time.Hour), t0.Add(time.Hour))
			}
		}
		for range 5 {
			at = append(at, day(r.IntN(40), r.IntN(24), r.IntN(60)))
		}
		for _, now := range at {
			if now.Before(dueAlways) {
				continue // NextDue's promise starts at the Unix epoch
			}
			if got, want := d.Includes(now), Actionable(n, o, now); got != want {
				t.Fatalf("case %d: %s, %+v: NextDue %+v includes %s: %v, Actionable: %v", i, n.Cadence(), o, d, now, got, want)
			}
		}
	}
}

// TestCadenceNamesWhatNextDueReads: changing any field NextDue reads
// changes Cadence; changing one it does not read leaves it.
func TestCadenceNamesWhatNextDueReads(t *testing.T) {
	base := remindNotice
	for name, change := range map[string]func(*Notice){
		"remind_every_days": func(n *Notice) { n.RemindEveryDays++ },
		"max_reminders":     func(n *Notice) { n.MaxReminders++ },
		"escalate_after":    func(n *Notice) { n.EscalateAfter++ },
		"reattest_days":     func(n *Notice) { n.ReattestDays++ },
	} {
		n := base
		change(&n)
		if n.Cadence() == base.Cadence() {
			t.Errorf("changing %s leaves Cadence %q", name, n.Cadence())
		}
	}
	n := base
	n.DueDays, n.Title, n.ComplianceOwners = 30, "other", nil
	if n.Cadence() != base.Cadence() {
		t.Errorf("Cadence %q changed with fields NextDue does not read (was %q)", n.Cadence(), base.Cadence())
	}
}
