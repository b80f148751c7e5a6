package console

import (
	"crypto/subtle"
	"encoding/base64"
	"io"
	"net/http"
	"sync"
	"time"
)

// Role is what a signed-in member may do.
type Role int

// Roles, each including the ones before it.
const (
	NoRole  Role = iota
	Viewer       // reads every page
	Officer      // also places and releases holds, retries dead letters, exports evidence
	Admin        // everything
)

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Officer:
		return "officer"
	case Admin:
		return "admin"
	}
	return "none"
}

// Cookie names. The session cookie is HttpOnly, SameSite=Lax, scoped to
// the console, and Secure when the console is served over https.
const (
	sessionCookie = "wecomply_console"
	stateCookie   = "wecomply_console_state"
	langCookie    = "wecomply_console_lang"
)

// session is one signed-in member, kept on the server; the browser holds
// only its random id.
type session struct {
	id       string
	UserID   string
	Name     string
	Role     Role
	CSRF     string
	lastSeen time.Time
}

func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// pendingSignIn is a sign-in under way: the state sent to WeCom, to be
// seen again on the callback within stateTTL, once.
type pendingSignIn struct {
	next    string
	expires time.Time
}

// stateTTL bounds a sign-in round trip (WeCom's code lives 5 minutes).
const stateTTL = 10 * time.Minute

// maxPending bounds the sign-ins under way (each costs a few bytes; a
// flood of /auth/start cannot grow memory without bound).
const maxPending = 10000

// sessions keeps the sessions and pending sign-ins in memory. (A
// deployment with several replicas routes a browser to one replica, or
// signs in again on another.)
type sessions struct {
	idle time.Duration
	now  func() time.Time
	rand io.Reader

	mu      sync.Mutex
	byID    map[string]*session
	pending map[string]pendingSignIn
}

func newSessions(idle time.Duration, now func() time.Time, rand io.Reader) *sessions {
	return &sessions{idle: idle, now: now, rand: rand, byID: map[string]*session{}, pending: map[string]pendingSignIn{}}
}

// token returns n random bytes, URL-safe base64 without padding.
func (ss *sessions) token(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(ss.rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// get returns the request's live session (touching it), or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[c.Value]
	if !ok {
		return nil
	}
	now := ss.now()
	if now.Sub(s.lastSeen) > ss.idle {
		delete(ss.byID, s.id)
		return nil
	}
	s.lastSeen = now
	cp := *s
	return &cp
}

// create starts a session for a member.
func (ss *sessions) create(userID, name string, role Role) (*session, error) {
	id, err := ss.token(32)
	if err != nil {
		return nil, err
	}
	csrf, err := ss.token(32)
	if err != nil {
		return nil, err
	}
	now := ss.now()
	s := &session{id: id, UserID: userID, Name: name, Role: role, CSRF: csrf, lastSeen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, o := range ss.byID { // sweep: sessions are few
		if now.Sub(o.lastSeen) > ss.idle {
			delete(ss.byID, k)
		}
	}
	ss.byID[id] = s
	cp := *s
	return &cp, nil
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// begin records a new sign-in and returns its state (a-zA-Z0-9 only, as
// WeCom's state must be).
func (ss *sessions) begin(next string) (string, error) {
	b := make([]byte, 24)
	if _, err := io.ReadFull(ss.rand, b); err != nil {
		return "", err
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	state := make([]byte, len(b))
	for i, c := range b {
		state[i] = alphabet[int(c)%len(alphabet)]
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, p := range ss.pending {
		if now.After(p.expires) {
			delete(ss.pending, k)
		}
	}
	if len(ss.pending) >= maxPending {
		return "", errTooManySignIns
	}
	ss.pending[string(state)] = pendingSignIn{next: next, expires: now.Add(stateTTL)}
	return string(state), nil
}

// finish consumes a state: where to go next, and whether it was one
// begun here and not expired.
func (ss *sessions) finish(state string) (next string, ok bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	p, found := ss.pending[state]
	delete(ss.pending, state)
	if !found || ss.now().After(p.expires) {
		return "", false
	}
	return p.next, true
}

// cookie makes one of the console's cookies.
func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}
