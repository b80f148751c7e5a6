// Package rules is wecomply's supervision rule set: lexicons, regular
// expressions and personal-data detectors that scan chat messages for
// misconduct, and the samples each rule carries to prove it matches what
// it should.
//
// A rule file (TOML, see rules.example.toml at the repository root) is
// parsed once into a Set, which is immutable and safe for concurrent use.
// Scan is pure: it takes a Message and returns the Hits, with byte
// offsets into the message's original text. The package does no I/O:
// ParseFS reads the term files a rule file names from the fs.FS it is
// given, and the caller reads the rule file.
//
// Every rule has a Version, a hash of everything in its definition that
// can change what it hits (samples and descriptions are left out), so a
// rescan can be idempotent per (message, rule version).
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/coregx/ahocorasick"
)

// Kind is how a rule matches.
type Kind string

// The kinds of rule.
const (
	// Lexicon rules match any of their terms, case- and width-insensitive
	// (and traditional/simplified-insensitive when the file says so).
	Lexicon Kind = "lexicon"
	// Regex rules match RE2 regular expressions (Go's regexp) against the
	// original text.
	Regex Kind = "regex"
	// PII rules run personal-data detectors (see Detector).
	PII Kind = "pii"
)

// Severity ranks a hit for the officers' queue and digest.
type Severity string

// The severities, lowest first.
const (
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Rank orders severities: 1 for low up to 4 for critical, 0 if unknown.
func (s Severity) Rank() int {
	return slices.Index([]Severity{Low, Medium, High, Critical}, s) + 1
}

// Action is what a hit leads to.
type Action string

// The actions.
const (
	// Alert raises an alert to the compliance officers (a card with
	// 确认违规 / 误报 buttons).
	Alert Action = "alert"
	// NotifySender tells the employee who sent the message.
	NotifySender Action = "notify_sender"
	// DigestOnly only counts the hit in the daily digest.
	DigestOnly Action = "digest_only"
)

// Detector is a personal-data detector of a PII rule.
type Detector string

// The detectors.
const (
	// ResidentID is a PRC resident identity card number (居民身份证号码):
	// 18 characters, a valid province code and birth date, and the ISO
	// 7064 MOD 11-2 check character (GB 11643).
	ResidentID Detector = "resident_id"
	// BankCard is a card number of 13 to 19 digits that passes the Luhn
	// check, not part of a longer digit run (groups of four separated by
	// one space or hyphen are read as one number). An 18-digit run that
	// is a valid resident ID, or a 13-digit one that is 86 and a mobile
	// number, is not a bank card.
	BankCard Detector = "bank_card"
	// Mobile is a mainland mobile number: 11 digits 1[3-9]…, optionally
	// written 3-4-4 and optionally prefixed +86 or 86.
	Mobile Detector = "mobile"
	// Email is an e-mail address.
	Email Detector = "email"
)

// detectorsList are the detectors; a rule lists each at most once.
var detectorsList = [...]Detector{ResidentID, BankCard, Mobile, Email}

var detectors = detectorsList[:]

// Chat is the kind of conversation a message is in.
type Chat string

// The chats.
const (
	// Internal chats are among employees only.
	Internal Chat = "internal"
	// External chats include a customer (an external contact).
	External Chat = "external"
)

// Direction is who sent a message, seen from the company.
type Direction string

// The directions.
const (
	// Outbound messages are sent by an employee.
	Outbound Direction = "outbound"
	// Inbound messages are sent by an external contact (a customer).
	Inbound Direction = "inbound"
)

// Message is what Scan looks at: the text of one archived message and
// what the rules' scopes select on.
type Message struct {
	// Text is the message's text (a text message's content, a
	// markdown's, a link's title and description, …).
	Text string
	// Chat is the conversation's kind.
	Chat Chat
	// Direction is who sent it.
	Direction Direction
	// MsgType is the archive's msgtype ("text", "markdown", "link", …).
	MsgType string
	// Departments are the sender's department ids and, for a rule scoped
	// to a parent department to cover its children, their ancestors.
	// Empty for a customer.
	Departments []int64
	// Tags are the sender's member tag ids. Empty for a customer.
	Tags []int64
}

// Hit is one match of one rule.
type Hit struct {
	RuleID      string
	RuleVersion string
	Kind        Kind
	Severity    Severity
	Action      Action
	// Start and End are byte offsets into Message.Text; Match is
	// Text[Start:End]. For a PII rule Match is personal data: store it as
	// the message is stored (encrypted), never log it.
	Start, End int
	Match      string
	// Detector names the PII detector that hit; empty for other kinds.
	Detector Detector
}

// Scope selects the messages a rule applies to; an empty list selects
// all.
type Scope struct {
	Departments []int64     `json:"departments,omitempty"`
	Tags        []int64     `json:"tags,omitempty"`
	Chats       []Chat      `json:"chats,omitempty"`
	Directions  []Direction `json:"direction,omitempty"`
	MsgTypes    []string    `json:"msgtypes,omitempty"`
}

func (s Scope) selects(m *Message) bool {
	if len(s.Chats) > 0 && !slices.Contains(s.Chats, m.Chat) {
		return false
	}
	if len(s.Directions) > 0 && !slices.Contains(s.Directions, m.Direction) {
		return false
	}
	if len(s.MsgTypes) > 0 && !slices.Contains(s.MsgTypes, m.MsgType) {
		return false
	}
	if len(s.Departments) > 0 && !slices.ContainsFunc(m.Departments, func(d int64) bool { return slices.Contains(s.Departments, d) }) {
		return false
	}
	if len(s.Tags) > 0 && !slices.ContainsFunc(m.Tags, func(t int64) bool { return slices.Contains(s.Tags, t) }) {
		return false
	}
	return true
}

// Rule is one parsed rule, as the file defines it.
type Rule struct {
	ID          string
	Description string
	Kind        Kind
	// Version is a hash of the rule's definition: what it matches, its
	// scope, severity and action (not its samples or description).
	Version  string
	Severity Severity
	Action   Action
	// Block asks for the rule's terms to be pushed to WeCom's intercept
	// rules (lexicon rules only).
	Block bool
	// Terms are a lexicon rule's terms as written (from terms and
	// terms_file, trimmed, without duplicates).
	Terms []string
	// TermsFile is the terms_file it names, if any.
	TermsFile string
	// Patterns are a regex rule's expressions.
	Patterns []string
	// Detectors are a PII rule's detectors.
	Detectors []Detector
	Scope     Scope
	// Match and NoMatch are the rule's samples: texts it must hit, and
	// texts it must not.
	Match, NoMatch []string
	// Line is where the rule's [[rule]] header is in the file.
	Line int
}

// Set is a parsed, compiled rule file. It is immutable and safe for
// concurrent use.
type Set struct {
	rules   []Rule
	version string
	fold    folder

	// ac matches the folded lexicon terms and the regexes' required
	// literals, all at once; acOwners[patternID] says whose they are.
	ac       *ahocorasick.Automaton
	acOwners [][]owner
	// regexes are every regex rule's compiled expressions, in order.
	regexes []compiledRegex
	// pii are the indexes of PII rules.
	pii []int
}

// owner is a rule that an Aho-Corasick pattern belongs to: a lexicon
// term of rule (regex < 0), or a required literal of regexes[regex].
type owner struct {
	rule  int32
	regex int32
	// wordStart and wordEnd: the term begins (ends) with an ASCII letter
	// or digit, so it must not touch another one there.
	wordStart, wordEnd bool
}

type compiledRegex struct {
	rule int
	re   *regexp.Regexp
	// gated: the expression cannot match unless one of its required
	// literals (patterns in ac) occurs; otherwise it runs on every
	// message in scope.
	gated bool
}

// Rules returns the set's rules in file order. The slice is the caller's;
// the rules' slices are shared and must not be modified.
func (s *Set) Rules() []Rule { return slices.Clone(s.rules) }

// Rule returns the rule with the id.
func (s *Set) Rule(id string) (Rule, bool) {
	i := slices.IndexFunc(s.rules, func(r Rule) bool { return r.ID == id })
	if i < 0 {
		return Rule{}, false
	}
	return s.rules[i], true
}

// Version is a hash of every rule's version and the set's folding: equal
// versions scan alike.
func (s *Set) Version() string { return s.version }

// BlockRule is a lexicon rule to keep in WeCom's intercept rules
// (externalcontact/add_intercept_rule): its terms as written, and the
// departments of its scope (none: the whole company).
type BlockRule struct {
	RuleID      string
	Terms       []string
	Departments []int64
}

// Blocked returns the lexicon rules with block = true, in file order.
func (s *Set) Blocked() []BlockRule {
	var out []BlockRule
	for _, r := range s.rules {
		if r.Block {
			out = append(out, BlockRule{RuleID: r.ID, Terms: slices.Clone(r.Terms), Departments: slices.Clone(r.Scope.Departments)})
		}
	}
	return out
}

// ruleVersion hashes what changes a rule's hits.
func ruleVersion(r *Rule, fold folder) string {
	def := struct {
		ID          string
		Kind        Kind
		Terms       []string
		Patterns    []string
		Detectors   []Detector
		Scope       Scope
		Severity    Severity
		Action      Action
		Traditional bool `json:",omitempty"`
	}{r.ID, r.Kind, nil, r.Patterns, r.Detectors, r.Scope, r.Severity, r.Action, fold.traditional && r.Kind != PII}
	if r.Kind == Lexicon {
		// What a lexicon matches is its set of folded terms.
		for _, t := range r.Terms {
			def.Terms = append(def.Terms, fold.foldString(t))
		}
		slices.Sort(def.Terms)
		def.Terms = slices.Compact(def.Terms)
	}
	b, err := json.Marshal(def)
	if err != nil {
		panic(err) // only strings, ints and slices of them
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func setVersion(rules []Rule) string {
	h := sha256.New()
	for _, r := range rules {
		fmt.Fprintf(h, "%s\x00%s\x00", r.ID, r.Version)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
