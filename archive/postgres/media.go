package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive"
)

// mediaMigration (schema 1 → 2) adds the media download queue: one row
// per (msgid, sdkfileid) of a kept message, added in the transaction that
// stores the message, deleted with it (the foreign key on archive_msgids
// cascades, so PurgeDay needs no change). The partial index serves
// PendingMedia: pending tasks by due time.
const mediaMigration = `
CREATE TABLE IF NOT EXISTS archive_media (
	msgid      text COLLATE "C" NOT NULL REFERENCES archive_msgids (msgid) ON DELETE CASCADE,
	sdkfileid  text COLLATE "C" NOT NULL,
	day        text COLLATE "C" NOT NULL,
	media      jsonb NOT NULL,
	status     text NOT NULL CHECK (status IN ('pending', 'stored', 'failed', 'expired')),
	attempts   int NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	blob_key   text NOT NULL DEFAULT '',
	key_id     text NOT NULL DEFAULT '',
	size       bigint NOT NULL DEFAULT 0,
	at         timestamptz NOT NULL,
	next       timestamptz,
	PRIMARY KEY (msgid, sdkfileid)
);
CREATE INDEX IF NOT EXISTS archive_media_due ON archive_media (next, msgid, sdkfileid) WHERE status = 'pending';
`

// addMediaTasks adds the download tasks of ms (archive.MediaTasksOf) in
// the transaction that stored them. A message that was stored already
// keeps its tasks (ON CONFLICT DO NOTHING), and tasks are only added for
// a message whose stored row is kept content (a re-pulled copy never
// gives tasks to a message stored withheld).
func addMediaTasks(ctx context.Context, tx pgx.Tx, ms []archive.Message, now time.Time) error {
	var (
		ids, fileIDs, days, statuses []string
		media                        [][]byte
		ats                          []time.Time
	)
	for _, m := range ms {
		for _, t := range archive.MediaTasksOf(m, now) {
			b, err := json.Marshal(t.Media)
			if err != nil {
				return fmt.Errorf("media of %q: %w", m.MsgID, err)
			}
			ids, fileIDs, days = append(ids, t.MsgID), append(fileIDs, t.Media.SDKFileID), append(days, t.Day)
			statuses, media, ats = append(statuses, string(t.State.Status)), append(media, b), append(ats, t.State.Next)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO archive_media (msgid, sdkfileid, day, media, status, at, next)
		SELECT t.msgid, t.sdkfileid, t.day, t.media::jsonb, t.status, t.at, t.at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
			AS t(msgid, sdkfileid, day, media, status, at)
		WHERE EXISTS (SELECT 1 FROM archive_msgids i JOIN archive_messages m ON m.time = i.time AND m.msgid = i.msgid
			WHERE i.msgid = t.msgid AND m.withheld = '')
		ON CONFLICT DO NOTHING`, ids, fileIDs, days, jsonTexts(media), statuses, ats)
	if err != nil {
		return fmt.Errorf("media tasks: %w", err)
	}
	return nil
}

func jsonTexts(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

const selectMedia = `SELECT msgid, day, media, status, attempts, last_error, blob_key, key_id, size, at, next FROM archive_media`

func scanMediaTask(rows pgx.Rows) (archive.MediaTask, error) {
	var (
		t      archive.MediaTask
		media  []byte
		status string
		next   *time.Time
	)
	if err := rows.Scan(&t.MsgID, &t.Day, &media, &status, &t.State.Attempts, &t.State.LastError,
		&t.State.BlobKey, &t.State.KeyID, &t.State.Size, &t.State.At, &next); err != nil {
		return t, err
	}
	if err := json.Unmarshal(media, &t.Media); err != nil {
		return t, fmt.Errorf("media of %q: %w", t.MsgID, err)
	}
	t.State.Status = archive.MediaStatus(status)
	t.State.At = t.State.At.UTC()
	if next != nil {
		t.State.Next = next.UTC()
	}
	return t, nil
}

func collectMedia(rows pgx.Rows, err error) ([]archive.MediaTask, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []archive.MediaTask
	for rows.Next() {
		t, err := scanMediaTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PendingMedia returns pending media tasks due by due.
func (s *Store) PendingMedia(ctx context.Context, due time.Time, limit int) ([]archive.MediaTask, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	out, err := collectMedia(s.pool.Query(ctx, selectMedia+` WHERE status = 'pending' AND next <= $1
		ORDER BY next, msgid, sdkfileid LIMIT $2`, due.UTC(), limit))
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: pending media: %w", err)
	}
	return out, nil
}

// SetMediaState replaces the state of a task.
func (s *Store) SetMediaState(ctx context.Context, msgID, sdkFileID string, st archive.MediaState) error {
	if err := s.check(); err != nil {
		return err
	}
	switch st.Status {
	case archive.MediaPending, archive.MediaStored, archive.MediaFailed, archive.MediaExpired:
	default:
		return fmt.Errorf("archive/postgres: set media state: status %q unknown", st.Status)
	}
	var next *time.Time
	if st.Status == archive.MediaPending || !st.Next.IsZero() {
		n := st.Next.UTC()
		next = &n
	}
	tag, err := s.pool.Exec(ctx, `UPDATE archive_media SET status = $3, attempts = $4, last_error = $5,
		blob_key = $6, key_id = $7, size = $8, at = $9, next = $10 WHERE msgid = $1 AND sdkfileid = $2`,
		msgID, sdkFileID, string(st.Status), st.Attempts, st.LastError, st.BlobKey, st.KeyID, st.Size, st.At.UTC(), next)
	if err != nil {
		return fmt.Errorf("archive/postgres: set media state of %q: %w", msgID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("archive/postgres: media task of %q: %w", msgID, archive.ErrNotFound)
	}
	return nil
}

// MediaOf returns the tasks of one message, by sdkfileid.
func (s *Store) MediaOf(ctx context.Context, msgID string) ([]archive.MediaTask, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out, err := collectMedia(s.pool.Query(ctx, selectMedia+` WHERE msgid = $1 ORDER BY sdkfileid`, msgID))
	if err != nil {
		return nil, fmt.Errorf("archive/postgres: media of %q: %w", msgID, err)
	}
	return out, nil
}
