package rules

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/coregx/ahocorasick"
)

// Problem is one thing wrong with a rule file.
type Problem struct {
	// Line is the 1-based line in the rule file (0 if unknown).
	Line int
	// RuleID is the rule it concerns ("" for the file as a whole).
	RuleID string
	// Field is the key, e.g. "block" or "scope.chats".
	Field  string
	Reason string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.RuleID != "" {
		fmt.Fprintf(&b, "rule %q: ", p.RuleID)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "%s: ", p.Field)
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Error is a rule file that does not parse: every problem found, in file
// order.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return "rules: " + strings.Join(s, "; ")
}

// ParseProblems returns the problems of a rule file that did not parse,
// or nil if err is not one.
func ParseProblems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

// Limits that keep one rule file within what a scan can afford.
const (
	maxTermRunes    = 200
	maxPatternBytes = 1000
	maxRules        = 10000
)

var (
	idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	tomlLine  = regexp.MustCompile(`^toml: line (\d+)(?: \(last key "([^"]*)"\))?: (.*)$`)
)

// idLists are the scope keys that take WeCom ids, with what to say when
// a rule gives something else (a tag's or department's name, say).
var idLists = map[string]string{
	"scope.departments": "departments are department ids (numbers), not names",
	"scope.tags":        "tags are tag ids (numbers), not names",
}

// file is the TOML layout of a rule file.
type file struct {
	// FoldTraditional folds traditional characters to simplified ones
	// before matching (lexicons and regexes' prefilter; regexes always
	// see the original text). Default true.
	FoldTraditional *bool      `toml:"fold_traditional"`
	Rules           []fileRule `toml:"rule"`
}

type fileRule struct {
	ID          string   `toml:"id"`
	Description string   `toml:"description"`
	Kind        string   `toml:"kind"`
	Severity    string   `toml:"severity"`
	Action      string   `toml:"action"`
	Block       bool     `toml:"block"`
	Terms       []string `toml:"terms"`
	TermsFile   string   `toml:"terms_file"`
	Patterns    []string `toml:"patterns"`
	Detectors   []string `toml:"detectors"`
	Scope       struct {
		Departments []int64  `toml:"departments"`
		Tags        []int64  `toml:"tags"`
		Chats       []string `toml:"chats"`
		Direction   []string `toml:"direction"`
		MsgTypes    []string `toml:"msgtypes"`
	} `toml:"scope"`
	Samples struct {
		Match   []string `toml:"match"`
		NoMatch []string `toml:"no_match"`
	} `toml:"samples"`
}

// Parse parses and compiles a rule file. A rule with terms_file is an
// error here: use ParseFS, which can read it.
func Parse(data []byte) (*Set, error) {
	return ParseFS(data, nil)
}

// ParseFS parses and compiles a rule file whose terms_file names are
// paths in fsys (one term a line; blank lines and lines starting with #
// are skipped). A bad file yields an *Error naming each problem's line
// and rule.
func ParseFS(data []byte, fsys fs.FS) (*Set, error) {
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	lines := newLineIndex(data)
	if err != nil {
		var pe toml.ParseError
		var ppe *toml.ParseError
		switch m := tomlLine.FindStringSubmatch(err.Error()); {
		case errors.As(err, &ppe):
			pe = *ppe
		case errors.As(err, &pe):
		case m != nil: // a decoding error is a plain error naming the line
			pe.Position.Line, _ = strconv.Atoi(m[1])
			pe.LastKey, pe.Message = m[2], m[3]
		default:
			return nil, &Error{Problems: []Problem{{Reason: err.Error()}}}
		}
		p := Problem{Line: pe.Position.Line, Reason: pe.Message}
		if pe.LastKey != "" {
			p.Field = strings.TrimPrefix(pe.LastKey, "rule.")
			p.RuleID = ruleIDAt(data, lines.ruleAt(p.Line))
			if hint, ok := idLists[p.Field]; ok && strings.HasPrefix(p.Reason, "incompatible types") {
				p.Reason = hint + ": " + p.Reason
			}
		}
		return nil, &Error{Problems: []Problem{p}}
	}
	p := &parser{lines: lines, fsys: fsys}
	for _, k := range md.Undecoded() {
		name := k[len(k)-1]
		line, ri := lines.find(name)
		p.add(line, p.idAt(ri, f.Rules), strings.Join(k[min(1, len(k)-1):], "."), "unknown key")
	}
	if len(f.Rules) > maxRules {
		p.add(0, "", "rule", fmt.Sprintf("at most %d rules, got %d", maxRules, len(f.Rules)))
	}
	fold := folder{traditional: f.FoldTraditional == nil || *f.FoldTraditional}
	s := &Set{fold: fold}
	seen := map[string]int{}
	for i := range f.Rules {
		r := p.rule(i, &f.Rules[i])
		if r.ID != "" {
			if first, dup := seen[r.ID]; dup {
				p.add(r.Line, r.ID, "id", fmt.Sprintf("already used by the rule on line %d", first))
			}
			seen[r.ID] = r.Line
		}
		r.Version = ruleVersion(&r, fold)
		s.rules = append(s.rules, r)
	}
	if len(p.problems) == 0 {
		if err := compile(s); err != nil {
			p.add(0, "", "", err.Error())
		}
	}
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &Error{Problems: p.problems}
	}
	s.version = setVersion(s.rules)
	return s, nil
}

type parser struct {
	lines    lineIndex
	fsys     fs.FS
	problems []Problem
}

func (p *parser) add(line int, id, field, reason string) {
	p.problems = append(p.problems, Problem{Line: line, RuleID: id, Field: field, Reason: reason})
}

func (p *parser) idAt(i int, rules []fileRule) string {
	if i >= 0 && i < len(rules) {
		return rules[i].ID
	}
	return ""
}

// rule validates one [[rule]] and returns it (with what could be read).
func (p *parser) rule(i int, fr *fileRule) Rule {
	r := Rule{
		ID: fr.ID, Description: fr.Description, Kind: Kind(fr.Kind), Severity: Severity(fr.Severity),
		Action: Action(fr.Action), Block: fr.Block, Line: p.lines.header(i), TermsFile: fr.TermsFile,
		Match: fr.Samples.Match, NoMatch: fr.Samples.NoMatch,
	}
	if r.Line == 0 {
		r.Line = 1
	}
	at := func(key string) int { return p.lines.key(i, key) }
	bad := func(key, reason string) { p.add(at(key), fr.ID, key, reason) }

	switch {
	case fr.ID == "":
		p.add(r.Line, "", "id", fmt.Sprintf("is required (rule number %d)", i+1))
	case !idPattern.MatchString(fr.ID):
		bad("id", "must be 1 to 64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit")
	}
	switch r.Kind {
	case Lexicon, Regex, PII:
	case "":
		bad("kind", "is required: lexicon, regex or pii")
	default:
		bad("kind", fmt.Sprintf("must be lexicon, regex or pii, got %q", fr.Kind))
	}
	if r.Severity.Rank() == 0 {
		bad("severity", fmt.Sprintf("must be low, medium, high or critical, got %q", fr.Severity))
	}
	switch r.Action {
	case "":
		r.Action = Alert
	case Alert, NotifySender, DigestOnly:
	default:
		bad("action", fmt.Sprintf("must be alert, notify_sender or digest_only, got %q", fr.Action))
	}
	if r.Block && r.Kind != Lexicon {
		bad("block", "only lexicon rules can block (WeCom's intercept rules take words)")
	}
	if r.Block && len(fr.Scope.Tags) > 0 {
		bad("block", "a blocking rule cannot be scoped by tags: WeCom's intercept rules apply to departments, so scope it by departments")
	}
	// WeCom's intercept rules (客户联系) stop the text an employee sends to
	// a customer: a blocking rule whose scope leaves that out would block
	// where its scope says it does not apply.
	if r.Block && !scopeAdmits(fr.Scope.Chats, string(External)) {
		bad("block", "a blocking rule must apply to external chats: WeCom's intercept rules stop what employees send to customers")
	}
	if r.Block && !scopeAdmits(fr.Scope.Direction, string(Outbound)) {
		bad("block", "a blocking rule must apply to outbound messages: WeCom's intercept rules stop what employees send to customers")
	}
	if r.Block && !scopeAdmits(fr.Scope.MsgTypes, "text") {
		bad("block", "a blocking rule must apply to text messages: WeCom's intercept rules match the words of a text")
	}
	if r.Kind != Lexicon && (len(fr.Terms) > 0 || fr.TermsFile != "") {
		bad("terms", "only lexicon rules have terms")
	}
	if r.Kind != Regex && len(fr.Patterns) > 0 {
		bad("patterns", "only regex rules have patterns")
	}
	if r.Kind != PII && len(fr.Detectors) > 0 {
		bad("detectors", "only pii rules have detectors")
	}

	switch r.Kind {
	case Lexicon:
		r.Terms = p.terms(i, fr)
	case Regex:
		if len(fr.Patterns) == 0 {
			bad("patterns", "a regex rule needs at least one pattern")
		}
		for j, pat := range fr.Patterns {
			if len(pat) > maxPatternBytes {
				bad("patterns", fmt.Sprintf("pattern %d is longer than %d bytes", j+1, maxPatternBytes))
				continue
			}
			if _, err := regexp.Compile(pat); err != nil {
				bad("patterns", fmt.Sprintf("pattern %d: %v", j+1, err))
			}
		}
		r.Patterns = fr.Patterns
	case PII:
		if len(fr.Detectors) == 0 {
			bad("detectors", "a pii rule needs at least one of resident_id, bank_card, mobile, email")
		}
		for _, d := range fr.Detectors {
			switch {
			case !slices.Contains(detectors, Detector(d)):
				bad("detectors", fmt.Sprintf("unknown detector %q: use resident_id, bank_card, mobile or email", d))
			case slices.Contains(r.Detectors, Detector(d)):
				bad("detectors", fmt.Sprintf("%q is listed twice", d))
			default:
				r.Detectors = append(r.Detectors, Detector(d))
			}
		}
	}

	sc := fr.Scope
	for _, d := range sc.Departments {
		if d <= 0 {
			p.add(at("departments"), fr.ID, "scope.departments", fmt.Sprintf("department ids are positive, got %d", d))
		}
	}
	for _, t := range sc.Tags {
		if t <= 0 {
			p.add(at("tags"), fr.ID, "scope.tags", fmt.Sprintf("tag ids are positive, got %d", t))
		}
	}
	for _, c := range sc.Chats {
		if c != string(Internal) && c != string(External) {
			p.add(at("chats"), fr.ID, "scope.chats", fmt.Sprintf("must be internal or external, got %q", c))
		}
		r.Scope.Chats = append(r.Scope.Chats, Chat(c))
	}
	for _, d := range sc.Direction {
		if d != string(Outbound) && d != string(Inbound) {
			p.add(at("direction"), fr.ID, "scope.direction", fmt.Sprintf("must be outbound (sent by an employee) or inbound (sent by a customer), got %q", d))
		}
		r.Scope.Directions = append(r.Scope.Directions, Direction(d))
	}
	for _, m := range sc.MsgTypes {
		if strings.TrimSpace(m) == "" {
			p.add(at("msgtypes"), fr.ID, "scope.msgtypes", "a message type must not be empty")
		}
	}
	r.Scope.Departments, r.Scope.Tags, r.Scope.MsgTypes = sc.Departments, sc.Tags, sc.MsgTypes
	return r
}

// scopeAdmits reports whether a scope list lets v in (an empty list
// admits everything).
func scopeAdmits(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}

// terms reads a lexicon's terms and terms_file.
func (p *parser) terms(i int, fr *fileRule) []string {
	var terms []string
	before := len(p.problems)
	addTerm := func(t, key string, line int) {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			p.add(line, fr.ID, key, "a term must not be empty")
		case !utf8.ValidString(t):
			p.add(line, fr.ID, key, fmt.Sprintf("term %q is not valid UTF-8", t))
		case utf8.RuneCountInString(t) > maxTermRunes:
			p.add(line, fr.ID, key, fmt.Sprintf("term %q is longer than %d characters", t, maxTermRunes))
		case !slices.Contains(terms, t):
			terms = append(terms, t)
		}
	}
	for _, t := range fr.Terms {
		addTerm(t, "terms", p.lines.key(i, "terms"))
	}
	if fr.TermsFile != "" {
		line := p.lines.key(i, "terms_file")
		switch {
		case p.fsys == nil:
			p.add(line, fr.ID, "terms_file", "cannot be read here: parse it with ParseFS, which reads the files it names")
		case !fs.ValidPath(fr.TermsFile):
			p.add(line, fr.ID, "terms_file", fmt.Sprintf("%q must be a relative path below the rule file's directory, without . or .. elements", fr.TermsFile))
		default:
			data, err := fs.ReadFile(p.fsys, fr.TermsFile)
			if err != nil {
				p.add(line, fr.ID, "terms_file", err.Error())
				break
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			for n := 1; sc.Scan(); n++ {
				t := strings.TrimSpace(sc.Text())
				if t == "" || strings.HasPrefix(t, "#") {
					continue
				}
				addTerm(t, fmt.Sprintf("terms_file %s line %d", fr.TermsFile, n), line)
			}
			if err := sc.Err(); err != nil {
				p.add(line, fr.ID, "terms_file", err.Error())
			}
		}
	}
	if len(terms) == 0 && len(p.problems) == before {
		p.add(p.lines.header(i), fr.ID, "terms", "a lexicon rule needs at least one term (terms or terms_file)")
	}
	return terms
}

// compile builds the set's matchers from valid rules.
func compile(s *Set) error {
	patterns := map[string]int{}
	var pats [][]byte
	addPattern := func(lit string, o owner) {
		id, ok := patterns[lit]
		if !ok {
			id = len(pats)
			patterns[lit] = id
			pats = append(pats, []byte(lit))
			s.acOwners = append(s.acOwners, nil)
		}
		if !slices.Contains(s.acOwners[id], o) {
			s.acOwners[id] = append(s.acOwners[id], o)
		}
	}
	for i := range s.rules {
		r := &s.rules[i]
		switch r.Kind {
		case Lexicon:
			for _, t := range r.Terms {
				ft := s.fold.foldString(t)
				addPattern(ft, owner{rule: int32(i), regex: -1, wordStart: isWordByte(ft[0]), wordEnd: isWordByte(ft[len(ft)-1])})
			}
		case Regex:
			for _, pat := range r.Patterns {
				re := regexp.MustCompile(pat) // compiled once already in rule
				cr := compiledRegex{rule: i, re: re}
				if lits := requiredLiterals(pat); lits != nil {
					cr.gated = true
					for _, l := range lits {
						addPattern(s.fold.foldString(l), owner{rule: int32(i), regex: int32(len(s.regexes))})
					}
				}
				s.regexes = append(s.regexes, cr)
			}
		case PII:
			s.pii = append(s.pii, i)
		}
	}
	if len(pats) == 0 {
		return nil
	}
	ac, err := ahocorasick.NewBuilder().AddPatterns(pats).Build()
	if err != nil {
		return fmt.Errorf("compile the lexicons: %w", err)
	}
	s.ac = ac
	return nil
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// maxLiterals bounds the literal set of one regex's prefilter; a regex
// that would need more runs on every message.
const maxLiterals = 64

// requiredLiterals returns strings one of which occurs in every text the
// expression matches, or nil when there is no such small set. They gate
// the expression: it runs only on messages whose folded text contains
// one of them (folded).
func requiredLiterals(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits, _ := literals(re.Simplify())
	if len(lits) == 0 || slices.Contains(lits, "") {
		return nil
	}
	return lits
}

// literals returns strings one of which every match of re contains, or
// nil; exact says every match of re is one of them.
func literals(re *syntax.Regexp) (lits []string, exact bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpCapture:
		return literals(re.Sub[0])
	case syntax.OpPlus:
		l, _ := literals(re.Sub[0])
		return l, false
	case syntax.OpRepeat:
		if re.Min >= 1 {
			l, _ := literals(re.Sub[0])
			return l, false
		}
	case syntax.OpCharClass:
		// A small class: each of its characters.
		var out []string
		for k := 0; k+1 < len(re.Rune); k += 2 {
			for r := re.Rune[k]; r <= re.Rune[k+1]; r++ {
				if len(out) == 8 {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpAlternate:
		var out []string
		exact = true
		for _, sub := range re.Sub {
			l, ex := literals(sub)
			if l == nil || len(out)+len(l) > maxLiterals {
				return nil, false
			}
			out, exact = append(out, l...), exact && ex
		}
		return out, exact
	case syntax.OpConcat:
		// Adjacent exact children multiply into longer literals; any
		// one child's (or run's) set is required. Take the set whose
		// shortest literal is longest (fewest false openings).
		var best, run []string
		bestLen, whole := -1, true
		consider := func(l []string) {
			shortest := len(slices.MinFunc(l, func(a, b string) int { return len(a) - len(b) }))
			if shortest > bestLen {
				best, bestLen = l, shortest
			}
		}
		for k, sub := range re.Sub {
			l, ex := literals(sub)
			switch {
			case l == nil:
				run, whole = nil, false
			case !ex:
				run, whole = nil, false
				consider(l)
			case run == nil || len(run)*len(l) > maxLiterals:
				run, whole = l, whole && k == 0
				consider(run)
			default:
				var prod []string
				for _, a := range run {
					for _, b := range l {
						prod = append(prod, a+b)
					}
				}
				run = prod
				consider(run)
			}
		}
		// Whole: every child exact and multiplied into one run, whose
		// product then is best (it extends every shorter run).
		return best, whole && best != nil
	}
	return nil, false
}

// lineIndex finds where rules and keys are in a rule file, for messages.
type lineIndex struct {
	lines   []string
	headers []int // 0-based line of each [[rule]]
}

func newLineIndex(data []byte) lineIndex {
	li := lineIndex{lines: strings.Split(string(data), "\n")}
	for n, l := range li.lines {
		if strings.ReplaceAll(strings.TrimSpace(stripComment(l)), " ", "") == "[[rule]]" {
			li.headers = append(li.headers, n)
		}
	}
	return li
}

func stripComment(l string) string {
	if i := strings.Index(l, "#"); i >= 0 && !strings.ContainsAny(l[:i], `"'`) {
		return l[:i]
	}
	return l
}

// ruleAt is the index of the rule that 1-based line is in, or -1.
func (li lineIndex) ruleAt(line int) int {
	r := -1
	for j, h := range li.headers {
		if h < line {
			r = j
		}
	}
	return r
}

// ruleIDAt reads rule i's id from a file that did not decode, for a
// message: the first id = "…" line in its block.
func ruleIDAt(data []byte, i int) string {
	li := newLineIndex(data)
	if i < 0 {
		return ""
	}
	line := li.key(i, "id")
	if line <= 0 || line > len(li.lines) || !isKeyLine(li.lines[line-1], "id") {
		return ""
	}
	_, v, _ := strings.Cut(li.lines[line-1], "=")
	return strings.Trim(strings.TrimSpace(stripComment(v)), `"'`)
}

// header is the 1-based line of rule i's [[rule]], or 0.
func (li lineIndex) header(i int) int {
	if i < len(li.headers) {
		return li.headers[i] + 1
	}
	return 0
}

// key is the 1-based line where rule i sets key, or its header's line.
func (li lineIndex) key(i int, key string) int {
	if i >= len(li.headers) {
		return 0
	}
	end := len(li.lines)
	if i+1 < len(li.headers) {
		end = li.headers[i+1]
	}
	for n := li.headers[i]; n < end; n++ {
		if isKeyLine(li.lines[n], key) {
			return n + 1
		}
	}
	return li.headers[i] + 1
}

// find is the 1-based line of the first line setting key, and the index
// of the rule it is in (-1 before the first rule).
func (li lineIndex) find(key string) (line, rule int) {
	for n, l := range li.lines {
		if isKeyLine(l, key) || strings.Contains(l, "."+key+"]") {
			return n + 1, li.ruleAt(n + 1)
		}
	}
	return 0, -1
}

func isKeyLine(l, key string) bool {
	l = strings.TrimSpace(l)
	rest, ok := strings.CutPrefix(l, key)
	if !ok {
		rest, ok = strings.CutPrefix(l, `"`+key+`"`)
	}
	return ok && strings.HasPrefix(strings.TrimSpace(rest), "=")
}
