// Package archivetest is the conformance suite every archive.Store
// backend must pass. A backend's test calls Run with a function that
// opens a fresh, empty store and registers its Close on t's cleanup
// (tolerating archive.ErrClosed: some cases close the store themselves):
//
//	func TestConformance(t *testing.T) {
//		archivetest.Run(t, func(t *testing.T) archive.Store {
//			s, err := embedded.Open(filepath.Join(t.TempDir(), "archive.db"), embedded.Options{})
//			...
//		})
//	}
//
// Besides what archive/store.go says, the suite holds backends to these
// readings of the contract:
//
//   - Times are kept to the microsecond at least and returned in UTC.
//   - StoredAt is kept as given; a zero StoredAt is set from the backend's
//     clock when the message is stored.
//   - Commit and ResolveQuarantine refuse what archive.CheckBatch or
//     archive.CheckMessage refuse (a withheld message with content, tokens,
//     media or a key; unsorted tokens; To before From; …), writing nothing:
//     content withheld is never kept, not even stripped.
//   - A quarantined record whose msgid is stored already is not added; a
//     message stored by Commit leaves the quarantine if its msgid was there.
//   - A message's day (PurgeDay, Days) is archive.DayOf: KeyDay, else the UTC
//     day of Time. PurgeDay destroys the day's keys (shredded = true) when
//     no message of the day is left.
//   - Page cursors name their listing: a Search cursor given to
//     ListQuarantine, or the reverse, is ErrInvalidCursor. The last page
//     has next == "", even when it is full.
//   - A Limit ≤ 0 means 100; above 1,000 means 1,000 (both listings).
//   - Every method on a closed store returns an error wrapping ErrClosed.
//   - Media queue: Commit and ResolveQuarantine add archive.MediaTasksOf of
//     each message they store (none for a duplicate: its tasks keep their
//     state); PendingMedia lists pending tasks due by a time, by (Next,
//     MsgID, SDKFileID); SetMediaState round-trips every field (UTC) and
//     says ErrNotFound for an unknown task; PurgeDay deletes the tasks of
//     the messages it deletes.
package archivetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

// OpenFunc opens a fresh, empty store; see the package comment.
type OpenFunc func(t *testing.T) archive.Store

// Run runs the suite, each case in a parallel subtest on a fresh store.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s archive.Store)
	}{
		{"CursorStartsAtZero", testCursorStartsAtZero},
		{"CommitStoresAndMovesCursor", testCommitStores},
		{"CommitFromAnotherCursorWritesNothing", testCursorMoved},
		{"CommitRefusesInvalidBatches", testCommitRefuses},
		{"CommitWithDoneContextWritesNothing", testCommitContextDone},
		{"DuplicatesAreCountedAndStoredOnce", testDuplicates},
		{"ConcurrentCommitsOneWins", testConcurrentCommits},
		{"ContentAndTokensExact", testContentExact},
		{"StoredAtSetWhenZero", testStoredAt},
		{"Withheld", testWithheld},
		{"Quarantine", testQuarantine},
		{"QuarantinePaging", testQuarantinePaging},
		{"QuarantineOfStoredMsgID", testQuarantineOfStored},
		{"ResolveQuarantineRefusesInvalid", testResolveRefuses},
		{"Recalls", testRecalls},
		{"GetMessageNotFound", testGetNotFound},
		{"SearchFilters", testSearchFilters},
		{"SearchMatchesReference", testSearchReference},
		{"SearchOrderAndTies", testSearchOrder},
		{"SearchPagingWhileCommitting", testSearchPagingWhileCommitting},
		{"SearchLimits", testSearchLimits},
		{"InvalidCursors", testInvalidCursors},
		{"SearchLargeToList", testLargeToList},
		{"DataKeys", testDataKeys},
		{"PurgeDay", testPurgeDay},
		{"Days", testDays},
		{"Gaps", testGaps},
		{"Stats", testStats},
		{"Close", testClose},
		{"MediaTasksFromCommit", testMediaTasksFromCommit},
		{"MediaState", testMediaState},
		{"MediaResolveAndPurge", testMediaResolveAndPurge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// --- helpers ---

// base is where the suite's messages start: milliseconds, as WeCom's
// msgtime, in UTC.
var base = time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)

// storedAt is the StoredAt the suite gives (so it can compare whole
// messages).
var storedAt = time.Date(2026, 3, 10, 1, 2, 3, 456789000, time.UTC)

// msg is a kept message from one person to others; room "" makes a 1:1
// chat (to must then hold one id).
func msg(id string, seq uint64, at time.Time, from string, to []string, room, typ string, tokens ...uint64) archive.Message {
	slices.Sort(tokens)
	tokens = slices.Compact(tokens)
	day := archive.KeyDay(at)
	m := archive.Message{
		MsgID:        id,
		Seq:          seq,
		PublicKeyVer: 2,
		Action:       wecom.ActionSend,
		Type:         typ,
		From:         from,
		ToList:       to,
		RoomID:       room,
		Time:         at,
		Conversation: archive.ConversationID(from, to, room),
		Consent:      "internal",
		KeyDay:       day,
		KeyID:        "k1",
		Content:      []byte("sealed:" + id), // stands for ciphertext
		Tokens:       tokens,
		StoredAt:     storedAt,
	}
	for _, id := range append([]string{from}, to...) {
		if wecom.IsExternalID(id) {
			m.External = true
			m.Consent = "agreed:msg_audit_approved"
		}
	}
	return m
}

// withheld turns m into a withheld one: the facts only.
func withheld(m archive.Message, why string) archive.Message {
	m.Withheld = why
	m.Consent = "unknown"
	m.Content, m.Tokens, m.Media, m.KeyID, m.KeyDay = nil, nil, nil, "", ""
	return m
}

func quarantined(msgID string, seq uint64, reason string) archive.Quarantined {
	return archive.Quarantined{
		Record: wecom.ChatRecord{Seq: seq, MsgID: msgID, PublicKeyVer: 3,
			EncryptRandomKey: "rk-" + msgID, EncryptChatMsg: "ecm-" + msgID},
		Reason:   reason,
		Since:    base,
		Attempts: 1,
	}
}

func commit(t testing.TB, s archive.Store, b archive.Batch) archive.CommitResult {
	t.Helper()
	r, err := s.Commit(context.Background(), b)
	if err != nil {
		t.Fatalf("Commit(from %d, to %d, %d messages): %v", b.From, b.To, len(b.Messages), err)
	}
	return r
}

// commitAll commits ms in one batch after the stored cursor.
func commitAll(t testing.TB, s archive.Store, ms ...archive.Message) archive.CommitResult {
	t.Helper()
	cur := cursor(t, s)
	return commit(t, s, archive.Batch{From: cur, To: cur + uint64(len(ms)), Messages: ms})
}

func cursor(t testing.TB, s archive.Store) uint64 {
	t.Helper()
	c, err := s.Cursor(context.Background())
	if err != nil {
		t.Fatalf("Cursor: %v", err)
	}
	return c
}

func get(t testing.TB, s archive.Store, id string) archive.Message {
	t.Helper()
	m, err := s.GetMessage(context.Background(), id)
	if err != nil {
		t.Fatalf("GetMessage(%s): %v", id, err)
	}
	return m
}

func mustNotFind(t testing.TB, s archive.Store, id string) {
	t.Helper()
	if _, err := s.GetMessage(context.Background(), id); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("GetMessage(%s) = %v, want ErrNotFound", id, err)
	}
}

// norm makes two messages comparable with reflect.DeepEqual: nil and
// empty slices alike, times as instants.
func norm(m archive.Message) archive.Message {
	if len(m.ToList) == 0 {
		m.ToList = nil
	}
	if len(m.Content) == 0 {
		m.Content = nil
	}
	if len(m.Tokens) == 0 {
		m.Tokens = nil
	}
	if len(m.Media) == 0 {
		m.Media = nil
	}
	m.Time = time.Unix(0, m.Time.UnixNano()).UTC()
	m.StoredAt = time.Unix(0, m.StoredAt.UnixNano()).UTC()
	return m
}

func checkUTC(t testing.TB, what string, at time.Time) {
	t.Helper()
	if !at.IsZero() && at.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, at.Location())
	}
}

// sameMessage fails t if got is not want (want.RecalledBy included).
func sameMessage(t testing.TB, got, want archive.Message) {
	t.Helper()
	checkUTC(t, got.MsgID+" time", got.Time)
	checkUTC(t, got.MsgID+" stored_at", got.StoredAt)
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("message %s:\n got %+v\nwant %+v", want.MsgID, g, w)
	}
}

func ids(ms []archive.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.MsgID
	}
	return out
}

func search(t testing.TB, s archive.Store, q archive.Query) ([]archive.Message, string) {
	t.Helper()
	ms, next, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return ms, next
}

// searchAll follows the cursors to the end.
func searchAll(t testing.TB, s archive.Store, q archive.Query) []archive.Message {
	t.Helper()
	var all []archive.Message
	for range 100000 {
		ms, next := search(t, s, q)
		all = append(all, ms...)
		if next == "" {
			return all
		}
		if len(ms) == 0 {
			t.Fatalf("Search(%+v) returned an empty page with a next cursor", q)
		}
		q.Cursor = next
	}
	t.Fatalf("Search(%+v): no end of pages", q)
	return nil
}

// matches is the reference reading of archive.Query's filters.
func matches(q archive.Query, m archive.Message) bool {
	party := func(id string) bool { return m.From == id || slices.Contains(m.ToList, id) }
	switch {
	case q.User != "" && !party(q.User),
		q.Customer != "" && !party(q.Customer),
		q.Room != "" && m.RoomID != q.Room,
		q.Conversation != "" && m.Conversation != q.Conversation,
		q.Type != "" && m.Type != q.Type,
		!q.From.IsZero() && m.Time.Before(q.From),
		!q.To.IsZero() && !m.Time.Before(q.To):
		return false
	}
	for _, tok := range q.Tokens {
		if _, ok := slices.BinarySearch(m.Tokens, tok); !ok {
			return false
		}
	}
	return true
}

// less orders messages as Search does when Ascending: by Time, then MsgID.
func less(a, b archive.Message) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.MsgID, b.MsgID)
}

// expect is the reference answer of q over ms (all pages).
func expect(q archive.Query, ms []archive.Message) []string {
	var out []archive.Message
	for _, m := range ms {
		if matches(q, m) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, less)
	if !q.Ascending {
		slices.Reverse(out)
	}
	return ids(out)
}

// --- cursor and commit ---

func testCursorStartsAtZero(t *testing.T, s archive.Store) {
	if c := cursor(t, s); c != 0 {
		t.Errorf("Cursor of an empty store = %d, want 0", c)
	}
}

func testCommitStores(t *testing.T, s archive.Store) {
	a := msg("m1", 3, base, "alice", []string{"bob"}, "", "text", 1, 2)
	b := msg("m2", 5, base.Add(time.Second), "bob", []string{"alice", "carol"}, "r1", "image")
	b.Media = []wecom.ChatMedia{{Type: "image", SDKFileID: "sdk-1", MD5Sum: "abc", Size: 1234}}
	r := commit(t, s, archive.Batch{From: 0, To: 7, Messages: []archive.Message{a, b}})
	if r != (archive.CommitResult{Stored: 2}) {
		t.Errorf("CommitResult = %+v, want 2 stored", r)
	}
	if c := cursor(t, s); c != 7 {
		t.Errorf("Cursor = %d, want 7", c)
	}
	sameMessage(t, get(t, s, "m1"), a)
	sameMessage(t, get(t, s, "m2"), b)

	// An empty batch moves the cursor alone (every record quarantined,
	// or a pull past records that are none of ours).
	commit(t, s, archive.Batch{From: 7, To: 9})
	if c := cursor(t, s); c != 9 {
		t.Errorf("Cursor after an empty batch = %d, want 9", c)
	}
}

// nothingWritten checks that a refused Commit left the store as it was:
// cursor cur, none of b's messages, quarantine and gaps, stats as before.
func nothingWritten(t *testing.T, s archive.Store, cur uint64, b archive.Batch, before archive.Stats) {
	t.Helper()
	ctx := context.Background()
	if c := cursor(t, s); c != cur {
		t.Errorf("Cursor = %d, want %d", c, cur)
	}
	for _, m := range b.Messages {
		if _, err := s.GetMessage(ctx, m.MsgID); err == nil && m.MsgID != "" {
			t.Errorf("message %s stored by a refused Commit", m.MsgID)
		}
	}
	qs, _, err := s.ListQuarantine(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		for _, bq := range b.Quarantine {
			if q.Record.MsgID == bq.Record.MsgID {
				t.Errorf("quarantined %s by a refused Commit", q.Record.MsgID)
			}
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != before.Messages || st.Quarantined != before.Quarantined || st.Gaps != before.Gaps || st.Withheld != before.Withheld {
		t.Errorf("Stats after a refused Commit = %+v, want counts of %+v", st, before)
	}
}

func stats(t testing.TB, s archive.Store) archive.Stats {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func testCursorMoved(t *testing.T, s archive.Store) {
	ctx := context.Background()
	bad := archive.Batch{From: 3, To: 9,
		Messages:   []archive.Message{msg("m1", 9, base, "alice", []string{"bob"}, "", "text")},
		Quarantine: []archive.Quarantined{quarantined("q1", 8, "no key")},
		Gaps:       []archive.Gap{{After: 4, Before: 8, Detected: base}},
	}
	before := stats(t, s)
	if _, err := s.Commit(ctx, bad); !errors.Is(err, archive.ErrCursorMoved) {
		t.Fatalf("Commit from 3 on a cursor of 0 = %v, want ErrCursorMoved", err)
	}
	nothingWritten(t, s, 0, bad, before)

	commitAll(t, s, msg("m0", 1, base, "alice", []string{"bob"}, "", "text"))
	before = stats(t, s)
	bad.From = 0
	if _, err := s.Commit(ctx, bad); !errors.Is(err, archive.ErrCursorMoved) {
		t.Fatalf("Commit from 0 on a cursor of 1 = %v, want ErrCursorMoved", err)
	}
	nothingWritten(t, s, 1, bad, before)
	gaps, err := s.ListGaps(ctx)
	if err != nil || len(gaps) != 0 {
		t.Errorf("ListGaps after refused Commits = %v, %v; want none", gaps, err)
	}
}

func testCommitRefuses(t *testing.T, s archive.Store) {
	ctx := context.Background()
	commitAll(t, s, msg("m0", 1, base, "alice", []string{"bob"}, "", "text"))
	good := msg("good", 2, base, "alice", []string{"bob"}, "", "text", 5)
	w := withheld(msg("w", 3, base, "alice", []string{"wmX"}, "", "text"), archive.WithheldNoConsent)
	cases := []struct {
		name string
		edit func(b *archive.Batch)
	}{
		{"to before from", func(b *archive.Batch) { b.To = 0 }},
		{"empty msgid", func(b *archive.Batch) { b.Messages[1].MsgID = "" }},
		{"withheld with content", func(b *archive.Batch) { b.Messages[2].Content = []byte("sealed") }},
		{"withheld with tokens", func(b *archive.Batch) { b.Messages[2].Tokens = []uint64{7} }},
		{"withheld with media", func(b *archive.Batch) { b.Messages[2].Media = []wecom.ChatMedia{{Type: "image", SDKFileID: "x"}} }},
		{"withheld with a key", func(b *archive.Batch) { b.Messages[2].KeyID = "k1" }},
		{"unsorted tokens", func(b *archive.Batch) { b.Messages[1].Tokens = []uint64{9, 3} }},
		{"repeated tokens", func(b *archive.Batch) { b.Messages[1].Tokens = []uint64{3, 3} }},
		{"bad key day", func(b *archive.Batch) { b.Messages[1].KeyDay = "04/03/2026" }},
		{"quarantine without msgid", func(b *archive.Batch) { b.Quarantine[0].Record.MsgID = "" }},
		{"gap backwards", func(b *archive.Batch) { b.Gaps = []archive.Gap{{After: 5, Before: 4}} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := archive.Batch{From: 1, To: 5,
				Messages:   []archive.Message{good, good, w},
				Quarantine: []archive.Quarantined{quarantined("q", 4, "no key")},
			}
			b.Messages = slices.Clone(b.Messages)
			b.Messages[1].MsgID = "good2"
			b.Quarantine = slices.Clone(b.Quarantine)
			tc.edit(&b)
			before := stats(t, s)
			_, err := s.Commit(ctx, b)
			if err == nil || errors.Is(err, archive.ErrCursorMoved) {
				t.Fatalf("Commit = %v, want a refusal", err)
			}
			nothingWritten(t, s, 1, b, before)
		})
	}
	// The valid batch goes in, withheld message and all.
	b := archive.Batch{From: 1, To: 5, Messages: []archive.Message{good, w}}
	if r := commit(t, s, b); r.Stored != 2 {
		t.Errorf("valid batch: %+v, want 2 stored", r)
	}
}

func testCommitContextDone(t *testing.T, s archive.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := archive.Batch{From: 0, To: 1, Messages: []archive.Message{msg("m1", 1, base, "a", []string{"b"}, "", "text")}}
	before := stats(t, s)
	if _, err := s.Commit(ctx, b); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context = %v, want context.Canceled", err)
	}
	nothingWritten(t, s, 0, b, before)
}

func testDuplicates(t *testing.T, s archive.Store) {
	first := msg("dup", 1, base, "alice", []string{"bob"}, "", "text", 1)
	again := first
	again.Content = []byte("sealed:another copy")
	again.Seq = 2
	r := commit(t, s, archive.Batch{From: 0, To: 2, Messages: []archive.Message{first, again}})
	if r != (archive.CommitResult{Stored: 1, Duplicates: 1}) {
		t.Errorf("batch with a msgid twice: %+v, want 1 stored, 1 duplicate", r)
	}
	other := msg("other", 3, base.Add(time.Second), "alice", []string{"bob"}, "", "text", 1)
	r = commit(t, s, archive.Batch{From: 2, To: 4, Messages: []archive.Message{other, again}})
	if r != (archive.CommitResult{Stored: 1, Duplicates: 1}) {
		t.Errorf("batch re-pulling a stored msgid: %+v, want 1 stored, 1 duplicate", r)
	}
	if c := cursor(t, s); c != 4 {
		t.Errorf("Cursor = %d, want 4 (duplicates do not stop it)", c)
	}
	sameMessage(t, get(t, s, "dup"), first)
	got := searchAll(t, s, archive.Query{User: "alice"})
	if want := []string{"other", "dup"}; !slices.Equal(ids(got), want) {
		t.Errorf("Search = %v, want %v", ids(got), want)
	}
	if st := stats(t, s); st.Messages != 2 {
		t.Errorf("Stats.Messages = %d, want 2", st.Messages)
	}
}

func testConcurrentCommits(t *testing.T, s archive.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var ms []archive.Message
			for j := range 20 {
				ms = append(ms, msg(fmt.Sprintf("p%d-%d", i, j), uint64(j+1), base.Add(time.Duration(j)*time.Second),
					fmt.Sprint("user", i), []string{"bob"}, "", "text", uint64(j)))
			}
			_, errs[i] = s.Commit(context.Background(), archive.Batch{From: 0, To: 20, Messages: ms})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("puller %d and %d both committed from 0", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, archive.ErrCursorMoved):
			t.Errorf("puller %d: %v, want nil or ErrCursorMoved", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no puller committed")
	}
	if c := cursor(t, s); c != 20 {
		t.Errorf("Cursor = %d, want 20", c)
	}
	for i := range n {
		_, err := s.GetMessage(context.Background(), fmt.Sprintf("p%d-0", i))
		if (err == nil) != (i == winner) {
			t.Errorf("puller %d's message: %v (winner %d)", i, err, winner)
		}
	}
	if st := stats(t, s); st.Messages != 20 {
		t.Errorf("Stats.Messages = %d, want 20", st.Messages)
	}
}

func testContentExact(t *testing.T, s archive.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ms []archive.Message
	for i, size := range []int{0, 1, 12, 255, 4096, 70000} {
		m := msg(fmt.Sprint("c", i), uint64(i+1), base.Add(time.Duration(i)*time.Millisecond), "alice", []string{"bob"}, "", "text")
		m.Content = make([]byte, size)
		for j := range m.Content {
			m.Content[j] = byte(rng.Uint32())
		}
		if size > 0 {
			m.Content[0] = 0 // a leading and a trailing zero byte survive
			m.Content[size-1] = 0
		}
		m.Tokens = nil
		for range i * 40 {
			m.Tokens = append(m.Tokens, rng.Uint64())
		}
		m.Tokens = append(m.Tokens, 0, 1, 1<<63, ^uint64(0))
		slices.Sort(m.Tokens)
		m.Tokens = slices.Compact(m.Tokens)
		m.Media = []wecom.ChatMedia{{Type: "file", SDKFileID: "Cts" + strings.Repeat("x", 300), MD5Sum: "d41d8cd98f00b204e9800998ecf8427e",
			Size: 1 << 40, FileName: "季度报告 Q1.pdf"}, {Type: "voice", SDKFileID: "v"}}
		m.PublicKeyVer = ^uint32(0)
		m.Seq = ^uint64(0) - uint64(i)
		ms = append(ms, m)
	}
	ms[1].ToList = []string{"bob", "carol", "wmExternal", "机器人"}
	ms[1].RoomID = "wrRoom"
	ms[1].Conversation = archive.ConversationID(ms[1].From, ms[1].ToList, ms[1].RoomID)
	commitAll(t, s, ms...)
	for _, m := range ms {
		got := get(t, s, m.MsgID)
		sameMessage(t, got, m)
		if !bytes.Equal(got.Content, m.Content) {
			t.Errorf("%s: content of %d bytes came back as %d bytes", m.MsgID, len(m.Content), len(got.Content))
		}
	}
	// Search returns the same messages, content included.
	for _, got := range searchAll(t, s, archive.Query{User: "alice"}) {
		i := slices.IndexFunc(ms, func(m archive.Message) bool { return m.MsgID == got.MsgID })
		sameMessage(t, got, ms[i])
	}
}

func testStoredAt(t *testing.T, s archive.Store) {
	m := msg("m1", 1, base, "alice", []string{"bob"}, "", "text")
	m.StoredAt = time.Time{}
	commitAll(t, s, m)
	if got := get(t, s, "m1"); got.StoredAt.IsZero() {
		t.Error("StoredAt of a message given none is zero, want the store's clock")
	}
}

func testWithheld(t *testing.T, s archive.Store) {
	w := withheld(msg("w1", 1, base, "alice", []string{"wmCust"}, "", "text"), archive.WithheldNoConsent)
	n := withheld(msg("w2", 2, base.Add(time.Second), "bob", []string{"alice", "wmCust"}, "r1", "image"), archive.WithheldNotPermitted)
	k := msg("k1", 3, base.Add(2*time.Second), "alice", []string{"bob"}, "", "text", 4)
	commitAll(t, s, w, n, k)
	for _, want := range []archive.Message{w, n} {
		got := get(t, s, want.MsgID)
		sameMessage(t, got, want)
		if len(got.Content) != 0 || len(got.Tokens) != 0 || len(got.Media) != 0 {
			t.Errorf("withheld %s came back with content, tokens or media", want.MsgID)
		}
	}
	// The facts are searchable.
	if got := ids(searchAll(t, s, archive.Query{Customer: "wmCust"})); !slices.Equal(got, []string{"w2", "w1"}) {
		t.Errorf("Search(customer) = %v, want [w2 w1]", got)
	}
	st := stats(t, s)
	if st.Messages != 3 || st.Withheld != 2 {
		t.Errorf("Stats = %+v, want 3 messages, 2 withheld", st)
	}
}

// --- quarantine ---

func listQuarantine(t testing.TB, s archive.Store) []archive.Quarantined {
	t.Helper()
	var all []archive.Quarantined
	cur := ""
	for range 10000 {
		qs, next, err := s.ListQuarantine(context.Background(), cur, 2)
		if err != nil {
			t.Fatalf("ListQuarantine: %v", err)
		}
		all = append(all, qs...)
		if next == "" {
			return all
		}
		cur = next
	}
	t.Fatal("ListQuarantine: no end of pages")
	return nil
}

func quarantinedIDs(qs []archive.Quarantined) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.Record.MsgID
	}
	return out
}

func sameQuarantined(t testing.TB, got, want archive.Quarantined) {
	t.Helper()
	checkUTC(t, "since", got.Since)
	got.Since = time.Unix(0, got.Since.UnixNano()).UTC()
	want.Since = time.Unix(0, want.Since.UnixNano()).UTC()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("quarantined:\n got %+v\nwant %+v", got, want)
	}
}

func testQuarantine(t *testing.T, s archive.Store) {
	ctx := context.Background()
	q2, q5, q3 := quarantined("q2", 2, "no key for version 3"), quarantined("q5", 5, "10006"), quarantined("q3", 3, "no key for version 3")
	commit(t, s, archive.Batch{From: 0, To: 5, Quarantine: []archive.Quarantined{q5, q2, q3},
		Messages: []archive.Message{msg("m4", 4, base, "alice", []string{"bob"}, "", "text")}})
	got := listQuarantine(t, s)
	if want := []string{"q2", "q3", "q5"}; !slices.Equal(quarantinedIDs(got), want) {
		t.Fatalf("ListQuarantine = %v, want %v (oldest seq first)", quarantinedIDs(got), want)
	}
	sameQuarantined(t, got[0], q2)
	if st := stats(t, s); st.Quarantined != 3 {
		t.Errorf("Stats.Quarantined = %d, want 3", st.Quarantined)
	}

	// Touch: one more attempt, the latest reason.
	if err := s.TouchQuarantine(ctx, "q3", "key of version 3 does not fit"); err != nil {
		t.Fatalf("TouchQuarantine: %v", err)
	}
	if err := s.TouchQuarantine(ctx, "nope", "x"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("TouchQuarantine(unknown) = %v, want ErrNotFound", err)
	}
	want3 := q3
	want3.Attempts, want3.Reason = 2, "key of version 3 does not fit"
	sameQuarantined(t, listQuarantine(t, s)[1], want3)

	// Quarantined again by a later batch (a re-pull): left as it is.
	again := quarantined("q3", 3, "another reason")
	again.Attempts = 7
	commit(t, s, archive.Batch{From: 5, To: 6, Quarantine: []archive.Quarantined{again, again}})
	got = listQuarantine(t, s)
	if len(got) != 3 {
		t.Fatalf("ListQuarantine after re-quarantining q3 = %v, want 3 entries", quarantinedIDs(got))
	}
	sameQuarantined(t, got[1], want3)

	// Resolve: the message is stored and the entry gone, in one step.
	m3 := msg("q3", 3, base.Add(time.Minute), "carol", []string{"bob"}, "", "text", 9)
	if err := s.ResolveQuarantine(ctx, m3); err != nil {
		t.Fatalf("ResolveQuarantine: %v", err)
	}
	sameMessage(t, get(t, s, "q3"), m3)
	if got := quarantinedIDs(listQuarantine(t, s)); !slices.Equal(got, []string{"q2", "q5"}) {
		t.Errorf("ListQuarantine after resolving q3 = %v, want [q2 q5]", got)
	}
	if err := s.ResolveQuarantine(ctx, m3); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("second ResolveQuarantine = %v, want ErrNotFound", err)
	}
	if err := s.TouchQuarantine(ctx, "q3", "x"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("TouchQuarantine(resolved) = %v, want ErrNotFound", err)
	}
	other := msg("never", 9, base, "alice", []string{"bob"}, "", "text")
	if err := s.ResolveQuarantine(ctx, other); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("ResolveQuarantine(never quarantined) = %v, want ErrNotFound", err)
	}
	mustNotFind(t, s, "never")
	if got := ids(searchAll(t, s, archive.Query{Tokens: []uint64{9}})); !slices.Equal(got, []string{"q3"}) {
		t.Errorf("Search for the resolved message's token = %v, want [q3]", got)
	}
	st := stats(t, s)
	if st.Quarantined != 2 || st.Messages != 2 {
		t.Errorf("Stats = %+v, want 2 quarantined, 2 messages", st)
	}

	// A message committed (a re-pull decrypted it) leaves the quarantine.
	m5 := msg("q5", 5, base.Add(2*time.Minute), "carol", []string{"bob"}, "", "text")
	commit(t, s, archive.Batch{From: 6, To: 7, Messages: []archive.Message{m5}})
	if got := quarantinedIDs(listQuarantine(t, s)); !slices.Equal(got, []string{"q2"}) {
		t.Errorf("ListQuarantine after committing q5 = %v, want [q2]", got)
	}
	if st := stats(t, s); st.Quarantined != 1 {
		t.Errorf("Stats.Quarantined = %d, want 1", st.Quarantined)
	}

	// Concurrent retries of one record: one resolves, the others find it gone.
	m2 := msg("q2", 2, base, "carol", []string{"bob"}, "", "text")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { errs[i] = s.ResolveQuarantine(ctx, m2) })
	}
	wg.Wait()
	okCount := 0
	for _, err := range errs {
		switch {
		case err == nil:
			okCount++
		case !errors.Is(err, archive.ErrNotFound):
			t.Errorf("concurrent ResolveQuarantine: %v", err)
		}
	}
	if okCount != 1 {
		t.Errorf("%d concurrent ResolveQuarantine succeeded, want 1", okCount)
	}
}

func testQuarantinePaging(t *testing.T, s archive.Store) {
	ctx := context.Background()
	var qs []archive.Quarantined
	for i := range 1105 {
		qs = append(qs, quarantined(fmt.Sprintf("q%04d", i), uint64(2000-i), "no key"))
	}
	commit(t, s, archive.Batch{From: 0, To: 2000, Quarantine: qs})
	page, next, err := s.ListQuarantine(ctx, "", 0)
	if err != nil || len(page) != 100 || next == "" {
		t.Fatalf("ListQuarantine(limit 0) = %d items, next %q, %v; want 100 and a next page", len(page), next, err)
	}
	if page[0].Record.MsgID != "q1104" {
		t.Errorf("first = %s, want q1104 (lowest seq)", page[0].Record.MsgID)
	}
	page, next, err = s.ListQuarantine(ctx, next, 5000)
	if err != nil || len(page) != 1000 || next == "" {
		t.Fatalf("ListQuarantine(limit 5000) = %d items, next %q, %v; want 1000 and a next page", len(page), next, err)
	}
	page, next, err = s.ListQuarantine(ctx, next, 5)
	if err != nil || len(page) != 5 || next != "" {
		t.Fatalf("last page (exactly full) = %d items, next %q, %v; want 5 and no next", len(page), next, err)
	}
	seen := map[string]bool{}
	for _, q := range listQuarantine(t, s) {
		if seen[q.Record.MsgID] {
			t.Fatalf("%s listed twice", q.Record.MsgID)
		}
		seen[q.Record.MsgID] = true
	}
	if len(seen) != 1105 {
		t.Errorf("paged through %d entries, want 1105", len(seen))
	}
}

func testQuarantineOfStored(t *testing.T, s archive.Store) {
	m := msg("m1", 1, base, "alice", []string{"bob"}, "", "text")
	commitAll(t, s, m)
	// A later batch (a re-pull) that cannot decrypt it: it is stored,
	// so not quarantined. In one batch, the message wins too.
	commit(t, s, archive.Batch{From: 1, To: 3,
		Quarantine: []archive.Quarantined{quarantined("m1", 1, "no key"), quarantined("m2", 2, "no key")},
		Messages:   []archive.Message{msg("m2", 2, base, "alice", []string{"bob"}, "", "text")},
	})
	if got := listQuarantine(t, s); len(got) != 0 {
		t.Errorf("ListQuarantine = %v, want nothing (both are stored)", quarantinedIDs(got))
	}
	if st := stats(t, s); st.Quarantined != 0 || st.Messages != 2 {
		t.Errorf("Stats = %+v, want 0 quarantined, 2 messages", st)
	}
}

func testResolveRefuses(t *testing.T, s archive.Store) {
	ctx := context.Background()
	commit(t, s, archive.Batch{From: 0, To: 1, Quarantine: []archive.Quarantined{quarantined("q1", 1, "no key")}})
	bad := withheld(msg("q1", 1, base, "alice", []string{"wmX"}, "", "text"), archive.WithheldNoConsent)
	bad.Content = []byte("sealed")
	if err := s.ResolveQuarantine(ctx, bad); err == nil || errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("ResolveQuarantine(withheld with content) = %v, want a refusal", err)
	}
	mustNotFind(t, s, "q1")
	if got := listQuarantine(t, s); len(got) != 1 {
		t.Errorf("quarantine after a refused resolve = %v, want q1 still there", quarantinedIDs(got))
	}
	// Resolving a record as withheld (its consent is missing) is fine.
	ok := withheld(msg("q1", 1, base, "alice", []string{"wmX"}, "", "text"), archive.WithheldNoConsent)
	if err := s.ResolveQuarantine(ctx, ok); err != nil {
		t.Fatalf("ResolveQuarantine(withheld): %v", err)
	}
	sameMessage(t, get(t, s, "q1"), ok)
}

// --- recalls and reads ---

func testRecalls(t *testing.T, s archive.Store) {
	recall := func(id, pre string, seq uint64, at time.Time) archive.Message {
		m := msg(id, seq, at, "alice", []string{"bob"}, "", "revoke")
		m.Action, m.PreMsgID, m.Content, m.Tokens = wecom.ActionRecall, pre, nil, nil
		return m
	}
	orig1 := msg("o1", 1, base, "alice", []string{"bob"}, "", "text", 1)
	orig2 := msg("o2", 3, base.Add(time.Second), "alice", []string{"bob"}, "", "text", 1)
	orig3 := msg("o3", 5, base.Add(2*time.Second), "alice", []string{"bob"}, "", "text", 1)
	// o1 then its recall in a later batch; o2's recall before o2 (in a
	// later batch); o3 and its recall in one batch, recall first.
	commit(t, s, archive.Batch{From: 0, To: 1, Messages: []archive.Message{orig1}})
	commit(t, s, archive.Batch{From: 1, To: 4, Messages: []archive.Message{recall("r1", "o1", 2, base.Add(time.Minute)), recall("r2", "o2", 4, base.Add(2*time.Minute))}})
	commit(t, s, archive.Batch{From: 4, To: 7, Messages: []archive.Message{orig2, recall("r3", "o3", 6, base.Add(3*time.Minute)), orig3}})
	// A recall of a message never received is kept all the same.
	commit(t, s, archive.Batch{From: 7, To: 8, Messages: []archive.Message{recall("r4", "gone", 8, base.Add(4*time.Minute))}})
	for orig, by := range map[string]string{"o1": "r1", "o2": "r2", "o3": "r3"} {
		if got := get(t, s, orig).RecalledBy; got != by {
			t.Errorf("GetMessage(%s).RecalledBy = %q, want %q", orig, got, by)
		}
	}
	for _, r := range []string{"r1", "r2", "r3", "r4"} {
		if got := get(t, s, r); got.RecalledBy != "" || got.PreMsgID == "" {
			t.Errorf("recall %s: RecalledBy %q, PreMsgID %q", r, got.RecalledBy, got.PreMsgID)
		}
	}
	got := searchAll(t, s, archive.Query{Tokens: []uint64{1}, Ascending: true})
	want := map[string]string{"o1": "r1", "o2": "r2", "o3": "r3"}
	if len(got) != 3 {
		t.Fatalf("Search = %v, want o1 o2 o3", ids(got))
	}
	for _, m := range got {
		if m.RecalledBy != want[m.MsgID] {
			t.Errorf("Search: %s RecalledBy %q, want %q", m.MsgID, m.RecalledBy, want[m.MsgID])
		}
	}
}

func testGetNotFound(t *testing.T, s archive.Store) {
	mustNotFind(t, s, "nope")
	commitAll(t, s, msg("m1", 1, base, "alice", []string{"bob"}, "", "text"))
	mustNotFind(t, s, "m")
	mustNotFind(t, s, "m1 ")
	mustNotFind(t, s, "M1")
}

// --- search ---

// dataset is a small archive covering every filter: internal users
// alice, bob, carol; external wmCust1, woCust2; rooms r1, r2.
func dataset() []archive.Message {
	m := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	rec := msg("m7", 7, m(6), "carol", []string{"alice", "bob"}, "r2", "revoke")
	rec.Action, rec.PreMsgID, rec.Content, rec.Tokens = wecom.ActionRecall, "m5", nil, nil
	sw := msg("m9", 9, m(8), "bob", nil, "", "")
	sw.Action, sw.Conversation, sw.Content = wecom.ActionSwitch, "", nil
	return []archive.Message{
		msg("m1", 1, m(0), "alice", []string{"bob"}, "", "text", 1, 2),
		msg("m2", 2, m(1), "bob", []string{"alice"}, "", "text", 2, 3),
		msg("m3", 3, m(2), "alice", []string{"bob", "carol", "wmCust1"}, "r1", "image"),
		msg("m4", 4, m(3), "wmCust1", []string{"alice"}, "", "text", 1, 3),
		msg("m5", 5, m(4), "carol", []string{"alice", "bob"}, "r2", "text", 1, 2, 3),
		msg("m6", 6, m(5), "woCust2", []string{"carol"}, "", "voice"),
		rec,
		withheld(msg("m8", 8, m(7), "alice", []string{"woCust2"}, "", "text"), archive.WithheldNoConsent),
		sw,
		msg("m10", 10, m(9).Add(24*time.Hour), "bob", []string{"wmCust1", "carol", "alice"}, "r1", "text", 2, 3),
	}
}

func testSearchFilters(t *testing.T, s archive.Store) {
	all := dataset()
	commitAll(t, s, all...)
	m := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	cases := []struct {
		name string
		q    archive.Query
		want []string
	}{
		{"everything, newest first", archive.Query{}, []string{"m10", "m9", "m8", "m7", "m6", "m5", "m4", "m3", "m2", "m1"}},
		{"ascending", archive.Query{Ascending: true, To: m(3)}, []string{"m1", "m2", "m3"}},
		{"user as sender or receiver", archive.Query{User: "alice"}, []string{"m10", "m8", "m7", "m5", "m4", "m3", "m2", "m1"}},
		{"user in a room's tolist", archive.Query{User: "carol"}, []string{"m10", "m7", "m6", "m5", "m3"}},
		{"customer as receiver", archive.Query{Customer: "woCust2"}, []string{"m8", "m6"}},
		{"customer as sender or in a room", archive.Query{Customer: "wmCust1"}, []string{"m10", "m4", "m3"}},
		{"user and customer", archive.Query{User: "alice", Customer: "wmCust1"}, []string{"m10", "m4", "m3"}},
		{"room", archive.Query{Room: "r1"}, []string{"m10", "m3"}},
		{"conversation of a 1:1 chat", archive.Query{Conversation: "single:alice|bob"}, []string{"m2", "m1"}},
		{"conversation of a room", archive.Query{Conversation: "room:r2"}, []string{"m7", "m5"}},
		{"type", archive.Query{Type: "text"}, []string{"m10", "m8", "m5", "m4", "m2", "m1"}},
		{"type and user", archive.Query{Type: "text", User: "carol"}, []string{"m10", "m5"}},
		{"from is inclusive", archive.Query{From: m(4)}, []string{"m10", "m9", "m8", "m7", "m6", "m5"}},
		{"to is exclusive", archive.Query{To: m(4)}, []string{"m4", "m3", "m2", "m1"}},
		{"range", archive.Query{From: m(1), To: m(3)}, []string{"m3", "m2"}},
		{"empty range", archive.Query{From: m(3), To: m(3)}, nil},
		{"one token", archive.Query{Tokens: []uint64{1}}, []string{"m5", "m4", "m1"}},
		{"all tokens must be there", archive.Query{Tokens: []uint64{1, 2}}, []string{"m5", "m1"}},
		{"tokens in any order", archive.Query{Tokens: []uint64{3, 1, 2}}, []string{"m5"}},
		{"unknown token", archive.Query{Tokens: []uint64{1, 99}}, nil},
		{"tokens, user and range", archive.Query{Tokens: []uint64{2}, User: "bob", From: m(1)}, []string{"m10", "m5", "m2"}},
		{"tokens and room", archive.Query{Tokens: []uint64{3}, Room: "r1"}, []string{"m10"}},
		{"unknown user", archive.Query{User: "dave"}, nil},
		{"user who is only a customer's counterpart", archive.Query{User: "woCust2"}, []string{"m8", "m6"}},
		{"room and conversation that disagree", archive.Query{Room: "r1", Conversation: "room:r2"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if want := expect(tc.q, all); !slices.Equal(want, tc.want) {
				t.Fatalf("the suite's reference disagrees with the case: %v vs %v", want, tc.want)
			}
			got := searchAll(t, s, tc.q)
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("Search = %v, want %v", ids(got), tc.want)
			}
			// The same with pages of 1 and 3.
			for _, limit := range []int{1, 3} {
				q := tc.q
				q.Limit = limit
				if got := ids(searchAll(t, s, q)); !slices.Equal(got, tc.want) {
					t.Errorf("Search, pages of %d = %v, want %v", limit, got, tc.want)
				}
			}
		})
	}
	// Messages come back whole, RecalledBy filled.
	got := searchAll(t, s, archive.Query{Room: "r2"})
	want5 := all[4]
	want5.RecalledBy = "m7"
	sameMessage(t, got[1], want5)
	sameMessage(t, got[0], all[6])
}

// randomArchive makes n messages over days days among a few people, rooms
// and tokens, so that filters overlap.
func randomArchive(rng *rand.Rand, n, days int) []archive.Message {
	users := []string{"alice", "bob", "carol", "dave", "erin", "wmC1", "wmC2", "woC3"}
	rooms := []string{"", "", "r1", "r2", "r3"}
	types := []string{"text", "image", "voice", "file"}
	out := make([]archive.Message, n)
	for i := range out {
		at := base.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour)))).Truncate(time.Millisecond)
		if i%7 == 0 && i > 0 {
			at = out[i-1].Time // ties on Time
		}
		from := users[rng.IntN(len(users))]
		room := rooms[rng.IntN(len(rooms))]
		var to []string
		if room == "" {
			to = []string{users[rng.IntN(len(users))]}
		} else {
			for _, u := range users {
				if u != from && rng.IntN(2) == 0 {
					to = append(to, u)
				}
			}
		}
		var toks []uint64
		for range rng.IntN(6) {
			toks = append(toks, uint64(rng.IntN(12)))
		}
		m := msg(fmt.Sprintf("r%05d", i), uint64(i+1), at, from, to, room, types[rng.IntN(len(types))], toks...)
		if rng.IntN(10) == 0 {
			m = withheld(m, archive.WithheldNoConsent)
		}
		out[i] = m
	}
	return out
}

func randomQuery(rng *rand.Rand, days int) archive.Query {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var q archive.Query
	if rng.IntN(2) == 0 {
		q.User = pick("alice", "bob", "carol", "dave", "erin")
	}
	if rng.IntN(4) == 0 {
		q.Customer = pick("wmC1", "wmC2", "woC3")
	}
	if rng.IntN(5) == 0 {
		q.Room = pick("r1", "r2", "r3")
	}
	if rng.IntN(6) == 0 {
		q.Conversation = pick("room:r1", "single:alice|bob", "single:bob|wmC1")
	}
	if rng.IntN(4) == 0 {
		q.Type = pick("text", "image")
	}
	if rng.IntN(2) == 0 {
		q.From = base.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour))))
		q.To = q.From.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour))))
	}
	for range rng.IntN(3) {
		q.Tokens = append(q.Tokens, uint64(rng.IntN(12)))
	}
	q.Ascending = rng.IntN(2) == 0
	q.Limit = 1 + rng.IntN(40)
	return q
}

func testSearchReference(t *testing.T, s archive.Store) {
	rng := rand.New(rand.NewPCG(7, 11))
	all := randomArchive(rng, 600, 20)
	for i := 0; i < len(all); i += 150 {
		commitAll(t, s, all[i:i+150]...)
	}
	for i := range 150 {
		q := randomQuery(rng, 20)
		want := expect(q, all)
		if got := ids(searchAll(t, s, q)); !slices.Equal(got, want) {
			t.Errorf("query %d %+v:\n got %v\nwant %v", i, q, got, want)
		}
	}
}

func testSearchOrder(t *testing.T, s archive.Store) {
	// Same Time: MsgID decides. Committed out of order, across batches.
	var ms []archive.Message
	for _, id := range []string{"b", "a", "c", "ab"} {
		ms = append(ms, msg(id, 0, base, "alice", []string{"bob"}, "", "text"))
	}
	ms = append(ms, msg("z", 0, base.Add(-time.Millisecond), "alice", []string{"bob"}, "", "text"))
	ms = append(ms, msg("0", 0, base.Add(time.Millisecond), "alice", []string{"bob"}, "", "text"))
	commitAll(t, s, ms[:3]...)
	commitAll(t, s, ms[3:]...)
	for _, q := range []archive.Query{{}, {User: "bob"}, {Conversation: "single:alice|bob"}, {Type: "text"}} {
		if got := ids(searchAll(t, s, q)); !slices.Equal(got, []string{"0", "c", "b", "ab", "a", "z"}) {
			t.Errorf("Search(%+v) = %v, want newest first, then msgid descending", q, got)
		}
		q.Ascending = true
		q.Limit = 2
		if got := ids(searchAll(t, s, q)); !slices.Equal(got, []string{"z", "a", "ab", "b", "c", "0"}) {
			t.Errorf("Search(%+v) = %v, want oldest first, then msgid ascending", q, got)
		}
	}
}

func testSearchPagingWhileCommitting(t *testing.T, s archive.Store) {
	rng := rand.New(rand.NewPCG(3, 4))
	all := randomArchive(rng, 300, 10)
	commitAll(t, s, all...)
	n := 0
	for _, asc := range []bool{false, true} {
		for _, q := range []archive.Query{{User: "alice"}, {Tokens: []uint64{3}}, {Room: "r1"}, {}} {
			q.Ascending, q.Limit = asc, 7
			want := expect(q, all)
			var got []archive.Message
			added := 0
			for {
				page, next := search(t, s, q)
				got = append(got, page...)
				// Between pages, messages arrive: newer and older than
				// the page, and at the very same times (a bounded number:
				// those after the cursor are found by later pages).
				var more []archive.Message
				for i, m := range page {
					if added >= 150 {
						break
					}
					for _, d := range []time.Duration{0, time.Hour, -time.Hour} {
						x := m
						x.MsgID = fmt.Sprintf("new%05d-%d", n, i)
						x.Time = m.Time.Add(d)
						x.Conversation = archive.ConversationID(x.From, x.ToList, x.RoomID)
						more = append(more, x)
						n++
						added++
					}
				}
				if len(more) > 0 {
					commitAll(t, s, more...)
				}
				if next == "" {
					break
				}
				q.Cursor = next
			}
			// Every message that was there is seen exactly once, in order;
			// the new ones may or may not be.
			seen := map[string]int{}
			for i, m := range got {
				seen[m.MsgID]++
				if i > 0 {
					c := less(got[i-1], m)
					if (asc && c >= 0) || (!asc && c <= 0) {
						t.Errorf("%+v: %s then %s, out of order", q, got[i-1].MsgID, m.MsgID)
					}
				}
			}
			for _, id := range want {
				if seen[id] != 1 {
					t.Errorf("%+v: %s seen %d times, want once", q, id, seen[id])
				}
			}
		}
	}
}

func testSearchLimits(t *testing.T, s archive.Store) {
	var ms []archive.Message
	for i := range 1100 {
		ms = append(ms, msg(fmt.Sprintf("m%05d", i), uint64(i+1), base.Add(time.Duration(i)*time.Second), "alice", []string{"bob"}, "", "text", 1))
	}
	commitAll(t, s, ms...)
	for _, q := range []archive.Query{{}, {User: "alice"}, {Tokens: []uint64{1}}} {
		page, next := search(t, s, q)
		if len(page) != 100 || next == "" {
			t.Errorf("%+v (limit 0): %d, next %q; want 100 and a next page", q, len(page), next)
		}
		q.Limit = -5
		if page, _ := search(t, s, q); len(page) != 100 {
			t.Errorf("%+v: %d, want 100", q, len(page))
		}
		q.Limit = 5000
		page, next = search(t, s, q)
		if len(page) != 1000 || next == "" {
			t.Errorf("%+v: %d, next %q; want 1000 and a next page", q, len(page), next)
		}
		q.Cursor, q.Limit = next, 100
		page, next = search(t, s, q)
		if len(page) != 100 || next != "" {
			t.Errorf("%+v: last, full page: %d, next %q; want 100 and no next", q, len(page), next)
		}
		if len(page) > 0 && page[len(page)-1].MsgID != "m00000" {
			t.Errorf("last message %s, want m00000", page[len(page)-1].MsgID)
		}
	}
	// No match at all: an empty page, no cursor.
	if page, next := search(t, s, archive.Query{User: "nobody"}); len(page) != 0 || next != "" {
		t.Errorf("Search(nobody) = %d, %q; want nothing", len(page), next)
	}
}

func testInvalidCursors(t *testing.T, s archive.Store) {
	ctx := context.Background()
	var ms []archive.Message
	var qs []archive.Quarantined
	for i := range 5 {
		ms = append(ms, msg(fmt.Sprint("m", i), uint64(i+1), base.Add(time.Duration(i)*time.Second), "alice", []string{"bob"}, "", "text"))
		qs = append(qs, quarantined(fmt.Sprint("q", i), uint64(10+i), "no key"))
	}
	commit(t, s, archive.Batch{From: 0, To: 20, Messages: ms, Quarantine: qs})
	_, searchNext := search(t, s, archive.Query{Limit: 2})
	_, quarNext, err := s.ListQuarantine(ctx, "", 2)
	if err != nil || searchNext == "" || quarNext == "" {
		t.Fatalf("first pages: %q, %q, %v", searchNext, quarNext, err)
	}
	for _, c := range []string{"garbage", "!!!", "AAAA", "\x00", strings.Repeat("z", 5000), quarNext, searchNext[:len(searchNext)/2]} {
		if _, _, err := s.Search(ctx, archive.Query{Cursor: c}); !errors.Is(err, archive.ErrInvalidCursor) {
			t.Errorf("Search(cursor %.20q) = %v, want ErrInvalidCursor", c, err)
		}
	}
	for _, c := range []string{"garbage", "!!!", "AAAA", "\x00", searchNext, quarNext[:len(quarNext)/2]} {
		if _, _, err := s.ListQuarantine(ctx, c, 10); !errors.Is(err, archive.ErrInvalidCursor) {
			t.Errorf("ListQuarantine(cursor %.20q) = %v, want ErrInvalidCursor", c, err)
		}
	}
}

func testLargeToList(t *testing.T, s archive.Store) {
	members := make([]string, 800)
	for i := range members {
		members[i] = fmt.Sprintf("member%04d", i)
	}
	var ms []archive.Message
	for i := range 50 {
		from := members[i]
		to := slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == from })
		ms = append(ms, msg(fmt.Sprint("big", i), uint64(i+1), base.Add(time.Duration(i)*time.Second), from, to, "bigroom", "text", uint64(i%3)))
	}
	commitAll(t, s, ms...)
	for _, u := range []string{"member0000", "member0799", "member0025"} {
		q := archive.Query{User: u, Tokens: []uint64{1}}
		if got, want := ids(searchAll(t, s, q)), expect(q, ms); !slices.Equal(got, want) {
			t.Errorf("Search(%+v) = %v, want %v", q, got, want)
		}
	}
	sameMessage(t, get(t, s, "big7"), ms[7])
}

// --- data keys, purge, days, gaps, stats ---

func dataKey(day, id string) archive.DataKey {
	return archive.DataKey{Day: day, ID: id, MasterID: "master-1", Wrapped: []byte("wrapped:" + day + "/" + id), CreatedAt: base}
}

func sameKeys(t testing.TB, got, want []archive.DataKey) {
	t.Helper()
	norm := func(ks []archive.DataKey) []archive.DataKey {
		out := slices.Clone(ks)
		for i := range out {
			checkUTC(t, "created_at", out[i].CreatedAt)
			out[i].CreatedAt = time.Unix(0, out[i].CreatedAt.UnixNano()).UTC()
		}
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("data keys:\n got %+v\nwant %+v", g, w)
	}
}

func testDataKeys(t *testing.T, s archive.Store) {
	ctx := context.Background()
	if ks, err := s.ListDataKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("ListDataKeys of an empty store = %v, %v", ks, err)
	}
	k1, k2, k3 := dataKey("2026-03-05", "b"), dataKey("2026-03-04", "z"), dataKey("2026-03-05", "a")
	for _, k := range []archive.DataKey{k1, k2, k3} {
		if err := s.PutDataKey(ctx, k); err != nil {
			t.Fatalf("PutDataKey(%s/%s): %v", k.Day, k.ID, err)
		}
	}
	dup := k1
	dup.Wrapped = []byte("other")
	if err := s.PutDataKey(ctx, dup); !errors.Is(err, archive.ErrExists) {
		t.Errorf("PutDataKey of an existing (day, id) = %v, want ErrExists", err)
	}
	got, err := s.GetDataKey(ctx, "2026-03-05", "b")
	if err != nil {
		t.Fatalf("GetDataKey: %v", err)
	}
	sameKeys(t, []archive.DataKey{got}, []archive.DataKey{k1})
	for _, dk := range [][2]string{{"2026-03-05", "c"}, {"2026-03-06", "b"}, {"2026-03-0", "5b"}} {
		if _, err := s.GetDataKey(ctx, dk[0], dk[1]); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("GetDataKey(%s, %s) = %v, want ErrNotFound", dk[0], dk[1], err)
		}
	}
	ks, err := s.ListDataKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, ks, []archive.DataKey{k2, k3, k1})

	// Rewrap: new wrapping and master for existing keys; missing skipped.
	r1, r3, gone := k1, k3, dataKey("2026-01-01", "x")
	r1.MasterID, r1.Wrapped = "master-2", []byte("rewrapped b")
	r3.MasterID, r3.Wrapped = "master-2", []byte("rewrapped a")
	gone.MasterID = "master-2"
	if err := s.RewrapDataKeys(ctx, []archive.DataKey{r1, gone, r3}); err != nil {
		t.Fatalf("RewrapDataKeys: %v", err)
	}
	ks, err = s.ListDataKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, ks, []archive.DataKey{k2, r3, r1})
	if _, err := s.GetDataKey(ctx, gone.Day, gone.ID); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Rewrap created a missing key: %v", err)
	}
}

func testPurgeDay(t *testing.T, s archive.Store) {
	ctx := context.Background()
	d1 := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	d2 := d1.Add(24 * time.Hour)
	ms := []archive.Message{
		msg("a1", 1, d1.Add(time.Hour), "alice", []string{"bob"}, "", "text", 1),
		msg("a2", 2, d1.Add(2*time.Hour), "carol", []string{"bob"}, "", "text", 1),
		msg("a3", 3, d1.Add(3*time.Hour), "held", []string{"bob"}, "", "text", 1),
		withheld(msg("a4", 4, d1.Add(4*time.Hour), "alice", []string{"wmX"}, "", "text"), archive.WithheldNoConsent),
		msg("b1", 5, d2.Add(time.Hour), "alice", []string{"bob"}, "", "text", 1),
	}
	// A recall on the next day of a message of the first.
	rec := msg("b2", 6, d2.Add(2*time.Hour), "alice", []string{"bob"}, "", "revoke")
	rec.Action, rec.PreMsgID, rec.Content, rec.Tokens = wecom.ActionRecall, "a1", nil, nil
	ms = append(ms, rec)
	commitAll(t, s, ms...)
	for _, k := range []archive.DataKey{dataKey("2026-03-04", "k1"), dataKey("2026-03-04", "k2"), dataKey("2026-03-05", "k1")} {
		if err := s.PutDataKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	var offered []string
	keep := func(m archive.Message) bool {
		offered = append(offered, m.MsgID)
		return m.From == "held"
	}
	deleted, shredded, err := s.PurgeDay(ctx, "2026-03-04", keep)
	if err != nil {
		t.Fatalf("PurgeDay: %v", err)
	}
	slices.Sort(offered)
	if deleted != 3 || shredded || !slices.Equal(offered, []string{"a1", "a2", "a3", "a4"}) {
		t.Errorf("PurgeDay with a hold = %d deleted, shredded %v, offered %v; want 3, false, a1…a4", deleted, shredded, offered)
	}
	for _, id := range []string{"a1", "a2", "a4"} {
		mustNotFind(t, s, id)
	}
	sameMessage(t, get(t, s, "a3"), ms[2])
	if _, err := s.GetDataKey(ctx, "2026-03-04", "k1"); err != nil {
		t.Errorf("key of a day with a held message: %v, want kept", err)
	}
	if got := ids(searchAll(t, s, archive.Query{Tokens: []uint64{1}})); !slices.Equal(got, []string{"b1", "a3"}) {
		t.Errorf("Search after purge = %v, want [b1 a3]", got)
	}
	if got := ids(searchAll(t, s, archive.Query{User: "alice"})); !slices.Equal(got, []string{"b2", "b1"}) {
		t.Errorf("Search(alice) after purge = %v, want [b2 b1]", got)
	}
	sameMessage(t, get(t, s, "b2"), rec) // the recall outlives what it recalled
	if st := stats(t, s); st.Messages != 3 || st.Withheld != 0 {
		t.Errorf("Stats after purge = %+v, want 3 messages, 0 withheld", st)
	}
	days, err := s.Days(ctx)
	if err != nil || !slices.Equal(days, []string{"2026-03-04", "2026-03-05"}) {
		t.Errorf("Days = %v, %v", days, err)
	}

	// The hold is lifted: the last message goes, and the keys with it.
	deleted, shredded, err = s.PurgeDay(ctx, "2026-03-04", func(archive.Message) bool { return false })
	if err != nil || deleted != 1 || !shredded {
		t.Errorf("PurgeDay without a hold = %d, %v, %v; want 1, shredded", deleted, shredded, err)
	}
	for _, id := range []string{"k1", "k2"} {
		if _, err := s.GetDataKey(ctx, "2026-03-04", id); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("GetDataKey of a shredded day = %v, want ErrNotFound", err)
		}
	}
	ks, err := s.ListDataKeys(ctx)
	if err != nil || len(ks) != 1 || ks[0].Day != "2026-03-05" {
		t.Errorf("ListDataKeys = %+v, %v; want the second day's key", ks, err)
	}
	days, err = s.Days(ctx)
	if err != nil || !slices.Equal(days, []string{"2026-03-05"}) {
		t.Errorf("Days = %v, %v; want [2026-03-05]", days, err)
	}
	if got := ids(searchAll(t, s, archive.Query{})); !slices.Equal(got, []string{"b2", "b1"}) {
		t.Errorf("Search after purges = %v, want [b2 b1]", got)
	}
	// Purging a day again, or one never seen, deletes nothing.
	for _, day := range []string{"2026-03-04", "2025-01-01"} {
		if deleted, _, err := s.PurgeDay(ctx, day, func(archive.Message) bool { return false }); err != nil || deleted != 0 {
			t.Errorf("PurgeDay(%s) = %d, %v; want 0", day, deleted, err)
		}
	}
	if st := stats(t, s); st.Messages != 2 {
		t.Errorf("Stats.Messages = %d, want 2", st.Messages)
	}
}

func testDays(t *testing.T, s archive.Store) {
	ctx := context.Background()
	if days, err := s.Days(ctx); err != nil || len(days) != 0 {
		t.Fatalf("Days of an empty store = %v, %v", days, err)
	}
	late := time.Date(2026, 3, 6, 23, 59, 59, 999000000, time.UTC)
	commitAll(t, s,
		msg("m1", 1, late, "alice", []string{"bob"}, "", "text"),
		msg("m2", 2, late.Add(-48*time.Hour), "alice", []string{"bob"}, "", "text"),
		withheld(msg("m3", 3, late.Add(time.Millisecond), "alice", []string{"wmX"}, "", "text"), archive.WithheldNoConsent),
	)
	if err := s.PutDataKey(ctx, dataKey("2026-02-01", "k")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDataKey(ctx, dataKey("2026-03-06", "k")); err != nil {
		t.Fatal(err)
	}
	days, err := s.Days(ctx)
	if want := []string{"2026-02-01", "2026-03-04", "2026-03-06", "2026-03-07"}; err != nil || !slices.Equal(days, want) {
		t.Errorf("Days = %v, %v; want %v", days, err, want)
	}
}

func testGaps(t *testing.T, s archive.Store) {
	ctx := context.Background()
	g1 := archive.Gap{After: 10, Before: 15, Detected: base}
	g2 := archive.Gap{After: 3, Before: 5, Detected: base.Add(time.Second)}
	g3 := archive.Gap{After: 20, Before: 40, Detected: base.Add(time.Minute)}
	commit(t, s, archive.Batch{From: 0, To: 16, Gaps: []archive.Gap{g1, g2}})
	commit(t, s, archive.Batch{From: 16, To: 40, Gaps: []archive.Gap{g3}})
	gaps, err := s.ListGaps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range gaps {
		checkUTC(t, "detected", gaps[i].Detected)
		gaps[i].Detected = time.Unix(0, gaps[i].Detected.UnixNano()).UTC()
	}
	if want := []archive.Gap{g2, g1, g3}; !reflect.DeepEqual(gaps, want) {
		t.Errorf("ListGaps = %+v, want %+v", gaps, want)
	}
	if st := stats(t, s); st.Gaps != 3 || st.Cursor != 40 {
		t.Errorf("Stats = %+v, want 3 gaps, cursor 40", st)
	}
}

func testStats(t *testing.T, s archive.Store) {
	st := stats(t, s)
	if st != (archive.Stats{}) {
		t.Errorf("Stats of an empty store = %+v, want zero", st)
	}
	newest := base.Add(time.Hour)
	commit(t, s, archive.Batch{From: 0, To: 9,
		Messages: []archive.Message{
			msg("m1", 1, base, "alice", []string{"bob"}, "", "text"),
			msg("m2", 2, newest, "alice", []string{"bob"}, "", "text"),
			withheld(msg("m3", 3, base.Add(time.Minute), "alice", []string{"wmX"}, "", "text"), archive.WithheldNotPermitted),
		},
		Quarantine: []archive.Quarantined{quarantined("q", 4, "no key")},
		Gaps:       []archive.Gap{{After: 5, Before: 8, Detected: base}},
	})
	st = stats(t, s)
	if st.Cursor != 9 || st.Messages != 3 || st.Withheld != 1 || st.Quarantined != 1 || st.Gaps != 1 {
		t.Errorf("Stats = %+v, want cursor 9, 3 messages, 1 withheld, 1 quarantined, 1 gap", st)
	}
	if !st.NewestMsgTime.Equal(newest) {
		t.Errorf("NewestMsgTime = %v, want %v", st.NewestMsgTime, newest)
	}
	checkUTC(t, "newest_msg_time", st.NewestMsgTime)
	checkUTC(t, "last_commit", st.LastCommit)
	if st.LastCommit.IsZero() {
		t.Error("LastCommit is zero after a commit")
	}
	// An older message does not make NewestMsgTime go back.
	commit(t, s, archive.Batch{From: 9, To: 10, Messages: []archive.Message{msg("m0", 10, base.Add(-time.Hour), "alice", []string{"bob"}, "", "text")}})
	if st := stats(t, s); !st.NewestMsgTime.Equal(newest) || st.Messages != 4 {
		t.Errorf("Stats = %+v, want newest %v, 4 messages", st, newest)
	}
}

func testClose(t *testing.T, s archive.Store) {
	ctx := context.Background()
	commitAll(t, s, msg("m1", 1, base, "alice", []string{"bob"}, "", "text"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := map[string]func() error{
		"Cursor":     func() error { _, err := s.Cursor(ctx); return err },
		"Commit":     func() error { _, err := s.Commit(ctx, archive.Batch{From: 1, To: 2}); return err },
		"GetMessage": func() error { _, err := s.GetMessage(ctx, "m1"); return err },
		"Search":     func() error { _, _, err := s.Search(ctx, archive.Query{}); return err },
		"ListQuarantine": func() error {
			_, _, err := s.ListQuarantine(ctx, "", 1)
			return err
		},
		"ResolveQuarantine": func() error { return s.ResolveQuarantine(ctx, msg("q", 1, base, "a", []string{"b"}, "", "text")) },
		"TouchQuarantine":   func() error { return s.TouchQuarantine(ctx, "q", "x") },
		"PutDataKey":        func() error { return s.PutDataKey(ctx, dataKey("2026-03-04", "k")) },
		"GetDataKey":        func() error { _, err := s.GetDataKey(ctx, "2026-03-04", "k"); return err },
		"ListDataKeys":      func() error { _, err := s.ListDataKeys(ctx); return err },
		"RewrapDataKeys":    func() error { return s.RewrapDataKeys(ctx, []archive.DataKey{dataKey("2026-03-04", "k")}) },
		"PurgeDay": func() error {
			_, _, err := s.PurgeDay(ctx, "2026-03-04", func(archive.Message) bool { return false })
			return err
		},
		"Days":     func() error { _, err := s.Days(ctx); return err },
		"ListGaps": func() error { _, err := s.ListGaps(ctx); return err },
		"Stats":    func() error { _, err := s.Stats(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, archive.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil && !errors.Is(err, archive.ErrClosed) {
		t.Errorf("second Close = %v, want nil or ErrClosed", err)
	}
}
