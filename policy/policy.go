// Package policy is wecomply's compliance vocabulary and its decisions.
//
// A Notice is a versioned text that an audience must acknowledge (PIPL:
// monitoring without notice is a violation). Each person in a notice's
// audience owes an Obligation per version; acknowledging it leaves an
// Attestation, the evidence of who saw exactly which text when. A
// customer's chat with an employee may be archived only with the
// customer's Consent.
//
// Decide is pure: it takes an event and the state it needs, and returns
// the Actions the company now owes, each with a Reason. It does no I/O
// and reads no clock; the caller (the processor in main's wiring) loads
// the state, applies the actions idempotently and records them in the
// audit log.
package policy

import (
	"strconv"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// Notice is one version of a notice text, as configured.
type Notice struct {
	ID      string // stable across versions, e.g. "archive"
	Version int    // 1, 2, …; a higher version supersedes the lower ones
	Title   string
	// Template renders the card (templates.Catalog, a button card), in
	// each of Languages (the first is the default).
	Template  string
	Languages []string
	// Summary and URL fill the card: a short text and a link to the full
	// text.
	Summary  string
	URL      string
	Audience Audience
	// DueDays: an obligation is due this many days after it is created.
	DueDays int
	// ReattestDays, if positive: an attestation older than this is due
	// again (the cron issue acts on it).
	ReattestDays int
	// Reminders and escalation, for the cron issue.
	RemindEveryDays  int
	MaxReminders     int
	EscalateAfter    int      // reminders, then the person's direct leaders and the officers are told
	ComplianceOwners []string // UserIDs told about this notice's overdue people
}

// Key is the notice version's identity, e.g. "archive:v3".
func (n Notice) Key() string { return n.ID + ":v" + strconv.Itoa(n.Version) }

// ButtonKey is the key of the acknowledgement button on this version's
// cards: a click's EventKey names the notice version it acknowledges.
func (n Notice) ButtonKey() string { return "ack:" + n.Key() }

// Audience says who must acknowledge a notice. A person is in it if any
// of the set parts includes them.
type Audience struct {
	Everyone    bool
	Departments []int64 // including sub-departments
	Tags        []int64
	Users       []string
	PermitList  bool // members in the session-archive permit list
}

// Includes reports whether p is in the audience. Inactive people (left,
// disabled) never are.
func (a Audience) Includes(p Person) bool {
	if !p.Active {
		return false
	}
	if a.Everyone || (a.PermitList && p.InPermitList) {
		return true
	}
	for _, u := range a.Users {
		if u == p.UserID {
			return true
		}
	}
	for _, d := range a.Departments {
		for _, pd := range p.DepartmentPath {
			if d == pd {
				return true
			}
		}
	}
	for _, t := range a.Tags {
		for _, pt := range p.Tags {
			if t == pt {
				return true
			}
		}
	}
	return false
}

// Person is what policy knows of a member.
type Person struct {
	UserID string
	Name   string
	// Departments are the member's own departments; DepartmentPath adds
	// every ancestor of each (the caller walks the department tree), so
	// that an audience of a department includes its sub-departments.
	Departments    []int64
	DepartmentPath []int64
	Tags           []int64
	InPermitList   bool
	Active         bool     // status 1 (or not activated yet, 4); not left or disabled
	DirectLeaders  []string // for escalation
	Language       string   // "" for the default
}

// ObligationStatus is where an obligation stands.
type ObligationStatus string

// Obligation statuses.
const (
	Pending      ObligationStatus = "pending"
	Acknowledged ObligationStatus = "acknowledged"
	Overdue      ObligationStatus = "overdue"
	Superseded   ObligationStatus = "superseded" // a newer version replaced it before it was acknowledged
	Cancelled    ObligationStatus = "cancelled"  // the person left the audience or the company
)

// Open reports whether the obligation still waits for the person.
func (s ObligationStatus) Open() bool { return s == Pending || s == Overdue }

// Obligation is what one person owes for one notice version.
type Obligation struct {
	UserID         string           `json:"user_id"`
	NoticeID       string           `json:"notice_id"`
	Version        int              `json:"version"`
	Status         ObligationStatus `json:"status"`
	Reason         Reason           `json:"reason"` // why it was created
	CreatedAt      time.Time        `json:"created_at"`
	DueAt          time.Time        `json:"due_at"`
	AcknowledgedAt time.Time        `json:"acknowledged_at,omitzero"`
	ClosedReason   Reason           `json:"closed_reason,omitempty"` // why it was acknowledged, superseded or cancelled
	// ClosedAt is when it was acknowledged, superseded or cancelled (zero
	// while it is open, and in records closed before it was kept:
	// retention then counts from AcknowledgedAt, or keeps the record).
	ClosedAt       time.Time `json:"closed_at,omitzero"`
	Reminders      int       `json:"reminders"`
	LastRemindedAt time.Time `json:"last_reminded_at,omitzero"`
	// EscalatedAt is when the person's leaders and the notice's owners
	// were told they are overdue (zero: not yet).
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
	// Round counts re-attestations: 0 for the first acknowledgement; when
	// reattest_days pass the obligation is reopened in the next round.
	Round int `json:"round,omitempty"`
	// Reopened: it was owed again after it had been cancelled (the person
	// came back into the audience; CreateObligation with Reopen), at
	// CreatedAt. Decide reads it to decide an event that reopened it the
	// same way again.
	Reopened bool `json:"reopened,omitempty"`
}

// Channel is how an acknowledgement reached us.
type Channel string

// Channels.
const (
	ChannelCard  Channel = "card"  // the card's button (template_card_event)
	ChannelReply Channel = "reply" // a reply word in the app chat
)

// Attestation is the evidence of one acknowledgement: who, which notice
// version, exactly which text (its content hash), how, and when by WeCom's
// clock and by ours. There is at most one per person and notice version.
type Attestation struct {
	UserID      string    `json:"user_id"`
	NoticeID    string    `json:"notice_id"`
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"` // of the card the person was sent
	Channel     Channel   `json:"channel"`
	CreateTime  int64     `json:"create_time"` // the event's CreateTime (WeCom's clock)
	ReceivedAt  time.Time `json:"received_at"` // when wecomply accepted the callback
	TaskID      string    `json:"task_id,omitempty"`
	DedupKey    string    `json:"dedup_key"`       // the event's
	Round       int       `json:"round,omitempty"` // the obligation's round it acknowledges
}

// ConsentStatus is a customer's answer to archiving.
type ConsentStatus string

// Consent statuses.
const (
	ConsentUnknown   ConsentStatus = "unknown" // not asked or not answered yet
	ConsentAgreed    ConsentStatus = "agreed"
	ConsentDisagreed ConsentStatus = "disagreed"
)

// Consent is a customer's answer for one (employee, customer) chat.
type Consent struct {
	UserID         string        `json:"user_id"`
	ExternalUserID string        `json:"external_user_id"`
	Status         ConsentStatus `json:"status"`
	Source         string        `json:"source"`               // msg_audit_approved, check_single_agree, …
	ChangedAt      time.Time     `json:"changed_at,omitzero"`  // when the customer answered (WeCom's time)
	AddedAt        time.Time     `json:"added_at,omitzero"`    // when the employee added the customer
	CheckedAt      time.Time     `json:"checked_at,omitzero"`  // the last check_single_agree
	NotifiedAt     time.Time     `json:"notified_at,omitzero"` // when the employee and officers were told
	DeletedAt      time.Time     `json:"deleted_at,omitzero"`  // the relationship ended
	DeleteReason   string        `json:"delete_reason,omitempty"`
}

// Settings are the company-wide choices policy follows.
type Settings struct {
	// AckWords acknowledge the one open obligation when a person replies
	// one of them in the app chat (compared trimmed, case-insensitively).
	AckWords []string
	// Officers are the compliance officers alerted about consent
	// refusals.
	Officers []string
	// ConsentGrace is how long a customer may leave archiving unanswered
	// before the employee and the officers are told.
	ConsentGrace time.Duration
	// DefaultLanguage of texts to people whose language is unknown.
	DefaultLanguage string
	// Company names the company in texts.
	Company string
	// WelcomeTemplate is the template of the disclosure welcome message to
	// a new customer; "" sends none.
	WelcomeTemplate string
	// ConsentPolicy and ConsentPolicyURL tell an employee what to do when
	// a customer declines archiving (or has not agreed): the text and the
	// link of the consent_employee message.
	ConsentPolicy    string
	ConsentPolicyURL string
	// Location is the time zone of times shown to people (acknowledgement
	// times, due dates) and of the day in once-a-day keys; nil is China
	// Standard Time (UTC+8, no daylight saving time).
	Location *time.Location
}

// Event is what Decide decides about: a WeCom event (wecom.Event) or one
// of wecomply's synthetic events (NoticePublished, PeopleChanged,
// ConsentChecked).
type Event interface {
	Kind() string
}

var _ Event = wecom.Event(nil)

// NoticePublished: a notice version was published (start-up or config
// reload); everyone in its audience owes it.
type NoticePublished struct {
	Notice Notice
}

// Kind implements Event.
func (NoticePublished) Kind() string { return "policy.notice_published" }

// PeopleChanged: reconciliation or the archive permit list found people
// whose facts changed without a callback; State.People holds them before
// and after.
type PeopleChanged struct {
	Source string // e.g. "permit_list", "reconcile"
}

// Kind implements Event.
func (PeopleChanged) Kind() string { return "policy.people_changed" }

// ConsentChecked: check_single_agree (or check_room_agree) answered for
// a pair; Status is ConsentUnknown when WeCom knows no answer yet.
type ConsentChecked struct {
	UserID, ExternalUserID string
	Status                 ConsentStatus
	ChangedAt              time.Time
}

// Kind implements Event.
func (ConsentChecked) Kind() string { return "policy.consent_checked" }

// PersonChange is one person as known before an event and after it. Before
// is nil for someone new; After is nil for someone deleted.
type PersonChange struct {
	Before, After *Person
	// Obligations are the person's obligations, every status, every
	// version.
	Obligations []Obligation
	// Attestations are the person's attestations, for a click or a reply
	// (to recognise one this very event recorded before); nil for the
	// other events.
	Attestations []Attestation
}

// State is everything Decide may look at. The caller fills what the
// event needs (see Decide).
type State struct {
	// Notices are the published notices, the latest version of each.
	Notices  []Notice
	Settings Settings
	// People are the people the event is about, by UserID.
	People map[string]PersonChange
	// Consent is the (employee, customer) pair of an external-contact
	// event, nil if none is recorded yet.
	Consent *Consent
	// CustomerName is the customer's name, when known, for texts.
	CustomerName string
	// Received is the event's receipt: when wecomply accepted it and its
	// dedup key (for evidence).
	ReceivedAt time.Time
	DedupKey   string
	// ContentHash is the content hash of the card a click answers (what
	// the person was sent), when known.
	ContentHash string
	// Cards are, for a reply, the cards the member was sent for their open
	// obligations, by the notice version's Key(), when known: a reply
	// acknowledges with its card's content hash and greys out its button
	// as a click would.
	Cards map[string]SentCard
}

// SentCard is a notice card as it was sent to one member: the content
// hash of what they were shown, and the send's response_code (valid 72 h,
// usable once) that update_template_card needs; "" when the send gave
// none.
type SentCard struct {
	ContentHash  string
	ResponseCode string
}
