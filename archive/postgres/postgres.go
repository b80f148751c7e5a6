// Package postgres is the PostgreSQL backend of archive.Store (pgx v5),
// for deployments that run several replicas or keep years of archive.
//
// The schema lives in the first schema of the connection's search_path
// (tables named archive_*), is created on Open and migrated there
// (schema.go explains the layout). Messages are partitioned by month;
// a batch is written with COPY into a per-connection staging table and
// moved with INSERT … SELECT … ON CONFLICT DO NOTHING, in the same
// transaction that checks and moves the cursor.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wecomply/wecomply/archive"
)

var _ archive.Store = (*Store)(nil)

// Options tune Open; the zero value is usable.
type Options struct {
	// MaxConns caps the pool (pgxpool's default, max(4, CPUs), if 0).
	MaxConns int32
	// Now is the clock for LastCommit, a zero Message.StoredAt and
	// Quarantined.Since; time.Now if nil.
	Now func() time.Time
	// AnalyzeAfter is how many messages a month's partition takes, beyond
	// a tenth of its size at its last ANALYZE, before the store analyzes it
	// in the background (DefaultAnalyzeAfter if 0; negative: never, leave it
	// to autovacuum). See analyze.go.
	AnalyzeAfter int
}

// Store is an archive.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time

	mu         sync.Mutex
	partitions map[int]bool // months (year*12+month-1) known to have a partition
	closed     bool

	analyzeAfter int
	growth       map[int]*partitionGrowth // by month
	analyzing    sync.WaitGroup
	bg           context.Context // background ANALYZEs; cancelled by Close
	stopBG       context.CancelFunc
}

// Open connects to dsn (a libpq URL or key=value string; PostgreSQL 15 or
// newer), creates or migrates the schema, and returns the store.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors quote the DSN, password included: say only why.
		return nil, errors.New("archive/postgres: open: the DSN does not parse")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: open: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("archive/postgres: open: connect: %w", err)
	}
	err = migrate(ctx, conn.Conn(), now().UTC())
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("archive/postgres: open: %w", err)
	}
	after := opts.AnalyzeAfter
	if after == 0 {
		after = DefaultAnalyzeAfter
	}
	bg, stop := context.WithCancel(context.Background())
	return &Store{pool: pool, now: now, partitions: map[int]bool{},
		analyzeAfter: after, growth: map[int]*partitionGrowth{}, bg: bg, stopBG: stop}, nil
}

// Close closes the pool; later calls fail with archive.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopBG()
	s.analyzing.Wait()
	s.pool.Close()
	return nil
}

// check returns archive.ErrClosed after Close.
func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return archive.ErrClosed
	}
	return nil
}

// Cursor returns the stored cursor.
func (s *Store) Cursor(ctx context.Context) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var n pgtype.Numeric
	if err := s.pool.QueryRow(ctx, `SELECT cursor FROM archive_state WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("archive/postgres: cursor: %w", err)
	}
	seq, err := fromNumeric(n)
	if err != nil {
		return 0, fmt.Errorf("archive/postgres: cursor: %w", err)
	}
	return seq, nil
}

// Stats reads the counters (archive_days), the quarantine and gap counts
// and the newest message time (the primary key's index gives it per
// partition).
func (s *Store) Stats(ctx context.Context) (archive.Stats, error) {
	if err := s.check(); err != nil {
		return archive.Stats{}, err
	}
	var (
		st         archive.Stats
		cur        pgtype.Numeric
		lastCommit pgtype.Timestamptz
		newest     pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT cursor FROM archive_state WHERE id = 1),
		(SELECT last_commit FROM archive_state WHERE id = 1),
		(SELECT coalesce(sum(messages), 0)::bigint FROM archive_days),
		(SELECT coalesce(sum(withheld), 0)::bigint FROM archive_days),
		(SELECT count(*) FROM archive_quarantine),
		(SELECT count(*) FROM archive_gaps),
		(SELECT max(time) FROM archive_messages)`).
		Scan(&cur, &lastCommit, &st.Messages, &st.Withheld, &st.Quarantined, &st.Gaps, &newest)
	if err != nil {
		return archive.Stats{}, fmt.Errorf("archive/postgres: stats: %w", err)
	}
	if st.Cursor, err = fromNumeric(cur); err != nil {
		return archive.Stats{}, fmt.Errorf("archive/postgres: stats: cursor: %w", err)
	}
	if lastCommit.Valid {
		st.LastCommit = lastCommit.Time.UTC()
	}
	if newest.Valid {
		st.NewestMsgTime = newest.Time.UTC()
	}
	return st, nil
}

// numeric is seq as numeric(20,0), exact for the whole uint64 range.
func numeric(u uint64) pgtype.Numeric {
	return pgtype.Numeric{Int: new(big.Int).SetUint64(u), Valid: true}
}

// fromNumeric reads a numeric(20,0) seq back, refusing what a uint64
// cannot hold.
func fromNumeric(n pgtype.Numeric) (uint64, error) {
	if !n.Valid {
		return 0, errors.New("seq is NULL")
	}
	i := new(big.Int).Set(n.Int)
	if n.Exp > 0 {
		i.Mul(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.Exp)), nil))
	} else if n.Exp < 0 {
		q, r := new(big.Int).QuoRem(i, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-n.Exp)), nil), new(big.Int))
		if r.Sign() != 0 {
			return 0, fmt.Errorf("seq %s is not an integer", n.Int)
		}
		i = q
	}
	if i.Sign() < 0 || !i.IsUint64() {
		return 0, fmt.Errorf("seq %s is outside uint64", i)
	}
	return i.Uint64(), nil
}

// tokensToDB maps the uint64 blind-index hashes onto bigint with the same
// bit pattern; tokensFromDB undoes it.
func tokensToDB(ts []uint64) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = int64(t)
	}
	return out
}

func tokensFromDB(ts []int64) []uint64 {
	if len(ts) == 0 {
		return nil
	}
	out := make([]uint64, len(ts))
	for i, t := range ts {
		out[i] = uint64(t)
	}
	return out
}

// isCode reports whether err is a PostgreSQL error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// inTx runs fn in a transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// DiskBytes is the size on disk of the archive's tables, their
// partitions, indexes and TOAST (pg_total_relation_size), for the
// benchmarks' bytes per message (archivetest.DiskUser).
func (s *Store) DiskBytes(ctx context.Context) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'archive\_%'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("archive/postgres: disk bytes: %w", err)
	}
	return n, nil
}
