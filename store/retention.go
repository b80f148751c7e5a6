package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Hold is a legal hold: while it is in force, retention purges no record
// that names its Subject (a member's UserID, a customer's ExternalUserID
// or a notice's id). A hold names one subject; a case that covers several
// people is several holds.
type Hold struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	// Reason says why (a case or request number); it is shown to
	// admins and written to the audit log, so it should name the case,
	// not its content.
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt, when set, ends the hold by itself: from then on it no
	// longer protects anything (it stays listed until it is released).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Active reports whether h protects its subject at now.
func (h Hold) Active(now time.Time) bool {
	return h.ExpiresAt.IsZero() || now.Before(h.ExpiresAt)
}

// Hold field limits, checked by CheckHold.
const (
	MaxHoldIDLen      = 128
	MaxHoldSubjectLen = 256
	MaxHoldReasonLen  = 1024
)

// CheckHold checks what PutHold stores: an ID and a Subject, each
// non-empty UTF-8 within its length limit, a Reason, and a CreatedAt.
// The error names the JSON member at fault (HoldError).
func CheckHold(h Hold) error {
	check := func(field, v string, max int, required bool) error {
		switch {
		case v == "" && required:
			return &HoldError{Field: field, Problem: "is required"}
		case len(v) > max:
			return &HoldError{Field: field, Problem: fmt.Sprintf("is longer than %d bytes", max)}
		case !utf8.ValidString(v):
			return &HoldError{Field: field, Problem: "is not UTF-8"}
		}
		return nil
	}
	if err := check("id", h.ID, MaxHoldIDLen, true); err != nil {
		return err
	}
	if err := check("subject", h.Subject, MaxHoldSubjectLen, true); err != nil {
		return err
	}
	if err := check("reason", h.Reason, MaxHoldReasonLen, true); err != nil {
		return err
	}
	if err := check("created_by", h.CreatedBy, MaxHoldSubjectLen, false); err != nil {
		return err
	}
	if h.CreatedAt.IsZero() {
		return &HoldError{Field: "created_at", Problem: "is required"}
	}
	if !h.ExpiresAt.IsZero() && !h.ExpiresAt.After(h.CreatedAt) {
		return &HoldError{Field: "expires_at", Problem: "must be after created_at"}
	}
	return nil
}

// HoldError is a hold that CheckHold refuses; Field is the JSON member.
type HoldError struct {
	Field   string
	Problem string
}

func (e *HoldError) Error() string { return "hold: " + e.Field + " " + e.Problem }

// Holds keeps the legal holds.
type Holds interface {
	// PutHold stores h (checked with CheckHold) unless a hold with its ID
	// exists; it reports whether it did. Creating is idempotent on the
	// ID: a client that retries gets created false and the hold as first
	// stored stays.
	PutHold(ctx context.Context, h Hold) (created bool, err error)
	// GetHold returns one hold, or ErrNotFound.
	GetHold(ctx context.Context, id string) (Hold, error)
	// ListHolds returns every hold, ordered by ID. (Holds are few: a
	// handful of open cases, never a page of thousands.)
	ListHolds(ctx context.Context) ([]Hold, error)
	// DeleteHold releases a hold and returns it as it was; ErrNotFound
	// if there is none.
	DeleteHold(ctx context.Context, id string) (Hold, error)
}

// RecordKind names a kind of record that retention purges.
type RecordKind string

// Record kinds with a retention. Each has a time the retention counts
// from and the subjects a hold may name:
//
//	event_log     ReceivedAt                    user_id, external_user_id, from_user, new_user_id, chat_id fields
//	attestations  ReceivedAt                    UserID, NoticeID
//	consents      DeletedAt (only ended ones)   UserID, ExternalUserID
//	dead_letters  DiedAt                        any held subject found anywhere in the raw payload
//	obligations   ClosedAt (only closed ones)   UserID, NoticeID
//	send_results  At                            UserID, the notice id and every part of NoticeKey (SendResultSubjects)
//	recipient_claims  when first claimed        the user, the claim key and every part of it (ClaimSubjects)
//
// A consent whose relationship has not ended is the current state, not
// history, and is never purged; nor is an open (pending or overdue)
// obligation. A closed obligation (acknowledged, superseded, cancelled)
// counts from its ClosedAt; one closed before ClosedAt was kept counts
// from its AcknowledgedAt if it was acknowledged, and is kept if it has
// neither (a superseded or cancelled one of that time: nothing says when
// it closed). A purged obligation is as if it never existed: if its
// notice version is still current and the person still in its audience,
// the next decision about them owes it again (a new card), as it would
// for a newcomer — with the defaults, when their attestation, counted
// from the same time, is purged too. A dead letter keeps the decrypted
// callback as WeCom sent it (a member's message text included) and is not
// decoded by the store, so it is kept if a held subject occurs anywhere in
// its payload: a hold may keep more dead letters than it names, never
// fewer. Dead letters are purged only together: while any dead letter
// died at or after the cutoff, none is purged, so that the letters of one
// incident stay together until an operator has dealt with them (retried
// or dropped them) and are never lost silently one by one; once the last
// of them is past retention, all are purged (but those a hold keeps).
//
// A recipient claim (RecipientClaims) is bookkeeping of notify's plans,
// kept only as long as a plan could still send under its key; each
// reminder day and each reply makes new ones, so without a retention
// they would grow by everyone reminded, forever. Job runs are not purged
// (they are capped at 1,000 a job by JobRuns).
//
// The audit log is not a record kind: it is a hash chain, and removing
// its oldest entries would break VerifyAudit unless a verifiable
// checkpoint anchored the rest, which wecomply does not keep. It is kept
// whole; its entries hold ids, kinds and counts, never message content,
// and every purge appends to it.
const (
	RecordEventLog     RecordKind = "event_log"
	RecordAttestations RecordKind = "attestations"
	RecordConsents     RecordKind = "consents"
	RecordDeadLetters  RecordKind = "dead_letters"
	RecordObligations  RecordKind = "obligations"
	RecordSendResults  RecordKind = "send_results"
	// RecordRecipientClaims are RecipientClaims' claims.
	RecordRecipientClaims RecordKind = "recipient_claims"
)

// RecordKinds are the kinds Purge knows, in the order a retention run
// purges them.
var RecordKinds = []RecordKind{RecordEventLog, RecordAttestations, RecordConsents, RecordDeadLetters,
	RecordObligations, RecordSendResults, RecordRecipientClaims}

// Valid reports whether k is one of RecordKinds.
func (k RecordKind) Valid() bool { return slices.Contains(RecordKinds, k) }

// SendResultSubjects are the subjects a hold may name to keep a send
// result: its UserID (a member, or a customer's ExternalUserID for a
// welcome message), its NoticeKey, and every ":"-separated part of it:
// the first is the notice id of a notice's send ("archive:v3:remind:…"),
// as notice ids cannot contain ":" (config checks them), and ad-hoc keys
// embed the ids they are about ("welcome:EMPLOYEE",
// "consent-alert:EMPLOYEE:CUSTOMER:…", "open-list:USER:DAY"). Like dead
// letters, a hold may keep more results than it names, never fewer.
func SendResultSubjects(r RecipientResult) []string {
	return append([]string{r.UserID, r.NoticeKey}, strings.Split(r.NoticeKey, ":")...)
}

// ClaimSubjects are the subjects a hold may name to keep a recipient
// claim: the user, the claim key (a notice key, ":", a content hash) and
// every ":"-separated part of it, the first being the notice id (as for
// SendResultSubjects).
func ClaimSubjects(key, user string) []string {
	return append([]string{user, key}, strings.Split(key, ":")...)
}

// EventLogSubjectFields are the identifying fields of an event-log entry
// that a hold's subject is compared with.
var EventLogSubjectFields = []string{"user_id", "external_user_id", "from_user", "new_user_id", "chat_id"}

// HoldSet is the set of subjects under a hold in force.
type HoldSet map[string]bool

// Has reports whether any of subjects is held.
func (h HoldSet) Has(subjects ...string) bool {
	for _, s := range subjects {
		if s != "" && h[s] {
			return true
		}
	}
	return false
}

// LogEntry reports whether an event-log entry names a held subject in
// one of EventLogSubjectFields.
func (h HoldSet) LogEntry(e LogEntry) bool {
	for _, f := range EventLogSubjectFields {
		if h.Has(e.Fields[f]) {
			return true
		}
	}
	return false
}

// In reports whether a held subject occurs anywhere in raw (a payload
// that is not decoded: see RecordDeadLetters).
func (h HoldSet) In(raw []byte) bool {
	for s := range h {
		if s != "" && bytes.Contains(raw, []byte(s)) {
			return true
		}
	}
	return false
}

// PurgeBatch asks Purge for one batch.
type PurgeBatch struct {
	Kind RecordKind
	// Before: records whose retention time (see RecordKind) is before it
	// are purged.
	Before time.Time
	// Held are the subjects under a hold in force; a record that names
	// one is kept. Nil: nothing is held.
	Held HoldSet
	// Cursor is "" for the first batch, then the Next of the previous.
	Cursor string
	// Limit is how many records one batch examines at most (Page.Size
	// rules apply): a purge of millions is many short batches, never one
	// long transaction or script.
	Limit int
}

// PurgeResult says what one batch did.
type PurgeResult struct {
	Purged int // records deleted
	Held   int // records past retention kept for a hold
	// Next is the cursor of the next batch; "" when the purge of this
	// kind is complete.
	Next string
}

// Retention deletes records past their retention.
type Retention interface {
	// Purge examines up to b.Limit records of b.Kind after b.Cursor and
	// deletes those whose retention time is before b.Before and that name
	// no held subject — dead letters only while none died at or after
	// b.Before (see RecordDeadLetters: a batch that finds one deletes
	// nothing and ends the purge). A record is deleted only as it was examined: one
	// changed in between (a consent renewed) is left for the next run.
	// Deleting is idempotent: a batch run again deletes nothing more.
	// ErrInvalidCursor for a cursor of another kind; an error for a kind
	// not in RecordKinds.
	Purge(ctx context.Context, b PurgeBatch) (PurgeResult, error)
}
