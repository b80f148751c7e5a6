package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// schemaVersion is the version of the schema this code writes. Open
// migrates an older schema up to it and refuses a newer one.
const schemaVersion = 2

// migrations[i] takes the schema from version i to i+1. Every statement is
// idempotent (IF NOT EXISTS), so a migration interrupted before its
// version row was written is simply run again.
//
// Layout, and why:
//
//   - archive_messages is partitioned by month (RANGE on time, the
//     message's msgtime in UTC): retention deletes old days, searches
//     carry a time range, and a month's partition can be dropped or moved
//     on its own. Partitions are created on demand (ensurePartitions).
//     Its primary key is (time, msgid) — a unique constraint on a
//     partitioned table must contain the partition key — which is also
//     the index of the newest-first / oldest-first listing.
//   - archive_msgids is the dedup key that the partitioned table cannot
//     hold: msgid (primary key) → time. Commit inserts into it first with
//     ON CONFLICT DO NOTHING and stores only the rows that insert
//     returned, so a msgid is stored once whatever its time, and
//     GetMessage finds a message's partition from its time. (A unique
//     index on (time, msgid) alone would let the same msgid in again with
//     another msgtime, and a lookup by msgid alone would probe every
//     partition.)
//   - seq columns are numeric(20,0): seq is a uint64 and must keep values
//     above 2^63 and sort as unsigned (quarantine is listed by seq).
//     Tokens are the uint64 blind-index hashes stored as bigint with the
//     same 64 bits (int64(u); read back as uint64(i)): only equality
//     (@>) is ever asked of them, which the bit pattern preserves.
//   - participants (From and ToList, distinct) and tokens share one
//     multicolumn GIN index: a query on either uses it, and a person with
//     tokens is intersected inside the index (a person + 30 days + two
//     common tokens over 100,000 messages: 21 ms with two one-column GIN
//     indexes, whose planner used only the tokens', 3 ms with this one,
//     which is also smaller).
//   - msgid, day and key ids are text COLLATE "C", so that the database
//     orders them bytewise like Go compares strings (page cursors).
//   - day is the message's day for PurgeDay and Days (archive.DayOf:
//     KeyDay, else the UTC day of time), indexed for PurgeDay.
//     archive_days counts messages and withheld messages per day, so
//     Days and Stats never count the messages table, and PurgeDay and
//     Commit meet on the day's row lock (see PurgeDay).
var migrations = []string{
	// 0 → 1
	`
CREATE TABLE IF NOT EXISTS archive_state (
	id          int PRIMARY KEY CHECK (id = 1),
	cursor      numeric(20,0) NOT NULL DEFAULT 0,
	last_commit timestamptz
);
INSERT INTO archive_state (id) VALUES (1) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS archive_msgids (
	msgid text COLLATE "C" PRIMARY KEY,
	time  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS archive_messages (
	time          timestamptz NOT NULL,
	msgid         text COLLATE "C" NOT NULL,
	seq           numeric(20,0) NOT NULL,
	publickey_ver bigint NOT NULL,
	action        text NOT NULL,
	type          text NOT NULL,
	from_id       text NOT NULL,
	tolist        text[] NOT NULL,
	participants  text[] NOT NULL,
	room          text NOT NULL,
	conversation  text NOT NULL,
	external      boolean NOT NULL,
	withheld      text NOT NULL,
	consent       text NOT NULL,
	pre_msgid     text NOT NULL,
	key_day       text COLLATE "C" NOT NULL,
	day           text COLLATE "C" NOT NULL,
	key_id        text NOT NULL,
	content       bytea,
	tokens        bigint[] NOT NULL,
	media         jsonb,
	stored_at     timestamptz NOT NULL,
	PRIMARY KEY (time, msgid),
	CHECK (withheld = '' OR (content IS NULL AND cardinality(tokens) = 0 AND media IS NULL AND key_id = ''))
) PARTITION BY RANGE (time);
CREATE INDEX IF NOT EXISTS archive_messages_search ON archive_messages USING gin (participants, tokens);
CREATE INDEX IF NOT EXISTS archive_messages_conversation ON archive_messages (conversation, time);
CREATE INDEX IF NOT EXISTS archive_messages_day ON archive_messages (day);

CREATE TABLE IF NOT EXISTS archive_recalls (
	pre_msgid    text COLLATE "C" PRIMARY KEY,
	recall_msgid text COLLATE "C" NOT NULL
);

CREATE TABLE IF NOT EXISTS archive_days (
	day      text COLLATE "C" PRIMARY KEY,
	messages bigint NOT NULL DEFAULT 0,
	withheld bigint NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS archive_quarantine (
	msgid              text COLLATE "C" PRIMARY KEY,
	seq                numeric(20,0) NOT NULL,
	publickey_ver      bigint NOT NULL,
	encrypt_random_key text NOT NULL,
	encrypt_chat_msg   text NOT NULL,
	reason             text NOT NULL,
	since              timestamptz NOT NULL,
	attempts           int NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_quarantine_seq ON archive_quarantine (seq, msgid);

CREATE TABLE IF NOT EXISTS archive_gaps (
	after    numeric(20,0) NOT NULL,
	before   numeric(20,0) NOT NULL,
	detected timestamptz NOT NULL,
	PRIMARY KEY (after, before)
);

CREATE TABLE IF NOT EXISTS archive_data_keys (
	day        text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	master_id  text NOT NULL,
	wrapped    bytea NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (day, id)
);
`,
	// 1 → 2: the media download queue (media.go)
	mediaMigration,
}

// migrate creates or upgrades the schema in the connection's first
// search_path schema. Replicas opening at once serialise on an advisory
// lock named after that schema, so each migration runs once.
func migrate(ctx context.Context, conn *pgx.Conn, now time.Time) error {
	var pgVersion int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&pgVersion); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	if pgVersion < 150000 {
		return fmt.Errorf("server version %d: PostgreSQL 15 or newer is needed", pgVersion)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('wecomply archive migrate ' || current_schema(), 0))`); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS archive_schema (
		id int PRIMARY KEY CHECK (id = 1),
		version int NOT NULL,
		migrated_at timestamptz NOT NULL)`); err != nil {
		return fmt.Errorf("create archive_schema: %w", err)
	}
	var have int
	err = tx.QueryRow(ctx, `SELECT version FROM archive_schema WHERE id = 1`).Scan(&have)
	switch {
	case err == pgx.ErrNoRows:
		have = 0
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this program's %d: upgrade wecomply", have, schemaVersion)
	}
	for v := have; v < schemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema %d→%d: %w", v, v+1, err)
		}
	}
	if have < schemaVersion {
		if _, err := tx.Exec(ctx, `INSERT INTO archive_schema (id, version, migrated_at) VALUES (1, $1, $2)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at`,
			schemaVersion, now); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
	}
	return tx.Commit(ctx)
}
