package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// The due index (see index.DueScan): the entries of every notice version
// of the schedule IndexDue was given, each after the notice version's
// index.DuePrefix, and per notice version the marker of the cadence it
// is built for.
//
//	obldue     (notice, version) ‖ due entry → ∅
//	oblduefor  (notice, version) → cadence, or cadence|building while it is built
var (
	bucketOblDue    = []byte("obldue")
	bucketOblDueFor = []byte("oblduefor")
)

// dueBuildBatch is how many obligations one transaction of a build
// indexes, so that building the index of 100,000 never holds the write
// lock for long.
const dueBuildBatch = 1000

// keepDue keeps the due entries of an obligation written in tx: old is
// it as it was (nil if new), o as it is now (nil if deleted). The entries
// are kept only while the notice version's index is built (or being
// built) for the cadence the store's schedule gives it; a write of an
// obligation whose notice version the schedule lacks or gives another
// cadence removes the marker, so that the index is built again before it
// is read.
func (s *Store) keepDue(tx *bolt.Tx, old, o *policy.Obligation) error {
	ref := o
	if ref == nil {
		ref = old
	}
	prefix := index.DuePrefix(ref.NoticeID, ref.Version)
	markers := tx.Bucket(bucketOblDueFor)
	marker := markers.Get(prefix)
	if marker == nil {
		return nil // not built: there is nothing to keep
	}
	sched := s.due.Load()
	cadence, ok := sched.Cadence(ref.NoticeID, ref.Version)
	if !ok || !index.DueKeeps(string(marker), cadence) {
		return markers.Delete(prefix)
	}
	b := tx.Bucket(bucketOblDue)
	for _, e := range sched.Entries(old) {
		if err := b.Delete(append(prefix[:len(prefix):len(prefix)], e...)); err != nil {
			return err
		}
	}
	for _, e := range sched.Entries(o) {
		if err := b.Put(append(prefix[:len(prefix):len(prefix)], e...), nil); err != nil {
			return err
		}
	}
	return nil
}

// IndexDue makes notices the store's schedule and builds the due index
// of each that is not built for its cadence; see store.Obligations. It
// also drops the indexes of the versions before each (superseded: the
// reminder run never reads them).
func (s *Store) IndexDue(ctx context.Context, notices []policy.Notice) error {
	const op = "index due obligations"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	s.dueMu.Lock()
	defer s.dueMu.Unlock()
	sched := index.NewSchedule(notices)
	s.due.Store(sched)
	for _, n := range sched.Notices() {
		if err := s.dropEarlierDue(n); err != nil {
			return s.wrap(op, err)
		}
		if err := s.ensureDue(ctx, sched, n); err != nil {
			return err
		}
	}
	return nil
}

// dropEarlierDue deletes the due indexes of the versions of n's notice
// before n's.
func (s *Store) dropEarlierDue(n policy.Notice) error {
	from := index.DuePrefix(n.ID, math.MinInt)
	to := index.DuePrefix(n.ID, n.Version)
	var found bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketOblDue, bucketOblDueFor} {
			if k, _ := tx.Bucket(name).Cursor().Seek(from); k != nil && bytes.Compare(k, to) < 0 {
				found = true
			}
		}
		return nil
	}); err != nil || !found {
		return err
	}
	return s.w.write(false, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketOblDue, bucketOblDueFor} {
			if err := deleteRange(tx.Bucket(name), from, to); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteRange deletes the keys of b from from to before to.
func deleteRange(b *bolt.Bucket, from, to []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(from); k != nil && bytes.Compare(k, to) < 0; k, _ = c.Seek(from) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// ensureDue builds n's due index unless it is built for n's cadence.
// The caller holds dueMu.
func (s *Store) ensureDue(ctx context.Context, sched *index.Schedule, n policy.Notice) error {
	prefix := index.DuePrefix(n.ID, n.Version)
	var marker []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		marker = bytes.Clone(tx.Bucket(bucketOblDueFor).Get(prefix))
		return nil
	}); err != nil {
		return s.wrap("index due obligations of "+n.Key(), err)
	}
	if string(marker) == n.Cadence() {
		return nil
	}
	start := time.Now()
	count, err := s.buildDue(ctx, sched, n)
	if err != nil {
		return err
	}
	s.log.Log(ctx, index.DueBuildLevel(count), "embedded store: built the index of the obligations due", "notice", n.Key(), "cadence", n.Cadence(),
		"obligations", count, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// buildDue builds n's due index from its stored obligations: it clears
// the index and marks it being built (writes keep it from then on), adds
// the entries of dueBuildBatch obligations per transaction, and marks it
// built, unless a write removed the mark meanwhile. It returns how many
// obligations it read.
func (s *Store) buildDue(ctx context.Context, sched *index.Schedule, n policy.Notice) (int, error) {
	op := "build the due index of " + n.Key()
	prefix := index.DuePrefix(n.ID, n.Version)
	building := []byte(index.DueBuilding(n.Cadence(), "building"))
	err := s.w.write(false, func(tx *bolt.Tx) error {
		if err := deleteRange(tx.Bucket(bucketOblDue), prefix, index.Successor(prefix)); err != nil {
			return err
		}
		return tx.Bucket(bucketOblDueFor).Put(prefix, building)
	})
	if err != nil {
		return 0, s.wrap(op, err)
	}
	// Obligation keys start with the same (notice, version) tuple, and
	// none is the tuple itself: from prefix is from the first.
	from := prefix
	total := 0
	for from != nil {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("embedded: %s: %w", op, err)
		}
		var next []byte // the first obligation the transaction left
		var read int
		err := s.w.write(false, func(tx *bolt.Tx) error {
			next, read = nil, 0
			due := tx.Bucket(bucketOblDue)
			c := tx.Bucket(bucketObligations).Cursor()
			for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if read == dueBuildBatch {
					next = bytes.Clone(k)
					return nil
				}
				read++
				var o policy.Obligation
				if err := json.Unmarshal(v, &o); err != nil {
					return fmt.Errorf("decode obligation: %w", err)
				}
				for _, e := range sched.Entries(&o) {
					if err := due.Put(append(prefix[:len(prefix):len(prefix)], e...), nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return total, s.wrap(op, err)
		}
		total += read
		from = next
	}
	err = s.w.write(false, func(tx *bolt.Tx) error {
		markers := tx.Bucket(bucketOblDueFor)
		if !bytes.Equal(markers.Get(prefix), building) {
			return nil // a write for another cadence removed it: built again when read
		}
		return markers.Put(prefix, []byte(n.Cadence()))
	})
	if err != nil {
		return total, s.wrap(op, err)
	}
	return total, nil
}

// ListObligationsDue returns a page of the obligations of a notice
// version of the schedule that are due at until, from the due index;
// see store.Obligations.
func (s *Store) ListObligationsDue(ctx context.Context, noticeID string, version int, until time.Time, p store.Page) ([]policy.Obligation, string, error) {
	op := "list obligations of " + noticeID + " v" + strconv.Itoa(version) + " due"
	if err := s.check(ctx, op); err != nil {
		return nil, "", err
	}
	sched := s.due.Load()
	n, ok := sched.Notice(noticeID, version)
	if !ok {
		return nil, "", fmt.Errorf("embedded: %s: the notice version was not given to IndexDue", op)
	}
	ranges, err := index.DueScan(until, p)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: %s: %w", op, err)
	}
	prefix := index.DuePrefix(noticeID, version)
	for attempt := 0; ; attempt++ {
		var items []policy.Obligation
		var next string
		built := false
		err := s.db.View(func(tx *bolt.Tx) (err error) {
			if built = string(tx.Bucket(bucketOblDueFor).Get(prefix)) == n.Cadence(); !built {
				return nil
			}
			items, next, err = listDue(tx, prefix, n, until, ranges, p.Size())
			return err
		})
		switch {
		case err != nil:
			return nil, "", s.wrap(op, err)
		case built:
			return items, next, nil
		case attempt == 2:
			return nil, "", fmt.Errorf("embedded: %s: the index is not built for cadence %s", op, n.Cadence())
		}
		s.dueMu.Lock()
		err = s.ensureDue(ctx, sched, n)
		s.dueMu.Unlock()
		if err != nil {
			return nil, "", err
		}
	}
}

// listDue reads one page of n's due index over ranges.
func listDue(tx *bolt.Tx, prefix []byte, n policy.Notice, until time.Time, ranges []index.DueRange, limit int) ([]policy.Obligation, string, error) {
	obls := tx.Bucket(bucketObligations)
	c := tx.Bucket(bucketOblDue).Cursor()
	out := make([]policy.Obligation, 0, min(limit, 256))
	var last []byte // the entry of out's last item
	for _, r := range ranges {
		start := append(prefix[:len(prefix):len(prefix)], r.Start...)
		end := append(prefix[:len(prefix):len(prefix)], r.End...)
		k, _ := c.Seek(start)
		if r.Exclusive && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.Compare(k, end) < 0; k, _ = c.Next() {
			entry := k[len(prefix):]
			user, ok := index.DueUser(entry)
			if !ok {
				return nil, "", fmt.Errorf("malformed due entry")
			}
			v := obls.Get(index.ObligationKey(n.ID, n.Version, user))
			if v == nil {
				return nil, "", fmt.Errorf("the due index names a missing obligation")
			}
			var o policy.Obligation
			if err := json.Unmarshal(v, &o); err != nil {
				return nil, "", fmt.Errorf("decode obligation: %w", err)
			}
			if !r.Holds(policy.NextDue(n, o), until) {
				continue // due later in until's millisecond (or from the other range)
			}
			if len(out) == limit {
				return out, index.Cursor(last), nil
			}
			out = append(out, o)
			last = append(last[:0], entry...)
		}
	}
	return out, "", nil
}
