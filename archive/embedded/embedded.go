// Package embedded implements archive.Store on a bbolt file of its own
// (e.g. data/archive.db, beside the main store), for a single wecomply
// node with no server to run.
//
// Everything one Commit writes — the messages, every index entry, the
// quarantine, the gaps, the counters and the cursor — goes into ONE bbolt
// transaction, fsynced before Commit returns: after a crash the file holds
// all of a batch or none of it, and the indexes can never disagree with the
// messages or the cursor. This is why Search runs on B-tree indexes in the
// same file rather than on a second index engine (bleve or the like): a
// second engine commits on its own, so after a crash its index could lack
// what the cursor says is stored, or hold what is not. The file is never
// opened with NoSync.
//
// Layout (one bucket each; num is a message's number, given in commit
// order, 8 bytes big-endian; t is a time in microseconds with its sign bit
// flipped, big-endian, so that keys sort in time order; d is t's UTC
// day, 4 bytes (periodOf); s(x) is x's length as 2 bytes big-endian and
// x):
//
//	messages   num → message (binary, see encodeMessage)
//	msgids     msgid → num
//	tolists    ref → ToList ids                     lists of 8 ids or more, shared (listRef)
//	tolistrefs ref → how many messages use it (8 bytes)
//	bytime     t ‖ num → ∅                           every message
//	byparty    d ‖ s(id) ‖ t ‖ num → ∅               From, and the receiver of a chat not in a room
//	byroom     d ‖ s(roomid) ‖ t ‖ num → ∅
//	byconv     d ‖ s(conversation) ‖ t ‖ num → ∅
//	bytoken    d ‖ token (8 bytes) ‖ t ‖ num → ∅     each of the message's tokens
//	roomcounts roomid → message count (8 bytes)     (PurgeDay forgets a room left empty)
//	byday      day ‖ num → ∅                         archive.DayOf, for PurgeDay
//	days       day → message count (8 bytes)
//	recalls    pre_msgid → recall msgid              the first recall of each message
//	quarantine seq (8 bytes) ‖ msgid → Quarantined JSON
//	quarids    msgid → seq (8 bytes)
//	datakeys   day ‖ "/" ‖ id → DataKey JSON
//	gaps       after ‖ before (8 bytes each) → Gap JSON
//	memberrooms s(id) ‖ roomid → ∅                 ids seen in a room's messages (sender or receiver)
//	roommembers s(roomid) ‖ id → ∅                 the same, by room (PurgeDay forgets a room left empty)
//	roomhash   roomid → hash of the members of its last message   (skips rewriting memberrooms)
//	meta       cursor, messages, withheld, quarantined, gaps, num (the last
//	           given), format (formatVersion) → 8 bytes; lastcommit → µs
//
// The per-token and per-id indexes lead with the day of the message's
// time, not the token or id: bbolt copies every page
// a transaction changes (copy on write), and a commit of 1,000 messages
// puts some 50,000 token entries. Keyed token ‖ t, they would land all
// over the index and rewrite most of its leaves each commit, ever more as
// it grows (measured: 135 KB written a message at 900,000 messages, 670
// msgs/s); keyed d ‖ token ‖ t they land in the pages of the last days
// only, whatever the index's size. An index is read day by day (see
// iter): a 30-day search seeks some 30 to 60 times per index it walks,
// and a day in which the bucket has no key costs one seek. The hour was
// measured too (see tokenPeriod).
//
// Index keys end in the message's number rather than its msgid (WeCom's
// are some 40 bytes) to keep the indexes small; messages of the same
// microsecond, which Search orders by msgid, are sorted as they are read
// (see Search).
//
// Search picks the most selective index the query has — each token's
// postings, the conversation's, the room's, or a person's (byparty and
// the rooms memberrooms lists for them, read as one), else bytime: the
// one with the fewest entries in the time range, found by walking the
// candidates side by side until the first ends (see smallest). It scans
// that index in time order from the page cursor, checks the token, room
// and conversation filters by looking (t, num) up in their indexes, and
// the type and person filters on the message.
//
// Sizes (BenchmarkArchive, realistic messages): about 2.2–2.8 KB a message
// in all, of which the token postings take about half; a room of 500
// members costs a shared ToList per sender, not 499 index entries a
// message.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wecomply/wecomply/archive"
)

var _ archive.Store = (*Store)(nil)

// ErrFormat is returned by Open for a file of another format version.
var ErrFormat = errors.New("archive/embedded: unknown file format")

// Options configure an embedded archive. Zero fields take their defaults.
type Options struct {
	// Now is the clock for StoredAt (when a message has none), a
	// quarantined record's Since (when it has none) and Stats.LastCommit.
	// Default time.Now.
	Now func() time.Time
	// OpenTimeout is how long Open waits for the file lock another process
	// may hold. Default 5s.
	OpenTimeout time.Duration
}

// Bucket names.
var (
	bucketMessages   = []byte("messages")
	bucketMsgIDs     = []byte("msgids")
	bucketByTime     = []byte("bytime")
	bucketByParty    = []byte("byparty")
	bucketByRoom     = []byte("byroom")
	bucketByConv     = []byte("byconv")
	bucketByToken    = []byte("bytoken")
	bucketByDay      = []byte("byday")
	bucketDays       = []byte("days")
	bucketRecalls    = []byte("recalls")
	bucketQuarantine = []byte("quarantine")
	bucketQuarIDs    = []byte("quarids")
	bucketDataKeys   = []byte("datakeys")
	bucketGaps       = []byte("gaps")
	bucketMeta       = []byte("meta")

	bucketMemberRooms = []byte("memberrooms")
	bucketRoomHash    = []byte("roomhash")
	bucketRoomMembers = []byte("roommembers")
	bucketToLists     = []byte("tolists")
	bucketToListRefs  = []byte("tolistrefs")
	bucketRoomCounts  = []byte("roomcounts")
)

var allBuckets = [][]byte{
	bucketMessages, bucketMsgIDs, bucketByTime, bucketByParty, bucketByRoom, bucketByConv,
	bucketByToken, bucketByDay, bucketDays, bucketRecalls, bucketQuarantine,
	bucketQuarIDs, bucketDataKeys, bucketGaps, bucketMeta,
	bucketMemberRooms, bucketRoomHash, bucketToLists, bucketToListRefs, bucketRoomMembers,
	bucketRoomCounts,
}

// Meta keys.
var (
	metaCursor      = []byte("cursor")
	metaMessages    = []byte("messages")
	metaWithheld    = []byte("withheld")
	metaQuarantined = []byte("quarantined")
	metaGaps        = []byte("gaps")
	metaLastCommit  = []byte("lastcommit")
	metaNextNum     = []byte("num")
	metaFormat      = []byte("format")
)

// formatVersion is the layout of the file, kept in meta under "format"
// (8 bytes). Open refuses a file of another layout rather than misread
// it. 1 (never written down: files without "format") had the per-id and
// per-token indexes keyed id ‖ t ‖ num; 2 leads them with the period.
const formatVersion = 2

// Store is an archive.Store on a bbolt file. Create it with Open.
type Store struct {
	db     *bolt.DB
	now    func() time.Time
	closed atomic.Bool
}

// Open opens (creating if needed) the archive at path. Parent directories
// are created with mode 0700 and the file with 0600.
func Open(path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 5 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("archive/embedded: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("archive/embedded: open %s: file is locked (is another wecomply running on it?): %w", path, err)
		}
		return nil, fmt.Errorf("archive/embedded: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if v := getU64(meta.Get(metaFormat)); v != formatVersion {
				return fmt.Errorf("file format %d, this wecomply reads format %d only (the archive's index layout changed before its release; move the file away and pull again): %w",
					max(v, 1), formatVersion, ErrFormat)
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(metaFormat, u64(formatVersion))
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("archive/embedded: open %s: %w", path, err)
	}
	return &Store{db: db, now: opts.Now}, nil
}

// Path is the file the archive lives in.
func (s *Store) Path() string { return s.db.Path() }

// DiskBytes is the size of the pages in use (the file minus its free
// pages): what the data takes, not counting the room the file keeps to
// grow into.
func (s *Store) DiskBytes(ctx context.Context) (int64, error) {
	var n int64
	err := s.view(ctx, "disk bytes", func(tx *bolt.Tx) error {
		st := s.db.Stats()
		n = tx.Size() - int64(st.FreePageN+st.PendingPageN)*int64(s.db.Info().PageSize)
		return nil
	})
	return n, err
}

// Close closes the file after the transactions in flight have finished.
// Calls after Close return archive.ErrClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("archive/embedded: close: %w", archive.ErrClosed)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("archive/embedded: close: %w", err)
	}
	return nil
}

// check returns ErrClosed after Close, and ctx's error if it is done.
func (s *Store) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("archive/embedded: %s: %w", op, archive.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("archive/embedded: %s: %w", op, err)
	}
	return nil
}

// wrap names the operation and maps bbolt's closed-database error to
// ErrClosed.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("archive/embedded: %s: %w", op, archive.ErrClosed)
	}
	return fmt.Errorf("archive/embedded: %s: %w", op, err)
}

func (s *Store) view(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := s.check(ctx, op); err != nil {
		return err
	}
	return s.wrap(op, s.db.View(fn))
}

func (s *Store) update(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := s.check(ctx, op); err != nil {
		return err
	}
	return s.wrap(op, s.db.Update(func(tx *bolt.Tx) error {
		// A caller that gave up while waiting for the writer lock gets
		// its error and nothing written.
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(tx)
	}))
}

// Cursor returns the seq to pull after.
func (s *Store) Cursor(ctx context.Context) (uint64, error) {
	var c uint64
	err := s.view(ctx, "cursor", func(tx *bolt.Tx) error {
		c = getU64(tx.Bucket(bucketMeta).Get(metaCursor))
		return nil
	})
	return c, err
}

// Stats describes the archive.
func (s *Store) Stats(ctx context.Context) (archive.Stats, error) {
	var st archive.Stats
	err := s.view(ctx, "stats", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		st.Cursor = getU64(meta.Get(metaCursor))
		st.Messages = int64(getU64(meta.Get(metaMessages)))
		st.Withheld = int64(getU64(meta.Get(metaWithheld)))
		st.Quarantined = int64(getU64(meta.Get(metaQuarantined)))
		st.Gaps = int64(getU64(meta.Get(metaGaps)))
		if v := meta.Get(metaLastCommit); len(v) == 8 {
			st.LastCommit = time.UnixMicro(int64(getU64(v))).UTC()
		}
		if k, _ := tx.Bucket(bucketByTime).Cursor().Last(); len(k) >= 8 {
			st.NewestMsgTime = keyTime(k)
		}
		return nil
	})
	return st, err
}

// add adds d (which may be negative) to the counter name in meta.
func add(meta *bolt.Bucket, name []byte, d int64) error {
	v := int64(getU64(meta.Get(name))) + d
	if v < 0 {
		v = 0
	}
	return meta.Put(name, u64(uint64(v)))
}
