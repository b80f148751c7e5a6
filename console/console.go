// Package console is the officers' web console at /console/: sign-in
// with WeCom (the in-WeCom OAuth link or the Web login), server-side
// sessions with an idle timeout, a CSRF token on every form, roles from
// config, and server-rendered pages (html/template, inline SVG charts, no
// scripts) in zh-CN and en, every time in one zone that the page names.
// Every page view that shows personal data is written to the audit log.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Store is what the console reads and writes.
type Store interface {
	store.Obligations
	store.Attestations
	store.Consents
	store.People
	store.Audit
	store.Holds
	store.SendResults
	store.JobRuns
	store.Queue
}

// SignIn exchanges a sign-in code for who signed in (the wecom Client's
// auth/getuserinfo).
type SignIn interface {
	UserInfo(ctx context.Context, code string) (wecom.SignIn, error)
}

// Archive is the session archive's reader; it audits its own reads.
type Archive interface {
	Search(ctx context.Context, actor string, q archive.SearchQuery) ([]archive.Result, string, error)
}

// EvidenceMaker writes evidence packs (a zip) for a person or a notice
// version, auditing each pack it makes. nil turns the download buttons
// off.
type EvidenceMaker interface {
	PersonPack(ctx context.Context, actor, userID string, w io.Writer) error
	NoticePack(ctx context.Context, actor, noticeID string, version int, w io.Writer) error
}

// Departments names departments by id (nil: pages show ids).
type Departments interface {
	DepartmentNames(ctx context.Context) (map[int64]string, error)
}

// RenderNotice renders a notice version's card in lang for a person due
// at due, exactly as it was sent: its Hash is the content hash recorded
// with the delivery and the acknowledgement.
type RenderNotice func(n policy.Notice, lang string, due time.Time) (templates.Rendered, error)

// Roles grants the console's roles: each entry is a UserID or
// "tag:<tagid>".
type Roles struct {
	Viewers, Officers, Admins []string
}

// Options configure a Server.
type Options struct {
	Store       Store
	SignIn      SignIn
	Archive     Archive       // nil: the archive pages say it is off
	Evidence    EvidenceMaker // nil: no evidence packs
	Transfers   Transfers     // nil: no transfer register
	Departments Departments   // nil: department ids
	Render      RenderNotice  // nil: notice texts are not shown
	Notices     []policy.Notice
	Jobs        []string // the scheduled jobs' names, for the dashboard

	CorpID  string
	AgentID int64
	// BaseURL is the console's public origin (https://host[:port]);
	// WeCom redirects back to BaseURL + Prefix + "auth/callback". The
	// session cookie is Secure when it is https.
	BaseURL      string
	OAuthBaseURL string // default wecom.DefaultOAuthBaseURL
	LoginBaseURL string // default wecom.DefaultLoginBaseURL

	Roles       Roles
	SessionIdle time.Duration  // default 30m
	Location    *time.Location // every time shown; default Asia/Shanghai (+08:00)
	Now         func() time.Time
	Rand        io.Reader // session ids, CSRF tokens, states; default crypto/rand
	Logger      *slog.Logger
}

// Server is the console: an http.Handler for Prefix.
type Server struct {
	o        Options
	mux      *http.ServeMux
	routes   []route
	sessions *sessions
	pages    map[string]*template.Template
	secure   bool
	zone     string // the zone's name as shown
}

// route is one registered page or action.
type route struct {
	Method, Path string
	Public       bool
	Min          Role // the least role that may use it (Public: none)
	handler      func(w http.ResponseWriter, r *http.Request, s *session)
}

//go:embed web/*.html
var webFS embed.FS

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Store == nil || o.SignIn == nil {
		return nil, errors.New("console: Store and SignIn are required")
	}
	if o.CorpID == "" || o.AgentID == 0 {
		return nil, errors.New("console: CorpID and AgentID are required")
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("console: base URL %q is not an http(s) origin", o.BaseURL)
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
	if o.OAuthBaseURL == "" {
		o.OAuthBaseURL = wecom.DefaultOAuthBaseURL
	}
	if o.LoginBaseURL == "" {
		o.LoginBaseURL = wecom.DefaultLoginBaseURL
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.Location == nil {
		o.Location = time.FixedZone("CST", 8*3600)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, mux: http.NewServeMux(), secure: u.Scheme == "https", zone: o.Location.String()}
	s.sessions = newSessions(o.SessionIdle, o.Now, o.Rand)
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.register()
	return s, nil
}

// Routes lists the registered routes (tests walk them).
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, r := range s.routes {
		out[i] = Route{Method: r.Method, Path: r.Path, Public: r.Public, Min: r.Min}
	}
	return out
}

// Route describes a registered route.
type Route struct {
	Method, Path string
	Public       bool
	Min          Role
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' "+s.o.OAuthBaseURL+" "+s.o.LoginBaseURL+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// handle registers one route behind the session, role and CSRF checks.
func (s *Server) handle(method, path string, min Role, public bool, h func(http.ResponseWriter, *http.Request, *session)) {
	rt := route{Method: method, Path: path, Public: public, Min: min, handler: h}
	s.routes = append(s.routes, rt)
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if public {
			h(w, r, s.sessions.get(r))
			return
		}
		sess := s.sessions.get(r)
		if sess == nil {
			target := Prefix + "signin"
			if method == http.MethodGet {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil || !sess.checkCSRF(r.PostForm.Get("csrf")) {
				s.fail(w, r, sess, http.StatusForbidden, "err_csrf")
				return
			}
		}
		if sess.Role < min {
			s.fail(w, r, sess, http.StatusForbidden, "err_role")
			return
		}
		h(w, r, sess)
	})
}

// register lists every route of the console.
func (s *Server) register() {
	get, post := http.MethodGet, http.MethodPost
	s.handle(get, Prefix+"signin", 0, true, s.signInPage)
	s.handle(get, Prefix+"auth/start", 0, true, s.authStart)
	s.handle(get, Prefix+"auth/callback", 0, true, s.authCallback)
	s.handle(get, Prefix+"lang", 0, true, s.switchLang)
	s.handle(post, Prefix+"signout", Viewer, false, s.signOut)

	s.handle(get, Prefix+"{$}", Viewer, false, s.dashboard)
	s.handle(get, Prefix+"people", Viewer, false, s.people)
	s.handle(get, Prefix+"people/{id}", Viewer, false, s.person)
	s.handle(get, Prefix+"holds", Viewer, false, s.holds)
	s.handle(post, Prefix+"holds", Officer, false, s.placeHold)
	s.handle(post, Prefix+"holds/{id}/release", Officer, false, s.releaseHold)
	s.handle(get, Prefix+"notices", Viewer, false, s.notices)
	s.handle(get, Prefix+"notices/{id}/{version}", Viewer, false, s.notice)
	s.handle(get, Prefix+"obligations", Viewer, false, s.obligations)
	s.handle(get, Prefix+"consents", Viewer, false, s.consents)
	s.handle(get, Prefix+"deadletters", Viewer, false, s.deadLetters)
	s.handle(post, Prefix+"deadletters/{id}/retry", Officer, false, s.retryDeadLetter)
	s.handle(get, Prefix+"audit", Viewer, false, s.audit)
	s.handle(get, Prefix+"audit/verify", Viewer, false, s.verifyAudit)
	s.handle(get, Prefix+"audit/export", Officer, false, s.auditExport)
	s.handle(get, Prefix+"archive", Viewer, false, s.archiveSearch)
	s.handle(get, Prefix+"archive/conversation", Viewer, false, s.conversation)
	s.handle(get, Prefix+"transfers", Viewer, false, s.transfers)
	s.handle(post, Prefix+"transfers", Officer, false, s.exportTransfer)
	s.handle(get, Prefix+"evidence/person/{id}", Officer, false, s.personPack)
	s.handle(get, Prefix+"evidence/notice/{id}/{version}", Officer, false, s.noticePack)
	// Anything else under the console: sign in first, then a 404.
	s.handle(get, Prefix+"{rest...}", Viewer, false, func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_page")
	})
}
