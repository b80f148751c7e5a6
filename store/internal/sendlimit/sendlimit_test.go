package sendlimit

import (
	"slices"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

func TestEarliest(t *testing.T) {
	const min, hour = 60_000, 3_600_000
	perMinute := []Window{{PeriodMS: min, Limit: 3}}
	both := []Window{{PeriodMS: min, Limit: 3}, {PeriodMS: hour, Limit: 5}}
	tests := []struct {
		name    string
		times   []int64
		at      int64
		windows []Window
		want    int64
		blocked bool
	}{
		// Below the limit: allowed.
		{"empty", nil, 1000, perMinute, 0, false},
		{"two of three", []int64{10, 20}, 1000, perMinute, 0, false},
		// Full: allowed once the oldest send has left the window.
		{"full", []int64{10, 20, 30}, 1000, perMinute, 10 + min, true},
		// Over the limit (a smaller limit than when they were booked):
		// the (n−Limit+1)-th oldest must leave.
		{"over", []int64{10, 20, 30, 40}, 1000, perMinute, 20 + min, true},
		// The window is (at−Period, at]: a send exactly Period ago is out.
		{"lower bound exclusive", []int64{1000 - min, 20, 30}, 1000, perMinute, 0, false},
		{"upper bound inclusive", []int64{20, 30, 1000}, 1000, perMinute, 20 + min, true},
		// Sends after at are not counted.
		{"future sends ignored", []int64{20, 30, 2000, 3000}, 1000, perMinute, 0, false},
		// The latest of the full windows' times.
		// Minute window: 2 in (180003, 240003], allowed; hour window: 6,
		// so the 2nd oldest must leave.
		{"hour window binds", []int64{0, min, 2 * min, 3 * min, 4*min + 1, 4*min + 2}, 4*min + 3, both, min + hour, true},
		// Both full; the hour window frees up at 10000, the minute window
		// only at 60010.
		{"minute window binds", []int64{10_000 - hour, 20_000 - hour, 10, 20, 30}, 40, both, 10 + min, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, blocked := Earliest(tt.times, tt.at, tt.windows)
			if got != tt.want || blocked != tt.blocked {
				t.Errorf("Earliest = %d, %v; want %d, %v", got, blocked, tt.want, tt.blocked)
			}
			if blocked && got < tt.at {
				t.Errorf("Earliest %d is before at %d", got, tt.at)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	got := Record([]int64{1, 5, 9, 12}, 7, 5)
	if want := []int64{5, 7, 9, 12}; !slices.Equal(got, want) {
		t.Errorf("Record = %v, want %v", got, want)
	}
	if got := Record(nil, 7, 100); !slices.Equal(got, []int64{7}) {
		t.Errorf("Record into nothing = %v, want [7]", got)
	}
}

func TestNew(t *testing.T) {
	at := time.Date(2026, 3, 4, 23, 30, 0, 123456789, time.UTC) // 07:30 on the 5th in Shanghai
	now := at.Add(-time.Hour)
	p, err := New(store.SendBooking{
		UnitID:        "u1",
		Members:       []string{"a", "b", "a"},
		At:            at,
		MemberWindows: []store.RateWindow{{Period: time.Minute, Limit: 30}, {Period: time.Hour, Limit: 1000}},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Members, []string{"a", "b"}) {
		t.Errorf("Members = %v, want [a b]", p.Members)
	}
	if p.AtMS != at.UnixMilli() || p.MarkerTTL != DefaultMarkerTTL {
		t.Errorf("AtMS, MarkerTTL = %d, %v", p.AtMS, p.MarkerTTL)
	}
	if p.Day != "20260305" {
		t.Errorf("Day = %s, want 20260305 (Shanghai)", p.Day)
	}
	if want := time.Date(2026, 3, 5, 16, 0, 0, 0, time.UTC); !p.QuotaResetAt.Equal(want) {
		t.Errorf("QuotaResetAt = %v, want %v", p.QuotaResetAt, want)
	}
	if want := now.UnixMilli() - time.Hour.Milliseconds(); p.PruneBeforeMS != want {
		t.Errorf("PruneBeforeMS = %d, want %d (now − the longest period)", p.PruneBeforeMS, want)
	}
	if want := at.UnixMilli() + time.Hour.Milliseconds(); p.SendsExpireMS != want {
		t.Errorf("SendsExpireMS = %d, want %d (at + the longest period)", p.SendsExpireMS, want)
	}

	for name, b := range map[string]store.SendBooking{
		"no unit":      {Members: []string{"a"}, At: at},
		"no time":      {UnitID: "u", Members: []string{"a"}},
		"empty member": {UnitID: "u", Members: []string{"a", ""}, At: at},
		"zero period":  {UnitID: "u", MemberWindows: []store.RateWindow{{Limit: 1}}, At: at},
		"zero limit":   {UnitID: "u", MemberWindows: []store.RateWindow{{Period: time.Minute}}, At: at},
	} {
		if _, err := New(b, now); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}

func TestLocationFallsBackToShanghai(t *testing.T) {
	_, off := time.Date(2026, 7, 1, 0, 0, 0, 0, Location(nil)).Zone()
	if off != 8*3600 {
		t.Errorf("default location offset = %d, want UTC+8", off)
	}
}
