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
	// is checked for changes.
	PollInterval time.Duration `toml:"poll_interval"`
}

func defaultRules() Rules {
	return Rules{PollInterval: 10 * time.Second}
}

func (c *Config) validateRules(ps *problems) {
	r := c.Rules
	ps.durationBetween("rules.poll_interval", r.PollInterval, time.Second, time.Hour)
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
