// Package store defines what wecomply keeps and the contracts its backends
// honour. Two backends implement it: store/redis (any number of replicas
// sharing one Redis) and store/embedded (a single node on a bbolt file).
// store/storetest holds the conformance suite both must pass.
//
// Every method takes a context first and is safe for concurrent use.
// Errors are wrapped with %w; callers test them with errors.Is against the
// sentinels below. An error that is not one of the sentinels means the store
// could not be reached or failed: the caller must treat the operation as not
// done (the callback handler answers 503 so WeCom retries).
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors.
var (
	// ErrNotFound: the queue entry does not exist (acked, dead-lettered or
	// never existed) or is no longer held by the claim whose Receipt was
	// presented (it was given back, or its lease ran out and another
	// claim took it); or the record
	// asked for (a send result, obligation, attestation, consent or
	// person) does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// JobPrefix starts the kind of every queue entry that is one of
// wecomply's own jobs (a notice to send, a publish, a consent check)
// rather than a WeCom event.
const JobPrefix = "job."

// Event is one WeCom callback, decrypted and accepted, as the queue keeps it.
type Event struct {
	// DedupKey identifies the event for deduplication (wecom.Event.DedupKey).
	// Enqueue is idempotent on it.
	DedupKey string
	// Kind is the event's kind as wecom names it, e.g.
	// "change_contact.create_user" or "text".
	Kind string
	// Receiver is the callback path the event arrived on.
	Receiver string
	// ReceivedAt is when wecomply accepted the callback.
	ReceivedAt time.Time
	// Payload is the decrypted plaintext (XML or JSON) exactly as WeCom
	// sent it, or for wecomply's own jobs (kinds starting JobPrefix) the
	// job's JSON.
	Payload []byte
	// NotBefore, when set, makes the entry claimable only from then on
	// (a scheduled job). Zero: at once.
	NotBefore time.Time
}

// Receipt identifies one claim of one queue entry. Ack, Fail, Release,
// Postpone and Extend take it and act only while that very claim holds
// the entry: a worker whose lease ran out, and whose entry another Claim
// has since taken, gets ErrNotFound and changes nothing (the token fences
// it off), however late its call arrives.
type Receipt struct {
	// ID is the backend's identifier of the queue entry; it stays the same
	// across claims (and is the dead letter's ID if the entry dies).
	ID string
	// Token identifies this claim of the entry: every Claim that hands the
	// entry out gives it a new one.
	Token string
}

// Delivery is an event handed to a worker by Claim. The worker holds it
// until Ack, Fail, Release or Postpone, or until its lease ends (Extend
// renews it), after which another Claim may take it.
type Delivery struct {
	// Receipt is what Ack, Fail, Release, Postpone and Extend take.
	Receipt
	Event
	// Attempts counts earlier attempts that failed (Fail calls and expired
	// leases); 0 on the first delivery.
	Attempts int
	// LastError is the error of the most recent failed attempt, if any.
	LastError string
}

// DeadLetter is an event that failed MaxAttempts times. It stays in the
// store, with its last error, until an operator deals with it
// (RetryDeadLetter, DropDeadLetter) or retention purges it (see
// RecordDeadLetters).
type DeadLetter struct {
	// ID is the ID its queue entry had (Receipt.ID).
	ID string
	Event
	Attempts  int
	LastError string
	DiedAt    time.Time
}

// QueueStats counts queue entries by state.
type QueueStats struct {
	Ready  int64 // waiting to be claimed, now or later (retries, Postpone, NotBefore)
	Leased int64 // claimed and not yet acked (including expired leases)
	Dead   int64 // dead letters
}

// IngressLogStats count the flushes of a store's ingress log (the
// embedded store's: see embedded.Store.IngressLogStats), each a write and
// an fdatasync that make every entry enqueued meanwhile (callbacks, and
// the jobs the workers queue) durable together.
type IngressLogStats struct {
	Flushes   int64         // flushes that succeeded
	Records   int64         // entries they made durable
	FlushTime time.Duration // the time they took, in all
}

// QueueOptions are the settings every backend's queue honours.
type QueueOptions struct {
	// Lease is how long a claimed entry stays with its worker before
	// another Claim may take it.
	Lease time.Duration
	// MaxAttempts is how many failed attempts move an entry to the dead
	// letters (an expired lease counts as a failed attempt).
	MaxAttempts int
	// DedupTTL is how long a dedup key is remembered. It must be longer
	// than the callback timestamp window, so a replay is either refused
	// as stale or recognised as a duplicate.
	DedupTTL time.Duration
}

// DefaultQueueOptions are used for any zero field of QueueOptions.
var DefaultQueueOptions = QueueOptions{
	Lease:       30 * time.Second,
	MaxAttempts: 5,
	DedupTTL:    24 * time.Hour,
}

// WithDefaults returns o with every zero field set from DefaultQueueOptions.
func (o QueueOptions) WithDefaults() QueueOptions {
	if o.Lease <= 0 {
		o.Lease = DefaultQueueOptions.Lease
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultQueueOptions.MaxAttempts
	}
	if o.DedupTTL <= 0 {
		o.DedupTTL = DefaultQueueOptions.DedupTTL
	}
	return o
}

// Queue is the durable, deduplicating event queue between the callback
// handler and the workers.
type Queue interface {
	// Enqueue stores e durably. It returns true if e was added and false
	// if an event with the same DedupKey was enqueued within DedupTTL
	// (the call is then a no-op). When Enqueue returns nil the event
	// survives a crash of this process.
	Enqueue(ctx context.Context, e Event) (added bool, err error)

	// Claim leases up to max entries to consumer: first entries whose
	// lease expired (each counts as a failed attempt; one that reaches
	// MaxAttempts becomes a dead letter instead), then new ones, oldest
	// first. If none is available it waits up to wait for one, returning
	// an empty slice (and nil) when the wait ends or ctx is done.
	Claim(ctx context.Context, consumer string, max int, wait time.Duration) ([]Delivery, error)

	// Each of Ack, Fail, Release, Postpone and Extend acts on the entry
	// only while the claim r names holds it, and otherwise returns
	// ErrNotFound and changes nothing. A claim holds its entry from Claim
	// until it is settled (Ack, Fail, Release, Postpone) or another Claim
	// takes the entry after the lease ran out; a lease that ran out but
	// whose entry nobody has taken yet still holds.

	// Ack removes a claimed entry for good.
	Ack(ctx context.Context, r Receipt) error

	// Fail records a failed attempt with its error. The entry becomes
	// claimable again after retryAfter; if this was attempt MaxAttempts it
	// becomes a dead letter. dead reports which.
	Fail(ctx context.Context, r Receipt, cause string, retryAfter time.Duration) (dead bool, err error)

	// Release gives a claimed entry back without counting an attempt
	// (graceful shutdown); it is claimable at once.
	Release(ctx context.Context, r Receipt) error

	// Postpone gives a claimed entry back without counting an attempt,
	// claimable again only after after: for waits that are not failures
	// (a rate-limit window, a send scheduled later).
	Postpone(ctx context.Context, r Receipt, after time.Duration) error

	// Extend renews the claim's lease: the entry stays with it for Lease
	// from now. The worker pool extends every entry it holds until the
	// entry's handler returns, so that an event that takes longer than
	// the lease is not taken over while it runs.
	Extend(ctx context.Context, r Receipt) error

	// ListDeadLetters returns the dead letters in the order they died,
	// oldest first, a page at a time; next is "" after the last page.
	ListDeadLetters(ctx context.Context, p Page) (items []DeadLetter, next string, err error)

	// GetDeadLetter returns the dead letter whose ID is id, or
	// ErrNotFound.
	GetDeadLetter(ctx context.Context, id string) (DeadLetter, error)

	// RetryDeadLetter queues a dead letter again, atomically: the dead
	// letter is gone and a fresh entry, claimable at once, holds its
	// DedupKey, Kind, Receiver, ReceivedAt and Payload, with no attempts
	// and no error (and no NotBefore: an operator who retries wants it
	// run now). Enqueue's deduplication is bypassed — the key is still
	// remembered, and stays as it was — so the event runs again even
	// within DedupTTL. It returns the new entry's ID (a new dead letter's
	// ID if it dies again). ErrNotFound if id is not a dead letter (it
	// never was, or it was retried or dropped already): of concurrent
	// retries of one id, one queues it and the others get ErrNotFound.
	RetryDeadLetter(ctx context.Context, id string) (entryID string, err error)

	// DropDeadLetter deletes a dead letter for good and returns it as it
	// was; ErrNotFound if there is none (of concurrent drops and retries
	// of one id, one succeeds).
	DropDeadLetter(ctx context.Context, id string) (DeadLetter, error)

	// QueueStats counts entries by state.
	QueueStats(ctx context.Context) (QueueStats, error)
}

// LogEntry is one processed event in the event log: what arrived, when
// and where, with the event's identifying fields but never its content.
type LogEntry struct {
	Kind       string            `json:"kind"`
	DedupKey   string            `json:"dedup_key"`
	CreateTime int64             `json:"create_time"`
	ReceivedAt time.Time         `json:"received_at"`
	Receiver   string            `json:"receiver"`
	Fields     map[string]string `json:"-"` // identifying fields, flattened into the JSON object
}

// EventLog records processed events.
type EventLog interface {
	// AppendEventLog adds e unless an entry with the same DedupKey exists
	// (then it is a no-op and returns nil), so a worker that re-runs after a
	// crash does not log an event twice.
	AppendEventLog(ctx context.Context, e LogEntry) error

	// ListEventLog returns entries newest ReceivedAt first (ties in append
	// order, newest first), only those of kind if kind is not empty, a
	// page at a time (p.Size() at most); next is "" after the last page.
	// Paging is stable: an entry appended after a page was read is newer
	// than every entry of the pages after it, so they neither repeat nor
	// skip an entry. The items are never nil. ErrInvalidCursor if
	// p.Cursor is not one an event-log listing returned.
	ListEventLog(ctx context.Context, kind string, p Page) (items []LogEntry, next string, err error)
}

// Store is everything wecomply keeps. Later issues add to it.
type Store interface {
	Queue
	EventLog
	Leases
	Tokens
	SendLimits
	SendResults
	RecipientClaims
	Obligations
	Attestations
	Consents
	People
	Audit
	JobRuns
	Holds
	Retention
	InterceptMappings
	Alerts
	// Ping checks that the store is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the store's resources. Calls after Close return
	// ErrClosed.
	Close() error
}
