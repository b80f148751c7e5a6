package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/auditlog"
)

var headKey = []byte("head")

// readHead returns the head record; ok is false if nothing was appended.
func readHead(tx *bolt.Tx) (h auditlog.Head, ok bool, err error) {
	v := tx.Bucket(bucketAuditMeta).Get(headKey)
	if v == nil {
		return h, false, nil
	}
	if len(v) < 8 {
		return h, false, errors.New("malformed audit head")
	}
	return auditlog.Head{Seq: binary.BigEndian.Uint64(v), Hash: string(v[8:])}, true, nil
}

// AppendAudit appends e unless its ID is in the log; see store.Audit.
// Appends are serialised by bbolt's single writer: one transaction reads
// the head, stores the entry under the next Seq, indexes its ID and moves
// the head. Data is stored (and hashed) compacted.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	op := "append audit entry " + e.ID
	if err := s.check(ctx, op); err != nil {
		return store.AuditEntry{}, err
	}
	e, err := auditlog.Normalize(e)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("embedded: %s: %w", op, err)
	}
	var out store.AuditEntry
	err = s.w.write(false, func(tx *bolt.Tx) error {
		entries, ids := tx.Bucket(bucketAudit), tx.Bucket(bucketAuditIDs)
		if seq := ids.Get([]byte(e.ID)); seq != nil {
			v := entries.Get(seq)
			if v == nil {
				return fmt.Errorf("the entry of id %s is missing from the log", e.ID)
			}
			var err error
			out, err = auditlog.Unmarshal(v)
			return err
		}
		head, _, err := readHead(tx)
		if err != nil {
			return err
		}
		out = auditlog.Seal(e, head.Seq, head.Hash)
		v, err := auditlog.Marshal(out)
		if err != nil {
			return err
		}
		seq := idKey(out.Seq)
		if err := entries.Put(seq, v); err != nil {
			return err
		}
		if err := ids.Put([]byte(out.ID), seq); err != nil {
			return err
		}
		return tx.Bucket(bucketAuditMeta).Put(headKey, concat(seq, []byte(out.Hash)))
	})
	if err != nil {
		return store.AuditEntry{}, s.wrap(op, err)
	}
	return out, nil
}

// ListAudit returns up to limit entries after Seq after, in order; see
// store.Audit.
func (s *Store) ListAudit(ctx context.Context, after uint64, limit int) ([]store.AuditEntry, error) {
	if err := s.check(ctx, "list audit"); err != nil {
		return nil, err
	}
	out := []store.AuditEntry{}
	if limit <= 0 || after == ^uint64(0) {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(idKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, err := auditlog.Unmarshal(v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("list audit", err)
	}
	return out, nil
}

// VerifyAudit walks the log in Seq order, auditlog.VerifyPage entries to
// a read transaction, and checks every entry and link; see store.Audit.
func (s *Store) VerifyAudit(ctx context.Context) (store.AuditReport, error) {
	if err := s.check(ctx, "verify audit"); err != nil {
		return store.AuditReport{}, err
	}
	var v *auditlog.Verifier
	var next []byte // the key to read from
	for {
		if err := ctx.Err(); err != nil {
			return store.AuditReport{}, fmt.Errorf("embedded: verify audit: %w", err)
		}
		n := 0
		err := s.db.View(func(tx *bolt.Tx) error {
			if v == nil {
				head, ok, err := readHead(tx)
				if err != nil {
					return err
				}
				v = auditlog.NewVerifier(head, ok)
			}
			c := tx.Bucket(bucketAudit).Cursor()
			k, val := c.First()
			if next != nil {
				k, val = c.Seek(next)
			}
			for ; k != nil && n < auditlog.VerifyPage; k, val = c.Next() {
				n++
				next = append(append(next[:0], k...), 0) // the smallest key after k
				if len(k) != 8 {
					v.Add(0, store.AuditEntry{}, fmt.Errorf("malformed key %x", k))
					continue
				}
				e, err := auditlog.Unmarshal(val)
				v.Add(binary.BigEndian.Uint64(k), e, err)
			}
			return nil
		})
		if err != nil {
			return store.AuditReport{}, s.wrap("verify audit", err)
		}
		if n < auditlog.VerifyPage {
			return v.Report(), nil
		}
	}
}
