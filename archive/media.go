package archive

import (
	"bufio"
	"context"
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/blob"
	"github.com/wecomply/wecomply/wecom"
)

// Media of the session archive. A kept message's media references
// (Message.Media) are its metadata and are always stored; the files
// themselves are downloaded apart from message ingestion by a
// MediaFetcher, promptly (WeCom keeps them 5 days, then answers 10010),
// from a queue of tasks that Commit fills in the same transaction as the
// message (Store.PendingMedia / SetMediaState).
//
// A file is sealed before it reaches the blob store, under the data key
// of its message's day, so purging the day shreds its media too. Sealing
// streams: the file is cut into segments of MediaSegmentSize, each
// sealed with AES-256-GCM (a random nonce) and additional data binding
// it to its sdkfileid, its index and whether it is the last segment, so
// segments cannot be swapped between files, reordered, dropped or cut
// off at the end without Open noticing. Memory stays at one segment
// whatever the file's size, and the plaintext never touches the disk.
//
// Sealed layout: "WCMEDIA1" | segment size (uint32 BE) | key id length
// (uint8) | key id | segments, each nonce (12) ‖ ciphertext (plaintext +
// 16); every segment but the last holds exactly segment-size bytes of
// plaintext; an empty file is one empty last segment.

// MediaStatus is where a media task stands.
type MediaStatus string

// Media statuses.
const (
	// MediaPending: not stored yet; tried again from State.Next.
	MediaPending MediaStatus = "pending"
	// MediaStored: sealed in the blob store under State.BlobKey.
	MediaStored MediaStatus = "stored"
	// MediaFailed: given up (too large, or every attempt failed).
	MediaFailed MediaStatus = "failed"
	// MediaExpired: WeCom no longer keeps it (SDK 10010, past the 5-day
	// horizon); never tried again.
	MediaExpired MediaStatus = "expired"
)

// MediaState is the outcome of a task's attempts so far.
type MediaState struct {
	Status    MediaStatus `json:"status"`
	Attempts  int         `json:"attempts"`
	LastError string      `json:"last_error,omitempty"`
	// BlobKey, KeyID and Size describe the stored file: its blob key, the
	// id of the data key (of Day) that sealed it, its plaintext size.
	BlobKey string `json:"blob_key,omitempty"`
	KeyID   string `json:"key_id,omitempty"`
	Size    int64  `json:"size,omitempty"`
	// At is when this state was recorded; Next, for a pending task, when
	// it is due (PendingMedia).
	At   time.Time `json:"at"`
	Next time.Time `json:"next,omitzero"`
}

// MediaTask is one media file of one kept message to download.
type MediaTask struct {
	MsgID string `json:"msgid"`
	// Day is the message's data-key day (DayOf): the file is sealed under
	// that day's data key and purged with the day.
	Day   string          `json:"day"`
	Media wecom.ChatMedia `json:"media"`
	State MediaState      `json:"state"`
}

// MediaTasksOf returns the tasks a backend adds when it stores m: one per
// distinct non-empty SDKFileID of a kept message, pending and due at
// m.StoredAt (or now, if that is zero); none for a withheld message.
func MediaTasksOf(m Message, now time.Time) []MediaTask {
	if m.Withheld != "" || len(m.Media) == 0 {
		return nil
	}
	at := m.StoredAt
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	var out []MediaTask
	seen := map[string]bool{}
	for _, md := range m.Media {
		if md.SDKFileID == "" || seen[md.SDKFileID] {
			continue
		}
		seen[md.SDKFileID] = true
		out = append(out, MediaTask{
			MsgID: m.MsgID, Day: DayOf(m), Media: md,
			State: MediaState{Status: MediaPending, At: at, Next: at},
		})
	}
	return out
}

// MediaBlobKey is the blob key of sdkFileID's file sealed under day:
// "<day>/<hex SHA-256 of sdkFileID>" (the id itself, long and opaque,
// never becomes a path).
func MediaBlobKey(day, sdkFileID string) string {
	h := sha256.Sum256([]byte(sdkFileID))
	return day + "/" + hex.EncodeToString(h[:])
}

// MediaSegmentSize is the plaintext size of a sealed segment.
const MediaSegmentSize = 1 << 20

const mediaMagic = "WCMEDIA1"

func mediaAD(sdkFileID string, index uint64, last bool) []byte {
	l := "0"
	if last {
		l = "1"
	}
	return []byte("wecomply-media-v1|" + sdkFileID + "|" + strconv.FormatUint(index, 10) + "|" + l)
}

// MediaSealer seals a media file as it is written (see the layout
// above). Close seals the last segment; the output is incomplete before.
type MediaSealer struct {
	aead    cipher.AEAD
	rand    io.Reader
	fileID  string
	out     io.Writer
	buf     []byte // plaintext of the segment being filled
	sealed  []byte // the sealed segment, reused
	index   uint64
	written int64 // sealed bytes written to out
	err     error
}

// NewMediaSealer returns a sealer of sdkFileID's file under day's data
// key (made if there is none), writing to out; it writes the header now.
func (k *Keys) NewMediaSealer(ctx context.Context, day, sdkFileID string, out io.Writer) (*MediaSealer, error) {
	return k.newMediaSealer(ctx, day, sdkFileID, out, MediaSegmentSize)
}

func (k *Keys) newMediaSealer(ctx context.Context, day, sdkFileID string, out io.Writer, segment int) (*MediaSealer, error) {
	aead, err := k.dataKey(ctx, day, k.keyID, true)
	if err != nil {
		return nil, err
	}
	if len(k.keyID) > 255 {
		return nil, fmt.Errorf("archive: media: data key id %d bytes, at most 255", len(k.keyID))
	}
	hdr := make([]byte, 0, len(mediaMagic)+5+len(k.keyID))
	hdr = append(hdr, mediaMagic...)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(segment))
	hdr = append(hdr, byte(len(k.keyID)))
	hdr = append(hdr, k.keyID...)
	s := &MediaSealer{aead: aead, rand: k.rand, fileID: sdkFileID, out: out, buf: make([]byte, 0, segment)}
	if err := s.emit(hdr); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *MediaSealer) emit(b []byte) error {
	n, err := s.out.Write(b)
	s.written += int64(n)
	if err != nil {
		s.err = fmt.Errorf("archive: media: write sealed: %w", err)
	}
	return s.err
}

// Write buffers p, sealing each full segment once more data follows it
// (only then is it known not to be the last).
func (s *MediaSealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		if len(s.buf) == cap(s.buf) {
			if err := s.seal(false); err != nil {
				return n, err
			}
		}
		c := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+c]
		p = p[c:]
		n += c
	}
	return n, nil
}

func (s *MediaSealer) seal(last bool) error {
	ns := s.aead.NonceSize()
	if s.sealed == nil {
		s.sealed = make([]byte, 0, ns+cap(s.buf)+s.aead.Overhead())
	}
	out := s.sealed[:ns]
	if _, err := io.ReadFull(s.rand, out); err != nil {
		s.err = fmt.Errorf("archive: media: nonce: %w", err)
		return s.err
	}
	out = s.aead.Seal(out, out, s.buf, mediaAD(s.fileID, s.index, last))
	clear(s.buf)
	s.buf = s.buf[:0]
	s.index++
	return s.emit(out)
}

// Close seals the last segment. It does not close the output.
func (s *MediaSealer) Close() error {
	if s.err != nil {
		return s.err
	}
	if err := s.seal(true); err != nil {
		return err
	}
	s.err = errors.New("archive: media: sealer closed")
	return nil
}

// Written returns the sealed bytes written so far.
func (s *MediaSealer) Written() int64 { return s.written }

// OpenMedia reads sdkFileID's file sealed under day from r and writes the
// plaintext to w, a segment at a time, returning the bytes written. A
// segment that does not authenticate (another file's, altered, out of
// order, or a file cut short) stops it with an error — after the
// segments before it were written, so a caller that must not show a
// partial file writes to a buffer or temp file first. ErrKeyDestroyed
// (wrapped) if the day was purged.
func (k *Keys) OpenMedia(ctx context.Context, day, sdkFileID string, r io.Reader, w io.Writer) (int64, error) {
	br := bufio.NewReader(r)
	hdr := make([]byte, len(mediaMagic)+5)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return 0, fmt.Errorf("archive: open media: header: %w", err)
	}
	if string(hdr[:len(mediaMagic)]) != mediaMagic {
		return 0, errors.New("archive: open media: not a sealed media file (bad magic)")
	}
	segment := int(binary.BigEndian.Uint32(hdr[len(mediaMagic):]))
	if segment <= 0 || segment > 64<<20 {
		return 0, fmt.Errorf("archive: open media: segment size %d out of range", segment)
	}
	keyID := make([]byte, hdr[len(hdr)-1])
	if _, err := io.ReadFull(br, keyID); err != nil {
		return 0, fmt.Errorf("archive: open media: header: %w", err)
	}
	aead, err := k.dataKey(ctx, day, string(keyID), false)
	if err != nil {
		return 0, fmt.Errorf("archive: open media: %w", err)
	}
	full := aead.NonceSize() + segment + aead.Overhead()
	buf := make([]byte, full)
	var plain []byte
	var written int64
	for index := uint64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		n, err := io.ReadFull(br, buf)
		switch {
		case err == nil:
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		default:
			return written, fmt.Errorf("archive: open media: segment %d: %w", index, err)
		}
		last := n < full
		if !last {
			if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
				last = true
			} else if perr != nil {
				return written, fmt.Errorf("archive: open media: segment %d: %w", index, perr)
			}
		}
		if n < aead.NonceSize()+aead.Overhead() {
			return written, fmt.Errorf("archive: open media: segment %d: %d bytes, too short (file cut off)", index, n)
		}
		ns := aead.NonceSize()
		plain, err = aead.Open(plain[:0], buf[:ns], buf[ns:n], mediaAD(sdkFileID, index, last))
		if err != nil {
			return written, fmt.Errorf("archive: open media: segment %d does not authenticate (altered, reordered, cut off, or another file's)", index)
		}
		m, err := w.Write(plain)
		written += int64(m)
		clear(plain)
		if err != nil {
			return written, fmt.Errorf("archive: open media: write: %w", err)
		}
		if last {
			return written, nil
		}
	}
}

// Alert kinds of the media fetcher.
const (
	AlertMediaExpired = "archive.media_expired" // media past the 5-day horizon (10010), lost
	AlertMediaFailed  = "archive.media_failed"  // media given up after its attempts, or too large
)

// MediaFetcher defaults.
const (
	DefaultMediaMaxSize     = 1 << 30 // 1 GiB
	DefaultMediaMaxAttempts = 8
	DefaultMediaBackoff     = time.Minute
	// MaxMediaBackoff caps the doubling wait between attempts.
	MaxMediaBackoff = time.Hour
)

// MediaFetcher downloads pending media into the blob store: each file is
// streamed from the source through an MD5 and a sealer into a temp file
// (the plaintext is never written anywhere, and memory stays at one
// segment), checked against its md5sum and size, put in the blob store,
// and its task marked stored. A failed attempt is tried again after a
// doubling backoff (a transient md5 mismatch included), up to
// MaxAttempts; a file past WeCom's 5-day horizon (10010) is marked
// expired and alerted once, never tried again; a file larger than
// MaxSize is marked failed. The fetcher is independent of the puller: a
// job calls FetchPending on its own schedule.
type MediaFetcher struct {
	Source wecom.ArchiveSource
	Store  Store
	Keys   *Keys
	Blobs  blob.Store
	// Alerts may be nil (alerts are then only logged).
	Alerts Alerter
	// Log may be nil (slog.Default).
	Log *slog.Logger
	// Clock may be nil (time.Now).
	Clock func() time.Time
	// MaxSize is the largest file downloaded (DefaultMediaMaxSize if ≤ 0).
	MaxSize int64
	// MaxAttempts is how many failed attempts make a task failed
	// (DefaultMediaMaxAttempts if ≤ 0).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one up to MaxMediaBackoff (DefaultMediaBackoff if ≤ 0).
	Backoff time.Duration
	// TempDir holds the sealed temp files ("" for os.TempDir).
	TempDir string
}

func (f *MediaFetcher) now() time.Time { return clockNow(f.Clock).UTC() }

func (f *MediaFetcher) log() *slog.Logger { return logger(f.Log) }

// errMediaTooLarge: the file is larger than MaxSize.
var errMediaTooLarge = errors.New("larger than the maximum media size")

// FetchPending tries each due pending task once, at most limit (100 if
// ≤ 0), and returns how many were stored and how many were not (retried
// later, failed or expired). err is only for what stops the run: the
// store failing, or ctx ending.
func (f *MediaFetcher) FetchPending(ctx context.Context, limit int) (done, failed int, err error) {
	if f.Source == nil || f.Store == nil || f.Keys == nil || f.Blobs == nil {
		return 0, 0, errors.New("archive: media fetcher needs Source, Store, Keys and Blobs")
	}
	if limit <= 0 {
		limit = 100
	}
	tasks, err := f.Store.PendingMedia(ctx, f.now(), limit)
	if err != nil {
		return 0, 0, fmt.Errorf("archive: pending media: %w", err)
	}
	var expired, gaveUp []string
	for _, t := range tasks {
		st, ferr := f.fetch(ctx, t)
		if ctx.Err() != nil {
			return done, failed, ctx.Err()
		}
		if err := f.Store.SetMediaState(ctx, t.MsgID, t.Media.SDKFileID, st); err != nil {
			return done, failed, fmt.Errorf("archive: media of %s: record state: %w", t.MsgID, err)
		}
		if st.Status == MediaStored {
			done++
			continue
		}
		failed++
		f.log().Warn("archive media not stored", "msgid", t.MsgID, "type", t.Media.Type,
			"status", st.Status, "attempts", st.Attempts, "next", st.Next, "err", ferr)
		switch st.Status {
		case MediaExpired:
			expired = append(expired, t.MsgID)
		case MediaFailed:
			gaveUp = append(gaveUp, t.MsgID)
		}
	}
	if len(expired) > 0 {
		f.alert(ctx, AlertMediaExpired, fmt.Sprintf("%d media files expired at WeCom (10010, past the 5-day horizon) before they were downloaded and are lost; messages %s", len(expired), firstIDs(expired)))
	}
	if len(gaveUp) > 0 {
		f.alert(ctx, AlertMediaFailed, fmt.Sprintf("%d media files were given up (too large, or every attempt failed); messages %s", len(gaveUp), firstIDs(gaveUp)))
	}
	return done, failed, nil
}

func firstIDs(ids []string) string {
	const show = 5
	if len(ids) <= show {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:show], ", ") + fmt.Sprintf(" and %d more", len(ids)-show)
}

func (f *MediaFetcher) alert(ctx context.Context, kind, detail string) {
	raise(ctx, f.log(), f.Alerts, kind, detail)
}

// fetch makes one attempt at t and returns its new state (and the error
// of a failed attempt, for the log).
func (f *MediaFetcher) fetch(ctx context.Context, t MediaTask) (MediaState, error) {
	now := f.now()
	st := t.State
	st.At = now
	st.Attempts++
	maxSize := f.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMediaMaxSize
	}
	var err error
	if t.Media.Size > maxSize {
		err = fmt.Errorf("%d bytes: %w (%d)", t.Media.Size, errMediaTooLarge, maxSize)
	} else {
		st.KeyID, st.Size, err = f.download(ctx, t, maxSize)
	}
	var se *wecom.SDKError
	switch {
	case err == nil:
		st.Status, st.LastError, st.Next = MediaStored, "", time.Time{}
		st.BlobKey = MediaBlobKey(t.Day, t.Media.SDKFileID)
		return st, nil
	case errors.As(err, &se) && se.Code == wecom.SDKErrExpired:
		st.Status, st.Next = MediaExpired, time.Time{}
	case errors.Is(err, errMediaTooLarge):
		st.Status, st.Next = MediaFailed, time.Time{}
	default:
		attempts := f.MaxAttempts
		if attempts <= 0 {
			attempts = DefaultMediaMaxAttempts
		}
		if st.Attempts >= attempts {
			st.Status, st.Next = MediaFailed, time.Time{}
		} else {
			st.Status, st.Next = MediaPending, now.Add(f.backoff(st.Attempts))
		}
	}
	st.LastError = err.Error()
	st.BlobKey, st.KeyID, st.Size = "", "", 0
	return st, err
}

// backoff is the wait after the n-th failed attempt.
func (f *MediaFetcher) backoff(n int) time.Duration {
	d := f.Backoff
	if d <= 0 {
		d = DefaultMediaBackoff
	}
	for i := 1; i < n && d < MaxMediaBackoff; i++ {
		d *= 2
	}
	return min(d, MaxMediaBackoff)
}

// download streams t's file through the checks and the sealer into a
// temp file and puts it in the blob store. It returns the data key id and
// the plaintext size.
func (f *MediaFetcher) download(ctx context.Context, t MediaTask, maxSize int64) (string, int64, error) {
	tmp, err := os.CreateTemp(f.TempDir, "wecomply-media-*.sealed")
	if err != nil {
		return "", 0, fmt.Errorf("temp file: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	sealer, err := f.Keys.NewMediaSealer(ctx, t.Day, t.Media.SDKFileID, tmp)
	if err != nil {
		return "", 0, err
	}
	sum := md5.New()
	lw := &limitWriter{w: io.MultiWriter(sum, sealer), max: maxSize}
	n, err := f.Source.Media(ctx, t.Media.SDKFileID, lw)
	if lw.over {
		return "", 0, fmt.Errorf("more than %d bytes: %w", maxSize, errMediaTooLarge)
	}
	if err != nil {
		return "", 0, fmt.Errorf("download: %w", err)
	}
	if t.Media.Size > 0 && n != t.Media.Size {
		return "", 0, fmt.Errorf("size %d, the message says %d", n, t.Media.Size)
	}
	if err := checkMD5(sum, t.Media.MD5Sum); err != nil {
		return "", 0, err
	}
	if err := sealer.Close(); err != nil {
		return "", 0, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("temp file: %w", err)
	}
	key := MediaBlobKey(t.Day, t.Media.SDKFileID)
	if err := f.Blobs.Put(ctx, key, tmp, sealer.Written()); err != nil {
		return "", 0, fmt.Errorf("blob store: %w", err)
	}
	return f.Keys.keyID, n, nil
}

func checkMD5(sum hash.Hash, want string) error {
	if want == "" {
		return nil // WeCom may give none
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("md5 %s, the message says %s", got, want)
	}
	return nil
}

// limitWriter fails a write past max bytes.
type limitWriter struct {
	w    io.Writer
	max  int64
	n    int64
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > l.max {
		l.over = true
		return 0, errMediaTooLarge
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}

// deleteMediaBlobs removes the media objects of day (after its data keys
// were destroyed: they cannot be opened any more).
func (a *Archive) deleteMediaBlobs(ctx context.Context, day string) error {
	if a.Blobs == nil {
		return nil
	}
	keys, err := a.Blobs.List(ctx, day+"/")
	if err != nil {
		return fmt.Errorf("archive: purge %s: media objects: %w", day, err)
	}
	for _, k := range keys {
		if err := a.Blobs.Delete(ctx, k); err != nil {
			return fmt.Errorf("archive: purge %s: media objects: %w", day, err)
		}
	}
	return nil
}

// ErrMediaNotStored: the media file exists in the message but its content
// is not in the blob store (pending, failed, expired, or media download
// is off).
var ErrMediaNotStored = errors.New("archive: media content not stored")

// Media writes the media file sdkFileID of message msgID to w, audited
// before any byte is written (who, which message). ErrNotFound (wrapped)
// if the message or that file of it is unknown; ErrMediaNotStored
// (wrapped) if its content was not downloaded. The content is opened a
// segment at a time: a file that does not authenticate stops with an
// error after the segments before it were written, so a caller that
// serves w to people writes to a temp file first or aborts the response.
func (a *Archive) Media(ctx context.Context, actor, msgID, sdkFileID string, w io.Writer) error {
	if a.Store == nil || a.Keys == nil {
		return errors.New("archive: Archive needs Store and Keys")
	}
	if a.Blobs == nil {
		return fmt.Errorf("archive: media of %s: %w (no blob store configured)", msgID, ErrMediaNotStored)
	}
	m, err := a.Store.GetMessage(ctx, msgID)
	if err != nil {
		return fmt.Errorf("archive: media of %s: %w", msgID, err)
	}
	if !slices.ContainsFunc(m.Media, func(md wecom.ChatMedia) bool { return md.SDKFileID == sdkFileID }) {
		return fmt.Errorf("archive: media of %s: no such file in the message: %w", msgID, ErrNotFound)
	}
	tasks, err := a.Store.MediaOf(ctx, msgID)
	if err != nil {
		return fmt.Errorf("archive: media of %s: %w", msgID, err)
	}
	i := slices.IndexFunc(tasks, func(t MediaTask) bool { return t.Media.SDKFileID == sdkFileID })
	if i < 0 {
		return fmt.Errorf("archive: media of %s: no download task: %w", msgID, ErrMediaNotStored)
	}
	t := tasks[i]
	if t.State.Status != MediaStored {
		return fmt.Errorf("archive: media of %s: %s: %w", msgID, t.State.Status, ErrMediaNotStored)
	}
	rc, err := a.Blobs.Get(ctx, t.State.BlobKey)
	if err != nil {
		return fmt.Errorf("archive: media of %s: %w", msgID, err)
	}
	defer rc.Close()
	rec := AuditRecord{Actor: actor, Action: AuditMedia, Filters: SearchFilters{MsgID: msgID}, Count: 1, MsgIDs: []string{msgID}}
	if err := a.audit(ctx, rec); err != nil {
		return err
	}
	if _, err := a.Keys.OpenMedia(ctx, t.Day, sdkFileID, rc, w); err != nil {
		return fmt.Errorf("archive: media of %s: %w", msgID, err)
	}
	return nil
}
