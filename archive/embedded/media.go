package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
)

// The media download queue (archive.Store's PendingMedia, SetMediaState,
// MediaOf). Two buckets, made by the first write that needs them:
//
//	media     s(msgid) ‖ sdkfileid → MediaTask JSON
//	mediadue  t(next) ‖ s(msgid) ‖ sdkfileid → ∅    pending tasks only
//
// Tasks are added by the transaction that stores their message (Commit,
// ResolveQuarantine) and deleted by the one that deletes it (PurgeDay).
var (
	bucketMedia    = []byte("media")
	bucketMediaDue = []byte("mediadue")
)

func mediaKey(msgID, sdkFileID string) []byte {
	return append(strPrefix(msgID), sdkFileID...)
}

func mediaDueKey(next time.Time, msgID, sdkFileID string) []byte {
	return append(timeKey(next), mediaKey(msgID, sdkFileID)...)
}

// addMediaTasks adds the download tasks of m, stored just now.
func addMediaTasks(tx *bolt.Tx, m archive.Message, now time.Time) error {
	tasks := archive.MediaTasksOf(m, now)
	if len(tasks) == 0 {
		return nil
	}
	media, err := tx.CreateBucketIfNotExists(bucketMedia)
	if err != nil {
		return err
	}
	due, err := tx.CreateBucketIfNotExists(bucketMediaDue)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		v, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := media.Put(mediaKey(t.MsgID, t.Media.SDKFileID), v); err != nil {
			return err
		}
		if err := due.Put(mediaDueKey(t.State.Next, t.MsgID, t.Media.SDKFileID), nil); err != nil {
			return err
		}
	}
	return nil
}

// deleteMediaTasks removes the tasks of msgID.
func deleteMediaTasks(tx *bolt.Tx, msgID string) error {
	media := tx.Bucket(bucketMedia)
	if media == nil {
		return nil
	}
	prefix := strPrefix(msgID)
	c := media.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		var t archive.MediaTask
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("media task %q: %w", k, err)
		}
		if t.State.Status == archive.MediaPending {
			if err := tx.Bucket(bucketMediaDue).Delete(mediaDueKey(t.State.Next, t.MsgID, t.Media.SDKFileID)); err != nil {
				return err
			}
		}
		if err := media.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PendingMedia returns pending media tasks due by due.
func (s *Store) PendingMedia(ctx context.Context, due time.Time, limit int) ([]archive.MediaTask, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []archive.MediaTask
	end := timeKey(due)
	err := s.view(ctx, "pending media", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMediaDue)
		if b == nil {
			return nil
		}
		media := tx.Bucket(bucketMedia)
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit && bytes.Compare(k[:8], end) <= 0; k, _ = c.Next() {
			v := media.Get(k[8:])
			if v == nil {
				return fmt.Errorf("media due entry %q has no task", k)
			}
			var t archive.MediaTask
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("media task: %w", err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// SetMediaState replaces the state of a task.
func (s *Store) SetMediaState(ctx context.Context, msgID, sdkFileID string, st archive.MediaState) error {
	if err := checkMediaState(st); err != nil {
		return fmt.Errorf("archive/embedded: set media state: %w", err)
	}
	return s.update(ctx, "set media state", func(tx *bolt.Tx) error {
		media := tx.Bucket(bucketMedia)
		if media == nil {
			return fmt.Errorf("media task of %s: %w", msgID, archive.ErrNotFound)
		}
		k := mediaKey(msgID, sdkFileID)
		v := media.Get(k)
		if v == nil {
			return fmt.Errorf("media task of %s: %w", msgID, archive.ErrNotFound)
		}
		var t archive.MediaTask
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("media task: %w", err)
		}
		due := tx.Bucket(bucketMediaDue)
		if t.State.Status == archive.MediaPending {
			if err := due.Delete(mediaDueKey(t.State.Next, msgID, sdkFileID)); err != nil {
				return err
			}
		}
		t.State = st
		t.State.At = st.At.UTC()
		t.State.Next = st.Next.UTC()
		if st.Status == archive.MediaPending {
			if err := due.Put(mediaDueKey(t.State.Next, msgID, sdkFileID), nil); err != nil {
				return err
			}
		}
		nv, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return media.Put(k, nv)
	})
}

// MediaOf returns the tasks of one message.
func (s *Store) MediaOf(ctx context.Context, msgID string) ([]archive.MediaTask, error) {
	var out []archive.MediaTask
	err := s.view(ctx, "media of", func(tx *bolt.Tx) error {
		media := tx.Bucket(bucketMedia)
		if media == nil {
			return nil
		}
		prefix := strPrefix(msgID)
		c := media.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var t archive.MediaTask
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("media task: %w", err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

func checkMediaState(st archive.MediaState) error {
	switch st.Status {
	case archive.MediaPending, archive.MediaStored, archive.MediaFailed, archive.MediaExpired:
		return nil
	case "":
		return errors.New("status is empty")
	default:
		return fmt.Errorf("status %q unknown", st.Status)
	}
}
