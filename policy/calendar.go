package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Calendar says when people may be reminded and leaders told: the working
// days and hours of the company's clock, its public holidays and its
// make-up working days (调休: a weekend day that is a working day).
// Reminders and escalations wait for working time.
//
// The zero Calendar has no quiet hours: every time is working time.
type Calendar struct {
	// Location is the company's clock; nil is China Standard Time.
	Location *time.Location
	// WorkingDays are the ordinary working weekdays.
	WorkingDays []time.Weekday
	// Start and End bound the working hours of a working day, as the
	// time since local midnight: working time is [Start, End), so with
	// 09:00-18:00, 09:00:00 is in and 18:00:00 is out.
	Start, End time.Duration
	// Holidays are days off, whatever their weekday; ExtraWorkdays are
	// working days, whatever their weekday. Both are local dates,
	// "2006-01-02". A date in both is a holiday.
	Holidays      []string
	ExtraWorkdays []string
}

// ParseCalendar builds a Calendar from the configuration's words: working
// days as "mon" … "sun", working hours as "HH:MM-HH:MM" (the end may be
// "24:00"), holidays and make-up working days as "YYYY-MM-DD".
func ParseCalendar(loc *time.Location, workingDays []string, workingHours string, holidays, extraWorkdays []string) (Calendar, error) {
	c := Calendar{Location: loc}
	for _, d := range workingDays {
		wd, ok := weekdayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return Calendar{}, fmt.Errorf("policy: calendar: working day %q is not one of mon tue wed thu fri sat sun", d)
		}
		if !slices.Contains(c.WorkingDays, wd) {
			c.WorkingDays = append(c.WorkingDays, wd)
		}
	}
	from, to, ok := strings.Cut(workingHours, "-")
	start, okStart := clockTime(from)
	end, okEnd := clockTime(to)
	if !ok || !okStart || !okEnd || start >= end {
		return Calendar{}, fmt.Errorf(`policy: calendar: working hours %q are not "HH:MM-HH:MM" with the start before the end`, workingHours)
	}
	c.Start, c.End = start, end
	for _, list := range []struct {
		days []string
		dst  *[]string
	}{{holidays, &c.Holidays}, {extraWorkdays, &c.ExtraWorkdays}} {
		for _, d := range list.days {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return Calendar{}, fmt.Errorf("policy: calendar: %q is not a date YYYY-MM-DD", d)
			}
			*list.dst = append(*list.dst, t.Format(time.DateOnly))
		}
	}
	return c, nil
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
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

// isZero reports whether c is the zero Calendar (no quiet hours).
func (c Calendar) isZero() bool {
	return c.Start == 0 && c.End == 0 && len(c.WorkingDays) == 0 && len(c.Holidays) == 0 && len(c.ExtraWorkdays) == 0
}

// location is c's clock.
func (c Calendar) location() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	return chinaStandardTime
}

// IsWorkingDay reports whether t's local date is a working day: a make-up
// working day, or a working weekday that is no holiday.
func (c Calendar) IsWorkingDay(t time.Time) bool {
	if c.isZero() {
		return true
	}
	local := t.In(c.location())
	date := local.Format(time.DateOnly)
	switch {
	case slices.Contains(c.Holidays, date):
		return false
	case slices.Contains(c.ExtraWorkdays, date):
		return true
	}
	return slices.Contains(c.WorkingDays, local.Weekday())
}

// IsWorkingTime reports whether t falls in the working hours of a
// working day, on the company's clock.
func (c Calendar) IsWorkingTime(t time.Time) bool {
	if c.isZero() {
		return true
	}
	if !c.IsWorkingDay(t) {
		return false
	}
	// The wall clock, not the time since midnight: on a day with a
	// daylight-saving jump the two differ, and working hours mean the
	// wall clock.
	local := t.In(c.location())
	wall := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute +
		time.Duration(local.Second())*time.Second + time.Duration(local.Nanosecond())
	return wall >= c.Start && wall < c.End
}
