package policy

import "time"

// Reason says why an action was decided (and why an obligation was
// created or closed). Its String is stable: it is stored and shown.
type Reason string

// Reasons.
const (
	ReasonNewMember        Reason = "new_member"           // create_user put them in the audience
	ReasonJoinedAudience   Reason = "joined_audience"      // a department, tag or permit-list change put them in
	ReasonLeftAudience     Reason = "left_audience"        // … took them out
	ReasonMemberDeleted    Reason = "member_deleted"       // delete_user, or they left the company
	ReasonNewVersion       Reason = "new_version"          // a new version was published
	ReasonPublished        Reason = "published"            // a notice was published: its whole audience owes it
	ReasonCardClicked      Reason = "card_clicked"         // the card's button
	ReasonReplyAck         Reason = "reply_ack"            // a reply word
	ReasonAlreadyAcked     Reason = "already_acknowledged" // a second click or reply
	ReasonStaleVersion     Reason = "stale_version"        // a click on an older version's card
	ReasonUnknownCard      Reason = "unknown_card"         // a click we cannot match to an obligation
	ReasonAmbiguousReply   Reason = "ambiguous_reply"      // a reply word with several open obligations
	ReasonNothingOpen      Reason = "nothing_open"         // a reply word with none open
	ReasonOpenReminder     Reason = "open_on_enter"        // enter_agent with open obligations
	ReasonCustomerAdded    Reason = "customer_added"       // add_external_contact / add_half_external_contact
	ReasonConsentAgreed    Reason = "consent_agreed"
	ReasonConsentDisagreed Reason = "consent_disagreed"
	ReasonConsentMissing   Reason = "consent_missing" // not answered within the grace period
	ReasonConsentChecked   Reason = "consent_checked" // check_single_agree knows no answer yet (still within the grace period)
	ReasonContactDeleted   Reason = "contact_deleted" // del_external_contact, del_follow_user
	ReasonTransferFailed   Reason = "transfer_failed"
	ReasonArchiveWaiting   Reason = "archive_waiting" // msgaudit_notify
	ReasonUserRenamed      Reason = "user_renamed"    // update_user with NewUserID
)

// String implements fmt.Stringer.
func (r Reason) String() string { return string(r) }

// Action is something Decide says the company now owes or must record.
// Every action is one of the types below; each carries its Reason.
type Action interface {
	ActionReason() Reason
}

// CreateObligation: Obligation (pending, with its due date) is now owed.
// Applying it is idempotent on (UserID, NoticeID, Version).
type CreateObligation struct {
	Obligation Obligation
	// Reopen: the person's obligation for this version exists but was
	// cancelled (they left the audience and are back in it). Applying
	// replaces that cancelled obligation with Obligation, pending again;
	// an obligation in any other status is never replaced, so applying
	// stays idempotent.
	Reopen bool
}

// CloseObligation moves an open obligation to Status (superseded or
// cancelled) for Reason.
type CloseObligation struct {
	UserID   string
	NoticeID string
	Version  int
	Status   ObligationStatus
	Reason   Reason
	At       time.Time
}

// Acknowledge records Attestation and marks the obligation acknowledged.
// At most one attestation exists per (UserID, NoticeID, Version): applying
// a second is a no-op.
type Acknowledge struct {
	Attestation Attestation
	Reason      Reason
}

// SendCard sends Notice's acknowledgement card to UserIDs (one notify
// notice per notice version: its Key, its ButtonKey).
type SendCard struct {
	Notice  Notice
	UserIDs []string
	Lang    string
	Reason  Reason
	// Key is the notify key; "" is the notice's, Notice.Key(). A card
	// sent again (re-attestation) needs its own: under the first card's
	// key, the same text (no due date, or the same one) would be dropped
	// as already sent.
	Key string
}

// UpdateCard turns the clicked card into its acknowledged state (or says
// why not) through update_template_card with the click's ResponseCode,
// for UserID only.
type UpdateCard struct {
	UserID       string
	ResponseCode string
	Notice       Notice
	// Text is what the greyed-out button says, e.g. "已确认 2026-11-23
	// 10:15" / "Acknowledged at …", or why the card is stale.
	Text   string
	Reason Reason
}

// SendText sends a text or markdown notice from Template with Data to
// UserIDs. Key is the notify key (same key and content: sent once).
type SendText struct {
	Key      string
	Template string
	Lang     string
	Data     map[string]any
	UserIDs  []string
	Reason   Reason
}

// SendWelcome sends the disclosure welcome message to a new customer with
// the add event's WelcomeCode, before Deadline (the code's 20 s).
type SendWelcome struct {
	WelcomeCode    string
	UserID         string
	ExternalUserID string
	Template       string
	Lang           string
	Data           map[string]any
	Deadline       time.Time
	Reason         Reason
}

// CheckConsent asks WeCom (check_single_agree) for the pair's consent;
// the answer comes back as a ConsentChecked event.
type CheckConsent struct {
	UserID, ExternalUserID string
	Reason                 Reason
}

// RecordConsent stores Consent (replacing the pair's record).
type RecordConsent struct {
	Consent Consent
	Reason  Reason
}

// Alert tells compliance Officers (and the employee, in Employee…)
// about a customer's consent.
type Alert struct {
	Key      string // notify key: one alert per key
	UserIDs  []string
	Template string
	Lang     string
	Data     map[string]any
	Reason   Reason
}

// RecordArchiveWaiting notes that new archived messages are waiting
// (msgaudit_notify) and hands them to the archive puller.
type RecordArchiveWaiting struct {
	At     time.Time
	Reason Reason
}

// RenamePerson moves a person's records to their new UserID.
type RenamePerson struct {
	From, To string
	Reason   Reason
}

// ActionReason implementations.
func (a CreateObligation) ActionReason() Reason     { return a.Obligation.Reason }
func (a CloseObligation) ActionReason() Reason      { return a.Reason }
func (a Acknowledge) ActionReason() Reason          { return a.Reason }
func (a SendCard) ActionReason() Reason             { return a.Reason }
func (a UpdateCard) ActionReason() Reason           { return a.Reason }
func (a SendText) ActionReason() Reason             { return a.Reason }
func (a SendWelcome) ActionReason() Reason          { return a.Reason }
func (a CheckConsent) ActionReason() Reason         { return a.Reason }
func (a RecordConsent) ActionReason() Reason        { return a.Reason }
func (a Alert) ActionReason() Reason                { return a.Reason }
func (a RecordArchiveWaiting) ActionReason() Reason { return a.Reason }
func (a RenamePerson) ActionReason() Reason         { return a.Reason }
