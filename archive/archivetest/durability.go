package archivetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
)

// ReopenFunc closes s and opens the same data again, as a restarted
// process would.
type ReopenFunc func(t *testing.T, s archive.Store) archive.Store

// RunReopen checks that everything a store holds survives a reopen:
// cursor, messages (content, tokens, recalls), the indexes Search uses,
// quarantine, data keys, gaps, days and stats.
func RunReopen(t *testing.T, open OpenFunc, reopen ReopenFunc) {
	ctx := context.Background()
	s := open(t)
	all := dataset()
	commit(t, s, archive.Batch{From: 0, To: 20, Messages: all,
		Quarantine: []archive.Quarantined{quarantined("q1", 15, "no key"), quarantined("q2", 12, "10006")},
		Gaps:       []archive.Gap{{After: 10, Before: 12, Detected: base}},
	})
	if err := s.TouchQuarantine(ctx, "q1", "still no key"); err != nil {
		t.Fatal(err)
	}
	keys := []archive.DataKey{dataKey("2026-03-04", "k1"), dataKey("2026-03-05", "k1")}
	for _, k := range keys {
		if err := s.PutDataKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	before := stats(t, s)
	queries := []archive.Query{{}, {User: "carol"}, {Tokens: []uint64{1, 2}}, {Room: "r1", Ascending: true}, {Conversation: "single:alice|bob"}}
	var results [][]string
	for _, q := range queries {
		results = append(results, ids(searchAll(t, s, q)))
	}

	s = reopen(t, s)
	if c := cursor(t, s); c != 20 {
		t.Errorf("Cursor after reopen = %d, want 20", c)
	}
	for _, m := range all {
		if m.MsgID == "m5" {
			m.RecalledBy = "m7"
		}
		sameMessage(t, get(t, s, m.MsgID), m)
	}
	for i, q := range queries {
		if got := ids(searchAll(t, s, q)); !slices.Equal(got, results[i]) {
			t.Errorf("Search(%+v) after reopen = %v, want %v", q, got, results[i])
		}
	}
	q1 := quarantined("q1", 15, "still no key")
	q1.Attempts = 2
	qs := listQuarantine(t, s)
	if len(qs) != 2 {
		t.Fatalf("quarantine after reopen = %v", quarantinedIDs(qs))
	}
	sameQuarantined(t, qs[0], quarantined("q2", 12, "10006"))
	sameQuarantined(t, qs[1], q1)
	ks, err := s.ListDataKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, ks, keys)
	gaps, err := s.ListGaps(ctx)
	if err != nil || len(gaps) != 1 || gaps[0].After != 10 || gaps[0].Before != 12 {
		t.Errorf("ListGaps after reopen = %+v, %v", gaps, err)
	}
	after := stats(t, s)
	if after.Cursor != before.Cursor || after.Messages != before.Messages || after.Withheld != before.Withheld ||
		after.Quarantined != before.Quarantined || after.Gaps != before.Gaps ||
		!after.NewestMsgTime.Equal(before.NewestMsgTime) || !after.LastCommit.Equal(before.LastCommit) {
		t.Errorf("Stats after reopen = %+v, want %+v", after, before)
	}
	// And it goes on from there.
	commit(t, s, archive.Batch{From: 20, To: 21, Messages: []archive.Message{msg("n1", 21, base, "alice", []string{"bob"}, "", "text")}})
	if _, err := s.Commit(ctx, archive.Batch{From: 0, To: 1}); !errors.Is(err, archive.ErrCursorMoved) {
		t.Errorf("Commit from 0 after reopen = %v, want ErrCursorMoved", err)
	}
}

// Crash batches: batch k moves the cursor from k*crashStride to
// (k+1)*crashStride and holds crashMessages messages and one quarantined
// record of seqs within it.
const (
	crashStride   = 100
	crashMessages = 50
)

func crashBatch(k uint64) archive.Batch {
	from := k * crashStride
	b := archive.Batch{From: from, To: from + crashStride}
	for i := range uint64(crashMessages) {
		m := msg(fmt.Sprintf("crash-%d-%d", k, i), from+i+1, base.Add(time.Duration(from+i)*time.Second),
			fmt.Sprint("user", i%7), []string{fmt.Sprint("user", i%5+10)}, "", "text", 1<<40+k, 1000+i)
		m.Content = make([]byte, 2000)
		b.Messages = append(b.Messages, m)
	}
	b.Quarantine = []archive.Quarantined{quarantined(fmt.Sprintf("crash-q-%d", k), from+crashStride, "no key")}
	return b
}

// CrashWriter commits batches to s, as a puller would, until ctx is done
// or it fails; after each commit it calls committed with the new cursor.
// A crash test runs it in a child process and kills that process
// (SIGKILL) at some point, then reopens the data and calls CheckCrash.
func CrashWriter(ctx context.Context, s archive.Store, committed func(cursor uint64)) error {
	cur, err := s.Cursor(ctx)
	if err != nil {
		return err
	}
	for k := cur / crashStride; ctx.Err() == nil; k++ {
		if _, err := s.Commit(ctx, crashBatch(k)); err != nil {
			return err
		}
		committed((k + 1) * crashStride)
	}
	return ctx.Err()
}

// CrashChild is the body of the test that RunCrash starts and kills: it
// runs CrashWriter on s and prints each new cursor once Commit has
// returned.
func CrashChild(t *testing.T, s archive.Store) {
	err := CrashWriter(context.Background(), s, func(cur uint64) { fmt.Printf("committed %d\n", cur) })
	t.Fatal(err)
}

// RunCrash kills (SIGKILL) a process in the middle of committing and
// checks that the data holds every batch up to its cursor and nothing
// after it, three rounds on the same data. The process is this test
// binary running only childTest (a test that calls CrashChild when env
// is set) with env=value; after each kill RunCrash opens the data with
// open, calls CheckCrash and closes it.
func RunCrash(t *testing.T, childTest, env, value string, open func(t *testing.T) archive.Store) {
	t.Helper()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), env+"="+value)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it after a few commits of this round, at whatever point of
		// the next one it has reached.
		sc := bufio.NewScanner(out)
		var last uint64
		for n := 0; n < 5+round*3 && sc.Scan(); {
			if v, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				if last, err = strconv.ParseUint(v, 10, 64); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if last == 0 {
			t.Fatalf("round %d: the child committed nothing", round)
		}
		s := open(t)
		CheckCrash(t, s, last)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckCrash checks a store CrashWriter was killed writing to: the
// cursor is at least minCursor (the last one the writer reported), every
// batch up to the cursor is there in full, none after it is there at
// all, and the stats agree.
func CheckCrash(t *testing.T, s archive.Store, minCursor uint64) {
	t.Helper()
	ctx := context.Background()
	cur := cursor(t, s)
	if cur < minCursor || cur%crashStride != 0 {
		t.Fatalf("cursor after the crash = %d, want a batch boundary ≥ %d", cur, minCursor)
	}
	n := cur / crashStride
	for k := range n + 1 {
		b := crashBatch(k)
		for _, m := range b.Messages {
			got, err := s.GetMessage(ctx, m.MsgID)
			switch {
			case k < n && err != nil:
				t.Fatalf("batch %d (cursor %d): %s: %v", k, cur, m.MsgID, err)
			case k < n:
				sameMessage(t, got, m)
			case !errors.Is(err, archive.ErrNotFound):
				t.Fatalf("batch %d after cursor %d: %s is there (%v)", k, cur, m.MsgID, err)
			}
		}
	}
	st := stats(t, s)
	if st.Messages != int64(n*crashMessages) || st.Quarantined != int64(n) || st.Cursor != cur {
		t.Errorf("Stats after the crash = %+v, want %d messages, %d quarantined", st, n*crashMessages, n)
	}
	if got := searchAll(t, s, archive.Query{Tokens: []uint64{1000}}); uint64(len(got)) != n {
		t.Errorf("Search finds %d of the first message of each batch, want %d", len(got), n)
	}
	// The puller goes on where it stopped.
	if _, err := s.Commit(ctx, crashBatch(n)); err != nil {
		t.Errorf("Commit after the crash: %v", err)
	}
}
