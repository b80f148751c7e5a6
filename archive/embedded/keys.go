package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
)

// purgeBatch is how many messages of a day PurgeDay looks at in one
// transaction, so that purging a busy day does not hold the writer lock
// (and the puller) for long or build a huge transaction.
const purgeBatch = 2000

func dataKeyKey(day, id string) []byte { return []byte(day + "/" + id) }

func checkDay(day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil || len(day) != len(time.DateOnly) {
		return fmt.Errorf("day %q is not a YYYY-MM-DD day", day)
	}
	return nil
}

// PutDataKey stores a new data key; ErrExists if (Day, ID) has one.
func (s *Store) PutDataKey(ctx context.Context, k archive.DataKey) error {
	if err := checkDay(k.Day); err != nil {
		return fmt.Errorf("archive/embedded: put data key: %w", err)
	}
	if k.ID == "" {
		return fmt.Errorf("archive/embedded: put data key: id is empty")
	}
	k.CreatedAt = k.CreatedAt.UTC()
	v, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("archive/embedded: put data key: %w", err)
	}
	return s.update(ctx, "put data key", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDataKeys)
		key := dataKeyKey(k.Day, k.ID)
		if b.Get(key) != nil {
			return fmt.Errorf("%s/%s: %w", k.Day, k.ID, archive.ErrExists)
		}
		return b.Put(key, v)
	})
}

func decodeDataKey(v []byte) (archive.DataKey, error) {
	var k archive.DataKey
	if err := json.Unmarshal(v, &k); err != nil {
		return k, fmt.Errorf("data key: %w", err)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return k, nil
}

// GetDataKey returns the data key (day, id), or ErrNotFound.
func (s *Store) GetDataKey(ctx context.Context, day, id string) (archive.DataKey, error) {
	var k archive.DataKey
	err := s.view(ctx, "get data key", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDataKeys).Get(dataKeyKey(day, id))
		if v == nil || checkDay(day) != nil {
			return fmt.Errorf("%s/%s: %w", day, id, archive.ErrNotFound)
		}
		var err error
		k, err = decodeDataKey(v)
		return err
	})
	return k, err
}

// ListDataKeys returns every data key, by day then id.
func (s *Store) ListDataKeys(ctx context.Context) ([]archive.DataKey, error) {
	var out []archive.DataKey
	err := s.view(ctx, "list data keys", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDataKeys).ForEach(func(_, v []byte) error {
			k, err := decodeDataKey(v)
			out = append(out, k)
			return err
		})
	})
	return out, err
}

// RewrapDataKeys replaces the wrapping (MasterID, Wrapped) of existing
// keys; a key that no longer exists is skipped.
func (s *Store) RewrapDataKeys(ctx context.Context, ks []archive.DataKey) error {
	return s.update(ctx, "rewrap data keys", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDataKeys)
		for _, nk := range ks {
			key := dataKeyKey(nk.Day, nk.ID)
			v := b.Get(key)
			if v == nil {
				continue
			}
			k, err := decodeDataKey(v)
			if err != nil {
				return err
			}
			k.MasterID, k.Wrapped = nk.MasterID, nk.Wrapped
			if v, err = json.Marshal(k); err != nil {
				return err
			}
			if err := b.Put(key, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteMessage removes m (as stored) and all its index entries.
func deleteMessage(tx *bolt.Tx, m archive.Message, num uint64) error {
	if err := tx.Bucket(bucketMessages).Delete(u64(num)); err != nil {
		return err
	}
	if err := deleteMediaTasks(tx, m.MsgID); err != nil {
		return err
	}
	if err := tx.Bucket(bucketMsgIDs).Delete([]byte(m.MsgID)); err != nil {
		return err
	}
	if m.RoomID != "" {
		if err := countRoom(tx, m.RoomID, -1); err != nil {
			return err
		}
	}
	if ref := listRef(m.ToList); ref != nil {
		if err := shareList(tx, ref, m.ToList, -1); err != nil {
			return err
		}
	}
	err := indexKeys(tx, m, num, func(b *bolt.Bucket, key []byte) error { return b.Delete(key) })
	if err != nil {
		return err
	}
	days := tx.Bucket(bucketDays)
	day := []byte(archive.DayOf(m))
	if n := getU64(days.Get(day)); n > 1 {
		err = days.Put(day, u64(n-1))
	} else {
		err = days.Delete(day)
	}
	if err != nil {
		return err
	}
	if m.PreMsgID != "" {
		recalls := tx.Bucket(bucketRecalls)
		if string(recalls.Get([]byte(m.PreMsgID))) == m.MsgID {
			if err := recalls.Delete([]byte(m.PreMsgID)); err != nil {
				return err
			}
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := add(meta, metaMessages, -1); err != nil {
		return err
	}
	if m.Withheld != "" {
		return add(meta, metaWithheld, -1)
	}
	return nil
}

// PurgeDay deletes the messages of day except those keep keeps, and
// destroys the day's data keys if none of its messages is left. It works
// in transactions of purgeBatch messages; keep runs inside them and must
// not call the store.
func (s *Store) PurgeDay(ctx context.Context, day string, keep func(archive.Message) bool) (int, bool, error) {
	if err := checkDay(day); err != nil {
		return 0, false, fmt.Errorf("archive/embedded: purge day: %w", err)
	}
	prefix := []byte(day)
	deleted := 0
	var after []byte // the last byday key looked at
	for done := false; !done; {
		err := s.update(ctx, "purge day", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketByDay).Cursor()
			k, _ := c.Seek(prefix)
			if after != nil {
				if k, _ = c.Seek(after); bytes.Equal(k, after) {
					k, _ = c.Next()
				}
			}
			var ms []archive.Message
			var nums []uint64
			for ; k != nil && bytes.HasPrefix(k, prefix) && len(ms) < purgeBatch; k, _ = c.Next() {
				num := getU64(k[len(prefix):])
				m, err := readNum(tx, num)
				if err != nil {
					return err
				}
				ms, nums = append(ms, m), append(nums, num)
				after = append(after[:0], k...)
			}
			done = len(ms) < purgeBatch
			rooms := map[string]bool{}
			for i, m := range ms {
				if keep(m) {
					continue
				}
				if err := deleteMessage(tx, m, nums[i]); err != nil {
					return fmt.Errorf("message %s: %w", m.MsgID, err)
				}
				deleted++
				if m.RoomID != "" {
					rooms[m.RoomID] = true
				}
			}
			for room := range rooms {
				if err := forgetRoomIfEmpty(tx, room); err != nil {
					return fmt.Errorf("room %s: %w", room, err)
				}
			}
			return nil
		})
		if err != nil {
			return deleted, false, err
		}
	}
	shredded := false
	err := s.update(ctx, "purge day", func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketByDay).Cursor().Seek(prefix); bytes.HasPrefix(k, prefix) {
			return nil // some are kept (or arrived since)
		}
		shredded = true
		b := tx.Bucket(bucketDataKeys)
		c := b.Cursor()
		kp := append(slices.Clip(prefix), '/')
		for k, _ := c.Seek(kp); k != nil && bytes.HasPrefix(k, kp); k, _ = c.Seek(kp) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return deleted, shredded, err
}

// forgetRoomIfEmpty deletes what is kept of a room's members when none
// of its messages is left: who was in which room goes with the messages
// that said so.
func forgetRoomIfEmpty(tx *bolt.Tx, room string) error {
	if tx.Bucket(bucketRoomCounts).Get([]byte(room)) != nil {
		return nil
	}
	p := strPrefix(room)
	members, byID := tx.Bucket(bucketRoomMembers), tx.Bucket(bucketMemberRooms)
	c := members.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Seek(p) {
		if err := byID.Delete(append(strPrefix(string(k[len(p):])), room...)); err != nil {
			return err
		}
		if err := members.Delete(k); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketRoomHash).Delete([]byte(room))
}

// Days lists the days that have messages or data keys, oldest first.
func (s *Store) Days(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(ctx, "days", func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDays).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketDataKeys).ForEach(func(k, _ []byte) error {
			if i := bytes.IndexByte(k, '/'); i > 0 {
				out = append(out, string(k[:i]))
			}
			return nil
		})
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// ListGaps returns the gaps recorded, oldest first.
func (s *Store) ListGaps(ctx context.Context) ([]archive.Gap, error) {
	var out []archive.Gap
	err := s.view(ctx, "list gaps", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGaps).ForEach(func(k, v []byte) error {
			var g archive.Gap
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("gap %x: %w", k, err)
			}
			g.Detected = g.Detected.UTC()
			out = append(out, g)
			return nil
		})
	})
	return out, err
}
