package embedded

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/archivetest"
)

// TestPurgeLeavesNoIndexEntries purges every day of a realistic archive
// and checks that no index entry, shared ToList, room membership or day
// count is left.
func TestPurgeLeavesNoIndexEntries(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "archive.db"))
	ctx := context.Background()
	g := archivetest.NewGenerator(5)
	for i := range 3 {
		if _, err := s.Commit(ctx, g.Batch(uint64(i*1000), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Commit(ctx, g.BigRoomBatch(3000, 200, 300)); err != nil {
		t.Fatal(err)
	}
	days, err := s.Days(ctx)
	if err != nil || len(days) == 0 {
		t.Fatalf("Days = %v, %v", days, err)
	}
	total := 0
	for _, day := range days {
		n, shredded, err := s.PurgeDay(ctx, day, func(archive.Message) bool { return false })
		if err != nil || !shredded {
			t.Fatalf("PurgeDay(%s) = %d, %v, %v", day, n, shredded, err)
		}
		total += n
	}
	if total != 3200 {
		t.Errorf("purged %d messages, want 3200", total)
	}
	// Every bucket but these (not about stored messages) must be empty,
	// a bucket added later included.
	keeps := [][]byte{bucketRecalls, bucketQuarantine, bucketQuarIDs, bucketDataKeys, bucketGaps, bucketMeta}
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if slices.ContainsFunc(keeps, func(k []byte) bool { return bytes.Equal(k, name) }) {
				continue
			}
			if n := tx.Bucket(name).Stats().KeyN; n != 0 {
				return fmt.Errorf("bucket %s keeps %d keys", name, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if st, err := s.Stats(ctx); err != nil || st.Messages != 0 || st.Withheld != 0 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}
