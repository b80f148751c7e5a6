package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wecomply/wecomply/archive"
)

// ListQuarantine lists quarantined records by seq (then msgid), a page
// at a time.
func (s *Store) ListQuarantine(ctx context.Context, cursor string, limit int) ([]archive.Quarantined, string, error) {
	if err := s.check(); err != nil {
		return nil, "", err
	}
	limit = pageLimit(limit)
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
