package archive_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/embedded"
	"github.com/wecomply/wecomply/blob"
	"github.com/wecomply/wecomply/blob/blobtest"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// The media fetcher's tests run the real parts of the puller's tests
// (fake archive, embedded archive, embedded main store) with a real blob
// store: a temp directory, and versitygw for S3.

func dirBlobs(t *testing.T) (blob.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "media")
	d, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

func s3Blobs(t *testing.T) blob.Store {
	t.Helper()
	s, err := blob.NewS3(context.Background(), blobtest.S3Server(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fetcher returns a media fetcher over e's source, stores and blobs.
func (e *env) fetcher(blobs blob.Store) *archive.MediaFetcher {
	e.arch.Blobs = blobs
	return &archive.MediaFetcher{
		Source: e.puller.Source, Store: e.store, Keys: e.crypt, Blobs: blobs,
		Alerts: e.alerts, Log: slog.New(slog.DiscardHandler), Clock: e.clock.Now,
		Backoff: time.Minute, MaxAttempts: 3, TempDir: e.t.TempDir(),
	}
}

func (e *env) fetch(f *archive.MediaFetcher) (done, failed int) {
	e.t.Helper()
	done, failed, err := f.FetchPending(context.Background(), 1000)
	if err != nil {
		e.t.Fatalf("FetchPending: %v", err)
	}
	return done, failed
}

func (e *env) mediaState(msgID, fileID string) archive.MediaState {
	e.t.Helper()
	ts, err := e.store.MediaOf(context.Background(), msgID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range ts {
		if t.Media.SDKFileID == fileID {
			return t.State
		}
	}
	e.t.Fatalf("no media task %s/%s", msgID, fileID)
	return archive.MediaState{}
}

// readMedia reads a file back through Archive.Media.
func (e *env) readMedia(msgID, fileID string) []byte {
	e.t.Helper()
	var buf bytes.Buffer
	if err := e.arch.Media(context.Background(), "officer", msgID, fileID, &buf); err != nil {
		e.t.Fatalf("Archive.Media(%s): %v", msgID, err)
	}
	return buf.Bytes()
}

// imageMsg adds an image message with a media file of n bytes and
// returns its msgid and sdkfileid.
func (e *env) imageMsg(from string, to []string, n int) (string, string) {
	e.t.Helper()
	e.n++
	id := fmt.Sprintf("%d_%d", 5000+e.n, e.clock.Now().UnixMilli())
	if slices.ContainsFunc(append([]string{from}, to...), wecom.IsExternalID) {
		id += "_external"
	}
	data := bytes.Repeat([]byte(fmt.Sprintf("image %d bytes of %s;", e.n, id)), n/30+1)[:n]
	fileID := fmt.Sprintf("SDKFILE-%d-%s", e.n, strings.Repeat("x", 40))
	e.srv.AddMedia(fileID, data)
	e.add(map[string]any{"msgid": id, "action": "send", "from": from, "tolist": to, "roomid": "",
		"msgtime": e.clock.Now().UnixMilli(), "msgtype": "image",
		"image": map[string]any{"md5sum": md5hex(data), "filesize": len(data), "sdkfileid": fileID}})
	return id, fileID
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// TestMediaFetchEveryGenerated: every media file of every kept generated
// record is downloaded, md5-checked, sealed into the blob store and reads
// back byte for byte through Archive.Media (audited); withheld records
// get no task; the stored objects hold none of the plaintext. On both
// blob stores.
func TestMediaFetchEveryGenerated(t *testing.T) {
	for _, tc := range []struct {
		name  string
		blobs func(t *testing.T) (blob.Store, string)
	}{
		{"dir", dirBlobs},
		{"s3", func(t *testing.T) (blob.Store, string) { return s3Blobs(t), "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ids, err := e.srv.Generate(len(wecomtest.ArchiveKinds()) + 60)
			if err != nil {
				t.Fatal(err)
			}
			e.agreeAll(ids)
			e.pullAll()
			blobs, dir := tc.blobs(t)
			f := e.fetcher(blobs)
			done, failed := e.fetch(f)
			if failed != 0 {
				t.Fatalf("FetchPending: %d failed", failed)
			}
			if done2, failed2 := e.fetch(f); done2 != 0 || failed2 != 0 {
				t.Fatalf("a second FetchPending did %d/%d, want nothing left", done2, failed2)
			}
			ctx := context.Background()
			var files, withheldMedia, multiSegment int
			var plaintexts [][]byte
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				m := e.get(id)
				plain, _ := e.srv.Plaintext(id)
				cm, err := wecom.DecodeChatMessage(plain)
				if err != nil {
					t.Fatal(err)
				}
				tasks, err := e.store.MediaOf(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if m.Withheld != "" {
					withheldMedia += len(cm.Media)
					if len(tasks) != 0 {
						t.Errorf("%s: withheld but has %d media tasks", id, len(tasks))
					}
					continue
				}
				distinct := map[string]bool{}
				for _, md := range cm.Media {
					distinct[md.SDKFileID] = true
				}
				if len(tasks) != len(distinct) {
					t.Errorf("%s: %d media tasks, want %d", id, len(tasks), len(distinct))
				}
				for _, task := range tasks {
					want, ok := e.srv.MediaBytes(task.Media.SDKFileID)
					if !ok {
						t.Fatalf("%s: the fake has no media %s", id, task.Media.SDKFileID)
					}
					if task.State.Status != archive.MediaStored || task.State.Size != int64(len(want)) {
						t.Fatalf("%s: task state %+v, want stored, %d bytes", id, task.State, len(want))
					}
					if want := archive.MediaBlobKey(task.Day, task.Media.SDKFileID); task.State.BlobKey != want {
						t.Errorf("blob key %q, want %q", task.State.BlobKey, want)
					}
					if strings.Contains(task.State.BlobKey, task.Media.SDKFileID) {
						t.Errorf("the blob key %q holds the sdkfileid", task.State.BlobKey)
					}
					if got := e.readMedia(id, task.Media.SDKFileID); !bytes.Equal(got, want) {
						t.Fatalf("%s: read back %d bytes, want the fake's %d", id, len(got), len(want))
					}
					if len(want) > archive.MediaSegmentSize {
						multiSegment++
					}
					files++
					plaintexts = append(plaintexts, want)
				}
			}
			if files == 0 || withheldMedia == 0 || multiSegment == 0 {
				t.Fatalf("%d files stored, %d withheld media, %d of more than one segment: the generator gave too few to test", files, withheldMedia, multiSegment)
			}
			if done != files {
				t.Errorf("FetchPending stored %d, the tasks say %d", done, files)
			}
			// No object holds a piece of any plaintext.
			keys, err := blobs.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var objects [][]byte
			for _, k := range keys {
				rc, err := blobs.Get(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				objects = append(objects, b)
			}
			if dir != "" { // and, for the directory, every file on disk
				objects = nil
				filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						b, rerr := os.ReadFile(p)
						if rerr != nil {
							t.Fatal(rerr)
						}
						objects = append(objects, b)
					}
					return nil
				})
			}
			if len(objects) == 0 {
				t.Fatal("no objects in the blob store")
			}
			for _, p := range plaintexts {
				probe := p[len(p)/2:][:min(32, len(p)/2)]
				for _, o := range objects {
					if len(probe) >= 16 && bytes.Contains(o, probe) {
						t.Fatalf("a stored object holds plaintext bytes")
					}
				}
			}
			// Every read was audited.
			entries, err := e.main.ListAudit(ctx, 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			audited := 0
			for _, en := range entries {
				if en.Kind == archive.AuditMedia && en.Subject == "officer" {
					audited++
				}
			}
			if audited != files {
				t.Errorf("%d media reads audited, want %d", audited, files)
			}
			t.Logf("%d media files stored and read back (%d of several segments), %d withheld media never asked for", files, multiSegment, withheldMedia)
		})
	}
}

// TestMediaWithheldNeverQueued: the image of a conversation without
// consent is metadata-free and never downloaded.
func TestMediaWithheldNeverQueued(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan")
	e.consent("zhangsan", "wmNO", policy.ConsentDisagreed, "check_single_agree")
	e.consent("zhangsan", "wmYES", policy.ConsentAgreed, "msg_audit_approved")
	noID, _ := e.imageMsg("zhangsan", []string{"wmNO"}, 100)
	yesID, yesFile := e.imageMsg("zhangsan", []string{"wmYES"}, 100)
	e.pullAll()
	if m := e.get(noID); m.Withheld == "" || len(m.Media) != 0 {
		t.Fatalf("%s: withheld %q with %d media, want withheld and none", noID, m.Withheld, len(m.Media))
	}
	blobs, _ := dirBlobs(t)
	f := e.fetcher(blobs)
	if done, failed := e.fetch(f); done != 1 || failed != 0 {
		t.Fatalf("FetchPending = %d done, %d failed; want only the agreed image", done, failed)
	}
	if ts, _ := e.store.MediaOf(context.Background(), noID); len(ts) != 0 {
		t.Errorf("the withheld message has media tasks: %+v", ts)
	}
	if got := e.srv.Calls(wecomtest.OpMedia); got != 1 {
		t.Errorf("GetMediaData called %d times, want 1 (the agreed image only)", got)
	}
	if st := e.mediaState(yesID, yesFile); st.Status != archive.MediaStored {
		t.Errorf("agreed image: %+v", st)
	}
}

// corruptingSource flips a byte of the first n downloads (a transient md5
// mismatch, as WeCom is said to give).
type corruptingSource struct {
	wecom.ArchiveSource
	mu sync.Mutex
	n  int
}

func (c *corruptingSource) Media(ctx context.Context, id string, w io.Writer) (int64, error) {
	c.mu.Lock()
	corrupt := c.n > 0
	c.n--
	c.mu.Unlock()
	if !corrupt {
		return c.ArchiveSource.Media(ctx, id, w)
	}
	var buf bytes.Buffer
	n, err := c.ArchiveSource.Media(ctx, id, &buf)
	b := buf.Bytes()
	if len(b) > 0 {
		b[len(b)/2] ^= 0xff
	}
	w.Write(b)
	return n, err
}

// TestMediaRetries: an attempt that fails (network 10001 past the
// source's own chunk retries, a transient md5 mismatch) is retried after
// the backoff, doubling, and stored; one that keeps failing is given up
// after MaxAttempts and alerted once.
func TestMediaRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   func(e *env, f *archive.MediaFetcher, times int)
		errHas string
	}{
		{"network 10001", func(e *env, f *archive.MediaFetcher, times int) {
			var codes []int
			for range times * wecomtest.MediaChunkAttempts {
				codes = append(codes, wecom.SDKErrNetwork)
			}
			e.srv.FailNext(wecomtest.OpMedia, codes...)
		}, "10001"},
		{"md5 mismatch", func(e *env, f *archive.MediaFetcher, times int) {
			f.Source = &corruptingSource{ArchiveSource: f.Source, n: times}
		}, "md5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.permit("zhangsan", "lisi")
			id, file := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
			e.pullAll()
			blobs, _ := dirBlobs(t)
			f := e.fetcher(blobs)
			tc.fail(e, f, 2)

			if done, failed := e.fetch(f); done != 0 || failed != 1 {
				t.Fatalf("first attempt: %d done, %d failed; want 0, 1", done, failed)
			}
			st := e.mediaState(id, file)
			if st.Status != archive.MediaPending || st.Attempts != 1 || !st.Next.Equal(start.Add(time.Minute)) || !strings.Contains(st.LastError, tc.errHas) {
				t.Fatalf("after one failure: %+v; want pending, 1 attempt, next in 1m, error with %q", st, tc.errHas)
			}
			if keys, _ := blobs.List(context.Background(), ""); len(keys) != 0 {
				t.Fatalf("a failed attempt left objects %v", keys)
			}
			if done, failed := e.fetch(f); done != 0 || failed != 0 {
				t.Fatalf("before the backoff: %d done, %d failed; want nothing due", done, failed)
			}
			e.clock.Advance(time.Minute)
			if done, failed := e.fetch(f); done != 0 || failed != 1 {
				t.Fatalf("second attempt: %d done, %d failed; want 0, 1", done, failed)
			}
			if st := e.mediaState(id, file); !st.Next.Equal(start.Add(3 * time.Minute)) {
				t.Fatalf("after two failures next %v, want the backoff doubled to 2m", st.Next)
			}
			e.clock.Advance(2 * time.Minute)
			if done, failed := e.fetch(f); done != 1 || failed != 0 {
				t.Fatalf("third attempt: %d done, %d failed; want 1, 0", done, failed)
			}
			st = e.mediaState(id, file)
			if st.Status != archive.MediaStored || st.Attempts != 3 || st.LastError != "" {
				t.Fatalf("stored state %+v", st)
			}
			want, _ := e.srv.MediaBytes(file)
			if got := e.readMedia(id, file); !bytes.Equal(got, want) {
				t.Fatal("read back differs")
			}
			if n := e.alerts.count(archive.AlertMediaFailed); n != 0 {
				t.Errorf("%d failure alerts for a file that was stored", n)
			}
		})
	}

	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		e := newEnv(t)
		e.permit("zhangsan", "lisi")
		id, file := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
		e.pullAll()
		blobs, _ := dirBlobs(t)
		f := e.fetcher(blobs)
		f.Source = &corruptingSource{ArchiveSource: f.Source, n: 100}
		for i := range 3 {
			if _, failed := e.fetch(f); failed != 1 {
				t.Fatalf("attempt %d: %d failed, want 1", i+1, failed)
			}
			e.clock.Advance(time.Hour)
		}
		st := e.mediaState(id, file)
		if st.Status != archive.MediaFailed || st.Attempts != 3 {
			t.Fatalf("after 3 attempts: %+v, want failed", st)
		}
		if done, failed := e.fetch(f); done != 0 || failed != 0 {
			t.Fatalf("a failed task was tried again: %d/%d", done, failed)
		}
		if n := e.alerts.count(archive.AlertMediaFailed); n != 1 {
			t.Errorf("%d failure alerts, want 1", n)
		}
		var buf bytes.Buffer
		if err := e.arch.Media(context.Background(), "officer", id, file, &buf); !errors.Is(err, archive.ErrMediaNotStored) {
			t.Errorf("Archive.Media of a failed file: %v, want ErrMediaNotStored", err)
		}
	})
}

// TestMediaExpired: a file past WeCom's 5-day horizon (10010) is marked
// expired, alerted once, and never asked for again.
func TestMediaExpired(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan", "lisi")
	id, file := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
	id2, file2 := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
	e.pullAll()
	blobs, _ := dirBlobs(t)
	f := e.fetcher(blobs)
	e.clock.Advance(wecomtest.ArchiveHorizon + time.Hour) // the fetcher was down for 5 days
	if done, failed := e.fetch(f); done != 0 || failed != 2 {
		t.Fatalf("FetchPending = %d done, %d failed; want 0, 2", done, failed)
	}
	for _, c := range [][2]string{{id, file}, {id2, file2}} {
		if st := e.mediaState(c[0], c[1]); st.Status != archive.MediaExpired || st.Attempts != 1 {
			t.Errorf("%s: %+v, want expired after 1 attempt", c[0], st)
		}
	}
	calls := e.srv.Calls(wecomtest.OpMedia)
	e.clock.Advance(24 * time.Hour)
	if done, failed := e.fetch(f); done != 0 || failed != 0 {
		t.Fatalf("expired files were tried again: %d/%d", done, failed)
	}
	if got := e.srv.Calls(wecomtest.OpMedia); got != calls {
		t.Errorf("GetMediaData called %d more times for expired files", got-calls)
	}
	if n := e.alerts.count(archive.AlertMediaExpired); n != 1 {
		t.Errorf("%d expiry alerts, want 1 (one per run, naming both)", n)
	}
}

// TestMediaTooLarge: a file larger than MaxSize is not downloaded when
// its size is known, cut off when it is not, and marked failed.
func TestMediaTooLarge(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan", "lisi")
	known, knownFile := e.imageMsg("zhangsan", []string{"lisi"}, 5000)
	// A file whose message gives no size (0).
	e.srv.AddMedia("SDKFILE-nosize", bytes.Repeat([]byte("v"), 5000))
	unknown := e.add(map[string]any{"msgid": "9999_1", "action": "send", "from": "zhangsan", "tolist": []string{"lisi"},
		"roomid": "", "msgtime": e.clock.Now().UnixMilli(), "msgtype": "video",
		"video": map[string]any{"md5sum": "", "sdkfileid": "SDKFILE-nosize"}})
	e.pullAll()
	blobs, _ := dirBlobs(t)
	f := e.fetcher(blobs)
	f.MaxSize = 4096
	if done, failed := e.fetch(f); done != 0 || failed != 2 {
		t.Fatalf("FetchPending = %d done, %d failed; want 0, 2", done, failed)
	}
	for _, c := range [][2]string{{known, knownFile}, {unknown, "SDKFILE-nosize"}} {
		st := e.mediaState(c[0], c[1])
		if st.Status != archive.MediaFailed || !strings.Contains(st.LastError, "larger than the maximum") {
			t.Errorf("%s: %+v, want failed as too large", c[0], st)
		}
	}
	if got := e.srv.Calls(wecomtest.OpMedia); got != 1 {
		t.Errorf("GetMediaData called %d times, want 1 (only the file of unknown size)", got)
	}
	if keys, _ := blobs.List(context.Background(), ""); len(keys) != 0 {
		t.Errorf("objects stored for refused files: %v", keys)
	}
}

type failingAuditor struct{}

func (failingAuditor) AuditArchive(context.Context, archive.AuditRecord) error {
	return errors.New("audit log down")
}

// TestArchiveMediaRefuses: unknown messages and files, files not stored,
// and a read whose audit record cannot be written give errors and no
// bytes.
func TestArchiveMediaRefuses(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan", "lisi")
	id, file := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
	pendingID, pendingFile := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
	e.pullAll()
	blobs, _ := dirBlobs(t)
	f := e.fetcher(blobs)
	// Store only the first: the second's task is set back to pending later.
	if _, _, err := f.FetchPending(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if st := e.mediaState(pendingID, pendingFile); st.Status != archive.MediaPending {
		t.Fatalf("second file: %+v, want still pending", st)
	}
	for _, c := range []struct {
		name, msgID, fileID string
		want                error
	}{
		{"unknown message", "nope", file, archive.ErrNotFound},
		{"file not in the message", id, pendingFile, archive.ErrNotFound},
		{"pending", pendingID, pendingFile, archive.ErrMediaNotStored},
	} {
		var buf bytes.Buffer
		if err := e.arch.Media(ctx, "officer", c.msgID, c.fileID, &buf); !errors.Is(err, c.want) || buf.Len() != 0 {
			t.Errorf("%s: %v with %d bytes, want %v and none", c.name, err, buf.Len(), c.want)
		}
	}
	a := *e.arch
	a.Audit = failingAuditor{}
	var buf bytes.Buffer
	if err := a.Media(ctx, "officer", id, file, &buf); err == nil || buf.Len() != 0 {
		t.Errorf("with the audit log down: %v with %d bytes, want an error and none", err, buf.Len())
	}
	a.Blobs = nil
	if err := a.Media(ctx, "officer", id, file, &buf); !errors.Is(err, archive.ErrMediaNotStored) {
		t.Errorf("without a blob store: %v, want ErrMediaNotStored", err)
	}
	// The audit record names the message, not the file's content.
	if got := e.readMedia(id, file); len(got) != 3000 {
		t.Fatalf("read %d bytes", len(got))
	}
	entries, _ := e.main.ListAudit(ctx, 0, 100)
	last := entries[len(entries)-1]
	var rec archive.AuditRecord
	if err := json.Unmarshal(last.Data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Action != archive.AuditMedia || rec.Filters.MsgID != id || len(rec.MsgIDs) != 1 || rec.Actor != "officer" {
		t.Errorf("audit record %+v", rec)
	}
}

// TestPurgeDayDeletesMediaObjects: a purge that shreds the day removes
// its media objects; one that keeps a held message keeps them readable.
func TestPurgeDayDeletesMediaObjects(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan", "lisi", "held")
	id, file := e.imageMsg("zhangsan", []string{"lisi"}, 3000)
	heldID, heldFile := e.imageMsg("held", []string{"lisi"}, 3000)
	e.pullAll()
	blobs, _ := dirBlobs(t)
	f := e.fetcher(blobs)
	if done, _ := e.fetch(f); done != 2 {
		t.Fatalf("stored %d, want 2", done)
	}
	ctx := context.Background()
	day := archive.KeyDay(start)
	_, shredded, err := e.arch.PurgeDay(ctx, "officer", day, func(m archive.Message) bool { return m.From == "held" })
	if err != nil || shredded {
		t.Fatalf("PurgeDay with a hold = shredded %v, %v", shredded, err)
	}
	if keys, _ := blobs.List(ctx, ""); len(keys) != 2 {
		t.Errorf("objects after a purge that kept the day's keys: %v, want both", keys)
	}
	if got := e.readMedia(heldID, heldFile); len(got) != 3000 {
		t.Errorf("held media read %d bytes", len(got))
	}
	var buf bytes.Buffer
	if err := e.arch.Media(ctx, "officer", id, file, &buf); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("media of a purged message: %v, want ErrNotFound", err)
	}
	_, shredded, err = e.arch.PurgeDay(ctx, "officer", day, nil)
	if err != nil || !shredded {
		t.Fatalf("PurgeDay without a hold = shredded %v, %v", shredded, err)
	}
	if keys, _ := blobs.List(ctx, ""); len(keys) != 0 {
		t.Errorf("objects after the day was shredded: %v, want none", keys)
	}
}

// BenchmarkMediaFetch: one 16 MiB video from the fake through the md5,
// the sealer and a temp file into the blob directory, per op (MB/s).
func BenchmarkMediaFetch(b *testing.B) {
	const size = 16 << 20
	ks, err := rsaKeys()
	if err != nil {
		b.Fatal(err)
	}
	srv := wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 7, Now: func() time.Time { return start }})
	srv.UploadPublicKey(&ks[0].PublicKey)
	st, err := embedded.Open(filepath.Join(b.TempDir(), "archive.db"), embedded.Options{Now: func() time.Time { return start }})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	m1, err := archive.NewMasterKey("m1", bytes.Repeat([]byte{1}, archive.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	keys, err := archive.NewKeys(st, archive.KeysConfig{Masters: []archive.MasterKey{m1}})
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := blob.OpenDir(filepath.Join(b.TempDir(), "media"))
	if err != nil {
		b.Fatal(err)
	}
	defer blobs.Close()
	f := &archive.MediaFetcher{Source: wecomtest.NewArchiveSource(srv, "", nil), Store: st, Keys: keys, Blobs: blobs,
		Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return start }, TempDir: b.TempDir()}
	data := bytes.Repeat([]byte("video bytes 0123456789abcdef...."), size/32)
	sum := md5hex(data)
	ctx := context.Background()
	day := archive.KeyDay(start)
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id, fileID := fmt.Sprintf("bench_%d", i), fmt.Sprintf("BENCH-%d", i)
		srv.AddMedia(fileID, data)
		m := archive.Message{MsgID: id, Seq: uint64(i + 1), Action: wecom.ActionSend, Type: "video", From: "zhangsan",
			ToList: []string{"lisi"}, Time: start, Conversation: archive.ConversationID("zhangsan", []string{"lisi"}, ""),
			Consent: "internal", KeyDay: day, StoredAt: start,
			Media: []wecom.ChatMedia{{Type: "video", SDKFileID: fileID, MD5Sum: sum, Size: size}}}
		if m.KeyID, m.Content, err = keys.Seal(ctx, day, id, []byte(`{}`)); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Commit(ctx, archive.Batch{From: uint64(i), To: uint64(i + 1), Messages: []archive.Message{m}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		done, failed, err := f.FetchPending(ctx, 1)
		if err != nil || done != 1 || failed != 0 {
			b.Fatalf("FetchPending = %d, %d, %v", done, failed, err)
		}
	}
}
