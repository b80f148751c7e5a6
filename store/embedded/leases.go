package embedded

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AcquireLease takes lease name for holder until ttl from now (the
// injected clock); see store.Leases.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	op := "acquire lease " + name
	if err := s.check(ctx, op); err != nil {
		return false, err
	}
	if name == "" || holder == "" || ttl <= 0 {
		return false, fmt.Errorf("embedded: %s: want a name, a holder and a positive ttl", op)
	}
	var held bool
	err := s.w.write(false, func(tx *bolt.Tx) error {
		held = false
		now := micros(s.now())
		key := []byte(name)
		cur, _, ok, err := getExpiring(tx, tagLease, key, now)
		if err != nil {
			return err
		}
		if ok && string(cur) != holder {
			return nil
		}
		if err := putExpiring(tx, tagLease, key, now+ttl.Microseconds(), []byte(holder)); err != nil {
			return err
		}
		held = true
		return nil
	})
	if err != nil {
		return false, s.wrap(op, err)
	}
	return held, nil
}

// ReleaseLease frees name if holder holds it; see store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	op := "release lease " + name
	if err := s.check(ctx, op); err != nil {
		return err
	}
	err := s.w.write(false, func(tx *bolt.Tx) error {
		key := []byte(name)
		cur, _, ok, err := getExpiring(tx, tagLease, key, micros(s.now()))
		if err != nil || !ok || string(cur) != holder {
			return err
		}
		return deleteExpiring(tx, tagLease, key)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// GetToken returns app's cached token; see store.Tokens.
func (s *Store) GetToken(ctx context.Context, app string) (string, time.Time, error) {
	op := "get token of " + app
	if err := s.check(ctx, op); err != nil {
		return "", time.Time{}, err
	}
	var value string
	var exp int64
	err := s.db.View(func(tx *bolt.Tx) error {
		v, e, ok, err := getExpiring(tx, tagToken, []byte(app), micros(s.now()))
		if err != nil || !ok {
			return err
		}
		value, exp = string(v), e
		return nil
	})
	if err != nil {
		return "", time.Time{}, s.wrap(op, err)
	}
	if value == "" {
		return "", time.Time{}, nil
	}
	return value, fromMicros(exp), nil
}

// PutToken caches value for app until expiresAt (kept to the millisecond,
// as in the Redis backend); a token already expired is not cached, and
// removes the one cached. See store.Tokens.
func (s *Store) PutToken(ctx context.Context, app, value string, expiresAt time.Time) error {
	op := "put token of " + app
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if value == "" {
		return errors.New("embedded: " + op + ": empty token")
	}
	exp := expiresAt.UnixMilli() * 1000
	err := s.w.write(false, func(tx *bolt.Tx) error {
		key := []byte(app)
		if exp <= micros(s.now()) {
			return deleteExpiring(tx, tagToken, key)
		}
		return putExpiring(tx, tagToken, key, exp, []byte(value))
	})
	if err != nil {
		return s.wrap(op, err) // bbolt's errors never quote a value
	}
	return nil
}

// DeleteToken removes app's cached token if it is still value; see
// store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, app, value string) error {
	op := "delete token of " + app
	if err := s.check(ctx, op); err != nil {
		return err
	}
	err := s.w.write(false, func(tx *bolt.Tx) error {
		key := []byte(app)
		cur, _, ok, err := getExpiring(tx, tagToken, key, micros(s.now()))
		if err != nil || !ok || string(cur) != value {
			return err
		}
		return deleteExpiring(tx, tagToken, key)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}
