package embedded

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// The ingress log. Enqueue does not write the B-tree: it adds the entry's
// record to the log's buffer and returns once a flush that took it has
// written it to a log segment next to the bbolt file (<path>.wal/<n>.seg)
// and fdatasynced it. One flush runs at a time, and it takes everything
// buffered while the one before ran, so concurrent Enqueues share one
// write and one fdatasync without a timer (see syncTo). Nothing writes to
// a segment while its fdatasync runs, and segments are zero-filled (and
// synced) in the background before they are used, so the flush overwrites
// blocks the file already has: its fdatasync flushes data only, with no
// journal commit for a size that grew (see prepareLoop). A mover goroutine then
// moves logged entries into the entries, ready (or delayed), dedup and
// dedupexp buckets, exactly as Enqueue used to write them, many entries
// to a transaction, and records in the same transaction how far the log
// has been moved (meta "wal-moved"). Segments wholly moved are deleted;
// Open moves whatever the log holds past that position, so every entry
// is moved exactly once, whenever the process died.
//
// A record is a frame: length (4 bytes) ‖ CRC-32C of the length and the
// body (4 bytes) ‖ body. A crash mid-append leaves a torn frame at the
// tail of the segment being written; replay stops reading that segment at
// the first frame that is short or fails its CRC. (Nobody was told such a
// record was stored: Enqueue hears back only after an fdatasync covering
// its write.) A zero-filled segment's unwritten rest reads as a frame of
// length 0, which ends it as well. Open always starts a new segment, so
// nothing is written after a torn tail.
//
// Deduplication stays exact: a key is taken if it is reserved in memory
// (logged or being logged, not yet moved; reserved before its record is
// appended, so that concurrent enqueues of one key cannot both add it)
// or live in the dedup bucket. A reservation ends only after the mover's
// transaction holding the key has committed.
//
// A logged entry is claimable once moved: Claim first waits for the
// entries logged before it to be moved, and QueueStats counts logged
// entries not yet moved as ready.

// Tunables of the ingress log.
const (
	// walSegmentSize is the size past which Enqueue starts a new
	// segment, so that moved ones can be deleted.
	walSegmentSize = 64 << 20
	// walMoveBatch bounds the entries one mover transaction moves.
	walMoveBatch = 4096
	// walMaxUnmoved bounds the bytes of logged records waiting to be
	// moved (held in memory): past it, Enqueue waits for the mover.
	walMaxUnmoved = 64 << 20
	// walMoveDelay is how long the mover lets logged records gather
	// before it moves them, unless a Claim or a full log is waiting: a
	// B-tree commit (two fdatasyncs and many page writes) per few records
	// would take the disk from the log's own fdatasyncs.
	walMoveDelay = 20 * time.Millisecond
	// walRetry is how long the mover waits after a failed transaction.
	walRetry = 100 * time.Millisecond
	// walVersion starts every record body.
	walVersion = 1
	// walHeader is a frame's length and CRC.
	walHeader = 8
	// walMaxRecord bounds a frame's length on replay.
	walMaxRecord = 1 << 30
)

// appendFill is the FillPercent of buckets that the mover appends to.
const appendFill = 0.9

// metaWALMoved, in meta, is the log position moved up to (walPos).
var metaWALMoved = []byte("wal-moved")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// walPos is a position in the log: a segment and a byte offset in it.
type walPos struct {
	seg uint64
	off int64
}

func (p walPos) less(q walPos) bool {
	return p.seg < q.seg || p.seg == q.seg && p.off < q.off
}

func (p walPos) bytes() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), p.seg)
	return binary.BigEndian.AppendUint64(b, uint64(p.off))
}

func parseWALPos(v []byte) walPos {
	if len(v) != 16 {
		return walPos{}
	}
	return walPos{seg: binary.BigEndian.Uint64(v), off: int64(binary.BigEndian.Uint64(v[8:]))}
}

// walRecord is one logged Enqueue.
type walRecord struct {
	key       string
	at        int64  // µs: when it was enqueued (by the store's clock)
	expiry    int64  // µs: when its dedup key expires
	notBefore int64  // µs; 0: none
	value     []byte // the entries bucket's value (record JSON)

	// In memory only.
	end    walPos // where its frame ends in the log
	serial uint64 // its reservation (0: none, a replayed record)
}

// appendFrame appends r's frame to b.
func (r *walRecord) appendFrame(b []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, walHeader)...)
	b = append(b, walVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.at))
	b = binary.BigEndian.AppendUint64(b, uint64(r.expiry))
	b = binary.BigEndian.AppendUint64(b, uint64(r.notBefore))
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	b = append(b, r.value...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-walHeader))
	binary.BigEndian.PutUint32(b[start+4:], frameCRC(b[start:start+4], b[start+walHeader:]))
	return b
}

func frameCRC(length, body []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, body)
}

func decodeWALBody(body []byte) (walRecord, error) {
	if len(body) < 1+24 || body[0] != walVersion {
		return walRecord{}, errors.New("unknown record version")
	}
	r := walRecord{
		at:        int64(binary.BigEndian.Uint64(body[1:])),
		expiry:    int64(binary.BigEndian.Uint64(body[9:])),
		notBefore: int64(binary.BigEndian.Uint64(body[17:])),
	}
	rest := body[25:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || n == 0 || uint64(len(rest)-w) < n {
		return walRecord{}, errors.New("malformed dedup key")
	}
	r.key = string(rest[w : w+int(n)])
	r.value = rest[w+int(n):]
	return r, nil
}

// readSegment reads the records of a segment from offset from, stopping
// at the first frame that is short, too long or fails its CRC. valid is
// where the readable records end, torn how many bytes after it are not
// zero (the zero-filled rest of a segment is not a torn tail).
//
// The segment is streamed, not read whole: a segment made from a spare
// is segmentSize long however little it holds, and replay reads every
// unmoved one before it moves any, so reading them whole held each one's
// megabytes of zeros (64 MB a segment by default) at Open.
func readSegment(path string, seg uint64, from int64) (recs []walRecord, valid, torn int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	size := st.Size()
	off := min(from, size)
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 1<<20)
	var hdr [walHeader]byte
	for off+walHeader <= size {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, 0, 0, err
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 || n > walMaxRecord || off+walHeader+n > size {
			break
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, 0, 0, err
		}
		if frameCRC(hdr[:4], body) != binary.BigEndian.Uint32(hdr[4:]) {
			break
		}
		r, err := decodeWALBody(body)
		if err != nil {
			break
		}
		off += walHeader + n
		r.end = walPos{seg: seg, off: off}
		recs = append(recs, r)
	}
	valid = off
	// The last byte after valid that is not zero ends the torn tail.
	buf := make([]byte, 1<<20)
	for pos := valid; pos < size; {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		if err != nil && !(errors.Is(err, io.EOF) && k > 0) {
			return nil, 0, 0, err
		}
		if i := bytes.LastIndexFunc(buf[:k], func(r rune) bool { return r != 0 }); i >= 0 {
			torn = pos + int64(i) + 1 - valid
		}
		pos += int64(k)
	}
	return recs, valid, torn, nil
}

func segmentName(seg uint64) string { return fmt.Sprintf("%016d.seg", seg) }

// listSegments returns the segment numbers in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), ".seg")
		if !ok || !de.Type().IsRegular() {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ingress is the log's state.
type ingress struct {
	dir         string
	segmentSize int64

	// The segment being written and how far: only the flush under way
	// (see flushing) uses them.
	f     *os.File
	fseg  uint64
	fsize int64

	// The buffer and the flushes, under smu (taken before mu).
	smu      sync.Mutex
	syncDone *sync.Cond  // broadcast when a flush ends
	flushing bool        // a flush is under way
	pending  []walChunk  // frames no flush has taken yet, in log order
	free     [][]byte    // buffers of flushed chunks, for reuse
	next     walPos      // where the next frame goes
	durable  walPos      // how far the log is known durable
	waiting  []walRecord // buffered or being flushed, in log order
	broken   error       // a failed write or fdatasync: the log takes no more
	stats    store.IngressLogStats

	mu           sync.Mutex
	reserved     map[string]reservation // dedup keys logged or being logged, not yet moved
	serial       uint64                 // the last reservation's
	unmoved      []walRecord            // durable, not yet moved, in log order
	unmovedBytes int
	moved        walPos        // how far the log has been moved
	movedCh      chan struct{} // closed and replaced after each move (or failed move)
	moveErr      error         // the mover's last failure, nil after a success
	lowSeg       uint64        // the lowest segment that may still exist

	// beforeMove, if set (by tests only, before any Enqueue), runs in
	// the mover before each move's transaction.
	beforeMove func()
	// awaiting counts the callers in awaitMoved waiting for a move (tests
	// read it to know that a Claim waits).
	awaiting atomic.Int32

	kick         chan struct{} // buffered, one: the mover has work
	urgent       chan struct{} // buffered, one: someone waits for the mover
	stopMover    chan struct{}
	moverStopped chan struct{}

	// The spare segment (see prepareLoop).
	spareMu     sync.Mutex    // held to check and rename walSpare
	spareOK     atomic.Bool   // walSpare is zero-filled and synced
	growSeg     atomic.Uint64 // 1 + the segment being written, if it was not a spare (it grows)
	wantSpare   chan struct{} // buffered, one: make a spare
	stopPrepare chan struct{}
	prepStopped chan struct{}
}

// walChunk is a run of frames of one segment.
type walChunk struct {
	seg  uint64
	data []byte
}

type reservation struct {
	expiry int64
	serial uint64
}

// openIngress replays the log past the position recorded in meta into
// the buckets, deletes the segments that are wholly moved and starts a
// fresh segment. It runs in Open, before anything else uses the store.
func (s *Store) openIngress(dbPath string) (*ingress, error) {
	dir := dbPath + ".wal"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var moved walPos
	err := s.db.View(func(tx *bolt.Tx) error {
		moved = parseWALPos(tx.Bucket(bucketMeta).Get(metaWALMoved))
		return nil
	})
	if err != nil {
		return nil, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	last := moved.seg
	var recs []walRecord
	for _, seg := range segs {
		last = max(last, seg)
		if seg < moved.seg {
			continue
		}
		from := int64(0)
		if seg == moved.seg {
			from = moved.off
		}
		rs, valid, torn, err := readSegment(filepath.Join(dir, segmentName(seg)), seg, from)
		if err != nil {
			return nil, err
		}
		if torn > 0 {
			s.log.Warn("embedded store: ingress log: dropped a torn or corrupt tail (records nobody was told were stored)",
				"segment", segmentName(seg), "offset", valid, "bytes", torn)
		}
		recs = append(recs, rs...)
	}
	// Everything up to the new segment is moved in one transaction.
	next := walPos{seg: last + 1}
	if err := s.w.write(false, func(tx *bolt.Tx) error { return moveRecords(tx, recs, next) }); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if len(recs) > 0 {
		s.log.Info("embedded store: ingress log replayed", "entries", len(recs))
	}
	for _, seg := range segs {
		if err := os.Remove(filepath.Join(dir, segmentName(seg))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	in := &ingress{
		dir:          dir,
		segmentSize:  s.opts.segmentSize,
		reserved:     map[string]reservation{},
		moved:        next,
		movedCh:      make(chan struct{}),
		lowSeg:       next.seg,
		kick:         make(chan struct{}, 1),
		urgent:       make(chan struct{}, 1),
		stopMover:    make(chan struct{}),
		moverStopped: make(chan struct{}),
	}
	in.syncDone = sync.NewCond(&in.smu)
	in.wantSpare = make(chan struct{}, 1)
	in.stopPrepare = make(chan struct{})
	in.prepStopped = make(chan struct{})
	// A spare left by the last run may be half made: make it again.
	for _, name := range []string{walSpare, walSpare + ".tmp"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := in.openSegment(next.seg); err != nil {
		return nil, err
	}
	in.next, in.durable = walPos{seg: next.seg}, walPos{seg: next.seg}

	go in.prepareLoop(s.log)
	go s.moveLoop(in)
	return in, nil
}

// walSpare names the zero-filled file the next segment is made from.
const walSpare = "spare"

// openSegment starts segment seg, from the spare if one is ready, and
// makes its name durable. It asks for the next spare.
func (in *ingress) openSegment(seg uint64) error {
	name := filepath.Join(in.dir, segmentName(seg))
	in.spareMu.Lock()
	spare := in.spareOK.Swap(false)
	var err error
	if spare {
		err = os.Rename(filepath.Join(in.dir, walSpare), name)
	}
	in.spareMu.Unlock()
	if err != nil {
		return err
	}
	flag := os.O_WRONLY
	if !spare {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(name, flag, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(in.dir); err != nil {
		_ = f.Close()
		return err
	}
	in.f, in.fseg, in.fsize = f, seg, 0
	if spare {
		in.growSeg.Store(0)
	} else {
		in.growSeg.Store(seg + 1)
	}
	return nil
}

// prepareLoop makes the spare segment whenever asked: a file of
// segmentSize zero bytes, fsynced, so that the blocks a flush overwrites
// are allocated and written already. An fdatasync of a file that grew
// must also commit the file system's journal (the new size and blocks);
// of one overwritten in place it flushes the data alone, which on this
// kind of disk roughly halves the time every Enqueue waits. Without a
// spare (not made yet, or failing) a segment starts empty and grows:
// slower, equally safe.
func (in *ingress) prepareLoop(log *slog.Logger) {
	defer close(in.prepStopped)
	failures := 0
	for {
		select {
		case <-in.wantSpare:
		case <-in.stopPrepare:
			return
		}
		if in.spareOK.Load() {
			continue
		}
		err := in.makeSpare()
		if err == nil {
			failures = 0
			continue
		}
		if errors.Is(err, errStopping) {
			return
		}
		if failures++; failures == 1 {
			log.Warn("embedded store: ingress log: cannot make a spare segment; segments will grow as written", "err", err)
		}
	}
}

func (in *ingress) makeSpare() error {
	// Written past the page cache where the file system allows it: a
	// segment's zeros copied through the cache cost the server about a
	// sixth of a core at 18,000 callbacks a second (a segment every few
	// seconds), and each write reaches the disk as it is made. A file
	// system that opens the file so but then refuses the writes gets
	// them through the cache.
	err := in.writeSpare(in.segmentSize%directAlign == 0)
	if errors.Is(err, errDirect) {
		err = in.writeSpare(false)
	}
	return err
}

// errDirect: a direct write failed.
var errDirect = errors.New("direct write failed")

func (in *ingress) writeSpare(wantDirect bool) error {
	tmp := filepath.Join(in.dir, walSpare+".tmp")
	f, direct, err := createDirect(tmp, wantDirect)
	if err != nil {
		return err
	}
	// A megabyte at a time, each on the disk before the next is written:
	// one flush of a whole segment's worth would hold up the log's own
	// fdatasyncs (on a shared disk queue) for its duration.
	zeros := alignedZeros(1 << 20)
	for left := in.segmentSize; left > 0 && err == nil; left -= int64(len(zeros)) {
		select {
		case <-in.stopPrepare:
			err = errStopping
		default:
			_, err = f.Write(zeros[:min(left, int64(len(zeros)))])
			switch {
			case err != nil && direct:
				err = fmt.Errorf("%w: %w", errDirect, err)
			case err == nil && !direct:
				err = datasync(f)
			}
		}
	}
	if err == nil {
		err = f.Sync() // the size and the blocks, once
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		in.spareMu.Lock()
		if err = os.Rename(tmp, filepath.Join(in.dir, walSpare)); err == nil {
			in.spareOK.Store(true)
		}
		in.spareMu.Unlock()
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// directAlign is what direct writes must be aligned to, in memory and in
// the file: a page, which covers every block size Linux file systems use.
const directAlign = 4096

// alignedZeros returns n zero bytes starting at a directAlign boundary.
func alignedZeros(n int) []byte {
	b := make([]byte, n+directAlign)
	off := (directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)) % directAlign
	return b[off : off+n : off+n]
}

// errStopping stops a spare being made when the log closes.
var errStopping = errors.New("ingress log closing")

// moveRecords puts recs in the queue's buckets, as Enqueue did before the
// log, and records end as the position moved up to.
func moveRecords(tx *bolt.Tx, recs []walRecord, end walPos) error {
	dedup, dedupExp := tx.Bucket(bucketDedup), tx.Bucket(bucketDedupExp)
	entries, ready, delayed := tx.Bucket(bucketEntries), tx.Bucket(bucketReady), tx.Bucket(bucketDelayed)
	// These three only grow at their end here (entry ids count up, and
	// so do expiries: enqueue time plus one TTL), so a page split off
	// their last page never takes another key: filled to bbolt's
	// default half, every page the mover writes would stay half empty,
	// twice the pages written to move the same entries (and the disk
	// they take from the log's fdatasyncs; see issue 10's note).
	entries.FillPercent, ready.FillPercent, dedupExp.FillPercent = appendFill, appendFill, appendFill
	for i := range recs {
		r := &recs[i]
		dk := []byte(r.key)
		if v := dedup.Get(dk); v != nil {
			// Expired when the entry was enqueued (else it would not
			// have been added): its index entry goes.
			if err := dedupExp.Delete(concat(v, dk)); err != nil {
				return err
			}
		}
		ek := timeKey(r.expiry)
		if err := dedup.Put(dk, ek); err != nil {
			return err
		}
		if err := dedupExp.Put(concat(ek, dk), nil); err != nil {
			return err
		}
		seq, err := entries.NextSequence()
		if err != nil {
			return err
		}
		k := idKey(seq)
		if err := entries.Put(k, r.value); err != nil {
			return err
		}
		if r.notBefore > r.at {
			err = delayed.Put(concat(timeKey(r.notBefore), k), nil)
		} else {
			err = ready.Put(k, nil)
		}
		if err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(metaWALMoved, end.bytes())
}

// add logs r unless its key is taken: reserved by another logged entry
// or, as stored tells, live in the dedup bucket. It returns once r is
// durable. The caller keeps the log open (see Store.enqueueMu) until add returns.
func (in *ingress) add(ctx context.Context, r walRecord, stored func() (bool, error)) (bool, error) {
	in.mu.Lock()
	for in.unmovedBytes > walMaxUnmoved {
		if in.moveErr != nil {
			err := in.moveErr
			in.mu.Unlock()
			return false, fmt.Errorf("ingress log full and the mover failing: %w", err)
		}
		ch := in.movedCh
		in.mu.Unlock()
		poke(in.urgent)
		select {
		case <-ch:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		in.mu.Lock()
	}
	if p, ok := in.reserved[r.key]; ok && p.expiry > r.at {
		in.mu.Unlock()
		return false, nil // logged within DedupTTL, not moved yet
	}
	in.serial++
	r.serial = in.serial
	in.reserved[r.key] = reservation{expiry: r.expiry, serial: r.serial}
	in.mu.Unlock()

	if live, err := stored(); err != nil || live {
		in.release(r)
		return false, err
	}
	end, err := in.write(r)
	if err == nil {
		err = in.syncTo(end)
	}
	if err != nil {
		// The log is broken: every later add fails, so keeping the
		// reservation changes nothing.
		return false, err
	}
	return true, nil
}

// release ends r's reservation, unless a later entry of the same key
// holds it now.
func (in *ingress) release(r walRecord) {
	in.mu.Lock()
	in.releaseLocked(r)
	in.mu.Unlock()
}

func (in *ingress) releaseLocked(r walRecord) {
	if p, ok := in.reserved[r.key]; ok && p.serial == r.serial {
		delete(in.reserved, r.key)
	}
}

// write adds r's frame to the buffer, in the next segment if this one
// is full, and returns where the frame ends.
func (in *ingress) write(r walRecord) (walPos, error) {
	in.smu.Lock()
	defer in.smu.Unlock()
	if in.broken != nil {
		return walPos{}, in.broken
	}
	if in.next.off >= in.segmentSize ||
		in.next.off > 0 && in.growSeg.Load() == in.next.seg+1 && in.spareOK.Load() {
		// Full, or growing while a spare is ready (the first segment
		// of a run, or one started while the spare was being made).
		in.next = walPos{seg: in.next.seg + 1}
	}
	n := len(in.pending)
	if n == 0 || in.pending[n-1].seg != in.next.seg {
		var buf []byte
		if k := len(in.free); k > 0 {
			buf, in.free = in.free[k-1], in.free[:k-1]
		}
		in.pending = append(in.pending, walChunk{seg: in.next.seg, data: buf})
		n++
	}
	c := &in.pending[n-1]
	before := len(c.data)
	c.data = r.appendFrame(c.data)
	in.next.off += int64(len(c.data) - before)
	if in.next.off-int64(len(c.data)-before) < in.segmentSize/8 && in.next.off >= in.segmentSize/8 {
		// An eighth of a segment in: time to make the next one's spare
		// (a store that logs little never makes one).
		poke(in.wantSpare)
	}
	r.end = in.next
	in.waiting = append(in.waiting, r)
	return r.end, nil
}

// syncTo returns once the log is durable up to pos. Unless a flush is
// under way, the caller flushes everything buffered itself; otherwise it
// waits for that flush to end and looks again. So one flush runs at a
// time, and each takes every frame buffered while the last one ran: the
// more Enqueues arrive, the more share a write and an fdatasync. (One at
// a time is also the faster way: with several fdatasyncs of one file
// under way, each took longer and covered fewer records, and callbacks
// a second fell by a third; see issue 10's note.)
func (in *ingress) syncTo(pos walPos) error {
	in.smu.Lock()
	defer in.smu.Unlock()
	for {
		if !in.durable.less(pos) {
			return nil
		}
		if in.broken != nil {
			return in.broken
		}
		if in.flushing {
			in.syncDone.Wait()
			continue
		}
		// Let the goroutines about to add a record (a callback being
		// decrypted, a worker's write) add it first, so that this flush
		// covers them too: an fdatasync costs the kernel about as much
		// for one record as for thirty. With nothing else to run,
		// Gosched returns at once. No other flush starts meanwhile.
		in.flushing = true
		in.smu.Unlock()
		runtime.Gosched()
		runtime.Gosched()
		in.smu.Lock()
		// Every earlier flush has ended and its records have left
		// waiting (durableLocked), so waiting holds just the records
		// in pending.
		chunks, target, records := in.pending, in.next, int64(len(in.waiting))
		in.pending = nil
		in.smu.Unlock()
		start := time.Now()
		err := in.flush(chunks)
		took := time.Since(start)
		in.smu.Lock()
		in.flushing = false
		for _, c := range chunks {
			if cap(c.data) <= walMaxBuffer && len(in.free) < 4 {
				in.free = append(in.free, c.data[:0])
			}
		}
		if err != nil {
			in.failLocked(err)
		} else {
			in.durableLocked(target)
			in.stats.Flushes++
			in.stats.Records += records
			in.stats.FlushTime += took
		}
		in.syncDone.Broadcast()
	}
}

// IngressLogStats counts the ingress log's flushes since Open: Records /
// Flushes is how many entries (mostly callbacks) shared an fdatasync,
// FlushTime / Flushes how long the disk took for one (see handlers'
// metrics).
func (s *Store) IngressLogStats() store.IngressLogStats {
	s.in.smu.Lock()
	defer s.in.smu.Unlock()
	return s.in.stats
}

// walMaxBuffer bounds the buffers kept for reuse.
const walMaxBuffer = 1 << 20

// flush writes chunks to their segments, starting the next segment
// where they say so, and fdatasyncs the last one.
func (in *ingress) flush(chunks []walChunk) error {
	for _, c := range chunks {
		if c.seg != in.fseg {
			if err := in.rotate(c.seg); err != nil {
				return err
			}
		}
		if _, err := in.f.WriteAt(c.data, in.fsize); err != nil {
			return err
		}
		in.fsize += int64(len(c.data))
	}
	return datasync(in.f)
}

// rotate makes the segment being written durable, closes it and starts
// segment seg. Only a flush calls it.
func (in *ingress) rotate(seg uint64) error {
	if err := datasync(in.f); err != nil {
		return err
	}
	if err := in.f.Close(); err != nil {
		return err
	}
	return in.openSegment(seg)
}

// durableLocked records that the log is durable up to pos and hands the
// records written up to there to the mover, in log order. The caller
// holds smu.
func (in *ingress) durableLocked(pos walPos) {
	if !in.durable.less(pos) {
		return
	}
	in.durable = pos
	n := 0
	for n < len(in.waiting) && !pos.less(in.waiting[n].end) {
		n++
	}
	if n == 0 {
		return
	}
	in.mu.Lock()
	for _, r := range in.waiting[:n] {
		in.unmoved = append(in.unmoved, r)
		in.unmovedBytes += len(r.value) + len(r.key)
	}
	in.mu.Unlock()
	clear(in.waiting[:n])
	in.waiting = in.waiting[n:]
	poke(in.kick)
}

// failLocked breaks the log: Enqueues not yet told that their record is
// durable get an error, and so does every later one (a failed write or
// fdatasync leaves unknown what is on disk, and nothing may be appended
// after it). The caller holds smu.
func (in *ingress) failLocked(err error) {
	if in.broken == nil {
		in.broken = fmt.Errorf("ingress log: %w", err)
	}
	in.syncDone.Broadcast()
}

// poke sends on a buffered channel of one unless a send is pending.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// moveLoop moves logged records into the buckets: walMoveBatch of them
// at a time, or what walMoveDelay gathered, or at once when someone waits
// (see urgent). Stopped, it moves what is left (what it cannot stays in
// the log for the next Open).
func (s *Store) moveLoop(in *ingress) {
	defer close(in.moverStopped)
	for {
		select {
		case <-in.kick:
			s.gatherMoves(in)
		case <-in.urgent:
		case <-in.stopMover:
			for {
				n, err := s.moveOnce(in)
				if err != nil {
					s.log.Warn("embedded store: ingress log: move at close failed; the next Open moves it", "err", err)
				}
				if err != nil || n == 0 {
					return
				}
			}
		}
		for {
			n, err := s.moveOnce(in)
			if err != nil {
				s.log.Warn("embedded store: ingress log: move entries", "err", err)
				t := time.NewTimer(walRetry)
				select {
				case <-t.C:
				case <-in.stopMover:
				}
				t.Stop()
				poke(in.urgent) // look again, or (stopping) make the final attempt
				break
			}
			if n < walMoveBatch {
				break
			}
		}
	}
}

// gatherMoves waits until a batch is full, walMoveDelay has passed,
// someone waits for the mover (a Claim waiting for an entry, a Claim
// waiting for what was logged before it, an Enqueue waiting for room) or
// it is told to stop.
func (s *Store) gatherMoves(in *ingress) {
	t := time.NewTimer(walMoveDelay)
	defer t.Stop()
	for {
		in.mu.Lock()
		full := len(in.unmoved) >= walMoveBatch
		in.mu.Unlock()
		if full || s.claimsWaiting.Load() > 0 {
			return
		}
		select {
		case <-in.kick:
		case <-t.C:
			return
		case <-in.urgent:
			return
		case <-in.stopMover:
			return
		}
	}
}

// moveOnce moves the oldest walMoveBatch logged records in one
// transaction and reports how many it moved.
func (s *Store) moveOnce(in *ingress) (int, error) {
	in.mu.Lock()
	n := min(len(in.unmoved), walMoveBatch)
	batch := in.unmoved[:n:n]
	in.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	if in.beforeMove != nil {
		in.beforeMove()
	}
	end := batch[n-1].end
	err := s.w.write(true, func(tx *bolt.Tx) error { return moveRecords(tx, batch, end) })
	in.mu.Lock()
	if err != nil {
		in.moveErr = err
		close(in.movedCh)
		in.movedCh = make(chan struct{})
		in.mu.Unlock()
		return 0, err
	}
	in.moveErr = nil
	for i := range batch {
		in.releaseLocked(batch[i])
		in.unmovedBytes -= len(batch[i].value) + len(batch[i].key)
	}
	clear(in.unmoved[:n])
	in.unmoved = in.unmoved[n:]
	in.moved = end
	close(in.movedCh)
	in.movedCh = make(chan struct{})
	low := in.lowSeg
	in.lowSeg = max(low, end.seg)
	in.mu.Unlock()
	s.signal()
	for seg := low; seg < end.seg; seg++ {
		if err := os.Remove(filepath.Join(in.dir, segmentName(seg))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("embedded store: ingress log: delete a moved segment", "segment", segmentName(seg), "err", err)
		}
	}
	return n, nil
}

// hasUnmoved reports whether logged records wait for the mover.
func (in *ingress) hasUnmoved() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.unmoved) > 0
}

// awaitMoved returns once every record logged before the call is moved
// (or ctx is done). It returns the mover's error if it fails, and
// ErrClosed-wrapping errors through done.
func (in *ingress) awaitMoved(ctx context.Context, done <-chan struct{}) (closed bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.unmoved) == 0 {
		return false, nil
	}
	target := in.unmoved[len(in.unmoved)-1].end
	in.awaiting.Add(1)
	defer in.awaiting.Add(-1)
	for in.moved.less(target) {
		ch := in.movedCh
		in.mu.Unlock()
		poke(in.urgent)
		select {
		case <-ch:
		case <-ctx.Done():
			in.mu.Lock()
			return false, nil
		case <-done:
			in.mu.Lock()
			return true, nil
		}
		in.mu.Lock()
		if in.moveErr != nil && in.moved.less(target) {
			return false, in.moveErr
		}
	}
	return false, nil
}

// countUnmoved is how many logged records the moved position pos (as a
// transaction sees it) leaves out. The caller holds in.mu.
func (in *ingress) countUnmoved(pos walPos) int {
	i := sort.Search(len(in.unmoved), func(i int) bool { return pos.less(in.unmoved[i].end) })
	return len(in.unmoved) - i
}

// stop stops the mover (which moves what is left first) and the spare's
// maker, and closes the segment. The caller makes sure no add is under
// way.
func (in *ingress) stop() error {
	close(in.stopMover)
	<-in.moverStopped
	close(in.stopPrepare)
	<-in.prepStopped
	return in.f.Close()
}
