// Package sendlimit holds what the store backends share of
// store.SendLimits: the checks and defaults of a booking and the window
// arithmetic, so that both backends count alike.
//
// Send times are kept to the millisecond (Redis's unit), in both
// backends: a booking's At is truncated to its millisecond.
package sendlimit

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/wecomply/wecomply/store"
)

// DefaultMarkerTTL is how long a booking's UnitID is remembered when
// SendBooking.MarkerTTL is not positive.
const DefaultMarkerTTL = 24 * time.Hour

// dayCounterLife is how long a day's quota counter outlives the end of
// its day (or now, for a day long past).
const dayCounterLife = 24 * time.Hour

// Window is a store.RateWindow in milliseconds.
type Window struct {
	PeriodMS int64
	Limit    int
}

// Plan is a validated booking with everything a backend needs to carry
// it out, computed once outside the transaction or script.
type Plan struct {
	UnitID string
	Scope  string
	// Members are the booking's members without repeats, in their
	// first order: a member listed twice receives one message, and
	// counts once in its windows and in the quota.
	Members []string
	AtMS    int64
	Windows []Window
	// DailyQuota is the quota of person-times for Day (0: none).
	DailyQuota int
	// Day is At's calendar day in the location, "20060102".
	Day string
	// QuotaResetAt is the start of the day after Day, in the location.
	QuotaResetAt time.Time
	MarkerTTL    time.Duration
	// PruneBeforeMS: send records older than this are no longer needed
	// (by this booking or any booking at the present time) and are
	// dropped when a member's records are written.
	PruneBeforeMS int64
	// SendsExpireMS is the earliest time a member's records may expire
	// as a whole, once written (they are kept until then at least).
	SendsExpireMS int64
	// DayExpireMS is when Day's counter may be forgotten: a day after
	// the day ended (or after now, for a day long past).
	DayExpireMS int64
}

// New checks b and plans it at the store's time now. It returns an error
// for a booking that cannot be honoured (no UnitID, no At, an empty
// member, a window without a positive period and limit); the error names
// no member.
func New(b store.SendBooking, now time.Time) (Plan, error) {
	if b.UnitID == "" {
		return Plan{}, errors.New("invalid booking: empty unit id")
	}
	if b.At.IsZero() {
		return Plan{}, fmt.Errorf("invalid booking %s: no time (At)", b.UnitID)
	}
	p := Plan{
		UnitID:     b.UnitID,
		Scope:      b.Scope,
		AtMS:       b.At.UnixMilli(),
		DailyQuota: max(b.DailyQuota, 0),
		MarkerTTL:  b.MarkerTTL,
	}
	if p.MarkerTTL <= 0 {
		p.MarkerTTL = DefaultMarkerTTL
	}
	seen := make(map[string]bool, len(b.Members))
	p.Members = make([]string, 0, len(b.Members))
	for _, m := range b.Members {
		if m == "" {
			return Plan{}, fmt.Errorf("invalid booking %s: empty member", b.UnitID)
		}
		if !seen[m] {
			seen[m] = true
			p.Members = append(p.Members, m)
		}
	}
	var maxPeriod int64
	for _, w := range b.MemberWindows {
		if w.Period < time.Millisecond || w.Limit < 1 {
			return Plan{}, fmt.Errorf("invalid booking %s: window of %d per %v: want a limit ≥ 1 per a period ≥ 1ms", b.UnitID, w.Limit, w.Period)
		}
		pw := Window{PeriodMS: w.Period.Milliseconds(), Limit: w.Limit}
		p.Windows = append(p.Windows, pw)
		maxPeriod = max(maxPeriod, pw.PeriodMS)
	}
	nowMS := now.UnixMilli()
	p.PruneBeforeMS = min(p.AtMS, nowMS) - maxPeriod
	p.SendsExpireMS = max(p.AtMS, nowMS) + maxPeriod

	local := b.At.In(Location(b.Location))
	y, m, d := local.Date()
	p.Day = fmt.Sprintf("%04d%02d%02d", y, m, d)
	p.QuotaResetAt = time.Date(y, m, d+1, 0, 0, 0, 0, local.Location())
	p.DayExpireMS = max(p.QuotaResetAt.UnixMilli(), nowMS) + dayCounterLife.Milliseconds()
	return p, nil
}

// shanghai is China Standard Time, WeCom's calendar.
var shanghai = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60) // no tzdata: China keeps UTC+8 all year
})

// Location is loc, or Asia/Shanghai (UTC+8 without tzdata) if loc is nil.
func Location(loc *time.Location) *time.Location {
	if loc != nil {
		return loc
	}
	return shanghai()
}

// Earliest checks one member's send times (ascending, in ms) against
// windows at at. If a window is full (Limit sends in (at−Period, at]) it
// returns the earliest time from at on at which every window allows one
// more send, and true; else 0 and false. Sends after at do not count.
func Earliest(times []int64, at int64, windows []Window) (int64, bool) {
	hi := sort.Search(len(times), func(i int) bool { return times[i] > at })
	var earliest int64
	blocked := false
	for _, w := range windows {
		from := at - w.PeriodMS // exclusive
		lo := sort.Search(hi, func(i int) bool { return times[i] > from })
		n := hi - lo
		if n < w.Limit {
			continue
		}
		// The window allows one more once its (n−Limit+1)-th oldest send
		// has left it.
		t := times[lo+n-w.Limit] + w.PeriodMS
		if !blocked || t > earliest {
			earliest, blocked = t, true
		}
	}
	return earliest, blocked
}

// Record returns times with at added (in order) and the times before
// pruneBefore dropped. It may reuse times' array.
func Record(times []int64, at, pruneBefore int64) []int64 {
	lo := sort.Search(len(times), func(i int) bool { return times[i] >= pruneBefore })
	times = times[lo:]
	i := sort.Search(len(times), func(i int) bool { return times[i] > at })
	return slices.Insert(times, i, at)
}
