package embedded

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// Dead letters live in the dead bucket in order of death; deadids finds
// one by the id its entry had:
//
//	deadids   entry id → death sequence (the dead bucket's key)
//
// A store opened before deadids existed gets it filled from the dead
// bucket at Open (indexDeadLetters).

// indexDeadLetters fills deadids from the dead bucket.
func indexDeadLetters(tx *bolt.Tx) error {
	ids := tx.Bucket(bucketDeadIDs)
	return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		return ids.Put(idKey(r.ID), k)
	})
}

func deadLetter(r record) store.DeadLetter {
	return store.DeadLetter{
		ID:        strconv.FormatUint(r.ID, 10),
		Event:     r.event(),
		Attempts:  r.Attempts,
		LastError: r.LastError,
		DiedAt:    fromMicros(r.DiedAt),
	}
}

// ListDeadLetters returns dead letters in the order they died, a page at
// a time; see store.Queue. The cursor is the position in the dead
// bucket.
func (s *Store) ListDeadLetters(ctx context.Context, p store.Page) ([]store.DeadLetter, string, error) {
	if err := s.check(ctx, "list dead letters"); err != nil {
		return nil, "", err
	}
	after, err := purge.ParseCursor(store.RecordDeadLetters, p.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: list dead letters: %w", err)
	}
	limit := p.Size()
	out := []store.DeadLetter{}
	var next string
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		k, v := seekAfter(c, after)
		var last []byte
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = purge.Cursor(store.RecordDeadLetters, last)
				return nil
			}
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			out = append(out, deadLetter(r))
			last = k
		}
		return nil
	})
	if err != nil {
		return nil, "", s.wrap("list dead letters", err)
	}
	return out, next, nil
}

// deadKey is the dead bucket's key of the dead letter id, nil if there
// is none.
func deadKey(tx *bolt.Tx, id string) []byte {
	n, ok := parseID(id)
	if !ok {
		return nil
	}
	return tx.Bucket(bucketDeadIDs).Get(idKey(n))
}

// GetDeadLetter returns one dead letter; see store.Queue.
func (s *Store) GetDeadLetter(ctx context.Context, id string) (store.DeadLetter, error) {
	return s.oneDeadLetter(ctx, "get dead letter "+id, id, false)
}

// oneDeadLetter finds the dead letter id in a read transaction or, if
// take is set, takes it (takeDeadLetter) in a write transaction;
// store.ErrNotFound if there is none.
func (s *Store) oneDeadLetter(ctx context.Context, op, id string, take bool) (store.DeadLetter, error) {
	if err := s.check(ctx, op); err != nil {
		return store.DeadLetter{}, err
	}
	var d store.DeadLetter
	var found bool
	fn := func(tx *bolt.Tx) error {
		found = false
		var r record
		var err error
		if take {
			r, found, err = takeDeadLetter(tx, id)
		} else if k := deadKey(tx, id); k != nil {
			r, err = decodeRecord(tx.Bucket(bucketDead).Get(k))
			found = err == nil
		}
		if found {
			d = deadLetter(r)
		}
		return err
	}
	var err error
	if take {
		err = s.w.write(false, fn)
	} else {
		err = s.db.View(fn)
	}
	if err != nil {
		return store.DeadLetter{}, s.wrap(op, err)
	}
	if !found {
		return store.DeadLetter{}, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return d, nil
}

// takeDeadLetter removes the dead letter id from the dead bucket and its
// index in tx and returns it; ok is false if there is none.
func takeDeadLetter(tx *bolt.Tx, id string) (r record, ok bool, err error) {
	k := deadKey(tx, id)
	if k == nil {
		return record{}, false, nil
	}
	k = bytes.Clone(k) // valid only until the bucket changes
	dead := tx.Bucket(bucketDead)
	if r, err = decodeRecord(dead.Get(k)); err != nil {
		return record{}, false, err
	}
	if err := dead.Delete(k); err != nil {
		return record{}, false, err
	}
	if err := tx.Bucket(bucketDeadIDs).Delete(idKey(r.ID)); err != nil {
		return record{}, false, err
	}
	return r, true, nil
}

// RetryDeadLetter queues a dead letter again as a fresh entry, in one
// transaction; see store.Queue. The dedup bucket is not looked at.
func (s *Store) RetryDeadLetter(ctx context.Context, id string) (string, error) {
	op := "retry dead letter " + id
	if err := s.check(ctx, op); err != nil {
		return "", err
	}
	var entryID string
	err := s.w.write(false, func(tx *bolt.Tx) error {
		entryID = ""
		r, ok, err := takeDeadLetter(tx, id)
		if err != nil || !ok {
			return err
		}
		fresh := r.event()
		fresh.NotBefore = time.Time{}
		entries := tx.Bucket(bucketEntries)
		seq, err := entries.NextSequence()
		if err != nil {
			return err
		}
		k := idKey(seq)
		if err := putRecord(entries, k, newRecord(fresh)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketReady).Put(k, nil); err != nil {
			return err
		}
		entryID = idString(k)
		return nil
	})
	if err != nil {
		return "", s.wrap(op, err)
	}
	if entryID == "" {
		return "", fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	s.signal()
	return entryID, nil
}

// DropDeadLetter deletes a dead letter; see store.Queue.
func (s *Store) DropDeadLetter(ctx context.Context, id string) (store.DeadLetter, error) {
	return s.oneDeadLetter(ctx, "drop dead letter "+id, id, true)
}
