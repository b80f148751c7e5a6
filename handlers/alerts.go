package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/store"
)

// AlertContext is how many messages of the conversation before and after
// a hit GET /api/v1/alerts/:id shows ([rules] context_before/after).
type AlertContext struct {
	Before, After int
}

type alertsAPI struct {
	st      store.AlertStore // the alerts and the audit log every decision is written to
	archive ArchiveReader    // nil: no context
	context AlertContext
	now     func() time.Time
	logger  *slog.Logger
}

// list serves GET /api/v1/alerts?state=&limit=&cursor=: the alerts in a
// state (default open), oldest raised first, paged like every list route
// (paging.go).
func (a *alertsAPI) list(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	state := store.AlertState(c.DefaultQuery("state", string(store.AlertOpen)))
	if !state.Valid() {
		badRequest(c, "state", "must be open, escalated, confirmed or false_positive")
		return
	}
	items, next, err := a.st.ListAlerts(c.Request.Context(), state, p)
	if err != nil {
		writeError(c, a.logger, "list alerts", err)
		return
	}
	writePage(c, "alerts", items, next)
}

// alertView is one alert with what the archive holds of it: the message
// (its text decrypted, and the match within it) and the conversation
// around it. Reading them is audited in the archive's name with the
// request's actor (archiveActor: "api" when the request names none).
type alertView struct {
	Alert store.Alert `json:"alert"`
	// Match is the matched text, read from the archive ("" without it).
	Match   string           `json:"match,omitempty"`
	Message *archive.Result  `json:"message,omitempty"`
	Before  []archive.Result `json:"context_before,omitempty"`
	After   []archive.Result `json:"context_after,omitempty"`
	// ContextError says why the archive could not be read, if it could
	// not; the alert itself is still shown.
	ContextError string `json:"context_error,omitempty"`
}

// get serves GET /api/v1/alerts/:id: the alert and, when the archive is
// configured, the message and the [rules] context_before messages of its
// conversation before it and context_after after it (strictly earlier
// and later msgtimes), read from the archive now — the later ones arrive
// after the alert is raised.
func (a *alertsAPI) get(c *gin.Context) {
	actor, ok := archiveActor(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	al, err := a.st.GetAlert(ctx, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.JSON(http.StatusNotFound, gin.H{"error": "no such alert"})
		return
	}
	if err != nil {
		writeError(c, a.logger, "get alert", err)
		return
	}
	v := alertView{Alert: al}
	if a.archive != nil {
		if err := a.readContext(c, actor, &v); err != nil {
			a.logger.Warn("alert context not read from the archive", "alert", al.ID, "err", err)
			v.ContextError = "the archive could not be read"
		}
	}
	c.JSON(http.StatusOK, v)
}

func (a *alertsAPI) readContext(c *gin.Context, actor string, v *alertView) error {
	ctx := c.Request.Context()
	al := v.Alert
	msgs, _, err := a.archive.Search(ctx, actor, archive.SearchQuery{SearchFilters: archive.SearchFilters{MsgID: al.MsgID}})
	if err != nil {
		return err
	}
	if len(msgs) == 1 {
		v.Message = &msgs[0]
		if t := msgs[0].Text; al.Start <= al.End && al.End <= len(t) {
			v.Match = t[al.Start:al.End]
		}
	}
	if al.ConversationID == "" {
		return nil
	}
	if a.context.Before > 0 {
		before, _, err := a.archive.Search(ctx, actor, archive.SearchQuery{
			SearchFilters: archive.SearchFilters{Conversation: al.ConversationID, To: al.MsgTime}, Limit: a.context.Before})
		if err != nil {
			return err
		}
		// Newest first from the store; shown in time order.
		for i := len(before) - 1; i >= 0; i-- {
			v.Before = append(v.Before, before[i])
		}
	}
	if a.context.After > 0 {
		after, _, err := a.archive.Search(ctx, actor, archive.SearchQuery{
			SearchFilters: archive.SearchFilters{Conversation: al.ConversationID, From: al.MsgTime.Add(time.Millisecond)},
			Ascending:     true, Limit: a.context.After})
		if err != nil {
			return err
		}
		v.After = after
	}
	return nil
}

// decisionRequest is the body of POST /api/v1/alerts/:id/decision.
type decisionRequest struct {
	Decision string `json:"decision"`
	Note     string `json:"note"`
}

// decide serves POST /api/v1/alerts/:id/decision: the actor (the
// X-Wecomply-Actor header, required) decides the alert confirmed or
// false_positive, with a note; the decision is in the audit log before
// the answer. 200 with the alert as decided (also when it was decided the
// same way before: a retry changes nothing); 409 if it was decided
// otherwise; 404 if there is none; 400 naming the field.
func (a *alertsAPI) decide(c *gin.Context) {
	actor, ok := requestActor(c)
	if !ok {
		return
	}
	if actor == "" {
		badRequest(c, ActorHeader, "is required: who decides")
		return
	}
	var req decisionRequest
	if !decodeBody(c, 16<<10, &req, "is not a field of a decision (decision, note)") {
		return
	}
	state := store.AlertState(req.Decision)
	if state != store.AlertConfirmed && state != store.AlertFalsePositive {
		badRequest(c, "decision", "must be confirmed or false_positive")
		return
	}
	al, changed, err := store.DecideAudited(c.Request.Context(), a.st,
		store.AlertDecision{ID: c.Param("id"), State: state, Actor: actor, At: a.now().UTC(), Note: req.Note})
	var ae *store.AlertError
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "no such alert"})
	case errors.Is(err, store.ErrAlertDecided):
		c.JSON(http.StatusConflict, gin.H{"error": "decision: the alert was decided otherwise already", "field": "decision"})
	case errors.As(err, &ae):
		badRequest(c, ae.Field, ae.Problem)
	case err != nil:
		writeError(c, a.logger, "decide alert", err)
	default:
		a.logger.Info("alert decided", "alert", al.ID, "state", al.State, "changed", changed)
		c.JSON(http.StatusOK, gin.H{"alert": al, "changed": changed})
	}
}
