package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// weekdayNames are the words of calendar.working_days.
var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Weekdays returns the working days ("mon" … "sun", any case), each
// once. The error, a Problem, names the first word that is not a weekday.
func (c Calendar) Weekdays() ([]time.Weekday, error) {
	var out []time.Weekday
	for i, d := range c.WorkingDays {
		wd, ok := weekdayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return nil, Problem{Key: fmt.Sprintf("calendar.working_days[%d]", i),
				Reason: fmt.Sprintf("must be one of mon tue wed thu fri sat sun, got %q", d)}
		}
		if !slices.Contains(out, wd) {
			out = append(out, wd)
		}
	}
	return out, nil
}

// Hours returns the working hours, "HH:MM-HH:MM" (the end may be
// "24:00"), as times since local midnight: working time is [start, end).
// The error is a Problem.
func (c Calendar) Hours() (start, end time.Duration, err error) {
	from, to, ok := strings.Cut(c.WorkingHours, "-")
	start, okStart := clockTime(from)
	end, okEnd := clockTime(to)
	if !ok || !okStart || !okEnd || start >= end {
		return 0, 0, Problem{Key: "calendar.working_hours",
			Reason: fmt.Sprintf(`must be "HH:MM-HH:MM" with the start before the end, e.g. "09:00-18:00", got %q`, c.WorkingHours)}
	}
	return start, end, nil
}

// clockTime parses "HH:MM" (00:00 to 24:00) as the time since midnight.
func clockTime(s string) (time.Duration, bool) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}
