package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/sendlimit"
)

// scopedKey is len(scope) ‖ scope ‖ rest: unambiguous whatever the
// scope contains.
func scopedKey(scope string, rest string) []byte {
	out := make([]byte, 0, binary.MaxVarintLen64+len(scope)+len(rest))
	out = binary.AppendUvarint(out, uint64(len(scope)))
	out = append(out, scope...)
	return append(out, rest...)
}

// A member's send times (ms, ascending) are stored as the first time and
// then the gaps, as varints: a few bytes a send instead of eight, so that
// the values a booking rewrites, one per member, stay small.

// decodeTimes reads a member's send times.
func decodeTimes(v []byte) ([]int64, error) {
	out := make([]int64, 0, len(v)/2+1)
	var t int64
	for len(v) > 0 {
		var d int64
		var n int
		if len(out) == 0 {
			d, n = binary.Varint(v)
		} else {
			var u uint64
			u, n = binary.Uvarint(v)
			d = int64(u)
		}
		if n <= 0 {
			return nil, errors.New("malformed send record")
		}
		t += d
		out = append(out, t)
		v = v[n:]
	}
	return out, nil
}

func encodeTimes(ts []int64) []byte {
	out := make([]byte, 0, 3*len(ts)+binary.MaxVarintLen64)
	for i, t := range ts {
		if i == 0 {
			out = binary.AppendVarint(out, t)
		} else {
			out = binary.AppendUvarint(out, uint64(t-ts[i-1]))
		}
	}
	return out
}

// BookSend checks and records a send in one transaction; see
// store.SendLimits. A member listed twice counts once; a MarkerTTL that
// is not positive means sendlimit.DefaultMarkerTTL. A member's send
// records are kept as long as the booking's longest window needs them,
// and a day's counter until a day after the day ends.
func (s *Store) BookSend(ctx context.Context, b store.SendBooking) (store.SendBookingResult, error) {
	op := "book send " + b.UnitID
	if err := s.check(ctx, op); err != nil {
		return store.SendBookingResult{}, err
	}
	p, err := sendlimit.New(b, s.now())
	if err != nil {
		return store.SendBookingResult{}, fmt.Errorf("embedded: book send: %w", err)
	}
	keys := make([][]byte, len(p.Members))
	for i, m := range p.Members {
		keys[i] = scopedKey(p.Scope, m)
	}
	quotaKey := scopedKey(p.Scope, p.Day)

	var res store.SendBookingResult
	err = s.w.write(false, func(tx *bolt.Tx) error {
		res = store.SendBookingResult{}
		now := micros(s.now())
		unit := []byte(p.UnitID)
		_, _, booked, err := getExpiring(tx, tagBooked, unit, now)
		if err != nil {
			return err
		}
		if booked {
			res.Already = true
			return nil
		}

		// Check every member's windows.
		times := make([][]int64, len(p.Members))
		exps := make([]int64, len(p.Members))
		if len(p.Windows) > 0 {
			for i, m := range p.Members {
				v, exp, ok, err := getExpiring(tx, tagSends, keys[i], now)
				if err != nil {
					return err
				}
				if ok {
					if times[i], err = decodeTimes(v); err != nil {
						return err
					}
					exps[i] = exp
				}
				if t, blocked := sendlimit.Earliest(times[i], p.AtMS, p.Windows); blocked {
					if res.Blocked == nil {
						res.Blocked = make(map[string]time.Time)
					}
					res.Blocked[m] = time.UnixMilli(t).UTC()
				}
			}
		}

		// And the day's quota.
		var used uint64
		v, quotaExp, ok, err := getExpiring(tx, tagQuota, quotaKey, now)
		if err != nil {
			return err
		}
		if ok {
			if len(v) != 8 {
				return fmt.Errorf("malformed quota counter of %d bytes", len(v))
			}
			used = binary.BigEndian.Uint64(v)
		}
		if p.DailyQuota > 0 && used+uint64(len(p.Members)) > uint64(p.DailyQuota) {
			res.QuotaResetAt = p.QuotaResetAt
		}
		if len(res.Blocked) > 0 || !res.QuotaResetAt.IsZero() {
			return nil // refused: nothing recorded
		}

		if len(p.Windows) > 0 {
			for i := range p.Members {
				ts := sendlimit.Record(times[i], p.AtMS, p.PruneBeforeMS)
				exp := max(exps[i], p.SendsExpireMS*1000)
				if err := putExpiring(tx, tagSends, keys[i], exp, encodeTimes(ts)); err != nil {
					return err
				}
			}
		}
		count := binary.BigEndian.AppendUint64(nil, used+uint64(len(p.Members)))
		if err := putExpiring(tx, tagQuota, quotaKey, max(quotaExp, p.DayExpireMS*1000), count); err != nil {
			return err
		}
		return putExpiring(tx, tagBooked, unit, now+p.MarkerTTL.Microseconds(), nil)
	})
	if err != nil {
		return store.SendBookingResult{}, s.wrap(op, err)
	}
	return res, nil
}
