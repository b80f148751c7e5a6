package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	payload := make([]byte, 1024)
	b.Run("Enqueue", func(b *testing.B) {
		s := open(b)
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
	})
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
					if err := s.Ack(ctx, d.ID); err != nil {
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
}
