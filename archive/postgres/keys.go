package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wecomply/wecomply/archive"
)

// ListQuarantine lists quarantined records by seq (then msgid), a page
// at a time.
func (s *Store) ListQuarantine(ctx context.Context, cursor string, limit int) ([]archive.Quarantined, string, error) {
	if err := s.check(); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	sql := `SELECT msgid, seq, publickey_ver, encrypt_random_key, encrypt_chat_msg, reason, since, attempts
		FROM archive_quarantine`
	args := []any{}
	if cursor != "" {
		seq, id, err := decodeQuarantineCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("archive/postgres: list quarantine: %w", err)
		}
		sql += ` WHERE (seq, msgid) > ($1::numeric, $2::text)`
		args = append(args, numeric(seq), id)
	}
	sql += fmt.Sprintf(` ORDER BY seq, msgid LIMIT %d`, limit+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", fmt.Errorf("archive/postgres: list quarantine: %w", err)
	}
	defer rows.Close()
	var items []archive.Quarantined
	for rows.Next() {
		var (
			q   archive.Quarantined
			r   = &q.Record
			seq pgtype.Numeric
			ver int64
		)
		if err := rows.Scan(&r.MsgID, &seq, &ver, &r.EncryptRandomKey, &r.EncryptChatMsg, &q.Reason, &q.Since, &q.Attempts); err != nil {
			return nil, "", fmt.Errorf("archive/postgres: list quarantine: %w", err)
		}
		if r.Seq, err = fromNumeric(seq); err != nil {
			return nil, "", fmt.Errorf("archive/postgres: list quarantine: %q: %w", r.MsgID, err)
		}
		r.PublicKeyVer, q.Since = uint32(ver), q.Since.UTC()
		items = append(items, q)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("archive/postgres: list quarantine: %w", err)
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	last := items[limit-1].Record
	return items, encodeQuarantineCursor(last.Seq, last.MsgID), nil
}

// TouchQuarantine counts one more failed attempt and keeps its reason.
func (s *Store) TouchQuarantine(ctx context.Context, msgID, reason string) error {
	if err := s.check(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE archive_quarantine SET attempts = attempts + 1, reason = $2 WHERE msgid = $1`, msgID, reason)
	if err != nil {
		return fmt.Errorf("archive/postgres: touch quarantine %q: %w", msgID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("archive/postgres: touch quarantine %q: %w", msgID, archive.ErrNotFound)
	}
	return nil
}

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

// PurgeDay deletes the day's messages that keep does not hold, and the
// day's data keys if it held none, in one transaction. It first locks
// the day's counter row, which every Commit storing a message of that
// day updates: a batch of that day committed before is seen by the scan,
// one committed after waits, so no message of the day escapes the
// decision, and none is stored under keys just destroyed.
func (s *Store) PurgeDay(ctx context.Context, day string, keep func(archive.Message) bool) (int, bool, error) {
	if err := s.check(); err != nil {
		return 0, false, err
	}
	if day == "" {
		return 0, false, errors.New("archive/postgres: purge day: day is empty")
	}
	var (
		deleted  int
		shredded bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		deleted, shredded = 0, false
		if _, err := tx.Exec(ctx, `INSERT INTO archive_days (day) VALUES ($1) ON CONFLICT DO NOTHING`, day); err != nil {
			return fmt.Errorf("day row: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM archive_days WHERE day = $1 FOR UPDATE`, day); err != nil {
			return fmt.Errorf("lock day: %w", err)
		}
		rows, err := tx.Query(ctx, selectMessage+` WHERE m.key_day = $1`, day)
		if err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		var (
			drop     []string
			times    []time.Time
			withheld int
			kept     int
		)
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read messages: %w", err)
			}
			if keep != nil && keep(m) {
				kept++
				continue
			}
			drop, times = append(drop, m.MsgID), append(times, m.Time)
			if m.Withheld != "" {
				withheld++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		if len(drop) > 0 {
			tag, err := tx.Exec(ctx, `DELETE FROM archive_messages m USING unnest($1::text[], $2::timestamptz[]) AS d(msgid, time)
				WHERE m.time = d.time AND m.msgid = d.msgid`, drop, times)
			if err != nil {
				return fmt.Errorf("delete messages: %w", err)
			}
			deleted = int(tag.RowsAffected())
			if _, err := tx.Exec(ctx, `DELETE FROM archive_msgids WHERE msgid = ANY($1)`, drop); err != nil {
				return fmt.Errorf("delete msgids: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE archive_days SET messages = messages - $2, withheld = withheld - $3 WHERE day = $1`,
				day, deleted, withheld); err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		if kept == 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM archive_data_keys WHERE day = $1`, day); err != nil {
				return fmt.Errorf("destroy data keys: %w", err)
			}
			shredded = true
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("archive/postgres: purge day %s: %w", day, err)
	}
	return deleted, shredded, nil
}

// Days lists the days with messages (archive_days) or data keys.
func (s *Store) Days(ctx context.Context) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT day FROM archive_days WHERE messages > 0 AND day <> ''
		UNION SELECT day FROM archive_data_keys ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: days: %w", err)
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: days: %w", err)
	}
	return days, nil
}

// ListGaps returns the gaps by detection time, then seq.
func (s *Store) ListGaps(ctx context.Context) ([]archive.Gap, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT after, before, detected FROM archive_gaps ORDER BY detected, after, before`)
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: gaps: %w", err)
	}
	gaps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (archive.Gap, error) {
		var (
			g             archive.Gap
			after, before pgtype.Numeric
		)
		if err := row.Scan(&after, &before, &g.Detected); err != nil {
			return g, err
		}
		g.Detected = g.Detected.UTC()
		var err error
		if g.After, err = fromNumeric(after); err != nil {
			return g, err
		}
		g.Before, err = fromNumeric(before)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: gaps: %w", err)
	}
	return gaps, nil
}

// nonNil makes a nil slice an empty one (the column is NOT NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
