package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// --- consents ---

// PutConsent stores c, replacing the pair's record and moving it in the
// status index; see store.Consents. An empty Status is stored as unknown.
func (s *Store) PutConsent(ctx context.Context, c policy.Consent) error {
	op := "put consent (" + c.UserID + ", " + c.ExternalUserID + ")"
	if err := s.check(ctx, op); err != nil {
		return err
	}
	c, err := index.NewConsent(c)
	if err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	key := index.ConsentKey(c.UserID, c.ExternalUserID)
	err = s.w.write(false, func(tx *bolt.Tx) error {
		consents, byStatus := tx.Bucket(bucketConsents), tx.Bucket(bucketConsentByStatus)
		if old := consents.Get(key); old != nil {
			var o policy.Consent
			if err := json.Unmarshal(old, &o); err != nil {
				return fmt.Errorf("decode consent: %w", err)
			}
			if o.Status != c.Status {
				if err := byStatus.Delete(index.Entry(string(o.Status), key)); err != nil {
					return err
				}
			}
		}
		if err := consents.Put(key, v); err != nil {
			return err
		}
		return byStatus.Put(index.Entry(string(c.Status), key), nil)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// GetConsent returns a pair's record, or store.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, externalUserID string) (policy.Consent, error) {
	return getRecord[policy.Consent](ctx, s, "get consent ("+userID+", "+externalUserID+")",
		bucketConsents, index.ConsentKey(userID, externalUserID))
}

// ListConsents returns a page of matching records in (UserID,
// ExternalUserID) order, from the status index when f names a status; see
// store.Consents.
func (s *Store) ListConsents(ctx context.Context, f store.ConsentFilter, p store.Page) ([]policy.Consent, string, error) {
	if err := s.check(ctx, "list consents"); err != nil {
		return nil, "", err
	}
	sc, err := index.ConsentScan(f, p)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: list consents: %w", err)
	}
	idx := bucketConsents
	if sc.Index == index.ByStatus {
		idx = bucketConsentByStatus
	}
	var items []policy.Consent
	var next string
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		items, next, err = list(tx, idx, bucketConsents, sc, func(v []byte) (policy.Consent, bool, error) {
			var c policy.Consent
			if err := json.Unmarshal(v, &c); err != nil {
				return c, false, fmt.Errorf("decode consent: %w", err)
			}
			return c, index.MatchConsent(f, c), nil
		})
		return err
	})
	if err != nil {
		return nil, "", s.wrap("list consents", err)
	}
	return items, next, nil
}

// --- people ---

// PutPerson stores p, replacing the record of p.UserID; see store.People.
func (s *Store) PutPerson(ctx context.Context, p policy.Person) error {
	op := "put person " + p.UserID
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if err := index.CheckPerson(p); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	err = s.w.write(false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeople).Put([]byte(p.UserID), v)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// GetPerson returns a member, or store.ErrNotFound.
func (s *Store) GetPerson(ctx context.Context, userID string) (policy.Person, error) {
	return getRecord[policy.Person](ctx, s, "get person "+userID, bucketPeople, []byte(userID))
}

// GetPeople returns the records of those of userIDs that are known, in
// UserID order, with one read each in one read transaction; see
// store.People.
func (s *Store) GetPeople(ctx context.Context, userIDs []string) ([]policy.Person, error) {
	return getRecords[policy.Person](ctx, s, "get people", bucketPeople, userIDs, func(u string) []byte { return []byte(u) })
}

// DeletePerson removes a member's record; see store.People.
func (s *Store) DeletePerson(ctx context.Context, userID string) error {
	op := "delete person " + userID
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if userID == "" {
		return nil
	}
	err := s.w.write(false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeople).Delete([]byte(userID))
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// ListPeople returns a page of members in UserID order; see store.People.
func (s *Store) ListPeople(ctx context.Context, p store.Page) ([]policy.Person, string, error) {
	if err := s.check(ctx, "list people"); err != nil {
		return nil, "", err
	}
	sc, err := index.PeopleScan(p)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: list people: %w", err)
	}
	var items []policy.Person
	var next string
	err = s.db.View(func(tx *bolt.Tx) (err error) {
		items, next, err = list(tx, bucketPeople, bucketPeople, sc, func(v []byte) (policy.Person, bool, error) {
			var p policy.Person
			if err := json.Unmarshal(v, &p); err != nil {
				return p, false, fmt.Errorf("decode person: %w", err)
			}
			return p, true, nil
		})
		return err
	})
	if err != nil {
		return nil, "", s.wrap("list people", err)
	}
	return items, next, nil
}

// getJSON decodes the value at key in b (nil: a bucket not created yet)
// into a T; ok is false when there is none.
func getJSON[T any](b *bolt.Bucket, key []byte) (v T, ok bool, err error) {
	if b == nil {
		return v, false, nil
	}
	raw := b.Get(key)
	if raw == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, true, nil
}

// getRecord reads the JSON record at key in bucket in a read
// transaction, for the store's Get methods: store.ErrNotFound when there
// is none.
func getRecord[T any](ctx context.Context, s *Store, op string, bucket, key []byte) (T, error) {
	var zero T
	if err := s.check(ctx, op); err != nil {
		return zero, err
	}
	var v T
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, ok, err = getJSON[T](tx.Bucket(bucket), key)
		return err
	})
	if err != nil {
		return zero, s.wrap(op, err)
	}
	if !ok {
		return zero, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return v, nil
}

// getRecords reads the records of bucket whose ids are ids (sorted, once
// each; key makes an id's key), in one read transaction, and returns
// those that exist, in id order.
func getRecords[T any](ctx context.Context, s *Store, op string, bucket []byte, ids []string, key func(string) []byte) ([]T, error) {
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	out := []T{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
			v, ok, err := getJSON[T](b, key(id))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}
