package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Audit entry kinds of hold changes.
const (
	AuditHoldCreate  = "hold.create"
	AuditHoldRelease = "hold.release"
)

// HoldStore is what placing and releasing a hold needs: the holds and
// the audit log every change is written to.
type HoldStore interface {
	Holds
	Audit
}

// HoldOp says where a hold change was asked for, and by whom.
type HoldOp struct {
	// Via is where: "api" or "console".
	Via string
	// Actor is who: the console's signed-in user, or the API's
	// X-Wecomply-Actor as the caller said so (not authenticated: the
	// admin token is shared and anonymous); "" if unknown.
	Actor string
	// At is when (a release's audit entry time; a placed hold's entry is
	// at its CreatedAt).
	At time.Time
}

// HoldAudit is the Data of a hold change's audit entry: the hold's
// fields, and where and by whom it was changed.
type HoldAudit struct {
	Hold
	Via   string `json:"via"`
	Actor string `json:"actor,omitempty"`
}

// HoldAuditID identifies the audit entry of one change ("create" or
// "release") of one hold. The hold's creation time is part of it, so an
// id reused after a release is a new hold with entries of its own, and a
// retried change writes its entry once.
func HoldAuditID(h Hold, change string) string {
	return "hold:" + h.ID + ":" + h.CreatedAt.UTC().Format(time.RFC3339Nano) + ":" + change
}

// ErrHoldExists is returned (wrapped) by PlaceHold when a different hold
// has the id.
var ErrHoldExists = errors.New("a different hold has this id")

// PlaceHold stores h, then appends its creation to the audit log (kind
// AuditHoldCreate, at h.CreatedAt). It returns the hold as stored and
// whether this call created it.
//
// A hold that CheckHold refuses is refused with its HoldError. If a hold
// with h.ID exists and asks for the same (only CreatedAt, the server's,
// may differ) the call is a retry: it returns the stored hold, created
// false, and writes its entry if the first call did not get to (the
// entry's id is the same, so it is never written twice). If it asks for
// something else the error wraps ErrHoldExists.
//
// The hold is stored first and audited second: a crash in between leaves
// a hold that protects more than the log says, never less, and a retry
// writes the entry.
func PlaceHold(ctx context.Context, st HoldStore, h Hold, op HoldOp) (stored Hold, created bool, err error) {
	if err := CheckHold(h); err != nil {
		return Hold{}, false, err
	}
	if created, err = st.PutHold(ctx, h); err != nil {
		return Hold{}, false, fmt.Errorf("hold %s: %w", h.ID, err)
	}
	if !created {
		stored, err := st.GetHold(ctx, h.ID)
		if err != nil {
			return Hold{}, false, fmt.Errorf("hold %s: %w", h.ID, err)
		}
		if stored.Subject != h.Subject || stored.Reason != h.Reason || stored.CreatedBy != h.CreatedBy || !stored.ExpiresAt.Equal(h.ExpiresAt) {
			return Hold{}, false, fmt.Errorf("hold %s: %w", h.ID, ErrHoldExists)
		}
		h = stored
	}
	if err := auditHold(ctx, st, h, AuditHoldCreate, "create", h.CreatedAt, op); err != nil {
		return Hold{}, false, err
	}
	return h, created, nil
}

// ReleaseHold releases the hold id: it gets the hold (ErrNotFound if
// there is none), appends the release to the audit log (kind
// AuditHoldRelease, at op.At), then deletes it. It returns the hold as
// it was.
//
// The entry comes first, so a release is never missing from the log; if
// the delete fails, a retry finds the hold, writes no second entry and
// deletes it.
func ReleaseHold(ctx context.Context, st HoldStore, id string, op HoldOp) (Hold, error) {
	h, err := st.GetHold(ctx, id)
	if err != nil {
		return Hold{}, err
	}
	if err := auditHold(ctx, st, h, AuditHoldRelease, "release", op.At, op); err != nil {
		return Hold{}, err
	}
	if _, err := st.DeleteHold(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return Hold{}, fmt.Errorf("hold %s: %w", id, err)
	}
	return h, nil
}

func auditHold(ctx context.Context, st HoldStore, h Hold, kind, change string, at time.Time, op HoldOp) error {
	data, err := json.Marshal(HoldAudit{Hold: h, Via: op.Via, Actor: op.Actor})
	if err != nil {
		return fmt.Errorf("hold %s: %w", h.ID, err)
	}
	if _, err := st.AppendAudit(ctx, AuditEntry{ID: HoldAuditID(h, change), At: at.UTC(), Kind: kind, Subject: h.Subject, Data: data}); err != nil {
		return fmt.Errorf("hold %s: audit %s: %w", h.ID, change, err)
	}
	return nil
}
