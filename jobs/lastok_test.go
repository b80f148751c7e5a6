package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// TestLastOK: the latest run recorded ok before a time, skipping failed
// and running ones and those at or after it.
func TestLastOK(t *testing.T) {
	loc := shanghai(t)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, loc) }
	st := openEmbedded(t, nil)
	ctx := context.Background()
	for _, p := range []struct {
		at      time.Time
		outcome string
	}{{day(1), store.RunOK}, {day(2), store.RunOK}, {day(3), store.RunFailed}, {day(4), store.RunRunning}, {day(5), store.RunOK}} {
		seedRun(t, st, "digest", p.at, p.outcome)
	}
	r := newReplica(t, st, "replica-a", []Job{{Name: "digest", Spec: "0 9 * * *", Run: (&counter{}).quick}})
	for _, tt := range []struct {
		before time.Time
		want   time.Time // zero: none
	}{
		{day(6), day(5)},
		{day(5), day(2)}, // not day 5 itself; not the failed day 3 or the running day 4
		{day(2), day(1)},
		{day(1), time.Time{}},
	} {
		got, ok, err := r.LastOK(ctx, "digest", tt.before)
		if err != nil || ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("LastOK before %v = %v %v %v, want %v", tt.before, got, ok, err, tt.want)
		}
	}
	if _, ok, err := r.LastOK(ctx, "reminders", day(6)); ok || err != nil {
		t.Errorf("LastOK of a job that never ran = %v %v, want none", ok, err)
	}
}
