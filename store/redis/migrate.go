package redis

import (
	"context"
	"fmt"
	"time"
)

// Indexes added after the first release are built, once, for the data
// written before them; …:migrated records each that is done:
//
//	…:migrated   hash  migration name → when it was done (RFC 3339)
func (k keys) migrated() string { return k.prefix + "migrated" }

// migrations names what indexOldClaims and indexDeadLetters record in
// …:migrated once done.
const (
	migratedClaims = "claimsat"
	migratedDead   = "deadidx"
)

// migrate builds the indexes added after the first release for the data
// written before them (see indexDeadLetters and indexOldClaims). Only a
// failure to index the dead letters fails it.
func (s *Store) migrate(ctx context.Context) error {
	// Open calls it before it makes the events stream: a namespace
	// without one has never been used, and has nothing to index.
	used, err := s.client.Exists(ctx, s.k.events).Result()
	if err != nil {
		return fmt.Errorf("look for an events stream: %w", s.redact(err))
	}
	if used == 0 {
		now := time.Now().UTC().Format(time.RFC3339)
		if err := s.client.HSet(ctx, s.k.migrated(), migratedDead, now, migratedClaims, now).Err(); err != nil {
			return fmt.Errorf("record migrations: %w", s.redact(err))
		}
		return nil
	}
	if err := s.indexDeadLetters(ctx); err != nil {
		return fmt.Errorf("index dead letters: %w", s.redact(err))
	}
	// Claims are found with SCAN, which a managed Redis may refuse:
	// then they stay unindexed (kept) until an Open that can, and the
	// store works on.
	n, err := s.indexOldClaims(ctx, time.Now())
	if err != nil {
		s.log.Warn("redis store: could not index the recipient claims made before claim times were kept; "+
			"retention keeps them until a later start can", "err", s.redact(err))
		return nil
	}
	if n > 0 {
		s.log.Info("redis store: recipient claims made before claim times were kept now count from today", "claims", n)
	}
	return nil
}
