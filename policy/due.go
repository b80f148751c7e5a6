package policy

import (
	"fmt"
	"time"
)

// Due is when the reminder run may next act on an obligation: the
// instants at which Actionable holds, as long as the obligation stays as
// it is. The store keeps every obligation of the current notice versions
// in an index by them, so that a run reads only those it may act on.
type Due struct {
	// From: Actionable at From and at every instant after it. Zero: at
	// no instant from some instant on (the obligation is closed, or has
	// had every reminder and escalation it will get).
	From time.Time
	// At: Actionable at exactly At, if it is not zero (and earlier than
	// From): a round reopened by a run at At, whose card that run may
	// not have sent before it stopped (a run made again at the same
	// instant sends it; see Remind).
	At time.Time
}

// Never reports whether d names no instant at all.
func (d Due) Never() bool { return d.From.IsZero() && d.At.IsZero() }

// Includes reports whether the reminder run at now may act on an
// obligation that is due d: exactly when Actionable does (for the
// obligation and notice NextDue made d of).
func (d Due) Includes(now time.Time) bool {
	return !d.From.IsZero() && !now.Before(d.From) || !d.At.IsZero() && now.Equal(d.At)
}

// dueAlways is Due.From of an obligation Actionable at any instant (an
// escalation with neither a due date nor a reminder cadence to wait
// for): the Unix epoch, before any run.
var dueAlways = time.Unix(0, 0).UTC()

// NextDue returns when Remind may act on o of notice n: d.Includes(t)
// is Actionable(n, o, t) for every t after the Unix epoch. It is pure,
// like Actionable, and reads of n only what Cadence names.
//
// Each thing the run does to an open obligation becomes due at one
// instant and stays due until the obligation changes: overdue at its due
// date, a reminder a cadence (less cadenceSlack) after it was created or
// last reminded, the escalation at the later of the due date and a
// cadence after the last reminder; an acknowledged one is reopened
// ReattestDays after its acknowledgement. From is the earliest of these.
// A round reopened at its CreatedAt and not reminded yet is also due at
// exactly that instant (At), for the run made again after a crash.
func NextDue(n Notice, o Obligation) Due {
	if o.NoticeID != n.ID || o.Version != n.Version {
		return Due{}
	}
	var d Due
	earliest := func(t time.Time) {
		if d.From.IsZero() || t.Before(d.From) {
			d.From = t
		}
	}
	switch {
	case o.Status.Open():
		if o.Status == Pending && !o.DueAt.IsZero() {
			earliest(o.DueAt)
		}
		if n.RemindEveryDays > 0 && (n.MaxReminders <= 0 || o.Reminders < n.MaxReminders) {
			last := o.CreatedAt
			if o.LastRemindedAt.After(last) {
				last = o.LastRemindedAt
			}
			earliest(last.Add(days(n.RemindEveryDays) - cadenceSlack))
		}
		if n.EscalateAfter > 0 && o.Reminders >= n.EscalateAfter && o.EscalatedAt.IsZero() {
			from := dueAlways
			if n.RemindEveryDays > 0 {
				from = o.LastRemindedAt.Add(days(n.RemindEveryDays) - cadenceSlack)
			}
			if !o.DueAt.IsZero() && o.DueAt.After(from) {
				from = o.DueAt
			}
			earliest(from)
		}
		if o.Status == Pending && o.Reason == ReasonReattest && o.Round > 0 && o.Reminders == 0 &&
			(d.From.IsZero() || o.CreatedAt.Before(d.From)) {
			d.At = o.CreatedAt
		}
	case o.Status == Acknowledged && n.ReattestDays > 0 && !o.AcknowledgedAt.IsZero():
		d.From = o.AcknowledgedAt.Add(days(n.ReattestDays))
	}
	return d
}

// Cadence names what NextDue reads of n: two notice versions with the
// same Cadence make the same Due of every obligation (of their own
// identity). A store keeps the Cadence its due index was built for, and
// builds it again when the notice's changes.
func (n Notice) Cadence() string {
	return fmt.Sprintf("remind=%d,max=%d,escalate=%d,reattest=%d",
		n.RemindEveryDays, n.MaxReminders, n.EscalateAfter, n.ReattestDays)
}
