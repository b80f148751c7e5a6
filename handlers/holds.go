package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
)

// HoldStore is what the holds API needs: the holds and the audit log
// every change is written to.
type HoldStore interface {
	store.Holds
	store.Audit
}

type holdsAPI struct {
	st     HoldStore
	now    func() time.Time
	rand   io.Reader // hold ids; crypto/rand.Reader
	logger *slog.Logger
}

func newHoldsAPI(st HoldStore, now func() time.Time, logger *slog.Logger) *holdsAPI {
	return &holdsAPI{st: st, now: now, rand: rand.Reader, logger: logger}
}

// holdRequest is the body of POST /api/v1/holds.
type holdRequest struct {
	// ID is optional: a client that sets it may retry the request safely
	// (the same id creates one hold). Without it one is made.
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	ExpiresAt time.Time `json:"expires_at"`
}

// holdView is a hold as the API shows it.
type holdView struct {
	store.Hold
	// Active: the hold protects its subject now (it has not expired).
	Active bool `json:"active"`
}

// Audit entry kinds of hold changes.
const (
	AuditHoldCreate  = "hold.create"
	AuditHoldRelease = "hold.release"
)

// holdAuditID identifies the audit entry of one change of one hold. The
// hold's creation time is part of it, so an id reused after a release is
// a new hold with entries of its own, and a retried request writes its
// entry once.
func holdAuditID(h store.Hold, change string) string {
	return "hold:" + h.ID + ":" + h.CreatedAt.UTC().Format(time.RFC3339Nano) + ":" + change
}

// create serves POST /api/v1/holds: 201 with the hold once it is stored
// and its creation is in the audit log; 200 with the hold if the id was
// created before with the same fields (a retry); 409 if the id names a
// different hold; 400 naming the field for a bad body.
//
// The hold is stored first and audited second: a crash in between leaves
// a hold that protects more than the log says, never less, and the
// client's retry with the same id writes the entry.
func (a *holdsAPI) create(c *gin.Context) {
	var req holdRequest
	if !decodeBody(c, 64<<10, &req, "is not a field of a hold (id, subject, reason, created_by, expires_at)") {
		return
	}
	now := a.now()
	if req.ID == "" {
		id, err := a.newID()
		if err != nil {
			writeError(c, a.logger, "make hold id", err)
			return
		}
		req.ID = id
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		badRequest(c, "expires_at", "must be in the future")
		return
	}
	h := store.Hold{ID: req.ID, Subject: req.Subject, Reason: req.Reason, CreatedBy: req.CreatedBy,
		CreatedAt: now.UTC(), ExpiresAt: req.ExpiresAt.UTC()}
	if err := store.CheckHold(h); err != nil {
		var he *store.HoldError
		if errors.As(err, &he) {
			badRequest(c, he.Field, he.Problem)
			return
		}
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	ctx := c.Request.Context()
	created, err := a.st.PutHold(ctx, h)
	if err != nil {
		writeError(c, a.logger, "put hold", err)
		return
	}
	status := http.StatusCreated
	if !created {
		stored, err := a.st.GetHold(ctx, h.ID)
		if err != nil {
			writeError(c, a.logger, "get hold", err)
			return
		}
		if !sameHold(stored, h) {
			c.JSON(http.StatusConflict, gin.H{"error": "id: a different hold has this id", "field": "id"})
			return
		}
		h, status = stored, http.StatusOK
	}
	if err := a.audit(ctx, h, AuditHoldCreate, "create", h.CreatedAt); err != nil {
		writeError(c, a.logger, "audit hold creation", err)
		return
	}
	a.logger.Info("legal hold created", "hold", h.ID, "created", created)
	c.JSON(status, gin.H{"hold": holdView{Hold: h, Active: h.Active(now)}})
}

// list serves GET /api/v1/holds?limit=&cursor=: the holds in id order,
// a page at a time.
func (a *holdsAPI) list(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	all, err := a.st.ListHolds(c.Request.Context())
	if err != nil {
		writeError(c, a.logger, "list holds", err)
		return
	}
	hs, next, err := pageOf("holds", all, func(h store.Hold) string { return h.ID }, p)
	if err != nil {
		writeError(c, a.logger, "list holds", err)
		return
	}
	now := a.now()
	out := make([]holdView, len(hs))
	for i, h := range hs {
		out[i] = holdView{Hold: h, Active: h.Active(now)}
	}
	writePage(c, "holds", out, next)
}

// release serves DELETE /api/v1/holds/:id: 200 with the released hold,
// 404 if there is none. The release is audited before the hold is
// deleted, so a release is never missing from the log; if the delete
// fails the client's retry finds the hold, writes no second entry and
// deletes it.
func (a *holdsAPI) release(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	h, err := a.st.GetHold(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "id: no hold " + strconv.Quote(id), "field": "id"})
		return
	case err != nil:
		writeError(c, a.logger, "get hold", err)
		return
	}
	if err := a.audit(ctx, h, AuditHoldRelease, "release", a.now()); err != nil {
		writeError(c, a.logger, "audit hold release", err)
		return
	}
	if _, err := a.st.DeleteHold(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(c, a.logger, "delete hold", err)
		return
	}
	a.logger.Info("legal hold released", "hold", h.ID)
	c.JSON(http.StatusOK, gin.H{"released": h})
}

// sameHold reports whether stored is the hold a request for h asked for:
// a retry of the request that created it. Only the creation time, the
// server's, may differ.
func sameHold(stored, h store.Hold) bool {
	return stored.Subject == h.Subject && stored.Reason == h.Reason && stored.CreatedBy == h.CreatedBy &&
		stored.ExpiresAt.Equal(h.ExpiresAt)
}

// audit appends the entry of one change of h (kind; change names it in
// the entry's id, see holdAuditID).
func (a *holdsAPI) audit(ctx context.Context, h store.Hold, kind, change string, at time.Time) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = a.st.AppendAudit(ctx, store.AuditEntry{ID: holdAuditID(h, change), At: at, Kind: kind, Subject: h.Subject, Data: data})
	return err
}

func (a *holdsAPI) newID() (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", err
	}
	return "hold-" + hex.EncodeToString(b), nil
}
