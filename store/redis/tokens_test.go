package redis

import (
	"context"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// TestTokensOnTheStoreClock: a cached token's expiry is the caller's
// time, read on the store's clock (Options.Now), whatever Redis's clock
// says: a client whose clock is a month behind still shares its token,
// and one a month ahead does not have it kept for a month.
func TestTokensOnTheStoreClock(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	for _, skew := range []time.Duration{-30 * 24 * time.Hour, 30 * 24 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			clk := testclock.Frozen(time.Now().Add(skew).Truncate(time.Millisecond))
			s := open(t, Options{URL: url, Namespace: newNamespace(), Now: clk.Now})
			exp := clk.Now().Add(time.Hour)
			if err := s.PutToken(ctx, "app", "tok", exp); err != nil {
				t.Fatal(err)
			}
			v, got, err := s.GetToken(ctx, "app")
			if err != nil || v != "tok" || !got.Equal(exp) {
				t.Fatalf("GetToken = %q, %v, %v; want tok until %v", v, got, err, exp)
			}
			if ttl, err := s.client.PTTL(ctx, s.k.token("app")).Result(); err != nil || ttl <= 0 || ttl > time.Hour {
				t.Errorf("the key lives %v (%v) in Redis, want the hour left on the store's clock", ttl, err)
			}
			clk.Advance(time.Hour)
			if v, _, err := s.GetToken(ctx, "app"); err != nil || v != "" {
				t.Errorf("GetToken at its expiry = %q, %v; want none", v, err)
			}
		})
	}
}
