package postgres

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

// pageLimit applies the contract's page size to a Search or
// ListQuarantine limit: 100 when ≤ 0, at most 1,000.
func pageLimit(limit int) int {
	if limit <= 0 {
		return 100
	}
	return min(limit, 1000)
}

// selectMessage reads a message and the recall naming it (scanMessage).
const selectMessage = `SELECT m.msgid, m.seq, m.publickey_ver, m.action, m.type, m.from_id, m.tolist, m.room,
	m.time, m.conversation, m.external, m.withheld, m.consent, m.pre_msgid, m.key_day, m.key_id,
	m.content, m.tokens, m.media, m.stored_at, coalesce(r.recall_msgid, '')
FROM archive_messages m LEFT JOIN archive_recalls r ON r.pre_msgid = m.msgid`

// scanMessage reads a row of selectMessage.
func scanMessage(row pgx.Row) (archive.Message, error) {
	var (
		m      archive.Message
		seq    pgtype.Numeric
		ver    int64
		tokens []int64
		media  []byte
	)
	err := row.Scan(&m.MsgID, &seq, &ver, &m.Action, &m.Type, &m.From, &m.ToList, &m.RoomID,
		&m.Time, &m.Conversation, &m.External, &m.Withheld, &m.Consent, &m.PreMsgID, &m.KeyDay, &m.KeyID,
		&m.Content, &tokens, &media, &m.StoredAt, &m.RecalledBy)
	if err != nil {
		return archive.Message{}, err
	}
	if m.Seq, err = fromNumeric(seq); err != nil {
		return archive.Message{}, fmt.Errorf("message %q: %w", m.MsgID, err)
	}
	m.PublicKeyVer = uint32(ver)
	m.Time, m.StoredAt = m.Time.UTC(), m.StoredAt.UTC()
	m.Tokens = tokensFromDB(tokens)
	if len(m.ToList) == 0 {
		m.ToList = nil
	}
	if len(media) > 0 {
		var ms []wecom.ChatMedia
		if err := json.Unmarshal(media, &ms); err != nil {
			return archive.Message{}, fmt.Errorf("message %q: media: %w", m.MsgID, err)
		}
		m.Media = ms
	}
	return m, nil
}

// GetMessage finds the message's time in the msgid table, so that only
// its month's partition is read (run-time partition pruning).
func (s *Store) GetMessage(ctx context.Context, msgID string) (archive.Message, error) {
	if err := s.check(); err != nil {
		return archive.Message{}, err
	}
	m, err := scanMessage(s.pool.QueryRow(ctx, selectMessage+`
		WHERE m.time = (SELECT time FROM archive_msgids WHERE msgid = $1) AND m.msgid = $1`, msgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return archive.Message{}, fmt.Errorf("archive/postgres: message %q: %w", msgID, archive.ErrNotFound)
	}
	if err != nil {
		return archive.Message{}, fmt.Errorf("archive/postgres: message %q: %w", msgID, err)
	}
	return m, nil
}

// Search runs q as one SQL query: every filter of q is a condition
// (tokens @> …, participants @> ARRAY[…], the time range), the order is
// (time, msgid) one way or the other — the primary key's order — and a
// page starts after the (time, msgid) of the previous page's last
// message (keyset paging), which its cursor encodes.
func (s *Store) Search(ctx context.Context, q archive.Query) ([]archive.Message, string, error) {
	if err := s.check(); err != nil {
		return nil, "", err
	}
	limit := pageLimit(q.Limit)

	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.User != "" {
		where = append(where, "m.participants @> ARRAY["+arg(q.User)+"::text]")
	}
	if q.Customer != "" {
		where = append(where, "m.participants @> ARRAY["+arg(q.Customer)+"::text]")
	}
	if q.Room != "" {
		where = append(where, "m.room = "+arg(q.Room))
	}
	if q.Conversation != "" {
		where = append(where, "m.conversation = "+arg(q.Conversation))
	}
	if q.Type != "" {
		where = append(where, "m.type = "+arg(q.Type))
	}
	if !q.From.IsZero() {
		where = append(where, "m.time >= "+arg(q.From.UTC()))
	}
	if !q.To.IsZero() {
		where = append(where, "m.time < "+arg(q.To.UTC()))
	}
	if len(q.Tokens) > 0 {
		where = append(where, "m.tokens @> "+arg(tokensToDB(q.Tokens))+"::bigint[]")
	}
	cmp, dir := "<", "DESC"
	if q.Ascending {
		cmp, dir = ">", "ASC"
	}
	if q.Cursor != "" {
		at, id, err := decodeSearchCursor(q.Cursor, q.Ascending)
		if err != nil {
			return nil, "", fmt.Errorf("archive/postgres: search: %w", err)
		}
		where = append(where, "(m.time, m.msgid) "+cmp+" ("+arg(at)+"::timestamptz, "+arg(id)+"::text)")
	}
	sql := selectMessage
	if len(where) > 0 {
		sql += "\nWHERE " + strings.Join(where, "\n\tAND ")
	}
	sql += fmt.Sprintf("\nORDER BY m.time %s, m.msgid %s LIMIT %d", dir, dir, limit+1)

	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", fmt.Errorf("archive/postgres: search: %w", err)
	}
	defer rows.Close()
	var msgs []archive.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, "", fmt.Errorf("archive/postgres: search: %w", err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("archive/postgres: search: %w", err)
	}
	if len(msgs) <= limit {
		return msgs, "", nil
	}
	msgs = msgs[:limit]
	last := msgs[limit-1]
	return msgs, encodeSearchCursor(last.Time, last.MsgID, q.Ascending), nil
}

// Page cursors are base64url (no padding) of a kind byte and the key of
// the last item: for a search 's' (newest first) or 'S' (ascending), the
// time in Unix microseconds (the database's precision) as 8 bytes
// big-endian, then the msgid; for the quarantine 'q', the seq as 8 bytes
// big-endian, then the msgid.

func encodeSearchCursor(t time.Time, msgID string, asc bool) string {
	kind := byte('s')
	if asc {
		kind = 'S'
	}
	b := make([]byte, 9, 9+len(msgID))
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:], uint64(t.UnixMicro()))
	return base64.RawURLEncoding.EncodeToString(append(b, msgID...))
}

func decodeSearchCursor(c string, asc bool) (time.Time, string, error) {
	kind := byte('s')
	if asc {
		kind = 'S'
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 9 || b[0] != kind {
		return time.Time{}, "", archive.ErrInvalidCursor
	}
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))).UTC(), string(b[9:]), nil
}

func encodeQuarantineCursor(seq uint64, msgID string) string {
	b := make([]byte, 9, 9+len(msgID))
	b[0] = 'q'
	binary.BigEndian.PutUint64(b[1:], seq)
	return base64.RawURLEncoding.EncodeToString(append(b, msgID...))
}

func decodeQuarantineCursor(c string) (uint64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 9 || b[0] != 'q' {
		return 0, "", archive.ErrInvalidCursor
	}
	return binary.BigEndian.Uint64(b[1:9]), string(b[9:]), nil
}
