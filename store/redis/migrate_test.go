package redis

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// TestOpenIndexesWhatCameBefore: data written before dead letters were
// indexed by id and claims by time (a dead letter without a deadidx
// field, claim hashes without claimsat members, no …:migrated) is
// indexed at Open: the dead letter is found by its id, the claims count
// from the Open for retention and stay their owner's; a fresh namespace
// needs nothing indexed.
func TestOpenIndexesWhatCameBefore(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	ns := newNamespace()
	s := open(t, Options{URL: url, Namespace: ns})
	if got, err := s.client.HGetAll(ctx, s.k.migrated()).Result(); err != nil || len(got) != 2 {
		t.Fatalf("a fresh namespace's migrations = %v, %v; want both recorded", got, err)
	}
	// Write what an older version left.
	const key, n = "archive:v3:sha256:abc", 2*claimsBatch + 10
	sid, err := s.client.XAdd(ctx, &goredis.XAddArgs{Stream: s.k.dead, Values: []any{"id", "1700000000000-0",
		"dedup", "old-poison", "kind", "text", "receiver", "/wecom/callback", "received_at", "1", "payload", "<xml/>",
		"attempts", "5", "last_error", "boom", "died_at", "1700000000001"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("user%04d", i)
		if err := s.client.HSet(ctx, s.k.claims(key), users[i], "plan-a").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.client.Del(ctx, s.k.migrated()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	s = open(t, Options{URL: url, Namespace: ns})
	d, err := s.GetDeadLetter(ctx, "1700000000000-0")
	if err != nil || d.DedupKey != "old-poison" || d.LastError != "boom" {
		t.Fatalf("GetDeadLetter = %+v, %v (dead stream id %s)", d, err, sid)
	}
	if got, err := s.ClaimRecipients(ctx, key, "plan-b", users[:2], start); err != nil || len(got) != 0 {
		t.Errorf("plan-b claimed %q, %v; want none (plan-a's)", got, err)
	}
	purge := func(before time.Time) int {
		t.Helper()
		purged := 0
		b := store.PurgeBatch{Kind: store.RecordRecipientClaims, Before: before, Limit: 500}
		for {
			res, err := s.Purge(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			purged += res.Purged
			if b.Cursor = res.Next; b.Cursor == "" {
				return purged
			}
		}
	}
	if got := purge(start.Add(-time.Second)); got != 0 {
		t.Errorf("purge before the upgrade purged %d, want none", got)
	}
	if got := purge(time.Now().Add(time.Second)); got != n {
		t.Errorf("purge after the upgrade purged %d, want all %d", got, n)
	}
	if got, err := s.ClaimRecipients(ctx, key, "plan-b", users[:2], time.Now()); err != nil || !slices.Equal(got, users[:2]) {
		t.Errorf("plan-b after the purge claimed %q, %v", got, err)
	}
	if got, err := s.client.HGetAll(ctx, s.k.migrated()).Result(); err != nil || len(got) != 2 {
		t.Errorf("migrations = %v, %v; want both recorded", got, err)
	}
}

// TestDeadLettersLeaveNoIndexFields: retries, drops and purges remove a
// dead letter's deadidx field with it.
func TestDeadLettersLeaveNoIndexFields(t *testing.T) {
	s := open(t, Options{URL: redistest.Start(t), Namespace: newNamespace(), Queue: store.QueueOptions{MaxAttempts: 1}})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		if _, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("e", i), ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		ds, err := s.Claim(ctx, "c", 1, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("Claim = %v, %v", ds, err)
		}
		if _, err := s.Fail(ctx, ds[0].Receipt, "x", 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ds[0].ID)
	}
	count := func() (fields, letters int64) {
		t.Helper()
		f, err := s.client.HLen(ctx, s.k.deadIndex()).Result()
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.client.XLen(ctx, s.k.dead).Result()
		if err != nil {
			t.Fatal(err)
		}
		return f, l
	}
	if f, l := count(); f != 5 || l != 5 {
		t.Fatalf("%d index fields, %d dead letters; want 5 and 5", f, l)
	}
	if _, err := s.RetryDeadLetter(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropDeadLetter(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if f, l := count(); f != 3 || l != 3 {
		t.Fatalf("after a retry and a drop: %d index fields, %d dead letters; want 3 and 3", f, l)
	}
	res, err := s.Purge(ctx, store.PurgeBatch{Kind: store.RecordDeadLetters, Before: time.Now().Add(time.Hour)})
	if err != nil || res.Purged != 3 {
		t.Fatalf("Purge = %+v, %v; want 3 purged", res, err)
	}
	if f, l := count(); f != 0 || l != 0 {
		t.Errorf("after the purge: %d index fields, %d dead letters; want none", f, l)
	}
}
