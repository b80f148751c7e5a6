package config

import (
	"slices"
	"testing"
	"time"
)

// TestCalendarParsers: what the calendar keys mean once validated (serve
// builds the reminders' calendar from these).
func TestCalendarParsers(t *testing.T) {
	c := Calendar{WorkingDays: []string{"Mon", " tue", "mon", "SUN"}, WorkingHours: "08:30-24:00"}
	days, err := c.Weekdays()
	if err != nil || !slices.Equal(days, []time.Weekday{time.Monday, time.Tuesday, time.Sunday}) {
		t.Errorf("Weekdays = %v, %v; want Monday, Tuesday, Sunday (any case, each once)", days, err)
	}
	start, end, err := c.Hours()
	if err != nil || start != 8*time.Hour+30*time.Minute || end != 24*time.Hour {
		t.Errorf("Hours = %v-%v, %v; want 8h30m-24h", start, end, err)
	}
	for _, hours := range []string{"", "09:00", "09:00-18:60", "25:00-26:00", "09:00-24:01", "9:00-18:00"} {
		if _, _, err := (Calendar{WorkingHours: hours}).Hours(); err == nil {
			t.Errorf("Hours(%q) accepted", hours)
		}
	}
}
