package embedded

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Expiring values: the leases, tokens, booking markers, send records and
// quota counters each live in a bucket of their own whose values start
// with their expiry (an 8-byte time key, µs); the expiry bucket indexes
// them all by their sweep time, so the sweeper deletes them once expired:
//
//	expiry   sweep time µs ‖ tag ‖ key → ∅
//
// tag is one byte naming the bucket (see expiringBuckets). A value whose
// expiry has passed counts as absent whether or not it has been swept.
// The sweep time is the expiry rounded up to the tag's granularity (see
// sweepTime): a member's send records, rewritten at every send with a
// later expiry, need a new index entry only once an hour.

// Tags of the expiring buckets in the expiry index.
const (
	tagLease  byte = 'l'
	tagToken  byte = 't'
	tagBooked byte = 'b'
	tagSends  byte = 's'
	tagQuota  byte = 'q'
)

// expiringBuckets maps a tag to its bucket.
var expiringBuckets = map[byte][]byte{
	tagLease:  bucketLeases,
	tagToken:  bucketTokens,
	tagBooked: bucketBooked,
	tagSends:  bucketSends,
	tagQuota:  bucketQuota,
}

// sweepTime is when the sweeper looks at a value of tag expiring at exp
// (µs): exp rounded up to the tag's granularity.
func sweepTime(tag byte, exp int64) int64 {
	if tag != tagSends {
		return exp
	}
	const hour = int64(time.Hour / time.Microsecond)
	if r := exp % hour; r > 0 {
		return exp - r + hour
	} else if r < 0 {
		return exp - r
	}
	return exp
}

func expiryKey(exp []byte, tag byte, key []byte) []byte {
	out := make([]byte, 0, len(exp)+1+len(key))
	out = append(out, exp...)
	out = append(out, tag)
	return append(out, key...)
}

// getExpiring returns the value of key in tag's bucket without its
// expiry, and the expiry (µs); ok is false if it is absent or expired at
// now. The returned slice is valid only during tx.
func getExpiring(tx *bolt.Tx, tag byte, key []byte, now int64) (rest []byte, exp int64, ok bool, err error) {
	v := tx.Bucket(expiringBuckets[tag]).Get(key)
	if v == nil {
		return nil, 0, false, nil
	}
	if len(v) < 8 {
		return nil, 0, false, fmt.Errorf("malformed expiring value in %s", expiringBuckets[tag])
	}
	exp = unTimeKey(v)
	if exp <= now {
		return nil, 0, false, nil
	}
	return v[8:], exp, true, nil
}

// putExpiring stores rest under key in tag's bucket until exp (µs),
// replacing the value there and its index entry.
func putExpiring(tx *bolt.Tx, tag byte, key []byte, exp int64, rest []byte) error {
	b := tx.Bucket(expiringBuckets[tag])
	idx := tx.Bucket(bucketExpiry)
	sweepAt := sweepTime(tag, exp)
	indexed := false
	if old := b.Get(key); len(old) >= 8 {
		oldSweepAt := sweepTime(tag, unTimeKey(old))
		if indexed = oldSweepAt == sweepAt; !indexed {
			if err := idx.Delete(expiryKey(timeKey(oldSweepAt), tag, key)); err != nil {
				return err
			}
		}
	}
	v := make([]byte, 0, 8+len(rest))
	v = append(append(v, timeKey(exp)...), rest...)
	if err := b.Put(key, v); err != nil {
		return err
	}
	if indexed {
		return nil // the index entry of the same sweep time is there
	}
	return idx.Put(expiryKey(timeKey(sweepAt), tag, key), nil)
}

// deleteExpiring deletes key from tag's bucket and the index.
func deleteExpiring(tx *bolt.Tx, tag byte, key []byte) error {
	b := tx.Bucket(expiringBuckets[tag])
	old := b.Get(key)
	if old == nil {
		return nil
	}
	if len(old) >= 8 {
		if err := tx.Bucket(bucketExpiry).Delete(expiryKey(timeKey(sweepTime(tag, unTimeKey(old))), tag, key)); err != nil {
			return err
		}
	}
	return b.Delete(key)
}

// sweepExpiring deletes the expiring values whose expiry has passed and
// reports how many index entries it removed.
func (s *Store) sweepExpiring() (int, error) {
	return s.sweepIndex("sweep expired values", bucketExpiry, 9, func(tx *bolt.Tx, k []byte) error {
		name, ok := expiringBuckets[k[8]]
		if !ok {
			return nil
		}
		b, key := tx.Bucket(name), k[9:]
		// Delete the value only if this index entry is its current sweep
		// time (a later put wrote a newer one).
		if v := b.Get(key); len(v) >= 8 && sweepTime(k[8], unTimeKey(v)) == unTimeKey(k[:8]) {
			return b.Delete(key)
		}
		return nil
	})
}
