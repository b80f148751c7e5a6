package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
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
	value, err := json.Marshal(e)
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

// ListEventLog returns up to limit entries, newest first; see
// store.EventLog.
func (s *Store) ListEventLog(ctx context.Context, kind string, limit int) ([]store.LogEntry, error) {
	if err := s.check(ctx, "list event log"); err != nil {
		return nil, err
	}
	out := []store.LogEntry{}
	if limit <= 0 {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		log := tx.Bucket(bucketLog)
		index := log
		if kind != "" {
			index = tx.Bucket(bucketLogKind).Bucket([]byte(kind))
			if index == nil {
				return nil
			}
		}
		c := index.Cursor()
		for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
			v := log.Get(k)
			if v == nil {
				continue
			}
			var e store.LogEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode log entry: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("list event log", err)
	}
	return out, nil
}
