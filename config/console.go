package config

import (
	"fmt"
	"time"
)

// Console is the officers' web console at /console/ and what the people
// reading its pages and exports see: every time shown there, and in the
// officers' CSV exports, is in TimeZone, and says so.
type Console struct {
	// TimeZone is the IANA zone every time in the console and in the
	// officers' exports is shown in (default Asia/Shanghai).
	TimeZone string `toml:"time_zone"`
}

func defaultConsole() Console {
	return Console{TimeZone: "Asia/Shanghai"}
}

// Location is TimeZone loaded; Asia/Shanghai's fixed +08:00 when the
// zone cannot be loaded (Validate reports that case).
func (c Console) Location() *time.Location {
	if loc, err := time.LoadLocation(c.TimeZone); err == nil && c.TimeZone != "" {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

func (c *Config) validateConsole(ps *problems) {
	if _, err := time.LoadLocation(c.Console.TimeZone); err != nil || c.Console.TimeZone == "" {
		ps.add("console.time_zone", fmt.Sprintf("must be an IANA time zone such as Asia/Shanghai, got %q", c.Console.TimeZone))
	}
}
