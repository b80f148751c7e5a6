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
//	Enqueue   many goroutines enqueueing 1 KiB events, as callback handlers do
//	ClaimAck  4 goroutines claiming and acking one event at a time, as workers do
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
}
