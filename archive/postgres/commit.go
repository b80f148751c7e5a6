package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wecomply/wecomply/archive"
)

// stagingColumns are the columns of archive_messages in the order COPY
// fills the staging table and INSERT … SELECT moves them.
var stagingColumns = []string{
	"time", "msgid", "seq", "publickey_ver", "action", "type", "from_id", "tolist", "participants",
	"room", "conversation", "external", "withheld", "consent", "pre_msgid", "key_day", "day", "key_id",
	"content", "tokens", "media", "stored_at",
}

// dayColumn is where stagingColumns has the message's day.
var dayColumn = slices.Index(stagingColumns, "day")

// createStaging makes the connection's staging table (a temporary table,
// so private to the connection and never WAL-logged; emptied at every
// commit). IF NOT EXISTS: a pooled connection keeps it between batches.
// Its name carries the schema version it was copied from (bump it with
// schemaVersion when the messages table changes).
const createStaging = `CREATE TEMP TABLE IF NOT EXISTS archive_staging_v1
	(LIKE archive_messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`

// moveStaged moves the staged rows whose msgid is new into the messages
// table, in one statement: the msgid table takes the new msgids (ON
// CONFLICT DO NOTHING skips the stored ones), only those rows are copied,
// a message stored leaves the quarantine (a re-pull decrypted it), the
// recall index learns the recalls among them (the first recall of a
// message wins), and the per-day counters grow, locked in day order. It
// returns how many messages it stored.
const moveStaged = `
WITH ins AS (
	INSERT INTO archive_msgids (msgid, time)
	SELECT msgid, time FROM archive_staging_v1
	ON CONFLICT DO NOTHING
	RETURNING msgid
), moved AS (
	INSERT INTO archive_messages (time, msgid, seq, publickey_ver, action, type, from_id, tolist, participants,
		room, conversation, external, withheld, consent, pre_msgid, key_day, day, key_id, content, tokens, media, stored_at)
	SELECT s.time, s.msgid, s.seq, s.publickey_ver, s.action, s.type, s.from_id, s.tolist, s.participants,
		s.room, s.conversation, s.external, s.withheld, s.consent, s.pre_msgid, s.key_day, s.day, s.key_id, s.content,
		s.tokens, s.media, s.stored_at
	FROM archive_staging_v1 s JOIN ins ON ins.msgid = s.msgid
	RETURNING msgid, pre_msgid, day, withheld
), unquarantined AS (
	DELETE FROM archive_quarantine WHERE msgid IN (SELECT msgid FROM moved)
), recalls AS (
	INSERT INTO archive_recalls (pre_msgid, recall_msgid)
	SELECT pre_msgid, min(msgid) FROM moved WHERE pre_msgid <> '' GROUP BY pre_msgid
	ON CONFLICT DO NOTHING
), days AS (
	INSERT INTO archive_days AS d (day, messages, withheld)
	SELECT day, count(*), count(*) FILTER (WHERE withheld <> '') FROM moved GROUP BY day ORDER BY day
	ON CONFLICT (day) DO UPDATE SET messages = d.messages + excluded.messages, withheld = d.withheld + excluded.withheld
)
SELECT count(*) FROM moved`

// Commit stores b and moves the cursor from b.From to b.To in one
// transaction. The cursor row is locked first (SELECT … FOR UPDATE), so
// two pullers committing the same From serialise and the second gets
// archive.ErrCursorMoved having written nothing.
func (s *Store) Commit(ctx context.Context, b archive.Batch) (archive.CommitResult, error) {
	if err := s.check(); err != nil {
		return archive.CommitResult{}, err
	}
	if err := archive.CheckBatch(b); err != nil {
		return archive.CommitResult{}, fmt.Errorf("archive/postgres: commit: %w", err)
	}
	msgs, inBatchDups := uniqueByMsgID(b.Messages)
	rows, err := s.rows(msgs)
	if err != nil {
		return archive.CommitResult{}, fmt.Errorf("archive/postgres: commit: %w", err)
	}
	if err := s.ensurePartitions(ctx, msgs); err != nil {
		return archive.CommitResult{}, fmt.Errorf("archive/postgres: commit: %w", err)
	}
	var res archive.CommitResult
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var cur pgtype.Numeric
		if err := tx.QueryRow(ctx, `SELECT cursor FROM archive_state WHERE id = 1 FOR UPDATE`).Scan(&cur); err != nil {
			return fmt.Errorf("lock cursor: %w", err)
		}
		seq, err := fromNumeric(cur)
		if err != nil {
			return fmt.Errorf("cursor: %w", err)
		}
		if seq != b.From {
			return archive.ErrCursorMoved
		}
		stored, err := writeMessages(ctx, tx, rows)
		if err != nil {
			return err
		}
		if err := addMediaTasks(ctx, tx, msgs, s.now().UTC()); err != nil {
			return err
		}
		res = archive.CommitResult{Stored: stored, Duplicates: len(msgs) - stored + inBatchDups}
		if err := addQuarantine(ctx, tx, b.Quarantine, s.now().UTC()); err != nil {
			return err
		}
		if err := addGaps(ctx, tx, b.Gaps); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE archive_state SET cursor = $1, last_commit = $2 WHERE id = 1`,
			numeric(b.To), s.now().UTC()); err != nil {
			return fmt.Errorf("move cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, archive.ErrCursorMoved) {
			return archive.CommitResult{}, err
		}
		return archive.CommitResult{}, fmt.Errorf("archive/postgres: commit %d→%d: %w", b.From, b.To, err)
	}
	if res.Stored > 0 {
		byMonth := map[int]int64{}
		for _, m := range msgs {
			byMonth[monthOf(m.Time)]++
		}
		s.noteGrowth(byMonth)
	}
	return res, nil
}

// monthOf is the partition month of t: year*12 + month − 1 (UTC).
func monthOf(t time.Time) int {
	t = t.UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// partitionName is the messages partition of month k.
func partitionName(k int) string {
	return fmt.Sprintf("archive_messages_p%04d%02d", k/12, k%12+1)
}

// ResolveQuarantine stores m and takes m.MsgID out of the quarantine in
// one transaction; archive.ErrNotFound if it was not quarantined.
func (s *Store) ResolveQuarantine(ctx context.Context, m archive.Message) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := archive.CheckMessage(m); err != nil {
		return fmt.Errorf("archive/postgres: resolve quarantine: %w", err)
	}
	rows, err := s.rows([]archive.Message{m})
	if err != nil {
		return fmt.Errorf("archive/postgres: resolve quarantine: %w", err)
	}
	if err := s.ensurePartitions(ctx, []archive.Message{m}); err != nil {
		return fmt.Errorf("archive/postgres: resolve quarantine %q: %w", m.MsgID, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM archive_quarantine WHERE msgid = $1`, m.MsgID)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return archive.ErrNotFound
		}
		if _, err = writeMessages(ctx, tx, rows); err != nil {
			return err
		}
		return addMediaTasks(ctx, tx, []archive.Message{m}, s.now().UTC())
	})
	if errors.Is(err, archive.ErrNotFound) {
		return fmt.Errorf("archive/postgres: resolve quarantine %q: %w", m.MsgID, err)
	}
	if err != nil {
		return fmt.Errorf("archive/postgres: resolve quarantine %q: %w", m.MsgID, err)
	}
	return nil
}

// uniqueByMsgID keeps the first message of each msgid and counts the
// others (they are duplicates like a msgid stored already).
func uniqueByMsgID(ms []archive.Message) ([]archive.Message, int) {
	seen := make(map[string]bool, len(ms))
	out := make([]archive.Message, 0, len(ms))
	for _, m := range ms {
		if seen[m.MsgID] {
			continue
		}
		seen[m.MsgID] = true
		out = append(out, m)
	}
	return out, len(ms) - len(out)
}

// rows turns messages into COPY rows in stagingColumns order.
func (s *Store) rows(ms []archive.Message) ([][]any, error) {
	out := make([][]any, 0, len(ms))
	for _, m := range ms {
		if m.MsgID == "" {
			return nil, fmt.Errorf("message at seq %d: msgid is empty", m.Seq)
		}
		t := m.Time.UTC()
		if y := t.Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("message %q: time %s is outside the years 1 to 9999", m.MsgID, t.Format(time.RFC3339))
		}
		toList := m.ToList
		if toList == nil {
			toList = []string{}
		}
		var content, media []byte
		if len(m.Content) > 0 {
			content = m.Content
		}
		if len(m.Media) > 0 {
			var err error
			if media, err = json.Marshal(m.Media); err != nil {
				return nil, fmt.Errorf("message %q: media: %w", m.MsgID, err)
			}
		}
		storedAt := m.StoredAt
		if storedAt.IsZero() {
			storedAt = s.now()
		}
		out = append(out, []any{
			t, m.MsgID, numeric(m.Seq), int64(m.PublicKeyVer), m.Action, m.Type, m.From, toList,
			participants(m.From, m.ToList), m.RoomID, m.Conversation, m.External, m.Withheld, m.Consent,
			m.PreMsgID, m.KeyDay, archive.DayOf(m), m.KeyID, content, tokensToDB(m.Tokens), media, storedAt.UTC(),
		})
	}
	return out, nil
}

// participants is From and ToList, distinct, sorted, without empty ids:
// what the user and customer filters match with participants @> ARRAY[id].
func participants(from string, to []string) []string {
	ps := make([]string, 0, len(to)+1)
	if from != "" {
		ps = append(ps, from)
	}
	for _, id := range to {
		if id != "" {
			ps = append(ps, id)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// writeMessages COPYs rows into the staging table and moves the new ones
// (moveStaged); it returns how many it stored.
func writeMessages(ctx context.Context, tx pgx.Tx, rows [][]any) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	// Lock the days' counter rows first, in day order, before any message
	// of those days is written: PurgeDay locks its day's row before it
	// reads the day, so it either sees this batch whole or runs after
	// it, never between the messages and the counters.
	days := make([]string, 0, 1)
	for _, r := range rows {
		if d := r[dayColumn].(string); !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	if _, err := tx.Exec(ctx, `INSERT INTO archive_days AS d (day) SELECT unnest($1::text[]) ORDER BY 1
		ON CONFLICT (day) DO UPDATE SET messages = d.messages`, days); err != nil {
		return 0, fmt.Errorf("lock days: %w", err)
	}
	if _, err := tx.Exec(ctx, createStaging); err != nil {
		return 0, fmt.Errorf("staging table: %w", err)
	}
	// The table is empty here: an earlier transaction on this connection
	// either rolled its rows back or emptied it at commit.
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"archive_staging_v1"}, stagingColumns, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("copy %d messages: %w", len(rows), err)
	}
	var stored int
	if err := tx.QueryRow(ctx, moveStaged).Scan(&stored); err != nil {
		return 0, fmt.Errorf("store messages: %w", err)
	}
	return stored, nil
}

// addQuarantine adds the records whose msgid is neither quarantined nor
// stored (a re-pull that cannot decrypt a record stored before; run
// after writeMessages, a message of the same batch wins too).
func addQuarantine(ctx context.Context, tx pgx.Tx, qs []archive.Quarantined, now time.Time) error {
	if len(qs) == 0 {
		return nil
	}
	var (
		ids, keys, msgs, reasons = make([]string, len(qs)), make([]string, len(qs)), make([]string, len(qs)), make([]string, len(qs))
		seqs                     = make([]pgtype.Numeric, len(qs))
		vers                     = make([]int64, len(qs))
		since                    = make([]time.Time, len(qs))
		attempts                 = make([]int32, len(qs))
	)
	for i, q := range qs {
		if q.Record.MsgID == "" {
			return fmt.Errorf("quarantined record at seq %d: msgid is empty", q.Record.Seq)
		}
		ids[i], keys[i], msgs[i], reasons[i] = q.Record.MsgID, q.Record.EncryptRandomKey, q.Record.EncryptChatMsg, q.Reason
		seqs[i], vers[i], attempts[i] = numeric(q.Record.Seq), int64(q.Record.PublicKeyVer), int32(q.Attempts)
		since[i] = q.Since.UTC()
		if q.Since.IsZero() {
			since[i] = now
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO archive_quarantine
		(msgid, seq, publickey_ver, encrypt_random_key, encrypt_chat_msg, reason, since, attempts)
		SELECT * FROM unnest($1::text[], $2::numeric[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::int[])
			AS q(msgid)
		WHERE NOT EXISTS (SELECT 1 FROM archive_msgids i WHERE i.msgid = q.msgid)
		ON CONFLICT DO NOTHING`, ids, seqs, vers, keys, msgs, reasons, since, attempts)
	if err != nil {
		return fmt.Errorf("quarantine %d records: %w", len(qs), err)
	}
	return nil
}

// addGaps records the gaps; one already recorded (same After and Before)
// is left as it is.
func addGaps(ctx context.Context, tx pgx.Tx, gs []archive.Gap) error {
	if len(gs) == 0 {
		return nil
	}
	afters, befores := make([]pgtype.Numeric, len(gs)), make([]pgtype.Numeric, len(gs))
	detected := make([]time.Time, len(gs))
	for i, g := range gs {
		afters[i], befores[i], detected[i] = numeric(g.After), numeric(g.Before), g.Detected.UTC()
	}
	_, err := tx.Exec(ctx, `INSERT INTO archive_gaps (after, before, detected)
		SELECT * FROM unnest($1::numeric[], $2::numeric[], $3::timestamptz[])
		ON CONFLICT DO NOTHING`, afters, befores, detected)
	if err != nil {
		return fmt.Errorf("record %d gaps: %w", len(gs), err)
	}
	return nil
}

// ensurePartitions creates the monthly partitions the messages fall in
// that this Store has not seen yet. Each is created in a transaction of
// its own before the batch's (creating a partition locks the parent
// table, which must not wait behind or block a batch), under an advisory
// lock, because CREATE TABLE IF NOT EXISTS is not race-free by itself:
// two replicas creating the same partition at once can both pass the
// existence check and one fails on the catalog's unique index.
func (s *Store) ensurePartitions(ctx context.Context, ms []archive.Message) error {
	var months []int
	s.mu.Lock()
	for _, m := range ms {
		k := monthOf(m.Time)
		if !s.partitions[k] && !slices.Contains(months, k) {
			months = append(months, k)
		}
	}
	s.mu.Unlock()
	slices.Sort(months)
	for _, k := range months {
		if err := s.createPartition(ctx, k); err != nil {
			return err
		}
		s.mu.Lock()
		s.partitions[k] = true
		s.mu.Unlock()
	}
	return nil
}

// createPartition creates the partition of month k (year*12+month-1).
func (s *Store) createPartition(ctx context.Context, k int) error {
	from := time.Date(k/12, time.Month(k%12+1), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	name := partitionName(k)
	// Identifiers and bounds are made here from integers, never from input.
	sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF archive_messages FOR VALUES FROM ('%s') TO ('%s')`,
		name, from.Format("2006-01-02 15:04:05Z07:00"), to.Format("2006-01-02 15:04:05Z07:00"))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('wecomply archive partition ' || current_schema(), 0))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql)
		return err
	})
	if err != nil {
		return fmt.Errorf("create partition %s: %w", name, err)
	}
	return nil
}
