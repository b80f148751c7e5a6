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

// indexFill is the FillPercent of the index buckets.
const indexFill = 0.9

// writer holds the buckets of one write transaction and collects index
// entries, which it puts in key order at the end (bbolt puts sorted keys
// into fewer, fuller pages, and faster).
type writer struct {
	tx                                       *bolt.Tx
	next                                     uint64 // the next message number, 0 until known
	msgIDs                                   *bolt.Bucket
	msgs, meta, recalls, days, quar, quarIDs *bolt.Bucket
	memberRooms, roomMembers, roomHashes     *bolt.Bucket
	roomHash                                 map[string]uint64 // this transaction's roomhash
	rooms                                    map[string]int64  // messages stored per room, for roomcounts
	index                                    map[*bolt.Bucket][][]byte
	now                                      time.Time
	counts                                   struct{ messages, withheld, quarantined int64 }
}

func newWriter(tx *bolt.Tx, now time.Time) *writer {
	return &writer{
		tx: tx, now: now,
		msgs:    tx.Bucket(bucketMessages),
		msgIDs:  tx.Bucket(bucketMsgIDs),
		meta:    tx.Bucket(bucketMeta),
		recalls: tx.Bucket(bucketRecalls),
		days:    tx.Bucket(bucketDays),
		quar:    tx.Bucket(bucketQuarantine),
		quarIDs: tx.Bucket(bucketQuarIDs),
		index:   map[*bolt.Bucket][][]byte{},

		memberRooms: tx.Bucket(bucketMemberRooms),
		roomMembers: tx.Bucket(bucketRoomMembers),
		roomHashes:  tx.Bucket(bucketRoomHash),
		roomHash:    map[string]uint64{},
		rooms:       map[string]int64{},
	}
}

// indexKeys calls fn with each index bucket and key of m.
func indexKeys(tx *bolt.Tx, m archive.Message, num uint64, fn func(b *bolt.Bucket, key []byte) error) error {
	t := timeKey(m.Time)
	if err := fn(tx.Bucket(bucketByTime), entryKey(nil, t, num)); err != nil {
		return err
	}
	party := tx.Bucket(bucketByParty)
	if m.From != "" {
		if err := fn(party, periodEntryKey(idPeriod, strPrefix(m.From), t, num)); err != nil {
			return err
		}
	}
	// The receivers of a room message are found through the room (see
	// memberrooms), not indexed one by one: a room of 500 would cost 499
	// entries a message.
	if m.RoomID == "" {
		for i, id := range m.ToList {
			// An id listed twice, or the sender listed as receiver, is
			// indexed once.
			if id == "" || id == m.From || slices.Contains(m.ToList[:i], id) {
				continue
			}
			if err := fn(party, periodEntryKey(idPeriod, strPrefix(id), t, num)); err != nil {
				return err
			}
		}
	}
	if m.RoomID != "" {
		if err := fn(tx.Bucket(bucketByRoom), periodEntryKey(idPeriod, strPrefix(m.RoomID), t, num)); err != nil {
			return err
		}
	}
	if m.Conversation != "" {
		if err := fn(tx.Bucket(bucketByConv), periodEntryKey(idPeriod, strPrefix(m.Conversation), t, num)); err != nil {
			return err
		}
	}
	tokens := tx.Bucket(bucketByToken)
	for _, tok := range m.Tokens {
		if err := fn(tokens, periodEntryKey(tokenPeriod, tokenPrefix(tok), t, num)); err != nil {
			return err
		}
	}
	day := archive.DayOf(m)
	return fn(tx.Bucket(bucketByDay), append([]byte(day), u64(num)...))
}

// store writes m unless its msgid is stored already (then it reports
// false), and takes its msgid out of the quarantine.
func (w *writer) store(m archive.Message) (bool, error) {
	id := []byte(m.MsgID)
	if w.msgIDs.Get(id) != nil {
		return false, nil
	}
	if w.next == 0 {
		w.next = getU64(w.meta.Get(metaNextNum)) + 1
	}
	num := w.next
	w.next++
	if m.StoredAt.IsZero() {
		m.StoredAt = w.now
	}
	ref := listRef(m.ToList)
	if ref != nil {
		if err := shareList(w.tx, ref, m.ToList, 1); err != nil {
			return false, err
		}
	}
	w.msgs.FillPercent = 1 // numbers only grow
	if err := w.msgs.Put(u64(num), encodeMessage(m, ref)); err != nil {
		return false, err
	}
	if err := w.msgIDs.Put(id, u64(num)); err != nil {
		return false, err
	}
	err := indexKeys(w.tx, m, num, func(b *bolt.Bucket, key []byte) error {
		w.index[b] = append(w.index[b], key)
		return nil
	})
	if err != nil {
		return false, err
	}
	day := []byte(archive.DayOf(m))
	if err := w.days.Put(day, u64(getU64(w.days.Get(day))+1)); err != nil {
		return false, err
	}
	if m.RoomID != "" {
		if err := w.members(m); err != nil {
			return false, err
		}
		w.rooms[m.RoomID]++
	}
	if m.PreMsgID != "" && w.recalls.Get([]byte(m.PreMsgID)) == nil {
		if err := w.recalls.Put([]byte(m.PreMsgID), id); err != nil {
			return false, err
		}
	}
	if _, err := w.unquarantine(m.MsgID); err != nil {
		return false, err
	}
	if err := addMediaTasks(w.tx, m, w.now); err != nil {
		return false, err
	}
	w.counts.messages++
	if m.Withheld != "" {
		w.counts.withheld++
	}
	return true, nil
}

// members records that the sender and receivers of room message m are
// members of its room (memberrooms), when the room's members are not
// those of its last message (roomhash): a room's members change rarely,
// so most room messages write nothing here.
func (w *writer) members(m archive.Message) error {
	h := membersHash(m)
	if c, ok := w.roomHash[m.RoomID]; ok && c == h {
		return nil
	}
	room := []byte(m.RoomID)
	w.roomHash[m.RoomID] = h
	if getU64(w.roomHashes.Get(room)) == h {
		return nil
	}
	for _, id := range append([]string{m.From}, m.ToList...) {
		if id == "" {
			continue
		}
		k := append(strPrefix(id), room...)
		if w.memberRooms.Get(k) == nil {
			if err := w.memberRooms.Put(k, nil); err != nil {
				return err
			}
			if err := w.roomMembers.Put(append(strPrefix(m.RoomID), id...), nil); err != nil {
				return err
			}
		}
	}
	return w.roomHashes.Put(room, u64(h))
}

// membersHash is a hash of the set of m's sender and receivers, whatever
// their order: the sum of each id's FNV-1a hash.
func membersHash(m archive.Message) uint64 {
	one := func(s string) uint64 {
		h := uint64(14695981039346656037)
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		return h
	}
	sum := one(m.From)
	for _, id := range m.ToList {
		if id != m.From {
			sum += one(id)
		}
	}
	return sum
}

// countRoom adds d to the number of room's messages (roomcounts),
// deleting the count at 0: PurgeDay asks it whether a room is left
// empty, which the period-first byroom cannot tell without a walk over
// every period.
func countRoom(tx *bolt.Tx, room string, d int64) error {
	b := tx.Bucket(bucketRoomCounts)
	n := int64(getU64(b.Get([]byte(room)))) + d
	if n <= 0 {
		return b.Delete([]byte(room))
	}
	return b.Put([]byte(room), u64(uint64(n)))
}

// shareList adds d to the count of messages that use the ToList ids
// stored under ref, storing the list with the first and deleting it with
// the last.
func shareList(tx *bolt.Tx, ref []byte, ids []string, d int64) error {
	refs, lists := tx.Bucket(bucketToListRefs), tx.Bucket(bucketToLists)
	n := int64(getU64(refs.Get(ref))) + d
	if n <= 0 {
		if err := refs.Delete(ref); err != nil {
			return err
		}
		return lists.Delete(ref)
	}
	if n == d {
		if err := lists.Put(ref, encodeList(ids)); err != nil {
			return err
		}
	}
	return refs.Put(ref, u64(uint64(n)))
}

// unquarantine removes msgID from the quarantine, reporting whether it
// was there.
func (w *writer) unquarantine(msgID string) (bool, error) {
	seq := w.quarIDs.Get([]byte(msgID))
	if seq == nil {
		return false, nil
	}
	if err := w.quar.Delete(append(slices.Clip(seq), msgID...)); err != nil {
		return false, err
	}
	if err := w.quarIDs.Delete([]byte(msgID)); err != nil {
		return false, err
	}
	w.counts.quarantined--
	return true, nil
}

// quarantine adds q unless its msgid is stored or quarantined already.
func (w *writer) quarantine(q archive.Quarantined) error {
	id := []byte(q.Record.MsgID)
	if w.msgIDs.Get(id) != nil || w.quarIDs.Get(id) != nil {
		return nil
	}
	if q.Since.IsZero() {
		q.Since = w.now
	}
	v, err := json.Marshal(q)
	if err != nil {
		return err
	}
	seq := u64(q.Record.Seq)
	if err := w.quar.Put(append(seq, id...), v); err != nil {
		return err
	}
	if err := w.quarIDs.Put(id, seq); err != nil {
		return err
	}
	w.counts.quarantined++
	return nil
}

// flush puts the collected index entries, in key order, and the counters.
func (w *writer) flush() error {
	for b, keys := range w.index {
		// Every index adds at the end of its prefix's range (times grow),
		// so pages split when full pack denser than bbolt's default half.
		b.FillPercent = indexFill
		slices.SortFunc(keys, bytes.Compare)
		for _, k := range keys {
			if err := b.Put(k, nil); err != nil {
				return err
			}
		}
	}
	w.index = nil
	for room, d := range w.rooms {
		if err := countRoom(w.tx, room, d); err != nil {
			return err
		}
	}
	w.rooms = nil
	if w.next != 0 {
		if err := w.meta.Put(metaNextNum, u64(w.next-1)); err != nil {
			return err
		}
	}
	for name, d := range map[string]int64{string(metaMessages): w.counts.messages, string(metaWithheld): w.counts.withheld,
		string(metaQuarantined): w.counts.quarantined} {
		if d != 0 {
			if err := add(w.meta, []byte(name), d); err != nil {
				return err
			}
		}
	}
	return nil
}

// Commit stores b and sets the cursor to b.To in one transaction.
func (s *Store) Commit(ctx context.Context, b archive.Batch) (archive.CommitResult, error) {
	var res archive.CommitResult
	if err := archive.CheckBatch(b); err != nil {
		return res, fmt.Errorf("archive/embedded: commit: %w", err)
	}
	err := s.update(ctx, "commit", func(tx *bolt.Tx) error {
		res = archive.CommitResult{}
		w := newWriter(tx, s.now().UTC())
		if cur := getU64(w.meta.Get(metaCursor)); cur != b.From {
			return fmt.Errorf("batch from %d, stored cursor %d: %w", b.From, cur, archive.ErrCursorMoved)
		}
		for _, m := range b.Messages {
			stored, err := w.store(m)
			if err != nil {
				return fmt.Errorf("message %s: %w", m.MsgID, err)
			}
			if stored {
				res.Stored++
			} else {
				res.Duplicates++
			}
		}
		for _, q := range b.Quarantine {
			if err := w.quarantine(q); err != nil {
				return fmt.Errorf("quarantine %s: %w", q.Record.MsgID, err)
			}
		}
		gaps := tx.Bucket(bucketGaps)
		for _, g := range b.Gaps {
			k := append(u64(g.After), u64(g.Before)...)
			if gaps.Get(k) != nil {
				continue
			}
			g.Detected = g.Detected.UTC()
			v, err := json.Marshal(g)
			if err != nil {
				return err
			}
			if err := gaps.Put(k, v); err != nil {
				return err
			}
			if err := add(w.meta, metaGaps, 1); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.meta.Put(metaCursor, u64(b.To)); err != nil {
			return err
		}
		return w.meta.Put(metaLastCommit, u64(uint64(w.now.UnixMicro())))
	})
	if err != nil {
		return archive.CommitResult{}, err
	}
	return res, nil
}

// ResolveQuarantine stores m and removes it from the quarantine in one
// transaction; ErrNotFound if it is not quarantined.
func (s *Store) ResolveQuarantine(ctx context.Context, m archive.Message) error {
	if err := archive.CheckMessage(m); err != nil {
		return fmt.Errorf("archive/embedded: resolve quarantine: %w", err)
	}
	return s.update(ctx, "resolve quarantine", func(tx *bolt.Tx) error {
		w := newWriter(tx, s.now().UTC())
		was, err := w.unquarantine(m.MsgID)
		if err != nil {
			return err
		}
		if !was {
			return fmt.Errorf("%s: %w", m.MsgID, archive.ErrNotFound)
		}
		if _, err := w.store(m); err != nil {
			return err
		}
		return w.flush()
	})
}

// TouchQuarantine records one more failed attempt with its reason.
func (s *Store) TouchQuarantine(ctx context.Context, msgID, reason string) error {
	return s.update(ctx, "touch quarantine", func(tx *bolt.Tx) error {
		seq := tx.Bucket(bucketQuarIDs).Get([]byte(msgID))
		if seq == nil {
			return fmt.Errorf("%s: %w", msgID, archive.ErrNotFound)
		}
		b := tx.Bucket(bucketQuarantine)
		k := append(slices.Clip(seq), msgID...)
		var q archive.Quarantined
		if err := json.Unmarshal(b.Get(k), &q); err != nil {
			return fmt.Errorf("quarantined %s: %w", msgID, err)
		}
		q.Attempts++
		q.Reason = reason
		v, err := json.Marshal(q)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// ListQuarantine returns quarantined records, oldest seq first.
func (s *Store) ListQuarantine(ctx context.Context, cursor string, limit int) ([]archive.Quarantined, string, error) {
	limit = pageLimit(limit)
	var after []byte
	if cursor != "" {
		var err error
		if after, err = decodeCursor(cursorQuarantine, cursor); err != nil {
			return nil, "", fmt.Errorf("archive/embedded: list quarantine: %w", err)
		}
	}
	var out []archive.Quarantined
	next := ""
	err := s.view(ctx, "list quarantine", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQuarantine).Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if len(out) == limit {
				next = encodeCursor(cursorQuarantine, quarKey(out[len(out)-1]))
				break
			}
			var q archive.Quarantined
			if err := json.Unmarshal(v, &q); err != nil {
				return fmt.Errorf("quarantined %x: %w", k, err)
			}
			q.Since = q.Since.UTC()
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// pageLimit applies the contract's default (100) and cap (1,000).
func pageLimit(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}

// quarKey is q's key in the quarantine bucket: seq ‖ msgid.
func quarKey(q archive.Quarantined) []byte {
	return append(u64(q.Record.Seq), q.Record.MsgID...)
}
