package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
)

// raceCap is how many entries of each candidate index Search walks, at
// most, to find the most selective one (see smallest).
const raceCap = 1 << 14

// personUnion is where id's messages are: byparty (what they sent, and
// chats outside rooms they received) and the rooms they are a member of.
func personUnion(tx *bolt.Tx, id string) union {
	u := union{{tx.Bucket(bucketByParty), strPrefix(id), idPeriod}}
	p := strPrefix(id)
	rooms := tx.Bucket(bucketByRoom)
	c := tx.Bucket(bucketMemberRooms).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		u = append(u, index{rooms, strPrefix(string(k[len(p):])), idPeriod})
	}
	return u
}

// listsOf reads the ToLists stored by reference in tx.
func listsOf(tx *bolt.Tx) func(ref []byte) ([]string, error) {
	b := tx.Bucket(bucketToLists)
	return func(ref []byte) ([]string, error) {
		v := b.Get(ref)
		if v == nil {
			return nil, fmt.Errorf("tolist %x is missing", ref)
		}
		return decodeList(v)
	}
}

// GetMessage returns one message by msgid, or ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, msgID string) (archive.Message, error) {
	var m archive.Message
	err := s.view(ctx, "get message", func(tx *bolt.Tx) error {
		var err error
		m, err = readMessage(tx, msgID)
		return err
	})
	return m, err
}

// readMessage reads msgID with its RecalledBy filled.
func readMessage(tx *bolt.Tx, msgID string) (archive.Message, error) {
	num := tx.Bucket(bucketMsgIDs).Get([]byte(msgID))
	if num == nil {
		return archive.Message{}, fmt.Errorf("message %s: %w", msgID, archive.ErrNotFound)
	}
	return readNum(tx, getU64(num))
}

// readNum reads message number num with its RecalledBy filled.
func readNum(tx *bolt.Tx, num uint64) (archive.Message, error) {
	v := tx.Bucket(bucketMessages).Get(u64(num))
	if v == nil {
		return archive.Message{}, fmt.Errorf("message number %d is missing", num)
	}
	m, err := decodeMessage(v, listsOf(tx))
	if err != nil {
		return archive.Message{}, fmt.Errorf("message number %d: %w", num, err)
	}
	m.RecalledBy = string(tx.Bucket(bucketRecalls).Get([]byte(m.MsgID)))
	return m, nil
}

// index is one time-ordered index a query uses: the entries of bucket b
// under prefix. In an index with a period (byparty, byroom, byconv,
// bytoken) the keys are periodOf(t, period) ‖ prefix ‖ t ‖ num (see
// periodEntryKey): the index's entries are read period by period; else
// (bytime, period 0) prefix ‖ t ‖ num.
type index struct {
	b      *bolt.Bucket
	prefix []byte
	period time.Duration
}

// has reports whether the index has the entry suffix (time ‖ num).
func (ix index) has(suffix []byte) bool {
	k := make([]byte, 0, periodLen+len(ix.prefix)+len(suffix))
	if ix.period != 0 {
		k = binary.BigEndian.AppendUint32(k, periodOf(suffix[:8], ix.period))
	}
	return ix.b.Get(append(append(k, ix.prefix...), suffix...)) != nil
}

// iter walks the entries of an index whose time is in [lo, hi) (nil:
// unbounded), in time order (descending unless asc). cur is the current
// entry's suffix (time ‖ num), nil at the end.
type iter struct {
	c      *bolt.Cursor
	ix     index
	lo, hi []byte
	asc    bool
	per    uint32 // the current period (with a period)
	p      []byte // the current period's key prefix: [period ‖] prefix
	cur    []byte
}

func (ix index) iter(lo, hi []byte, asc bool) *iter {
	it := &iter{c: ix.b.Cursor(), ix: ix, lo: lo, hi: hi, asc: asc}
	if ix.period == 0 {
		it.p = ix.prefix
		it.cur = nil
		it.set(it.seek())
		return it
	}
	// The first period to look at: the bound's, else the bucket's first
	// (last) key's.
	var k []byte
	switch {
	case asc && lo != nil:
		it.from(periodOf(lo, ix.period))
	case !asc && hi != nil:
		it.from(periodOf(hi, ix.period))
	case asc:
		if k, _ = it.c.First(); len(k) >= periodLen {
			it.from(getPeriod(k))
		}
	default:
		if k, _ = it.c.Last(); len(k) >= periodLen {
			it.from(getPeriod(k))
		}
	}
	return it
}

// seek positions the cursor at the first (last, descending) key of the
// current key prefix it.p within the bounds, and returns it (it may not
// have the prefix).
func (it *iter) seek() []byte {
	if it.asc {
		start := it.p
		if it.lo != nil {
			start = append(slices.Clip(it.p), it.lo...)
		}
		k, _ := it.c.Seek(start)
		return k
	}
	var end []byte // exclusive; nil: past every key of p
	if it.hi != nil {
		end = append(slices.Clip(it.p), it.hi...)
	} else {
		end = prefixEnd(it.p)
	}
	if end == nil {
		k, _ := it.c.Last()
		return k
	}
	if k, _ := it.c.Seek(end); k != nil {
		k, _ = it.c.Prev()
		return k
	}
	k, _ := it.c.Last()
	return k
}

// from moves an index's iterator to its first entry in period
// per or after it (before it, descending), skipping the periods in which
// the bucket has no key at all in one seek each and those in which the
// index has no entry in one or two.
func (it *iter) from(per uint32) {
	it.cur = nil
	for {
		if it.asc && it.hi != nil && per > periodOf(it.hi, it.ix.period) || !it.asc && it.lo != nil && per < periodOf(it.lo, it.ix.period) {
			return
		}
		it.per = per
		it.p = append(periodKey(per), it.ix.prefix...)
		k := it.seek()
		if len(k) < periodLen {
			return
		}
		if bytes.HasPrefix(k, it.p) {
			it.set(k)
			return
		}
		// k is the next (previous) key of the bucket outside this
		// period's entries of the index: go on from its period, or the
		// next (previous) one if it is in this one.
		q := getPeriod(k)
		switch {
		case q != per:
			per = q
		case it.asc && per < math.MaxUint32:
			per++
		case !it.asc && per > 0:
			per--
		default:
			return
		}
	}
}

func (it *iter) set(k []byte) {
	it.cur = nil
	if k == nil || !bytes.HasPrefix(k, it.p) || len(k) < len(it.p)+8 {
		return
	}
	s := k[len(it.p):]
	if it.asc && it.hi != nil && bytes.Compare(s[:8], it.hi) >= 0 {
		return
	}
	if !it.asc && it.lo != nil && bytes.Compare(s[:8], it.lo) < 0 {
		return
	}
	it.cur = s
}

func (it *iter) next() {
	k := step(it.c, it.asc)
	if it.ix.period == 0 || bytes.HasPrefix(k, it.p) {
		it.set(k)
		return
	}
	// The end of this period's entries: on to the next (previous) period
	// the bucket has, from k's.
	switch {
	case len(k) < periodLen:
		it.cur = nil
	case getPeriod(k) != it.per:
		it.from(getPeriod(k))
	case it.asc && it.per < math.MaxUint32:
		it.from(it.per + 1)
	case !it.asc && it.per > 0:
		it.from(it.per - 1)
	default:
		it.cur = nil
	}
}

// union is a set of indexes read as one: a person's entries are those of
// byparty and of every room they are a member of.
type union []index

// merged walks the entries of every index of u in order, each suffix
// once.
type merged struct {
	its []*iter
	asc bool
}

func (u union) iter(lo, hi []byte, asc bool) *merged {
	m := &merged{asc: asc}
	for _, ix := range u {
		m.its = append(m.its, ix.iter(lo, hi, asc))
	}
	return m
}

// cur is the next suffix in order, nil at the end.
func (m *merged) cur() []byte {
	var best []byte
	for _, it := range m.its {
		if it.cur == nil {
			continue
		}
		if best == nil || (m.asc && bytes.Compare(it.cur, best) < 0) || (!m.asc && bytes.Compare(it.cur, best) > 0) {
			best = it.cur
		}
	}
	return best
}

// advance moves every index whose entry is s past it.
func (m *merged) advance(s []byte) {
	s = slices.Clone(s)
	for _, it := range m.its {
		if it.cur != nil && bytes.Equal(it.cur, s) {
			it.next()
		}
	}
}

// smallest returns the candidate with the fewest entries in [lo, hi) and
// how many it has, by walking them all one entry at a time until one
// ends (or raceCap steps): the cost is the smallest one's size times the
// number of candidates, not the size of the largest.
func smallest(cands []union, lo, hi []byte) (int, int) {
	its := make([]*merged, len(cands))
	for i, u := range cands {
		its[i] = u.iter(lo, hi, true)
	}
	for n := 0; n < raceCap; n++ {
		for i, it := range its {
			c := it.cur()
			if c == nil {
				return i, n
			}
			it.advance(c)
		}
	}
	return 0, raceCap
}

func step(c *bolt.Cursor, asc bool) []byte {
	if asc {
		k, _ := c.Next()
		return k
	}
	k, _ := c.Prev()
	return k
}

// prefixEnd is the least key greater than every key starting with p, nil
// if there is none.
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Search returns a page of messages matching q and the cursor of the
// next page.
//
// Index entries are ordered by time and message number; the messages of
// one microsecond are gathered and sorted by msgid before they are
// given, so pages follow (time, msgid) as the contract says. The page
// cursor is the (time, msgid) of the last message given.
func (s *Store) Search(ctx context.Context, q archive.Query) ([]archive.Message, string, error) {
	limit := pageLimit(q.Limit)
	var after []byte // t ‖ msgid
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(cursorSearch, q.Cursor); err != nil {
			return nil, "", fmt.Errorf("archive/embedded: search: %w", err)
		}
	}
	var lo, hi []byte
	if !q.From.IsZero() {
		lo = timeKey(q.From)
	}
	if !q.To.IsZero() {
		hi = timeKey(q.To)
	}
	// Resume at the cursor's microsecond (inclusive): the messages of it
	// not after the cursor's msgid are skipped below.
	if after != nil {
		at := after[:8]
		if q.Ascending && (lo == nil || bytes.Compare(at, lo) > 0) {
			lo = at
		}
		if !q.Ascending {
			if end := u64(getU64(at) + 1); hi == nil || bytes.Compare(end, hi) < 0 {
				hi = end
			}
		}
	}
	var out []archive.Message
	var last []byte // t ‖ msgid of out's last message
	next := ""
	err := s.view(ctx, "search", func(tx *bolt.Tx) error {
		if lo != nil && hi != nil && bytes.Compare(lo, hi) >= 0 {
			return nil
		}
		// exact filters are decided by their index alone; a person's
		// union holds every message of their rooms, so person filters are
		// checked on the message.
		var exact []index
		var candidates []union
		for _, tok := range q.Tokens {
			ix := index{tx.Bucket(bucketByToken), tokenPrefix(tok), tokenPeriod}
			if !slices.ContainsFunc(exact, func(f index) bool { return bytes.Equal(f.prefix, ix.prefix) }) {
				exact = append(exact, ix)
				candidates = append(candidates, union{ix})
			}
		}
		if q.Conversation != "" {
			ix := index{tx.Bucket(bucketByConv), strPrefix(q.Conversation), idPeriod}
			exact = append(exact, ix)
			candidates = append(candidates, union{ix})
		}
		if q.Room != "" {
			ix := index{tx.Bucket(bucketByRoom), strPrefix(q.Room), idPeriod}
			exact = append(exact, ix)
			candidates = append(candidates, union{ix})
		}
		var people []string
		for _, id := range []string{q.User, q.Customer} {
			if id != "" && !slices.Contains(people, id) {
				people = append(people, id)
				candidates = append(candidates, personUnion(tx, id))
			}
		}
		// The primary is the candidate with the fewest entries in the range.
		primary := union{{b: tx.Bucket(bucketByTime)}}
		if len(candidates) > 0 {
			best, n := smallest(candidates, lo, hi)
			if n == 0 {
				return nil // nothing can match
			}
			primary = candidates[best]
			if len(primary) == 1 {
				exact = slices.DeleteFunc(exact, func(f index) bool {
					return f.b == primary[0].b && bytes.Equal(f.prefix, primary[0].prefix)
				})
			}
		}
		msgs := tx.Bucket(bucketMessages)
		lists := listsOf(tx)
		recalls := tx.Bucket(bucketRecalls)

		type entry struct {
			msgID string
			v     []byte // the stored message
		}
		var group []entry // the matching entries of one microsecond
		var groupAt []byte
		// give gives the group's messages in (time, msgid) order; it
		// reports true when the page is full and one more matches.
		give := func() (bool, error) {
			slices.SortFunc(group, func(a, b entry) int {
				if q.Ascending {
					return strings.Compare(a.msgID, b.msgID)
				}
				return strings.Compare(b.msgID, a.msgID)
			})
			for _, e := range group {
				if after != nil && bytes.Equal(groupAt, after[:8]) {
					c := strings.Compare(e.msgID, string(after[8:]))
					if (q.Ascending && c <= 0) || (!q.Ascending && c >= 0) {
						continue
					}
				}
				if q.Type != "" && !hasType(e.v, q.Type) {
					continue
				}
				m, err := decodeMessage(e.v, lists)
				if err != nil {
					return false, fmt.Errorf("message %s: %w", e.msgID, err)
				}
				if slices.ContainsFunc(people, func(id string) bool { return m.From != id && !slices.Contains(m.ToList, id) }) {
					continue
				}
				if len(out) == limit {
					return true, nil
				}
				m.RecalledBy = string(recalls.Get([]byte(m.MsgID)))
				out = append(out, m)
				last = append(append(last[:0], groupAt...), m.MsgID...)
			}
			return false, nil
		}
		it := primary.iter(lo, hi, q.Ascending)
		scanned := 0
	entries:
		for {
			suffix := it.cur()
			if suffix == nil || (groupAt != nil && !bytes.Equal(suffix[:8], groupAt)) {
				full, err := give()
				if err != nil {
					return err
				}
				if full {
					next = encodeCursor(cursorSearch, last)
					return nil
				}
				if suffix == nil {
					return nil
				}
				group, groupAt = group[:0], nil
			}
			it.advance(suffix) // suffix stays valid: it is the transaction's memory
			if scanned++; scanned%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			for _, f := range exact {
				if !f.has(suffix) {
					continue entries
				}
			}
			v := msgs.Get(suffix[8:])
			if v == nil {
				return fmt.Errorf("index entry names message number %x, which is missing", suffix[8:])
			}
			id, err := storedMsgID(v)
			if err != nil {
				return fmt.Errorf("message number %x: %w", suffix[8:], err)
			}
			group = append(group, entry{id, v})
			groupAt = suffix[:8]
		}
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
