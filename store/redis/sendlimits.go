package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/sendlimit"
)

// BookSend checks and records a send in one script; see
// store.SendLimits. Every member's zset is in the script's KEYS (they
// share the namespace's hash tag, so it runs on Redis Cluster too). A
// member listed twice counts once; a MarkerTTL that is not positive means
// sendlimit.DefaultMarkerTTL. A member's send records are kept as long as
// the booking's longest window needs them, and a day's counter until a
// day after the day ends.
func (s *Store) BookSend(ctx context.Context, b store.SendBooking) (store.SendBookingResult, error) {
	op := "book send " + b.UnitID
	if err := s.check(op); err != nil {
		return store.SendBookingResult{}, err
	}
	p, err := sendlimit.New(b, time.Now())
	if err != nil {
		return store.SendBookingResult{}, fmt.Errorf("redis: book send: %w", err)
	}
	keys := make([]string, 2, 2+len(p.Members))
	keys[0], keys[1] = s.k.booked(p.UnitID), s.k.quota(p.Scope, p.Day)
	if len(p.Windows) > 0 {
		for _, m := range p.Members {
			keys = append(keys, s.k.sends(p.Scope, m))
		}
	}
	args := make([]any, 0, 9+2*len(p.Windows))
	args = append(args,
		p.AtMS,
		// Unique among the member's sends even if the unit is booked
		// again after its marker expired.
		strconv.FormatInt(p.AtMS, 10)+":"+p.UnitID,
		p.PruneBeforeMS,
		p.SendsExpireMS,
		ms(p.MarkerTTL),
		p.DailyQuota,
		p.DayExpireMS,
		len(p.Members),
		len(p.Windows),
	)
	for _, w := range p.Windows {
		args = append(args, w.PeriodMS, w.Limit)
	}
	reply, err := s.pipe.run(ctx, bookSendScript, keys, args...)
	if err != nil {
		return store.SendBookingResult{}, s.wrap(op, err)
	}
	res, err := bookingResult(reply, p)
	if err != nil {
		return store.SendBookingResult{}, fmt.Errorf("redis: %s: %w", op, err)
	}
	return res, nil
}

// bookingResult decodes bookSendScript's reply.
func bookingResult(reply any, p sendlimit.Plan) (store.SendBookingResult, error) {
	r, ok := reply.([]any)
	if !ok || len(r) == 0 {
		return store.SendBookingResult{}, fmt.Errorf("unexpected reply %T", reply)
	}
	code, _ := r[0].(int64)
	switch code {
	case 1:
		return store.SendBookingResult{Already: true}, nil
	case 2:
		return store.SendBookingResult{}, nil
	}
	if code != 0 || len(r) != 3 {
		return store.SendBookingResult{}, fmt.Errorf("unexpected reply code %d of %d items", code, len(r))
	}
	var res store.SendBookingResult
	if full, _ := r[1].(int64); full == 1 {
		res.QuotaResetAt = p.QuotaResetAt
	}
	blocked, _ := r[2].([]any)
	if len(blocked)%2 != 0 {
		return store.SendBookingResult{}, fmt.Errorf("unexpected blocked list of %d items", len(blocked))
	}
	for i := 0; i < len(blocked); i += 2 {
		idx, _ := blocked[i].(int64)
		t, _ := blocked[i+1].(int64)
		if idx < 1 || int(idx) > len(p.Members) {
			return store.SendBookingResult{}, fmt.Errorf("blocked member index %d out of range", idx)
		}
		if res.Blocked == nil {
			res.Blocked = make(map[string]time.Time, len(blocked)/2)
		}
		res.Blocked[p.Members[idx-1]] = time.UnixMilli(t).UTC()
	}
	return res, nil
}
