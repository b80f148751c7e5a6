package rules

import (
	"cmp"
	"slices"
	"sync"
)

// scratch is one scan's working memory, pooled so that a message without
// hits costs no allocation.
type scratch struct {
	folded []byte
	offs   []int32
	open   []bool // regexes whose prefilter literal occurred
	hits   []rawHit
}

// rawHit is a hit before it is turned into a Hit: rule index and offsets
// into the original text.
type rawHit struct {
	rule       int
	start, end int
	detector   Detector
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooled is the largest buffer put back in the pool (a huge message
// should not pin its memory).
const maxPooled = 1 << 20

// Scan returns the hits of every rule whose scope selects msg, ordered by
// start offset (longest first, then file order). A hit inside another hit
// of the same rule (and detector) is left out. Scan never fails; it
// returns nil when nothing hits.
func (s *Set) Scan(msg Message) []Hit {
	if msg.Text == "" || len(s.rules) == 0 {
		return nil
	}
	sc := scratchPool.Get().(*scratch)
	defer func() {
		if cap(sc.folded) <= maxPooled {
			sc.hits = sc.hits[:0]
			scratchPool.Put(sc)
		}
	}()
	sc.folded, sc.offs = s.fold.fold(sc.folded[:0], sc.offs[:0], msg.Text)
	text, folded, offs := msg.Text, sc.folded, sc.offs

	// in caches each rule's scope decision: 0 unknown, 1 in, 2 out.
	var inBuf [64]uint8
	in := inBuf[:0]
	if len(s.rules) <= len(inBuf) {
		in = inBuf[:len(s.rules)]
	} else {
		in = make([]uint8, len(s.rules))
	}
	selects := func(rule int) bool {
		if in[rule] == 0 {
			in[rule] = 2
			if s.rules[rule].Scope.selects(&msg) {
				in[rule] = 1
			}
		}
		return in[rule] == 1
	}

	sc.open = slices.Grow(sc.open[:0], len(s.regexes))[:len(s.regexes)]
	clear(sc.open)
	if s.ac != nil {
		// FindAllOverlapping is the automaton's plain DFA loop: it
		// allocates only when something matches. (IsMatch's start-byte
		// prefilter calls IndexByte once per distinct first byte of
		// the patterns at every return to the start state: with
		// thousands of Chinese and English terms that is many times
		// slower.)
		for _, m := range s.ac.FindAllOverlapping(folded) {
			for _, o := range s.acOwners[m.PatternID] {
				if o.regex >= 0 {
					sc.open[o.regex] = true
					continue
				}
				if o.wordStart && m.Start > 0 && isWordByte(folded[m.Start-1]) ||
					o.wordEnd && m.End < len(folded) && isWordByte(folded[m.End]) {
					continue
				}
				if selects(int(o.rule)) {
					sc.hits = append(sc.hits, rawHit{rule: int(o.rule), start: int(offs[m.Start]), end: int(offs[m.End])})
				}
			}
		}
	}
	for i, cr := range s.regexes {
		if cr.gated && !sc.open[i] || !selects(cr.rule) {
			continue
		}
		for _, loc := range cr.re.FindAllStringIndex(text, -1) {
			if loc[1] > loc[0] {
				sc.hits = append(sc.hits, rawHit{rule: cr.rule, start: loc[0], end: loc[1]})
			}
		}
	}
	for _, ri := range s.pii {
		if !selects(ri) {
			continue
		}
		sc.hits = detect(sc.hits, ri, s.rules[ri].Detectors, folded, offs)
	}
	if len(sc.hits) == 0 {
		return nil
	}
	return s.hits(text, sc.hits)
}

// hits orders raw hits, drops those inside an earlier one of the same
// rule and detector, and makes Hits.
func (s *Set) hits(text string, raw []rawHit) []Hit {
	slices.SortFunc(raw, func(a, b rawHit) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(b.end, a.end),
			cmp.Compare(a.rule, b.rule), cmp.Compare(a.detector, b.detector))
	})
	out := make([]Hit, 0, len(raw))
	// reach is, per rule and detector hit so far, the furthest end.
	type group struct {
		rule int
		d    Detector
		end  int
	}
	var reach []group
	for _, h := range raw {
		g := slices.IndexFunc(reach, func(g group) bool { return g.rule == h.rule && g.d == h.detector })
		switch {
		case g < 0:
			reach = append(reach, group{h.rule, h.detector, h.end})
		case h.end <= reach[g].end:
			continue
		default:
			reach[g].end = h.end
		}
		r := &s.rules[h.rule]
		out = append(out, Hit{
			RuleID: r.ID, RuleVersion: r.Version, Kind: r.Kind, Severity: r.Severity, Action: r.Action,
			Start: h.start, End: h.end, Match: text[h.start:h.end], Detector: h.detector,
		})
	}
	return out
}
