// Command archive measures the session archive (issue 11) on its
// backends, in one process, with the numbers the closing note
// asks for:
//
//   - pull: the whole puller path from the fake archive (wecomtest's
//     ArchiveServer, its realistic mix of every documented shape, one
//     RSA-2048 decrypt per record like the real SDK): ChatData → decrypt →
//     decode → decide → seal → tokens → Commit, pages of -batch records,
//     with the puller's Workers at 1 and at GOMAXPROCS; msgs/s and a CPU
//     profile (pprof -top) of the GOMAXPROCS run;
//   - load: -n realistic messages (archivetest.NewGenerator's people,
//     rooms and times; zh/en texts drawn from a Zipf vocabulary) made into
//     plaintext records, decoded, sealed and tokenised as the puller's
//     build step does (wecom.DecodeChatMessage, Keys.Seal, IndexKey.Tokens)
//     and committed in batches of -batch: it skips only ChatData and the
//     RSA step, which the pull phase measures;
//   - search: -queries queries through archive.Archive.Search (tokens,
//     store search, decrypt candidates, verify), each one person + a
//     30-day window + two terms: half taken from one of that person's
//     messages in that window (they occur), half two vocabulary words at
//     random (they mostly don't); p50/p95/p99 of each half, and of the
//     store's Search alone for the same queries;
//     On PostgreSQL they run twice: as loaded, then after VACUUM (ANALYZE)
//     (right after a bulk load the partitions' statistics lag and the
//     planner may scan the time range instead of the GIN index);
//     -search-at also measures disk and search at checkpoints of the load;
//   - disk: bytes per message (the bbolt file's size and its pages in
//     use; pg_total_relation_size of the archive tables on PostgreSQL);
//   - peak RSS of this process per phase (VmHWM, reset between phases).
//
// PostgreSQL runs in databases of its own (wecomply_archive_bench_…),
// created on the -pg server and dropped at the end.
//
//	go run ./bench/archive [-backend embedded|postgres|both] [-n 1000000] [-pull 50000] [-queries 200] [-search-at 100000,300000]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/archivetest"
	"github.com/wecomply/wecomply/archive/embedded"
	"github.com/wecomply/wecomply/archive/postgres"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const defaultAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	// An interrupt cancels the run, which still drops its databases.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "archive bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	n, pullN, batch, queries, top int
	admin, dir                    string
	searchAt                      []int  // message counts to measure at before n
	dsn                           string // the last PostgreSQL database opened
	clock                         func() time.Time
	index                         archive.IndexKey
	master                        archive.MasterKey
	dbs                           []string // PostgreSQL databases to drop
	vocab                         *vocabulary
	textRNG                       *mrand.Rand
	textZipf                      *mrand.Zipf
}

func run(ctx context.Context) error {
	b := &bench{}
	backend := flag.String("backend", "both", "embedded, postgres or both")
	flag.IntVar(&b.n, "n", 1000000, "messages to load for the search and disk numbers")
	flag.IntVar(&b.pullN, "pull", 50000, "records the fake archive serves to the puller (0: skip the pull phase)")
	flag.IntVar(&b.batch, "batch", 1000, "records per ChatData page and messages per Commit")
	flag.IntVar(&b.queries, "queries", 200, "search queries (half with terms from the person's messages, half random)")
	flag.StringVar(&b.admin, "pg", defaultAdminDSN, "PostgreSQL admin DSN (databases are created there and dropped)")
	flag.StringVar(&b.dir, "dir", "", "directory for the bbolt files and profiles (default: a temporary one, removed)")
	flag.IntVar(&b.top, "top", 20, "pprof -top entries to print")
	searchAt := flag.String("search-at", "", "comma-separated message counts (multiples of -batch) at which to measure disk and search too, before -n")
	flag.Parse()
	for _, f := range strings.FieldsFunc(*searchAt, func(r rune) bool { return r == ',' }) {
		k, err := strconv.Atoi(f)
		if err != nil || k <= 0 || k%b.batch != 0 {
			return fmt.Errorf("-search-at %q: want positive multiples of -batch", f)
		}
		b.searchAt = append(b.searchAt, k)
	}
	if b.n < b.batch || b.batch <= 0 || b.queries < 2 {
		return errors.New("need -n ≥ -batch > 0 and -queries ≥ 2")
	}
	var backends []string
	switch *backend {
	case "embedded", "postgres":
		backends = []string{*backend}
	case "both":
		backends = []string{"embedded", "postgres"}
	default:
		return fmt.Errorf("-backend %q: want embedded, postgres or both", *backend)
	}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "wecomply-archive-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		b.dir = d
	}
	start := archivetest.Start
	b.clock = func() time.Time { return start.Add(2 * 365 * 24 * time.Hour) }
	var err error
	if b.index, err = archive.NewIndexKey(bytes.Repeat([]byte{9}, archive.KeySize)); err != nil {
		return err
	}
	if b.master, err = archive.NewMasterKey("m1", bytes.Repeat([]byte{1}, archive.KeySize)); err != nil {
		return err
	}
	b.vocab = newVocabulary(7)
	defer b.dropDatabases()

	fmt.Printf("# %s %d cores, GOMAXPROCS %d, %s, bench/archive %s\n", time.Now().UTC().Format(time.RFC3339),
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), strings.Join(os.Args[1:], " "))
	if b.pullN > 0 {
		if err := b.pullPhase(ctx, backends); err != nil {
			return err
		}
	}
	for _, be := range backends {
		if err := b.loadAndSearch(ctx, be); err != nil {
			return fmt.Errorf("%s: %w", be, err)
		}
	}
	return nil
}

// open returns a fresh, empty store of backend and a func that closes it.
func (b *bench) open(ctx context.Context, backend, name string) (archive.Store, error) {
	if backend == "embedded" {
		return embedded.Open(filepath.Join(b.dir, name+".db"), embedded.Options{Now: b.clock})
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	db := "wecomply_archive_bench_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, b.admin)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL (-pg): %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return nil, fmt.Errorf("create database %s: %w", db, err)
	}
	b.dbs = append(b.dbs, db)
	dsn, err := withDatabase(b.admin, db)
	if err != nil {
		return nil, err
	}
	b.dsn = dsn
	return postgres.Open(ctx, dsn, postgres.Options{Now: b.clock})
}

func (b *bench) dropDatabases() {
	if len(b.dbs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "archive bench: drop databases:", err)
		return
	}
	defer conn.Close(ctx)
	for _, db := range b.dbs {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "archive bench: drop database %s: %v\n", db, err)
		}
	}
}

// withDatabase is the admin DSN pointed at db.
func withDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("-pg: the DSN does not parse")
		}
		u.Path = "/" + db
		return u.String(), nil
	}
	return dsn + " dbname=" + db, nil
}

// agreeAll is the ledger of a corp where everyone is on the permit list
// and every customer agreed: every message's content is kept, sealed
// and indexed (the most work per message).
type agreeAll struct{}

func (agreeAll) Permitted(context.Context, string) (bool, error) { return true, nil }
func (agreeAll) Consent(context.Context, string, string) (archive.ConsentAnswer, error) {
	return archive.ConsentAnswer{Known: true, Agreed: true, Source: "bench"}, nil
}
func (agreeAll) RoomConsent(context.Context, string, string) (archive.ConsentAnswer, error) {
	return archive.ConsentAnswer{Known: true, Agreed: true, Source: "bench"}, nil
}

// pullPhase serves pullN generated records from the fake and pulls them
// into a fresh store of each backend, with Workers 1 and GOMAXPROCS.
func (b *bench) pullPhase(ctx context.Context, backends []string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	srv := wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 11, Now: b.clock})
	srv.UploadPublicKey(&key.PublicKey)
	t0 := time.Now()
	for done := 0; done < b.pullN; done += 10000 {
		if _, err := srv.Generate(min(10000, b.pullN-done)); err != nil {
			return err
		}
	}
	fmt.Printf("pull: the fake generated and encrypted %d records in %s\n", b.pullN, time.Since(t0).Round(time.Millisecond))
	src := wecomtest.NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{1: key})
	for _, be := range backends {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			prof := ""
			if workers > 1 || runtime.GOMAXPROCS(0) == 1 {
				prof = filepath.Join(b.dir, "pull-"+be+".pprof")
			}
			if err := b.pull(ctx, be, src, workers, prof); err != nil {
				return fmt.Errorf("pull %s: %w", be, err)
			}
			if prof != "" {
				if err := b.pprofTop(prof); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (b *bench) pull(ctx context.Context, backend string, src wecom.ArchiveSource, workers int, prof string) error {
	st, err := b.open(ctx, backend, fmt.Sprintf("pull-%d", workers))
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := archive.NewKeys(st, archive.KeysConfig{Masters: []archive.MasterKey{b.master}, Clock: b.clock})
	if err != nil {
		return err
	}
	p := &archive.Puller{Source: src, Store: st, Keys: keys, Index: b.index, Ledger: agreeAll{},
		Log: slog.New(slog.DiscardHandler), Clock: b.clock, Limit: b.batch, Workers: workers}
	resetPeakRSS()
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var tot archive.PullResult
	cpu0 := cpuTime()
	t0 := time.Now()
	for {
		r, err := p.PullOnce(ctx)
		if err != nil {
			return err
		}
		tot.Records += r.Records
		tot.Stored += r.Stored
		tot.Quarantined += r.Quarantined
		tot.Duplicates += r.Duplicates
		if r.CaughtUp {
			break
		}
	}
	el := time.Since(t0)
	cpu := cpuTime() - cpu0
	if prof != "" {
		pprof.StopCPUProfile()
	}
	// cpu/record says what the machine's other load hides: the records
	// one idle core would store per second is 1s / cpu/record.
	fmt.Printf("pull backend=%s workers=%d batch=%d records=%d stored=%d quarantined=%d duplicates=%d time=%s records/s=%.0f stored/s=%.0f cpu=%s cpu/record=%s peak_rss=%.0fMB\n",
		backend, workers, b.batch, tot.Records, tot.Stored, tot.Quarantined, tot.Duplicates, el.Round(time.Millisecond),
		float64(tot.Records)/el.Seconds(), float64(tot.Stored)/el.Seconds(), cpu.Round(time.Millisecond),
		(cpu / time.Duration(max(tot.Records, 1))).Round(time.Microsecond), peakRSSMB())
	return nil
}

// pprofTop prints pprof -top of prof, flat then cumulative.
func (b *bench) pprofTop(prof string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for _, args := range [][]string{{"-top"}, {"-top", "-cum"}} {
		args = append(args, fmt.Sprintf("-nodecount=%d", b.top), exe, prof)
		out, err := exec.Command("go", append([]string{"tool", "pprof"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("pprof: %w: %s", err, out)
		}
		fmt.Printf("# go tool pprof %s (%s)\n%s", strings.Join(args[:len(args)-2], " "), filepath.Base(prof), out)
	}
	return nil
}

// probe is one search query of the bench.
type probe struct {
	user     string
	from, to time.Time
	text     string
	occurs   bool   // the terms come from one of the user's messages in the window
	msgID    string // that message
}

// loadAndSearch loads n messages into a fresh store of backend, then
// searches it and measures its size.
func (b *bench) loadAndSearch(ctx context.Context, backend string) error {
	st, err := b.open(ctx, backend, "load")
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := archive.NewKeys(st, archive.KeysConfig{Masters: []archive.MasterKey{b.master}, Clock: b.clock})
	if err != nil {
		return err
	}
	resetPeakRSS()
	g := archivetest.NewGenerator(1)
	rng := mrand.New(mrand.NewPCG(5, 6))
	b.textRNG = mrand.New(mrand.NewPCG(3, 4))
	b.textZipf = mrand.NewZipf(b.textRNG, 1.1, 10, 19999)
	// The probes are a uniform sample (reservoir) of the text messages
	// loaded so far, so a checkpoint's queries cover what is stored.
	var probes []probe
	eligible := 0
	var buildTime, commitTime time.Duration
	stored, withheld := 0, 0
	cpu0 := cpuTime()
	written0 := writtenBytes()
	t0 := time.Now()
	for from := 0; from < b.n; from += b.batch {
		tb := time.Now()
		batch := archive.Batch{From: uint64(from), To: uint64(min(from+b.batch, b.n))}
		for seq := batch.From + 1; seq <= batch.To; seq++ {
			m, words, err := b.message(ctx, g, keys, seq)
			if err != nil {
				return err
			}
			if p, ok := b.probeOf(rng, m, words); ok {
				eligible++
				if len(probes) < b.queries/2 {
					probes = append(probes, p)
				} else if j := rng.IntN(eligible); j < len(probes) {
					probes[j] = p
				}
			}
			batch.Messages = append(batch.Messages, m)
		}
		tc := time.Now()
		buildTime += tc.Sub(tb)
		r, err := st.Commit(ctx, batch)
		if err != nil {
			return fmt.Errorf("commit %d–%d: %w", batch.From, batch.To, err)
		}
		commitTime += time.Since(tc)
		stored += r.Stored
		for _, m := range batch.Messages {
			if m.Withheld != "" {
				withheld++
			}
		}
		loaded := int(batch.To)
		if (from/b.batch+1)%100 == 0 {
			fmt.Fprintf(os.Stderr, "load %s: %d/%d, commit %.0f msgs/s\n", backend, loaded, b.n, float64(loaded)/commitTime.Seconds())
		}
		if loaded == b.n || slices.Contains(b.searchAt, loaded) {
			el := time.Since(t0)
			cpu := cpuTime() - cpu0
			fmt.Printf("load backend=%s n=%d stored=%d withheld=%d batch=%d time=%s msgs/s=%.0f commit_msgs/s=%.0f (commit %s, build %s: decode+seal+tokens) cpu=%s written/msg=%.0fB (this process; PostgreSQL's own is not counted) peak_rss=%.0fMB\n",
				backend, loaded, stored, withheld, b.batch, el.Round(time.Millisecond), float64(stored)/el.Seconds(),
				float64(stored)/commitTime.Seconds(), commitTime.Round(time.Millisecond), buildTime.Round(time.Millisecond), cpu.Round(time.Millisecond),
				float64(writtenBytes()-written0)/float64(stored), peakRSSMB())
			ts := time.Now()
			if err := b.measure(ctx, backend, st, keys, rng, probes, stored); err != nil {
				return err
			}
			t0 = t0.Add(time.Since(ts)) // the load's time leaves the measuring out
			cpu0 += cpuTime() - cpu0 - cpu
		}
	}
	return nil
}

// measure reports the store's size and runs the probes, and as many
// with random terms.
func (b *bench) measure(ctx context.Context, backend string, st archive.Store, keys *archive.Keys, rng *mrand.Rand, probes []probe, stored int) error {
	if du, ok := st.(archivetest.DiskUser); ok {
		n, err := du.DiskBytes(ctx)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("disk backend=%s messages=%d bytes=%d bytes/msg=%.0f", backend, stored, n, float64(n)/float64(stored))
		if p, ok := st.(archivetest.Pather); ok {
			if fi, err := os.Stat(p.Path()); err == nil {
				line += fmt.Sprintf(" file=%d file_bytes/msg=%.0f", fi.Size(), float64(fi.Size())/float64(stored))
			}
		}
		fmt.Println(line)
	}
	// The other half: the same people and windows, two random words.
	all := slices.Clone(probes)
	for _, p := range probes {
		p.occurs, p.msgID = false, ""
		p.text = b.vocab.word(rng) + " " + b.vocab.word(rng)
		all = append(all, p)
	}
	if backend != "postgres" {
		return b.search(ctx, backend, st, keys, all, stored, "")
	}
	// Right after a bulk load the new partitions' statistics lag (the
	// planner may misjudge the time range) and the GIN indexes' pending
	// lists are long; autovacuum catches up later. Both states are
	// measured: as loaded, then after VACUUM (ANALYZE).
	if err := b.search(ctx, backend, st, keys, all, stored, "as_loaded"); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, b.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	t0 := time.Now()
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	fmt.Printf("vacuum backend=%s messages=%d VACUUM (ANALYZE) took %s\n", backend, stored, time.Since(t0).Round(time.Millisecond))
	return b.search(ctx, backend, st, keys, all, stored, "analyzed")
}

// message makes the generator's next message into a stored one, as the
// puller's build step does: a plaintext record, decoded, sealed with the
// day's data key, its text tokenised with the index key.
func (b *bench) message(ctx context.Context, g *archivetest.Generator, keys *archive.Keys, seq uint64) (archive.Message, []string, error) {
	m := g.Message(seq)
	var words []string
	withheld := m.Withheld != ""
	rec := map[string]any{"msgid": m.MsgID, "action": "send", "from": m.From, "tolist": m.ToList,
		"roomid": m.RoomID, "msgtime": m.Time.UnixMilli(), "msgtype": m.Type}
	switch m.Type {
	case "text":
		var text string
		text, words = b.vocab.text(b.textRNG, b.textZipf, len(m.Content))
		rec["text"] = map[string]any{"content": text}
	case "image":
		md := mediaOf(m)
		rec["image"] = map[string]any{"md5sum": md.MD5Sum, "filesize": md.Size, "sdkfileid": md.SDKFileID}
	case "file":
		md := mediaOf(m)
		rec["file"] = map[string]any{"md5sum": md.MD5Sum, "filename": md.FileName, "fileext": "pdf", "filesize": md.Size, "sdkfileid": md.SDKFileID}
	}
	plain, err := json.Marshal(rec)
	if err != nil {
		return m, nil, err
	}
	cm, err := wecom.DecodeChatMessage(plain)
	if err != nil {
		return m, nil, fmt.Errorf("decode generated record %s: %w", m.MsgID, err)
	}
	m.Content, m.Tokens, m.Media, m.KeyID = nil, nil, nil, ""
	m.KeyDay = archive.KeyDay(m.Time)
	m.StoredAt = m.Time.Add(time.Second)
	if withheld {
		return m, nil, nil
	}
	if m.KeyID, m.Content, err = keys.Seal(ctx, m.KeyDay, m.MsgID, cm.Raw); err != nil {
		return m, nil, err
	}
	m.Tokens = b.index.Tokens(cm.Text)
	m.Media = cm.Media
	return m, words, nil
}

// mediaOf is m's file reference (made up when the generator withheld
// it, so that the record still has the shape of its type).
func mediaOf(m archive.Message) wecom.ChatMedia {
	if len(m.Media) > 0 {
		return m.Media[0]
	}
	return wecom.ChatMedia{SDKFileID: "CtYBMzA2OTAy" + m.MsgID, MD5Sum: "0123456789abcdef0123456789abcdef", Size: 1024, FileName: "withheld.pdf"}
}

// probeOf makes a query from m: one of its internal parties, a 30-day
// window around it, two of its words.
func (b *bench) probeOf(rng *mrand.Rand, m archive.Message, words []string) (probe, bool) {
	if m.Type != "text" || m.Withheld != "" || len(words) < 2 {
		return probe{}, false
	}
	var users []string
	for _, id := range append([]string{m.From}, m.ToList...) {
		if !wecom.IsExternalID(id) {
			users = append(users, id)
		}
	}
	if len(users) == 0 {
		return probe{}, false
	}
	i, j := rng.IntN(len(words)), 0
	for range 8 { // two different words if the message has them
		if j = rng.IntN(len(words)); words[j] != words[i] {
			break
		}
	}
	from := m.Time.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
	return probe{user: users[rng.IntN(len(users))], from: from, to: from.Add(30 * 24 * time.Hour),
		text: words[i] + " " + words[j], occurs: true, msgID: m.MsgID}, true
}

type discardAudit struct{}

func (discardAudit) AuditArchive(context.Context, archive.AuditRecord) error { return nil }

// search runs every probe through Archive.Search (first page, the
// default limit) and through the store's Search alone.
func (b *bench) search(ctx context.Context, backend string, st archive.Store, keys *archive.Keys, probes []probe, stored int, state string) error {
	a := &archive.Archive{Store: st, Keys: keys, Index: b.index, Audit: discardAudit{}, Clock: b.clock}
	resetPeakRSS()
	prof := filepath.Join(b.dir, fmt.Sprintf("search-%s-%d%s.pprof", backend, stored, state))
	f, err := os.Create(prof)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	lat := map[bool][]time.Duration{}
	storeLat := map[bool][]time.Duration{}
	results := map[bool]int{}
	found := 0
	for _, p := range probes {
		q := archive.SearchQuery{SearchFilters: archive.SearchFilters{User: p.user, From: p.from, To: p.to}, Text: p.text}
		t0 := time.Now()
		res, _, err := a.Search(ctx, "bench", q)
		if err != nil {
			pprof.StopCPUProfile()
			return fmt.Errorf("search: %w", err)
		}
		lat[p.occurs] = append(lat[p.occurs], time.Since(t0))
		results[p.occurs] += len(res)
		if p.occurs && slices.ContainsFunc(res, func(r archive.Result) bool { return r.MsgID == p.msgID }) {
			found++
		}
		sq := archive.Query{User: p.user, From: p.from, To: p.to, Tokens: b.index.QueryTokens(p.text)}
		t0 = time.Now()
		if _, _, err := st.Search(ctx, sq); err != nil {
			pprof.StopCPUProfile()
			return fmt.Errorf("store search: %w", err)
		}
		storeLat[p.occurs] = append(storeLat[p.occurs], time.Since(t0))
	}
	pprof.StopCPUProfile()
	for _, occurs := range []bool{true, false} {
		kind := "terms_occur"
		if !occurs {
			kind = "terms_random"
		}
		l := lat[occurs]
		if state != "" {
			kind += " " + state
		}
		line := fmt.Sprintf("search backend=%s messages=%d queries=%d %s p50=%s p95=%s p99=%s max=%s results/query=%.1f store_only_p50=%s store_only_p95=%s",
			backend, stored, len(l), kind, pct(l, 50), pct(l, 95), pct(l, 99), pct(l, 100), float64(results[occurs])/float64(len(l)),
			pct(storeLat[occurs], 50), pct(storeLat[occurs], 95))
		if occurs {
			line += fmt.Sprintf(" source_message_found=%d/%d", found, len(l))
		}
		fmt.Println(line + fmt.Sprintf(" peak_rss=%.0fMB", peakRSSMB()))
	}
	return b.pprofTop(prof)
}

// pct is the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p float64) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return s[i].Round(10 * time.Microsecond).String()
}

// cpuTime is the CPU time (user + system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writtenBytes is what this process wrote so far (write_bytes of
// /proc/self/io: what reached the block layer), 0 if unknown.
func writtenBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM (Linux: "5" to /proc/self/clear_refs).
func resetPeakRSS() {
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB is VmHWM in MB (0 if unknown).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
