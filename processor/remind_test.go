package processor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/processor"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// crashAfterReminder passes everything to the real notifier, but reports
// the run's first reminder submit as failed after it was recorded: the
// process died between handing a batch of reminders to notify and
// counting them.
type crashAfterReminder struct {
	processor.Notifier
	crashed atomic.Bool
}

var errCrash = errors.New("the process died here")

func (c *crashAfterReminder) Submit(ctx context.Context, n notify.Notice) (notify.Submitted, error) {
	sub, err := c.Notifier.Submit(ctx, n)
	if err == nil && strings.Contains(n.Key, ":remind:") && c.crashed.CompareAndSwap(false, true) {
		return sub, errCrash
	}
	return sub, err
}

// conductNotice is due in 30 days and reminded every two.
var conductNotice = policy.Notice{ID: "conduct", Version: 1, Title: "行为准则", Template: "ack_card", Languages: []string{"zh-CN"},
	DueDays: 30, RemindEveryDays: 2, Summary: "请阅读行为准则。", URL: "https://compliance.example.com/conduct",
	Audience: policy.Audience{Everyone: true}}

// inParallel calls fn for 0…n-1 from 16 goroutines (the embedded store
// commits concurrent writes together) and stops the test if one fails.
func inParallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if err := fn(i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// TestRemindResumesWithoutDoubles: a reminder run over 2,500 people cut
// off right after its first batch of reminders went to notify, and made
// again for the same activation, reminds everyone exactly once — in
// ceil(2,500/1,000) message/send calls, with [notify] card_batch = 1000
// so that the sends show the run's batches (the default 1 sends the same
// reminders one card a call) — and counts one reminder each.
func TestRemindResumesWithoutDoubles(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			notice := conductNotice
			var crash *crashAfterReminder
			e := newEnvConfig(t, backend, envConfig{Notices: []policy.Notice{notice}, Notify: notify.Config{CardBatch: notify.MaxRecipients},
				Wrap: func(n processor.Notifier) processor.Notifier {
					crash = &crashAfterReminder{Notifier: n}
					return crash
				}})
			ctx := context.Background()
			now := e.clock.Now()
			users := make([]string, 2500)
			for i := range users {
				users[i] = fmt.Sprintf("u%05d", i)
				e.fake.AddUser(wecomtest.User{UserID: users[i], Name: users[i], Department: []int64{1}})
			}
			// Owed for three days.
			inParallel(t, len(users), func(i int) error {
				_, err := e.st.CreateObligation(ctx, policy.Obligation{UserID: users[i], NoticeID: "conduct", Version: 1,
					Status: policy.Pending, Reason: policy.ReasonPublished, CreatedAt: now.Add(-72 * time.Hour),
					DueAt: now.Add(27 * 24 * time.Hour)})
				return err
			})

			if _, err := e.proc.Remind(ctx, now); !errors.Is(err, errCrash) {
				t.Fatalf("first run: %v, want it cut off", err)
			}
			e.drain(t) // the first batch goes out
			first := e.fake.CountRequests("message/send")
			if first != 1 {
				t.Fatalf("%d message/send calls before the crash, want the first batch's 1", first)
			}
			counts, err := e.proc.Remind(ctx, now)
			if err != nil {
				t.Fatalf("the run made again: %v", err)
			}
			e.drain(t)
			if counts["reminded"] != len(users) {
				t.Errorf("the run made again decided %v, want all %d reminded (none was counted)", counts, len(users))
			}
			for _, u := range users {
				n := 0
				for _, m := range e.fake.Inbox(u) {
					if m.MsgType == "template_card" && strings.Contains(string(m.Message), "提醒") {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("%s got %d reminders, want 1", u, n)
				}
				if o := e.obligation(t, u, "conduct"); o.Reminders != 1 || !o.LastRemindedAt.Equal(now) {
					t.Fatalf("%s: %d reminders counted at %v, want 1 at %v", u, o.Reminders, o.LastRemindedAt, now)
				}
			}
			if calls := e.fake.CountRequests("message/send"); calls != 3 {
				t.Errorf("%d message/send calls in all, want ceil(2500/1000) = 3", calls)
			}
			// A third run for the same activation, and one an hour later, do
			// nothing: the cadence is two days.
			for _, at := range []time.Time{now, now.Add(time.Hour)} {
				counts, err := e.proc.Remind(ctx, at)
				if err != nil || counts["reminded"] != 0 || counts["scanned"] != 0 {
					t.Errorf("run at %v: %v %v, want nobody reminded (or read)", at, counts, err)
				}
			}
			e.drain(t)
			if calls := e.fake.CountRequests("message/send"); calls != 3 {
				t.Errorf("%d message/send calls after the later runs, want still 3", calls)
			}
			report, err := e.st.VerifyAudit(ctx)
			if err != nil || !report.OK {
				t.Errorf("audit: %+v %v", report, err)
			}
		})
	}
}

// obligationReads counts the obligations and the people the processor
// reads from the store (the real one, wrapped).
type obligationReads struct {
	processor.Store
	n, people atomic.Int64
}

func (r *obligationReads) GetPerson(ctx context.Context, userID string) (policy.Person, error) {
	p, err := r.Store.GetPerson(ctx, userID)
	if err == nil {
		r.people.Add(1)
	}
	return p, err
}

func (r *obligationReads) GetPeople(ctx context.Context, userIDs []string) ([]policy.Person, error) {
	ps, err := r.Store.GetPeople(ctx, userIDs)
	r.people.Add(int64(len(ps)))
	return ps, err
}

func (r *obligationReads) ListPeople(ctx context.Context, p store.Page) ([]policy.Person, string, error) {
	ps, next, err := r.Store.ListPeople(ctx, p)
	r.people.Add(int64(len(ps)))
	return ps, next, err
}

func (r *obligationReads) ListObligations(ctx context.Context, f store.ObligationFilter, p store.Page) ([]policy.Obligation, string, error) {
	items, next, err := r.Store.ListObligations(ctx, f, p)
	r.n.Add(int64(len(items)))
	return items, next, err
}

func (r *obligationReads) ListObligationsDue(ctx context.Context, noticeID string, version int, until time.Time, p store.Page) ([]policy.Obligation, string, error) {
	items, next, err := r.Store.ListObligationsDue(ctx, noticeID, version, until, p)
	r.n.Add(int64(len(items)))
	return items, next, err
}

func (r *obligationReads) GetObligation(ctx context.Context, userID, noticeID string, version int) (policy.Obligation, error) {
	o, err := r.Store.GetObligation(ctx, userID, noticeID, version)
	if err == nil {
		r.n.Add(1)
	}
	return o, err
}

// TestRemindReadsOnlyWhatIsDue: of 3,000 people owing a notice, 500
// acknowledged it and 1,900 were reminded the day before (the cadence is
// two days): a run reads the 600 due and their people's records, and
// reminds them, and a run an hour later reads none. The obligations were
// written before the processor gave the store its notices (as in a store
// from before the due index): the index is built for them.
func TestRemindReadsOnlyWhatIsDue(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			notice := conductNotice
			reads := &obligationReads{}
			e := newEnvConfig(t, backend, envConfig{Notices: []policy.Notice{notice},
				WrapStore: func(st processor.Store) processor.Store { reads.Store = st; return reads }})
			ctx := context.Background()
			now := e.clock.Now()
			const people, acked, due = 3000, 500, 600
			inParallel(t, people, func(i int) error {
				u := fmt.Sprintf("u%05d", i)
				o := policy.Obligation{UserID: u, NoticeID: "conduct", Version: 1, Status: policy.Pending,
					Reason: policy.ReasonPublished, CreatedAt: now.Add(-72 * time.Hour), DueAt: now.Add(27 * 24 * time.Hour)}
				switch {
				case i < acked:
					o.Status, o.AcknowledgedAt, o.ClosedAt, o.ClosedReason = policy.Acknowledged, now.Add(-48*time.Hour),
						now.Add(-48*time.Hour), policy.ReasonCardClicked
				case i >= acked+due:
					o.Reminders, o.LastRemindedAt = 1, now.Add(-24*time.Hour)
				}
				if _, err := e.st.CreateObligation(ctx, o); err != nil {
					return err
				}
				return e.st.PutPerson(ctx, policy.Person{UserID: u, Name: u, Active: true, Departments: []int64{1}, DirectLeaders: []string{}})
			})
			counts, err := e.proc.Remind(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if counts["scanned"] != due || counts["reminded"] != due || reads.n.Load() != due || reads.people.Load() != due {
				t.Errorf("run: %v, %d obligations and %d people read; want %d scanned, reminded and read",
					counts, reads.n.Load(), reads.people.Load(), due)
			}
			e.drain(t)
			for i := acked; i < acked+due; i++ {
				if o := e.obligation(t, fmt.Sprintf("u%05d", i), "conduct"); o.Reminders != 1 || !o.LastRemindedAt.Equal(now) {
					t.Fatalf("u%05d: %d reminders counted at %v, want 1 at %v", i, o.Reminders, o.LastRemindedAt, now)
				}
			}
			// A reminder is a button card: one a send ([notify] card_batch
			// = 1, notify's default), each with its own response_code.
			if calls := e.fake.CountRequests("message/send"); calls != due {
				t.Errorf("%d message/send calls, want one for each of the %d reminder cards", calls, due)
			}
			reads.n.Store(0)
			reads.people.Store(0)
			counts, err = e.proc.Remind(ctx, now.Add(time.Hour))
			if err != nil || counts["scanned"] != 0 || reads.n.Load() != 0 || reads.people.Load() != 0 {
				t.Errorf("an hour later: %v %v, %d obligations and %d people read; want none", counts, err, reads.n.Load(), reads.people.Load())
			}
		})
	}
}
