package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive"
)

// PutDataKey stores k; archive.ErrExists if (k.Day, k.ID) has a key.
func (s *Store) PutDataKey(ctx context.Context, k archive.DataKey) error {
	if err := s.check(); err != nil {
		return err
	}
	if k.Day == "" || k.ID == "" {
		return fmt.Errorf("archive/postgres: put data key: day %q and id %q must not be empty", k.Day, k.ID)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO archive_data_keys (day, id, master_id, wrapped, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, k.Day, k.ID, k.MasterID, nonNil(k.Wrapped), k.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("archive/postgres: put data key %s/%s: %w", k.Day, k.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("archive/postgres: put data key %s/%s: %w", k.Day, k.ID, archive.ErrExists)
	}
	return nil
}

// GetDataKey returns the key (day, id), or archive.ErrNotFound.
func (s *Store) GetDataKey(ctx context.Context, day, id string) (archive.DataKey, error) {
	if err := s.check(); err != nil {
		return archive.DataKey{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT day, id, master_id, wrapped, created_at FROM archive_data_keys
		WHERE day = $1 AND id = $2`, day, id)
	if err != nil {
		return archive.DataKey{}, fmt.Errorf("archive/postgres: data key %s/%s: %w", day, id, err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, scanDataKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return archive.DataKey{}, fmt.Errorf("archive/postgres: data key %s/%s: %w", day, id, archive.ErrNotFound)
	}
	if err != nil {
		return archive.DataKey{}, fmt.Errorf("archive/postgres: data key %s/%s: %w", day, id, err)
	}
	return k, nil
}

// ListDataKeys returns every key, by day then id.
func (s *Store) ListDataKeys(ctx context.Context) ([]archive.DataKey, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT day, id, master_id, wrapped, created_at FROM archive_data_keys ORDER BY day, id`)
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: list data keys: %w", err)
	}
	ks, err := pgx.CollectRows(rows, scanDataKey)
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: list data keys: %w", err)
	}
	return ks, nil
}

func scanDataKey(row pgx.CollectableRow) (archive.DataKey, error) {
	var k archive.DataKey
	err := row.Scan(&k.Day, &k.ID, &k.MasterID, &k.Wrapped, &k.CreatedAt)
	k.CreatedAt = k.CreatedAt.UTC()
	return k, err
}

// RewrapDataKeys replaces MasterID and Wrapped of the keys that still
// exist, all in one transaction.
func (s *Store) RewrapDataKeys(ctx context.Context, ks []archive.DataKey) error {
	if err := s.check(); err != nil {
		return err
	}
	if len(ks) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, k := range ks {
			b.Queue(`UPDATE archive_data_keys SET master_id = $3, wrapped = $4 WHERE day = $1 AND id = $2`,
				k.Day, k.ID, k.MasterID, nonNil(k.Wrapped))
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("archive/postgres: rewrap %d data keys: %w", len(ks), err)
	}
	return nil
}

// nonNil makes a nil slice an empty one (the column is NOT NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
