// Package embedded implements store.Store on a single bbolt file, for a
// single wecomply node with no server to run.
//
// Enqueue appends to an ingress log beside the file (<path>.wal/, see
// wal.go) and returns once an fdatasync covering its record has
// returned, so a callback handler that gets nil from Enqueue knows the
// event is on disk; a mover puts logged entries into the buckets below in
// large batches. Every write to the file goes through one committer, so
// writes from concurrent callers share one transaction and one fsync
// (group commit, see committer). The file is never opened with NoSync.
//
// Layout (one bucket each):
//
//	entries   id → record (event, attempts, last error)        id = big-endian uint64 sequence
//	ready     id → ∅                                            claimable now, oldest id first
//	delayed   not-before µs ‖ id → ∅                            failed, claimable after not-before
//	leased    id → lease-until µs ‖ consumer                    claimed and not yet acked
//	dead      death sequence → record (with id and died_at)     dead letters, in order of death
//	deadids   id → death sequence                               a dead letter by the id its entry had
//	dedup     dedup key → expiry µs
//	dedupexp  expiry µs ‖ dedup key → ∅                         lets the sweeper find expired keys
//	log       received_at µs ‖ sequence → LogEntry JSON
//	logdedup  dedup key → log key
//	logkind   kind → (bucket of log keys)
//	results   len(notice key) ‖ notice key ‖ user id → RecipientResult JSON
//
// the compliance records (keys are tuples encoded by store/internal/index,
// so that byte order is listing order; "key" is a record's primary key):
//
//	obligations      (notice, version, user) → Obligation JSON
//	oblbyuser        (user) ‖ key → ∅                         one person's obligations
//	oblbystatus      (status) ‖ key → ∅                       one status, within a notice (version)
//	oblcount         (notice, version, status) → count        big-endian uint64; absent when 0
//	attestations     (notice, version, user[, round]) → Attestation JSON   round 0: no round field
//	attbyuser        (user) ‖ key → ∅
//	consents         (user, external user) → Consent JSON
//	consentbystatus  (status) ‖ key → ∅
//	people           user id → Person JSON
//	claims           len(claim key) ‖ claim key ‖ user → 0x00 ‖ claimed µs ‖ owner   (see claims.go)
//	claimsat         claimed µs ‖ len(claim key) ‖ claim key ‖ user → ∅           what retention walks
//	audit            seq (big-endian uint64) → AuditEntry JSON
//	auditids         entry id → seq
//	auditmeta        "head" → seq ‖ hash of the last entry appended
//	jobruns          (job, scheduled µs) → JobRun JSON            the last 1,000 of each job
//	intercept        our rule id → InterceptMapping JSON          the intercept sync's rules (intercept.go)
//	obldue           (notice, version) ‖ due entry → ∅           obligations by when they are due (due.go)
//	oblduefor        (notice, version) → cadence                  what each notice version's due index is built for
//	meta             name → value                             conversions under way (claims.go),
//	                                                          how far the ingress log is moved (wal.go)
//
// and, expiring (every value starts with its expiry µs; see expiring.go):
//
//	leases    lease name → expiry ‖ holder
//	tokens    app → expiry ‖ token
//	booked    unit id → expiry                                booking markers
//	sends     len(scope) ‖ scope ‖ member → expiry ‖ send ms…  ascending, as varint gaps
//	quota     len(scope) ‖ scope ‖ yyyymmdd → expiry ‖ count   person-times of a day
//	expiry    expiry µs ‖ tag ‖ key → ∅                         lets the sweeper find them
//
// An entry enqueued with a NotBefore in the future waits in delayed, as a
// failed one does, and counts as ready in QueueStats.
//
// Times are kept as microseconds since the Unix epoch, taken from the
// injected clock (Options.Now); keys holding a time flip its sign bit so
// that they sort in time order. Send times are kept in milliseconds, as
// the Redis backend keeps them, so that both count alike.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

var _ store.Store = (*Store)(nil)

// Options configure an embedded store. Zero fields take their defaults.
type Options struct {
	// Queue are the queue settings (lease, max attempts, dedup TTL).
	Queue store.QueueOptions
	// BatchDelay is how long background writes (the workers' claims,
	// acks and log entries) wait for more writes to share their
	// transaction and fsync while callbacks are arriving (Busy);
	// Enqueue never waits (see committer). Default 2ms.
	BatchDelay time.Duration
	// Busy reports whether callbacks are arriving fast, so that the
	// workers' writes should wait BatchDelay for company rather than
	// take the disk from them. Nil: always (a store with no callbacks
	// to measure, e.g. a command's).
	Busy func() bool
	// BatchSize is the most writes one group commit takes. Default 256.
	BatchSize int
	// SweepInterval is how often expired dedup keys, leases, tokens,
	// booking markers, send records and quota counters are deleted.
	// Default one minute. (An expired one is treated as absent whether
	// or not it has been swept.)
	SweepInterval time.Duration
	// OpenTimeout is how long Open waits for the file lock another
	// process may hold. Default 5s.
	OpenTimeout time.Duration
	// Now is the clock for queue leases, retries, scheduled entries,
	// dedup expiry, named leases, token expiry and the expiry of booking
	// records. Default time.Now.
	Now func() time.Time
	// Logger receives what the background sweeper cannot return.
	// Default slog.Default().
	Logger *slog.Logger

	// segmentSize is the size past which the ingress log starts a new
	// segment; tests make it small. Default walSegmentSize.
	segmentSize int64
}

func (o Options) withDefaults() Options {
	o.Queue = o.Queue.WithDefaults()
	if o.BatchDelay <= 0 {
		o.BatchDelay = 2 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.segmentSize <= 0 {
		o.segmentSize = walSegmentSize
	}
	return o
}

// Bucket names.
var (
	bucketEntries  = []byte("entries")
	bucketReady    = []byte("ready")
	bucketDelayed  = []byte("delayed")
	bucketLeased   = []byte("leased")
	bucketDead     = []byte("dead")
	bucketDeadIDs  = []byte("deadids")
	bucketDedup    = []byte("dedup")
	bucketDedupExp = []byte("dedupexp")
	bucketLog      = []byte("log")
	bucketLogDedup = []byte("logdedup")
	bucketLogKind  = []byte("logkind")
	bucketResults  = []byte("results")
	bucketLeases   = []byte("leases")
	bucketTokens   = []byte("tokens")
	bucketBooked   = []byte("booked")
	bucketSends    = []byte("sends")
	bucketQuota    = []byte("quota")
	bucketExpiry   = []byte("expiry")

	bucketObligations     = []byte("obligations")
	bucketOblByUser       = []byte("oblbyuser")
	bucketOblByStatus     = []byte("oblbystatus")
	bucketOblCount        = []byte("oblcount")
	bucketAttestations    = []byte("attestations")
	bucketAttByUser       = []byte("attbyuser")
	bucketConsents        = []byte("consents")
	bucketConsentByStatus = []byte("consentbystatus")
	bucketPeople          = []byte("people")
	bucketClaims          = []byte("claims")
	bucketAudit           = []byte("audit")
	bucketAuditIDs        = []byte("auditids")
	bucketAuditMeta       = []byte("auditmeta")
	bucketJobRuns         = []byte("jobruns")
)

var allBuckets = [][]byte{
	bucketEntries, bucketReady, bucketDelayed, bucketLeased, bucketDead,
	bucketDedup, bucketDedupExp, bucketLog, bucketLogDedup, bucketLogKind,
	bucketResults, bucketLeases, bucketTokens, bucketBooked, bucketSends,
	bucketQuota, bucketExpiry,
	bucketObligations, bucketOblByUser, bucketOblByStatus, bucketOblCount,
	bucketAttestations, bucketAttByUser, bucketConsents, bucketConsentByStatus,
	bucketPeople, bucketClaims, bucketAudit, bucketAuditIDs, bucketAuditMeta,
	bucketJobRuns, bucketDeadIDs, bucketClaimsAt, bucketMeta,
	bucketOblDue, bucketOblDueFor,
	bucketIntercept, bucketAlerts, bucketAlertIdx,
}

// Store is a store.Store on a bbolt file. Create it with Open.
type Store struct {
	db   *bolt.DB
	w    *committer // every write transaction goes through it
	in   *ingress   // the ingress log Enqueue appends to (wal.go)
	opts Options
	now  func() time.Time
	log  *slog.Logger

	mu   sync.Mutex
	wake chan struct{} // closed and replaced when an entry may have become claimable
	// claimsWaiting counts the Claims waiting for an entry: while there
	// are some, the ingress log's mover does not wait for company.
	claimsWaiting atomic.Int32

	// enqueueMu is held for reading by every Enqueue, for writing by
	// Close: Close stops the ingress log only after the Enqueues under
	// way have their answer.
	enqueueMu sync.RWMutex

	// due is the schedule of the due index (IndexDue), nil before the
	// first call; dueMu serialises IndexDue and the builds.
	due   atomic.Pointer[index.Schedule]
	dueMu sync.Mutex

	closed  atomic.Bool
	done    chan struct{} // closed by Close
	sweeper sync.WaitGroup
}

// Open opens (creating if needed) the store at path. Parent directories
// are created with mode 0700 and the file with 0600.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("embedded: open %s: file is locked (is another wecomply running on it?): %w", path, err)
		}
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		// Indexes added after the first release are built for the data
		// of a store opened before them.
		indexDead := tx.Bucket(bucketDeadIDs) == nil
		if err := prepareClaims(tx); err != nil {
			return fmt.Errorf("recipient claims: %w", err)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		if indexDead {
			if err := indexDeadLetters(tx); err != nil {
				return fmt.Errorf("index dead letters: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s := &Store{
		db:   db,
		w:    newCommitter(db, opts.BatchSize, opts.BatchDelay, opts.Busy),
		opts: opts,
		now:  opts.Now,
		log:  opts.Logger,
		wake: make(chan struct{}),
		done: make(chan struct{}),
	}
	if n, err := s.convertClaims(); err != nil {
		s.w.stop()
		_ = db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	} else if n > 0 {
		s.log.Info("embedded store: recipient claims made before claim times were kept now count from today", "claims", n)
	}
	if s.in, err = s.openIngress(path); err != nil {
		s.w.stop()
		_ = db.Close()
		return nil, fmt.Errorf("embedded: open %s: ingress log: %w", path, err)
	}
	s.sweeper.Add(1)
	go s.sweep()
	return s, nil
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.db.Path() }

// Ping checks that the store is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("embedded: ping: %w", store.ErrClosed)
	}
	if err := s.db.View(func(*bolt.Tx) error { return nil }); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Close stops the sweeper and closes the file, after the transactions in
// flight have finished. Calls after Close return store.ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("embedded: close: %w", store.ErrClosed)
	}
	close(s.done)
	// Enqueues under way finish; later ones see closed.
	s.enqueueMu.Lock()
	s.enqueueMu.Unlock()
	// The mover moves what is logged before the committer stops; what it
	// cannot move stays in the log for the next Open.
	logErr := s.in.stop()
	s.sweeper.Wait()
	s.w.stop()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	if logErr != nil {
		return fmt.Errorf("embedded: close: ingress log: %w", logErr)
	}
	return nil
}

// check returns ErrClosed after Close, and ctx's error if it is done.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("embedded: %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return nil
}

// wrap names the operation and turns bbolt's "not open" into ErrClosed
// (Close won the race against an operation already under way).
func (s *Store) wrap(op string, err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("embedded: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("embedded: %s: %w", op, err)
}

// signal wakes every Claim waiting for an entry.
func (s *Store) signal() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// wakeChan is closed at the next signal. Take it before looking for
// entries, so a signal between the look and the wait is not lost.
func (s *Store) wakeChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// sweepBatch bounds how many expired dedup keys one sweep transaction
// deletes, so the sweeper never holds the write lock for long.
const sweepBatch = 1000

func (s *Store) sweep() {
	defer s.sweeper.Done()
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		// Nobody to return these to; a failed sweep only leaves expired
		// keys for the next one (they count as absent).
		if _, err := s.sweepDedup(); err != nil && !s.closed.Load() {
			s.log.Warn("embedded store: sweep expired dedup keys", "err", err)
		}
		if _, err := s.sweepExpiring(); err != nil && !s.closed.Load() {
			s.log.Warn("embedded store: sweep expired values", "err", err)
		}
	}
}

// sweepDedup deletes the dedup keys whose expiry has passed and reports
// how many.
func (s *Store) sweepDedup() (int, error) {
	return s.sweepIndex("sweep dedup keys", bucketDedupExp, 8, func(tx *bolt.Tx, k []byte) error {
		dd, dk := tx.Bucket(bucketDedup), k[8:]
		// Delete the key only if this index entry is its current expiry
		// (a re-enqueue after expiry wrote a newer one).
		if v := dd.Get(dk); v != nil && len(v) == 8 && unTimeKey(v) == unTimeKey(k[:8]) {
			return dd.Delete(dk)
		}
		return nil
	})
}

// sweepIndex deletes the entries of the time index idx (keys: an 8-byte
// time, then what they index; at least minLen bytes) whose time has
// passed, a batch of sweepBatch per write transaction, calling drop on
// each to delete what it indexes. It reports how many entries it
// removed.
func (s *Store) sweepIndex(what string, idx []byte, minLen int, drop func(tx *bolt.Tx, k []byte) error) (int, error) {
	total := 0
	for {
		now := micros(s.now())
		var n int
		err := s.w.write(false, func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(idx)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < sweepBatch; k, _ = c.Next() {
				if len(k) < minLen || unTimeKey(k[:8]) > now {
					break
				}
				keys = append(keys, append([]byte(nil), k...))
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
				if err := drop(tx, k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return total, s.wrap(what, err)
		}
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}
