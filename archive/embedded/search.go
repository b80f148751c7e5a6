package embedded

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
)

// raceCap is how many entries of each candidate index Search walks, at
// most, to find the most selective one (see smallest).
const raceCap = 1 << 14

// personUnion is where id's messages are: byparty (what they sent, and
// chats outside rooms they received) and the rooms they are a member of.
func personUnion(tx *bolt.Tx, id string) union {
	u := union{{tx.Bucket(bucketByParty), strPrefix(id)}}
	p := strPrefix(id)
	rooms := tx.Bucket(bucketByRoom)
	c := tx.Bucket(bucketMemberRooms).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		u = append(u, index{rooms, strPrefix(string(k[len(p):]))})
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
	v := tx.Bucket(bucketMessages).Get([]byte(msgID))
	if v == nil {
		return archive.Message{}, fmt.Errorf("message %s: %w", msgID, archive.ErrNotFound)
	}
	m, err := decodeMessage(v, listsOf(tx))
	if err != nil {
		return archive.Message{}, fmt.Errorf("message %s: %w", msgID, err)
	}
	m.RecalledBy = string(tx.Bucket(bucketRecalls).Get([]byte(msgID)))
	return m, nil
}

// index is one time-ordered index a query uses: the entries of bucket b
// under prefix.
type index struct {
	b      *bolt.Bucket
	prefix []byte
}

// has reports whether the index has the entry suffix (time ‖ msgid).
func (ix index) has(suffix []byte) bool {
	k := make([]byte, 0, len(ix.prefix)+len(suffix))
	return ix.b.Get(append(append(k, ix.prefix...), suffix...)) != nil
}

// iter walks the entries of an index whose time is in [lo, hi) (nil:
// unbounded), in time order (descending unless asc), from after the
// position after (nil: from the start). cur is the current entry's suffix
// (time ‖ msgid), nil at the end.
type iter struct {
	c      *bolt.Cursor
	p      []byte
	lo, hi []byte
	asc    bool
	cur    []byte
}

func (ix index) iter(lo, hi, after []byte, asc bool) *iter {
	p := ix.prefix
	it := &iter{c: ix.b.Cursor(), p: p, lo: lo, hi: hi, asc: asc}
	var k []byte
	if asc {
		start := append(slices.Clip(p), lo...)
		skip := false
		if after != nil {
			if a := append(slices.Clip(p), after...); bytes.Compare(a, start) >= 0 {
				start, skip = a, true
			}
		}
		k, _ = it.c.Seek(start)
		if skip && bytes.Equal(k, start) {
			k, _ = it.c.Next()
		}
	} else {
		var end []byte // exclusive; nil: past every key of p
		if hi != nil {
			end = append(slices.Clip(p), hi...)
		} else {
			end = prefixEnd(p)
		}
		if after != nil {
			if a := append(slices.Clip(p), after...); end == nil || bytes.Compare(a, end) < 0 {
				end = a
			}
		}
		if end == nil {
			k, _ = it.c.Last()
		} else if k, _ = it.c.Seek(end); k == nil {
			k, _ = it.c.Last()
		} else {
			k, _ = it.c.Prev()
		}
	}
	it.set(k)
	return it
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

func (it *iter) next() { it.set(step(it.c, it.asc)) }

// union is a set of indexes read as one: a person's entries are those of
// byparty and of every room they are a member of.
type union []index

// merged walks the entries of every index of u in order, each suffix
// once.
type merged struct {
	its []*iter
	asc bool
}

func (u union) iter(lo, hi, after []byte, asc bool) *merged {
	m := &merged{asc: asc}
	for _, ix := range u {
		m.its = append(m.its, ix.iter(lo, hi, after, asc))
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
		its[i] = u.iter(lo, hi, nil, true)
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
func (s *Store) Search(ctx context.Context, q archive.Query) ([]archive.Message, string, error) {
	limit := pageLimit(q.Limit)
	var after []byte
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
	var out []archive.Message
	var last []byte // the suffix of out's last message
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
			ix := index{tx.Bucket(bucketByToken), tokenPrefix(tok)}
			if !slices.ContainsFunc(exact, func(f index) bool { return bytes.Equal(f.prefix, ix.prefix) }) {
				exact = append(exact, ix)
				candidates = append(candidates, union{ix})
			}
		}
		if q.Conversation != "" {
			ix := index{tx.Bucket(bucketByConv), strPrefix(q.Conversation)}
			exact = append(exact, ix)
			candidates = append(candidates, union{ix})
		}
		if q.Room != "" {
			ix := index{tx.Bucket(bucketByRoom), strPrefix(q.Room)}
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
		scanned := 0
		it := primary.iter(lo, hi, after, q.Ascending)
	entries:
		for {
			suffix := it.cur()
			if suffix == nil {
				return nil
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
			msgID := suffix[8:]
			v := msgs.Get(msgID)
			if v == nil {
				return fmt.Errorf("index entry for %q names no message", msgID)
			}
			if q.Type != "" && !hasType(v, q.Type) {
				continue
			}
			m, err := decodeMessage(v, lists)
			if err != nil {
				return fmt.Errorf("message %q: %w", msgID, err)
			}
			for _, id := range people {
				if m.From != id && !slices.Contains(m.ToList, id) {
					continue entries
				}
			}
			if len(out) == limit {
				// One more matches: there is a next page.
				next = encodeCursor(cursorSearch, last)
				return nil
			}
			m.RecalledBy = string(recalls.Get(msgID))
			out = append(out, m)
			last = append(last[:0], suffix...)
		}
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
