package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/wecomply/wecomply/policy"
)

// Page asks for one page of a listing: up to Limit items after the
// opaque Cursor a previous page returned ("" for the first page).
type Page struct {
	Cursor string
	Limit  int
}

// ObligationKey identifies an obligation.
type ObligationKey struct {
	UserID   string
	NoticeID string
	Version  int
}

// ObligationFilter selects obligations; empty fields select all.
type ObligationFilter struct {
	NoticeID string
	Version  int // 0: every version
	Status   policy.ObligationStatus
	UserID   string
}

// Obligations keeps what each person owes for each notice version. The
// identity of an obligation is (UserID, NoticeID, Version).
type Obligations interface {
	// CreateObligation stores o unless one with its identity exists; it
	// reports whether it did.
	CreateObligation(ctx context.Context, o policy.Obligation) (created bool, err error)
	// CloseObligation moves the obligation to status (superseded or
	// cancelled) with reason at at (kept as its ClosedAt), only if it is
	// open (pending or overdue); it reports whether it did. ErrNotFound if
	// there is none.
	CloseObligation(ctx context.Context, userID, noticeID string, version int, status policy.ObligationStatus, reason policy.Reason, at time.Time) (changed bool, err error)
	// UpdateObligation changes one obligation atomically (the cron's
	// pending → overdue, reminder counts): fn gets the stored obligation
	// and returns the new one (its identity unchanged; it may run more
	// than once). ErrNotFound if there is none.
	UpdateObligation(ctx context.Context, userID, noticeID string, version int, fn func(policy.Obligation) (policy.Obligation, error)) error
	// UpdateObligations is UpdateObligation for many obligations at once
	// (a reminder run marks thousands): fn is applied to each that exists
	// (missing ones are skipped; a key given twice is updated once),
	// atomically per obligation, in as few round trips or transactions as
	// the backend allows. If fn fails or changes an identity for one
	// obligation, that error is returned, wrapped, and the call stops:
	// obligations updated before it may stay updated (the backends work
	// in batches), so the caller runs it again with the same fn, which
	// must be safe to apply again anyway.
	UpdateObligations(ctx context.Context, keys []ObligationKey, fn func(policy.Obligation) (policy.Obligation, error)) error
	// GetObligation returns one obligation, or ErrNotFound.
	GetObligation(ctx context.Context, userID, noticeID string, version int) (policy.Obligation, error)
	// ListObligations returns matching obligations ordered by (NoticeID,
	// Version, UserID), a page at a time; next is "" after the last page.
	ListObligations(ctx context.Context, f ObligationFilter, p Page) (items []policy.Obligation, next string, err error)
	// CountObligations counts a notice version's obligations by status.
	CountObligations(ctx context.Context, noticeID string, version int) (map[policy.ObligationStatus]int, error)

	// IndexDue makes notices (the current notice versions, as
	// configured) the ones whose obligations ListObligationsDue finds,
	// in place of those of an earlier call. From then on every write of
	// one of their obligations (create, close, update, acknowledgement,
	// purge) keeps it in the due index, in the same atomic step, by
	// policy.NextDue with its notice version; and the index of each
	// notice version not built for its Cadence yet (a store written
	// before the index existed, a changed cadence, obligations written
	// by a process that did not give these notices) is built now from
	// the stored obligations. Replicas sharing a store are expected to
	// give the same notices: a write by one whose cadence of a notice
	// version differs (or that gave none) makes that index be built
	// again before it is read.
	IndexDue(ctx context.Context, notices []policy.Notice) error
	// ListObligationsDue returns the obligations of a notice version
	// given to IndexDue that the reminder run at until may act on
	// (policy.NextDue(n, o).Includes(until), i.e. policy.Actionable), a
	// page at a time, in the index's order (by the millisecond they
	// became due, then UserID; those due at exactly until last); next is
	// "" after the last page. It reads only those, however many others the notice
	// version has, building the index first if it is not built for the
	// notice version's cadence. It fails if the notice version was not
	// given to IndexDue.
	ListObligationsDue(ctx context.Context, noticeID string, version int, until time.Time, p Page) (items []policy.Obligation, next string, err error)
}

// AttestationFilter selects attestations; empty fields select all.
type AttestationFilter struct {
	NoticeID string
	Version  int
	UserID   string
}

// Attestations keeps the evidence of acknowledgements. Evidence is never
// changed or deleted by wecomply's processing (only retention, later, may
// purge it, with an audit entry).
type Attestations interface {
	// Attest stores a unless an attestation for (UserID, NoticeID,
	// Version, Round) exists, and in the same atomic step marks that
	// obligation acknowledged (AcknowledgedAt and ClosedAt) at
	// a.ReceivedAt (if it exists, is open and
	// is in round a.Round). It reports whether a was stored; a second
	// attestation for the same person, version and round is a no-op
	// (created false) — one attestation however many clicks, replays and
	// replicas. A re-attestation (the obligation reopened in the next
	// round after reattest_days) is a new round with its own attestation.
	Attest(ctx context.Context, a policy.Attestation) (created bool, err error)
	// GetAttestation returns the latest round's attestation for a person
	// and version, or ErrNotFound.
	GetAttestation(ctx context.Context, userID, noticeID string, version int) (policy.Attestation, error)
	// ListAttestations returns matching attestations ordered by
	// (NoticeID, Version, UserID, Round), a page at a time.
	ListAttestations(ctx context.Context, f AttestationFilter, p Page) (items []policy.Attestation, next string, err error)
}

// ConsentFilter selects consents; empty fields select all.
type ConsentFilter struct {
	Status policy.ConsentStatus
	UserID string
}

// Consents keeps customers' archiving consent per (employee, customer).
type Consents interface {
	// PutConsent stores c, replacing the pair's record.
	PutConsent(ctx context.Context, c policy.Consent) error
	// GetConsent returns a pair's record, or ErrNotFound.
	GetConsent(ctx context.Context, userID, externalUserID string) (policy.Consent, error)
	// ListConsents returns matching records ordered by (UserID,
	// ExternalUserID), a page at a time.
	ListConsents(ctx context.Context, f ConsentFilter, p Page) (items []policy.Consent, next string, err error)
}

// People keeps what wecomply knows of each member (from callbacks and
// reconciliation), so that a change can be compared with before.
type People interface {
	// PutPerson stores p, replacing the record of p.UserID.
	PutPerson(ctx context.Context, p policy.Person) error
	// GetPerson returns a member, or ErrNotFound.
	GetPerson(ctx context.Context, userID string) (policy.Person, error)
	// GetPeople returns the records of those of userIDs that are known,
	// ordered by UserID (a user given twice is returned once), reading
	// only theirs however many people are known.
	GetPeople(ctx context.Context, userIDs []string) ([]policy.Person, error)
	// DeletePerson removes a member's record (their obligations and
	// evidence stay). Deleting an unknown member is not an error.
	DeletePerson(ctx context.Context, userID string) error
	// ListPeople returns members ordered by UserID, a page at a time.
	ListPeople(ctx context.Context, p Page) (items []policy.Person, next string, err error)
}

// AuditEntry is one record of the audit log: a decision, a delivery, an
// attestation, a purge. Entries form a hash chain: each Hash covers the
// entry and the previous entry's Hash, so that editing, removing or
// reordering any entry is detected (VerifyAudit).
type AuditEntry struct {
	Seq      uint64          `json:"seq"`  // 1, 2, … assigned by AppendAudit
	ID       string          `json:"id"`   // idempotency: appending an ID already in the log is a no-op
	At       time.Time       `json:"at"`   // given by the caller
	Kind     string          `json:"kind"` // e.g. "decision", "delivery", "attestation"
	Subject  string          `json:"subject,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	PrevHash string          `json:"prev_hash"` // "" for the first entry
	Hash     string          `json:"hash"`
}

// AuditReport is the result of walking the whole chain.
type AuditReport struct {
	Entries  uint64 `json:"entries"`
	OK       bool   `json:"ok"`
	FirstBad uint64 `json:"first_bad,omitempty"` // the Seq of the first entry that does not verify
	Problem  string `json:"problem,omitempty"`   // what is wrong with it
	Head     string `json:"head"`                // the last entry's Hash
}

// Audit is the append-only, hash-chained audit log.
type Audit interface {
	// AppendAudit appends e (Seq, PrevHash and Hash are assigned) unless
	// an entry with e.ID exists, in which case it returns that entry.
	// Appends from many goroutines and replicas are serialised: the chain
	// never forks.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns up to limit entries with Seq > after, in order.
	ListAudit(ctx context.Context, after uint64, limit int) ([]AuditEntry, error)
	// VerifyAudit recomputes every entry's hash and link, in order, and
	// reports the first problem: an edited entry (its hash no longer
	// matches), a removed one (a gap in Seq or a broken link), reordered
	// ones (a broken link).
	VerifyAudit(ctx context.Context) (AuditReport, error)
}

// RecipientClaims makes sure a person is sent a notice's content by one
// plan only, however many plans name them.
type RecipientClaims interface {
	// ClaimRecipients claims each of users for key (a notice's key and
	// content hash) on behalf of owner (a plan) at at, unless another
	// owner claimed them first, and returns the users owner now holds —
	// those it claimed now and those it had claimed before (so a plan that
	// runs again gets the same answer). A claim keeps the time it was
	// first made; retention purges it from then (RecordRecipientClaims),
	// after which the user may be claimed again, by any owner.
	ClaimRecipients(ctx context.Context, key, owner string, users []string, at time.Time) ([]string, error)
}
