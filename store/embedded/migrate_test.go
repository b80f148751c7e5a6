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

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
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

// TestDueIndexOfAnOldFile: obligations in a file written before the due
// index existed (no obldue, no oblduefor) are indexed when IndexDue is
// given their notice; a build that stopped half way (its marker still
// says building) is made again, from scratch.
func TestDueIndexOfAnOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := policy.Notice{ID: "code", Version: 1, RemindEveryDays: 2}
	created := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketObligations)
		if err != nil {
			return err
		}
		for i := range 2*dueBuildBatch + 5 {
			o := policy.Obligation{UserID: userN(i), NoticeID: n.ID, Version: n.Version, Status: policy.Pending, CreatedAt: created}
			if i%100 != 0 { // 1% due at day 2, the rest reminded at day 1
				o.Reminders, o.LastRemindedAt = 1, created.Add(24*time.Hour)
			}
			v, err := json.Marshal(o)
			if err != nil {
				return err
			}
			if err := b.Put(index.KeyOf(o), v); err != nil {
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
	ctx := context.Background()
	due := func(s *Store) []string {
		t.Helper()
		var users []string
		p := store.Page{Limit: 7}
		for {
			items, next, err := s.ListObligationsDue(ctx, n.ID, n.Version, created.Add(48*time.Hour), p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range items {
				users = append(users, o.UserID)
			}
			if p.Cursor = next; next == "" {
				return users
			}
		}
	}
	want := []string{userN(0), userN(100), userN(200), userN(300), userN(400), userN(500), userN(600), userN(700), userN(800),
		userN(900), userN(1000), userN(1100), userN(1200), userN(1300), userN(1400), userN(1500), userN(1600), userN(1700),
		userN(1800), userN(1900), userN(2000)}
	s := open(t, path, Options{})
	if err := s.IndexDue(ctx, []policy.Notice{n}); err != nil {
		t.Fatal(err)
	}
	if got := due(s); !slices.Equal(got, want) {
		t.Errorf("due after IndexDue = %v, want %v", got, want)
	}
	// A build interrupted: an entry it would not make, and the marker
	// still saying building.
	prefix := index.DuePrefix(n.ID, n.Version)
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOblDue).Put(append(slices.Clone(prefix), 0, 0, 0, 0, 0, 0, 0, 0, 0, 'x', 0, 1), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketOblDueFor).Put(prefix, []byte(index.DueBuilding(n.Cadence(), "building")))
	})
	if err != nil {
		t.Fatal(err)
	}
	path = s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, Options{})
	if err := s.IndexDue(ctx, []policy.Notice{n}); err != nil {
		t.Fatal(err)
	}
	if got := due(s); !slices.Equal(got, want) {
		t.Errorf("due after the build was made again = %v, want %v", got, want)
	}
}
