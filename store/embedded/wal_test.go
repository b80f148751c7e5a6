package embedded

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
)

// walChildEnv, set, makes TestIngressLogSurvivesKill the child it
// starts: it enqueues into the store at that path until it is killed.
const walChildEnv = "WECOMPLY_WAL_CRASH_CHILD"

// TestIngressLogSurvivesKill enqueues from a child process (this test
// binary again) that reports every Enqueue that returned nil, kills it
// with SIGKILL in the middle of the load, tears the last record of its
// log as a crash mid-append would, and opens the store again: every
// reported event is there exactly once and claimable (the scheduled ones
// once due), and Enqueue still finds each a duplicate.
func TestIngressLogSurvivesKill(t *testing.T) {
	if path := os.Getenv(walChildEnv); path != "" {
		walCrashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("starts and kills a child process; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "wecomply.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIngressLogSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), walChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{} // dedup key → Enqueue returned nil and added it
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		key, ok := strings.CutPrefix(sc.Text(), "added ")
		if !ok {
			continue
		}
		if acked[key] {
			t.Errorf("child reported %s added twice", key)
		}
		acked[key] = true
		if len(acked) == 3000 && !killed {
			// Mid-load: the child's goroutines are appending and syncing.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d events without being killed", len(acked))
	}
	tearLastSegment(t, path+".wal")

	// Scheduled entries (NotBefore an hour on) are due on this clock;
	// dedup keys live a day.
	clock := testclock.Frozen(time.Now().Add(2 * time.Hour))
	s := open(t, path, Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	seen := map[string]int{} // claimed entries stay leased (the clock is frozen): each is claimed once
	for {
		ds, err := s.Claim(ctx, "check", 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			seen[d.DedupKey]++
			if want := "payload of " + d.DedupKey; string(d.Payload) != want {
				t.Errorf("%s: payload %q, want %q", d.DedupKey, d.Payload, want)
			}
		}
	}
	for key, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times, want once", key, n)
		}
	}
	lost := 0
	for key := range acked {
		if seen[key] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("%s: Enqueue returned nil before the kill, but it is gone", key)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged events lost", lost, len(acked))
	}
	t.Logf("%d events acknowledged before the kill, %d found (the rest were being appended when it came)", len(acked), len(seen))
	n := 0
	for key := range acked {
		if added, err := s.Enqueue(ctx, store.Event{DedupKey: key}); err != nil || added {
			t.Errorf("Enqueue of %s again after the crash = %v, %v; want a duplicate", key, added, err)
		}
		if n++; n == 200 {
			break
		}
	}
}

// walCrashChild enqueues from 16 goroutines into the store at path,
// printing each key Enqueue added (after it returned), until killed.
// Every tenth event is scheduled an hour on. Small segments make the
// log rotate during the load.
func walCrashChild(path string) {
	s, err := Open(path, Options{segmentSize: 256 << 10, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%02d-%06d", g, i)
				e := store.Event{DedupKey: key, Kind: "text", Receiver: "/cb", ReceivedAt: time.Now(),
					Payload: []byte("payload of " + key)}
				if i%10 == 0 {
					e.NotBefore = time.Now().Add(time.Hour)
				}
				added, err := s.Enqueue(context.Background(), e)
				if err != nil || !added {
					fmt.Fprintln(os.Stderr, "child: enqueue:", added, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(w, "added", key)
				_ = w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// tearLastSegment writes half a record after the last whole one of the
// newest segment, as a crash in the middle of a write leaves it.
func tearLastSegment(t *testing.T, dir string) {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments in %s: %v, %v", dir, segs, err)
	}
	path := filepath.Join(dir, segmentName(segs[len(segs)-1]))
	_, valid, _, err := readSegment(path, segs[len(segs)-1], 0)
	if err != nil {
		t.Fatal(err)
	}
	r := walRecord{key: "torn", value: []byte(`{"dedup_key":"torn"}`)}
	frame := r.appendFrame(nil)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(frame[:len(frame)/2], valid); err != nil {
		t.Fatal(err)
	}
}

// TestReplayDropsATornTail: Open moves the records of the log that are
// whole, in order, and drops a last record that is torn (short) or
// corrupt (fails its CRC) without losing those before it; a segment
// after a torn one (written by the next run) is replayed too, and a
// second Open moves nothing again.
func TestReplayDropsATornTail(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(frame []byte) []byte
	}{
		{name: "short", spoil: func(f []byte) []byte { return f[:len(f)-3] }},
		{name: "bad CRC", spoil: func(f []byte) []byte { f[len(f)-1] ^= 0xff; return f }},
		{name: "header only", spoil: func(f []byte) []byte { return f[:walHeader-2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wecomply.db")
			s := open(t, path, Options{Logger: slog.New(slog.DiscardHandler)})
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			segs, err := listSegments(path + ".wal")
			if err != nil || len(segs) != 1 {
				t.Fatalf("segments after Close: %v, %v; want the fresh one", segs, err)
			}
			at := micros(time.Now())
			rec := func(key string) walRecord {
				return walRecord{key: key, at: at, expiry: at + time.Hour.Microseconds(),
					value: []byte(fmt.Sprintf(`{"dedup_key":%q,"received_at":%d}`, key, at))}
			}
			var seg []byte
			for _, k := range []string{"a", "b", "c"} {
				r := rec(k)
				seg = r.appendFrame(seg)
			}
			torn := rec("torn")
			seg = append(seg, tc.spoil(torn.appendFrame(nil))...)
			writeFile(t, filepath.Join(path+".wal", segmentName(segs[0])), seg)
			next := rec("d")
			writeFile(t, filepath.Join(path+".wal", segmentName(segs[0]+1)), next.appendFrame(nil))

			for round := range 2 {
				s = open(t, path, Options{Logger: slog.New(slog.DiscardHandler)})
				ctx := context.Background()
				ds, err := s.Claim(ctx, "c", 10, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range ds {
					got = append(got, d.DedupKey)
				}
				if want := "a b c d"; strings.Join(got, " ") != want {
					t.Fatalf("open %d: claimed %v, want %s", round+1, got, want)
				}
				if added, err := s.Enqueue(ctx, store.Event{DedupKey: "b"}); err != nil || added {
					t.Errorf("Enqueue of a replayed key = %v, %v; want a duplicate", added, err)
				}
				if round == 0 {
					if added, err := s.Enqueue(ctx, store.Event{DedupKey: "torn"}); err != nil || !added {
						t.Errorf("Enqueue of the torn record's key = %v, %v; want it added", added, err)
					}
				}
				for _, d := range ds {
					if err := s.Release(ctx, d.Receipt); err != nil {
						t.Fatal(err)
					}
				}
				// Leave "torn" unclaimed but drop it, so the next round
				// sees the replayed four again.
				ds, err = s.Claim(ctx, "c", 10, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					if d.DedupKey == "torn" {
						if err := s.Ack(ctx, d.Receipt); err != nil {
							t.Fatal(err)
						}
					} else if err := s.Release(ctx, d.Receipt); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoggedEntriesBeforeTheMove holds the mover back (a write that
// blocks the committer) and checks what holds for entries logged but not
// yet moved: QueueStats counts them as ready, a second Enqueue of the key
// is a duplicate (of concurrent ones, exactly one adds it), a Claim waits
// for the move and then gets them, and they stay duplicates after it.
func TestLoggedEntriesBeforeTheMove(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{})
	ctx := context.Background()
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the store's Close, which needs the committer
	blocked := make(chan struct{})
	var committer sync.WaitGroup
	committer.Go(func() {
		_ = s.w.write(true, func(*bolt.Tx) error {
			close(blocked)
			<-release
			return nil
		})
	})
	<-blocked
	const keys, racers = 20, 4
	var added [keys]atomic.Int32
	var wg sync.WaitGroup
	for i := range keys * racers {
		wg.Go(func() {
			ok, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("k", i%keys)})
			if err != nil {
				t.Errorf("Enqueue: %v", err)
			}
			if ok {
				added[i%keys].Add(1)
			}
		})
	}
	wg.Wait()
	for k := range added {
		if n := added[k].Load(); n != 1 {
			t.Errorf("k%d added %d times, want once", k, n)
		}
	}
	if st, err := s.QueueStats(ctx); err != nil || st.Ready != keys {
		t.Errorf("QueueStats before the move = %+v, %v; want %d ready", st, err, keys)
	}
	s.in.mu.Lock()
	unmoved := len(s.in.unmoved)
	s.in.mu.Unlock()
	if unmoved != keys {
		t.Fatalf("%d entries wait for the mover, want %d (did the mover get past the blocked committer?)", unmoved, keys)
	}
	claimed := make(chan []store.Delivery)
	go func() {
		ds, err := s.Claim(ctx, "c", 2*keys, 0)
		if err != nil {
			t.Error(err)
		}
		claimed <- ds
	}()
	unblock()
	committer.Wait()
	if ds := <-claimed; len(ds) != keys {
		t.Errorf("Claim(wait 0) after Enqueues returned got %d entries, want %d", len(ds), keys)
	}
	if st, err := s.QueueStats(ctx); err != nil || st.Ready != 0 || st.Leased != keys {
		t.Errorf("QueueStats after the move = %+v, %v; want %d leased", st, err, keys)
	}
	if ok, err := s.Enqueue(ctx, store.Event{DedupKey: "k3"}); err != nil || ok {
		t.Errorf("Enqueue of a moved key = %v, %v; want a duplicate", ok, err)
	}
}

// TestZeroFilledTailIsNotTorn: a segment made from a spare is zero past
// its last record; replay reads its records and reports no torn tail,
// while a half-written record after them is still reported.
func TestZeroFilledTailIsNotTorn(t *testing.T) {
	dir := t.TempDir()
	var data []byte
	for _, k := range []string{"a", "b"} {
		r := walRecord{key: k, at: 1, expiry: 2, value: []byte(`{"dedup_key":"` + k + `"}`)}
		data = r.appendFrame(data)
	}
	whole := len(data)
	zeroed := append(append([]byte(nil), data...), make([]byte, 4096)...)
	torn := append([]byte(nil), zeroed...)
	half := (&walRecord{key: "c", at: 1, expiry: 2, value: []byte(`{}`)}).appendFrame(nil)
	copy(torn[whole:], half[:len(half)/2])
	for _, tc := range []struct {
		name     string
		data     []byte
		wantTorn bool
	}{
		{"zero-filled", zeroed, false},
		{"grown", data, false},
		{"torn in a zero-filled segment", torn, true},
	} {
		path := filepath.Join(dir, tc.name)
		writeFile(t, path, tc.data)
		recs, valid, tornBytes, err := readSegment(path, 7, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[1].key != "b" || valid != int64(whole) || recs[1].end != (walPos{seg: 7, off: int64(whole)}) {
			t.Errorf("%s: %d records, valid %d; want 2 ending at %d", tc.name, len(recs), valid, whole)
		}
		if (tornBytes > 0) != tc.wantTorn {
			t.Errorf("%s: torn bytes %d, want torn %v", tc.name, tornBytes, tc.wantTorn)
		}
	}
}

// TestSegmentsComeFromSpares: once a store has logged an eighth of a
// segment, a zero-filled spare is made, and the log moves to it at once
// (the first segment grew) and at every rotation after: the segment
// being written is then full size on disk before its records fill it.
// Every entry is still there once, after a reopen.
func TestSegmentsComeFromSpares(t *testing.T) {
	const segSize = 64 << 10
	path := filepath.Join(t.TempDir(), "wecomply.db")
	s := open(t, path, Options{segmentSize: segSize, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	first := s.in.fseg
	n, fromSpare := 0, 0
	deadline := time.Now().Add(20 * time.Second)
	for fromSpare < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d entries, %d segments were made from spares; want 3", n, fromSpare)
		}
		key := fmt.Sprintf("k%06d", n)
		if added, err := s.Enqueue(ctx, store.Event{DedupKey: key, Kind: "text", Payload: []byte(strings.Repeat("x", 200))}); err != nil || !added {
			t.Fatalf("Enqueue %s = %v, %v", key, added, err)
		}
		n++
		// Enqueue returned after its flush: no flush runs now.
		seg, size := s.in.fseg, s.in.fsize
		if s.in.growSeg.Load() != 0 || seg == first {
			continue
		}
		st, err := os.Stat(filepath.Join(path+".wal", segmentName(seg)))
		if err != nil {
			t.Fatal(err)
		}
		if size < segSize && st.Size() == segSize {
			fromSpare = max(fromSpare, int(seg-first))
		} else if size < segSize {
			t.Fatalf("segment %d: %d bytes on disk, %d written; a spare is %d", seg, st.Size(), size, segSize)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, Options{segmentSize: segSize, Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()
	seen := map[string]bool{}
	for {
		ds, err := s.Claim(ctx, "c", 500, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			if seen[d.DedupKey] {
				t.Fatalf("%s claimed twice", d.DedupKey)
			}
			seen[d.DedupKey] = true
			if err := s.Ack(ctx, d.Receipt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("claimed %d entries, enqueued %d", len(seen), n)
	}
}

// TestAFlushCoversTheRecordsAboutToBeAdded: a flush first lets the
// goroutines that are about to add a record add it, so that one
// fdatasync covers them all. On one P, eight Enqueues started together
// take one flush; without the yield, the first would flush alone.
func TestAFlushCoversTheRecordsAboutToBeAdded(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, store.Event{DedupKey: "warm", Kind: "text"}); err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for round := range 3 {
		before := s.IngressLogStats().Flushes
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				<-start
				key := fmt.Sprintf("r%d-%d", round, i)
				if added, err := s.Enqueue(ctx, store.Event{DedupKey: key, Kind: "text"}); err != nil || !added {
					t.Errorf("Enqueue %s = %v, %v", key, added, err)
				}
			})
		}
		close(start)
		wg.Wait()
		got := s.IngressLogStats().Flushes - before
		if got != 1 {
			t.Errorf("round %d: 8 Enqueues started together took %d flushes, want 1", round, got)
		}
	}
}

// TestSpareIsZeroFilled: a spare is a whole segment of zeros, durable,
// whether it was written past the page cache (a segment size of whole
// pages, on a file system that allows it) or through it.
func TestSpareIsZeroFilled(t *testing.T) {
	for _, size := range []int64{3 << 20, 3<<20 + 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wecomply.db")
			s := open(t, path, Options{segmentSize: size, Logger: slog.New(slog.DiscardHandler)})
			// Garbage where the spare goes: it must be replaced, not reused.
			spare := filepath.Join(path+".wal", walSpare)
			writeFile(t, spare+".tmp", bytes.Repeat([]byte{0xff}, int(size)+4096))
			s.in.spareMu.Lock()
			s.in.spareOK.Store(false)
			s.in.spareMu.Unlock()
			if err := s.in.makeSpare(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(spare)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(data)) != size {
				t.Errorf("spare of %d bytes, want %d", len(data), size)
			}
			if i := bytes.IndexFunc(data, func(r rune) bool { return r != 0 }); i >= 0 {
				t.Errorf("spare byte %d is not zero", i)
			}
			if !s.in.spareOK.Load() {
				t.Error("spareOK not set")
			}
		})
	}
}

// TestReadSegmentStreams: replay streams a segment instead of reading it
// whole: a 32 MB segment made from a spare, holding two records, costs
// a few megabytes of buffers, not its size.
func TestReadSegmentStreams(t *testing.T) {
	const size = 32 << 20
	path := filepath.Join(t.TempDir(), segmentName(3))
	var data []byte
	for _, k := range []string{"a", "b"} {
		r := walRecord{key: k, at: 1, expiry: 2, value: []byte(`{"dedup_key":"` + k + `"}`)}
		data = r.appendFrame(data)
	}
	writeFile(t, path, append(data, make([]byte, size-len(data))...))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	recs, valid, torn, err := readSegment(path, 3, 0)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].key != "b" || valid != int64(len(data)) || torn != 0 {
		t.Fatalf("%d records, valid %d, torn %d; want 2, %d, 0", len(recs), valid, torn, len(data))
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("reading a %d MB segment allocated %d MB; want it streamed", size>>20, got>>20)
	}
}

// TestIngressLogStats: every callback made durable is counted once, in
// the flush that took it; a duplicate is not written, so not counted.
func TestIngressLogStats(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{})
	ctx := context.Background()
	for i := range 20 {
		if added, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("seq", i), Kind: "text"}); err != nil || !added {
			t.Fatalf("Enqueue seq%d = %v, %v", i, added, err)
		}
	}
	if added, err := s.Enqueue(ctx, store.Event{DedupKey: "seq0", Kind: "text"}); err != nil || added {
		t.Fatalf("duplicate Enqueue = %v, %v", added, err)
	}
	// One at a time, each waits for its own flush.
	if st := s.IngressLogStats(); st.Flushes != 20 || st.Records != 20 || st.FlushTime <= 0 {
		t.Errorf("after 20 Enqueues one by one and a duplicate: %+v, want 20 flushes of 20 records in all", st)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if added, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("par", i), Kind: "text"}); err != nil || !added {
				t.Errorf("Enqueue par%d = %v, %v", i, added, err)
			}
		})
	}
	wg.Wait()
	if st := s.IngressLogStats(); st.Records != 36 || st.Flushes < 21 || st.Flushes > 36 {
		t.Errorf("after 16 more at once: %+v, want 36 records in 21 to 36 flushes", st)
	}
}

// TestMovedBucketsFilled: the buckets the mover appends to (entries,
// ready, dedupexp) keep their pages nearly full, where bbolt's default
// fill would leave each half empty and the mover writing twice the pages.
// (Without appendFill: 39%, 54% and 52% full.)
func TestMovedBucketsFilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wecomply.db")
	s := open(t, path, Options{})
	ctx := context.Background()
	payload := []byte("<xml>" + strings.Repeat("x", 500) + "</xml>") // about a text callback's size
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 250 {
				key := fmt.Sprintf("fill-%d-%03d", w, i)
				if added, err := s.Enqueue(ctx, store.Event{DedupKey: key, Kind: "text", Payload: payload}); err != nil || !added {
					t.Errorf("Enqueue %s = %v, %v", key, added, err)
				}
			}
		})
	}
	wg.Wait()
	if closed, err := s.in.awaitMoved(ctx, s.done); closed || err != nil {
		t.Fatalf("awaitMoved = %v, %v", closed, err)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEntries, bucketReady, bucketDedupExp} {
			st := tx.Bucket(name).Stats()
			if st.KeyN != 2000 {
				t.Errorf("%s: %d keys, want 2000", name, st.KeyN)
			}
			if st.LeafPageN < 2 {
				t.Errorf("%s: %d leaf pages, too few to tell how full they are", name, st.LeafPageN)
				continue
			}
			// The last page may be partly filled: leave it out.
			full := float64(st.LeafInuse) / float64((st.LeafPageN-1)*tx.DB().Info().PageSize)
			// Filled to 90%, pages of 800-byte entries hold four (78%);
			// filled to half, two (39%).
			if full < 0.7 {
				t.Errorf("%s: %d keys in %d leaf pages %.0f%% full, want 70%% or more", name, st.KeyN, st.LeafPageN, 100*full)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClaimTakesReadyEntriesWithoutTheMover: a Claim finding max entries
// ready takes them at once, oldest first, without waiting for the mover
// to move entries logged since (a move would give those later ids, so
// they would not be taken anyway); one finding fewer waits for the move
// and gets the logged entries too.
func TestClaimTakesReadyEntriesWithoutTheMover(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{})
	ctx := context.Background()
	gate := make(chan struct{})
	var holding atomic.Bool
	s.in.beforeMove = func() {
		if holding.Load() {
			<-gate
		}
	}
	enqueue := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			if added, err := s.Enqueue(ctx, store.Event{DedupKey: k, Kind: "text"}); err != nil || !added {
				t.Fatalf("Enqueue %s = %v, %v", k, added, err)
			}
		}
	}
	enqueue("a0", "a1", "a2", "a3", "a4")
	if closed, err := s.in.awaitMoved(ctx, s.done); closed || err != nil {
		t.Fatalf("awaitMoved = %v, %v", closed, err)
	}
	holding.Store(true)
	var released sync.Once
	release := func() { released.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the store's Close, which waits for the mover
	enqueue("b0", "b1", "b2")
	if !s.in.hasUnmoved() {
		t.Fatal("b0..b2 were moved although the mover is held")
	}

	claim := func(max int) <-chan []store.Delivery {
		out := make(chan []store.Delivery, 1)
		go func() {
			ds, err := s.Claim(ctx, "c", max, 0)
			if err != nil {
				t.Error(err)
			}
			out <- ds
		}()
		return out
	}
	keys := func(ds []store.Delivery) string {
		var ks []string
		for _, d := range ds {
			ks = append(ks, d.DedupKey)
		}
		return strings.Join(ks, ",")
	}
	select {
	case ds := <-claim(4):
		if got := keys(ds); got != "a0,a1,a2,a3" {
			t.Errorf("Claim(4) with 5 ready = %s, want a0,a1,a2,a3", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Claim(4) with 5 entries ready waited for the mover")
	}
	// One ready, three logged: the claim waits for the move (one that
	// did not would return a4 alone, the mover being held).
	second := claim(4)
	for s.in.awaiting.Load() == 0 {
		select {
		case ds := <-second:
			t.Fatalf("Claim(4) with 1 ready and 3 logged = %s before the move, want it to wait for the move", keys(ds))
		case <-time.After(time.Millisecond):
		}
	}
	release()
	if got := keys(<-second); got != "a4,b0,b1,b2" {
		t.Errorf("Claim(4) with 1 ready and 3 logged = %s, want a4,b0,b1,b2", got)
	}
}
