package storetest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// WeCom's limits per app and member.
var (
	perMinute = store.RateWindow{Period: time.Minute, Limit: 30}
	perHour   = store.RateWindow{Period: time.Hour, Limit: 1000}
)

// bookingNow is the present to the millisecond (backends keep send times
// to the millisecond). Bookings are made around the real present: their
// records expire relative to it.
func bookingNow() time.Time { return time.Now().Truncate(time.Millisecond) }

// noonZone is a zone in which now is noon, so that a test's bookings
// around now never straddle a day boundary.
func noonZone(now time.Time) *time.Location {
	sinceMidnight := now.UTC().Sub(now.UTC().Truncate(24 * time.Hour))
	return time.FixedZone("noon", int((12*time.Hour - sinceMidnight).Seconds()))
}

func nextMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func book(t *testing.T, s store.Store, b store.SendBooking) store.SendBookingResult {
	t.Helper()
	res, err := s.BookSend(t.Context(), b)
	if err != nil {
		t.Fatalf("BookSend(%s): %v", b.UnitID, err)
	}
	return res
}

// wantBooked requires a booking that was recorded.
func wantBooked(t *testing.T, b store.SendBooking, res store.SendBookingResult) {
	t.Helper()
	if res.Already || len(res.Blocked) != 0 || !res.QuotaResetAt.IsZero() {
		t.Fatalf("BookSend(%s at %v) = %+v, want it recorded", b.UnitID, b.At.Format("15:04:05.000"), res)
	}
}

// wantBlocked requires a booking refused by windows, with these members
// and times.
func wantBlocked(t *testing.T, b store.SendBooking, res store.SendBookingResult, want map[string]time.Time) {
	t.Helper()
	if res.Already || !res.QuotaResetAt.IsZero() {
		t.Fatalf("BookSend(%s) = %+v, want only Blocked", b.UnitID, res)
	}
	if !maps.EqualFunc(res.Blocked, want, time.Time.Equal) {
		t.Fatalf("BookSend(%s).Blocked = %v, want %v", b.UnitID, res.Blocked, want)
	}
}

func mustBook(t *testing.T, s store.Store, b store.SendBooking) {
	t.Helper()
	wantBooked(t, b, book(t, s, b))
}

func booking(unit string, at time.Time, members ...string) store.SendBooking {
	return store.SendBooking{
		UnitID:        unit,
		Scope:         "agent-1000002",
		Members:       members,
		At:            at,
		MemberWindows: []store.RateWindow{perMinute, perHour},
		MarkerTTL:     time.Hour,
	}
}

func testBookSendMinuteWindow(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at0 := bookingNow()
	for i := range 30 {
		mustBook(t, s, booking(fmt.Sprintf("u%02d", i), at0.Add(time.Duration(i)*time.Second), "zhangsan"))
	}
	// The 31st in the minute: allowed once the first has left the window.
	b := booking("u30", at0.Add(30*time.Second), "zhangsan")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"zhangsan": at0.Add(time.Minute)})
	// Another member is not affected.
	mustBook(t, s, booking("u30-lisi", at0.Add(30*time.Second), "lisi"))
	// A millisecond early it is still full; at the time given it is not.
	b = booking("u31", at0.Add(time.Minute-time.Millisecond), "zhangsan")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"zhangsan": at0.Add(time.Minute)})
	mustBook(t, s, booking("u31", at0.Add(time.Minute), "zhangsan"))
	// Now the window holds the sends at 1s…29s and 60s: the next is free
	// when the one at 1s leaves.
	b = booking("u32", at0.Add(time.Minute), "zhangsan")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"zhangsan": at0.Add(time.Minute + time.Second)})
}

func testBookSendHourWindow(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at0 := bookingNow()
	const n, step = 1000, 3500 * time.Millisecond // 1,000 in 58 min, ≤ 18 a minute
	var wg sync.WaitGroup
	for g := range 16 { // in any order: at most 18 in any minute whatever the order
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				b := booking(fmt.Sprintf("u%04d", i), at0.Add(time.Duration(i)*step), "zhangsan")
				res, err := s.BookSend(context.Background(), b)
				if err != nil {
					t.Errorf("BookSend(%s): %v", b.UnitID, err)
					return
				}
				if res.Already || len(res.Blocked) != 0 || !res.QuotaResetAt.IsZero() {
					t.Errorf("BookSend(%s) = %+v, want it recorded", b.UnitID, res)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	b := booking("u1000", at0.Add(n*step), "zhangsan")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"zhangsan": at0.Add(time.Hour)})
	mustBook(t, s, booking("u1000", at0.Add(time.Hour), "zhangsan"))
}

func testBookSendBlockedRecordsNothing(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at := bookingNow()
	loc := noonZone(at)
	one := func(unit string, at time.Time, members ...string) store.SendBooking {
		b := booking(unit, at, members...)
		b.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: 1}}
		b.DailyQuota, b.Location = 10, loc
		return b
	}
	mustBook(t, s, one("u1", at, "a"))
	b := one("u2", at, "b", "a", "c")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"a": at.Add(time.Minute)})
	// Nothing was recorded for b and c: each still has its one send.
	mustBook(t, s, one("u3", at, "b", "c"))
	// The refused unit was not remembered: booked again, it is checked.
	mustBook(t, s, one("u2", at.Add(time.Minute), "b", "a", "c"))
	// The quota counted 1 + 2 + 3 person-times, not the refused 3.
	mustBook(t, s, one("u4", at.Add(time.Minute), "d", "e", "f", "g"))
	b = one("u5", at.Add(time.Minute), "h")
	if res := book(t, s, b); !res.QuotaResetAt.Equal(nextMidnight(at, loc)) {
		t.Errorf("BookSend over the quota = %+v, want QuotaResetAt %v", res, nextMidnight(at, loc))
	}
}

func testBookSendAlready(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at := bookingNow()
	loc := noonZone(at)
	two := func(unit string, at time.Time, members ...string) store.SendBooking {
		b := booking(unit, at, members...)
		b.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: 2}}
		b.DailyQuota, b.Location = 4, loc
		return b
	}
	mustBook(t, s, two("u1", at, "a"))
	// Booked again, even with other members and time: Already, and
	// nothing checked or recorded.
	for _, b := range []store.SendBooking{two("u1", at, "a"), two("u1", at.Add(time.Second), "a", "b", "c")} {
		if res := book(t, s, b); !res.Already || len(res.Blocked) != 0 || !res.QuotaResetAt.IsZero() {
			t.Fatalf("BookSend of a booked unit = %+v, want only Already", res)
		}
	}
	mustBook(t, s, two("u2", at.Add(2*time.Second), "a")) // a's second send
	b := two("u3", at.Add(3*time.Second), "a")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"a": at.Add(time.Minute)})
	if res := book(t, s, two("u1", at.Add(3*time.Second), "a")); !res.Already {
		t.Errorf("BookSend of a booked unit while its member is blocked = %+v, want Already", res)
	}
	// Two person-times counted (u1, u2): two more fit in the quota of 4.
	mustBook(t, s, two("u4", at.Add(4*time.Second), "b", "c"))
	b = two("u5", at.Add(5*time.Second), "d")
	if res := book(t, s, b); res.QuotaResetAt.IsZero() {
		t.Errorf("BookSend over the quota = %+v, want QuotaResetAt", res)
	}
}

func testBookSendConcurrentSameUnit(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at := bookingNow()
	const racers = 16
	var recorded, already atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range racers {
		wg.Go(func() {
			<-start
			res, err := s.BookSend(context.Background(), booking("u1", at, "a"))
			switch {
			case err != nil:
				t.Errorf("BookSend: %v", err)
			case res.Already:
				already.Add(1)
			case len(res.Blocked) == 0 && res.QuotaResetAt.IsZero():
				recorded.Add(1)
			default:
				t.Errorf("BookSend = %+v", res)
			}
		})
	}
	close(start)
	wg.Wait()
	if recorded.Load() != 1 || already.Load() != racers-1 {
		t.Errorf("%d concurrent bookings of one unit: %d recorded, %d Already; want 1, %d", racers, recorded.Load(), already.Load(), racers-1)
	}
	// Recorded once: 29 more fit in the minute.
	for i := range 29 {
		mustBook(t, s, booking(fmt.Sprint("more", i), at, "a"))
	}
	b := booking("over", at, "a")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"a": at.Add(time.Minute)})
}

func testBookSendConcurrentUnits(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at := bookingNow()
	const racers, limit = 40, 10
	var recorded, blocked atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			b := booking(fmt.Sprint("u", i), at, "shared", fmt.Sprint("own-", i))
			b.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: limit}}
			res, err := s.BookSend(context.Background(), b)
			switch {
			case err != nil:
				t.Errorf("BookSend: %v", err)
			case res.Already || !res.QuotaResetAt.IsZero():
				t.Errorf("BookSend = %+v", res)
			case len(res.Blocked) == 0:
				recorded.Add(1)
			default:
				if _, ok := res.Blocked["shared"]; !ok || len(res.Blocked) != 1 {
					t.Errorf("Blocked = %v, want only the shared member", res.Blocked)
				}
				blocked.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if recorded.Load() != limit || blocked.Load() != racers-limit {
		t.Errorf("%d concurrent bookings for one member with a limit of %d: %d recorded, %d blocked", racers, limit, recorded.Load(), blocked.Load())
	}
}

func testBookSendDailyQuota(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at := bookingNow()
	loc := noonZone(at)
	n := 0
	quota := func(unit string, at time.Time, size int) store.SendBooking {
		b := booking(unit, at)
		for range size {
			n++
			b.Members = append(b.Members, fmt.Sprint("m", n))
		}
		b.DailyQuota, b.Location = 10, loc
		return b
	}
	reset := nextMidnight(at, loc)
	mustBook(t, s, quota("u1", at, 4))
	mustBook(t, s, quota("u2", at, 4))
	b := quota("u3", at, 3)
	if res := book(t, s, b); !res.QuotaResetAt.Equal(reset) || res.Already || len(res.Blocked) != 0 {
		t.Fatalf("BookSend of 3 over a quota of 10 with 8 used = %+v, want only QuotaResetAt %v", res, reset)
	}
	mustBook(t, s, quota("u4", at, 2)) // exactly 10
	b = quota("u5", at, 1)
	if res := book(t, s, b); !res.QuotaResetAt.Equal(reset) {
		t.Fatalf("BookSend over a full quota = %+v, want QuotaResetAt %v", res, reset)
	}
	// The next day counts afresh; other scopes have their own quota; no
	// quota, no limit.
	mustBook(t, s, quota("u5", reset, 10))
	b = quota("other-scope", at, 5)
	b.Scope = "agent-1000003"
	mustBook(t, s, b)
	b = quota("no-quota", at, 5)
	b.DailyQuota = 0
	mustBook(t, s, b)

	// Without a location, the day is China's (UTC+8).
	b = quota("shanghai", at, 11)
	b.Scope, b.Location = "agent-1000004", nil
	want := nextMidnight(at, time.FixedZone("UTC+8", 8*3600))
	if res := book(t, s, b); !res.QuotaResetAt.Equal(want) {
		t.Errorf("BookSend over the quota without a location = %+v, want QuotaResetAt %v", res, want)
	}
}

func testBookSendScopes(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	at := bookingNow()
	scoped := func(unit, scope, member string) store.SendBooking {
		b := booking(unit, at, member)
		b.Scope = scope
		b.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: 1}}
		return b
	}
	mustBook(t, s, scoped("u1", "app1", "a"))
	mustBook(t, s, scoped("u2", "app2", "a"))
	for _, b := range []store.SendBooking{scoped("u3", "app1", "a"), scoped("u4", "app2", "a")} {
		wantBlocked(t, b, book(t, s, b), map[string]time.Time{"a": at.Add(time.Minute)})
	}
	// Scope and member are kept apart whatever they contain.
	mustBook(t, s, scoped("u5", "x:y", "z"))
	mustBook(t, s, scoped("u6", "x", "y:z"))
	mustBook(t, s, scoped("u7", "", "x:y:z"))
}

func testBookSendRelativeToAt(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	now := bookingNow()
	one := func(unit string, at time.Time, member string) store.SendBooking {
		b := booking(unit, at, member)
		b.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: 1}}
		return b
	}
	past := now.Add(-2 * time.Hour)
	mustBook(t, s, one("u1", past, "a"))
	b := one("u2", past.Add(30*time.Second), "a")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"a": past.Add(time.Minute)})
	mustBook(t, s, one("u3", now, "a")) // sends two hours ago do not count now

	future := now.Add(time.Hour)
	mustBook(t, s, one("u4", future, "b"))
	mustBook(t, s, one("u5", now, "b")) // sends to come do not count now
	b = one("u6", future.Add(10*time.Second), "b")
	wantBlocked(t, b, book(t, s, b), map[string]time.Time{"b": future.Add(time.Minute)})
}

func testBookSendEdgeCases(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	at := bookingNow()
	for name, b := range map[string]store.SendBooking{
		"no unit id":   {Members: []string{"a"}, At: at},
		"no time":      {UnitID: "u", Members: []string{"a"}},
		"empty member": {UnitID: "u", Members: []string{"a", ""}, At: at},
		"zero limit":   {UnitID: "u", Members: []string{"a"}, At: at, MemberWindows: []store.RateWindow{{Period: time.Minute}}},
		"zero period":  {UnitID: "u", Members: []string{"a"}, At: at, MemberWindows: []store.RateWindow{{Limit: 1}}},
	} {
		if _, err := s.BookSend(ctx, b); err == nil {
			t.Errorf("BookSend with %s succeeded, want an error", name)
		}
	}
	// A member listed twice receives one message: it counts once.
	b := booking("twice", at, "a", "a")
	b.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: 1}}
	b.DailyQuota, b.Location = 1, noonZone(at)
	mustBook(t, s, b)
	// No members, no windows: nothing to check, but the unit is booked.
	b = store.SendBooking{UnitID: "nobody", At: at}
	mustBook(t, s, b)
	if res := book(t, s, b); !res.Already {
		t.Errorf("second booking of an empty unit = %+v, want Already", res)
	}
}
