package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive"
)

// reltuples is the planner's row count of the March 2026 partition (-1:
// never analyzed or vacuumed).
func reltuples(t *testing.T, dsn string) float64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n float64
	if err := conn.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = to_regclass('archive_messages_p202603')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A partition that grew past AnalyzeAfter is analyzed by the store in
// the background, so the planner knows its rows before autovacuum would;
// with AnalyzeAfter < 0 the store leaves it alone.
func TestPartitionAnalyzedAfterGrowth(t *testing.T) {
	batch := func(from, n int) archive.Batch {
		b := archive.Batch{From: uint64(from), To: uint64(from + n)}
		for i := from + 1; i <= from+n; i++ {
			b.Messages = append(b.Messages, msg(i))
		}
		return b
	}

	dsn := newSchemaDSN(t)
	s := openAt(t, dsn, Options{Now: fixedNow, AnalyzeAfter: -1})
	mustCommit(t, s, batch(0, 20))
	s.Close()
	if n := reltuples(t, dsn); n != -1 {
		t.Errorf("AnalyzeAfter -1: reltuples = %v, want -1 (never analyzed by the store)", n)
	}

	dsn = newSchemaDSN(t)
	s = openAt(t, dsn, Options{Now: fixedNow, AnalyzeAfter: 5})
	mustCommit(t, s, batch(0, 3))
	mustCommit(t, s, batch(3, 17)) // 20 > 5: analyzed
	deadline := time.Now().Add(30 * time.Second)
	for reltuples(t, dsn) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the partition was not analyzed after 20 messages (AnalyzeAfter 5): reltuples %v", reltuples(t, dsn))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
