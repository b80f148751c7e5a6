package policy

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The daily digest: what the compliance officers and the notices' owners
// read each morning. The cron runs it once a day; Digest decides, the
// caller loads and applies.

// ReasonDigest is the reason of the digest's messages.
const ReasonDigest Reason = "digest"

// DigestTemplate is the digest's markdown template (templates.Catalog).
// Data: Day, Since, Until, Part, Parts, AllClear and Sections, each a map
// with Kind ("coverage", "departments", "refusals", "failures",
// "dead_letters"), Total, More, MoreCount, Continued and Items (see
// digestSection).
const DigestTemplate = "digest"

// DigestWindow is how far back a digest looks for consent refusals and
// failed deliveries when no earlier digest was made: the day since the
// previous daily run. The cron's digest job reports since the activation
// of the last digest made instead (processor.DigestSince), so that a day
// missed while no replica ran, or whose run failed, is reported by the
// next; either way a run made again at the same now, on any replica,
// reports exactly the same window.
const DigestWindow = 24 * time.Hour

// MaxDigestWindow is the longest window a digest reports on: after a
// longer gap the admin API has the rest.
const MaxDigestWindow = 14 * 24 * time.Hour

// The digest's lists are short: a digest is read, not searched. What is
// left out is counted ("… and 12 more").
const (
	digestMaxDepartments = 30
	digestMaxRefusals    = 20
	digestMaxFailures    = 20
)

// The digest's size model: every field is cut to a bounded number of
// bytes (digestField…), each listed line costs its fields plus its kind's
// overhead (the template's fixed text for the line, in the longer
// language, with room to spare), each section that starts in a part costs
// digestSectionCost, and digestReserve is kept for the part's heading,
// window and all-clear line. TestDigestWorstCase renders the largest
// digest through the real templates to prove a part never exceeds
// MessageLimit.
const (
	digestReserve     = 300
	digestSectionCost = 110

	digestFieldTitle = 96
	digestFieldName  = 48
	digestFieldID    = 64

	digestCoverageOverhead   = 190
	digestDepartmentOverhead = 48
	digestRefusalOverhead    = 70
	digestFailureOverhead    = 90
	digestDeadLetterOverhead = 140
	digestAlertsOverhead     = 260
)

// DigestCoverage counts one notice version's obligations as they stood
// at the digest's now.
type DigestCoverage struct {
	Acknowledged int
	Open         int // pending or overdue (Overdue is part of Open)
	Overdue      int
	// Created counts every obligation created by now, whatever its status
	// (superseded and cancelled ones too): none means the version was not
	// yet published to anyone at now (see Published).
	Created int
}

// Published reports whether anyone owed the version at the digest's now.
// A version published after now (a digest caught up at start-up for the
// morning's activation, before the notice published at start-up) or
// whose publish job has not run yet is not: the digest says so instead
// of reporting "0/0" as if its audience had nothing left to acknowledge.
func (c DigestCoverage) Published() bool {
	return c.Created > 0 || c.Acknowledged+c.Open > 0
}

// Add counts o as it stood at now and reports whether it was overdue
// then. The count is the same whenever it is made for the same now: an
// obligation created after now is not counted, one acknowledged after
// now counts as open, and overdue means open with its due date come (or
// marked overdue). Superseded and cancelled obligations count only in
// Created.
func (c *DigestCoverage) Add(o Obligation, now time.Time) (overdue bool) {
	if o.CreatedAt.After(now) {
		return false
	}
	c.Created++
	switch {
	case o.Status == Acknowledged && !o.AcknowledgedAt.After(now):
		c.Acknowledged++
		return false
	case o.Status.Open() || o.Status == Acknowledged:
		c.Open++
		if o.Status == Overdue || (!o.DueAt.IsZero() && !now.Before(o.DueAt)) {
			c.Overdue++
			return true
		}
	}
	return false
}

// FailedDelivery is one recipient a notice's card or reminder could not
// be delivered to: Status is the send result's ("failed", "invalid",
// "unlicensed"). Its error text is never shown (it is for the admin API).
type FailedDelivery struct {
	NoticeID string
	Version  int
	UserID   string
	Status   string
	At       time.Time
}

// DigestInput is what a digest reports, as the caller loaded it.
type DigestInput struct {
	// Since is the start of the window (exclusive); now is its end. The
	// caller uses now - DigestWindow.
	Since time.Time
	// Notices are the current notice versions.
	Notices []Notice
	// Coverage counts each notice's obligations (DigestCoverage.Add), by
	// Notice.Key().
	Coverage map[string]DigestCoverage
	// OverdueByDepartment counts the overdue obligations by the
	// department of the person who owes them (DigestDepartment).
	// DepartmentNames names those known.
	OverdueByDepartment map[int64]int
	DepartmentNames     map[int64]string
	// Refusals are recorded refusals (ConsentDisagreed); those recorded in
	// the window are reported (see RefusedAt).
	Refusals []Consent
	// Failures are failed deliveries of the notices' cards and reminders
	// (DigestDeliveryKeys); those of the window are reported.
	Failures []FailedDelivery
	// People are the recipients (officers, owners) and the people listed,
	// as known: names, languages, whether active. Someone missing gets the
	// default language and is shown by UserID.
	People map[string]Person
	// AlreadySent are the recipients who were sent the day's digest by a
	// run for an earlier now (a second activation the same day): they get
	// nothing more that day.
	AlreadySent map[string]bool
	// DeadLetters counts the dead letters that died by now (events that
	// failed every attempt, waiting for an operator to retry or drop
	// them), and OldestDeadLetter is when the first of them died. A dead
	// letter retried or dropped between a run and the run made again for
	// the same now (a takeover) is not counted by the second: the only
	// count the digest cannot give as it stood at now.
	DeadLetters      int
	OldestDeadLetter time.Time
	// Alerts counts the supervision alerts waiting for review at now.
	Alerts DigestAlerts
}

// DigestAlerts counts the supervision alerts not yet decided: open ones
// and escalated ones, by severity (low, medium, high, critical) and by
// age since raised (Ages: under a day, under three days, under a week,
// older: Ages[i] counts those younger than DigestAlertAges[i] and not an
// earlier bucket; the last counts the rest).
type DigestAlerts struct {
	Open, Escalated int
	BySeverity      map[string]int
	Ages            [len(DigestAlertAges) + 1]int
}

// DigestAlertAges are the age bounds DigestAlerts.Ages counts by.
var DigestAlertAges = [...]time.Duration{24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}

// RefusedAt is when a refusal was recorded: when the employee and the
// officers were told of it, else when the customer answered, else when
// it was last checked.
func RefusedAt(c Consent) time.Time {
	for _, t := range []time.Time{c.NotifiedAt, c.ChangedAt, c.CheckedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// DigestKey is the notify key of part (1, 2, …) of the digest of now's
// day (in s.Location) in lang.
func DigestKey(now time.Time, lang string, part int, s Settings) string {
	return "digest:" + formatDay(now, s) + ":" + lang + ":" + strconv.Itoa(part)
}

// digestLanguages are the languages digests are written in (MessageLang).
var digestLanguages = [...]string{"en", "zh-CN"}

// DigestLanguages returns the languages a digest may be sent in (the
// languages of DigestKey).
func DigestLanguages() []string { return slices.Clone(digestLanguages[:]) }

// DigestDeliveryKeys are the notify keys whose failed deliveries n's
// digest line counts for the window (since, now]: the card's (n.Key())
// and the reminders' and re-attestation cards' of each day of the window
// (Remind's keys).
func DigestDeliveryKeys(n Notice, since, now time.Time, s Settings) []string {
	keys := []string{n.Key()}
	loc := s.location()
	last := formatDay(now, s)
	d := since.In(loc)
	d = time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, loc)
	for i := 0; i < 400; i++ {
		day := formatDay(d, s)
		keys = append(keys, RemindKey(n, day), ReattestKey(n, day))
		if day >= last {
			break
		}
		d = d.AddDate(0, 0, 1)
	}
	return keys
}

// Digest decides the digest at now. It is pure, like Decide.
//
// Recipients are s.Officers and every notice's ComplianceOwners, once
// each, less those known to be inactive and those in in.AlreadySent; all
// get the same digest in their language (English for those who read it,
// Chinese for everyone else), as one or more markdown messages: the
// coverage of each notice (acknowledged, open, overdue, failed
// deliveries in the window), the overdue obligations by department
// (largest first), the consent refusals recorded in the window and the
// failed deliveries in it (each list short, the rest counted), and, when
// there are any, how many dead letters wait and since when, and how many
// supervision alerts wait for review, by severity and age. A notice
// nobody owed at now (not yet published, DigestCoverage.Published) is
// said to be so, not counted "0/0". When there is nothing to act on
// (every notice published, nothing overdue, no refusal, no failure, no
// dead letter, no alert to review) the digest says "all clear": officers expect a daily heartbeat, and its
// absence then means the digest itself is broken.
//
// A message is at most MessageLimit bytes; a longer digest is split into
// parts ("1/3"), each with its heading. Keys are DigestKey (day,
// language, part), so a run made again for the same now sends nobody a
// second copy (notify drops the same content under the same key), and
// the order is by language, then part.
func Digest(in DigestInput, s Settings, now time.Time) []Action {
	byLang := map[string][]string{}
	var recipients []string
	recipients = append(recipients, s.Officers...)
	for _, n := range in.Notices {
		recipients = append(recipients, n.ComplianceOwners...)
	}
	for _, u := range sortedUnique(recipients) {
		p := lookup(in.People, u)
		if (p != nil && !p.Active) || in.AlreadySent[u] {
			continue
		}
		lang := MessageLang(p, s)
		byLang[lang] = append(byLang[lang], u)
	}
	if len(byLang) == 0 {
		return nil
	}
	d := newDigest(in, s, now)
	var out []Action
	parts := d.split() // the same in every language: the data, not the text
	for _, lang := range slices.Sorted(maps.Keys(byLang)) {
		for i, part := range parts {
			data := map[string]any{
				"Day": formatDay(now, s), "Since": formatMinute(in.Since, s), "Until": formatMinute(now, s),
				"Part": i + 1, "Parts": len(parts), "AllClear": d.allClear && i == 0, "Sections": part,
			}
			out = append(out, SendText{Key: DigestKey(now, lang, i+1, s), Template: DigestTemplate, Lang: lang,
				Data: data, UserIDs: byLang[lang], Reason: ReasonDigest})
		}
	}
	return out
}

// DigestDepartment is the department a person's overdue obligations are
// counted under in the digest: the lowest of their department ids (most
// members are in one; the order they are listed in differs between WeCom
// APIs, so "the first" would depend on which one last told us); 0 when
// the person or their departments are unknown.
func DigestDepartment(people map[string]Person, userID string) int64 {
	if p := lookup(people, userID); p != nil && len(p.Departments) > 0 {
		return slices.Min(p.Departments)
	}
	return 0
}

// lookup returns the person as known, nil if unknown.
func lookup(people map[string]Person, userID string) *Person {
	if p, ok := people[userID]; ok {
		return &p
	}
	return nil
}

// digestLine is one listed line of a section and what it costs.
type digestLine struct {
	data map[string]any
	cost int
}

// digestSection is one section of the digest, before splitting.
type digestSection struct {
	kind      string
	total     int // what the section counts in all
	more      int // lines left out
	moreCount int // what those lines counted
	lines     []digestLine
}

// digest is a digest's content, the same in every language.
type digest struct {
	sections []digestSection
	allClear bool
}

func newDigest(in DigestInput, s Settings, now time.Time) digest {
	notices := slices.SortedFunc(slices.Values(in.Notices), func(a, b Notice) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version))
	})
	byKey := map[noticeVersion]Notice{}
	for _, n := range notices {
		byKey[noticeVersion{n.ID, n.Version}] = n
	}
	name := func(userID string) string {
		if p := lookup(in.People, userID); p != nil && p.Name != "" {
			return clip(p.Name, digestFieldName)
		}
		return clip(userID, digestFieldName)
	}

	// Failed deliveries of the window, by notice.
	var failures []FailedDelivery
	failedBy := map[noticeVersion]int{}
	for _, f := range in.Failures {
		if _, ok := byKey[noticeVersion{f.NoticeID, f.Version}]; !ok || !inWindow(f.At, in.Since, now) {
			continue
		}
		failures = append(failures, f)
		failedBy[noticeVersion{f.NoticeID, f.Version}]++
	}
	slices.SortFunc(failures, func(a, b FailedDelivery) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.NoticeID, b.NoticeID), cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Status, b.Status))
	})
	failures = slices.CompactFunc(failures, func(a, b FailedDelivery) bool { return a == b })

	var d digest
	overdue, unpublished := 0, 0

	cov := digestSection{kind: "coverage", total: len(notices)}
	for _, n := range notices {
		c := in.Coverage[n.Key()]
		overdue += c.Overdue
		if !c.Published() {
			unpublished++
		}
		total := c.Acknowledged + c.Open
		percent := 0
		if total > 0 {
			percent = c.Acknowledged * 100 / total
		}
		title := clip(n.Title, digestFieldTitle)
		cov.lines = append(cov.lines, digestLine{
			data: map[string]any{"Title": title, "Version": n.Version, "Published": c.Published(), "Acknowledged": c.Acknowledged, "Total": total,
				"Percent": percent, "Open": c.Open, "Overdue": c.Overdue, "Failed": failedBy[noticeVersion{n.ID, n.Version}]},
			cost: len(title) + digestCoverageOverhead,
		})
	}
	d.sections = append(d.sections, cov)

	depts := digestSection{kind: "departments"}
	ids := slices.Collect(maps.Keys(in.OverdueByDepartment))
	ids = slices.DeleteFunc(ids, func(id int64) bool { return in.OverdueByDepartment[id] <= 0 })
	slices.SortFunc(ids, func(a, b int64) int {
		return cmp.Or(cmp.Compare(in.OverdueByDepartment[b], in.OverdueByDepartment[a]),
			cmp.Compare(in.DepartmentNames[a], in.DepartmentNames[b]), cmp.Compare(a, b))
	})
	for i, id := range ids {
		count := in.OverdueByDepartment[id]
		depts.total += count
		if i >= digestMaxDepartments {
			depts.more++
			depts.moreCount += count
			continue
		}
		dn := clip(in.DepartmentNames[id], digestFieldName)
		depts.lines = append(depts.lines, digestLine{
			data: map[string]any{"Name": dn, "ID": id, "Count": count},
			cost: len(dn) + digestDepartmentOverhead,
		})
	}
	d.sections = append(d.sections, depts)

	refusals := slices.DeleteFunc(slices.Clone(in.Refusals), func(c Consent) bool {
		return c.Status != ConsentDisagreed || !inWindow(RefusedAt(c), in.Since, now)
	})
	slices.SortFunc(refusals, func(a, b Consent) int {
		return cmp.Or(RefusedAt(a).Compare(RefusedAt(b)), cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.ExternalUserID, b.ExternalUserID))
	})
	ref := digestSection{kind: "refusals", total: len(refusals)}
	for i, c := range refusals {
		if i >= digestMaxRefusals {
			ref.more++
			continue
		}
		item := map[string]any{"Name": name(c.UserID), "UserID": clip(c.UserID, digestFieldID),
			"Customer": clip(c.ExternalUserID, digestFieldID), "At": formatMinute(RefusedAt(c), s)}
		ref.lines = append(ref.lines, digestLine{data: item, cost: fieldsCost(item) + digestRefusalOverhead})
	}
	d.sections = append(d.sections, ref)

	fail := digestSection{kind: "failures", total: len(failures)}
	for i, f := range failures {
		if i >= digestMaxFailures {
			fail.more++
			continue
		}
		item := map[string]any{"Title": clip(byKey[noticeVersion{f.NoticeID, f.Version}].Title, digestFieldTitle),
			"Version": f.Version, "Name": name(f.UserID), "UserID": clip(f.UserID, digestFieldID),
			"Status": clip(f.Status, 16), "At": formatMinute(f.At, s)}
		fail.lines = append(fail.lines, digestLine{data: item, cost: fieldsCost(item) + digestFailureOverhead})
	}
	d.sections = append(d.sections, fail)

	if in.DeadLetters > 0 {
		d.sections = append(d.sections, digestSection{kind: "dead_letters", total: in.DeadLetters, lines: []digestLine{{
			data: map[string]any{"Count": in.DeadLetters, "Oldest": formatDay(in.OldestDeadLetter, s)},
			cost: digestDeadLetterOverhead,
		}}})
	}

	if a := in.Alerts; a.Open+a.Escalated > 0 {
		d.sections = append(d.sections, digestSection{kind: "alerts", total: a.Open + a.Escalated, lines: []digestLine{{
			data: map[string]any{"Open": a.Open, "Escalated": a.Escalated,
				"Critical": a.BySeverity["critical"], "High": a.BySeverity["high"], "Medium": a.BySeverity["medium"], "Low": a.BySeverity["low"],
				"Day": a.Ages[0], "ThreeDays": a.Ages[1], "Week": a.Ages[2], "Older": a.Ages[3]},
			cost: digestAlertsOverhead,
		}}})
	}

	d.allClear = unpublished == 0 && overdue == 0 && len(refusals) == 0 && len(failures) == 0 && in.DeadLetters == 0 &&
		in.Alerts.Open+in.Alerts.Escalated == 0
	return d
}

// inWindow reports whether t is in (since, now].
func inWindow(t, since, now time.Time) bool {
	return !t.IsZero() && t.After(since) && !t.After(now)
}

// fieldsCost is the bytes of an item's string fields.
func fieldsCost(item map[string]any) int {
	n := 0
	for _, v := range item {
		if s, ok := v.(string); ok {
			n += len(s)
		}
	}
	return n
}

// clip cuts s to at most max bytes of whole UTF-8 characters, marking a
// cut with "…".
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// split lays the sections out in parts of at most MessageLimit bytes
// each: a section that does not fit goes on in the next part (Continued),
// its heading repeated; the count of what was left out comes with the
// section's last line.
func (d digest) split() [][]map[string]any {
	budget := MessageLimit - digestReserve
	var parts [][]map[string]any
	var cur []map[string]any
	used := 0
	flush := func() {
		parts = append(parts, cur)
		cur, used = nil, 0
	}
	for _, sec := range d.sections {
		var items []map[string]any
		start := func(continued bool) {
			items = []map[string]any{}
			cur = append(cur, map[string]any{"Kind": sec.kind, "Total": sec.total, "More": 0, "MoreCount": 0,
				"Continued": continued, "Items": items})
			used += digestSectionCost
		}
		setItems := func() { cur[len(cur)-1]["Items"] = items }
		if len(cur) > 0 && used+digestSectionCost > budget {
			flush()
		}
		start(false)
		for _, l := range sec.lines {
			if len(items) > 0 && used+l.cost > budget {
				setItems()
				flush()
				start(true)
			}
			items = append(items, l.data)
			used += l.cost
		}
		setItems()
		cur[len(cur)-1]["More"], cur[len(cur)-1]["MoreCount"] = sec.more, sec.moreCount
	}
	if len(cur) > 0 {
		flush()
	}
	return parts
}
