package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// list reads one page of sc: from the bucket idx, whose entries name
// records of the bucket prim by primary key (idx is prim itself for the
// primary index). keep decodes a record and says whether the filter
// selects it.
func list[T any](tx *bolt.Tx, idx, prim []byte, sc index.Scan, keep func(v []byte) (T, bool, error)) ([]T, string, error) {
	ib, pb := tx.Bucket(idx), tx.Bucket(prim)
	// Grown as read: most reads are one person's few records.
	out := []T{}
	var last []byte // the primary key of out's last item
	start, exclusive := sc.Start()
	c := ib.Cursor()
	k, v := c.Seek(start)
	if exclusive && k != nil && bytes.Equal(k, start) {
		k, v = c.Next()
	}
	for ; k != nil && sc.InRange(k); k, v = c.Next() {
		pk := sc.PrimaryKey(k)
		if sc.Index != index.Primary {
			if v = pb.Get(pk); v == nil {
				return nil, "", fmt.Errorf("index %s names a missing record", idx)
			}
		}
		item, ok, err := keep(v)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		if len(out) == sc.Limit {
			return out, index.Cursor(last), nil
		}
		out = append(out, item)
		last = append(last[:0], pk...)
	}
	return out, "", nil
}

// countKey is the key of a notice version's counter of status.
func countKey(noticeID string, version int, status policy.ObligationStatus) []byte {
	return index.AppendString(countPrefix(noticeID, version), string(status))
}

func countPrefix(noticeID string, version int) []byte {
	return index.AppendInt(index.AppendString(nil, noticeID), int64(version))
}

// addCount adds d to a notice version's counter of status.
func addCount(tx *bolt.Tx, o policy.Obligation, status policy.ObligationStatus, d int64) error {
	b := tx.Bucket(bucketOblCount)
	k := countKey(o.NoticeID, o.Version, status)
	var n int64
	if v := b.Get(k); v != nil {
		if len(v) != 8 {
			return fmt.Errorf("malformed obligation counter of %d bytes", len(v))
		}
		n = int64(binary.BigEndian.Uint64(v))
	}
	if n += d; n <= 0 {
		return b.Delete(k)
	}
	return b.Put(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// putObligation writes o, whose stored record was old (nil if there was
// none), and keeps its indexes (the due index too) and counters.
func (s *Store) putObligation(tx *bolt.Tx, old *policy.Obligation, o policy.Obligation) error {
	v, err := json.Marshal(o)
	if err != nil {
		return err
	}
	key := index.KeyOf(o)
	if err := tx.Bucket(bucketObligations).Put(key, v); err != nil {
		return err
	}
	if err := s.keepDue(tx, old, &o); err != nil {
		return err
	}
	if old == nil {
		if err := tx.Bucket(bucketOblByUser).Put(index.Entry(o.UserID, key), nil); err != nil {
			return err
		}
	}
	if old != nil && old.Status == o.Status {
		return nil
	}
	byStatus := tx.Bucket(bucketOblByStatus)
	if old != nil {
		if err := byStatus.Delete(index.Entry(string(old.Status), key)); err != nil {
			return err
		}
		if err := addCount(tx, o, old.Status, -1); err != nil {
			return err
		}
	}
	if err := byStatus.Put(index.Entry(string(o.Status), key), nil); err != nil {
		return err
	}
	return addCount(tx, o, o.Status, 1)
}

// deleteObligationIndexes removes a purged obligation from the user,
// status and due indexes and its notice version's counter
// (putObligation's writes, but the record's own).
func (s *Store) deleteObligationIndexes(tx *bolt.Tx, o policy.Obligation) error {
	key := index.KeyOf(o)
	if err := s.keepDue(tx, &o, nil); err != nil {
		return err
	}
	if err := tx.Bucket(bucketOblByUser).Delete(index.Entry(o.UserID, key)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketOblByStatus).Delete(index.Entry(string(o.Status), key)); err != nil {
		return err
	}
	return addCount(tx, o, o.Status, -1)
}

// sameJSON reports whether a and b are stored alike.
func sameJSON(a, b any) (bool, error) {
	va, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	vb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(va, vb), nil
}

// getObligation reads a stored obligation; ok is false if there is none.
func getObligation(tx *bolt.Tx, key []byte) (o policy.Obligation, ok bool, err error) {
	return getJSON[policy.Obligation](tx.Bucket(bucketObligations), key)
}

func obligationOp(verb, userID, noticeID string, version int) string {
	return verb + " obligation (" + userID + ", " + noticeID + ", " + strconv.Itoa(version) + ")"
}

// CreateObligation stores o unless its identity exists; see
// store.Obligations. An empty Status is stored as pending.
func (s *Store) CreateObligation(ctx context.Context, o policy.Obligation) (bool, error) {
	op := obligationOp("create", o.UserID, o.NoticeID, o.Version)
	if err := s.check(ctx, op); err != nil {
		return false, err
	}
	o, err := index.NewObligation(o)
	if err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	key := index.KeyOf(o)
	var created bool
	err = s.w.write(false, func(tx *bolt.Tx) error {
		created = false
		if tx.Bucket(bucketObligations).Get(key) != nil {
			return nil
		}
		created = true
		return s.putObligation(tx, nil, o)
	})
	if err != nil {
		return false, s.wrap(op, err)
	}
	return created, nil
}

// CloseObligation closes an open obligation; see store.Obligations.
// status must be superseded or cancelled; at becomes its ClosedAt.
func (s *Store) CloseObligation(ctx context.Context, userID, noticeID string, version int, status policy.ObligationStatus, reason policy.Reason, at time.Time) (bool, error) {
	op := obligationOp("close", userID, noticeID, version)
	if err := s.check(ctx, op); err != nil {
		return false, err
	}
	if err := index.CheckClose(status); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	key := index.ObligationKey(noticeID, version, userID)
	var found, changed bool
	err := s.w.write(false, func(tx *bolt.Tx) error {
		found, changed = false, false
		old, ok, err := getObligation(tx, key)
		if err != nil || !ok {
			return err
		}
		found = true
		o, open := index.Close(old, status, reason, at)
		if !open {
			return nil
		}
		changed = true
		return s.putObligation(tx, &old, o)
	})
	if err != nil {
		return false, s.wrap(op, err)
	}
	if !found {
		return false, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return changed, nil
}

// UpdateObligation changes one obligation in one write transaction; see
// store.Obligations. fn runs inside the transaction, which it shares with
// other writers: it must be quick and do no I/O. An error from fn is
// returned as it is, wrapped.
func (s *Store) UpdateObligation(ctx context.Context, userID, noticeID string, version int, fn func(policy.Obligation) (policy.Obligation, error)) error {
	op := obligationOp("update", userID, noticeID, version)
	if err := s.check(ctx, op); err != nil {
		return err
	}
	key := index.ObligationKey(noticeID, version, userID)
	var found bool
	var fnErr error // nothing written: no need to fail the transaction
	err := s.w.write(false, func(tx *bolt.Tx) (err error) {
		found, fnErr, err = s.updateInTx(tx, key, fn)
		return err
	})
	switch {
	case err != nil:
		return s.wrap(op, err)
	case !found:
		return fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	case fnErr != nil:
		return fmt.Errorf("embedded: %s: %w", op, fnErr)
	}
	return nil
}

// updateInTx is an update of the obligation stored at key, in tx: it
// calls fn on it and writes the result if it changed. found is false if
// there is none; fnErr is fn's error (or CheckUpdate's), and then nothing
// is written; err is the store's.
func (s *Store) updateInTx(tx *bolt.Tx, key []byte, fn func(policy.Obligation) (policy.Obligation, error)) (found bool, fnErr, err error) {
	old, ok, err := getObligation(tx, key)
	if err != nil || !ok {
		return false, nil, err
	}
	o, fnErr := fn(old)
	if fnErr == nil {
		fnErr = index.CheckUpdate(old, o)
	}
	if fnErr != nil {
		return true, fnErr, nil
	}
	if same, err := sameJSON(old, o); err != nil || same {
		return true, nil, err
	}
	return true, nil, s.putObligation(tx, &old, o)
}

// errUpdateFailed stops an UpdateObligations transaction whose function
// failed for one obligation, so that none of its batch is written.
var errUpdateFailed = errors.New("update function failed")

// UpdateObligations changes many obligations, index.UpdateBatch of them
// in one write transaction (one fsync); see store.Obligations. Repeated
// keys are updated once. fn runs inside the transaction, which it shares
// with other writers: it must be quick and do no I/O. If fn fails (or
// changes an identity) for one obligation, that error is returned,
// wrapped and naming the obligation, and nothing of its batch is written;
// earlier batches stay written (calling again with the same fn is the
// way to finish, as fn must allow anyway).
func (s *Store) UpdateObligations(ctx context.Context, keys []store.ObligationKey, fn func(policy.Obligation) (policy.Obligation, error)) error {
	const op = "update obligations"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	keys = index.UniqueKeys(keys)
	for start := 0; start < len(keys); start += index.UpdateBatch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("embedded: %s: %w", op, err)
		}
		batch := keys[start:min(start+index.UpdateBatch, len(keys))]
		var failed store.ObligationKey
		var fnErr error
		err := s.w.write(false, func(tx *bolt.Tx) error {
			fnErr = nil
			for _, k := range batch {
				_, ferr, err := s.updateInTx(tx, index.ObligationKey(k.NoticeID, k.Version, k.UserID), fn)
				if err != nil {
					return err
				}
				if ferr != nil {
					failed, fnErr = k, ferr
					return errUpdateFailed
				}
			}
			return nil
		})
		switch {
		case fnErr != nil && errors.Is(err, errUpdateFailed):
			return fmt.Errorf("embedded: %s: %w", obligationOp("update", failed.UserID, failed.NoticeID, failed.Version), fnErr)
		case err != nil:
			return s.wrap(op, err)
		}
	}
	return nil
}

// GetObligation returns one obligation, or store.ErrNotFound.
func (s *Store) GetObligation(ctx context.Context, userID, noticeID string, version int) (policy.Obligation, error) {
	op := obligationOp("get", userID, noticeID, version)
	if err := s.check(ctx, op); err != nil {
		return policy.Obligation{}, err
	}
	var o policy.Obligation
	var found bool
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		o, found, err = getObligation(tx, index.ObligationKey(noticeID, version, userID))
		return err
	})
	if err != nil {
		return policy.Obligation{}, s.wrap(op, err)
	}
	if !found {
		return policy.Obligation{}, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return o, nil
}

// ListObligations returns a page of matching obligations in (NoticeID,
// Version, UserID) order, from the index that serves f (see
// index.ObligationScan); see store.Obligations.
func (s *Store) ListObligations(ctx context.Context, f store.ObligationFilter, p store.Page) ([]policy.Obligation, string, error) {
	if err := s.check(ctx, "list obligations"); err != nil {
		return nil, "", err
	}
	sc, err := index.ObligationScan(f, p)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: list obligations: %w", err)
	}
	idx := map[index.Index][]byte{index.Primary: bucketObligations, index.ByUser: bucketOblByUser, index.ByStatus: bucketOblByStatus}[sc.Index]
	var items []policy.Obligation
	var next string
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		items, next, err = list(tx, idx, bucketObligations, sc, func(v []byte) (policy.Obligation, bool, error) {
			var o policy.Obligation
			if err := json.Unmarshal(v, &o); err != nil {
				return o, false, fmt.Errorf("decode obligation: %w", err)
			}
			return o, index.MatchObligation(f, o), nil
		})
		return err
	})
	if err != nil {
		return nil, "", s.wrap("list obligations", err)
	}
	return items, next, nil
}

// CountObligations counts a notice version's obligations by status from
// its counters (a handful of keys, however many obligations); see
// store.Obligations.
func (s *Store) CountObligations(ctx context.Context, noticeID string, version int) (map[policy.ObligationStatus]int, error) {
	op := "count obligations of " + noticeID + " v" + strconv.Itoa(version)
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	out := map[policy.ObligationStatus]int{}
	prefix := countPrefix(noticeID, version)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOblCount).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			status, rest, ok := index.ReadString(k[len(prefix):])
			if !ok || len(rest) != 0 || len(v) != 8 {
				return fmt.Errorf("malformed obligation counter")
			}
			out[policy.ObligationStatus(status)] = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}

// --- attestations ---

func attestationOp(verb, userID, noticeID string, version int) string {
	return verb + " attestation (" + userID + ", " + noticeID + ", " + strconv.Itoa(version) + ")"
}

// Attest stores a unless the person's attestation of the version and
// round exists and, in the same transaction, acknowledges the obligation
// if it is open and in a's round; see store.Attestations. a.Channel must
// be card or reply (it gives the obligation's ClosedReason).
func (s *Store) Attest(ctx context.Context, a policy.Attestation) (bool, error) {
	op := attestationOp("store", a.UserID, a.NoticeID, a.Version) + " of round " + strconv.Itoa(a.Round)
	if err := s.check(ctx, op); err != nil {
		return false, err
	}
	if err := index.CheckAttestation(a); err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	v, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	key := index.AttestationKeyOf(a)
	oblKey := index.ObligationKey(a.NoticeID, a.Version, a.UserID)
	var created bool
	err = s.w.write(false, func(tx *bolt.Tx) error {
		created = false
		atts := tx.Bucket(bucketAttestations)
		if atts.Get(key) != nil {
			return nil
		}
		if err := atts.Put(key, v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAttByUser).Put(index.Entry(a.UserID, key), nil); err != nil {
			return err
		}
		created = true
		old, ok, err := getObligation(tx, oblKey)
		if err != nil || !ok {
			return err
		}
		if o, open := index.Acknowledge(old, a); open {
			return s.putObligation(tx, &old, o)
		}
		return nil
	})
	if err != nil {
		return false, s.wrap(op, err)
	}
	return created, nil
}

// GetAttestation returns a person's attestation of a notice version in
// the latest round, or store.ErrNotFound: the last key that starts with
// the obligation's key (see index.AttestationKey).
func (s *Store) GetAttestation(ctx context.Context, userID, noticeID string, version int) (policy.Attestation, error) {
	op := attestationOp("get", userID, noticeID, version)
	if err := s.check(ctx, op); err != nil {
		return policy.Attestation{}, err
	}
	var a policy.Attestation
	var found bool
	prefix := index.ObligationKey(noticeID, version, userID)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAttestations).Cursor()
		k, v := c.Seek(index.Successor(prefix))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil
		}
		found = true
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode attestation: %w", err)
		}
		return nil
	})
	if err != nil {
		return policy.Attestation{}, s.wrap(op, err)
	}
	if !found {
		return policy.Attestation{}, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return a, nil
}

// ListAttestations returns a page of matching attestations in (NoticeID,
// Version, UserID, Round) order; see store.Attestations.
func (s *Store) ListAttestations(ctx context.Context, f store.AttestationFilter, p store.Page) ([]policy.Attestation, string, error) {
	if err := s.check(ctx, "list attestations"); err != nil {
		return nil, "", err
	}
	sc, err := index.AttestationScan(f, p)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: list attestations: %w", err)
	}
	idx := bucketAttestations
	if sc.Index == index.ByUser {
		idx = bucketAttByUser
	}
	var items []policy.Attestation
	var next string
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		items, next, err = list(tx, idx, bucketAttestations, sc, func(v []byte) (policy.Attestation, bool, error) {
			var a policy.Attestation
			if err := json.Unmarshal(v, &a); err != nil {
				return a, false, fmt.Errorf("decode attestation: %w", err)
			}
			return a, index.MatchAttestation(f, a), nil
		})
		return err
	})
	if err != nil {
		return nil, "", s.wrap("list attestations", err)
	}
	return items, next, nil
}
