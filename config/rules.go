package config

import (
	"fmt"
	"os"
	"time"
)

// Rules is the supervision rule file (policy/rules): lexicons, regexes and
// personal-data detectors that archived messages are scanned with.
// wecomply reloads the file on SIGHUP and when it changes, and keeps the
// rules in force when the new file does not parse. `wecomply check` and
// `serve` parse it (config itself only checks that it can be read);
// `wecomply rules test FILE` also runs every rule's samples.
type Rules struct {
	// File is the rule file's path; "" loads no rules.
	File string `toml:"file"`
	// PollInterval is how often the file (and the terms files it names)
	// is checked for changes; a change is taken once two checks in a row
	// see the same files.
	PollInterval time.Duration `toml:"poll_interval"`
	// ContextBefore and ContextAfter are how many messages of the
	// conversation before and after a hit are shown with its alert (read
	// from the archive when the alert is shown).
	ContextBefore int `toml:"context_before"`
	ContextAfter  int `toml:"context_after"`
	// EscalateAfter is how long an alert may stay open before it is
	// escalated to the officers' leaders and the notices' owners (checked
	// on the [jobs] reminders schedule); 0 never escalates.
	EscalateAfter time.Duration `toml:"escalate_after"`
}

func defaultRules() Rules {
	return Rules{PollInterval: 10 * time.Second, ContextBefore: 5, ContextAfter: 5, EscalateAfter: 48 * time.Hour}
}

func (c *Config) validateRules(ps *problems) {
	r := c.Rules
	ps.durationBetween("rules.poll_interval", r.PollInterval, time.Second, time.Hour)
	ps.between("rules.context_before", int64(r.ContextBefore), 0, 50)
	ps.between("rules.context_after", int64(r.ContextAfter), 0, 50)
	if r.EscalateAfter != 0 {
		ps.durationBetween("rules.escalate_after", r.EscalateAfter, time.Hour, 90*24*time.Hour)
	}
	if r.File == "" {
		return
	}
	switch fi, err := os.Stat(r.File); {
	case err != nil:
		ps.add("rules.file", fmt.Sprintf("cannot be read: %v", err))
	case !fi.Mode().IsRegular():
		ps.add("rules.file", fmt.Sprintf("%s is not a regular file", r.File))
	}
}
