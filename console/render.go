package console

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/wecomply/wecomply/store"
)

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: layout: %w", err)
	}
	names, err := fs.Glob(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(webFS, n)
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"pct": func(n, of int) string {
		if of == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
	},
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
}

// view is what every page's template gets.
type view struct {
	Lang     string
	Sess     *session
	Path     string
	Zone     string
	Offset   string
	Data     any
	Evidence bool
	loc      *time.Location
}

// T is the text of key in the page's language.
func (v view) T(key string) string { return text(v.Lang, key) }

// Time shows t in the console's zone, with its offset; "–" for zero.
func (v view) Time(t time.Time) template.HTML {
	if t.IsZero() {
		return "–"
	}
	lt := t.In(v.loc)
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.UTC().Format(time.RFC3339), template.HTMLEscapeString(v.Zone), lt.Format("2006-01-02 15:04 -07:00")))
}

// Day shows t's date in the console's zone.
func (v view) Day(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(v.loc).Format("2006-01-02")
}

// Can reports whether the session has at least role name.
func (v view) Can(name string) bool {
	if v.Sess == nil {
		return false
	}
	switch name {
	case "officer":
		return v.Sess.Role >= Officer
	case "admin":
		return v.Sess.Role >= Admin
	}
	return v.Sess.Role >= Viewer
}

// lang is the request's language: the remembered choice, else zh-CN.
func (s *Server) lang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "zh-CN"
}

// render writes page with data.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, page string, data any) {
	s.renderStatus(w, r, sess, http.StatusOK, page, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, sess *session, status int, page string, data any) {
	t, ok := s.pages[page]
	if !ok {
		http.Error(w, "no page "+page, http.StatusInternalServerError)
		return
	}
	v := view{Lang: s.lang(r), Sess: sess, Path: r.URL.RequestURI(), Zone: s.zone,
		Offset: s.o.Now().In(s.o.Location).Format("-07:00"), Data: data, Evidence: s.o.Evidence != nil, loc: s.o.Location}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.o.Logger.Error("console: render", "page", page, "err", err)
		http.Error(w, "page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// fail shows an error page with a message key.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, status int, key string) {
	s.renderStatus(w, r, sess, status, "error", map[string]any{"Status": status, "Key": key})
}

// internal logs err and shows a generic error.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, sess *session, op string, err error) {
	s.o.Logger.Error("console: "+op, "err", err, "user", sess.UserID)
	s.fail(w, r, sess, http.StatusInternalServerError, "err_internal")
}

// listFailed answers a listing's error, if any: 400 for a cursor that
// is not one of the listing's, 500 for anything else.
func (s *Server) listFailed(w http.ResponseWriter, r *http.Request, sess *session, op string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrInvalidCursor):
		s.fail(w, r, sess, http.StatusBadRequest, "err_cursor")
	default:
		s.internal(w, r, sess, op, err)
	}
	return true
}

// viewAudit is the data of a console.view audit entry: who looked at
// which page with which filter.
type viewAudit struct {
	Actor  string            `json:"actor"`
	Role   string            `json:"role"`
	Page   string            `json:"page"`
	Filter map[string]string `json:"filter,omitempty"`
}

// Audit entry kinds the console writes.
const (
	AuditView = "console.view"
)

// auditView writes that sess viewed page (showing personal data) with
// filter, before the page is shown: a page whose view cannot be recorded
// is not shown.
func (s *Server) auditView(r *http.Request, sess *session, page, subject string, filter map[string]string) error {
	data, err := json.Marshal(viewAudit{Actor: sess.UserID, Role: sess.Role.String(), Page: page, Filter: filter})
	if err != nil {
		return err
	}
	if subject == "" {
		subject = sess.UserID
	}
	_, err = s.o.Store.AppendAudit(r.Context(), store.AuditEntry{ID: "console-view:" + randomID(), At: s.o.Now().UTC(),
		Kind: AuditView, Subject: subject, Data: data})
	return err
}

// auditAction writes a console action (sign-in) to the audit log; a
// failure is logged (the action itself has happened).
func (s *Server) auditAction(r *http.Request, sess *session, kind, subject string, data map[string]any) {
	data["actor"] = sess.UserID
	b, err := json.Marshal(data)
	if err == nil {
		_, err = s.o.Store.AppendAudit(r.Context(), store.AuditEntry{ID: kind + ":" + randomID(), At: s.o.Now().UTC(),
			Kind: kind, Subject: subject, Data: b})
	}
	if err != nil {
		s.o.Logger.Error("console: audit "+kind, "err", err)
	}
}

// randomID is 16 random bytes in hex (audit entry ids).
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return hex.EncodeToString(b)
}

// nextURL is the link to the next page of a listing: the request's
// query with key set to cursor; "" when there is no next page.
func nextURL(r *http.Request, key, cursor string) template.URL {
	if cursor == "" {
		return ""
	}
	q := r.URL.Query()
	q.Set(key, cursor)
	return template.URL(r.URL.Path + "?" + q.Encode())
}
