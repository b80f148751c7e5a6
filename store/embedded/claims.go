package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// Recipient claims, with the index retention walks:
//
//	claims     len(claim key) ‖ claim key ‖ user → 0x00 ‖ claimed µs (time key) ‖ owner
//	claimsat   claimed µs (time key) ‖ len(claim key) ‖ claim key ‖ user → ∅
//
// A claim made before claim times were kept is just the owner (an owner
// is a plan's dedup key, never starting with 0x00). A store that has such
// claims gets them converted at Open, in batches (convertClaims), with
// the time of the conversion as their claim time: retention then counts
// them from the upgrade. The meta bucket marks a conversion under way, so
// that one cut short by a crash goes on at the next Open.
var (
	bucketClaimsAt = []byte("claimsat")
	bucketMeta     = []byte("meta")
	// metaConvertClaims, in meta, marks a conversion of claims under way.
	metaConvertClaims = []byte("convert-claims")
)

// claimsBatch is how many users one transaction of ClaimRecipients
// claims, and how many claims one transaction of a conversion converts.
const claimsBatch = 1000

func claimValue(at int64, owner string) []byte {
	v := make([]byte, 0, 9+len(owner))
	v = append(v, 0)
	v = append(v, timeKey(at)...)
	return append(v, owner...)
}

// parseClaim reads a claims value: the owner and the claim time (µs);
// timed is false for a claim without a time (made before they were kept).
func parseClaim(v []byte) (owner string, at int64, timed bool) {
	if len(v) >= 9 && v[0] == 0 {
		return string(v[9:]), unTimeKey(v[1:9]), true
	}
	return string(v), 0, false
}

// splitScoped splits a scopedKey into its scope and the rest.
func splitScoped(k []byte) (scope, rest string, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return "", "", false
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):]), true
}

// ClaimRecipients claims users for key on behalf of owner at at, in
// transactions of claimsBatch users; see store.RecipientClaims. It
// returns, in their first order and without repeats, the users of users
// that owner holds for key.
func (s *Store) ClaimRecipients(ctx context.Context, key, owner string, users []string, at time.Time) ([]string, error) {
	op := "claim recipients of " + key + " for " + owner
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	if key == "" || owner == "" || owner[0] == 0 || at.IsZero() {
		return nil, fmt.Errorf("embedded: %s: want a key, an owner and a time", op)
	}
	users, err := index.Users(users)
	if err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	value := claimValue(micros(at), owner)
	out := make([]string, 0, len(users))
	for start := 0; start < len(users); start += claimsBatch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embedded: %s: %w", op, err)
		}
		batch := users[start:min(start+claimsBatch, len(users))]
		var held []string
		err := s.w.write(false, func(tx *bolt.Tx) error {
			held = held[:0]
			b, idx := tx.Bucket(bucketClaims), tx.Bucket(bucketClaimsAt)
			for _, u := range batch {
				k := scopedKey(key, u)
				switch v := b.Get(k); {
				case v == nil:
					if err := b.Put(k, value); err != nil {
						return err
					}
					if err := idx.Put(concat(value[1:9], k), nil); err != nil {
						return err
					}
				default:
					if o, _, _ := parseClaim(v); o != owner {
						continue
					}
				}
				held = append(held, u)
			}
			return nil
		})
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, held...)
	}
	return out, nil
}

// prepareClaims runs in Open's transaction, before the buckets are made:
// a store that has claims but no claimsat bucket yet needs its claims
// converted (marked in meta).
func prepareClaims(tx *bolt.Tx) error {
	if tx.Bucket(bucketClaimsAt) != nil {
		return nil
	}
	claims := tx.Bucket(bucketClaims)
	if claims == nil {
		return nil
	}
	if k, _ := claims.Cursor().First(); k == nil {
		return nil
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return meta.Put(metaConvertClaims, []byte{1})
}

// convertClaims gives every claim without a time the time now and an
// entry in claimsat, claimsBatch claims a transaction, if a conversion is
// under way (prepareClaims); it returns how many it converted. Claims
// made meanwhile have a time and are left alone, so it may run again
// after a crash.
func (s *Store) convertClaims() (int, error) {
	var pending bool
	err := s.db.View(func(tx *bolt.Tx) error {
		pending = tx.Bucket(bucketMeta).Get(metaConvertClaims) != nil
		return nil
	})
	if err != nil || !pending {
		return 0, err
	}
	at := timeKey(micros(s.now()))
	var after []byte
	total := 0
	for {
		var done bool
		err := s.w.write(false, func(tx *bolt.Tx) error {
			claims, idx := tx.Bucket(bucketClaims), tx.Bucket(bucketClaimsAt)
			type legacy struct{ k, v []byte }
			var batch []legacy
			c := claims.Cursor()
			k, v := seekAfter(c, after)
			n := 0
			for ; k != nil && n < claimsBatch; k, v = c.Next() {
				n++
				after = bytes.Clone(k)
				if owner, _, timed := parseClaim(v); !timed {
					batch = append(batch, legacy{bytes.Clone(k), claimValue(unTimeKey(at), owner)})
				}
			}
			for _, l := range batch {
				if err := claims.Put(l.k, l.v); err != nil {
					return err
				}
				if err := idx.Put(concat(at, l.k), nil); err != nil {
					return err
				}
			}
			total += len(batch)
			if done = k == nil; done {
				return tx.Bucket(bucketMeta).Delete(metaConvertClaims)
			}
			return nil
		})
		if err != nil {
			return total, s.wrap("convert recipient claims", err)
		}
		if done {
			return total, nil
		}
	}
}

// purgeClaims walks claimsat from the oldest claim (or after the cursor)
// until Before, deleting each claim with its index entry. An index entry
// whose claim is gone or was made again since (another time) is removed
// without counting.
func purgeClaims(tx *bolt.Tx, b store.PurgeBatch, after []byte, limit int, res *store.PurgeResult) error {
	idx, claims := tx.Bucket(bucketClaimsAt), tx.Bucket(bucketClaims)
	var victims [][]byte // index keys; the claim's key follows the time
	next, err := walkPast(idx.Cursor(), b, after, limit, func(k, _ []byte) error {
		key, user, ok := splitScoped(k[8:])
		if !ok {
			return fmt.Errorf("malformed claim index entry %x", k)
		}
		if _, at, timed := parseClaim(claims.Get(k[8:])); !timed || at != unTimeKey(k[:8]) {
			victims = append(victims, bytes.Clone(k))
			return nil
		}
		switch purge.RecipientClaim(key, user, fromMicros(unTimeKey(k[:8])), b) {
		case purge.Held:
			res.Held++
		case purge.Delete:
			victims = append(victims, bytes.Clone(k))
			res.Purged++
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Next = next
	for _, v := range victims {
		if err := idx.Delete(v); err != nil {
			return err
		}
		if _, at, timed := parseClaim(claims.Get(v[8:])); timed && at == unTimeKey(v[:8]) {
			if err := claims.Delete(v[8:]); err != nil {
				return err
			}
		}
	}
	return nil
}
