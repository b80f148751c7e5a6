package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// AcquireLease takes lease name for holder until ttl from now (Redis's
// clock), in one script; see store.Leases.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	op := "acquire lease " + name
	if err := s.check(op); err != nil {
		return false, err
	}
	if name == "" || holder == "" || ttl <= 0 {
		return false, fmt.Errorf("redis: %s: want a name, a holder and a positive ttl", op)
	}
	n, err := acquireLeaseScript.Run(ctx, s.client, []string{s.k.lease(name)}, holder, ceilMS(ttl)).Int()
	if err != nil {
		return false, s.wrap(op, err)
	}
	return n == 1, nil
}

// ReleaseLease frees name if holder holds it (compare and delete); see
// store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	op := "release lease " + name
	if err := s.check(op); err != nil {
		return err
	}
	if err := releaseLeaseScript.Run(ctx, s.client, []string{s.k.lease(name)}, holder).Err(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// GetToken returns app's cached token; see store.Tokens.
func (s *Store) GetToken(ctx context.Context, app string) (string, time.Time, error) {
	op := "get token of " + app
	if err := s.check(op); err != nil {
		return "", time.Time{}, err
	}
	v, err := s.client.Get(ctx, s.k.token(app)).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", time.Time{}, nil
	case err != nil:
		return "", time.Time{}, s.wrap(op, err)
	}
	expMS, value, ok := strings.Cut(v, "|")
	exp, perr := strconv.ParseInt(expMS, 10, 64)
	if !ok || perr != nil || value == "" {
		// Never quote the value: it holds the token.
		return "", time.Time{}, fmt.Errorf("redis: %s: malformed cached token", op)
	}
	if exp <= s.now().UnixMilli() {
		return "", time.Time{}, nil // expired, and Redis has not dropped it yet
	}
	return value, time.UnixMilli(exp).UTC(), nil
}

// PutToken caches value for app until expiresAt (kept to the
// millisecond); a token already expired is not cached, and removes the
// one cached. See store.Tokens. expiresAt is on the store's clock (Now):
// Redis drops the key as long after as that clock says is left.
func (s *Store) PutToken(ctx context.Context, app, value string, expiresAt time.Time) error {
	op := "put token of " + app
	if err := s.check(op); err != nil {
		return err
	}
	if value == "" {
		return errors.New("redis: " + op + ": empty token")
	}
	key := s.k.token(app)
	exp := expiresAt.UnixMilli()
	var err error
	if left := exp - s.now().UnixMilli(); left <= 0 {
		err = s.client.Del(ctx, key).Err()
	} else {
		err = s.client.Do(ctx, "SET", key, strconv.FormatInt(exp, 10)+"|"+value, "PX", left).Err()
	}
	if err != nil {
		return s.wrap(op, err) // Redis's errors never quote the arguments
	}
	return nil
}

// DeleteToken removes app's cached token if it is still value (compare
// and delete, in one script); see store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, app, value string) error {
	op := "delete token of " + app
	if err := s.check(op); err != nil {
		return err
	}
	if err := deleteTokenScript.Run(ctx, s.client, []string{s.k.token(app)}, value).Err(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}
