package wecomtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake of WeCom's server API (qyapi.weixin.qq.com/cgi-bin/…):
// the same paths, methods, JSON shapes, errcodes and limits as the
// official documentation, on a loopback listener, in the manner of
// net/http/httptest's Server. Seed it with a directory (AddDepartment,
// AddUser, AddExternalContact, …), point a client at URL, and inspect what
// the client did with Requests, Inbox and the other accessors. Faults are
// scripted with InjectFault.
//
// Every method is safe for concurrent use. State changes and the record
// of the request that caused them happen under one lock, so Requests and
// Inbox are always consistent with each other.
//
// Doc ids in comments are pages of
// https://developer.work.weixin.qq.com/document/path/<id>. Where the
// documentation is silent the fake makes a choice, and the comment says
// "(undocumented; …)".
type Server struct {
	// URL is the base URL of the fake, "http://127.0.0.1:port", without
	// "/cgi-bin". A client's api_base_url.
	URL string

	cfg    ServerConfig
	srv    *http.Server
	closed chan struct{}
	close  sync.Once

	mu sync.Mutex
	st state
}

// ServerConfig configures a Server. Only CorpID and Apps are needed.
type ServerConfig struct {
	// CorpID is the corp's id, checked by gettoken (40013 otherwise).
	CorpID string
	// Apps maps an app's name to its secret. The name is what Requests,
	// TokenFetches and InboxMessage.App report. Which APIs a token may call
	// follows from the app: one with an AgentID is a self-built app (it
	// sends messages); the names "contacts", "customer" and "archive" with
	// AgentID 0 are the 通讯录同步, 客户联系 and 会话内容存档 secrets. See
	// the permission table in server_routes.go.
	Apps map[string]AppConfig
	// Now is the fake's clock: token expiry, code validity, rate windows,
	// the duplicate check and every recorded time. Default time.Now.
	Now func() time.Time
	// TokenTTL is expires_in of the tokens gettoken issues. Default 7200 s
	// (91039).
	TokenTTL time.Duration
	// Rand seeds the fake's random numbers (tokens, msgids, codes, fault
	// probabilities). Default crypto/rand. A fixed reader makes a run
	// reproducible.
	Rand io.Reader

	// MemberPerMinute and MemberPerHour are the per-app, per-member
	// delivery limits of message/send: "每应用对同一个成员不可超过30次/分钟，
	// 1000次/小时，超过部分会被丢弃不下发" (90236, 90312). Excess messages
	// are dropped silently. 0 means the documented default (30, 1000); a
	// negative value switches the window off.
	MemberPerMinute int
	MemberPerHour   int
	// AppCallsPerMinute, when positive, limits each app to that many API
	// calls in any rolling minute; the excess is answered with 45009 and
	// the app stays blocked for a minute, as 90312/90313 describe for
	// minute-level limits. WeCom's real numbers are per corp and API
	// (10,000/min); this knob exists to let tests and the sandbox see a
	// 45009 without sending ten thousand requests. 0: off.
	AppCallsPerMinute int
	// MaxRequests, when positive, keeps only the most recent MaxRequests
	// requests for Requests (CountRequests still counts all). Long sandbox
	// runs and benchmarks use it to bound memory. 0: keep all.
	MaxRequests int
	// Addr is the listen address. Default "127.0.0.1:0".
	Addr string
}

// AppConfig is one secret of the corp.
type AppConfig struct {
	Secret string
	// AgentID is the self-built app's agentid; 0 for secrets that are not
	// an app's (contacts, customer, archive).
	AgentID int64
	// NoCallback marks an app without a callback URL: WeCom refuses its
	// callback-capable template cards with 43012 (90236 "没有配置回调接口的
	// 应用不可发送支持回调的卡片").
	NoCallback bool
}

// RecordedRequest is one API request as the fake saw it. Secrets are not
// recorded: access_token and corpsecret are removed from Query.
type RecordedRequest struct {
	Method string
	Path   string     // without "/cgi-bin/", e.g. "message/send"
	Query  url.Values // without access_token and corpsecret
	App    string     // the app whose token (or secret, for gettoken) was used; "" if none matched
	Body   []byte
	// Errcode is the errcode answered; 0 also when the answer was not JSON.
	Errcode int
	// Status is the HTTP status answered; 0 when the connection was reset.
	Status int
	Reset  bool // the connection was closed without an answer
	Fault  bool // an injected fault shaped the answer
	At     time.Time
}

// Fault scripts a failure for retry tests. The first active fault whose
// Path matches a request applies to it. Exactly one of Errcode,
// HTTPStatus and Reset is usually set; with none of them, a Fault only
// delays the request.
type Fault struct {
	Path       string // "message/send"; "" matches every path
	Errcode    int    // answer this errcode (with a plausible errmsg) instead of processing
	HTTPStatus int    // or answer this HTTP status (e.g. 502) with a non-JSON body
	// Reset closes the connection without an answer (a TCP RST). Served
	// in-process on a ResponseRecorder, which has no connection, it panics
	// with http.ErrAbortHandler instead.
	Reset bool
	Delay time.Duration // wait this long before answering (a client timeout test)
	// Probability is the chance that a matching request is hit: 0 or 1
	// means always.
	Probability float64
	// Times is how many requests the fault hits before it retires; 0 means
	// no limit.
	Times int
	// AfterProcessing processes the request first (a send is delivered, a
	// code consumed) and only then fails the answer with Reset, HTTPStatus
	// or Errcode: a call that succeeded but whose answer was lost, the case
	// enable_duplicate_check exists for. Delay then applies after the
	// processing.
	AfterProcessing bool
}

// NewServer starts a fake WeCom API server on a loopback port, like
// httptest.NewServer. It panics if it cannot listen or cfg.Rand fails.
// Call Close when done.
func NewServer(cfg ServerConfig) *Server {
	s := newServer(cfg)
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		panic(fmt.Sprintf("wecomtest: listen on %s: %v", addr, err))
	}
	s.URL = "http://" + l.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(l) //nolint:errcheck // Serve returns ErrServerClosed after Close.
	return s
}

// TB is the part of testing.TB that NewTestServer uses. It is declared
// here, not imported, so that the sandbox, which links this package into
// the wecomply binary, does not link package testing with it.
type TB interface {
	Helper()
	Cleanup(func())
}

// NewTestServer is NewServer with tb.Cleanup(s.Close); tb is a test's
// *testing.T or *testing.B.
func NewTestServer(tb TB, cfg ServerConfig) *Server {
	tb.Helper()
	s := NewServer(cfg)
	tb.Cleanup(s.Close)
	return s
}

// newServer builds the state without a listener.
func newServer(cfg ServerConfig) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MemberPerMinute == 0 {
		cfg.MemberPerMinute = 30
	}
	if cfg.MemberPerHour == 0 {
		cfg.MemberPerHour = 1000
	}
	var seed [32]byte
	if _, err := io.ReadFull(cfg.Rand, seed[:]); err != nil {
		panic(fmt.Sprintf("wecomtest: read random seed: %v", err))
	}
	s := &Server{cfg: cfg, closed: make(chan struct{})}
	s.st.init(cfg, mrand.NewChaCha8(seed))
	return s
}

// Close shuts the server down, closing every connection, including those
// held by a Delay fault.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.closed)
		if s.srv != nil {
			s.srv.Close()
		}
	})
}

// ServeHTTP serves the API. The Server is an http.Handler so that it can
// also be mounted in-process (the sandbox) or driven by
// httptest.NewRecorder.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if page, ok := signInPages[r.URL.Path]; ok {
		s.serveSignIn(w, r, page)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/cgi-bin/")
	rt, known := routes[path]
	if !ok || !known {
		s.recordOnly(r, strings.TrimPrefix(r.URL.Path, "/"), nil, 0, http.StatusNotFound, false, false)
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.recordOnly(r, path, nil, 0, 0, true, false)
		resetConn(w)
		return
	}

	s.mu.Lock()
	var f *Fault
	delayed := false
	if af := s.st.matchFault(path); af != nil {
		fc := af.Fault // Fault fields never change after InjectFault
		f = &fc
	}
	if f != nil && !f.AfterProcessing {
		if f.fails() {
			// Fail instead of processing.
			errcode, status := f.outcome(0)
			s.st.record(r, path, s.st.appOfRequest(r, path), body, errcode, status, f.Reset, true)
			s.mu.Unlock()
			s.writeFault(w, f, errcode)
			return
		}
		// A pure delay: wait, then process normally.
		s.mu.Unlock()
		if !s.sleep(f.Delay) {
			resetConn(w)
			return
		}
		s.mu.Lock()
		f, delayed = nil, true
	}
	resp := s.st.handle(r, path, rt, body)
	errcode, status := resp.errcode, http.StatusOK
	if f != nil {
		// AfterProcessing: the work is done; now lose or spoil the answer.
		errcode, status = f.outcome(resp.errcode)
	}
	s.st.record(r, path, resp.app, body, errcode, status, f != nil && f.Reset, f != nil || delayed)
	s.mu.Unlock()
	if f != nil && f.fails() {
		s.writeFault(w, f, errcode)
		return
	}
	if f != nil && !s.sleep(f.Delay) {
		resetConn(w)
		return
	}
	writeJSON(w, resp.body)
}

// fails reports whether f spoils the answer (rather than only delaying it).
func (f *Fault) fails() bool { return f.Reset || f.HTTPStatus != 0 || f.Errcode != 0 }

// outcome is the errcode and HTTP status f answers instead of errcode.
func (f *Fault) outcome(errcode int) (int, int) {
	switch {
	case f.Reset:
		return 0, 0
	case f.HTTPStatus != 0:
		return 0, f.HTTPStatus
	case f.Errcode != 0:
		return f.Errcode, http.StatusOK
	}
	return errcode, http.StatusOK
}

// maxBody bounds a request body; more is answered with 40206 "请求body字节
// 数超过限制" (90313). mpnews content may be 666 KB (90236).
const maxBody = 2 << 20

// sleep waits d, or less if the server closes. It reports whether the
// server is still open.
func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return false
	}
}

func (s *Server) recordOnly(r *http.Request, path string, body []byte, errcode, status int, reset, fault bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.record(r, path, s.st.appOfRequest(r, path), body, errcode, status, reset, fault)
}

// writeFault waits f.Delay, then answers as f says.
func (s *Server) writeFault(w http.ResponseWriter, f *Fault, errcode int) {
	if !s.sleep(f.Delay) {
		resetConn(w)
		return
	}
	switch {
	case f.Reset:
		resetConn(w)
	case f.HTTPStatus != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.HTTPStatus)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.HTTPStatus, http.StatusText(f.HTTPStatus))
	default:
		s.mu.Lock()
		b := errorBody(&s.st, errcode, "")
		s.mu.Unlock()
		writeJSON(w, b)
	}
}

// resetConn closes the client's connection without an answer: a TCP RST
// where the connection allows it.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// In-process (a ResponseRecorder): the closest thing is an abort.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort: RST instead of FIN.
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b) //nolint:errcheck // the client's problem.
}

// InjectFault adds f and returns a function that removes it.
func (s *Server) InjectFault(f Fault) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	af := &activeFault{Fault: f}
	s.st.faults = append(s.st.faults, af)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, g := range s.st.faults {
			if g == af {
				s.st.faults = append(s.st.faults[:i:i], s.st.faults[i+1:]...)
				return
			}
		}
	}
}

// Requests returns every API request so far (or the last MaxRequests),
// oldest first. Body and Query are shared with the server: read them, do
// not modify them.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.requests.all()
}

// CountRequests returns how many requests were made to path, e.g.
// "message/send" (without "/cgi-bin/"); "" counts all.
func (s *Server) CountRequests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		return s.st.requests.total
	}
	return s.st.pathCount[strings.TrimPrefix(path, "/cgi-bin/")]
}

// TokenFetches returns how many access tokens gettoken issued for app.
func (s *Server) TokenFetches(app string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.tokenFetches[app]
}

// ExpireTokens makes every token issued so far answer 42001 ("access_token
// expired") from now on. Tokens issued later are valid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.tokens {
		if t.revoked == 0 {
			t.revoked = 42001
		}
	}
}

// InvalidateTokens makes every token issued so far answer 40014 ("invalid
// access_token"), as when WeCom invalidates tokens early (91039).
func (s *Server) InvalidateTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.tokens {
		t.revoked = 40014
	}
}

// ---- state shared by the handlers ----

// state is everything behind Server.mu.
type state struct {
	cfg      ServerConfig
	rng      *mrand.ChaCha8
	apps     []*appState // in a fixed order; appState.index is the position
	byName   map[string]*appState
	bySecret map[string]*appState
	byAgent  map[int64]*appState

	tokens       map[string]*accessToken
	tokenFetches map[string]int

	faults []*activeFault

	requests  requestLog
	pathCount map[string]int

	dir      directory
	messages map[string]*message // by msgid
	codes    map[string]*responseCode
	signIns  map[string]*signInCode // auth/getuserinfo codes
	dupes    map[dupKey]*dupEntry
	welcome  map[string]*welcomeCode
	extInbox map[string][]*delivery // external user id → welcome messages
	permit   []string
	agree    map[agreeKey]AgreeInfo
	knownExt map[string]bool // external open ids seen by SetAgree
	rooms    map[string][]AgreeInfo
	sendSeq  uint64
	hintSeq  uint64

	intercept interceptState // sensitive-word rules (server_intercept.go)
}

type appState struct {
	name   string
	index  int
	cfg    AppConfig
	role   string  // "app", "contacts", "customer", "archive" or "" (no API)
	calls  []int64 // unix nanos of recent calls, for AppCallsPerMinute
	blockd int64   // unix nanos until which the app is blocked with 45009
	tasks  map[string]bool
}

type accessToken struct {
	app     *appState
	expires time.Time
	revoked int // 0, 40014 or 42001
}

type activeFault struct {
	Fault
	hits int
}

type requestLog struct {
	max   int
	buf   []RecordedRequest
	start int // ring start when max > 0 and the ring is full
	total int
}

func (l *requestLog) add(r RecordedRequest) {
	l.total++
	if l.max <= 0 || len(l.buf) < l.max {
		l.buf = append(l.buf, r)
		return
	}
	l.buf[l.start] = r
	l.start = (l.start + 1) % l.max
}

func (l *requestLog) all() []RecordedRequest {
	out := make([]RecordedRequest, 0, len(l.buf))
	out = append(out, l.buf[l.start:]...)
	return append(out, l.buf[:l.start]...)
}

func (st *state) init(cfg ServerConfig, rng *mrand.ChaCha8) {
	st.cfg = cfg
	st.rng = rng
	st.byName = map[string]*appState{}
	st.bySecret = map[string]*appState{}
	st.byAgent = map[int64]*appState{}
	names := make([]string, 0, len(cfg.Apps))
	for name := range cfg.Apps {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		ac := cfg.Apps[name]
		a := &appState{name: name, index: i, cfg: ac, tasks: map[string]bool{}}
		switch {
		case ac.AgentID != 0:
			a.role = roleApp
			st.byAgent[ac.AgentID] = a
		case name == roleContacts, name == roleCustomer, name == roleArchive:
			a.role = name
		}
		st.apps = append(st.apps, a)
		st.byName[name] = a
		if ac.Secret != "" {
			st.bySecret[ac.Secret] = a
		}
	}
	st.tokens = map[string]*accessToken{}
	st.tokenFetches = map[string]int{}
	st.requests.max = cfg.MaxRequests
	st.pathCount = map[string]int{}
	st.dir.init()
	st.messages = map[string]*message{}
	st.codes = map[string]*responseCode{}
	st.signIns = map[string]*signInCode{}
	st.dupes = map[dupKey]*dupEntry{}
	st.welcome = map[string]*welcomeCode{}
	st.extInbox = map[string][]*delivery{}
	st.agree = map[agreeKey]AgreeInfo{}
	st.knownExt = map[string]bool{}
	st.rooms = map[string][]AgreeInfo{}
}

const (
	roleApp      = "app"
	roleContacts = "contacts"
	roleCustomer = "customer"
	roleArchive  = "archive"
)

func (st *state) now() time.Time { return st.cfg.Now() }

// matchFault returns the fault that hits a request to path, counting the
// hit, or nil.
func (st *state) matchFault(path string) *activeFault {
	for i := 0; i < len(st.faults); i++ {
		f := st.faults[i]
		if f.Path != "" && strings.TrimPrefix(f.Path, "/cgi-bin/") != path {
			continue
		}
		if p := f.Probability; p > 0 && p < 1 && st.rng.Uint64()>>11 >= uint64(p*(1<<53)) {
			continue
		}
		f.hits++
		if f.Times > 0 && f.hits >= f.Times {
			st.faults = append(st.faults[:i:i], st.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// appOfRequest names the app behind a request's token or secret, without
// judging it.
func (st *state) appOfRequest(r *http.Request, path string) string {
	q := r.URL.Query()
	if path == "gettoken" {
		if a := st.bySecret[q.Get("corpsecret")]; a != nil {
			return a.name
		}
		return ""
	}
	if t := st.tokens[q.Get("access_token")]; t != nil {
		return t.app.name
	}
	return ""
}

func (st *state) record(r *http.Request, path, app string, body []byte, errcode, status int, reset, fault bool) {
	q := r.URL.Query()
	q.Del("access_token")
	q.Del("corpsecret")
	st.requests.add(RecordedRequest{
		Method: r.Method, Path: path, Query: q, App: app, Body: body,
		Errcode: errcode, Status: status, Reset: reset, Fault: fault, At: st.now(),
	})
	st.pathCount[path]++
}

// randString returns n random bytes as URL-safe Base64, the look of
// WeCom's tokens, msgids and codes.
func (st *state) randString(n int) string {
	b := make([]byte, (n+7)/8*8)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], st.rng.Uint64())
	}
	return base64.RawURLEncoding.EncodeToString(b[:n])
}

// ---- answers ----

// answer is a handler's result: the JSON to write, its errcode and the
// app that made the call.
type answer struct {
	body    []byte
	errcode int
	app     string
}

// errmsgs are plausible errmsg texts (WeCom's own where known). Clients
// must branch on errcode only (90313).
var errmsgs = map[int]string{
	-1:     "system busy",
	40001:  "invalid credential",
	40008:  "invalid message type",
	40013:  "invalid corpid",
	40014:  "invalid access_token",
	40029:  "invalid code",
	40032:  "invalid userid size",
	40039:  "invalid url size",
	40056:  "invalid agentid",
	40058:  "invalid Request Parameter",
	40096:  "invalid external userid",
	40206:  "request body size out of limit",
	41001:  "access_token missing",
	41002:  "corpid missing",
	41004:  "corpsecret missing",
	41006:  "media_id missing",
	41008:  "missing code",
	41009:  "missing userid",
	41010:  "url missing",
	41011:  "agentid missing",
	41016:  "title missing",
	41033:  "description missing",
	41035:  "missing external userid",
	41049:  "missing welcome code",
	41050:  "invalid welcome code",
	41051:  "externaluser has started chatting",
	41064:  "attachment size out of limit",
	41065:  "invalid attachment type",
	41096:  "welcome msg is being distributed",
	40074:  "news msg not support safe",
	42001:  "access_token expired",
	42020:  "missing button name",
	42014:  "invalid task_id",
	42015:  "agent of update msg not match",
	42052:  "msgid expired",
	43012:  "app need callback url",
	44004:  "empty content",
	45002:  "content size out of limit",
	45008:  "article size out of limit",
	45009:  "api freq out of limit",
	45033:  "api concurrent out of limit",
	45034:  "url must have scheme",
	48002:  "api forbidden",
	50100:  "invalid cursor",
	60020:  "not allow to access from your ip",
	60111:  "userid not found",
	60123:  "invalid party id",
	60140:  "invalid response_code",
	81013:  "user & party & tag all invalid",
	82001:  "All touser & toparty & totag invalid",
	82002:  "invalid partyid size",
	82003:  "invalid tagid size",
	82101:  "update target is empty",
	84061:  "not external contact",
	90200:  "missing miniprogram appid",
	90201:  "miniprogram content_item size out of limit",
	301002: "not allow to operate another agent",
	301060: "too many agree query, max is 100",
	301061: "userid or exteropenid not exist",
}

// errmsgOf returns an errmsg for errcode in WeCom's style: the text, a
// hint and the devtool link. detail, if any, follows the text.
func errmsgOf(st *state, errcode int, detail string) string {
	if errcode == 0 {
		return "ok"
	}
	text, ok := errmsgs[errcode]
	if !ok {
		if errcode >= 42027 && errcode <= 42051 {
			text = "invalid template_card"
		} else {
			text = "error"
		}
	}
	if detail != "" {
		text += ": " + detail
	}
	st.hintSeq++
	return fmt.Sprintf("%s, hint: [%d_%d_%s], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
		text, st.now().Unix(), st.hintSeq, st.randString(6), errcode)
}

// errorBody is {"errcode":N,"errmsg":"…"}.
func errorBody(st *state, errcode int, detail string) []byte {
	b, _ := json.Marshal(struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}{errcode, errmsgOf(st, errcode, detail)})
	return b
}

// apiError is a handler's failure: an errcode and an optional detail for
// errmsg.
type apiError struct {
	code   int
	detail string
}

func fail(code int, detail string) *apiError { return &apiError{code, detail} }

// wrongJSON is the answer to a body that is not the JSON an API expects:
// errmsg contains "Warning: wrong json format." (90313).
func wrongJSON(err error) *apiError {
	return &apiError{40058, "Warning: wrong json format. " + err.Error()}
}

// marshal encodes v, which always succeeds for the fake's own types.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("wecomtest: marshal %T: %v", v, err))
	}
	return b
}
