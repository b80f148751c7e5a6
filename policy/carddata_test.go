package policy

import (
	"testing"
	"time"
)

func TestDueDay(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	late := time.Date(2026, 12, 11, 17, 30, 0, 0, time.UTC) // 01:30 on the 12th in Shanghai
	for _, tc := range []struct {
		name string
		loc  *time.Location
		t    time.Time
		lang string
		want string
	}{
		{"no due date, zh-CN", shanghai, time.Time{}, "zh-CN", "随时"},
		{"no due date, en", shanghai, time.Time{}, "en", "any time"},
		// The day is the reader's, not UTC's.
		{"late UTC is the next day in Shanghai", shanghai, late, "zh-CN", "2026-12-12"},
		{"no due date, en-US", shanghai, time.Time{}, "en-US", "any time"},
		// As every day policy shows (formatDay): China time by default.
		{"no zone configured reads China time", nil, late, "en", "2026-12-12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DueDay(Settings{Location: tc.loc}, tc.t, tc.lang); got != tc.want {
				t.Errorf("DueDay = %q, want %q", got, tc.want)
			}
		})
	}
}
