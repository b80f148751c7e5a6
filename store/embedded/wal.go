package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The ingress log. Enqueue does not write the B-tree: it appends the
// entry to a log segment next to the bbolt file (<path>.wal/<n>.seg) and
// returns once an fdatasync that started after its write has returned:
// an Enqueue whose write an fdatasync under way covers waits for it, and
// otherwise starts one (up to walSyncers at once), so concurrent Enqueues
// share fdatasyncs without a timer (see syncTo). A mover goroutine then
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
// its write.) Open always starts a new segment, so nothing is appended
// after a torn tail.
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
// where the readable records end, size the segment's size.
func readSegment(path string, seg uint64, from int64) (recs []walRecord, valid, size int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	size = int64(len(data))
	off := from
	for off+walHeader <= size {
		n := int64(binary.BigEndian.Uint32(data[off:]))
		if n == 0 || n > walMaxRecord || off+walHeader+n > size {
			break
		}
		body := data[off+walHeader : off+walHeader+n]
		if frameCRC(data[off:off+4], body) != binary.BigEndian.Uint32(data[off+4:]) {
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
	return recs, min(off, size), size, nil
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

	// The segment being written, under wmu (taken before smu).
	wmu  sync.Mutex
	f    *os.File
	seg  uint64
	size int64

	// The fdatasyncs, under smu (taken before mu).
	smu      sync.Mutex
	syncDone *sync.Cond  // broadcast when an fdatasync ends
	syncing  int         // fdatasyncs under way
	covered  walPos      // the furthest write an fdatasync under way (or done) covers
	written  walPos      // where the last write ended
	durable  walPos      // how far the log is known durable
	waiting  []walRecord // written, not yet known durable, in log order
	rotating bool        // the writer is closing a full segment: no fdatasync may start
	broken   error       // a failed write or fdatasync: the log takes no more

	mu           sync.Mutex
	reserved     map[string]reservation // dedup keys logged or being logged, not yet moved
	serial       uint64                 // the last reservation's
	unmoved      []walRecord            // durable, not yet moved, in log order
	unmovedBytes int
	moved        walPos        // how far the log has been moved
	movedCh      chan struct{} // closed and replaced after each move (or failed move)
	moveErr      error         // the mover's last failure, nil after a success
	lowSeg       uint64        // the lowest segment that may still exist

	kick         chan struct{} // buffered, one: the mover has work
	urgent       chan struct{} // buffered, one: someone waits for the mover
	stopMover    chan struct{}
	moverStopped chan struct{}
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
		rs, valid, size, err := readSegment(filepath.Join(dir, segmentName(seg)), seg, from)
		if err != nil {
			return nil, err
		}
		if valid < size {
			s.log.Warn("embedded store: ingress log: dropped a torn or corrupt tail (records nobody was told were stored)",
				"segment", segmentName(seg), "offset", valid, "bytes", size-valid)
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
	if err := in.openSegment(next.seg); err != nil {
		return nil, err
	}
	in.written, in.durable, in.covered = walPos{seg: in.seg}, walPos{seg: in.seg}, walPos{seg: in.seg}

	go s.moveLoop(in)
	return in, nil
}

// openSegment creates segment seg and makes its name durable.
func (in *ingress) openSegment(seg uint64) error {
	f, err := os.OpenFile(filepath.Join(in.dir, segmentName(seg)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(in.dir); err != nil {
		_ = f.Close()
		return err
	}
	in.f, in.seg, in.size = f, seg, 0
	return nil
}

// moveRecords puts recs in the queue's buckets, as Enqueue did before the
// log, and records end as the position moved up to.
func moveRecords(tx *bolt.Tx, recs []walRecord, end walPos) error {
	dedup, dedupExp := tx.Bucket(bucketDedup), tx.Bucket(bucketDedupExp)
	entries, ready, delayed := tx.Bucket(bucketEntries), tx.Bucket(bucketReady), tx.Bucket(bucketDelayed)
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

// walSyncers bounds the fdatasyncs of the log under way at once: each
// covers every write made before it started, and a disk that takes
// several flushes at once (as virtio disks and ext4 do) finishes them
// far sooner together than one after another.
const walSyncers = 4

// write appends r's frame to the segment being written, first starting
// a new segment if this one is full, and returns where the frame ends.
func (in *ingress) write(r walRecord) (walPos, error) {
	frame := r.appendFrame(make([]byte, 0, walHeader+25+binary.MaxVarintLen64+len(r.key)+len(r.value)))
	in.wmu.Lock()
	defer in.wmu.Unlock()
	in.smu.Lock()
	err := in.broken
	in.smu.Unlock()
	if err != nil {
		return walPos{}, err
	}
	if in.size >= in.segmentSize {
		if err := in.rotate(); err != nil {
			return walPos{}, in.fail(err)
		}
	}
	if _, err := in.f.Write(frame); err != nil {
		return walPos{}, in.fail(err)
	}
	in.size += int64(len(frame))
	r.end = walPos{seg: in.seg, off: in.size}
	in.smu.Lock()
	in.written = r.end
	in.waiting = append(in.waiting, r)
	in.smu.Unlock()
	return r.end, nil
}

// syncTo returns once the log is durable up to pos. It waits for an
// fdatasync under way that covers pos, or starts one itself (up to
// walSyncers at once); every caller whose write one covers returns when
// it ends, so a group of Enqueues shares an fdatasync without any
// goroutine waiting on a timer.
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
		if in.covered.less(pos) && in.syncing < walSyncers && !in.rotating {
			in.syncing++
			f, target := in.f, in.written
			in.covered = target
			in.smu.Unlock()
			err := datasync(f)
			in.smu.Lock()
			in.syncing--
			if err != nil {
				in.failLocked(err)
			} else {
				in.durableLocked(target)
			}
			in.syncDone.Broadcast()
			continue
		}
		in.syncDone.Wait()
	}
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

// fail breaks the log with err and returns the error it is broken with.
func (in *ingress) fail(err error) error {
	in.smu.Lock()
	defer in.smu.Unlock()
	in.failLocked(err)
	return in.broken
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

// rotate makes the full segment durable, once the fdatasyncs under way
// on it have ended, closes it and starts the next one. The caller holds
// wmu.
func (in *ingress) rotate() error {
	in.smu.Lock()
	in.rotating = true
	for in.syncing > 0 {
		in.syncDone.Wait()
	}
	in.smu.Unlock()
	err := datasync(in.f)
	if err == nil {
		err = in.f.Close()
	}
	if err == nil {
		err = in.openSegment(in.seg + 1)
	}
	in.smu.Lock()
	defer in.smu.Unlock()
	in.rotating = false
	if err == nil {
		in.durableLocked(in.written)
		in.written, in.covered = walPos{seg: in.seg}, walPos{seg: in.seg}
	}
	in.syncDone.Broadcast()
	return err
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

// stop stops the mover (which moves what is left first) and closes the
// segment. The caller makes sure no add is under way.
func (in *ingress) stop() error {
	close(in.stopMover)
	<-in.moverStopped
	return in.f.Close()
}
