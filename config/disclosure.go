package config

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Disclosure is what PIPL Art. 17 asks a notice about personal data to
// tell the people it concerns: who handles the data and how to reach
// them, why, for how long, and how to exercise their rights. The
// customers' welcome message and the employees' notices and cards show
// it. The section is optional as a whole (Warnings says when it is
// missing); once any key is set, every key is required.
type Disclosure struct {
	// Controller is the personal information handler (个人信息处理者):
	// the company's legal name.
	Controller string `toml:"controller"`
	// Contact is how to reach whoever answers for the data: a team, a
	// mailbox, a phone number.
	Contact string `toml:"contact"`
	// Purpose is why the data is processed (处理目的).
	Purpose string `toml:"purpose"`
	// Retention is how long it is kept (保存期限), as people read it,
	// e.g. "3 年，法律法规另有规定的从其规定".
	Retention string `toml:"retention"`
	// RightsURL is an https page that says how to access, copy, correct
	// or delete one's data and withdraw consent.
	RightsURL string `toml:"rights_url"`
}

// disclosureLimits bounds each key in characters: the texts show them in
// full, and a card's line is short.
var disclosureLimits = []struct {
	key string
	get func(Disclosure) string
	max int
}{
	{"controller", func(d Disclosure) string { return d.Controller }, 64},
	{"contact", func(d Disclosure) string { return d.Contact }, 128},
	{"purpose", func(d Disclosure) string { return d.Purpose }, 200},
	{"retention", func(d Disclosure) string { return d.Retention }, 64},
	{"rights_url", func(d Disclosure) string { return d.RightsURL }, 512},
}

// Set reports whether any key of the section is set.
func (d Disclosure) Set() bool { return d != Disclosure{} }

func (c *Config) validateDisclosure(ps *problems) {
	d := c.Disclosure
	if !d.Set() {
		return
	}
	for _, l := range disclosureLimits {
		key, v := "disclosure."+l.key, l.get(d)
		switch n := utf8.RuneCountInString(v); {
		case strings.TrimSpace(v) == "":
			ps.add(key, "is required once [disclosure] is set: PIPL Art. 17 asks every notice for the handler, a contact, the purpose, the retention period and how to exercise one's rights")
		case n > l.max:
			ps.add(key, fmt.Sprintf("must be at most %d characters, got %d", l.max, n))
		case strings.ContainsFunc(v, unicode.IsControl):
			ps.add(key, "must be one line, without tabs or control characters")
		}
	}
	if d.RightsURL != "" {
		if u, err := url.Parse(d.RightsURL); err != nil || u.Scheme != "https" || u.Host == "" {
			ps.add("disclosure.rights_url", "must be an absolute https URL, e.g. https://www.example.com/privacy/rights")
		}
	}
}

// disclosureWarning is Warnings' line about a missing [disclosure].
func (c *Config) disclosureWarning(ps *problems) {
	if !c.Disclosure.Set() {
		ps.add("disclosure", "is not set: the welcome message and the employees' notices do not say who handles the data, how to reach them, why, for how long, or how to exercise their rights (PIPL Art. 17)")
	}
}
