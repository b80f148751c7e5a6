package policy

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// Decide returns the actions ev calls for, given st, at now. It is pure:
// no I/O, no clock but now, no randomness; the same arguments always give
// the same actions in the same order (see the ordering below). It never
// panics, whatever the event (a nil or zero-valued one gives no actions).
//
// What the caller puts in st, by event:
//   - create_user, update_user, delete_user, update_tag, PeopleChanged:
//     People holds every person the event concerns, with Before (nil for
//     create_user) and After (nil for delete_user) and all their
//     Obligations.
//   - NoticePublished: People holds everyone, Before and After both the
//     current snapshot.
//   - template_card_event, text, enter_agent: People holds the member
//     (FromUserName) with their obligations (and, for a click or a text,
//     their attestations); for a click, ContentHash is the hash of the
//     card they were sent; for a reply, Cards holds the cards of their
//     open obligations (IsAckWord says whether a text is a reply to
//     load them for).
//   - change_external_contact, ConsentChecked: Consent is the pair's
//     record (nil if none); People may hold the employee (for their name,
//     language and permit-list membership).
//   - always: Notices (the latest version of each), Settings, and the
//     event's ReceivedAt and DedupKey.
//
// The employee loop: a person in a notice's audience owes its current
// version (CreateObligation + SendCard; Reopen when theirs was cancelled
// because they had left the audience); a newer version supersedes their
// open older ones; leaving the audience or the company cancels the open
// ones; a card click or a reply word acknowledges (Acknowledge, with the
// evidence; a click's UpdateCard carries the latest version of the
// notice, whichever version's card was clicked); entering the app lists
// what is still open. The customer
// loop: a new customer gets the disclosure welcome message, and the pair's
// consent to archiving is recorded, checked and, when refused or missing
// too long, told to the employee and the compliance officers.
//
// Ordering. Actions come sorted by kind, in this order, and within a kind
// by the keys in parentheses:
//
//	RenamePerson         (From, To)
//	CloseObligation      (NoticeID, Version, UserID)
//	CreateObligation     (NoticeID, Version, UserID)
//	Acknowledge          (NoticeID, Version, UserID)
//	RecordConsent        (UserID, ExternalUserID)
//	RecordArchiveWaiting (At)
//	CheckConsent         (UserID, ExternalUserID)
//	SendWelcome          (UserID, ExternalUserID)
//	UpdateCard           (UserID, Notice.ID, Notice.Version)
//	SendCard             (Notice.ID, Notice.Version, Lang, Reason)
//	SendText             (Key)
//	Alert                (Key)
//
// That is: a rename first, so that every later action names the person by
// the new UserID; then what is recorded (closing an old version before
// opening the new one); then what is sent, the time-critical welcome
// message (its code lives 20 s) first. A caller that applies the actions
// in order never sends a message about a record it has not written.
//
// Times in actions are those of the event (Unix seconds, as UTC) or now,
// as given. Times shown to people are strings in Settings.Location, as the
// templates expect them: "2006-01-02 15:04" (At, UpdateCard texts) and
// "2006-01-02" (Due, "" when there is none; the once-a-day keys).
//
// Deciding again. An event is decided again when its processing was cut
// off (a crash, a lost lease) after some of its actions were applied, or
// when it is delivered again after it was applied. That must change
// nothing: now is the event's own time — the caller passes when the
// event was accepted (its queue entry's ReceivedAt, the same on every
// delivery), not the time it happens to be decided at — so that every
// time, key and text derived from now is the same; and what an earlier
// run of the same event recorded is recognised and decided as then: an
// obligation created, reopened or closed at now for the reason this
// decision gives, an attestation with the event's DedupKey, a consent
// checked or notified at now. So Decide on st after any prefix of its
// actions was applied decides the same actions, and after all of them
// (and the people's new facts) were applied, none that it did not decide
// the first time: no message goes out twice or differently.
func Decide(ev Event, st State, now time.Time) []Action {
	var acts []Action
	switch e := ev.(type) {
	case NoticePublished:
		acts = decidePublished(e.Notice, st, now)
	case *NoticePublished:
		if e != nil {
			acts = decidePublished(e.Notice, st, now)
		}
	case PeopleChanged:
		acts = decideMembership(membershipChange{reason: ReasonJoinedAudience}, st, now)
	case *PeopleChanged:
		if e != nil {
			acts = decideMembership(membershipChange{reason: ReasonJoinedAudience}, st, now)
		}
	case ConsentChecked:
		acts = decideConsentChecked(e, st, now)
	case *ConsentChecked:
		if e != nil {
			acts = decideConsentChecked(*e, st, now)
		}
	case *wecom.UserChange:
		if e != nil {
			acts = decideUserChange(e, st, now)
		}
	case *wecom.TagChange:
		if e != nil {
			acts = decideMembership(membershipChange{reason: ReasonJoinedAudience}, st, now)
		}
	case *wecom.TemplateCardEvent:
		if e != nil && e.Event == "template_card_event" {
			acts = decideClick(e, st, now)
		}
	case *wecom.TextMessage:
		if e != nil {
			acts = decideReply(e, st, now)
		}
	case *wecom.EnterAgent:
		if e != nil {
			acts = decideEnter(e, st, now)
		}
	case *wecom.ExternalContactChange:
		if e != nil {
			acts = decideExternalContact(e, st, now)
		}
	case *wecom.MsgAuditNotify:
		if e != nil {
			acts = []Action{RecordArchiveWaiting{At: eventTime(e.CreateTime), Reason: ReasonArchiveWaiting}}
		}
	}
	sortActions(acts)
	return acts
}

// chinaStandardTime is the default of Settings.Location: UTC+8, no
// daylight saving time, as WeCom's users read their clocks. It is never
// changed.
var chinaStandardTime = time.FixedZone("CST", 8*3600)

// location returns the zone of times shown to people.
func (s Settings) location() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return chinaStandardTime
}

// The layouts of times shown to people (the templates' contract: strings,
// already in Settings.Location).
const (
	minuteLayout = "2006-01-02 15:04"
	dayLayout    = time.DateOnly
)

// formatMinute formats t to the minute in s.Location, for texts.
func formatMinute(t time.Time, s Settings) string { return t.In(s.location()).Format(minuteLayout) }

// formatDay formats t's day in s.Location, for texts; "" for the zero
// time (no date).
func formatDay(t time.Time, s Settings) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.location()).Format(dayLayout)
}

// eventTime is a WeCom CreateTime as a time, in UTC.
func eventTime(unix int64) time.Time { return time.Unix(unix, 0).UTC() }

// dedupKey is the event's dedup key as the caller recorded it, or the
// event's own when the caller left it empty.
func dedupKey(st State, ev wecom.Event) string {
	if st.DedupKey != "" {
		return st.DedupKey
	}
	return ev.DedupKey()
}

// current returns the person as they are now: After, or Before when After
// is nil; nil if neither is known.
func (pc PersonChange) current() *Person {
	if pc.After != nil {
		return pc.After
	}
	return pc.Before
}

// personLang is the language of texts to p: theirs, or the default.
func personLang(p *Person, s Settings) string {
	if p != nil && p.Language != "" {
		return p.Language
	}
	return s.DefaultLanguage
}

// cardLang is the language of n's card for p: p's language if n has it,
// else the default language if n has it, else n's first language.
func cardLang(n Notice, p *Person, s Settings) string {
	want := personLang(p, s)
	if len(n.Languages) == 0 {
		return want
	}
	if slices.Contains(n.Languages, want) {
		return want
	}
	if slices.Contains(n.Languages, s.DefaultLanguage) {
		return s.DefaultLanguage
	}
	return n.Languages[0]
}

// english reports whether texts in lang are in English; every other
// language gets Chinese, WeCom's own.
func english(lang string) bool {
	return strings.HasPrefix(strings.ToLower(lang), "en")
}

// latestNotice returns the latest version of the published notice id.
func latestNotice(notices []Notice, id string) (Notice, bool) {
	var (
		best  Notice
		found bool
	)
	for _, n := range notices {
		if n.ID == id && (!found || n.Version > best.Version) {
			best, found = n, true
		}
	}
	return best, found
}

// sortedPeople returns the UserIDs of st.People, sorted.
func sortedPeople(st State) []string {
	ids := make([]string, 0, len(st.People))
	for id := range st.People {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// sortedUnique returns a sorted copy of ids without duplicates or empty
// ones.
func sortedUnique(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// actionRank is each action kind's place in Decide's order.
func actionRank(a Action) int {
	switch a.(type) {
	case RenamePerson:
		return 0
	case CloseObligation:
		return 1
	case CreateObligation:
		return 2
	case Acknowledge:
		return 3
	case RecordConsent:
		return 4
	case RecordArchiveWaiting:
		return 5
	case CheckConsent:
		return 6
	case SendWelcome:
		return 7
	case UpdateCard:
		return 8
	case SendCard:
		return 9
	case SendText:
		return 10
	case Alert:
		return 11
	}
	return 12
}

// compareActions orders actions as Decide documents.
func compareActions(a, b Action) int {
	if c := cmp.Compare(actionRank(a), actionRank(b)); c != 0 {
		return c
	}
	switch x := a.(type) {
	case RenamePerson:
		y := b.(RenamePerson)
		return cmp.Or(cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To))
	case CloseObligation:
		y := b.(CloseObligation)
		return cmp.Or(cmp.Compare(x.NoticeID, y.NoticeID), cmp.Compare(x.Version, y.Version), cmp.Compare(x.UserID, y.UserID))
	case CreateObligation:
		x1, y1 := x.Obligation, b.(CreateObligation).Obligation
		return cmp.Or(cmp.Compare(x1.NoticeID, y1.NoticeID), cmp.Compare(x1.Version, y1.Version), cmp.Compare(x1.UserID, y1.UserID))
	case Acknowledge:
		x1, y1 := x.Attestation, b.(Acknowledge).Attestation
		return cmp.Or(cmp.Compare(x1.NoticeID, y1.NoticeID), cmp.Compare(x1.Version, y1.Version), cmp.Compare(x1.UserID, y1.UserID))
	case RecordConsent:
		x1, y1 := x.Consent, b.(RecordConsent).Consent
		return cmp.Or(cmp.Compare(x1.UserID, y1.UserID), cmp.Compare(x1.ExternalUserID, y1.ExternalUserID))
	case RecordArchiveWaiting:
		return x.At.Compare(b.(RecordArchiveWaiting).At)
	case CheckConsent:
		y := b.(CheckConsent)
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.ExternalUserID, y.ExternalUserID))
	case SendWelcome:
		y := b.(SendWelcome)
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.ExternalUserID, y.ExternalUserID))
	case UpdateCard:
		y := b.(UpdateCard)
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Notice.ID, y.Notice.ID), cmp.Compare(x.Notice.Version, y.Notice.Version))
	case SendCard:
		y := b.(SendCard)
		return cmp.Or(cmp.Compare(x.Notice.ID, y.Notice.ID), cmp.Compare(x.Notice.Version, y.Notice.Version),
			cmp.Compare(x.Lang, y.Lang), cmp.Compare(x.Reason, y.Reason))
	case SendText:
		return cmp.Compare(x.Key, b.(SendText).Key)
	case Alert:
		return cmp.Compare(x.Key, b.(Alert).Key)
	}
	return 0
}

// sortActions sorts acts into Decide's order (stable, so that equal keys
// keep the order they were decided in).
func sortActions(acts []Action) { slices.SortStableFunc(acts, compareActions) }
