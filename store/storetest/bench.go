package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// Bench runs the same benchmarks against a backend, so their numbers
// compare: open returns a fresh, empty store.
//
//	Enqueue         many goroutines enqueueing 1 KiB events, as callback handlers do
//	ClaimAck        4 goroutines claiming and acking one event at a time, as workers do
//	BookSend        booking sends to the same 1,000 members (WeCom's most a call),
//	                2 min apart (up to 30 sends a member in the hour window),
//	                with WeCom's windows and a daily quota
//	BookSendBusyMembers  the same, 10 s apart: up to 360 sends a member in the hour
//	PutSendResults  recording the 1,000 results of one send
//	AppendAudit     appending to the audit chain, one at a time
//	AppendAudit4    the same from 4 goroutines (workers recording decisions)
//	Attest          4 goroutines attesting, each acknowledging an open obligation
//	UpdateObligations1000  a reminder run's update of 1,000 obligations in one
//	                call (of a notice version's 10,000), each changing status
//	ClaimRecipients1000  claiming a plan's 1,000 recipients of a notice
//	ListObligations1000of100000  a page of 1,000 of a notice version's
//	                100,000 obligations, anywhere in the version
//	PurgeSendResults1000  one retention batch deleting 1,000 send results
//	PurgeSendResultsKeep100000  a retention run over 100,000 recent send
//	                results, deleting none
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	payload := make([]byte, 1024)
	b.Run("Enqueue", func(b *testing.B) { BenchEnqueue(b, open(b)) })
	b.Run("ClaimAck", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		var wg sync.WaitGroup
		for p := range 16 {
			wg.Go(func() {
				for i := p; i < b.N; i += 16 {
					if _, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("k", i), Payload: payload}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ds, err := s.Claim(ctx, "bench", 1, 0)
				if err != nil {
					b.Error(err)
					return
				}
				for _, d := range ds {
					if err := s.Ack(ctx, d.Receipt); err != nil {
						b.Error(err)
					}
				}
			}
		})
	})
	// Every booking is recorded, so each checks and records 1,000 members;
	// step sets how much history each member has: one send per step.
	// The bookings' At marches up to the present (not beyond it: records
	// dated after the present are all kept, since bookings at the present
	// may need them), so each member holds the sends of the last hour.
	bookSend := func(b *testing.B, step time.Duration) {
		s := open(b)
		ctx := context.Background()
		members := make([]string, 1000)
		for i := range members {
			members[i] = fmt.Sprintf("user%04d", i)
		}
		start := time.Now()
		b.ResetTimer()
		for i := range b.N {
			res, err := s.BookSend(ctx, store.SendBooking{
				UnitID:        fmt.Sprint("unit", i),
				Scope:         "agent-1000002",
				Members:       members,
				At:            start.Add(-time.Duration(b.N-i) * step),
				MemberWindows: []store.RateWindow{perMinute, perHour},
				DailyQuota:    1 << 40,
				MarkerTTL:     time.Hour,
			})
			if err != nil {
				b.Fatal(err)
			}
			if res.Already || len(res.Blocked) != 0 || !res.QuotaResetAt.IsZero() {
				b.Fatalf("BookSend %d = %+v, want it recorded", i, res)
			}
		}
		b.ReportMetric(float64(b.N*len(members))/b.Elapsed().Seconds(), "members/s")
	}
	b.Run("BookSend", func(b *testing.B) { bookSend(b, 2*time.Minute) })
	b.Run("BookSendBusyMembers", func(b *testing.B) { bookSend(b, 10*time.Second) })
	b.Run("PutSendResults", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		rs := make([]store.RecipientResult, 1000)
		for i := range rs {
			rs[i] = store.RecipientResult{UserID: fmt.Sprintf("user%04d", i), UnitID: "unit", ContentHash: "sha256:abc",
				Status: store.StatusSent, MsgID: "msgid", At: time.Now()}
		}
		b.ResetTimer()
		for i := range b.N {
			for j := range rs {
				rs[j].NoticeKey = fmt.Sprint("notice", i%10)
			}
			if err := s.PutSendResults(ctx, rs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(rs))/b.Elapsed().Seconds(), "results/s")
	})
	b.Run("AppendAudit", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.AppendAudit(ctx, benchAuditEntry(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendAudit4", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		var next atomic.Int64
		b.ResetTimer()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
					if _, err := s.AppendAudit(ctx, benchAuditEntry(i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	b.Run("Attest", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		createObligations(b, s, "archive", b.N)
		var next atomic.Int64
		b.ResetTimer()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
					a := policy.Attestation{UserID: fmt.Sprintf("user%06d", i), NoticeID: "archive", Version: 1,
						ContentHash: "sha256:abc", Channel: policy.ChannelCard, CreateTime: time.Now().Unix(),
						ReceivedAt: time.Now(), DedupKey: fmt.Sprint("click", i)}
					if created, err := s.Attest(ctx, a); err != nil || !created {
						b.Errorf("Attest = %v, %v", created, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	// Writes of obligations with and without their notice in the due
	// index (IndexDue), which every write keeps.
	for _, indexed := range []bool{false, true} {
		name := map[bool]string{false: "", true: "Indexed"}[indexed]
		b.Run("CreateObligation"+name, func(b *testing.B) {
			s := open(b)
			if indexed {
				indexBenchNotice(b, s, "created")
			}
			b.ResetTimer()
			createObligations(b, s, "created", b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obligations/s")
		})
		b.Run("UpdateObligations1000"+name, func(b *testing.B) { benchUpdateObligations(b, open(b), indexed) })
	}
	b.Run("ListObligationsDue1000of100000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		const n = 100_000
		indexBenchNotice(b, s, "all-staff")
		createObligations(b, s, "all-staff", n)
		// 1% due in two days: the rest reminded in an hour (the cadence
		// is two days), due an hour later.
		keys := make([]store.ObligationKey, 0, n)
		for i := range n {
			if i%100 != 0 {
				keys = append(keys, store.ObligationKey{UserID: fmt.Sprintf("user%06d", i), NoticeID: "all-staff", Version: 1})
			}
		}
		inAnHour := time.Now().Add(time.Hour)
		err := s.UpdateObligations(ctx, keys, func(o policy.Obligation) (policy.Obligation, error) {
			return policy.MarkReminded{At: inAnHour}.Update(o), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		at := time.Now().Add(2 * 24 * time.Hour)
		b.ResetTimer()
		for b.Loop() {
			items, next, err := s.ListObligationsDue(ctx, "all-staff", 1, at, store.Page{Limit: 1000})
			if err != nil || len(items) != 1000 || next != "" {
				b.Fatalf("ListObligationsDue = %d items, next %q, %v", len(items), next, err)
			}
		}
	})
	// Building the due index of 100,000 obligations (a store from before
	// it, or a changed cadence: each iteration changes it).
	b.Run("IndexDue100000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		createObligations(b, s, "all-staff", 100_000)
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			n := policy.Notice{ID: "all-staff", Version: 1, RemindEveryDays: 2 + i%2}
			if err := s.IndexDue(ctx, []policy.Notice{n}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "obligations/s")
	})
	b.Run("ClaimRecipients1000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		users := make([]string, 1000)
		for i := range users {
			users[i] = fmt.Sprintf("user%06d", i)
		}
		b.ResetTimer()
		for i := range b.N {
			got, err := s.ClaimRecipients(ctx, fmt.Sprint("notice:v1:", i%100), fmt.Sprint("plan", i/100), users, baseTime)
			if err != nil || (i < 100 && len(got) != len(users)) {
				b.Fatalf("ClaimRecipients = %d users, %v", len(got), err)
			}
		}
		b.ReportMetric(float64(b.N*len(users))/b.Elapsed().Seconds(), "users/s")
	})
	b.Run("ListObligations1000of100000", func(b *testing.B) {
		s := open(b)
		ctx := context.Background()
		const n = 100_000
		createObligations(b, s, "all-staff", n)
		// The cursors of every page, so that each listing starts anywhere.
		f := store.ObligationFilter{NoticeID: "all-staff", Version: 1}
		cursors := []string{""}
		for {
			_, next, err := s.ListObligations(ctx, f, store.Page{Cursor: cursors[len(cursors)-1], Limit: 1000})
			if err != nil {
				b.Fatal(err)
			}
			if next == "" {
				break
			}
			cursors = append(cursors, next)
		}
		if len(cursors) != n/1000 {
			b.Fatalf("%d pages, want %d", len(cursors), n/1000)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			items, _, err := s.ListObligations(ctx, f, store.Page{Cursor: cursors[i%len(cursors)], Limit: 1000})
			if err != nil || len(items) != 1000 {
				b.Fatalf("ListObligations = %d items, %v", len(items), err)
			}
		}
	})
	benchPurge(b, open)
	benchPurgeResults(b, open)
}

func benchAuditEntry(i int) store.AuditEntry {
	return store.AuditEntry{ID: fmt.Sprint("decision-", i), At: time.Now(), Kind: "decision", Subject: fmt.Sprintf("user%06d", i),
		Data: []byte(`{"action":"send_card","notice":"archive:v3","reason":"new_member"}`)}
}

// createObligations creates n pending obligations of notice version 1,
// for user000000…, from many goroutines.
func createObligations(b *testing.B, s store.Store, notice string, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				o := policy.Obligation{UserID: fmt.Sprintf("user%06d", i), NoticeID: notice, Version: 1, Status: policy.Pending,
					Reason: policy.ReasonPublished, CreatedAt: time.Now(), DueAt: time.Now().Add(7 * 24 * time.Hour)}
				if _, err := s.CreateObligation(context.Background(), o); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// BenchEnqueue is Bench's Enqueue on s: 16 goroutines per CPU enqueueing
// 1 KiB events, as callback handlers do, so that a backend's group commit
// (or pipelining) has company to share with. It reports events/s.
func BenchEnqueue(b *testing.B, s store.Store) {
	payload := make([]byte, 1024)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(16) // callback handlers are many goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := store.Event{DedupKey: fmt.Sprint("k", n.Add(1)), Kind: "text", Receiver: "/cb", ReceivedAt: time.Now(), Payload: payload}
			if _, err := s.Enqueue(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// indexBenchNotice gives s version 1 of notice, reminded every two days,
// as the only notice of its due index.
func indexBenchNotice(b *testing.B, s store.Store, notice string) {
	b.Helper()
	if err := s.IndexDue(context.Background(), []policy.Notice{{ID: notice, Version: 1, RemindEveryDays: 2}}); err != nil {
		b.Fatal(err)
	}
}

// benchUpdateObligations updates 1,000 of 10,000 obligations a call, as a
// reminder run marks them, with their notice in the due index or not.
func benchUpdateObligations(b *testing.B, s store.Store, indexed bool) {
	ctx := context.Background()
	const n, batch = 10_000, 1000
	if indexed {
		indexBenchNotice(b, s, "reminders")
	}
	createObligations(b, s, "reminders", n)
	keys := make([]store.ObligationKey, n)
	for i := range keys {
		keys[i] = store.ObligationKey{UserID: fmt.Sprintf("user%06d", i), NoticeID: "reminders", Version: 1}
	}
	remindedAt := time.Now()
	remind := func(o policy.Obligation) (policy.Obligation, error) {
		if o.Status == policy.Pending {
			o.Status = policy.Overdue
		} else {
			o.Status = policy.Pending
		}
		o.Reminders++
		o.LastRemindedAt = remindedAt
		return o, nil
	}
	calls := 0
	b.ResetTimer()
	for ; b.Loop(); calls++ {
		from := calls % (n / batch) * batch
		if err := s.UpdateObligations(ctx, keys[from:from+batch], remind); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(calls*batch)/b.Elapsed().Seconds(), "obligations/s")
}
