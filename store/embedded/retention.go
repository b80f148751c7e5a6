package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// Legal holds live in their own bucket, created by the first PutHold
// (so that stores opened before holds existed need no migration):
//
//	holds   hold id → Hold JSON
var bucketHolds = []byte("holds")

// PutHold stores h unless its ID exists; see store.Holds.
func (s *Store) PutHold(ctx context.Context, h store.Hold) (bool, error) {
	op := "put hold " + h.ID
	if err := s.check(ctx, op); err != nil {
		return false, err
	}
	if err := store.CheckHold(h); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	h.CreatedAt, h.ExpiresAt = h.CreatedAt.UTC(), h.ExpiresAt.UTC()
	v, err := json.Marshal(h)
	if err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var created bool
	err = s.w.write(false, func(tx *bolt.Tx) error {
		created = false
		b, err := tx.CreateBucketIfNotExists(bucketHolds)
		if err != nil {
			return err
		}
		if b.Get([]byte(h.ID)) != nil {
			return nil
		}
		created = true
		return b.Put([]byte(h.ID), v)
	})
	if err != nil {
		return false, s.wrap(op, err)
	}
	return created, nil
}

// GetHold returns one hold, or store.ErrNotFound.
func (s *Store) GetHold(ctx context.Context, id string) (store.Hold, error) {
	return getRecord[store.Hold](ctx, s, "get hold "+id, bucketHolds, []byte(id))
}

// ListHolds returns every hold in ID order; see store.Holds.
func (s *Store) ListHolds(ctx context.Context) ([]store.Hold, error) {
	if err := s.check(ctx, "list holds"); err != nil {
		return nil, err
	}
	out := []store.Hold{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketHolds)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var h store.Hold
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("decode hold: %w", err)
			}
			out = append(out, h)
			return nil
		})
	})
	if err != nil {
		return nil, s.wrap("list holds", err)
	}
	return out, nil
}

// DeleteHold releases a hold; see store.Holds.
func (s *Store) DeleteHold(ctx context.Context, id string) (store.Hold, error) {
	op := "delete hold " + id
	if err := s.check(ctx, op); err != nil {
		return store.Hold{}, err
	}
	var h store.Hold
	var found bool
	err := s.w.write(false, func(tx *bolt.Tx) (err error) {
		h, found, err = getJSON[store.Hold](tx.Bucket(bucketHolds), []byte(id))
		if err != nil || !found {
			return err
		}
		return tx.Bucket(bucketHolds).Delete([]byte(id))
	})
	if err != nil {
		return store.Hold{}, s.wrap(op, err)
	}
	if !found {
		return store.Hold{}, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return h, nil
}

// Purge deletes one batch of records past retention; see
// store.Retention. The batch is examined and deleted in one write
// transaction, so what is deleted is exactly what was examined. The
// transaction is shared with other writers (group commit): a batch of
// the default 1,000 records takes a few milliseconds (see the
// PurgeEventLog1000 benchmark). The event log and the recipient claims
// (their claimsat index) are walked in time order up to Before; the other
// kinds are walked whole, in key order, a batch at a time. Send results
// too: the results bucket is keyed by (notice key, user) and has no time
// index, so a run reads every result once, in batches, rather than every
// send keeping a second index (about a second a run per 100,000 results:
// the PurgeSendResultsKeep100000 benchmark). Dead letters are purged only
// when the last to die is past retention (youngDeadLetter).
func (s *Store) Purge(ctx context.Context, b store.PurgeBatch) (store.PurgeResult, error) {
	op := "purge " + string(b.Kind)
	if err := s.check(ctx, op); err != nil {
		return store.PurgeResult{}, err
	}
	if err := purge.Check(b); err != nil {
		return store.PurgeResult{}, fmt.Errorf("embedded: %w", err)
	}
	after, err := purge.ParseCursor(b.Kind, b.Cursor)
	if err != nil {
		return store.PurgeResult{}, fmt.Errorf("embedded: %s: %w", op, err)
	}
	limit := store.Page{Limit: b.Limit}.Size()
	var res store.PurgeResult
	err = s.w.write(false, func(tx *bolt.Tx) error {
		res = store.PurgeResult{}
		switch b.Kind {
		case store.RecordEventLog:
			return purgeEventLog(tx, b, after, limit, &res)
		case store.RecordAttestations:
			return purgeRecords(tx, bucketAttestations, b.Kind, after, limit, &res, func(key, v []byte) (purge.Verdict, error) {
				var a policy.Attestation
				if err := json.Unmarshal(v, &a); err != nil {
					return 0, fmt.Errorf("decode attestation: %w", err)
				}
				d := purge.Attestation(a, b)
				if d == purge.Delete {
					return d, tx.Bucket(bucketAttByUser).Delete(index.Entry(a.UserID, key))
				}
				return d, nil
			})
		case store.RecordConsents:
			return purgeRecords(tx, bucketConsents, b.Kind, after, limit, &res, func(key, v []byte) (purge.Verdict, error) {
				var c policy.Consent
				if err := json.Unmarshal(v, &c); err != nil {
					return 0, fmt.Errorf("decode consent: %w", err)
				}
				d := purge.Consent(c, b)
				if d == purge.Delete {
					return d, tx.Bucket(bucketConsentByStatus).Delete(index.Entry(string(c.Status), key))
				}
				return d, nil
			})
		case store.RecordObligations:
			return purgeRecords(tx, bucketObligations, b.Kind, after, limit, &res, func(_, v []byte) (purge.Verdict, error) {
				var o policy.Obligation
				if err := json.Unmarshal(v, &o); err != nil {
					return 0, fmt.Errorf("decode obligation: %w", err)
				}
				d := purge.Obligation(o, b)
				if d == purge.Delete {
					return d, s.deleteObligationIndexes(tx, o)
				}
				return d, nil
			})
		case store.RecordSendResults:
			// The results bucket is keyed by (notice key, user): a purge
			// walks all of it, a batch at a time, as attestations and
			// consents are walked (results have no index to clean).
			return purgeRecords(tx, bucketResults, b.Kind, after, limit, &res, func(_, v []byte) (purge.Verdict, error) {
				var r store.RecipientResult
				if err := json.Unmarshal(v, &r); err != nil {
					return 0, fmt.Errorf("decode send result: %w", err)
				}
				return purge.SendResult(r, b), nil
			})
		case store.RecordDeadLetters:
			if young, err := youngDeadLetter(tx, b); err != nil || young {
				return err // none is purged while one is within retention
			}
			return purgeRecords(tx, bucketDead, b.Kind, after, limit, &res, func(_, v []byte) (purge.Verdict, error) {
				r, err := decodeRecord(v)
				if err != nil {
					return 0, err
				}
				d := purge.DeadLetter(fromMicros(r.DiedAt), r.Payload, b)
				if d == purge.Delete {
					return d, tx.Bucket(bucketDeadIDs).Delete(idKey(r.ID))
				}
				return d, nil
			})
		case store.RecordRecipientClaims:
			return purgeClaims(tx, b, after, limit, &res)
		}
		return nil
	})
	if err != nil {
		return store.PurgeResult{}, s.wrap(op, err)
	}
	return res, nil
}

// youngDeadLetter reports whether the dead letter that died last died at
// or after b.Before: then no dead letter is purged (store.RecordDeadLetters).
// The dead bucket is in order of death, so that is its last record.
func youngDeadLetter(tx *bolt.Tx, b store.PurgeBatch) (bool, error) {
	_, v := tx.Bucket(bucketDead).Cursor().Last()
	if v == nil {
		return false, nil
	}
	r, err := decodeRecord(v)
	if err != nil {
		return false, err
	}
	return !fromMicros(r.DiedAt).Before(b.Before), nil
}

// seekAfter moves c to the first key after after, or to the first key
// of all if after is nil (no cursor yet), and returns it.
func seekAfter(c *bolt.Cursor, after []byte) (k, v []byte) {
	if after == nil {
		return c.First()
	}
	k, v = c.Seek(after)
	if k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	return k, v
}

// walkPast walks a bucket whose keys start with a time key (µs), for a
// purge: it calls visit for up to limit entries after the cursor key
// after, in key order, while their time is before b.Before, and returns
// the cursor of the next batch, "" once the entries left are within
// retention. visit must not change the bucket (a bbolt cursor skips keys
// then): it collects what to delete.
func walkPast(c *bolt.Cursor, b store.PurgeBatch, after []byte, limit int, visit func(k, v []byte) error) (next string, err error) {
	before := micros(b.Before)
	past := func(k []byte) bool { return len(k) >= 8 && unTimeKey(k[:8]) < before }
	k, v := seekAfter(c, after)
	var last []byte
	for n := 0; n < limit && past(k); n++ {
		if err := visit(k, v); err != nil {
			return "", err
		}
		last = append(last[:0], k...)
		k, v = c.Next()
	}
	if past(k) {
		return purge.Cursor(b.Kind, last), nil
	}
	return "", nil
}

// purgeRecords examines up to limit records of bucket after the cursor
// key, in key order; decide deletes a record's index entries and says
// what to do with it (the record itself is deleted here).
func purgeRecords(tx *bolt.Tx, bucket []byte, kind store.RecordKind, after []byte, limit int, res *store.PurgeResult, decide func(key, v []byte) (purge.Verdict, error)) error {
	b := tx.Bucket(bucket)
	c := b.Cursor()
	k, v := seekAfter(c, after)
	var keys [][]byte
	n := 0
	var last []byte
	for ; k != nil && n < limit; k, v = c.Next() {
		n++
		last = append(last[:0], k...)
		d, err := decide(k, v)
		if err != nil {
			return err
		}
		switch d {
		case purge.Held:
			res.Held++
		case purge.Delete:
			keys = append(keys, append([]byte(nil), k...))
		}
	}
	if k != nil {
		res.Next = purge.Cursor(kind, last)
	}
	// Deleting while a bbolt cursor walks the bucket skips keys; delete
	// after the walk.
	for _, key := range keys {
		if err := b.Delete(key); err != nil {
			return err
		}
	}
	res.Purged = len(keys)
	return nil
}

// purgeEventLog walks the log from the oldest entry (or after the
// cursor) until Before, deleting each entry with its dedup and kind
// index entries.
func purgeEventLog(tx *bolt.Tx, b store.PurgeBatch, after []byte, limit int, res *store.PurgeResult) error {
	log := tx.Bucket(bucketLog)
	type victim struct {
		key  []byte
		dk   string
		kind string
	}
	var victims []victim
	next, err := walkPast(log.Cursor(), b, after, limit, func(k, v []byte) error {
		var e store.LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode log entry: %w", err)
		}
		switch purge.LogEntry(e, b) {
		case purge.Held:
			res.Held++
		case purge.Delete:
			victims = append(victims, victim{bytes.Clone(k), e.DedupKey, e.Kind})
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Next = next
	dedup, kinds := tx.Bucket(bucketLogDedup), tx.Bucket(bucketLogKind)
	for _, x := range victims {
		if err := log.Delete(x.key); err != nil {
			return err
		}
		// The dedup index names this entry's key unless it was logged
		// again since (it cannot be: the dedup entry stops that), so
		// compare before deleting anyway.
		if bytes.Equal(dedup.Get([]byte(x.dk)), x.key) {
			if err := dedup.Delete([]byte(x.dk)); err != nil {
				return err
			}
		}
		if x.kind != "" {
			if kb := kinds.Bucket([]byte(x.kind)); kb != nil {
				if err := kb.Delete(x.key); err != nil {
					return err
				}
			}
		}
	}
	res.Purged = len(victims)
	return nil
}
