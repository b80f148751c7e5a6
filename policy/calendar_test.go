package policy

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin below, on hosts without a zone database too
)

// officeCalendar is the configuration's default calendar in Beijing:
// Monday to Friday, 09:00-18:00, with the 2026 National Day holidays and
// their make-up working days (Sunday 27 September, Saturday 10 October).
func officeCalendar(t *testing.T) Calendar {
	t.Helper()
	return Calendar{Location: cst, WorkingDays: weekdays, Start: 9 * time.Hour, End: 18 * time.Hour,
		Holidays:      []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"},
		ExtraWorkdays: []string{"2026-09-27", "2026-10-10"}}
}

// weekdays are Monday to Friday.
var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// beijing is a wall-clock time in Beijing.
func beijing(date string, hh, mm, ss int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, date, cst)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second)
}

func TestIsWorkingTime(t *testing.T) {
	office := officeCalendar(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	inBerlin := Calendar{Location: berlin, WorkingDays: weekdays, Start: 9 * time.Hour, End: 18 * time.Hour}
	allDay := Calendar{Location: cst, WorkingDays: append(slices.Clone(weekdays), time.Saturday, time.Sunday), End: 24 * time.Hour}
	tests := []struct {
		name string
		cal  Calendar
		at   time.Time
		want bool
	}{
		// Monday 23 November 2026, mid-morning.
		{"a working morning", office, beijing("2026-11-23", 10, 0, 0), true},
		// The start of the working hours is in them.
		{"09:00 is in", office, beijing("2026-11-23", 9, 0, 0), true},
		{"08:59:59 is out", office, beijing("2026-11-23", 8, 59, 59), false},
		// The end is not.
		{"17:59:59 is in", office, beijing("2026-11-23", 17, 59, 59), true},
		{"18:00 is out", office, beijing("2026-11-23", 18, 0, 0), false},
		{"20:00 is out", office, beijing("2026-11-23", 20, 0, 0), false},
		// Saturday 28 November: a weekend.
		{"a Saturday", office, beijing("2026-11-28", 10, 0, 0), false},
		// Thursday 1 October: National Day, a holiday on a weekday.
		{"a holiday on a weekday", office, beijing("2026-10-01", 10, 0, 0), false},
		// Saturday 10 October: a make-up working day (调休).
		{"an extra workday on a Saturday", office, beijing("2026-10-10", 10, 0, 0), true},
		{"an extra workday keeps the hours", office, beijing("2026-10-10", 19, 0, 0), false},
		// Sunday 27 September: another.
		{"an extra workday on a Sunday", office, beijing("2026-09-27", 9, 30, 0), true},
		// The day is Beijing's, whatever the zone of t: 02:00 UTC on
		// Monday is 10:00 in Beijing; 23:00 UTC on Sunday is 07:00 on
		// Monday in Beijing, before the working hours.
		{"a UTC time read on Beijing's clock", office, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), true},
		{"Sunday evening UTC is Monday morning in Beijing", office, time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), false},
		// Another zone: 10:00 in Berlin (CET, UTC+1) is 09:00 UTC and
		// 17:00 in Beijing; 08:30 in Berlin is before its hours.
		{"Berlin at 10:00", inBerlin, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), true},
		{"Berlin at 08:30", inBerlin, time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), false},
		// Berlin in summer time (CEST, UTC+2): 09:00 local is 07:00 UTC.
		{"Berlin summer 09:00", inBerlin, time.Date(2026, 7, 6, 7, 0, 0, 0, time.UTC), true},
		{"Berlin summer 18:00", inBerlin, time.Date(2026, 7, 6, 16, 0, 0, 0, time.UTC), false},
		// 00:00-24:00 every day: always.
		{"all day at midnight", allDay, beijing("2026-11-28", 0, 0, 0), true},
		{"all day at 23:59:59", allDay, beijing("2026-11-28", 23, 59, 59), true},
		// The zero Calendar has no quiet hours.
		{"zero calendar", Calendar{}, beijing("2026-11-28", 3, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.IsWorkingTime(tt.at); got != tt.want {
				t.Errorf("IsWorkingTime(%s) = %v, want %v", tt.at.In(tt.cal.location()).Format(time.RFC3339), got, tt.want)
			}
		})
	}
}
