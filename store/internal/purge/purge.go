// Package purge holds what the store backends share of store.Retention:
// the cursors of a purge and which records a batch deletes, so that both
// backends purge alike.
package purge

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// Verdict is what a batch does with one record it examines.
type Verdict int

// Verdicts.
const (
	Keep   Verdict = iota // within retention (or never purged)
	Held                  // past retention, kept for a hold
	Delete                // past retention and not held
)

func verdict(at, before time.Time, held bool) Verdict {
	switch {
	case at.IsZero() || !at.Before(before):
		return Keep
	case held:
		return Held
	}
	return Delete
}

// LogEntry decides an event-log entry.
func LogEntry(e store.LogEntry, b store.PurgeBatch) Verdict {
	return verdict(e.ReceivedAt, b.Before, b.Held.LogEntry(e))
}

// Attestation decides an attestation.
func Attestation(a policy.Attestation, b store.PurgeBatch) Verdict {
	return verdict(a.ReceivedAt, b.Before, b.Held.Has(a.UserID, a.NoticeID))
}

// Consent decides a consent record: only one whose relationship ended
// (DeletedAt set) is ever purged.
func Consent(c policy.Consent, b store.PurgeBatch) Verdict {
	return verdict(c.DeletedAt, b.Before, b.Held.Has(c.UserID, c.ExternalUserID))
}

// DeadLetter decides a dead letter that died at diedAt with payload.
func DeadLetter(diedAt time.Time, payload []byte, b store.PurgeBatch) Verdict {
	return verdict(diedAt, b.Before, b.Held.In(payload))
}

// Obligation decides an obligation: only a closed one is ever purged,
// counted from its ClosedAt, or its AcknowledgedAt if it was closed
// before ClosedAt was kept; one with neither is kept (see
// store.RecordObligations).
func Obligation(o policy.Obligation, b store.PurgeBatch) Verdict {
	if o.Status.Open() {
		return Keep
	}
	at := o.ClosedAt
	if at.IsZero() {
		at = o.AcknowledgedAt
	}
	return verdict(at, b.Before, b.Held.Has(o.UserID, o.NoticeID))
}

// SendResult decides a send result.
func SendResult(r store.RecipientResult, b store.PurgeBatch) Verdict {
	return verdict(r.At, b.Before, b.Held.Has(store.SendResultSubjects(r)...))
}

// RecipientClaim decides a recipient claim of user under key, made at at.
func RecipientClaim(key, user string, at time.Time, b store.PurgeBatch) Verdict {
	return verdict(at, b.Before, b.Held.Has(store.ClaimSubjects(key, user)...))
}

// Check checks a batch's kind and time.
func Check(b store.PurgeBatch) error {
	if !b.Kind.Valid() {
		return fmt.Errorf("purge: unknown record kind %q", b.Kind)
	}
	if b.Before.IsZero() {
		return fmt.Errorf("purge %s: no cutoff time", b.Kind)
	}
	return nil
}

// Cursor encodes the position after key in a purge of kind. (The
// listing of dead letters uses it too, with kind RecordDeadLetters: its
// positions are a purge's.)
func Cursor(kind store.RecordKind, key []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte(string(kind)+":"), key...))
}

// ParseCursor decodes a Cursor of kind: nil for "", ErrInvalidCursor for
// one that is not of kind.
func ParseCursor(kind store.RecordKind, cursor string) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, store.ErrInvalidCursor
	}
	key, ok := strings.CutPrefix(string(raw), string(kind)+":")
	if !ok || key == "" {
		return nil, store.ErrInvalidCursor
	}
	return []byte(key), nil
}
