package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/archive"
)

// ArchiveReader is what the archive API needs: the puller's status and
// the audited search (archive.Archive.Search writes every search, with the
// actor, to the audit log before it returns content).
type ArchiveReader interface {
	Status(ctx context.Context) (archive.Status, error)
	Search(ctx context.Context, actor string, q archive.SearchQuery) ([]archive.Result, string, error)
	// Media writes one media file's content to w (audited first);
	// archive.ErrNotFound for an unknown message or file,
	// archive.ErrMediaNotStored when its content was not downloaded.
	Media(ctx context.Context, actor, msgID, sdkFileID string, w io.Writer) error
}

type archiveAPI struct {
	ar   ArchiveReader
	opts *Options
}

// maxArchivePage bounds ?limit= of the archive listings.
const maxArchivePage = 1000

// status serves GET /api/v1/archive/status: cursor, newest msgtime, lag,
// quarantine, gaps, rates.
func (a *archiveAPI) status(c *gin.Context) {
	s, err := a.ar.Status(c.Request.Context())
	if err != nil {
		writeError(c, a.opts.Logger, "archive status", err)
		return
	}
	c.JSON(http.StatusOK, s)
}

// messages serves GET /api/v1/archive/messages?user=&customer=&room=&type=
// &from=&to=&q=&cursor=&limit=&order=asc: a page of messages, content
// opened, newest first; next_cursor is the cursor of the next page (""
// after the last). The search and who asked (X-Wecomply-Actor) are audited.
func (a *archiveAPI) messages(c *gin.Context) {
	actor, ok := archiveActor(c)
	if !ok {
		return
	}
	q, ok := a.query(c)
	if !ok {
		return
	}
	q.User, q.Customer, q.Room, q.Type = c.Query("user"), c.Query("customer"), c.Query("room"), c.Query("type")
	q.Conversation = c.Query("conversation")
	a.search(c, actor, q)
}

// conversation serves GET /api/v1/archive/conversations/:id: one chat's
// messages, oldest first (order=desc for newest first), with the same
// time, text and paging parameters.
func (a *archiveAPI) conversation(c *gin.Context) {
	actor, ok := archiveActor(c)
	if !ok {
		return
	}
	q, ok := a.query(c)
	if !ok {
		return
	}
	q.Conversation = c.Param("id")
	if _, set := c.GetQuery("order"); !set {
		q.Ascending = true
	}
	a.search(c, actor, q)
}

// archiveActor is who asks (requestActor), "api" when no ActorHeader
// names anyone: the archive's audit entries always name an actor.
func archiveActor(c *gin.Context) (string, bool) {
	actor, ok := requestActor(c)
	if actor == "" {
		actor = "api"
	}
	return actor, ok
}

// query reads the parameters both listings share; it answers 400 itself
// when one is wrong.
func (a *archiveAPI) query(c *gin.Context) (archive.SearchQuery, bool) {
	var q archive.SearchQuery
	limit, ok := queryLimit(c, 100, maxArchivePage)
	if !ok {
		return q, false
	}
	q.Limit = limit
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := c.Query(f.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			badRequest(c, f.name, "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00+08:00")
			return q, false
		}
		*f.to = t
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		badRequest(c, "to", "must be after from")
		return q, false
	}
	switch c.Query("order") {
	case "", "desc":
	case "asc":
		q.Ascending = true
	default:
		badRequest(c, "order", `must be "asc" or "desc"`)
		return q, false
	}
	q.Text = c.Query("q")
	q.Cursor = c.Query("cursor")
	return q, true
}

func (a *archiveAPI) search(c *gin.Context, actor string, q archive.SearchQuery) {
	res, next, err := a.ar.Search(c.Request.Context(), actor, q)
	switch {
	case errors.Is(err, archive.ErrQueryText):
		badRequest(c, "q", "must hold a letter, digit or CJK character to search by")
		return
	case errors.Is(err, archive.ErrInvalidCursor):
		badRequest(c, "cursor", "not one this listing returned")
		return
	case err != nil:
		writeError(c, a.opts.Logger, "archive search", err)
		return
	}
	writePage(c, "messages", res, next)
}

// maxMediaResponse bounds a media file the API buffers before answering
// (so that a failure half-way is a clean error, not a truncated 200).
const maxMediaResponse = 256 << 20

// media serves GET /api/v1/archive/media?msgid=&sdkfileid=: the file's
// content (application/octet-stream), audited with the actor; 404 for an
// unknown message or file, 409 when its content was not downloaded. (Query
// parameters, not path segments: msgids and sdkfileids are base64 and may
// hold a "/".)
func (a *archiveAPI) media(c *gin.Context) {
	actor, ok := archiveActor(c)
	if !ok {
		return
	}
	msgID, fileID := c.Query("msgid"), c.Query("sdkfileid")
	for _, p := range []struct{ name, v string }{{"msgid", msgID}, {"sdkfileid", fileID}} {
		if p.v == "" {
			badRequest(c, p.name, "is required")
			return
		}
	}
	var buf bytes.Buffer
	w := &limitedWriter{w: &buf, n: maxMediaResponse}
	err := a.ar.Media(c.Request.Context(), actor, msgID, fileID, w)
	switch {
	case errors.Is(err, archive.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "no such message or media file"})
	case errors.Is(err, archive.ErrMediaNotStored):
		c.JSON(http.StatusConflict, gin.H{"error": "the media content was not downloaded (archive.media off, pending, failed or expired)"})
	case errors.Is(err, errTooLarge):
		c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": "the media file is larger than the API serves; use wecomply archive export"})
	case err != nil:
		writeError(c, a.opts.Logger, "archive media", err)
	default:
		c.Data(http.StatusOK, "application/octet-stream", buf.Bytes())
	}
}

var errTooLarge = errors.New("too large")

type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}
