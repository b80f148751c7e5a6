package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DeadLetterAction is what an operator does with a dead letter: retry it
// (RetryDeadLetter) or drop it (DropDeadLetter).
type DeadLetterAction string

// Dead-letter actions.
const (
	DeadLetterRetry DeadLetterAction = "retry"
	DeadLetterDrop  DeadLetterAction = "drop"
)

// AuditKind is the kind of the action's audit entries:
// "dead_letter.retry" or "dead_letter.drop".
func (a DeadLetterAction) AuditKind() string { return "dead_letter." + string(a) }

// DeadLetterOp is one operator action on a dead letter, as the admin API
// and the CLI ask for it.
type DeadLetterOp struct {
	Action DeadLetterAction
	// Via is where it was asked for: "api" or "cli".
	Via string
	// Actor is who asked, as they said so (the API's X-Wecomply-Actor
	// header, the CLI's -actor flag); "" if they did not. It is not
	// authenticated: the admin token is shared and anonymous.
	Actor string
	// At is when (the audit entry's time).
	At time.Time
}

// DeadLetterAudit is the Data of a dead-letter action's audit entry:
// which letter, what it was, who dealt with it and how — never its
// payload, which holds the message as WeCom sent it (personal data).
type DeadLetterAudit struct {
	ID         string           `json:"id"`
	Kind       string           `json:"kind"`
	DedupKey   string           `json:"dedup_key"`
	Receiver   string           `json:"receiver"`
	ReceivedAt time.Time        `json:"received_at"`
	DiedAt     time.Time        `json:"died_at"`
	Attempts   int              `json:"attempts"`
	Action     DeadLetterAction `json:"action"`
	Via        string           `json:"via"`
	Actor      string           `json:"actor,omitempty"`
}

// DeadLetterAuditID is the id of the audit entry of action on the dead
// letter id. A dead letter's id is never reused (a retried event that
// dies again has a new one), so a repeated request writes one entry.
func DeadLetterAuditID(id string, action DeadLetterAction) string {
	return "dead-letter:" + id + ":" + string(action)
}

// DeadLetterStore is what an action on a dead letter needs.
type DeadLetterStore interface {
	Queue
	Audit
}

// DoDeadLetter carries out op on the dead letter id, audited: it gets
// the letter (ErrNotFound if there is none), appends the action to the
// audit log (DeadLetterAuditID, Subject the letter's id), then retries or
// drops it. It returns the letter as it was and, for a retry, the ID of
// the entry it was queued as.
//
// The entry comes first, so no action is ever missing from the log; a
// failure after it (the caller may try again: the entry is not written
// twice), or another request that dealt with the letter in between (it
// has an entry of its own; this one then gets ErrNotFound), leaves an
// entry of an action that did not happen, never the other way round.
func DoDeadLetter(ctx context.Context, st DeadLetterStore, id string, op DeadLetterOp) (d DeadLetter, entryID string, err error) {
	if op.Action != DeadLetterRetry && op.Action != DeadLetterDrop {
		return DeadLetter{}, "", fmt.Errorf("dead letter %s: unknown action %q", id, op.Action)
	}
	d, err = st.GetDeadLetter(ctx, id)
	if err != nil {
		return DeadLetter{}, "", err
	}
	data, err := json.Marshal(DeadLetterAudit{ID: d.ID, Kind: d.Kind, DedupKey: d.DedupKey, Receiver: d.Receiver,
		ReceivedAt: d.ReceivedAt, DiedAt: d.DiedAt, Attempts: d.Attempts, Action: op.Action, Via: op.Via, Actor: op.Actor})
	if err != nil {
		return DeadLetter{}, "", fmt.Errorf("dead letter %s: %w", id, err)
	}
	_, err = st.AppendAudit(ctx, AuditEntry{ID: DeadLetterAuditID(d.ID, op.Action), At: op.At.UTC(),
		Kind: op.Action.AuditKind(), Subject: d.ID, Data: data})
	if err != nil {
		return DeadLetter{}, "", fmt.Errorf("dead letter %s: audit %s: %w", id, op.Action, err)
	}
	switch op.Action {
	case DeadLetterRetry:
		entryID, err = st.RetryDeadLetter(ctx, id)
	default:
		_, err = st.DropDeadLetter(ctx, id)
	}
	if err != nil {
		return DeadLetter{}, "", err
	}
	return d, entryID, nil
}
