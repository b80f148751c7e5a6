package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
)

type holdsAPI struct {
	st     store.HoldStore
	now    func() time.Time
	rand   io.Reader // hold ids; crypto/rand.Reader
	logger *slog.Logger
}

func newHoldsAPI(st store.HoldStore, now func() time.Time, logger *slog.Logger) *holdsAPI {
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

// create serves POST /api/v1/holds: 201 with the hold once it is stored
// and its creation is in the audit log; 200 with the hold if the id was
// created before with the same fields (a retry); 409 if the id names a
// different hold; 400 naming the field for a bad body.
//
// The hold is stored first and audited second (store.PlaceHold, as the
// ActorHeader's): a crash in between leaves a hold that protects more
// than the log says, never less, and the client's retry with the same id
// writes the entry.
func (a *holdsAPI) create(c *gin.Context) {
	actor, ok := requestActor(c)
	if !ok {
		return
	}
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
	h, created, err := store.PlaceHold(c.Request.Context(), a.st, h, store.HoldOp{Via: "api", Actor: actor})
	var he *store.HoldError
	switch {
	case errors.As(err, &he):
		badRequest(c, he.Field, he.Problem)
		return
	case errors.Is(err, store.ErrHoldExists):
		c.JSON(http.StatusConflict, gin.H{"error": "id: a different hold has this id", "field": "id"})
		return
	case err != nil:
		writeError(c, a.logger, "place hold", err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
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
// 404 if there is none. The release is audited (store.ReleaseHold, as
// the ActorHeader's) before the hold is deleted, so a release is never
// missing from the log; if the delete fails the client's retry finds the
// hold, writes no second entry and deletes it.
func (a *holdsAPI) release(c *gin.Context) {
	actor, ok := requestActor(c)
	if !ok {
		return
	}
	id := c.Param("id")
	h, err := store.ReleaseHold(c.Request.Context(), a.st, id, store.HoldOp{Via: "api", Actor: actor, At: a.now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "id: no hold " + strconv.Quote(id), "field": "id"})
		return
	case err != nil:
		writeError(c, a.logger, "release hold", err)
		return
	}
	a.logger.Info("legal hold released", "hold", h.ID)
	c.JSON(http.StatusOK, gin.H{"released": h})
}

func (a *holdsAPI) newID() (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", err
	}
	return "hold-" + hex.EncodeToString(b), nil
}
