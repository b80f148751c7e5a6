package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"time"
)

// The reminder run: reminders on a cadence, overdue marking, escalation to
// leaders and owners, re-attestation. The cron runs it hourly; Remind
// decides, the caller applies.

// Reasons of the reminder run.
const (
	ReasonReminder   Reason = "reminder"   // remind_every_days passed since the card or the last reminder
	ReasonOverdue    Reason = "overdue"    // the due date passed
	ReasonEscalation Reason = "escalation" // reminded escalate_after times and still overdue: leaders and owners are told
	ReasonReattest   Reason = "reattest"   // reattest_days passed since the acknowledgement
)

// The templates the reminder run sends (templates.Catalog).
const (
	// RemindTemplate is the reminder card: a button card with the same
	// button as the notice's card, and text that is the same for everyone
	// (Company, Title, Version, Summary, URL; no due date, no count).
	RemindTemplate = "remind_card"
	// EscalationLeaderTemplate tells a leader which of their direct
	// reports are overdue; EscalationOwnerTemplate tells a notice's
	// compliance owners who is. Markdown; Data: Title, Version, Items
	// (Name, UserID, Due), Part, Parts, Total.
	EscalationLeaderTemplate = "escalation_leader"
	EscalationOwnerTemplate  = "escalation_owner"
)

// Escalation messages are markdown, at most MessageLimit bytes (WeCom's
// limit); a longer list is split into parts, each its own message. The
// title, names and UserIDs are clipped as the digest's are
// (digestField…); the split counts each listed person as its name,
// UserID and due date plus escalationItemOverhead bytes, and reserves
// escalationReserve bytes (and twice the title) for the rest of the text.
// TestEscalationSplit renders the worst case through the real templates.
const (
	MessageLimit           = 2048
	escalationReserve      = 560
	escalationItemOverhead = 24
)

// cadenceSlack lets a reminder go out this much before its cadence has
// fully passed, so that an hourly cron whose start times jitter by
// seconds does not slip every reminder by an hour.
const cadenceSlack = 5 * time.Minute

// ObligationUpdate is an action that changes obligations in place: those
// of UserIDs for one notice version. Update is the change, applied to
// each stored obligation; it returns o unchanged where the action no
// longer applies, so that applying an action twice is applying it once.
type ObligationUpdate interface {
	Action
	Obligations() (noticeID string, version int, userIDs []string)
	Update(o Obligation) Obligation
}

// MarkOverdue: the pending obligations of UserIDs for notice version
// (NoticeID, Version) are overdue, their due date passed.
type MarkOverdue struct {
	NoticeID string
	Version  int
	UserIDs  []string
	At       time.Time
	Reason   Reason
}

// SendReminder sends UserIDs a fresh acknowledgement card for Notice (the
// card they were sent may be days old, its response_code expired):
// Template, with the notice's ButtonKey, so that a click acknowledges as
// the first card's does. Its text is the same for everyone, so notify
// sends it a thousand people a call; Key is the same for everyone
// reminded of the notice that day, so a run made again (after a crash
// between sending and MarkReminded) sends nobody a second.
type SendReminder struct {
	Notice   Notice
	Key      string
	Template string
	Lang     string
	UserIDs  []string
	Reason   Reason
}

// MarkReminded counts the reminder sent at At: Reminders+1 and
// LastRemindedAt = At for each open obligation of UserIDs not counted at
// At or later. It comes after its SendReminder: a crash in between makes
// the next run remind again (notify drops the duplicate), never lose one.
type MarkReminded struct {
	NoticeID string
	Version  int
	UserIDs  []string
	At       time.Time
	Reason   Reason
}

// MarkEscalated records that the leaders and owners were told about the
// open obligations of UserIDs at At (once: only where EscalatedAt is
// zero). It comes after the messages it records.
type MarkEscalated struct {
	NoticeID string
	Version  int
	UserIDs  []string
	At       time.Time
	Reason   Reason
}

// Reattest reopens, in round Round, the obligations of UserIDs still
// acknowledged in round Round-1: pending again, Reason reattest, created
// At, due DueAt (zero: none), no reminders, no escalation, no
// acknowledgement. The earlier round's attestation stays, evidence; the
// new round gets its own.
type Reattest struct {
	NoticeID string
	Version  int
	Round    int
	UserIDs  []string
	At       time.Time
	DueAt    time.Time
	Reason   Reason
}

// Batch is an action that names many people and means the same applied
// to any split of them: the caller may apply it in batches (one send call
// and one audit entry each).
type Batch interface {
	Action
	People() []string
	WithPeople(userIDs []string) Action
}

// Batch implementations.
func (a MarkOverdue) People() []string                 { return a.UserIDs }
func (a MarkOverdue) WithPeople(ids []string) Action   { a.UserIDs = ids; return a }
func (a MarkReminded) People() []string                { return a.UserIDs }
func (a MarkReminded) WithPeople(ids []string) Action  { a.UserIDs = ids; return a }
func (a MarkEscalated) People() []string               { return a.UserIDs }
func (a MarkEscalated) WithPeople(ids []string) Action { a.UserIDs = ids; return a }
func (a Reattest) People() []string                    { return a.UserIDs }
func (a Reattest) WithPeople(ids []string) Action      { a.UserIDs = ids; return a }
func (a SendReminder) People() []string                { return a.UserIDs }
func (a SendReminder) WithPeople(ids []string) Action  { a.UserIDs = ids; return a }
func (a SendCard) People() []string                    { return a.UserIDs }
func (a SendCard) WithPeople(ids []string) Action      { a.UserIDs = ids; return a }

// ActionReason implementations.
func (a MarkOverdue) ActionReason() Reason   { return a.Reason }
func (a SendReminder) ActionReason() Reason  { return a.Reason }
func (a MarkReminded) ActionReason() Reason  { return a.Reason }
func (a MarkEscalated) ActionReason() Reason { return a.Reason }
func (a Reattest) ActionReason() Reason      { return a.Reason }

// Obligations implementations (ObligationUpdate).
func (a MarkOverdue) Obligations() (string, int, []string)   { return a.NoticeID, a.Version, a.UserIDs }
func (a MarkReminded) Obligations() (string, int, []string)  { return a.NoticeID, a.Version, a.UserIDs }
func (a MarkEscalated) Obligations() (string, int, []string) { return a.NoticeID, a.Version, a.UserIDs }
func (a Reattest) Obligations() (string, int, []string)      { return a.NoticeID, a.Version, a.UserIDs }

// Update moves a pending obligation to overdue.
func (a MarkOverdue) Update(o Obligation) Obligation {
	if o.Status == Pending {
		o.Status = Overdue
	}
	return o
}

// Update counts the reminder on an open obligation once.
func (a MarkReminded) Update(o Obligation) Obligation {
	if o.Status.Open() && o.LastRemindedAt.Before(a.At) {
		o.Reminders++
		o.LastRemindedAt = a.At
	}
	return o
}

// Update records the escalation of an open obligation once.
func (a MarkEscalated) Update(o Obligation) Obligation {
	if o.Status.Open() && o.EscalatedAt.IsZero() {
		o.EscalatedAt = a.At
	}
	return o
}

// Update reopens an obligation acknowledged in the previous round.
func (a Reattest) Update(o Obligation) Obligation {
	if o.Status != Acknowledged || o.Round != a.Round-1 {
		return o
	}
	o.Status, o.Reason, o.Round, o.Reopened = Pending, ReasonReattest, a.Round, false
	o.CreatedAt, o.DueAt = a.At, a.DueAt
	o.AcknowledgedAt, o.ClosedReason, o.ClosedAt = time.Time{}, "", time.Time{}
	o.Reminders, o.LastRemindedAt, o.EscalatedAt = 0, time.Time{}, time.Time{}
	return o
}

// Remind decides the reminder run at now. It is pure, like Decide.
//
// notices are the current versions; obligations are their open ones
// (pending, overdue) and, for notices with ReattestDays, their
// acknowledged ones (an obligation of another version is ignored);
// people are the people the obligations name and their direct leaders
// and the notices' owners, as known (someone missing gets the default
// language and has no leaders; someone known to be inactive is neither
// reminded nor escalated nor reopened).
//
// Outside cal's working time Remind decides nothing at all: reminders,
// escalations and overdue marks wait for the next working hour. In
// working time, per notice version:
//
//   - Overdue: a pending obligation whose due date has come is marked
//     overdue (MarkOverdue).
//   - Reminders: an open obligation is reminded when RemindEveryDays
//     (0: never) have passed since it was created or last reminded —
//     never more often, however often the cron runs — until it has had
//     MaxReminders (0: no limit). One SendReminder per language, with a
//     notify key per notice and day, then MarkReminded.
//   - Escalation: an open obligation reminded EscalateAfter times (0:
//     never), whose due date has passed (or that has none), once a full
//     cadence has passed since the last reminder (the last went
//     unanswered), and not escalated yet: each of the person's direct
//     leaders gets a markdown message listing their reports now
//     escalated, and the notice's ComplianceOwners one listing all of
//     them, split into parts of at most MessageLimit bytes; keys per
//     notice, recipient, day and part. Then MarkEscalated, for those
//     someone was told about (a person with neither leaders nor owners
//     to tell stays unescalated).
//   - Re-attestation: an acknowledged obligation whose acknowledgement
//     is ReattestDays (0: never) old is reopened in the next round
//     (Reattest) and the notice's card sent again (SendCard, reason
//     reattest). A run made again at the same now after a crash between
//     the two sends the card again (an open round reopened at now, not
//     reminded): notify drops what was sent.
//
// Ordering: MarkOverdue, Reattest (NoticeID, Version, Round), SendCard
// (Notice, Lang), SendReminder (Notice, Lang), SendText (Notice; the
// leaders by UserID, then the owners by language; parts in order),
// MarkReminded, MarkEscalated (NoticeID, Version). Records come first,
// except the marks that count what was sent, which come after it.
func Remind(notices []Notice, obligations []Obligation, people map[string]Person, cal Calendar, s Settings, now time.Time) []Action {
	if !cal.IsWorkingTime(now) {
		return nil
	}
	byKey := map[noticeVersion]Notice{}
	for _, n := range notices {
		if n.ID != "" {
			byKey[noticeVersion{n.ID, n.Version}] = n
		}
	}
	order := make([]int, len(obligations))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		a, b := obligations[i], obligations[j]
		return cmp.Or(cmp.Compare(a.NoticeID, b.NoticeID), cmp.Compare(a.Version, b.Version), cmp.Compare(a.UserID, b.UserID))
	})
	r := reminding{people: people, s: s, now: now, day: formatDay(now, s), runs: map[noticeVersion]*noticeRun{}}
	for _, i := range order {
		o := obligations[i]
		n, ok := byKey[noticeVersion{o.NoticeID, o.Version}]
		if !ok {
			continue
		}
		r.obligation(n, o)
	}
	return r.actions()
}

// RemindKey is the notify key of n's reminders on day (YYYY-MM-DD in the
// company's zone), ReattestKey that of its re-attestation cards: one a
// day, so that a run made again that day sends nobody a second.
func RemindKey(n Notice, day string) string   { return n.Key() + ":remind:" + day }
func ReattestKey(n Notice, day string) string { return n.Key() + ":reattest:" + day }

// LastReminderKey is the notify key of the last reminder o was sent
// (RemindKey of the day of o.LastRemindedAt in s's zone); false when o
// was never reminded.
func LastReminderKey(o Obligation, s Settings) (string, bool) {
	if o.LastRemindedAt.IsZero() {
		return "", false
	}
	return RemindKey(Notice{ID: o.NoticeID, Version: o.Version}, formatDay(o.LastRemindedAt, s)), true
}

// Actionable reports whether Remind, in working time at now, may act on
// o of notice n: the caller's filter, to load and pass only those (and
// the people they name).
func Actionable(n Notice, o Obligation, now time.Time) bool {
	if o.NoticeID != n.ID || o.Version != n.Version {
		return false
	}
	if o.Status.Open() {
		return overdueDue(o, now) || reminderDue(n, o, now) || EscalationDue(n, o, now) || reattestResend(o, now)
	}
	return reattestDue(n, o, now)
}

// days is n days as a duration.
func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// overdueDue: a pending obligation whose due date has come.
func overdueDue(o Obligation, now time.Time) bool {
	return o.Status == Pending && !o.DueAt.IsZero() && !now.Before(o.DueAt)
}

// reminderDue: an open obligation whose cadence has come round, under
// the cap.
func reminderDue(n Notice, o Obligation, now time.Time) bool {
	if !o.Status.Open() || n.RemindEveryDays <= 0 || (n.MaxReminders > 0 && o.Reminders >= n.MaxReminders) {
		return false
	}
	last := o.CreatedAt
	if o.LastRemindedAt.After(last) {
		last = o.LastRemindedAt
	}
	return now.Sub(last) >= days(n.RemindEveryDays)-cadenceSlack
}

// EscalationDue reports whether Remind, in working time at now, would
// escalate o of notice n (the caller's cue to make sure it knows the
// person's direct leaders and name before it decides): an open
// obligation reminded EscalateAfter times, past its due date, a cadence
// after its last reminder, not escalated yet.
func EscalationDue(n Notice, o Obligation, now time.Time) bool {
	if !o.Status.Open() || n.EscalateAfter <= 0 || o.Reminders < n.EscalateAfter || !o.EscalatedAt.IsZero() {
		return false
	}
	if !o.DueAt.IsZero() && now.Before(o.DueAt) {
		return false
	}
	return n.RemindEveryDays <= 0 || now.Sub(o.LastRemindedAt) >= days(n.RemindEveryDays)-cadenceSlack
}

// reattestDue: an acknowledgement ReattestDays old.
func reattestDue(n Notice, o Obligation, now time.Time) bool {
	return n.ReattestDays > 0 && o.Status == Acknowledged && !o.AcknowledgedAt.IsZero() &&
		!now.Before(o.AcknowledgedAt.Add(days(n.ReattestDays)))
}

// reattestResend: a round reopened by a run at this very now, whose card
// may not have gone out (the run is being made again after a crash).
func reattestResend(o Obligation, now time.Time) bool {
	return o.Status == Pending && o.Reason == ReasonReattest && o.Round > 0 && o.Reminders == 0 && o.CreatedAt.Equal(now)
}

type noticeVersion struct {
	id      string
	version int
}

// noticeRun collects one notice version's decisions.
type noticeRun struct {
	n          Notice
	overdue    []string
	remind     map[string][]string // by language
	reminded   []string
	escalate   []Obligation
	reattest   map[int][]string    // by new round
	reattestTo map[string][]string // cards, by language
}

// reminding is one Remind call.
type reminding struct {
	people map[string]Person
	s      Settings
	now    time.Time
	day    string
	runs   map[noticeVersion]*noticeRun
}

func (r *reminding) run(n Notice) *noticeRun {
	k := noticeVersion{n.ID, n.Version}
	nr := r.runs[k]
	if nr == nil {
		nr = &noticeRun{n: n, remind: map[string][]string{}, reattest: map[int][]string{}, reattestTo: map[string][]string{}}
		r.runs[k] = nr
	}
	return nr
}

// person returns the person as known, nil if unknown.
func (r *reminding) person(userID string) *Person { return lookup(r.people, userID) }

// obligation decides one obligation of n.
func (r *reminding) obligation(n Notice, o Obligation) {
	p := r.person(o.UserID)
	active := p == nil || p.Active
	nr := r.run(n)
	switch {
	case o.Status.Open():
		if overdueDue(o, r.now) {
			nr.overdue = append(nr.overdue, o.UserID)
		}
		if !active {
			return
		}
		if reminderDue(n, o, r.now) {
			lang := cardLang(n, p, r.s)
			nr.remind[lang] = append(nr.remind[lang], o.UserID)
			nr.reminded = append(nr.reminded, o.UserID)
		}
		if EscalationDue(n, o, r.now) {
			nr.escalate = append(nr.escalate, o)
		}
		if reattestResend(o, r.now) {
			lang := cardLang(n, p, r.s)
			nr.reattestTo[lang] = append(nr.reattestTo[lang], o.UserID)
		}
	case reattestDue(n, o, r.now) && active:
		nr.reattest[o.Round+1] = append(nr.reattest[o.Round+1], o.UserID)
		lang := cardLang(n, p, r.s)
		nr.reattestTo[lang] = append(nr.reattestTo[lang], o.UserID)
	}
}

// actions returns the decisions in Remind's order.
func (r *reminding) actions() []Action {
	keys := slices.SortedFunc(maps.Keys(r.runs), func(a, b noticeVersion) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.version, b.version))
	})
	var overdue, reattest, cards, reminders, texts, reminded, escalated []Action
	for _, k := range keys {
		nr := r.runs[k]
		n := nr.n
		if len(nr.overdue) > 0 {
			overdue = append(overdue, MarkOverdue{NoticeID: n.ID, Version: n.Version, UserIDs: nr.overdue, At: r.now, Reason: ReasonOverdue})
		}
		for _, round := range slices.Sorted(maps.Keys(nr.reattest)) {
			var due time.Time
			if n.DueDays > 0 {
				due = r.now.AddDate(0, 0, n.DueDays)
			}
			reattest = append(reattest, Reattest{NoticeID: n.ID, Version: n.Version, Round: round, UserIDs: nr.reattest[round],
				At: r.now, DueAt: due, Reason: ReasonReattest})
		}
		for _, lang := range slices.Sorted(maps.Keys(nr.reattestTo)) {
			cards = append(cards, SendCard{Notice: n, UserIDs: nr.reattestTo[lang], Lang: lang, Reason: ReasonReattest,
				Key: ReattestKey(n, r.day)})
		}
		for _, lang := range slices.Sorted(maps.Keys(nr.remind)) {
			reminders = append(reminders, SendReminder{Notice: n, Key: RemindKey(n, r.day), Template: RemindTemplate,
				Lang: lang, UserIDs: nr.remind[lang], Reason: ReasonReminder})
		}
		if len(nr.reminded) > 0 {
			reminded = append(reminded, MarkReminded{NoticeID: n.ID, Version: n.Version, UserIDs: nr.reminded, At: r.now, Reason: ReasonReminder})
		}
		msgs, told := r.escalation(nr)
		texts = append(texts, msgs...)
		if len(told) > 0 {
			escalated = append(escalated, MarkEscalated{NoticeID: n.ID, Version: n.Version, UserIDs: told, At: r.now, Reason: ReasonEscalation})
		}
	}
	return slices.Concat(overdue, reattest, cards, reminders, texts, reminded, escalated)
}

// escalationItem is one overdue person in an escalation message.
type escalationItem struct {
	userID, name, due string
}

func (it escalationItem) data() map[string]any {
	return map[string]any{"Name": it.name, "UserID": it.userID, "Due": it.due}
}

// escalation makes a notice's escalation messages: one per direct
// leader, one for the owners per language; told are the UserIDs someone
// was told about.
func (r *reminding) escalation(nr *noticeRun) (msgs []Action, told []string) {
	if len(nr.escalate) == 0 {
		return nil, nil
	}
	n := nr.n
	owners := sortedUnique(n.ComplianceOwners)
	ownersByLang := map[string][]string{}
	for _, o := range owners {
		if p := r.person(o); p == nil || p.Active {
			lang := MessageLang(p, r.s)
			ownersByLang[lang] = append(ownersByLang[lang], o)
		}
	}
	byLeader := map[string][]escalationItem{}
	var all []escalationItem
	for _, o := range nr.escalate {
		p := r.person(o.UserID)
		it := escalationItem{userID: clip(o.UserID, digestFieldID), name: clip(o.UserID, digestFieldName), due: formatDay(o.DueAt, r.s)}
		if p != nil && p.Name != "" {
			it.name = clip(p.Name, digestFieldName)
		}
		reached := len(ownersByLang) > 0
		if p != nil {
			for _, l := range sortedUnique(p.DirectLeaders) {
				if lp := r.person(l); l == o.UserID || (lp != nil && !lp.Active) {
					continue
				}
				byLeader[l] = append(byLeader[l], it)
				reached = true
			}
		}
		if reached {
			all = append(all, it)
			told = append(told, o.UserID)
		}
	}
	base := n.Key() + ":escalation:" + r.day
	for _, l := range slices.Sorted(maps.Keys(byLeader)) {
		msgs = append(msgs, r.escalationTexts(n, base+":leader:"+keyPart(l), EscalationLeaderTemplate,
			MessageLang(r.person(l), r.s), []string{l}, byLeader[l])...)
	}
	for _, lang := range slices.Sorted(maps.Keys(ownersByLang)) {
		msgs = append(msgs, r.escalationTexts(n, base+":owners:"+lang, EscalationOwnerTemplate, lang, ownersByLang[lang], all)...)
	}
	return msgs, told
}

// escalationTexts lists items to recipients in parts of at most
// MessageLimit bytes.
func (r *reminding) escalationTexts(n Notice, key, template, lang string, to []string, items []escalationItem) []Action {
	title := clip(n.Title, digestFieldTitle)
	parts := splitItems(items, title)
	out := make([]Action, 0, len(parts))
	for i, part := range parts {
		list := make([]map[string]any, len(part))
		for j, it := range part {
			list[j] = it.data()
		}
		out = append(out, SendText{
			Key:      key + ":" + strconv.Itoa(i+1),
			Template: template,
			Lang:     lang,
			Data: map[string]any{"Title": title, "Version": n.Version, "Items": list,
				"Part": i + 1, "Parts": len(parts), "Total": len(items)},
			UserIDs: to,
			Reason:  ReasonEscalation,
		})
	}
	return out
}

// splitItems splits items into parts that fit a message each.
func splitItems(items []escalationItem, title string) [][]escalationItem {
	budget := max(MessageLimit-escalationReserve-2*len(title), 256)
	var parts [][]escalationItem
	var cur []escalationItem
	used := 0
	for _, it := range items {
		cost := len(it.name) + len(it.userID) + len(it.due) + escalationItemOverhead
		if len(cur) > 0 && used+cost > budget {
			parts = append(parts, cur)
			cur, used = nil, 0
		}
		cur = append(cur, it)
		used += cost
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// MessageLang is the language of a text to p ("en" or "zh-CN"): English
// for those who read it, Chinese for everyone else (the texts exist in
// zh-CN and en). The processor's own texts (alerts) use it too.
func MessageLang(p *Person, s Settings) string {
	if english(personLang(p, s)) {
		return "en"
	}
	return "zh-CN"
}

// keyPart is s if it can be part of a notify key (A-Z a-z 0-9 . _ @ -),
// else a digest of it.
func keyPart(s string) string {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-') {
			sum := sha256.Sum256([]byte(s))
			return "h" + hex.EncodeToString(sum[:8])
		}
	}
	return s
}
