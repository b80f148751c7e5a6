package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

var day0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// msg is a kept text message i between u1 and a customer, at day0 + i
// minutes.
func msg(i int) archive.Message {
	at := day0.Add(time.Duration(i) * time.Minute)
	from, to := "u1", []string{"wmCustomer"}
	return archive.Message{
		MsgID: fmt.Sprintf("m%04d", i), Seq: uint64(i), PublicKeyVer: 2, Action: "send", Type: "text",
		From: from, ToList: to, Time: at, Conversation: archive.ConversationID(from, to, ""),
		External: true, Consent: "agreed:stream", KeyDay: at.Format("2006-01-02"), KeyID: "k1",
		Content: []byte{1, 2, 3, byte(i)}, Tokens: []uint64{uint64(i), 1 << 63, math.MaxUint64},
		StoredAt: at.Add(time.Second),
	}
}

func mustCommit(t *testing.T, s *Store, b archive.Batch) archive.CommitResult {
	t.Helper()
	res, err := s.Commit(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRoundTrip: every field of a message comes back as it went in,
// including a seq and tokens above 2^63, media, a withheld message's
// facts and the recall index (whichever of the two arrives first).
func TestRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	kept := msg(1)
	kept.Seq = 1<<63 + 5
	kept.Media = []wecom.ChatMedia{{Type: "image", SDKFileID: "sdk1", MD5Sum: "ab", Size: 70961}}
	withheld := msg(2)
	withheld.Withheld, withheld.Consent = archive.WithheldNoConsent, "unknown"
	withheld.Content, withheld.Tokens, withheld.KeyDay, withheld.KeyID = nil, nil, "", ""
	recall := msg(3)
	recall.Action, recall.Type, recall.PreMsgID = "recall", "revoke", kept.MsgID
	recall.RoomID, recall.ToList = "wrRoom", []string{"u2", "u3"}
	recall.Conversation = archive.ConversationID(recall.From, recall.ToList, recall.RoomID)
	mustCommit(t, s, archive.Batch{From: 0, To: 1<<63 + 5, Messages: []archive.Message{recall, kept, withheld}})

	wantKept := kept
	wantKept.RecalledBy = recall.MsgID
	for _, want := range []archive.Message{wantKept, withheld, recall} {
		got, err := s.GetMessage(ctx, want.MsgID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetMessage(%s):\n got %+v\nwant %+v", want.MsgID, got, want)
		}
	}
	if cur, err := s.Cursor(ctx); err != nil || cur != 1<<63+5 {
		t.Errorf("Cursor = %d, %v; want 2^63+5", cur, err)
	}
	if _, err := s.GetMessage(ctx, "nope"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("GetMessage(nope) = %v; want ErrNotFound", err)
	}
}

// TestWithheldContentRefusedByTheTable: the table itself refuses a
// withheld row with content, tokens, media or a key, whatever a caller
// gets past Commit's checks.
func TestWithheldContentRefusedByTheTable(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	mustCommit(t, s, archive.Batch{From: 0, To: 1, Messages: []archive.Message{msg(1)}}) // makes the partition
	clean := map[string]string{"content": "NULL", "tokens": "'{}'", "media": "NULL", "key_id": "''"}
	bad := map[string]string{"content": `'\x01'`, "tokens": "'{1}'", "media": `'[{"Type":"image"}]'`, "key_id": "'k1'"}
	for col := range bad {
		set := "withheld = 'no_consent'"
		for c, v := range clean {
			if c == col {
				v = bad[c]
			}
			set += ", " + c + " = " + v
		}
		_, err := s.pool.Exec(ctx, `UPDATE archive_messages SET `+set+` WHERE msgid = 'm0001'`)
		if !isCode(err, "23514") {
			t.Errorf("withheld row with %s: %v; want a check violation", col, err)
		}
	}
	// The control: a clean withheld row is accepted.
	set := "withheld = 'no_consent'"
	for c, v := range clean {
		set += ", " + c + " = " + v
	}
	if _, err := s.pool.Exec(ctx, `UPDATE archive_messages SET `+set+` WHERE msgid = 'm0001'`); err != nil {
		t.Errorf("clean withheld row: %v", err)
	}
}

// TestCommitDedup: a re-pull stores only the new msgids, a msgid twice
// in one batch is stored once, and a msgid that comes back with another
// time (another partition) is still a duplicate.
func TestCommitDedup(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	res := mustCommit(t, s, archive.Batch{From: 0, To: 3, Messages: []archive.Message{msg(1), msg(2), msg(3)}})
	if res != (archive.CommitResult{Stored: 3}) {
		t.Fatalf("first commit = %+v", res)
	}
	moved := msg(2)
	moved.Time = moved.Time.AddDate(0, 2, 0) // another month
	res = mustCommit(t, s, archive.Batch{From: 3, To: 5, Messages: []archive.Message{msg(1), moved, msg(4), msg(4), msg(5)}})
	if res != (archive.CommitResult{Stored: 2, Duplicates: 3}) {
		t.Fatalf("re-pull = %+v; want 2 stored, 3 duplicates", res)
	}
	got, err := s.GetMessage(ctx, "m0002")
	if err != nil || !got.Time.Equal(msg(2).Time) {
		t.Errorf("m0002 = %v, %v; want the first copy", got.Time, err)
	}
	var rows int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM archive_messages`).Scan(&rows); err != nil || rows != 5 {
		t.Errorf("rows = %d, %v; want 5", rows, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 5 || st.Cursor != 5 || !st.NewestMsgTime.Equal(msg(5).Time) || !st.LastCommit.Equal(fixedNow()) {
		t.Errorf("Stats = %+v", st)
	}
}

// TestCommitCursorMoved: a batch whose From is not the cursor writes
// nothing (no message, quarantine, gap, cursor), and of two replicas
// committing from the same cursor at once exactly one wins.
func TestCommitCursorMoved(t *testing.T) {
	s, dsn := openStore(t)
	ctx := context.Background()
	mustCommit(t, s, archive.Batch{From: 0, To: 1, Messages: []archive.Message{msg(1)}})
	stale := archive.Batch{
		From: 0, To: 2, Messages: []archive.Message{msg(2)},
		Quarantine: []archive.Quarantined{{Record: wecom.ChatRecord{Seq: 2, MsgID: "q2"}, Reason: "no key"}},
		Gaps:       []archive.Gap{{After: 1, Before: 5, Detected: day0}},
	}
	if _, err := s.Commit(ctx, stale); !errors.Is(err, archive.ErrCursorMoved) {
		t.Fatalf("stale commit = %v; want ErrCursorMoved", err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 1 || st.Quarantined != 0 || st.Gaps != 0 || st.Cursor != 1 {
		t.Errorf("after a stale commit: %+v", st)
	}

	replicas := []*Store{s, openAt(t, dsn, Options{}), openAt(t, dsn, Options{})}
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		won, lost, errs int
	)
	for i, r := range replicas {
		wg.Go(func() {
			_, err := r.Commit(ctx, archive.Batch{From: 1, To: 10, Messages: []archive.Message{msg(10 + i)}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, archive.ErrCursorMoved):
				lost++
			default:
				errs++
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != 2 {
		t.Errorf("won %d, lost %d; want 1 and 2", won, lost)
	}
	if st, _ := s.Stats(ctx); st.Messages != 2 {
		t.Errorf("messages = %d; want 2", st.Messages)
	}
}

// TestPartitionsOnDemand: a batch creates the partitions of the months it
// touches (1970 included: msgtime can be 0), and replicas creating the
// same partitions at once all succeed.
func TestPartitionsOnDemand(t *testing.T) {
	_, dsn := openStore(t)
	ctx := context.Background()
	months := []time.Time{time.Unix(0, 0).UTC(), day0, day0.AddDate(0, 1, 0), day0.AddDate(1, 0, 0)}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for r := range 4 {
		st := openAt(t, dsn, Options{}) // a replica: its own partition cache
		wg.Go(func() {
			var ms []archive.Message
			for i, at := range months {
				m := msg(r*10 + i)
				m.Time, m.KeyDay = at, at.Format("2006-01-02")
				ms = append(ms, m)
			}
			// Only the partition creation races here (the cursor would
			// turn three of four commits away before they write).
			errs[r] = st.ensurePartitions(ctx, ms)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := openAt(t, dsn, Options{})
	var ms []archive.Message
	for i, at := range months {
		m := msg(i)
		m.Time, m.KeyDay = at, at.Format("2006-01-02")
		ms = append(ms, m)
	}
	mustCommit(t, s, archive.Batch{From: 0, To: 9, Messages: ms})
	rows, err := s.pool.Query(ctx, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'archive_messages'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"archive_messages_p197001", "archive_messages_p202603", "archive_messages_p202604", "archive_messages_p202703"}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("partitions = %v; want %v", parts, want)
	}
	for _, m := range ms {
		if _, err := s.GetMessage(ctx, m.MsgID); err != nil {
			t.Errorf("%s: %v", m.MsgID, err)
		}
	}
}

// TestSearch: each filter alone and together, the order both ways, and
// keyset pages that cover the result exactly once.
func TestSearch(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	var ms []archive.Message
	for i := range 40 {
		m := msg(i)
		m.Tokens = []uint64{uint64(i % 3), 1<<63 + uint64(i%2)} // token i%3 and a high one
		if i%4 == 0 {                                           // a group of internal users
			m.RoomID, m.ToList, m.External = "wrRoom", []string{"u2", "u3"}, false
			m.Conversation = archive.ConversationID(m.From, m.ToList, m.RoomID)
		}
		if i%5 == 0 {
			m.Type = "image"
		}
		if i == 7 { // same time as 8: the msgid breaks the tie
			m.Time = msg(8).Time
		}
		ms = append(ms, m)
	}
	mustCommit(t, s, archive.Batch{From: 0, To: 40, Messages: ms})
	ids := func(pred func(archive.Message) bool, asc bool) []string {
		var out []string
		for _, m := range ms {
			if pred(m) {
				out = append(out, m.MsgID)
			}
		}
		if !asc { // newest first: the msgs are in time order except 7 = 8
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
		}
		return out
	}
	tests := []struct {
		name string
		q    archive.Query
		want func(archive.Message) bool
	}{
		{"all", archive.Query{}, func(archive.Message) bool { return true }},
		{"user as receiver", archive.Query{User: "u2"}, func(m archive.Message) bool { return m.RoomID != "" }},
		{"user as sender", archive.Query{User: "u1"}, func(archive.Message) bool { return true }},
		{"customer", archive.Query{Customer: "wmCustomer"}, func(m archive.Message) bool { return m.RoomID == "" }},
		{"room", archive.Query{Room: "wrRoom"}, func(m archive.Message) bool { return m.RoomID != "" }},
		{"conversation", archive.Query{Conversation: "single:u1|wmCustomer"}, func(m archive.Message) bool { return m.RoomID == "" }},
		{"type", archive.Query{Type: "image"}, func(m archive.Message) bool { return m.Type == "image" }},
		{"time range", archive.Query{From: msg(10).Time, To: msg(20).Time}, func(m archive.Message) bool {
			return !m.Time.Before(msg(10).Time) && m.Time.Before(msg(20).Time)
		}},
		{"two tokens", archive.Query{Tokens: []uint64{1, 1 << 63}}, func(m archive.Message) bool {
			return m.Tokens[0] == 1 && m.Tokens[1] == 1<<63
		}},
		{"everything", archive.Query{Customer: "wmCustomer", From: msg(5).Time, To: msg(35).Time, Tokens: []uint64{2}}, func(m archive.Message) bool {
			return m.RoomID == "" && !m.Time.Before(msg(5).Time) && m.Time.Before(msg(35).Time) && m.Tokens[0] == 2
		}},
		{"no match", archive.Query{User: "nobody"}, func(archive.Message) bool { return false }},
	}
	for _, tc := range tests {
		for _, asc := range []bool{false, true} {
			for _, limit := range []int{0, 3} {
				t.Run(fmt.Sprintf("%s/asc=%v/limit=%d", tc.name, asc, limit), func(t *testing.T) {
					q := tc.q
					q.Ascending, q.Limit = asc, limit
					var got []string
					for pages := 0; ; pages++ {
						if pages > 50 {
							t.Fatal("paging does not end")
						}
						page, next, err := s.Search(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						if limit > 0 && len(page) > limit {
							t.Fatalf("page of %d > limit %d", len(page), limit)
						}
						for _, m := range page {
							got = append(got, m.MsgID)
						}
						if next == "" {
							break
						}
						q.Cursor = next
					}
					want := ids(tc.want, asc)
					if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
						t.Errorf("got %v\nwant %v", got, want)
					}
				})
			}
		}
	}
	t.Run("invalid cursor", func(t *testing.T) {
		_, next, err := s.Search(ctx, archive.Query{Limit: 1})
		if err != nil || next == "" {
			t.Fatal(next, err)
		}
		for _, c := range []string{"garbage!", "AAAA", next} {
			if _, _, err := s.Search(ctx, archive.Query{Cursor: c, Ascending: true}); !errors.Is(err, archive.ErrInvalidCursor) {
				t.Errorf("cursor %q: %v; want ErrInvalidCursor", c, err)
			}
		}
		if _, _, err := s.ListQuarantine(ctx, next, 10); !errors.Is(err, archive.ErrInvalidCursor) {
			t.Errorf("search cursor to ListQuarantine: %v; want ErrInvalidCursor", err)
		}
	})
}

// TestQuarantine: added once per msgid, listed by unsigned seq (2^63 and
// above after smaller ones) in pages, touched, resolved into a message.
func TestQuarantine(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	q := func(seq uint64, id string) archive.Quarantined {
		return archive.Quarantined{Record: wecom.ChatRecord{Seq: seq, MsgID: id, PublicKeyVer: 3, EncryptRandomKey: "k", EncryptChatMsg: "c"},
			Reason: "no key", Since: day0}
	}
	mustCommit(t, s, archive.Batch{From: 0, To: 1, Quarantine: []archive.Quarantined{q(math.MaxUint64, "qmax"), q(1<<63, "qhigh"), q(7, "q7")}})
	again := q(7, "q7")
	again.Reason = "other"
	mustCommit(t, s, archive.Batch{From: 1, To: 2, Quarantine: []archive.Quarantined{again, q(8, "q8")}})

	var got []archive.Quarantined
	cursor := ""
	for {
		items, next, err := s.ListQuarantine(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items...)
		if cursor = next; next == "" {
			break
		}
	}
	want := []archive.Quarantined{q(7, "q7"), q(8, "q8"), q(1<<63, "qhigh"), q(math.MaxUint64, "qmax")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ListQuarantine:\n got %+v\nwant %+v", got, want)
	}

	if err := s.TouchQuarantine(ctx, "q7", "bad key"); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchQuarantine(ctx, "nope", "x"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Touch(nope) = %v", err)
	}
	items, _, _ := s.ListQuarantine(ctx, "", 1)
	if items[0].Attempts != 1 || items[0].Reason != "bad key" {
		t.Errorf("after touch: %+v", items[0])
	}

	m := msg(7)
	m.MsgID, m.Seq = "q7", 7
	if err := s.ResolveQuarantine(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveQuarantine(ctx, m); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("second resolve = %v; want ErrNotFound", err)
	}
	if _, err := s.GetMessage(ctx, "q7"); err != nil {
		t.Error(err)
	}
	st, _ := s.Stats(ctx)
	if st.Quarantined != 3 || st.Messages != 1 {
		t.Errorf("Stats = %+v; want 3 quarantined, 1 message", st)
	}
}

// TestGaps: listed by seq (unsigned: above 2^63 after below), whenever
// detected; a gap reported again is kept once.
func TestGaps(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	g1 := archive.Gap{After: 1<<63 + 1, Before: math.MaxUint64, Detected: day0}
	g2 := archive.Gap{After: 3, Before: 9, Detected: day0.Add(time.Hour)}
	mustCommit(t, s, archive.Batch{From: 0, To: 1, Gaps: []archive.Gap{g2, g1}})
	mustCommit(t, s, archive.Batch{From: 1, To: 2, Gaps: []archive.Gap{g1}})
	got, err := s.ListGaps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []archive.Gap{g2, g1}) {
		t.Errorf("ListGaps = %+v", got)
	}
}

// TestDataKeysAndPurge: keys are unique per (day, id), listed by day then
// id, rewrapped in place; PurgeDay deletes what keep does not hold, and
// shreds the day's keys only when it kept nothing.
func TestDataKeysAndPurge(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	key := func(day, id string) archive.DataKey {
		return archive.DataKey{Day: day, ID: id, MasterID: "m1", Wrapped: []byte("w-" + day + id), CreatedAt: day0}
	}
	for _, k := range []archive.DataKey{key("2026-03-03", "k1"), key("2026-03-02", "k2"), key("2026-03-02", "k1"), key("2026-03-09", "k1")} {
		if err := s.PutDataKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutDataKey(ctx, key("2026-03-02", "k1")); !errors.Is(err, archive.ErrExists) {
		t.Errorf("second put = %v; want ErrExists", err)
	}
	re := key("2026-03-02", "k1")
	re.MasterID, re.Wrapped = "m2", []byte("rewrapped")
	if err := s.RewrapDataKeys(ctx, []archive.DataKey{re, key("2020-01-01", "gone")}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetDataKey(ctx, "2026-03-02", "k1"); err != nil || !reflect.DeepEqual(got, re) {
		t.Errorf("rewrapped key = %+v, %v", got, err)
	}
	ks, err := s.ListDataKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, k := range ks {
		order = append(order, k.Day+"/"+k.ID)
	}
	if want := []string{"2026-03-02/k1", "2026-03-02/k2", "2026-03-03/k1", "2026-03-09/k1"}; !reflect.DeepEqual(order, want) {
		t.Errorf("ListDataKeys = %v; want %v", order, want)
	}

	// Day 2026-03-02: m0..m3 (one withheld); day 2026-03-03: m1440.
	ms := []archive.Message{msg(0), msg(1), msg(2), msg(3), msg(24 * 60)}
	ms[3].Withheld, ms[3].Content, ms[3].Tokens, ms[3].KeyDay, ms[3].KeyID = archive.WithheldNoConsent, nil, nil, "", ""
	mustCommit(t, s, archive.Batch{From: 0, To: 5, Messages: ms})
	if days, err := s.Days(ctx); err != nil || !reflect.DeepEqual(days, []string{"2026-03-02", "2026-03-03", "2026-03-09"}) {
		t.Errorf("Days = %v, %v", days, err)
	}

	held := func(m archive.Message) bool { return m.MsgID == "m0001" }
	deleted, shredded, err := s.PurgeDay(ctx, "2026-03-02", held)
	if err != nil || deleted != 3 || shredded {
		t.Fatalf("PurgeDay(held) = %d, %v, %v; want 3, false", deleted, shredded, err)
	}
	if _, err := s.GetMessage(ctx, "m0001"); err != nil {
		t.Errorf("held message: %v", err)
	}
	if _, err := s.GetMessage(ctx, "m0000"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("purged message: %v", err)
	}
	if _, err := s.GetDataKey(ctx, "2026-03-02", "k1"); err != nil {
		t.Errorf("key of a day with a hold: %v", err)
	}
	st, _ := s.Stats(ctx)
	if st.Messages != 2 || st.Withheld != 0 {
		t.Errorf("Stats after purge = %+v; want 2 messages, 0 withheld", st)
	}

	deleted, shredded, err = s.PurgeDay(ctx, "2026-03-02", func(archive.Message) bool { return false })
	if err != nil || deleted != 1 || !shredded {
		t.Fatalf("PurgeDay(release) = %d, %v, %v; want 1, true", deleted, shredded, err)
	}
	if _, err := s.GetDataKey(ctx, "2026-03-02", "k2"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("shredded key: %v", err)
	}
	// A purged msgid can be stored again (the msgid table forgot it).
	res := mustCommit(t, s, archive.Batch{From: 5, To: 6, Messages: []archive.Message{msg(0)}})
	if res.Stored != 1 {
		t.Errorf("re-store after purge = %+v", res)
	}
	if days, err := s.Days(ctx); err != nil || !reflect.DeepEqual(days, []string{"2026-03-02", "2026-03-03", "2026-03-09"}) {
		t.Errorf("Days = %v, %v", days, err)
	}
}

// TestMigrate: Open on an existing schema changes nothing, the version
// row says 1, and a schema from a newer program is refused.
func TestMigrate(t *testing.T) {
	s, dsn := openStore(t)
	ctx := context.Background()
	mustCommit(t, s, archive.Batch{From: 0, To: 1, Messages: []archive.Message{msg(1)}})
	s2 := openAt(t, dsn, Options{})
	if _, err := s2.GetMessage(ctx, "m0001"); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT version FROM archive_schema`).Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("schema version = %d, %v", v, err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE archive_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dsn, Options{}); err == nil {
		t.Fatal("Open accepted a schema of version 99")
	}
}

// TestClosed: every method fails with ErrClosed after Close.
func TestClosed(t *testing.T) {
	s, _ := openStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cursor(context.Background()); !errors.Is(err, archive.ErrClosed) {
		t.Errorf("Cursor after Close = %v", err)
	}
	if _, err := s.Commit(context.Background(), archive.Batch{}); !errors.Is(err, archive.ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}
}

// TestOpenBadDSN: a DSN that does not parse is refused without echoing
// it (it may hold a password).
func TestOpenBadDSN(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@[bad", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open(bad DSN) = %v", err)
	}
}

// TestQuarantineAndStoredMsgIDs: a record whose msgid is stored is not
// quarantined (also when the message comes in the same batch), and a
// message committed leaves the quarantine.
func TestQuarantineAndStoredMsgIDs(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	q := func(id string, seq uint64) archive.Quarantined {
		return archive.Quarantined{Record: wecom.ChatRecord{Seq: seq, MsgID: id}, Reason: "no key", Since: day0}
	}
	mustCommit(t, s, archive.Batch{From: 0, To: 1, Messages: []archive.Message{msg(1)}, Quarantine: []archive.Quarantined{q("m0003", 3)}})
	mustCommit(t, s, archive.Batch{From: 1, To: 3, Messages: []archive.Message{msg(2)},
		Quarantine: []archive.Quarantined{q("m0001", 1), q("m0002", 2)}})
	items, _, err := s.ListQuarantine(ctx, "", 10)
	if err != nil || len(items) != 1 || items[0].Record.MsgID != "m0003" {
		t.Fatalf("ListQuarantine = %+v, %v; want m0003 alone", items, err)
	}
	mustCommit(t, s, archive.Batch{From: 3, To: 4, Messages: []archive.Message{msg(3)}})
	if items, _, err := s.ListQuarantine(ctx, "", 10); err != nil || len(items) != 0 {
		t.Errorf("ListQuarantine after committing m0003 = %+v, %v; want none", items, err)
	}
}

// TestDiskBytes counts the partitions' rows and indexes.
func TestDiskBytes(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	empty, err := s.DiskBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ms []archive.Message
	for i := range 2000 {
		ms = append(ms, msg(i))
	}
	mustCommit(t, s, archive.Batch{From: 0, To: 2000, Messages: ms})
	full, err := s.DiskBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if full-empty < 2000*50 {
		t.Errorf("DiskBytes grew by %d for 2,000 messages", full-empty)
	}
}

// TestOpenConcurrently: replicas starting at once on an empty schema
// create it once between them (the migration's advisory lock), and all
// open.
func TestOpenConcurrently(t *testing.T) {
	dsn := newSchemaDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn, Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	s := openAt(t, dsn, Options{})
	var rows int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM archive_schema`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("schema rows = %d, %v; want 1", rows, err)
	}
}
