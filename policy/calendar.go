package policy

import (
	"slices"
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

// isWorkingDay reports whether t's local date is a working day: a make-up
// working day, or a working weekday that is no holiday.
func (c Calendar) isWorkingDay(t time.Time) bool {
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
	if !c.isWorkingDay(t) {
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
