// Package intercept keeps WeCom's chat sensitive-word rules (管理聊天敏感词,
// externalcontact/*_intercept_rule, path/95097) in step with the lexicon
// rules wecomply wants enforced before a message is sent.
//
// Sync takes the desired rules and makes WeCom match: it creates the
// missing ones, updates the changed ones (words, type, and the applicable
// range with add_/remove_applicable_range), deletes the ones no longer
// desired, and repairs drift — a rule of ours edited or deleted in the
// WeCom admin console. It never touches a rule wecomply did not create:
// its own rules are the ones in the store's mapping (our rule id → WeCom
// rule_id), and a mapped rule whose name has lost the prefix is left alone
// and reported, as a second guard. Every change is in the audit log.
package intercept

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// Desired is one rule wecomply wants WeCom to enforce.
type Desired struct {
	// RuleID is wecomply's rule id: the key of the mapping. Required,
	// unique.
	RuleID string
	// Name is shown in the WeCom console after the prefix; it is cut to
	// fit WeCom's 20 characters. "" uses RuleID.
	Name string
	// Words are the sensitive words: 1 to 300, each 1 to 32 characters
	// (path/95097). Order and repeats do not matter.
	Words []string
	// InterceptType is wecom.InterceptWarnAndBlock (also for 0) or
	// wecom.InterceptWarnOnly.
	InterceptType int
	// Users and Departments are the applicable range; not both empty.
	// Users are compared case-insensitively, as WeCom's userids are.
	Users       []string
	Departments []int64
}

// Source gives the desired rules (the lexicon rules with block = true).
type Source interface {
	InterceptRules(ctx context.Context) ([]Desired, error)
}

// WeCom is what the sync needs of *wecom.Client.
type WeCom interface {
	AddInterceptRule(ctx context.Context, r wecom.InterceptRule) (string, error)
	ListInterceptRules(ctx context.Context) ([]wecom.InterceptRuleSummary, error)
	GetInterceptRule(ctx context.Context, ruleID string) (*wecom.InterceptRule, error)
	UpdateInterceptRule(ctx context.Context, u wecom.InterceptRuleUpdate) error
	DeleteInterceptRule(ctx context.Context, ruleID string) error
}

// Store is what the sync needs of store.Store.
type Store interface {
	store.InterceptMappings
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
}

// DefaultPrefix starts the name of every rule wecomply creates.
const DefaultPrefix = "wecomply·"

// AuditKind is the Kind of the audit entries the sync writes.
const AuditKind = "intercept_sync"

// Config configures a Syncer.
type Config struct {
	// Prefix starts every rule name wecomply writes (DefaultPrefix if
	// ""); at most 10 characters, so that names keep some of their own.
	Prefix string
	// Now is the clock of the audit entries and mappings. Default
	// time.Now.
	Now func() time.Time
}

// Syncer syncs desired rules to WeCom. Create it with New.
type Syncer struct {
	api    WeCom
	st     Store
	prefix string
	now    func() time.Time
	// seq tells apart the audit entries of one instant (a frozen test
	// clock, two changes in one microsecond).
	seq atomic.Uint64
}

// maxPrefixRunes leaves a rule's own name 10 of WeCom's 20 characters.
const maxPrefixRunes = 10

// New returns a Syncer.
func New(api WeCom, st Store, cfg Config) (*Syncer, error) {
	if api == nil || st == nil {
		return nil, errors.New("intercept: new: want a WeCom client and a store")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if n := utf8.RuneCountInString(cfg.Prefix); n > maxPrefixRunes || !utf8.ValidString(cfg.Prefix) {
		return nil, fmt.Errorf("intercept: new: prefix %q: %d characters, at most %d (WeCom's rule names have 20)", cfg.Prefix, n, maxPrefixRunes)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Syncer{api: api, st: st, prefix: cfg.Prefix, now: cfg.Now}, nil
}

// Change is one thing a sync did (or refused to do) to one rule.
type Change struct {
	RuleID      string `json:"rule_id"`
	WeComRuleID string `json:"wecom_rule_id,omitempty"`
	Name        string `json:"name,omitempty"` // the name in WeCom
	// Detail says what changed or why: "words +2 -1, users +1",
	// "deleted in WeCom", "edited in WeCom: words".
	Detail string `json:"detail,omitempty"`
}

// Report is what a sync did. Repaired holds drift: rules of ours that
// were edited or deleted in WeCom and were put back.
type Report struct {
	Created  []Change `json:"created,omitempty"`
	Updated  []Change `json:"updated,omitempty"`
	Deleted  []Change `json:"deleted,omitempty"`
	Repaired []Change `json:"repaired,omitempty"`
	// Skipped are mapped rules the name guard kept the sync off.
	Skipped []Change `json:"skipped,omitempty"`
	// Unmanaged counts WeCom's rules that wecomply did not create; they
	// are never touched.
	Unmanaged int `json:"unmanaged"`
	// Unchanged counts desired rules WeCom already matched.
	Unchanged int `json:"unchanged"`
}

// Drift reports whether WeCom had changed rules of ours.
func (r Report) Drift() bool { return len(r.Repaired) > 0 }

// Counts is the report as a job's counts.
func (r Report) Counts() map[string]int {
	return map[string]int{
		"intercept_created": len(r.Created), "intercept_updated": len(r.Updated),
		"intercept_deleted": len(r.Deleted), "intercept_repaired": len(r.Repaired),
		"intercept_skipped": len(r.Skipped), "intercept_unmanaged": r.Unmanaged,
		"intercept_unchanged": r.Unchanged,
	}
}

// target is a desired rule as WeCom should hold it.
type target struct {
	d     Desired
	name  string   // prefix + name, cut to 20 characters
	words []string // distinct, sorted
	typ   int
	users []string // distinct (case-insensitively), sorted by lower case
	depts []int64  // distinct, sorted
	fp    string
}

// Sync makes WeCom's rules match desired. It checks every desired rule
// first and changes nothing if one breaks WeCom's limits (the error names
// each such rule). It reads the list of WeCom's rules and each mapped
// rule; a run with nothing to change writes nothing. An API failure on
// one rule does not stop the others: the report holds what was done and
// the error every failure.
func (s *Syncer) Sync(ctx context.Context, desired []Desired) (Report, error) {
	var rep Report
	targets, err := targetsOf(desired, s.prefix)
	if err != nil {
		return rep, err
	}
	maps, err := s.st.ListInterceptMappings(ctx)
	if err != nil {
		return rep, fmt.Errorf("intercept: sync: %w", err)
	}
	list, err := s.api.ListInterceptRules(ctx)
	if err != nil {
		return rep, fmt.Errorf("intercept: sync: %w", err)
	}
	inWeCom := make(map[string]wecom.InterceptRuleSummary, len(list))
	for _, r := range list {
		inWeCom[r.RuleID] = r
	}
	mapped := make(map[string]bool, len(maps))
	byRule := make(map[string]store.InterceptMapping, len(maps))
	for _, m := range maps {
		mapped[m.WeComRuleID] = true
		byRule[m.RuleID] = m
	}
	for _, r := range list {
		if !mapped[r.RuleID] {
			rep.Unmanaged++
		}
	}

	var errs []error
	// Deletions first: they free places under WeCom's 100 rules.
	for _, m := range maps {
		if _, ok := targets[m.RuleID]; ok {
			continue
		}
		if err := s.remove(ctx, m, inWeCom, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range sortedKeys(targets) {
		t := targets[id]
		m, ok := byRule[id]
		var err error
		switch {
		case !ok:
			err = s.create(ctx, t, "created", "", &rep.Created)
		default:
			err = s.reconcile(ctx, t, m, inWeCom, &rep)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// Validate checks desired against WeCom's limits as Sync does before it
// changes anything (at most 100 rules; 1 to 300 words a rule, each 1 to
// 32 characters; an applicable range; …), without a client: so that rules
// WeCom would refuse are refused when they are loaded, not at the next
// sync. The error names each rule at fault.
func Validate(desired []Desired) error {
	_, err := targetsOf(desired, DefaultPrefix)
	return err
}

// targetsOf checks desired and normalises it, names starting with prefix.
func targetsOf(desired []Desired, prefix string) (map[string]target, error) {
	if len(desired) > wecom.MaxInterceptRules {
		return nil, fmt.Errorf("intercept: %d rules to push, WeCom keeps at most %d a corp", len(desired), wecom.MaxInterceptRules)
	}
	out := make(map[string]target, len(desired))
	var errs []error
	for i, d := range desired {
		if d.RuleID == "" {
			errs = append(errs, fmt.Errorf("intercept: rule #%d: no rule id", i+1))
			continue
		}
		if _, dup := out[d.RuleID]; dup {
			errs = append(errs, fmt.Errorf("intercept: rule %q: given twice", d.RuleID))
			continue
		}
		t, err := newTarget(d, prefix)
		if err != nil {
			errs = append(errs, fmt.Errorf("intercept: rule %q: %w", d.RuleID, err))
			continue
		}
		out[d.RuleID] = t
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func newTarget(d Desired, prefix string) (target, error) {
	t := target{d: d, typ: d.InterceptType}
	if t.typ == 0 {
		t.typ = wecom.InterceptWarnAndBlock
	}
	if t.typ != wecom.InterceptWarnAndBlock && t.typ != wecom.InterceptWarnOnly {
		return t, fmt.Errorf("intercept type %d: want 1 (warn and block) or 2 (warn only)", d.InterceptType)
	}
	name := d.Name
	if name == "" {
		name = d.RuleID
	}
	t.name = cut(prefix+strings.TrimSpace(name), wecom.MaxInterceptRuleNameRunes)
	t.words = distinct(d.Words)
	switch {
	case len(t.words) == 0:
		return t, errors.New("no words")
	case len(t.words) > wecom.MaxInterceptWords:
		return t, fmt.Errorf("%d distinct words, WeCom takes at most %d a rule: split the rule", len(t.words), wecom.MaxInterceptWords)
	}
	for _, w := range t.words {
		if n := utf8.RuneCountInString(w); n == 0 || n > wecom.MaxInterceptWordRunes || !utf8.ValidString(w) {
			return t, fmt.Errorf("word %q: %d characters, WeCom takes 1 to %d", w, n, wecom.MaxInterceptWordRunes)
		}
	}
	t.users = distinctFold(d.Users)
	t.depts = distinct(d.Departments)
	switch {
	case len(t.users) == 0 && len(t.depts) == 0:
		return t, errors.New("no users and no departments: WeCom needs an applicable range")
	case len(t.users) > wecom.MaxInterceptRuleUsers:
		return t, fmt.Errorf("%d users, WeCom takes at most %d a rule: name departments instead", len(t.users), wecom.MaxInterceptRuleUsers)
	case slices.Contains(t.users, ""):
		return t, errors.New("an empty userid")
	case len(t.depts) > 0 && t.depts[0] <= 0:
		return t, fmt.Errorf("department %d: ids are positive", t.depts[0])
	}
	t.fp = fingerprint(t)
	return t, nil
}

// fingerprint digests what the sync writes of t.
func fingerprint(t target) string {
	lower := make([]string, len(t.users))
	for i, u := range t.users {
		lower[i] = strings.ToLower(u)
	}
	b, _ := json.Marshal(struct {
		Name  string   `json:"n"`
		Words []string `json:"w"`
		Type  int      `json:"t"`
		Users []string `json:"u"`
		Depts []int64  `json:"d"`
	}{t.name, t.words, t.typ, lower, t.depts})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// remove deletes a rule no longer desired, and its mapping.
func (s *Syncer) remove(ctx context.Context, m store.InterceptMapping, inWeCom map[string]wecom.InterceptRuleSummary, rep *Report) error {
	ch := Change{RuleID: m.RuleID, WeComRuleID: m.WeComRuleID}
	if r, ok := inWeCom[m.WeComRuleID]; ok {
		ch.Name = r.RuleName
		if !strings.HasPrefix(r.RuleName, s.prefix) {
			ch.Detail = fmt.Sprintf("no longer desired, but its name %q lacks the prefix %q: not deleted", r.RuleName, s.prefix)
			rep.Skipped = append(rep.Skipped, ch)
			return s.audit(ctx, "skipped", ch)
		}
		if err := s.api.DeleteInterceptRule(ctx, m.WeComRuleID); err != nil {
			return fmt.Errorf("intercept: rule %q: delete WeCom rule %s: %w", m.RuleID, m.WeComRuleID, err)
		}
		ch.Detail = "no longer desired"
	} else {
		ch.Detail = "no longer desired; already gone from WeCom"
	}
	if err := s.audit(ctx, "deleted", ch); err != nil {
		return err
	}
	if err := s.st.DeleteInterceptMapping(ctx, m.RuleID); err != nil {
		return fmt.Errorf("intercept: rule %q: %w", m.RuleID, err)
	}
	rep.Deleted = append(rep.Deleted, ch)
	return nil
}

// create adds t to WeCom (ranges beyond 1,000 a list follow in updates)
// and maps it. kind is "created", or "repaired" for a rule deleted in
// WeCom; detail, if set, says why.
func (s *Syncer) create(ctx context.Context, t target, kind, detail string, into *[]Change) error {
	users, depts := chunks(t.users), chunks(t.depts)
	first := wecom.InterceptRule{
		RuleName: t.name, WordList: t.words, InterceptType: t.typ,
		ApplicableRange: wecom.InterceptRange{UserList: at(users, 0), DepartmentList: at(depts, 0)},
	}
	id, err := s.api.AddInterceptRule(ctx, first)
	if err != nil {
		return fmt.Errorf("intercept: rule %q: add: %w", t.d.RuleID, err)
	}
	// Map it at once: a failure later must not leave a rule of ours that
	// the next sync cannot recognise. Until every range part is added the
	// mapping has no fingerprint: a failure midway leaves a rule we have
	// not finished writing, which the next sync must finish as our update,
	// not take for one edited in WeCom.
	parts := max(len(users), len(depts))
	m := store.InterceptMapping{RuleID: t.d.RuleID, WeComRuleID: id, UpdatedAt: s.now()}
	if parts <= 1 {
		m.Fingerprint = t.fp
	}
	if err := s.st.PutInterceptMapping(ctx, m); err != nil {
		return fmt.Errorf("intercept: rule %q: WeCom rule %s created, mapping not stored: %w", t.d.RuleID, id, err)
	}
	for i := 1; i < parts; i++ {
		u := wecom.InterceptRuleUpdate{RuleID: id, AddRange: wecom.InterceptRange{UserList: at(users, i), DepartmentList: at(depts, i)}}
		if err := s.api.UpdateInterceptRule(ctx, u); err != nil {
			return fmt.Errorf("intercept: rule %q: add range part %d to WeCom rule %s: %w", t.d.RuleID, i+1, id, err)
		}
	}
	if m.Fingerprint == "" {
		m.Fingerprint, m.UpdatedAt = t.fp, s.now()
		if err := s.st.PutInterceptMapping(ctx, m); err != nil {
			return fmt.Errorf("intercept: rule %q: %w", t.d.RuleID, err)
		}
	}
	if detail == "" {
		detail = fmt.Sprintf("%d words, %d users, %d departments", len(t.words), len(t.users), len(t.depts))
	}
	ch := Change{RuleID: t.d.RuleID, WeComRuleID: id, Name: t.name, Detail: detail}
	*into = append(*into, ch)
	return s.audit(ctx, kind, ch)
}

// reconcile brings one mapped rule in line with t. When what we want has
// not changed since the last write (the mapping's fingerprint) but WeCom
// differs, WeCom was edited: the change is a repair.
func (s *Syncer) reconcile(ctx context.Context, t target, m store.InterceptMapping, inWeCom map[string]wecom.InterceptRuleSummary, rep *Report) error {
	ours := m.Fingerprint == t.fp // unchanged on our side since the last write
	sum, ok := inWeCom[m.WeComRuleID]
	if !ok {
		// Deleted in the console: put it back (as it is wanted now).
		return s.create(ctx, t, "repaired", "deleted in WeCom; created again", &rep.Repaired)
	}
	ch := Change{RuleID: t.d.RuleID, WeComRuleID: m.WeComRuleID, Name: sum.RuleName}
	if !strings.HasPrefix(sum.RuleName, s.prefix) {
		ch.Detail = fmt.Sprintf("mapped, but named %q without the prefix %q: not touched", sum.RuleName, s.prefix)
		rep.Skipped = append(rep.Skipped, ch)
		return s.audit(ctx, "skipped", ch)
	}
	cur, err := s.api.GetInterceptRule(ctx, m.WeComRuleID)
	if err != nil {
		return fmt.Errorf("intercept: rule %q: get WeCom rule %s: %w", t.d.RuleID, m.WeComRuleID, err)
	}
	d := compare(t, cur)
	if d.none() {
		rep.Unchanged++
		if !ours { // WeCom already holds what we now want
			m.Fingerprint, m.UpdatedAt = t.fp, s.now()
			if err := s.st.PutInterceptMapping(ctx, m); err != nil {
				return fmt.Errorf("intercept: rule %q: %w", t.d.RuleID, err)
			}
		}
		return nil
	}
	for i, u := range d.updates(m.WeComRuleID) {
		if err := s.api.UpdateInterceptRule(ctx, u); err != nil {
			return fmt.Errorf("intercept: rule %q: update WeCom rule %s (call %d): %w", t.d.RuleID, m.WeComRuleID, i+1, err)
		}
	}
	m.Fingerprint, m.UpdatedAt = t.fp, s.now()
	if err := s.st.PutInterceptMapping(ctx, m); err != nil {
		return fmt.Errorf("intercept: rule %q: %w", t.d.RuleID, err)
	}
	ch.Name = t.name
	if ours {
		ch.Detail = "edited in WeCom (" + d.String() + " to restore)"
		rep.Repaired = append(rep.Repaired, ch)
		return s.audit(ctx, "repaired", ch)
	}
	ch.Detail = d.String()
	rep.Updated = append(rep.Updated, ch)
	return s.audit(ctx, "updated", ch)
}

// delta is what must change in a WeCom rule to match a target.
type delta struct {
	t                        target
	name                     bool
	words                    bool
	wordsAdded, wordsRemoved int
	typ                      bool
	semantics                bool // WeCom has semantics the sync never sets
	addUsers, removeUsers    []string
	addDepts, removeDepts    []int64
}

// compare works out the delta from cur to t.
func compare(t target, cur *wecom.InterceptRule) delta {
	d := delta{t: t}
	d.name = cur.RuleName != t.name
	have := distinct(cur.WordList)
	d.wordsAdded, d.wordsRemoved = len(minus(t.words, have)), len(minus(have, t.words))
	d.words = d.wordsAdded+d.wordsRemoved > 0
	d.typ = cur.InterceptType != t.typ
	d.semantics = len(cur.SemanticsList) > 0
	haveUsers := distinctFold(cur.ApplicableRange.UserList)
	d.addUsers, d.removeUsers = minusFold(t.users, haveUsers), minusFold(haveUsers, t.users)
	haveDepts := distinct(cur.ApplicableRange.DepartmentList)
	d.addDepts, d.removeDepts = minus(t.depts, haveDepts), minus(haveDepts, t.depts)
	return d
}

func (d delta) none() bool {
	return !d.name && !d.words && !d.typ && !d.semantics &&
		len(d.addUsers)+len(d.removeUsers)+len(d.addDepts)+len(d.removeDepts) == 0
}

// updates are the update_intercept_rule calls that apply d: the fields
// and the first 1,000 of each range list in the first, the rest of the
// ranges 1,000 a list a call (path/95097: "每次最多支持传1000个节点").
// Removals and additions go together, so the range is never empty between
// calls (see the package tests).
func (d delta) updates(ruleID string) []wecom.InterceptRuleUpdate {
	first := wecom.InterceptRuleUpdate{RuleID: ruleID}
	if d.name {
		first.RuleName = d.t.name
	}
	if d.words {
		first.WordList = d.t.words // replaces the whole list
	}
	if d.typ {
		first.InterceptType = d.t.typ
	}
	if d.semantics {
		first.SemanticsList = []int{} // "若为空表示清除所有的语义规则"
	}
	au, ru, ad, rd := chunks(d.addUsers), chunks(d.removeUsers), chunks(d.addDepts), chunks(d.removeDepts)
	n := max(1, len(au), len(ru), len(ad), len(rd))
	out := make([]wecom.InterceptRuleUpdate, 0, n)
	for i := range n {
		u := wecom.InterceptRuleUpdate{RuleID: ruleID}
		if i == 0 {
			u = first
		}
		u.AddRange = wecom.InterceptRange{UserList: at(au, i), DepartmentList: at(ad, i)}
		u.RemoveRange = wecom.InterceptRange{UserList: at(ru, i), DepartmentList: at(rd, i)}
		out = append(out, u)
	}
	return out
}

// String says what d changes: "name, words +2 -1, type, users +1 -3".
func (d delta) String() string {
	var parts []string
	if d.name {
		parts = append(parts, "name")
	}
	if d.words {
		parts = append(parts, fmt.Sprintf("words +%d -%d", d.wordsAdded, d.wordsRemoved))
	}
	if d.typ {
		parts = append(parts, "intercept type")
	}
	if d.semantics {
		parts = append(parts, "semantics")
	}
	if len(d.addUsers)+len(d.removeUsers) > 0 {
		parts = append(parts, fmt.Sprintf("users +%d -%d", len(d.addUsers), len(d.removeUsers)))
	}
	if len(d.addDepts)+len(d.removeDepts) > 0 {
		parts = append(parts, fmt.Sprintf("departments +%d -%d", len(d.addDepts), len(d.removeDepts)))
	}
	return strings.Join(parts, ", ")
}

// audit writes one change to the audit log.
func (s *Syncer) audit(ctx context.Context, action string, ch Change) error {
	now := s.now()
	data, err := json.Marshal(struct {
		Action string `json:"action"`
		Change
	}{action, ch})
	if err != nil {
		return fmt.Errorf("intercept: rule %q: audit: %w", ch.RuleID, err)
	}
	e := store.AuditEntry{
		ID: fmt.Sprintf("intercept:%s:%s:%s:%d.%d", action, ch.RuleID, ch.WeComRuleID, now.UnixNano(), s.seq.Add(1)),
		At: now, Kind: AuditKind, Subject: ch.RuleID, Data: data,
	}
	if _, err := s.st.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("intercept: rule %q: audit %s: %w", ch.RuleID, action, err)
	}
	return nil
}

// Run is the sync as a job (jobs.Func): it reads src and syncs, logging
// drift and skipped rules at warn level. The counts are Report.Counts.
func (s *Syncer) Run(src Source, log *slog.Logger) func(ctx context.Context, now time.Time) (map[string]int, error) {
	return func(ctx context.Context, _ time.Time) (map[string]int, error) {
		desired, err := src.InterceptRules(ctx)
		if err != nil {
			return nil, fmt.Errorf("intercept: desired rules: %w", err)
		}
		rep, err := s.Sync(ctx, desired)
		for _, ch := range rep.Repaired {
			log.LogAttrs(ctx, slog.LevelWarn, "intercept rule drift repaired", slog.String("rule", ch.RuleID),
				slog.String("wecom_rule_id", ch.WeComRuleID), slog.String("detail", ch.Detail))
		}
		for _, ch := range rep.Skipped {
			log.LogAttrs(ctx, slog.LevelWarn, "intercept rule not touched", slog.String("rule", ch.RuleID),
				slog.String("wecom_rule_id", ch.WeComRuleID), slog.String("detail", ch.Detail))
		}
		return rep.Counts(), err
	}
}

// ---- small set helpers ----

const chunkSize = wecom.MaxInterceptRangeNodes

// chunks splits xs into runs of at most chunkSize.
func chunks[T any](xs []T) [][]T {
	var out [][]T
	for len(xs) > 0 {
		n := min(len(xs), chunkSize)
		out = append(out, xs[:n:n])
		xs = xs[n:]
	}
	return out
}

// at is cs[i], or nil past the end.
func at[T any](cs [][]T, i int) []T {
	if i < len(cs) {
		return cs[i]
	}
	return nil
}

// distinct returns the distinct values of xs, sorted, in a new slice.
func distinct[T interface{ ~string | ~int64 }](xs []T) []T {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// distinctFold is distinct for userids, which compare case-insensitively:
// the first spelling of each is kept, ordered by lower case.
func distinctFold(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	var out []string
	for _, x := range xs {
		k := strings.ToLower(x)
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

// minus is the values of a not in b.
func minus[T comparable](a, b []T) []T {
	in := make(map[T]bool, len(b))
	for _, y := range b {
		in[y] = true
	}
	var out []T
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// minusFold is minus for userids, compared case-insensitively.
func minusFold(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, y := range b {
		in[strings.ToLower(y)] = true
	}
	var out []string
	for _, x := range a {
		if !in[strings.ToLower(x)] {
			out = append(out, x)
		}
	}
	return out
}

// cut keeps the first n characters of s.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
