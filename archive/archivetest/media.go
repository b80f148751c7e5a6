package archivetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

// The media download queue (Store.PendingMedia, SetMediaState, MediaOf).

func withMedia(m archive.Message, media ...wecom.ChatMedia) archive.Message {
	m.Media = media
	return m
}

func media(typ, id string, size int64) wecom.ChatMedia {
	return wecom.ChatMedia{Type: typ, SDKFileID: id, MD5Sum: "0123456789abcdef0123456789abcdef", Size: size}
}

func pending(t testing.TB, s archive.Store, due time.Time, limit int) []archive.MediaTask {
	t.Helper()
	ts, err := s.PendingMedia(context.Background(), due, limit)
	if err != nil {
		t.Fatalf("PendingMedia: %v", err)
	}
	return ts
}

func mediaOf(t testing.TB, s archive.Store, msgID string) []archive.MediaTask {
	t.Helper()
	ts, err := s.MediaOf(context.Background(), msgID)
	if err != nil {
		t.Fatalf("MediaOf(%s): %v", msgID, err)
	}
	return ts
}

func taskIDs(ts []archive.MediaTask) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.MsgID + "/" + t.Media.SDKFileID
	}
	return out
}

func setMedia(t testing.TB, s archive.Store, msgID, fileID string, st archive.MediaState) {
	t.Helper()
	if err := s.SetMediaState(context.Background(), msgID, fileID, st); err != nil {
		t.Fatalf("SetMediaState(%s, %s): %v", msgID, fileID, err)
	}
}

// testMediaTasksFromCommit: Commit adds one pending task per distinct
// sdkfileid of each kept message, due at its StoredAt; withheld and
// media-less messages get none; a re-pull leaves the tasks as they are.
func testMediaTasksFromCommit(t *testing.T, s archive.Store) {
	img, vid := media("image", "FILE-img", 70961), media("video", "FILE-vid", 15169724)
	m1 := withMedia(msg("m1", 1, base, "alice", []string{"bob"}, "", "mixed"), vid, img)
	m2 := withMedia(msg("m2", 2, base.Add(time.Second), "alice", []string{"wmCust"}, "", "file"),
		media("file", "FILE-doc", 18181), media("file", "FILE-doc", 18181), media("file", "", 0))
	m3 := msg("m3", 3, base.Add(2*time.Second), "alice", []string{"bob"}, "", "text")
	w4 := withheld(msg("w4", 4, base.Add(3*time.Second), "bob", []string{"wmOther"}, "", "image"), archive.WithheldNoConsent)
	commitAll(t, s, m1, m2, m3, w4)

	if got := pending(t, s, storedAt.Add(-time.Microsecond), 100); len(got) != 0 {
		t.Fatalf("PendingMedia before StoredAt = %v, want none (due at StoredAt)", taskIDs(got))
	}
	got := pending(t, s, storedAt, 100)
	want := []string{"m1/FILE-img", "m1/FILE-vid", "m2/FILE-doc"}
	if !slices.Equal(taskIDs(got), want) {
		t.Fatalf("PendingMedia = %v, want %v (by next, msgid, sdkfileid; one per distinct non-empty id)", taskIDs(got), want)
	}
	wantImg := archive.MediaTask{MsgID: "m1", Day: "2026-03-04", Media: img,
		State: archive.MediaState{Status: archive.MediaPending, At: storedAt, Next: storedAt}}
	if !reflect.DeepEqual(got[0], wantImg) {
		t.Errorf("task = %+v\nwant   %+v", got[0], wantImg)
	}
	if got := pending(t, s, storedAt, 2); !slices.Equal(taskIDs(got), want[:2]) {
		t.Errorf("PendingMedia(limit 2) = %v, want %v", taskIDs(got), want[:2])
	}
	if got := taskIDs(mediaOf(t, s, "m1")); !slices.Equal(got, want[:2]) {
		t.Errorf("MediaOf(m1) = %v, want %v", got, want[:2])
	}
	for _, id := range []string{"m3", "w4", "unknown"} {
		if got := mediaOf(t, s, id); len(got) != 0 {
			t.Errorf("MediaOf(%s) = %v, want none", id, taskIDs(got))
		}
	}

	// A re-pull of m1 (a duplicate) does not reset its tasks.
	stored := archive.MediaState{Status: archive.MediaStored, Attempts: 1, BlobKey: "2026-03-04/abc", KeyID: "1", Size: 70961, At: storedAt.Add(time.Minute)}
	setMedia(t, s, "m1", "FILE-img", stored)
	commitAll(t, s, m1)
	if got := mediaOf(t, s, "m1"); got[0].State.Status != archive.MediaStored {
		t.Errorf("after a re-pull the stored task is %+v, want stored", got[0].State)
	}
}

// testMediaState: SetMediaState round-trips every field; a pending task
// is due at its Next; a task of another status is never pending.
func testMediaState(t *testing.T, s archive.Store) {
	ctx := context.Background()
	commitAll(t, s,
		withMedia(msg("m1", 1, base, "alice", []string{"bob"}, "", "image"), media("image", "A", 10)),
		withMedia(msg("m2", 2, base, "alice", []string{"bob"}, "", "image"), media("image", "B", 10)),
		withMedia(msg("m3", 3, base, "alice", []string{"bob"}, "", "image"), media("image", "C", 10)))

	later := storedAt.Add(10 * time.Minute)
	retry := archive.MediaState{Status: archive.MediaPending, Attempts: 1, LastError: "md5 mismatch", At: storedAt.Add(time.Minute), Next: later}
	setMedia(t, s, "m1", "A", retry)
	if got := taskIDs(pending(t, s, later.Add(-time.Microsecond), 10)); !slices.Equal(got, []string{"m2/B", "m3/C"}) {
		t.Fatalf("PendingMedia before the retry is due = %v, want m2/B m3/C", got)
	}
	if got := taskIDs(pending(t, s, later, 10)); !slices.Equal(got, []string{"m2/B", "m3/C", "m1/A"}) {
		t.Fatalf("PendingMedia when the retry is due = %v, want m2/B m3/C m1/A (by next)", got)
	}
	if got := mediaOf(t, s, "m1")[0].State; !reflect.DeepEqual(got, retry) {
		t.Errorf("state = %+v\nwant    %+v", got, retry)
	}

	stored := archive.MediaState{Status: archive.MediaStored, Attempts: 2, BlobKey: "2026-03-04/0a1b", KeyID: "1", Size: 10, At: later}
	expired := archive.MediaState{Status: archive.MediaExpired, Attempts: 1, LastError: "code 10010", At: later}
	failed := archive.MediaState{Status: archive.MediaFailed, Attempts: 8, LastError: "too large", At: later}
	setMedia(t, s, "m1", "A", stored)
	setMedia(t, s, "m2", "B", expired)
	setMedia(t, s, "m3", "C", failed)
	if got := pending(t, s, later.Add(24*time.Hour), 10); len(got) != 0 {
		t.Fatalf("PendingMedia after stored/expired/failed = %v, want none", taskIDs(got))
	}
	for id, want := range map[string]archive.MediaState{"m1": stored, "m2": expired, "m3": failed} {
		if got := mediaOf(t, s, id)[0].State; !reflect.DeepEqual(got, want) {
			t.Errorf("state of %s = %+v\nwant          %+v", id, got, want)
		}
	}
	// Back to pending (an operator's retry) makes it due again.
	setMedia(t, s, "m3", "C", archive.MediaState{Status: archive.MediaPending, Attempts: 8, At: later, Next: later})
	if got := taskIDs(pending(t, s, later, 10)); !slices.Equal(got, []string{"m3/C"}) {
		t.Errorf("PendingMedia after re-pending = %v, want m3/C", got)
	}

	if err := s.SetMediaState(ctx, "m1", "nope", stored); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("SetMediaState(unknown file) = %v, want ErrNotFound", err)
	}
	if err := s.SetMediaState(ctx, "nope", "A", stored); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("SetMediaState(unknown message) = %v, want ErrNotFound", err)
	}
	if err := s.SetMediaState(ctx, "m1", "A", archive.MediaState{Status: "bogus", At: later}); err == nil {
		t.Error("SetMediaState(status bogus): nil error")
	}
	if got := mediaOf(t, s, "m1")[0].State; !reflect.DeepEqual(got, stored) {
		t.Errorf("a refused SetMediaState changed the state to %+v", got)
	}
}

// testMediaResolveAndPurge: ResolveQuarantine adds the tasks of the
// message it stores; PurgeDay deletes the tasks of the messages it
// deletes and keeps those of the messages it keeps.
func testMediaResolveAndPurge(t *testing.T, s archive.Store) {
	ctx := context.Background()
	d1 := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	commit(t, s, archive.Batch{From: 0, To: 3, Quarantine: []archive.Quarantined{quarantined("q1", 1, "no key")},
		Messages: []archive.Message{
			withMedia(msg("a1", 2, d1.Add(time.Hour), "alice", []string{"bob"}, "", "image"), media("image", "A1", 1)),
			withMedia(msg("a2", 3, d1.Add(2*time.Hour), "held", []string{"bob"}, "", "image"), media("image", "A2", 1)),
		}})
	q := withMedia(msg("q1", 1, d1.Add(3*time.Hour), "alice", []string{"bob"}, "", "voice"), media("voice", "Q1", 6810))
	if err := s.ResolveQuarantine(ctx, q); err != nil {
		t.Fatalf("ResolveQuarantine: %v", err)
	}
	if got := taskIDs(mediaOf(t, s, "q1")); !slices.Equal(got, []string{"q1/Q1"}) {
		t.Fatalf("MediaOf(resolved q1) = %v, want q1/Q1", got)
	}
	if _, _, err := s.PurgeDay(ctx, "2026-03-04", func(m archive.Message) bool { return m.From == "held" }); err != nil {
		t.Fatalf("PurgeDay: %v", err)
	}
	for _, id := range []string{"a1", "q1"} {
		if got := mediaOf(t, s, id); len(got) != 0 {
			t.Errorf("MediaOf(%s) after its message was purged = %v, want none", id, taskIDs(got))
		}
	}
	if got := taskIDs(mediaOf(t, s, "a2")); !slices.Equal(got, []string{"a2/A2"}) {
		t.Errorf("MediaOf(a2, held) = %v, want a2/A2", got)
	}
	if got := taskIDs(pending(t, s, storedAt.Add(time.Hour), 10)); !slices.Equal(got, []string{"a2/A2"}) {
		t.Errorf("PendingMedia after the purge = %v, want a2/A2", got)
	}
}
