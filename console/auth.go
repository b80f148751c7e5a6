package console

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// userGetter is the part of the wecom Client that reads a member
// (user/get), for the name shown in the console.
type userGetter interface {
	GetUser(ctx context.Context, userID string) (*wecom.User, error)
}

var errTooManySignIns = errors.New("console: too many sign-ins under way")

// callbackPath is where WeCom sends the browser back.
const callbackPath = Prefix + "auth/callback"

// signInPage shows the two ways to sign in.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess != nil {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	s.render(w, r, nil, "signin", map[string]any{
		"OAuth": Prefix + "auth/start?via=oauth&next=" + url.QueryEscape(next),
		"Web":   Prefix + "auth/start?via=web&next=" + url.QueryEscape(next),
		"Error": r.URL.Query().Get("error"),
	})
}

// authStart begins a sign-in: a fresh state, kept here and in a cookie
// bound to this browser, then off to WeCom.
func (s *Server) authStart(w http.ResponseWriter, r *http.Request, _ *session) {
	state, err := s.sessions.begin(safeNext(r.URL.Query().Get("next")))
	if err != nil {
		s.o.Logger.Warn("console: sign-in start", "err", err)
		http.Error(w, "sign-in is busy, try again", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, s.cookie(stateCookie, state, int(stateTTL.Seconds())))
	back := s.o.BaseURL + callbackPath
	var to string
	if r.URL.Query().Get("via") == "web" {
		lang := "zh"
		if s.lang(r) == "en" {
			lang = "en"
		}
		to = wecom.WebLoginURL(s.o.LoginBaseURL, s.o.CorpID, s.o.AgentID, back, state, lang)
	} else {
		to = wecom.AuthorizeURL(s.o.OAuthBaseURL, s.o.CorpID, s.o.AgentID, back, state)
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// authCallback finishes a sign-in: the state must be one this browser
// began (cookie and server both), the code is exchanged with WeCom for
// the UserID, and the member must have a role.
func (s *Server) authCallback(w http.ResponseWriter, r *http.Request, _ *session) {
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	c, err := r.Cookie(stateCookie)
	http.SetCookie(w, s.cookie(stateCookie, "", -1))
	if err != nil || state == "" || c.Value != state {
		s.signInFailed(w, r, "state")
		return
	}
	next, ok := s.sessions.finish(state)
	if !ok {
		s.signInFailed(w, r, "state")
		return
	}
	if code == "" {
		s.signInFailed(w, r, "refused")
		return
	}
	who, err := s.o.SignIn.UserInfo(r.Context(), code)
	if err != nil {
		s.o.Logger.Warn("console: sign-in code exchange", "err", err)
		s.signInFailed(w, r, "code")
		return
	}
	if !who.Member() {
		s.signInFailed(w, r, "not_member")
		return
	}
	ctx := r.Context()
	name := who.UserID
	var tags []int64
	if p, err := s.o.Store.GetPerson(ctx, who.UserID); err == nil {
		name, tags = cmp.Or(p.Name, name), p.Tags
	} else if !errors.Is(err, store.ErrNotFound) {
		s.o.Logger.Error("console: sign-in: read person", "err", err)
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	if name == who.UserID {
		name = cmp.Or(s.memberName(r, who.UserID), name)
	}
	role := s.o.Roles.of(who.UserID, tags)
	if role == NoRole {
		s.o.Logger.Info("console: sign-in refused: no role", "user", who.UserID)
		s.signInFailed(w, r, "no_role")
		return
	}
	sess, err := s.sessions.create(who.UserID, name, role)
	if err != nil {
		s.o.Logger.Error("console: sign-in: session", "err", err)
		http.Error(w, "sign-in failed", http.StatusInternalServerError)
		return
	}
	s.auditAction(r, sess, "console.signin", sess.UserID, map[string]any{"role": role.String()})
	http.SetCookie(w, s.cookie(sessionCookie, sess.id, 0))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, why string) {
	http.Redirect(w, r, Prefix+"signin?error="+why, http.StatusSeeOther)
}

// signOut ends the session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.drop(sess.id)
	s.auditAction(r, sess, "console.signout", sess.UserID, map[string]any{})
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// switchLang remembers the language (a year) and goes back.
func (s *Server) switchLang(w http.ResponseWriter, r *http.Request, _ *session) {
	lang := r.URL.Query().Get("to")
	if lang != "en" {
		lang = "zh-CN"
	}
	http.SetCookie(w, s.cookie(langCookie, lang, 365*24*3600))
	http.Redirect(w, r, safeNext(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// safeNext keeps a redirect target inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return Prefix
	}
	if p := path.Clean(u.Path); p != strings.TrimSuffix(Prefix, "/") && !strings.HasPrefix(p, Prefix) {
		return Prefix // "/console/../x" resolves outside
	}
	return next
}

// of is the highest role the lists give a member (UserIDs compare
// case-insensitively, as WeCom's do).
func (rs Roles) of(userID string, tags []int64) Role {
	match := func(list []string) bool {
		for _, e := range list {
			if id, ok := strings.CutPrefix(e, "tag:"); ok {
				if n, err := strconv.ParseInt(id, 10, 64); err == nil && slices.Contains(tags, n) {
					return true
				}
			} else if strings.EqualFold(e, userID) {
				return true
			}
		}
		return false
	}
	switch {
	case match(rs.Admins):
		return Admin
	case match(rs.Officers):
		return Officer
	case match(rs.Viewers):
		return Viewer
	}
	return NoRole
}
