package embedded

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

func TestPeriodOf(t *testing.T) {
	at := func(s string) []byte {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return timeKey(tm)
	}
	tests := []struct {
		name string
		a, b string
		cmp  int // periodOf(a) compared with periodOf(b)
	}{
		{"same hour", "2026-03-04T05:00:00Z", "2026-03-04T05:59:59.999999Z", 0},
		{"next hour", "2026-03-04T05:59:59.999999Z", "2026-03-04T06:00:00Z", -1},
		{"the hour before 1970", "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z", -1},
		{"one hour before 1970", "1969-12-31T23:00:00Z", "1969-12-31T23:59:59Z", 0},
		{"years apart", "1900-01-01T00:00:00Z", "2100-01-01T00:00:00Z", -1},
		{"clamped far future", "9999-01-01T00:00:00Z", "9000-01-01T00:00:00Z", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pa, pb := periodOf(at(tc.a), time.Hour), periodOf(at(tc.b), time.Hour)
			if got := cmpU32(pa, pb); got != tc.cmp {
				t.Errorf("periodOf(%s)=%d vs periodOf(%s)=%d: cmp %d, want %d", tc.a, pa, tc.b, pb, got, tc.cmp)
			}
		})
	}
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestSearchAcrossPeriods checks Search against a plain filter on
// messages scattered over years (before and after 1970, on period
// boundaries, with long empty stretches), in both orders, with and
// without bounds, in pages: the period-first indexes are walked period
// by period.
func TestSearchAcrossPeriods(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "archive.db"))
	rng := rand.New(rand.NewPCG(3, 5))
	users := []string{"alice", "bob", "carol"}
	starts := []time.Time{
		time.Date(1969, 12, 31, 22, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 28, 23, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC),
	}
	var all []archive.Message
	for i := range 400 {
		at := starts[rng.IntN(len(starts))].Add(time.Duration(rng.IntN(5*60)) * time.Minute)
		if i%5 == 0 {
			at = at.Truncate(time.Hour) // on a period's first microsecond
		}
		if i%13 == 0 {
			at = at.Truncate(24 * time.Hour) // on a UTC day's first microsecond
		}
		if i%11 == 0 {
			at = at.Truncate(time.Hour).Add(-time.Microsecond) // on its last
		}
		from := users[rng.IntN(len(users))]
		to := users[rng.IntN(len(users))]
		room := ""
		if i%3 == 0 {
			room = fmt.Sprintf("r%d", rng.IntN(2))
		}
		var toks []uint64
		for range rng.IntN(4) {
			toks = append(toks, uint64(rng.IntN(5)))
		}
		slices.Sort(toks)
		all = append(all, archive.Message{
			MsgID: fmt.Sprintf("p%04d", i), Seq: uint64(i + 1), PublicKeyVer: 1, Action: wecom.ActionSend,
			Type: "text", From: from, ToList: []string{to}, RoomID: room, Time: at,
			Conversation: archive.ConversationID(from, []string{to}, room), Consent: "internal",
			KeyDay: "2026-03-04", KeyID: "k1", Content: []byte("x"), Tokens: slices.Compact(toks),
		})
	}
	for i := 0; i < len(all); i += 100 {
		if _, err := s.Commit(ctx, archive.Batch{From: uint64(i), To: uint64(i + 100), Messages: all[i : i+100]}); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	for i := range 300 {
		var q archive.Query
		switch rng.IntN(4) {
		case 0:
			q.User = users[rng.IntN(len(users))]
		case 1:
			q.Room = fmt.Sprintf("r%d", rng.IntN(2))
		case 2:
			q.Conversation = all[rng.IntN(len(all))].Conversation
		}
		for range rng.IntN(3) {
			q.Tokens = append(q.Tokens, uint64(rng.IntN(5)))
		}
		if rng.IntN(3) > 0 {
			q.From = all[rng.IntN(len(all))].Time.Add(time.Duration(rng.IntN(3)-1) * time.Microsecond)
		}
		if rng.IntN(3) > 0 {
			q.To = all[rng.IntN(len(all))].Time.Add(time.Duration(rng.IntN(3)-1) * time.Microsecond)
		}
		q.Ascending = rng.IntN(2) == 0
		q.Limit = 1 + rng.IntN(7)
		var want []string
		for _, m := range all {
			if (q.User == "" || m.From == q.User || slices.Contains(m.ToList, q.User)) &&
				(q.Room == "" || m.RoomID == q.Room) && (q.Conversation == "" || m.Conversation == q.Conversation) &&
				(q.From.IsZero() || !m.Time.Before(q.From)) && (q.To.IsZero() || m.Time.Before(q.To)) &&
				!slices.ContainsFunc(q.Tokens, func(tok uint64) bool { return !slices.Contains(m.Tokens, tok) }) {
				want = append(want, m.MsgID)
			}
		}
		slices.SortFunc(want, func(a, b string) int {
			ma, mb := all[msgIndex(a)], all[msgIndex(b)]
			c := ma.Time.Compare(mb.Time)
			if c == 0 {
				c = strings.Compare(a, b)
			}
			if !q.Ascending {
				c = -c
			}
			return c
		})
		var got []string
		for page := 0; ; page++ {
			ms, next, err := s.Search(ctx, q)
			if err != nil {
				t.Fatalf("query %d %+v: %v", i, q, err)
			}
			for _, m := range ms {
				got = append(got, m.MsgID)
			}
			if next == "" || page > len(all) {
				break
			}
			q.Cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("query %d %+v:\n got %v\nwant %v", i, q, got, want)
		}
	}
}

func msgIndex(id string) int {
	var i int
	fmt.Sscanf(id, "p%04d", &i)
	return i
}

func TestOpenRefusesOtherFormat(t *testing.T) {
	tests := []struct {
		name   string
		format []byte // nil: no format key (the layout before versions)
	}{
		{"before versions", nil},
		{"a later version", u64(formatVersion + 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "archive.db")
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				meta, err := tx.CreateBucket(bucketMeta)
				if err != nil {
					return err
				}
				if err := meta.Put(metaCursor, u64(42)); err != nil {
					return err
				}
				if tc.format != nil {
					return meta.Put(metaFormat, tc.format)
				}
				return nil
			})
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want ErrFormat")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format") {
				t.Errorf("Open = %v, want ErrFormat", err)
			}
		})
	}
	// A new file gets the current format, and opens again.
	path := filepath.Join(t.TempDir(), "archive.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := getU64(tx.Bucket(bucketMeta).Get(metaFormat)); v != formatVersion {
			return fmt.Errorf("format %d, want %d", v, formatVersion)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
