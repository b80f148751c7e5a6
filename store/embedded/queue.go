package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// leaseExpired is the last error recorded when a lease runs out.
const leaseExpired = "lease expired: worker crashed or took longer than the lease"

// record is a queue entry as the entries and dead buckets keep it.
type record struct {
	DedupKey   string `json:"dedup_key"`
	Kind       string `json:"kind,omitempty"`
	Receiver   string `json:"receiver,omitempty"`
	ReceivedAt int64  `json:"received_at"` // µs since the epoch
	Payload    []byte `json:"payload,omitempty"`
	NotBefore  int64  `json:"not_before,omitempty"` // µs since the epoch; 0: none
	Attempts   int    `json:"attempts,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// Dead letters only.
	ID     uint64 `json:"id,omitempty"`
	DiedAt int64  `json:"died_at,omitempty"` // µs since the epoch
}

func newRecord(e store.Event) record {
	r := record{
		DedupKey:   e.DedupKey,
		Kind:       e.Kind,
		Receiver:   e.Receiver,
		ReceivedAt: micros(e.ReceivedAt),
		Payload:    e.Payload,
	}
	if !e.NotBefore.IsZero() {
		r.NotBefore = micros(e.NotBefore)
	}
	return r
}

func (r record) event() store.Event {
	e := store.Event{
		DedupKey:   r.DedupKey,
		Kind:       r.Kind,
		Receiver:   r.Receiver,
		ReceivedAt: fromMicros(r.ReceivedAt),
		Payload:    r.Payload,
	}
	if r.NotBefore != 0 {
		e.NotBefore = fromMicros(r.NotBefore)
	}
	return e
}

func decodeRecord(v []byte) (record, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return record{}, fmt.Errorf("decode queue entry: %w", err)
	}
	return r, nil
}

// micros is t as µs since the epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// timeKey encodes µs so that byte order is time order (sign bit flipped).
func timeKey(us int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(us)^(1<<63))
	return b
}

func unTimeKey(b []byte) int64 { return int64(binary.BigEndian.Uint64(b[:8]) ^ (1 << 63)) }

func idKey(id uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, id)
	return b
}

func idString(k []byte) string { return strconv.FormatUint(binary.BigEndian.Uint64(k), 10) }

// parseID reads an ID as Claim hands it out; ok is false for anything
// this store never issued.
func parseID(id string) (uint64, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != id {
		return 0, false
	}
	return n, true
}

func concat(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// Enqueue appends e to the ingress log and returns once it is there
// durably (fdatasynced, with the group of Enqueues it rode with); the
// mover then puts it in the buckets (see wal.go and store.Queue). An
// entry whose NotBefore is still to come waits in the delayed bucket, as
// a failed entry waits for its retry.
func (s *Store) Enqueue(ctx context.Context, e store.Event) (bool, error) {
	s.enqueueMu.RLock()
	defer s.enqueueMu.RUnlock()
	if err := s.check(ctx, "enqueue"); err != nil {
		return false, err
	}
	if e.DedupKey == "" {
		return false, errors.New("embedded: enqueue: empty dedup key")
	}
	r := newRecord(e)
	value, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("embedded: enqueue %s: %w", e.DedupKey, err)
	}
	now := micros(s.now())
	rec := walRecord{key: e.DedupKey, at: now, expiry: now + s.opts.Queue.DedupTTL.Microseconds(),
		notBefore: r.NotBefore, value: value}
	added, err := s.in.add(ctx, rec, func() (bool, error) { return s.dedupLive(e.DedupKey, now) })
	if err != nil {
		return false, s.wrap("enqueue "+e.DedupKey, err)
	}
	return added, nil
}

// dedupLive reports whether the dedup bucket holds key unexpired at now
// (µs). An expired key not swept yet counts as absent.
func (s *Store) dedupLive(key string, now int64) (live bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDedup).Get([]byte(key))
		live = v != nil && unTimeKey(v) > now
		return nil
	})
	return live, err
}

// Claim leases up to max entries to consumer; see store.Queue.
func (s *Store) Claim(ctx context.Context, consumer string, max int, wait time.Duration) ([]store.Delivery, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("embedded: claim: %w", store.ErrClosed)
	}
	if max <= 0 {
		max = 1
	}
	deadline := time.Now().Add(wait)
	for {
		if ctx.Err() != nil {
			return []store.Delivery{}, nil
		}
		// What was enqueued before this Claim is claimable once moved.
		// A move gives entries ids after every entry already moved, so
		// when max entries are ready they are the ones this claim takes
		// either way: it need not wait for the mover. (While workers
		// queue jobs, something is nearly always logged and not moved,
		// and waiting made every claim cost a move's commit too.)
		if s.in.hasUnmoved() && !s.readyHolds(max) {
			if closed, err := s.in.awaitMoved(ctx, s.done); closed {
				return nil, fmt.Errorf("embedded: claim: %w", store.ErrClosed)
			} else if err != nil {
				return nil, s.wrap("claim", err)
			}
		}
		wake := s.wakeChan()
		ds, next, again, err := s.claimOnce(consumer, max)
		if err != nil {
			return nil, err
		}
		if len(ds) > 0 {
			return ds, nil
		}
		if again {
			continue
		}
		d := time.Until(deadline)
		if d <= 0 {
			return []store.Delivery{}, nil
		}
		if !next.IsZero() {
			if untilNext := next.Sub(s.now()); untilNext < d {
				d = max64(untilNext, time.Millisecond)
			}
		}
		t := time.NewTimer(d)
		s.claimsWaiting.Add(1) // the mover moves what is logged at once
		select {
		case <-ctx.Done():
		case <-s.done:
		case <-wake:
		case <-t.C:
		}
		s.claimsWaiting.Add(-1)
		t.Stop()
		if ctx.Err() != nil {
			return []store.Delivery{}, nil
		}
		if s.closed.Load() {
			return nil, fmt.Errorf("embedded: claim: %w", store.ErrClosed)
		}
	}
}

// readyHolds reports whether n entries or more are ready. It walks at
// most n keys (QueueStats's count walks the whole bucket). A read that
// fails counts as too few, so the Claim waits for the mover as it would
// have anyway.
func (s *Store) readyHolds(n int) bool {
	held := 0
	_ = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketReady).Cursor()
		for k, _ := c.First(); k != nil && held < n; k, _ = c.Next() {
			held++
		}
		return nil
	})
	return held >= n
}

func max64(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// claimOnce claims what is available now. When nothing is, next is the
// earliest time something will be (a lease running out or a retry coming
// due), or zero if nothing is pending; again is true when something looked
// available but was gone (taken by another Claim, or dead-lettered), so
// the caller should look again rather than wait.
func (s *Store) claimOnce(consumer string, max int) (ds []store.Delivery, next time.Time, again bool, err error) {
	now := micros(s.now())
	// Look first with a read-only transaction: idle consumers polling an
	// empty queue must not cost a write and an fsync each.
	var available bool
	var nextUS int64
	err = s.db.View(func(tx *bolt.Tx) error {
		available, nextUS = false, 0
		if k, _ := tx.Bucket(bucketReady).Cursor().First(); k != nil {
			available = true
			return nil
		}
		consider := func(t int64) {
			if t <= now {
				available = true
			} else if nextUS == 0 || t < nextUS {
				nextUS = t
			}
		}
		if k, _ := tx.Bucket(bucketDelayed).Cursor().First(); k != nil {
			consider(unTimeKey(k))
		}
		return tx.Bucket(bucketLeased).ForEach(func(_, v []byte) error {
			consider(unTimeKey(v))
			return nil
		})
	})
	if err != nil {
		return nil, time.Time{}, false, s.wrap("claim", err)
	}
	if !available {
		if nextUS != 0 {
			next = fromMicros(nextUS)
		}
		return nil, next, false, nil
	}

	leaseUntil := timeKey(now + s.opts.Queue.Lease.Microseconds())
	err = s.w.write(false, func(tx *bolt.Tx) error {
		ds = ds[:0]
		entries := tx.Bucket(bucketEntries)
		ready := tx.Bucket(bucketReady)
		leased := tx.Bucket(bucketLeased)
		delayed := tx.Bucket(bucketDelayed)
		// The claim's token: a counter no earlier claim had, so that a
		// settle or an Extend by an earlier claim of the same entry is
		// told apart (see held).
		claimNo, err := leased.NextSequence()
		if err != nil {
			return err
		}
		token := strconv.FormatUint(claimNo, 10)
		leaseValue := leaseRecord(leaseUntil, claimNo, consumer)

		// 1. Expired leases, oldest entry first. Collect before changing:
		// a bbolt cursor must not see its bucket modified under it.
		var expired [][]byte
		if err := leased.ForEach(func(k, v []byte) error {
			if unTimeKey(v) <= now {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range expired {
			if len(ds) >= max {
				break
			}
			r, err := decodeRecord(entries.Get(k))
			if err != nil {
				return err
			}
			r.Attempts++
			r.LastError = leaseExpired
			if r.Attempts >= s.opts.Queue.MaxAttempts {
				if err := leased.Delete(k); err != nil {
					return err
				}
				if err := kill(tx, k, r, now); err != nil {
					return err
				}
				continue
			}
			if err := putRecord(entries, k, r); err != nil {
				return err
			}
			if err := leased.Put(k, leaseValue); err != nil {
				return err
			}
			ds = append(ds, delivery(k, token, r))
		}

		// 2. Retries that came due join the ready entries, in id order.
		var due [][]byte
		c := delayed.Cursor()
		for k, _ := c.First(); k != nil && unTimeKey(k) <= now; k, _ = c.Next() {
			due = append(due, append([]byte(nil), k...))
		}
		for _, k := range due {
			if err := delayed.Delete(k); err != nil {
				return err
			}
			if err := ready.Put(k[8:], nil); err != nil {
				return err
			}
		}

		// 3. Ready entries, oldest first.
		var take [][]byte
		c = ready.Cursor()
		for k, _ := c.First(); k != nil && len(ds)+len(take) < max; k, _ = c.Next() {
			take = append(take, append([]byte(nil), k...))
		}
		for _, k := range take {
			r, err := decodeRecord(entries.Get(k))
			if err != nil {
				return err
			}
			if err := ready.Delete(k); err != nil {
				return err
			}
			if err := leased.Put(k, leaseValue); err != nil {
				return err
			}
			ds = append(ds, delivery(k, token, r))
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, false, s.wrap("claim", err)
	}
	return ds, time.Time{}, len(ds) == 0, nil
}

func delivery(k []byte, token string, r record) store.Delivery {
	return store.Delivery{Receipt: store.Receipt{ID: idString(k), Token: token}, Event: r.event(),
		Attempts: r.Attempts, LastError: r.LastError}
}

// leaseRecord is a leased bucket value: the lease's end (a timeKey), the
// claim number that is the claim's token, and the consumer (for people
// reading the file).
func leaseRecord(until []byte, claimNo uint64, consumer string) []byte {
	v := make([]byte, 0, 16+len(consumer))
	v = append(v, until...)
	v = binary.BigEndian.AppendUint64(v, claimNo)
	return append(v, consumer...)
}

// leaseClaim is the claim number of a leased bucket value; ok is false
// for a value too short to hold one. A value written before claims had
// tokens (the lease's end, then the consumer) holds none: read as one,
// a consumer name's first bytes (printable text: 2^61 or more) are far
// beyond any claim number NextSequence gives, so no receipt matches it
// and its lease runs out.
func leaseClaim(v []byte) (claimNo uint64, ok bool) {
	if len(v) < 16 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v[8:16]), true
}

func putRecord(b *bolt.Bucket, k []byte, r record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

// kill moves the entry k (already out of ready/leased/delayed) to the dead
// letters, indexed by its id.
func kill(tx *bolt.Tx, k []byte, r record, now int64) error {
	if err := tx.Bucket(bucketEntries).Delete(k); err != nil {
		return err
	}
	dead := tx.Bucket(bucketDead)
	seq, err := dead.NextSequence()
	if err != nil {
		return err
	}
	r.ID = binary.BigEndian.Uint64(k)
	r.DiedAt = now
	if err := putRecord(dead, idKey(seq), r); err != nil {
		return err
	}
	return tx.Bucket(bucketDeadIDs).Put(k, idKey(seq))
}

// held runs fn on the entry r names, inside a group-committed
// transaction, if the claim r names holds it; found is false otherwise.
// Unless keep is set (Extend), the entry leaves the leased bucket first:
// fn settles it.
func (s *Store) held(op string, r store.Receipt, keep bool, fn func(tx *bolt.Tx, k []byte) error) (found bool, err error) {
	n, ok := parseID(r.ID)
	if !ok {
		return false, nil
	}
	claimNo, err := strconv.ParseUint(r.Token, 10, 64)
	if err != nil {
		return false, nil
	}
	k := idKey(n)
	err = s.w.write(false, func(tx *bolt.Tx) error {
		found = false
		leased := tx.Bucket(bucketLeased)
		if c, ok := leaseClaim(leased.Get(k)); !ok || c != claimNo {
			// Not leased, or leased by another claim. Not an error for
			// bbolt: an error would roll back and re-run the whole batch.
			return nil
		}
		if !keep {
			if err := leased.Delete(k); err != nil {
				return err
			}
		}
		found = true
		return fn(tx, k)
	})
	if err != nil {
		return false, s.wrap(op+" "+r.ID, err)
	}
	return found, nil
}

// Ack removes a claimed entry; see store.Queue.
func (s *Store) Ack(ctx context.Context, r store.Receipt) error {
	if err := s.check(ctx, "ack"); err != nil {
		return err
	}
	found, err := s.held("ack", r, false, func(tx *bolt.Tx, k []byte) error {
		return tx.Bucket(bucketEntries).Delete(k)
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("embedded: ack %s: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

// Fail records a failed attempt; see store.Queue.
func (s *Store) Fail(ctx context.Context, r store.Receipt, cause string, retryAfter time.Duration) (bool, error) {
	if err := s.check(ctx, "fail"); err != nil {
		return false, err
	}
	now := micros(s.now())
	var dead bool
	found, err := s.held("fail", r, false, func(tx *bolt.Tx, k []byte) error {
		dead = false
		entries := tx.Bucket(bucketEntries)
		rec, err := decodeRecord(entries.Get(k))
		if err != nil {
			return err
		}
		rec.Attempts++
		rec.LastError = cause
		if rec.Attempts >= s.opts.Queue.MaxAttempts {
			dead = true
			return kill(tx, k, rec, now)
		}
		if err := putRecord(entries, k, rec); err != nil {
			return err
		}
		if retryAfter <= 0 {
			return tx.Bucket(bucketReady).Put(k, nil)
		}
		return tx.Bucket(bucketDelayed).Put(concat(timeKey(now+retryAfter.Microseconds()), k), nil)
	})
	if err != nil {
		return false, err
	}
	if !found {
		return false, fmt.Errorf("embedded: fail %s: %w", r.ID, store.ErrNotFound)
	}
	if !dead {
		s.signal() // a waiting Claim recomputes its timer
	}
	return dead, nil
}

// Release gives a claimed entry back; see store.Queue.
func (s *Store) Release(ctx context.Context, r store.Receipt) error {
	if err := s.check(ctx, "release"); err != nil {
		return err
	}
	found, err := s.held("release", r, false, func(tx *bolt.Tx, k []byte) error {
		return tx.Bucket(bucketReady).Put(k, nil)
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("embedded: release %s: %w", r.ID, store.ErrNotFound)
	}
	s.signal()
	return nil
}

// Postpone gives a claimed entry back without counting an attempt,
// claimable after after; see store.Queue.
func (s *Store) Postpone(ctx context.Context, r store.Receipt, after time.Duration) error {
	if err := s.check(ctx, "postpone"); err != nil {
		return err
	}
	now := micros(s.now())
	found, err := s.held("postpone", r, false, func(tx *bolt.Tx, k []byte) error {
		if after <= 0 {
			return tx.Bucket(bucketReady).Put(k, nil)
		}
		return tx.Bucket(bucketDelayed).Put(concat(timeKey(now+after.Microseconds()), k), nil)
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("embedded: postpone %s: %w", r.ID, store.ErrNotFound)
	}
	s.signal() // a waiting Claim recomputes its timer
	return nil
}

// Extend renews the lease of the claim r names; see store.Queue.
func (s *Store) Extend(ctx context.Context, r store.Receipt) error {
	if err := s.check(ctx, "extend"); err != nil {
		return err
	}
	until := timeKey(micros(s.now()) + s.opts.Queue.Lease.Microseconds())
	found, err := s.held("extend", r, true, func(tx *bolt.Tx, k []byte) error {
		leased := tx.Bucket(bucketLeased)
		v := leased.Get(k)
		return leased.Put(k, concat(until, v[8:]))
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("embedded: extend %s: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

// QueueStats counts entries by state. Entries waiting for a retry, a
// Postpone or their NotBefore count as ready, and so do entries in the
// ingress log not yet moved.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	if err := s.check(ctx, "queue stats"); err != nil {
		return store.QueueStats{}, err
	}
	var st store.QueueStats
	// Under the log's lock the mover cannot forget what it moved, so an
	// entry is counted either from the log (past the position the
	// transaction sees moved) or from the buckets, never both or neither.
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	err := s.db.View(func(tx *bolt.Tx) error {
		unmoved := s.in.countUnmoved(parseWALPos(tx.Bucket(bucketMeta).Get(metaWALMoved)))
		st.Ready = int64(tx.Bucket(bucketReady).Stats().KeyN+tx.Bucket(bucketDelayed).Stats().KeyN) + int64(unmoved)
		st.Leased = int64(tx.Bucket(bucketLeased).Stats().KeyN)
		st.Dead = int64(tx.Bucket(bucketDead).Stats().KeyN)
		return nil
	})
	if err != nil {
		return store.QueueStats{}, s.wrap("queue stats", err)
	}
	return st, nil
}
