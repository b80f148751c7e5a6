package embedded

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/archive"
)

// estimateCap is how many entries Search counts, at most, to estimate how
// selective an index is for a query.
const estimateCap = 512

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
	m, err := decodeMessage(v)
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

// scan calls fn with the suffix (time ‖ msgid) of each entry whose time
// is in [lo, hi) (nil: unbounded) and that comes after the position
// after (nil: from the start), in time order (descending unless asc),
// until fn returns false.
func (ix index) scan(lo, hi, after []byte, asc bool, fn func(suffix []byte) (bool, error)) error {
	p := ix.prefix
	c := ix.b.Cursor()
	var k []byte
	if asc {
		start := append(slices.Clip(p), lo...)
		skip := false
		if after != nil {
			if a := append(slices.Clip(p), after...); bytes.Compare(a, start) >= 0 {
				start, skip = a, true
			}
		}
		k, _ = c.Seek(start)
		if skip && bytes.Equal(k, start) {
			k, _ = c.Next()
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
			k, _ = c.Last()
		} else if k, _ = c.Seek(end); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	for ; k != nil; k = step(c, asc) {
		if !bytes.HasPrefix(k, p) || len(k) < len(p)+8 {
			return nil
		}
		suffix := k[len(p):]
		if asc && hi != nil && bytes.Compare(suffix[:8], hi) >= 0 {
			return nil
		}
		if !asc && lo != nil && bytes.Compare(suffix[:8], lo) < 0 {
			return nil
		}
		more, err := fn(suffix)
		if err != nil || !more {
			return err
		}
	}
	return nil
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

// estimate counts ix's entries in [lo, hi), up to estimateCap.
func (ix index) estimate(lo, hi []byte) int {
	n := 0
	_ = ix.scan(lo, hi, nil, true, func([]byte) (bool, error) {
		n++
		return n < estimateCap, nil
	})
	return n
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
		var filters []index
		for _, tok := range q.Tokens {
			ix := index{tx.Bucket(bucketByToken), tokenPrefix(tok)}
			if !slices.ContainsFunc(filters, func(f index) bool { return bytes.Equal(f.prefix, ix.prefix) }) {
				filters = append(filters, ix)
			}
		}
		party := tx.Bucket(bucketByParty)
		if q.User != "" {
			filters = append(filters, index{party, strPrefix(q.User)})
		}
		if q.Customer != "" && q.Customer != q.User {
			filters = append(filters, index{party, strPrefix(q.Customer)})
		}
		if q.Conversation != "" {
			filters = append(filters, index{tx.Bucket(bucketByConv), strPrefix(q.Conversation)})
		}
		if q.Room != "" {
			filters = append(filters, index{tx.Bucket(bucketByRoom), strPrefix(q.Room)})
		}
		// The primary index is the one with the fewest entries in the range.
		primary := index{b: tx.Bucket(bucketByTime)}
		if len(filters) > 0 {
			best, bestN := 0, estimateCap+1
			for i, f := range filters {
				n := f.estimate(lo, hi)
				if n == 0 {
					return nil // nothing can match
				}
				if n < bestN {
					best, bestN = i, n
				}
			}
			primary = filters[best]
			filters = slices.Delete(filters, best, best+1)
		}
		msgs := tx.Bucket(bucketMessages)
		recalls := tx.Bucket(bucketRecalls)
		scanned := 0
		return primary.scan(lo, hi, after, q.Ascending, func(suffix []byte) (bool, error) {
			if scanned++; scanned%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			for _, f := range filters {
				if !f.has(suffix) {
					return true, nil
				}
			}
			msgID := suffix[8:]
			v := msgs.Get(msgID)
			if v == nil {
				return false, fmt.Errorf("index entry for %q names no message", msgID)
			}
			if q.Type != "" && !hasType(v, q.Type) {
				return true, nil
			}
			if len(out) == limit {
				// One more matches: there is a next page.
				next = encodeCursor(cursorSearch, last)
				return false, nil
			}
			m, err := decodeMessage(v)
			if err != nil {
				return false, fmt.Errorf("message %q: %w", msgID, err)
			}
			m.RecalledBy = string(recalls.Get(msgID))
			out = append(out, m)
			last = append(last[:0], suffix...)
			return true, nil
		})
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
