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

// PurgeDay deletes the day's messages that keep does not hold, and the
// day's data keys if it held none, in one transaction. It first locks
// the day's counter row, which every Commit (and ResolveQuarantine)
// storing a message of that day locks before writing one: a batch that
// got there first is committed and seen by the scan, one that comes
// later waits for the purge, so no message of the day escapes the
// decision half-written.
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
		rows, err := tx.Query(ctx, selectMessage+` WHERE m.day = $1`, day)
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

// ListGaps returns the gaps by seq, oldest first.
func (s *Store) ListGaps(ctx context.Context) ([]archive.Gap, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT after, before, detected FROM archive_gaps ORDER BY after, before`)
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
