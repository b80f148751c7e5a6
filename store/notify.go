package store

import (
	"context"
	"time"
)

// Leases are named, expiring locks shared by every replica: one replica
// refreshes a WeCom access token, one runs a cron job.
type Leases interface {
	// AcquireLease takes lease name for holder until ttl from now if it is
	// free, expired, or already held by holder (then it is extended). It
	// reports whether holder now holds it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease frees name if holder holds it; otherwise it does
	// nothing (a lease that expired and was taken by another stays
	// theirs).
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Tokens caches WeCom access tokens, one per app, shared by every replica
// so that they fetch a token once between them. Token values are secrets:
// backends never log them or put them in errors.
type Tokens interface {
	// GetToken returns app's cached token and when it expires, or an
	// empty value (and nil error) when none is cached or it has expired.
	// An error means the store failed, never "not cached".
	GetToken(ctx context.Context, app string) (value string, expiresAt time.Time, err error)
	// PutToken caches value for app until expiresAt.
	PutToken(ctx context.Context, app, value string, expiresAt time.Time) error
	// DeleteToken removes app's cached token if it is still value, so that
	// a token another replica has just fetched is not thrown away.
	DeleteToken(ctx context.Context, app, value string) error
}

// RateWindow is one limit on sends: at most Limit in any Period.
type RateWindow struct {
	Period time.Duration
	Limit  int
}

// SendBooking asks to record one send of a message to Members.
type SendBooking struct {
	// UnitID identifies the send (one API call). A booking is idempotent
	// on it: the first one that succeeds is remembered (for MarkerTTL),
	// and a later booking of the same UnitID reports Already without
	// checking or recording anything, so a retried send is sent again
	// exactly as before.
	UnitID string
	// Scope separates the counters of different WeCom apps.
	Scope   string
	Members []string
	// At is the time of the send; the windows are counted back from it.
	At time.Time
	// MemberWindows limit the sends to each member (WeCom: 30 a minute,
	// 1,000 an hour, per app and member; the excess is silently dropped).
	MemberWindows []RateWindow
	// DailyQuota, if positive, limits the person-times per calendar day
	// (in Location) for the scope: each member of each send counts one.
	DailyQuota int
	Location   *time.Location
	// MarkerTTL is how long the booking of UnitID is remembered.
	MarkerTTL time.Duration
}

// SendBookingResult says whether a booking was recorded.
type SendBookingResult struct {
	// Already: UnitID was booked before; nothing was checked or recorded.
	Already bool
	// Blocked lists the members a window does not allow at At, each with
	// the earliest time it would. When it is not empty nothing was
	// recorded.
	Blocked map[string]time.Time
	// QuotaResetAt is set when the daily quota does not allow the send:
	// the start of the next day in Location. Nothing was recorded.
	QuotaResetAt time.Time
}

// SendLimits keeps the per-member and per-app send counts that make
// wecomply respect WeCom's limits by scheduling instead of losing
// messages. Booking is atomic: two replicas cannot both book the last
// slot of a member.
type SendLimits interface {
	// BookSend checks every member's windows and the daily quota at At
	// and, only if all allow it, records the send for each member and
	// against the quota, and remembers UnitID. See SendBookingResult.
	BookSend(ctx context.Context, b SendBooking) (SendBookingResult, error)
}

// DeliveryStatus is what became of one recipient of a notice.
type DeliveryStatus string

// Delivery statuses.
const (
	StatusSent       DeliveryStatus = "sent"       // WeCom accepted it for this member
	StatusInvalid    DeliveryStatus = "invalid"    // WeCom named the member in invaliduser
	StatusUnlicensed DeliveryStatus = "unlicensed" // WeCom named the member in unlicenseduser
	StatusFailed     DeliveryStatus = "failed"     // given up: Error says why
	StatusSkipped    DeliveryStatus = "skipped"    // not needed (a welcome to a customer already chatting)
)

// RecipientResult is the outcome of a notice for one recipient: what card
// updates, recalls and reports need.
type RecipientResult struct {
	NoticeKey    string         `json:"notice_key"`
	UserID       string         `json:"user_id"`
	UnitID       string         `json:"unit_id"`
	ContentHash  string         `json:"content_hash"`
	Status       DeliveryStatus `json:"status"`
	MsgID        string         `json:"msg_id,omitempty"`
	ResponseCode string         `json:"response_code,omitempty"`
	Error        string         `json:"error,omitempty"`
	At           time.Time      `json:"at"`
}

// SendResults keeps the per-recipient outcome of every notice.
type SendResults interface {
	// PutSendResults records results, replacing any earlier result for
	// the same NoticeKey and UserID.
	PutSendResults(ctx context.Context, results []RecipientResult) error
	// SendResult returns the result for one recipient of a notice, or
	// ErrNotFound.
	SendResult(ctx context.Context, noticeKey, userID string) (RecipientResult, error)
	// GetSendResults returns the results of a notice for those of
	// userIDs that have one, ordered by UserID (a user given twice is
	// returned once), reading only theirs however many recipients the
	// notice has: what a submit to a few people needs to know.
	GetSendResults(ctx context.Context, noticeKey string, userIDs []string) ([]RecipientResult, error)
	// ListSendResults returns every result of a notice, ordered by UserID.
	ListSendResults(ctx context.Context, noticeKey string) ([]RecipientResult, error)
}
