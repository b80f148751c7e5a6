package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
)

// ActorHeader names, optionally, who makes an admin API request that is
// audited as theirs (a dead letter's retry or drop, a hold's placing or
// release). The admin token is
// shared and anonymous, so the header is what the caller says, recorded
// as such; without it the audit entry says only "via": "api".
const ActorHeader = "X-Wecomply-Actor"

// maxActorLen bounds ActorHeader.
const maxActorLen = 128

type deadLettersAPI struct {
	st     store.DeadLetterStore
	now    func() time.Time
	logger *slog.Logger
}

// deadLetterView is a dead letter as the API shows it: what it was, when
// and why it died — not its payload, the message as WeCom sent it
// (decrypted text: personal data), of which only the size is shown.
type deadLetterView struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	DedupKey     string    `json:"dedup_key"`
	Receiver     string    `json:"receiver"`
	ReceivedAt   time.Time `json:"received_at"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"last_error"`
	DiedAt       time.Time `json:"died_at"`
	PayloadBytes int       `json:"payload_bytes"`
}

func viewDeadLetter(d store.DeadLetter) deadLetterView {
	return deadLetterView{ID: d.ID, Kind: d.Kind, DedupKey: d.DedupKey, Receiver: d.Receiver, ReceivedAt: d.ReceivedAt,
		Attempts: d.Attempts, LastError: d.LastError, DiedAt: d.DiedAt, PayloadBytes: len(d.Payload)}
}

// list serves GET /api/v1/dead-letters?limit=&cursor=: the dead letters in
// the order they died, oldest first, a page at a time.
func (a *deadLettersAPI) list(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	items, next, err := a.st.ListDeadLetters(c.Request.Context(), p)
	if err != nil {
		writeError(c, a.logger, "list dead letters", err)
		return
	}
	out := make([]deadLetterView, len(items))
	for i, d := range items {
		out[i] = viewDeadLetter(d)
	}
	writePage(c, "dead_letters", out, next)
}

// get serves GET /api/v1/dead-letters/:id: 200 with the dead letter, 404
// if there is none.
func (a *deadLettersAPI) get(c *gin.Context) {
	id := c.Param("id")
	d, err := a.st.GetDeadLetter(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		noDeadLetter(c, id)
		return
	}
	if err != nil {
		writeError(c, a.logger, "get dead letter", err, "id", id)
		return
	}
	c.JSON(http.StatusOK, gin.H{"dead_letter": viewDeadLetter(d)})
}

// retry serves POST /api/v1/dead-letters/:id/retry: 202 once the event
// is queued again (a new entry, whose id is entry_id; the workers
// process it as if it had just arrived), with the dead letter as it was;
// 404 if there is none (never was, or was retried or dropped already).
// Audited (store.DoDeadLetter).
func (a *deadLettersAPI) retry(c *gin.Context) {
	d, entryID, ok := a.do(c, store.DeadLetterRetry)
	if !ok {
		return
	}
	a.logger.Info("dead letter retried", "id", d.ID, "kind", d.Kind, "entry", entryID)
	c.JSON(http.StatusAccepted, gin.H{"retried": viewDeadLetter(d), "entry_id": entryID})
}

// drop serves DELETE /api/v1/dead-letters/:id: 200 with the dead letter
// as it was, deleted for good; 404 if there is none. Audited. (DELETE,
// as for a hold's release: the dead letter is a resource that ceases to
// exist, and a repeated DELETE changes nothing more.)
func (a *deadLettersAPI) drop(c *gin.Context) {
	d, _, ok := a.do(c, store.DeadLetterDrop)
	if !ok {
		return
	}
	a.logger.Info("dead letter dropped", "id", d.ID, "kind", d.Kind)
	c.JSON(http.StatusOK, gin.H{"dropped": viewDeadLetter(d)})
}

// do carries out action on the dead letter of the path, audited as the
// ActorHeader's; it answers the request itself unless ok.
func (a *deadLettersAPI) do(c *gin.Context, action store.DeadLetterAction) (d store.DeadLetter, entryID string, ok bool) {
	actor, ok := requestActor(c)
	if !ok {
		return store.DeadLetter{}, "", false
	}
	id := c.Param("id")
	d, entryID, err := store.DoDeadLetter(c.Request.Context(), a.st, id,
		store.DeadLetterOp{Action: action, Via: "api", Actor: actor, At: a.now()})
	if errors.Is(err, store.ErrNotFound) {
		noDeadLetter(c, id)
		return store.DeadLetter{}, "", false
	}
	if err != nil {
		writeError(c, a.logger, string(action)+" dead letter", err, "id", id)
		return store.DeadLetter{}, "", false
	}
	return d, entryID, true
}

// checkActor says what is wrong with an ActorHeader value, "" if nothing.
func checkActor(actor string) string {
	if len(actor) > maxActorLen {
		return "must be at most " + strconv.Itoa(maxActorLen) + " bytes"
	}
	if !utf8.ValidString(actor) {
		return "must be UTF-8"
	}
	for _, r := range actor {
		if !unicode.IsPrint(r) {
			return "must be printable text"
		}
	}
	return ""
}

func noDeadLetter(c *gin.Context, id string) {
	c.JSON(http.StatusNotFound, gin.H{"error": "id: no dead letter " + strconv.Quote(id), "field": "id"})
}
