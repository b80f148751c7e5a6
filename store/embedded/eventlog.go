package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// AppendEventLog adds e unless its DedupKey is already logged; see
// store.EventLog.
func (s *Store) AppendEventLog(ctx context.Context, e store.LogEntry) error {
	if err := s.check(ctx, "append event log"); err != nil {
		return err
	}
	if e.DedupKey == "" {
		return errors.New("embedded: append event log: empty dedup key")
	}
	value, err := e.MarshalJSON() // as json.Marshal(e), without compacting it again
	if err != nil {
		return fmt.Errorf("embedded: append event log %s: %w", e.DedupKey, err)
	}
	at := timeKey(micros(e.ReceivedAt))
	err = s.w.write(false, func(tx *bolt.Tx) error {
		dedup := tx.Bucket(bucketLogDedup)
		dk := []byte(e.DedupKey)
		if dedup.Get(dk) != nil {
			return nil
		}
		log := tx.Bucket(bucketLog)
		seq, err := log.NextSequence()
		if err != nil {
			return err
		}
		// received_at ‖ sequence: newest last, ties in append order.
		k := concat(at, idKey(seq))
		if err := log.Put(k, value); err != nil {
			return err
		}
		if err := dedup.Put(dk, k); err != nil {
			return err
		}
		if e.Kind == "" {
			return nil // "" lists everything; no index needed
		}
		kind, err := tx.Bucket(bucketLogKind).CreateBucketIfNotExists([]byte(e.Kind))
		if err != nil {
			return err
		}
		return kind.Put(k, nil)
	})
	if err != nil {
		return s.wrap("append event log "+e.DedupKey, err)
	}
	return nil
}

// ListEventLog returns a page of entries, newest first; see
// store.EventLog. Entries are keyed received_at ‖ sequence, so the
// cursor is the key of the page's last entry and the next page starts
// below it.
func (s *Store) ListEventLog(ctx context.Context, kind string, p store.Page) ([]store.LogEntry, string, error) {
	if err := s.check(ctx, "list event log"); err != nil {
		return nil, "", err
	}
	before, err := purge.ParseCursor(store.RecordEventLog, p.Cursor)
	if err != nil || (before != nil && len(before) != logKeyLen) {
		return nil, "", fmt.Errorf("embedded: list event log: %w", store.ErrInvalidCursor)
	}
	size := p.Size()
	out := []store.LogEntry{}
	var next string
	err = s.db.View(func(tx *bolt.Tx) error {
		log := tx.Bucket(bucketLog)
		index := log
		if kind != "" {
			index = tx.Bucket(bucketLogKind).Bucket([]byte(kind))
			if index == nil {
				return nil
			}
		}
		c := index.Cursor()
		var k []byte
		switch {
		case before == nil:
			k, _ = c.Last()
		default:
			// The greatest key below the cursor's.
			if k, _ = c.Seek(before); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		var last []byte
		for ; k != nil; k, _ = c.Prev() {
			if len(out) == size {
				next = purge.Cursor(store.RecordEventLog, last)
				return nil
			}
			v := log.Get(k)
			if v == nil {
				continue
			}
			var e store.LogEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode log entry: %w", err)
			}
			out = append(out, e)
			last = slices.Clone(k)
		}
		return nil
	})
	if err != nil {
		return nil, "", s.wrap("list event log", err)
	}
	return out, next, nil
}

// logKeyLen is the length of an event log key: received_at ‖ sequence.
const logKeyLen = 16
