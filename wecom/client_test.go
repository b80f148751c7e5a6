package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
)

// Test doubles for the Client: a TokenCache with the store's semantics
// (fakeTokens) and a WeCom that answers as the docs say (fakeWeCom). They
// are deliberately independent of wecom/wecomtest.

const (
	testCorpID  = "wwtestcorp0001"
	testAgentID = 1000002
)

// testSecrets are distinctive so that a leak is easy to find.
var testSecrets = map[string]string{
	AppMessages: "SECRET-app-7f3a9c1e5b",
	AppContacts: "SECRET-contacts-2d8e4f6a0c",
	AppCustomer: "SECRET-customer-9b1c3e5d7f",
	AppArchive:  "SECRET-archive-4a6c8e0b2d",
}

// appOfSecret maps a secret back to its app.
func appOfSecret(secret string) string {
	for app, s := range testSecrets {
		if s == secret {
			return app
		}
	}
	return ""
}

// newTestClock is a frozen clock the test moves.
func newTestClock() *testclock.Clock {
	return testclock.Frozen(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
}

// fakeTokens is an in-memory TokenCache with the semantics of
// store.Tokens and store.Leases: expired tokens read as "",
// compare-and-delete, leases that expire and can be re-taken by their
// holder.
type fakeTokens struct {
	now func() time.Time

	mu      sync.Mutex
	tokens  map[string]fakeToken
	leases  map[string]fakeLease
	puts    int
	deleted []string // values removed by DeleteToken
	getErr  error    // injected failure of GetToken

	// Hooks that play another replica at awkward moments; run without
	// the lock, and only once.
	beforeAcquire func()
	afterDelete   func(app, value string)
}

type fakeToken struct {
	value     string
	expiresAt time.Time
}

type fakeLease struct {
	holder string
	until  time.Time
}

var _ TokenCache = (*fakeTokens)(nil)

func newFakeTokens(now func() time.Time) *fakeTokens {
	if now == nil {
		now = time.Now
	}
	return &fakeTokens{now: now, tokens: map[string]fakeToken{}, leases: map[string]fakeLease{}}
}

func (f *fakeTokens) GetToken(ctx context.Context, app string) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return "", time.Time{}, f.getErr
	}
	t, ok := f.tokens[app]
	if !ok || !f.now().Before(t.expiresAt) {
		return "", time.Time{}, nil
	}
	return t.value, t.expiresAt, nil
}

func (f *fakeTokens) PutToken(ctx context.Context, app, value string, expiresAt time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	f.tokens[app] = fakeToken{value, expiresAt}
	return nil
}

func (f *fakeTokens) DeleteToken(ctx context.Context, app, value string) error {
	f.mu.Lock()
	if t, ok := f.tokens[app]; ok && t.value == value {
		delete(f.tokens, app)
		f.deleted = append(f.deleted, value)
	}
	hook := f.afterDelete
	f.afterDelete = nil
	f.mu.Unlock()
	if hook != nil {
		hook(app, value)
	}
	return nil
}

func (f *fakeTokens) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	hook := f.beforeAcquire
	f.beforeAcquire = nil
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if l, ok := f.leases[name]; ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	f.leases[name] = fakeLease{holder, now.Add(ttl)}
	return true, nil
}

func (f *fakeTokens) ReleaseLease(ctx context.Context, name, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.leases[name]; ok && l.holder == holder {
		delete(f.leases, name)
	}
	return nil
}

func (f *fakeTokens) token(app string) fakeToken {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[app]
}

func (f *fakeTokens) leaseCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.leases)
}

// recorded is one API request fakeWeCom received (gettoken excluded).
type recorded struct {
	Method string
	Path   string
	Query  url.Values // without access_token
	Token  string
	App    string // whose secret the token was issued for
	Body   []byte
}

// fakeWeCom answers gettoken and the APIs like WeCom: tokens are issued
// per secret ("ACCESSTOKEN-<n>-<app>"), checked on every call, and each
// path answers its canned JSON (default {"errcode":0,"errmsg":"ok"}).
type fakeWeCom struct {
	t   testing.TB
	srv *httptest.Server

	fetches   atomic.Int64 // gettoken calls
	expiresIn int

	mu         sync.Mutex
	issued     map[string]string // token → app
	tokenDelay time.Duration
	// rejectOnce: answer this errcode to the first use of each token
	// listed; rejectAll: to every API call.
	rejectOnce map[string]int
	rejectAll  int
	answers    map[string]string // path → JSON answer
	handler    http.HandlerFunc  // if set, answers API calls instead
	reqs       []recorded
}

func newFakeWeCom(t testing.TB) *fakeWeCom {
	f := &fakeWeCom{t: t, expiresIn: 7200, issued: map[string]string{}, rejectOnce: map[string]int{}, answers: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWeCom) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/cgi-bin/gettoken" {
		f.gettoken(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	tok := q.Get("access_token")
	q.Del("access_token")
	f.mu.Lock()
	app, known := f.issued[tok]
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: q, Token: tok, App: app, Body: body}
	f.reqs = append(f.reqs, rec)
	code := 0
	switch {
	case tok == "":
		code = CodeMissingAccessToken
	case !known:
		code = CodeInvalidAccessToken
	case f.rejectAll != 0:
		code = f.rejectAll
	case f.rejectOnce[tok] != 0:
		code = f.rejectOnce[tok]
		delete(f.rejectOnce, tok)
	}
	answer, handler := f.answers[r.URL.Path], f.handler
	f.mu.Unlock()
	if code != 0 {
		writeJSON(w, fmt.Sprintf(`{"errcode":%d,"errmsg":"access token rejected, hint: [%d]"}`, code, time.Now().UnixNano()))
		return
	}
	if handler != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler(w, r)
		return
	}
	if answer == "" {
		answer = `{"errcode":0,"errmsg":"ok"}`
	}
	writeJSON(w, answer)
}

func (f *fakeWeCom) gettoken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay, expiresIn := f.tokenDelay, f.expiresIn
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		writeJSON(w, `{"errcode":40058,"errmsg":"gettoken is GET"}`)
		return
	}
	if q.Get("corpid") != testCorpID {
		writeJSON(w, `{"errcode":40013,"errmsg":"invalid corpid"}`)
		return
	}
	app := appOfSecret(q.Get("corpsecret"))
	if app == "" {
		writeJSON(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
		return
	}
	n := f.fetches.Add(1)
	tok := fmt.Sprintf("ACCESSTOKEN-%d-%s-Zq81xPw3", n, app)
	f.mu.Lock()
	f.issued[tok] = app
	f.mu.Unlock()
	writeJSON(w, fmt.Sprintf(`{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":%d}`, tok, expiresIn))
}

func writeJSON(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	io.WriteString(w, s)
}

// set changes f's behaviour under its lock.
func (f *fakeWeCom) set(change func(f *fakeWeCom)) {
	f.mu.Lock()
	change(f)
	f.mu.Unlock()
}

func (f *fakeWeCom) answer(path, json string) {
	f.mu.Lock()
	f.answers[path] = json
	f.mu.Unlock()
}

func (f *fakeWeCom) setHandler(h http.HandlerFunc) {
	f.mu.Lock()
	f.handler = h
	f.mu.Unlock()
}

func (f *fakeWeCom) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// issuedTokens lists every token handed out.
func (f *fakeWeCom) issuedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for tok := range f.issued {
		out = append(out, tok)
	}
	return out
}

// logBuffer collects a Client's log output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testEnv is a Client wired to a fakeWeCom and a fakeTokens.
type testEnv struct {
	c      *Client
	wecom  *fakeWeCom
	tokens *fakeTokens
	logs   *logBuffer
}

// newTestEnv builds a Client with every secret against a new fakeWeCom;
// edit changes the config before NewClient.
func newTestEnv(t testing.TB, edit ...func(*ClientConfig)) *testEnv {
	t.Helper()
	fw := newFakeWeCom(t)
	return newTestEnvWith(t, fw, newFakeTokens(nil), edit...)
}

func newTestEnvWith(t testing.TB, fw *fakeWeCom, tokens *fakeTokens, edit ...func(*ClientConfig)) *testEnv {
	t.Helper()
	logs := &logBuffer{}
	secrets := map[string]string{}
	for app, s := range testSecrets {
		secrets[app] = s
	}
	cfg := ClientConfig{
		CorpID:     testCorpID,
		AgentID:    testAgentID,
		Secrets:    secrets,
		BaseURL:    fw.srv.URL,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Tokens:     tokens,
		Holder:     "replica-1",
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.pollEvery = 5 * time.Millisecond
	return &testEnv{c: c, wecom: fw, tokens: tokens, logs: logs}
}

func onlySecrets(apps ...string) func(*ClientConfig) {
	return func(cfg *ClientConfig) {
		cfg.Secrets = map[string]string{}
		for _, app := range apps {
			cfg.Secrets[app] = testSecrets[app]
		}
	}
}

// recall is the simplest API call, used where any call will do.
func recall(c *Client) error { return c.RecallMessage(context.Background(), "msg-1") }

func TestNewClientChecksConfig(t *testing.T) {
	ok := func() ClientConfig {
		return ClientConfig{
			CorpID: testCorpID, AgentID: testAgentID, Secrets: map[string]string{AppMessages: "s"},
			BaseURL: "https://qyapi.weixin.qq.com", HTTPClient: &http.Client{Timeout: time.Second},
			Tokens: newFakeTokens(nil),
		}
	}
	tests := []struct {
		name string
		edit func(*ClientConfig)
		want string // in the error; "" for no error
	}{
		{"valid", func(*ClientConfig) {}, ""},
		{"trailing slash is fine", func(c *ClientConfig) { c.BaseURL += "/" }, ""},
		{"no corp id", func(c *ClientConfig) { c.CorpID = "" }, "wecom.corp_id"},
		{"negative agent id", func(c *ClientConfig) { c.AgentID = -1 }, "wecom.agent_id"},
		{"base url without scheme", func(c *ClientConfig) { c.BaseURL = "qyapi.weixin.qq.com" }, "wecom.api_base_url"},
		{"base url with cgi-bin", func(c *ClientConfig) { c.BaseURL = "https://qyapi.weixin.qq.com/cgi-bin" }, "/cgi-bin"},
		{"base url with query", func(c *ClientConfig) { c.BaseURL = "https://qyapi.weixin.qq.com/?x=1" }, "no query"},
		{"no http client", func(c *ClientConfig) { c.HTTPClient = nil }, "Timeout"},
		{"http client without timeout", func(c *ClientConfig) { c.HTTPClient = &http.Client{} }, "Timeout"},
		{"no token cache", func(c *ClientConfig) { c.Tokens = nil }, "TokenCache"},
		{"no secret", func(c *ClientConfig) { c.Secrets = nil }, "no secret"},
		{"only blank secrets", func(c *ClientConfig) { c.Secrets = map[string]string{AppMessages: " "} }, "no secret"},
		{"unknown app", func(c *ClientConfig) { c.Secrets["apps"] = "x" }, `unknown app "apps"`},
		{"negative margin", func(c *ClientConfig) { c.TokenMargin = -time.Second }, "TokenMargin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok()
			tt.edit(&cfg)
			_, err := NewClient(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewClient: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewClient: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewClientDoesNotChangeCallersHTTPClient(t *testing.T) {
	hc := &http.Client{Timeout: time.Second}
	cfg := ClientConfig{CorpID: testCorpID, Secrets: map[string]string{AppMessages: "s"},
		BaseURL: "https://qyapi.weixin.qq.com", HTTPClient: hc, Tokens: newFakeTokens(nil)}
	if _, err := NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil {
		t.Fatal("NewClient changed the caller's http.Client")
	}
}

func TestTokenIsCachedAndReused(t *testing.T) {
	clock := newTestClock()
	fw := newFakeWeCom(t)
	tokens := newFakeTokens(clock.Now)
	env := newTestEnvWith(t, fw, tokens, func(c *ClientConfig) { c.Now = clock.Now })

	for i := range 3 {
		if err := recall(env.c); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := fw.fetches.Load(); n != 1 {
		t.Fatalf("gettoken was called %d times for 3 calls, want 1", n)
	}
	cached := tokens.token(AppMessages)
	if want := clock.Now().Add(7200*time.Second - DefaultTokenMargin); !cached.expiresAt.Equal(want) {
		t.Errorf("cached until %v, want expires_in minus the margin: %v", cached.expiresAt, want)
	}
	for _, r := range fw.requests() {
		if r.Token != cached.value {
			t.Errorf("a call used token %q, want the cached %q", r.Token, cached.value)
		}
	}
	if tokens.leaseCount() != 0 {
		t.Error("the refresh lease was not released")
	}

	// A new process (empty memory) finds the token in the shared cache.
	other := newTestEnvWith(t, fw, tokens, func(c *ClientConfig) { c.Now = clock.Now; c.Holder = "replica-2" })
	if err := recall(other.c); err != nil {
		t.Fatal(err)
	}
	if n := fw.fetches.Load(); n != 1 {
		t.Fatalf("a second replica fetched its own token (gettoken calls: %d)", n)
	}
}

func TestTokenIsRefreshedBeforeItExpires(t *testing.T) {
	tests := []struct {
		name        string
		margin      time.Duration
		expiresIn   int
		advance     time.Duration
		wantFetches int64
	}{
		{"within the lifetime", 0, 7200, 7200*time.Second - DefaultTokenMargin - time.Second, 1},
		{"at expires_in minus the default margin", 0, 7200, 7200*time.Second - DefaultTokenMargin, 2},
		{"custom margin, just before", time.Minute, 7200, 7200*time.Second - time.Minute - time.Second, 1},
		{"custom margin, at it", time.Minute, 7200, 7200*time.Second - time.Minute, 2},
		{"short token: half its life at least, before", 0, 400, 200*time.Second - time.Second, 1},
		{"short token: half its life at least, at it", 0, 400, 200 * time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			fw := newFakeWeCom(t)
			fw.set(func(f *fakeWeCom) { f.expiresIn = tt.expiresIn })
			env := newTestEnvWith(t, fw, newFakeTokens(clock.Now), func(c *ClientConfig) {
				c.Now = clock.Now
				c.TokenMargin = tt.margin
			})
			if err := recall(env.c); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.advance)
			if err := recall(env.c); err != nil {
				t.Fatal(err)
			}
			if n := fw.fetches.Load(); n != tt.wantFetches {
				t.Fatalf("gettoken calls = %d, want %d", n, tt.wantFetches)
			}
			reqs := fw.requests()
			if sameToken := reqs[0].Token == reqs[1].Token; sameToken != (tt.wantFetches == 1) {
				t.Fatalf("second call used token %q after %q", reqs[1].Token, reqs[0].Token)
			}
		})
	}
}

func TestTokenErrorRefreshesAndRetriesOnce(t *testing.T) {
	for _, code := range []int{CodeInvalidAccessToken, CodeAccessTokenExpired, CodeMissingAccessToken} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			env := newTestEnv(t)
			if err := recall(env.c); err != nil { // gets token 1
				t.Fatal(err)
			}
			first := env.tokens.token(AppMessages).value
			env.wecom.set(func(f *fakeWeCom) { f.rejectOnce[first] = code }) // WeCom invalidates it early

			if err := recall(env.c); err != nil {
				t.Fatalf("call after errcode %d: %v", code, err)
			}
			reqs := env.wecom.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d API requests, want 3 (ok, rejected, retried)", len(reqs))
			}
			if reqs[1].Token != first || reqs[2].Token == first {
				t.Fatalf("tokens used: %q then %q; want the rejected one, then a fresh one", reqs[1].Token, reqs[2].Token)
			}
			if !bytes.Equal(reqs[1].Body, reqs[2].Body) {
				t.Errorf("retried body %s differs from %s", reqs[2].Body, reqs[1].Body)
			}
			if n := env.wecom.fetches.Load(); n != 2 {
				t.Errorf("gettoken calls = %d, want 2", n)
			}
			if d := env.tokens.deleted; len(d) != 1 || d[0] != first {
				t.Errorf("cache deletions = %q, want the rejected token only", d)
			}
			if got := env.tokens.token(AppMessages).value; got != reqs[2].Token {
				t.Errorf("cache holds %q, want the fresh token %q", got, reqs[2].Token)
			}
		})
	}
}

func TestSecondTokenErrorIsReturned(t *testing.T) {
	for _, code := range []int{CodeInvalidAccessToken, CodeAccessTokenExpired, CodeMissingAccessToken} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			env := newTestEnv(t)
			env.wecom.set(func(f *fakeWeCom) { f.rejectAll = code })
			err := recall(env.c)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Code != code || apiErr.Op != "message/recall" {
				t.Fatalf("err = %v, want an APIError %d of message/recall", err, code)
			}
			if got := Classify(err); got != ActionRefreshToken {
				t.Errorf("Classify = %v, want %v", got, ActionRefreshToken)
			}
			if n := len(env.wecom.requests()); n != 2 {
				t.Errorf("%d API requests, want 2 (the call and one retry)", n)
			}
			if n := env.wecom.fetches.Load(); n != 2 {
				t.Errorf("gettoken calls = %d, want 2", n)
			}
		})
	}
}

// TestReplicasFetchTokenOnce runs two Clients sharing one TokenCache, as
// two replicas share the store, with many concurrent calls each.
func TestReplicasFetchTokenOnce(t *testing.T) {
	fw := newFakeWeCom(t)
	fw.set(func(f *fakeWeCom) { f.tokenDelay = 100 * time.Millisecond }) // a slow gettoken widens the race
	tokens := newFakeTokens(nil)
	a := newTestEnvWith(t, fw, tokens, func(c *ClientConfig) { c.Holder = "replica-a" })
	b := newTestEnvWith(t, fw, tokens, func(c *ClientConfig) { c.Holder = "replica-b" })

	burst := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 64 {
			c := a.c
			if i%2 == 1 {
				c = b.c
			}
			wg.Go(func() {
				if err := recall(c); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	burst()
	if n := fw.fetches.Load(); n != 1 {
		t.Fatalf("two replicas called gettoken %d times, want 1", n)
	}

	// WeCom invalidates the token early: every in-flight call of both
	// replicas sees 40014 once, and still only one new token is fetched.
	first := tokens.token(AppMessages).value
	fw.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") == first {
			writeJSON(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
			return
		}
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	burst()
	if n := fw.fetches.Load(); n != 2 {
		t.Fatalf("after an invalidated token the replicas called gettoken %d times in all, want 2", n)
	}
	if tokens.leaseCount() != 0 {
		t.Error("a refresh lease was left held")
	}
}

func TestLeaseHeldElsewhere(t *testing.T) {
	tests := []struct {
		name        string
		other       func(tokens *fakeTokens) // what the other replica does
		wantFetches int64
	}{
		{"the other replica stores a token", func(tokens *fakeTokens) {
			tokens.PutToken(context.Background(), AppMessages, "ACCESSTOKEN-other", time.Now().Add(time.Hour))
		}, 0},
		{"the other replica gives up the lease", func(tokens *fakeTokens) {
			tokens.ReleaseLease(context.Background(), leaseName(AppMessages), "other")
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.c.pollFor = 50 * time.Millisecond
			env.wecom.set(func(f *fakeWeCom) { f.issued["ACCESSTOKEN-other"] = AppMessages })
			if ok, _ := env.tokens.AcquireLease(context.Background(), leaseName(AppMessages), "other", time.Minute); !ok {
				t.Fatal("could not take the lease")
			}
			time.AfterFunc(60*time.Millisecond, func() { tt.other(env.tokens) })
			if err := recall(env.c); err != nil {
				t.Fatal(err)
			}
			if n := env.wecom.fetches.Load(); n != tt.wantFetches {
				t.Fatalf("gettoken calls = %d, want %d", n, tt.wantFetches)
			}
		})
	}
}

// TestLeaseRecheck: another replica stores a token and releases the
// lease between this one's look at the cache and its taking the lease;
// this one must use that token, not fetch another.
func TestLeaseRecheck(t *testing.T) {
	env := newTestEnv(t)
	env.wecom.set(func(f *fakeWeCom) { f.issued["ACCESSTOKEN-other"] = AppMessages })
	env.tokens.beforeAcquire = func() {
		env.tokens.PutToken(context.Background(), AppMessages, "ACCESSTOKEN-other", time.Now().Add(time.Hour))
	}
	if err := recall(env.c); err != nil {
		t.Fatal(err)
	}
	if n := env.wecom.fetches.Load(); n != 0 {
		t.Fatalf("gettoken calls = %d, want 0: the token stored meanwhile should be used", n)
	}
	if r := env.wecom.requests(); len(r) != 1 || r[0].Token != "ACCESSTOKEN-other" {
		t.Fatalf("requests %+v, want one with the other replica's token", r)
	}
}

// TestRejectedTokenPutBack: a slower replica stores the token WeCom has
// just rejected again (it fetched it before the rejection). The retry
// must not use it.
func TestRejectedTokenPutBack(t *testing.T) {
	env := newTestEnv(t)
	if err := recall(env.c); err != nil {
		t.Fatal(err)
	}
	first := env.tokens.token(AppMessages)
	env.wecom.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") == first.value {
			writeJSON(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
			return
		}
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	env.tokens.afterDelete = func(app, value string) {
		env.tokens.PutToken(context.Background(), app, value, first.expiresAt)
	}
	if err := recall(env.c); err != nil {
		t.Fatalf("the retry used the rejected token again: %v", err)
	}
	if n := env.wecom.fetches.Load(); n != 2 {
		t.Errorf("gettoken calls = %d, want 2", n)
	}
}

func TestLeaseNeverFreedIsAnError(t *testing.T) {
	env := newTestEnv(t)
	env.c.pollFor = 10 * time.Millisecond
	env.tokens.AcquireLease(context.Background(), leaseName(AppMessages), "other", time.Hour)
	err := recall(env.c)
	var cacheErr *TokenCacheError
	if !errors.As(err, &cacheErr) || !errors.Is(err, errLeaseBusy) {
		t.Fatalf("err = %v, want a TokenCacheError about the lease", err)
	}
	if Classify(err) != ActionRetry {
		t.Errorf("Classify = %v, want retry", Classify(err))
	}
	if env.wecom.fetches.Load() != 0 || len(env.wecom.requests()) != 0 {
		t.Error("the client called WeCom without the lease")
	}
}

func TestTokenWaitHonoursContext(t *testing.T) {
	env := newTestEnv(t)
	env.tokens.AcquireLease(context.Background(), leaseName(AppMessages), "other", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := env.c.RecallMessage(ctx, "m")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if Classify(err) != ActionPermanent {
		t.Errorf("Classify = %v, want permanent (the caller gave up)", Classify(err))
	}
}

func TestTokenCacheFailure(t *testing.T) {
	env := newTestEnv(t)
	env.tokens.getErr = errors.New("redis: connection refused")
	err := recall(env.c)
	var cacheErr *TokenCacheError
	if !errors.As(err, &cacheErr) || cacheErr.Op != "get" {
		t.Fatalf("err = %v, want a TokenCacheError of get", err)
	}
	if Classify(err) != ActionRetry {
		t.Errorf("Classify = %v, want retry", Classify(err))
	}
	if env.wecom.fetches.Load() != 0 {
		t.Error("gettoken called although the cache failed")
	}
}

func TestGettokenFailure(t *testing.T) {
	env := newTestEnv(t, func(c *ClientConfig) { c.Secrets[AppMessages] = "SECRET-wrong-00000000" })
	err := recall(env.c)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Op != "gettoken" || apiErr.Code != CodeInvalidSecret {
		t.Fatalf("err = %v, want gettoken's errcode 40001", err)
	}
	if !strings.Contains(err.Error(), "message/recall") || !strings.Contains(err.Error(), `app "app"`) {
		t.Errorf("err = %q, want it to name the call and the app", err)
	}
	if Classify(err) != ActionPermanent {
		t.Errorf("Classify = %v, want permanent", Classify(err))
	}
	if env.tokens.leaseCount() != 0 {
		t.Error("the refresh lease was not released after a failed gettoken")
	}
	if len(env.wecom.requests()) != 0 {
		t.Error("the API was called without a token")
	}
}

func TestAppWithoutSecret(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		apps    []string
		call    func(c *Client) error
		wantIn  []string
		wantOut []string
	}{
		{"archive API without archive secret", []string{AppMessages, AppContacts, AppCustomer},
			func(c *Client) error { _, err := c.PermitUsers(ctx, 0); return err },
			[]string{"msgaudit/get_permit_user_list", `"archive"`, "wecom.archive_secret"}, []string{"wecom.secret "}},
		{"message API without app secret", []string{AppContacts, AppArchive},
			func(c *Client) error { return c.RecallMessage(ctx, "m") },
			[]string{"message/recall", `"app"`, "wecom.secret"}, nil},
		{"contacts API with neither contacts nor app secret", []string{AppArchive},
			func(c *Client) error { _, _, err := c.ListUserIDs(ctx, "", 100); return err },
			[]string{"user/list_id", `"contacts"`, "wecom.contacts_secret", "wecom.secret"}, nil},
		{"customer API with neither customer nor app secret", []string{AppArchive},
			func(c *Client) error { _, err := c.GetExternalContact(ctx, "wm1", ""); return err },
			[]string{"externalcontact/get", `"customer"`, "wecom.customer_secret"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, onlySecrets(tt.apps...))
			err := tt.call(env.c)
			if !errors.Is(err, ErrNoSecret) {
				t.Fatalf("err = %v, want ErrNoSecret", err)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, want it to contain %q", err, s)
				}
			}
			for _, s := range tt.wantOut {
				if strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, should not contain %q", err, s)
				}
			}
			if Classify(err) != ActionPermanent {
				t.Errorf("Classify = %v, want permanent", Classify(err))
			}
			if env.wecom.fetches.Load() != 0 || len(env.wecom.requests()) != 0 {
				t.Error("WeCom was called")
			}
		})
	}
}

// TestAppRouting checks whose token each API uses.
func TestAppRouting(t *testing.T) {
	ctx := context.Background()
	calls := map[string]func(c *Client) error{
		"message/recall":      func(c *Client) error { return c.RecallMessage(ctx, "m") },
		"externalcontact/get": func(c *Client) error { _, err := c.GetExternalContact(ctx, "wm1", ""); return err },
		"user/get":            func(c *Client) error { _, err := c.GetUser(ctx, "zhangsan"); return err },
		"user/list_id":        func(c *Client) error { _, _, err := c.ListUserIDs(ctx, "", 0); return err },
		"department/list":     func(c *Client) error { _, err := c.ListDepartments(ctx, 0); return err },
		"msgaudit/check_room_agree": func(c *Client) error {
			_, err := c.CheckRoomAgree(ctx, "wr1")
			return err
		},
	}
	all := []string{AppMessages, AppContacts, AppCustomer, AppArchive}
	tests := []struct {
		api     string
		secrets []string
		want    string
	}{
		{"message/recall", all, AppMessages},
		{"externalcontact/get", all, AppCustomer},
		{"externalcontact/get", []string{AppMessages}, AppMessages},
		{"user/get", all, AppMessages},
		{"user/get", []string{AppContacts}, AppContacts},
		{"user/list_id", all, AppContacts},
		{"user/list_id", []string{AppMessages}, AppMessages},
		{"department/list", all, AppContacts},
		{"department/list", []string{AppMessages, AppArchive}, AppMessages},
		{"msgaudit/check_room_agree", all, AppArchive},
	}
	for _, tt := range tests {
		t.Run(tt.api+" with "+strings.Join(tt.secrets, ","), func(t *testing.T) {
			env := newTestEnv(t, onlySecrets(tt.secrets...))
			if err := calls[tt.api](env.c); err != nil {
				t.Fatal(err)
			}
			reqs := env.wecom.requests()
			if len(reqs) != 1 || reqs[0].App != tt.want {
				t.Fatalf("requests %+v, want one with the %q token", reqs, tt.want)
			}
		})
	}
}

func TestTokensArePerApp(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	if err := env.c.RecallMessage(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.PermitUsers(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := env.c.RecallMessage(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if n := env.wecom.fetches.Load(); n != 2 {
		t.Fatalf("gettoken calls = %d, want one per app (2)", n)
	}
	if a, b := env.tokens.token(AppMessages).value, env.tokens.token(AppArchive).value; a == "" || b == "" || a == b {
		t.Fatalf("cached tokens %q and %q, want one per app", a, b)
	}
}

func TestCallsAreLoggedOnceAtDebug(t *testing.T) {
	env := newTestEnv(t)
	if err := recall(env.c); err != nil {
		t.Fatal(err)
	}
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(env.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		records = append(records, m)
	}
	var ops []string
	for _, r := range records {
		if r["msg"] != "wecom api call" || r["level"] != "DEBUG" {
			t.Errorf("unexpected record %v", r)
			continue
		}
		for _, k := range []string{"op", "app", "attempt", "errcode", "duration", "status"} {
			if _, ok := r[k]; !ok {
				t.Errorf("record %v lacks %q", r, k)
			}
		}
		ops = append(ops, r["op"].(string))
	}
	if strings.Join(ops, ",") != "gettoken,message/recall" {
		t.Fatalf("logged ops %q, want gettoken then message/recall, once each", ops)
	}
}
