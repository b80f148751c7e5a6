package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/store"
)

// Submitter records notices for delivery (notify.Notifier).
type Submitter interface {
	Submit(ctx context.Context, n notify.Notice) (notify.Submitted, error)
}

type sendsAPI struct {
	notify  Submitter
	results store.SendResults
	logger  *slog.Logger
}

// sendRequest is the body of POST /api/v1/sends: an ad-hoc notice, e.g.
// an admin's test of a template, or a notice to a list of people.
type sendRequest struct {
	Key      string         `json:"key"`
	Template string         `json:"template"`
	Lang     string         `json:"lang"`
	Data     map[string]any `json:"data"`
	To       []string       `json:"to"`
	Deadline time.Time      `json:"deadline"`
}

// submit serves POST /api/v1/sends: 202 once the notice is recorded.
func (a *sendsAPI) submit(c *gin.Context) {
	var req sendRequest
	if !decodeBody(c, 16<<20, &req, "unknown field; a send has key, template, lang, data, to, deadline") {
		return
	}
	var missing []string
	for field, v := range map[string]string{"key": req.Key, "template": req.Template, "lang": req.Lang} {
		if v == "" {
			missing = append(missing, field)
		}
	}
	if len(req.To) == 0 {
		missing = append(missing, "to")
	}
	if len(missing) > 0 {
		c.JSON(http.StatusBadRequest, gin.H{"error": "missing fields", "fields": missing})
		return
	}
	out, err := a.notify.Submit(c.Request.Context(), notify.Notice{Key: req.Key, Template: req.Template, Lang: req.Lang,
		Data: req.Data, To: req.To, Deadline: req.Deadline})
	if err != nil {
		writeError(c, a.logger, "submit notice", err, "key", req.Key)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"key": req.Key, "content_hash": out.ContentHash, "recipients": out.Recipients,
		"skipped": out.Skipped, "duplicate": out.Duplicate})
}

// results serves GET /api/v1/sends/:key?limit=&cursor=: the recipients'
// results so far in user id order, a page at a time, with the counts by
// status of all of them.
func (a *sendsAPI) list(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	key := c.Param("key")
	rs, err := a.results.ListSendResults(c.Request.Context(), key)
	if err != nil {
		writeError(c, a.logger, "list send results", err, "key", key)
		return
	}
	counts := map[store.DeliveryStatus]int{}
	for _, r := range rs {
		counts[r.Status]++
	}
	onPage, next, err := pageOf("sends", rs, func(r store.RecipientResult) string { return r.UserID }, p)
	if err != nil {
		writeError(c, a.logger, "list send results", err, "key", key)
		return
	}
	c.JSON(http.StatusOK, gin.H{"key": key, "counts": counts, "results": nonNil(onPage), "next_cursor": next})
}
