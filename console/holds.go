package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wecomply/wecomply/store"
)

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
// many days it lasts, placed with store.PlaceHold (stored, then
// audited).
func (s *Server) placeHold(w http.ResponseWriter, r *http.Request, sess *session) {
	now := s.o.Now().UTC()
	f := r.PostForm
	back := func(field, problem string) {
		http.Redirect(w, r, Prefix+"holds?field="+url.QueryEscape(field)+"&error="+url.QueryEscape(problem)+"&subject="+url.QueryEscape(f.Get("subject")), http.StatusSeeOther)
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
	_, _, err := store.PlaceHold(r.Context(), s.o.Store, h, store.HoldOp{Via: "console", Actor: sess.UserID})
	var he *store.HoldError
	if errors.As(err, &he) {
		back(he.Field, he.Problem)
		return
	}
	if err != nil {
		s.internal(w, r, sess, "place hold", err)
		return
	}
	s.o.Logger.Info("console: legal hold placed", "hold", h.ID, "by", sess.UserID)
	http.Redirect(w, r, Prefix+"holds", http.StatusSeeOther)
}

// releaseHold releases a hold (officer) with store.ReleaseHold (audited
// first, then deleted).
func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request, sess *session) {
	h, err := store.ReleaseHold(r.Context(), s.o.Store, r.PathValue("id"), store.HoldOp{Via: "console", Actor: sess.UserID, At: s.o.Now()})
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_hold")
		return
	}
	if err != nil {
		s.internal(w, r, sess, "release hold", err)
		return
	}
	s.o.Logger.Info("console: legal hold released", "hold", h.ID, "by", sess.UserID)
	http.Redirect(w, r, Prefix+"holds", http.StatusSeeOther)
}
