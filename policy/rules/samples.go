package rules

import "fmt"

// SampleFailure is a rule sample that did not do what it says: a
// samples.match text the rule does not hit, or a samples.no_match text
// it does.
type SampleFailure struct {
	RuleID string
	// Line is the rule's line in the file.
	Line int
	// WantMatch is true for a samples.match text.
	WantMatch bool
	Sample    string
	// Hits are what the rule hit in the sample (for a no_match failure).
	Hits []Hit
}

func (f SampleFailure) String() string {
	if f.WantMatch {
		return fmt.Sprintf("line %d: rule %q: samples.match %q: no hit", f.Line, f.RuleID, f.Sample)
	}
	return fmt.Sprintf("line %d: rule %q: samples.no_match %q: hit %q", f.Line, f.RuleID, f.Sample, f.Hits[0].Match)
}

// CheckSamples runs every rule's samples against that rule alone, its
// scope set aside, and returns the failures in file order. A rule with
// no samples.match fails too: a rule nobody showed to match is
// untested.
func (s *Set) CheckSamples() ([]SampleFailure, error) {
	var out []SampleFailure
	for _, r := range s.rules {
		one := &Set{fold: s.fold, rules: []Rule{r}}
		one.rules[0].Scope = Scope{}
		if err := compile(one); err != nil {
			return nil, fmt.Errorf("rules: compile rule %s alone: %w", r.ID, err)
		}
		if len(r.Match) == 0 {
			out = append(out, SampleFailure{RuleID: r.ID, Line: r.Line, WantMatch: true, Sample: "(samples.match is empty)"})
		}
		for _, text := range r.Match {
			if len(one.Scan(Message{Text: text})) == 0 {
				out = append(out, SampleFailure{RuleID: r.ID, Line: r.Line, WantMatch: true, Sample: text})
			}
		}
		for _, text := range r.NoMatch {
			if hits := one.Scan(Message{Text: text}); len(hits) > 0 {
				out = append(out, SampleFailure{RuleID: r.ID, Line: r.Line, Sample: text, Hits: hits})
			}
		}
	}
	return out, nil
}
