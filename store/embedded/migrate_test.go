package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// TestOpenIndexesWhatCameBefore: a file written before dead letters were
// indexed by id and claims kept their time (a dead bucket without
// deadids, claims whose value is the owner alone, no claimsat) opens
// with both indexed: the dead letter is found by its id, and the claims
// count from the Open for retention, in conversion batches, and stay
// their owner's.
func TestOpenIndexesWhatCameBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	const key, n = "archive:v3:sha256:abc", claimsBatch + 10
	err = db.Update(func(tx *bolt.Tx) error {
		dead, err := tx.CreateBucket(bucketDead)
		if err != nil {
			return err
		}
		v, err := json.Marshal(record{DedupKey: "old-poison", Kind: "text", ReceivedAt: 1, ID: 7, DiedAt: 2, LastError: "boom", Attempts: 5})
		if err != nil {
			return err
		}
		if err := dead.Put(idKey(1), v); err != nil {
			return err
		}
		claims, err := tx.CreateBucket(bucketClaims)
		if err != nil {
			return err
		}
		for i := range n {
			if err := claims.Put(scopedKey(key, userN(i)), []byte("plan-a")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	upgraded := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	s := open(t, path, Options{Now: func() time.Time { return upgraded }})
	ctx := context.Background()
	d, err := s.GetDeadLetter(ctx, "7")
	if err != nil || d.DedupKey != "old-poison" || d.LastError != "boom" {
		t.Fatalf("GetDeadLetter(7) = %+v, %v", d, err)
	}
	if got, err := s.ClaimRecipients(ctx, key, "plan-b", []string{userN(0), userN(n - 1)}, upgraded); err != nil || len(got) != 0 {
		t.Errorf("plan-b claimed %q, %v; want none (plan-a's)", got, err)
	}
	if got, err := s.ClaimRecipients(ctx, key, "plan-a", []string{userN(0), userN(n - 1)}, upgraded); err != nil || len(got) != 2 {
		t.Errorf("plan-a claimed %q, %v; want both (its own)", got, err)
	}
	purge := func(before time.Time) store.PurgeResult {
		t.Helper()
		var sum store.PurgeResult
		b := store.PurgeBatch{Kind: store.RecordRecipientClaims, Before: before, Limit: 300}
		for {
			res, err := s.Purge(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			sum.Purged += res.Purged
			if b.Cursor = res.Next; b.Cursor == "" {
				return sum
			}
		}
	}
	if res := purge(upgraded); res.Purged != 0 {
		t.Errorf("purge before the upgrade purged %d, want none", res.Purged)
	}
	if res := purge(upgraded.Add(time.Microsecond)); res.Purged != n {
		t.Errorf("purge after the upgrade purged %d, want all %d", res.Purged, n)
	}
	if got, err := s.ClaimRecipients(ctx, key, "plan-b", []string{userN(0)}, upgraded); err != nil || !slices.Equal(got, []string{userN(0)}) {
		t.Errorf("plan-b after the purge claimed %q, %v", got, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(metaConvertClaims) != nil {
			t.Error("the conversion is still marked under way")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func userN(i int) string { return fmt.Sprintf("user%04d", i) }
