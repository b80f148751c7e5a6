package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/store"
)

// Audit entry kinds of hold changes: the same as the admin API writes.
const (
	AuditHoldCreate  = "hold.create"
	AuditHoldRelease = "hold.release"
)

// holdAuditID is the id the admin API gives a hold change's entry too, so
// a change made in either place is written once.
func holdAuditID(h store.Hold, change string) string {
	return "hold:" + h.ID + ":" + h.CreatedAt.UTC().Format(time.RFC3339Nano) + ":" + change
}

// holds lists the legal holds.
func (s *Server) holds(w http.ResponseWriter, r *http.Request, sess *session) {
	hs, err := s.o.Store.ListHolds(r.Context())
	if err != nil {
		s.internal(w, r, sess, "list holds", err)
		return
	}
	if err := s.auditView(r, sess, "holds", "", nil); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	now := s.o.Now()
	type row struct {
		store.Hold
		Active bool
	}
	rows := make([]row, len(hs))
	for i, h := range hs {
		rows[i] = row{Hold: h, Active: h.Active(now)}
	}
	s.render(w, r, sess, "holds", map[string]any{"Holds": rows, "CSRF": sess.CSRF,
		"Subject": r.URL.Query().Get("subject"), "Error": r.URL.Query().Get("error"), "Field": r.URL.Query().Get("field")})
}

// placeHold places a hold (officer): subject, reason, and optionally how
// many days it lasts. The hold is stored, then audited (as the API does:
// a crash in between leaves a hold that protects more than the log says).
func (s *Server) placeHold(w http.ResponseWriter, r *http.Request, sess *session) {
	now := s.o.Now().UTC()
	f := r.PostForm
	back := func(field, problem string) {
		http.Redirect(w, r, Prefix+"holds?field="+urlQuery(field)+"&error="+urlQuery(problem)+"&subject="+urlQuery(f.Get("subject")), http.StatusSeeOther)
	}
	h := store.Hold{ID: "hold-" + randomID()[:16], Subject: strings.TrimSpace(f.Get("subject")), Reason: strings.TrimSpace(f.Get("reason")),
		CreatedBy: sess.UserID, CreatedAt: now}
	if d := strings.TrimSpace(f.Get("days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 36500 {
			back("days", "must be a whole number of days, 1 to 36500")
			return
		}
		h.ExpiresAt = now.AddDate(0, 0, n)
	}
	if err := store.CheckHold(h); err != nil {
		var he *store.HoldError
		if errors.As(err, &he) {
			back(he.Field, he.Problem)
			return
		}
		back("", err.Error())
		return
	}
	ctx := r.Context()
	if _, err := s.o.Store.PutHold(ctx, h); err != nil {
		s.internal(w, r, sess, "put hold", err)
		return
	}
	if err := s.auditHold(r, sess, h, AuditHoldCreate, "create", h.CreatedAt); err != nil {
		s.internal(w, r, sess, "audit hold", err)
		return
	}
	s.o.Logger.Info("console: legal hold placed", "hold", h.ID, "by", sess.UserID)
	http.Redirect(w, r, Prefix+"holds", http.StatusSeeOther)
}

// releaseHold releases a hold (officer): audited first, then deleted (a
// release is never missing from the log).
func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	h, err := s.o.Store.GetHold(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_hold")
		return
	}
	if err != nil {
		s.internal(w, r, sess, "get hold", err)
		return
	}
	if err := s.auditHold(r, sess, h, AuditHoldRelease, "release", s.o.Now().UTC()); err != nil {
		s.internal(w, r, sess, "audit hold", err)
		return
	}
	if _, err := s.o.Store.DeleteHold(ctx, h.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(w, r, sess, "delete hold", err)
		return
	}
	s.o.Logger.Info("console: legal hold released", "hold", h.ID, "by", sess.UserID)
	http.Redirect(w, r, Prefix+"holds", http.StatusSeeOther)
}

func (s *Server) auditHold(r *http.Request, sess *session, h store.Hold, kind, change string, at time.Time) error {
	data, err := json.Marshal(struct {
		Hold  store.Hold `json:"hold"`
		Via   string     `json:"via"`
		Actor string     `json:"actor"`
	}{h, "console", sess.UserID})
	if err != nil {
		return err
	}
	_, err = s.o.Store.AppendAudit(r.Context(), store.AuditEntry{ID: holdAuditID(h, change), At: at, Kind: kind, Subject: h.Subject, Data: data})
	return err
}
