package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// The official sample key set K1 (WECOM.md §2).
const (
	k1Token  = "QDG6eK"
	k1Key    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	k1CorpID = "wx5823bf96d3bd56c7"
	adminTok = "test-admin-token-0123456789"
	path     = "/wecom/callback"
)

// env is one HTTP surface on a real embedded store, with its log captured.
type env struct {
	t      testing.TB
	engine http.Handler
	store  store.Store
	cipher *wecom.Cipher
	logs   *syncBuffer
	now    time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOption func(*Options)

func newEnv(t testing.TB, now time.Time, opts ...envOption) *env {
	t.Helper()
	return newEnvOn(t, openEmbedded(t), now, opts...)
}

// openEmbedded opens an embedded store in a temporary directory.
func openEmbedded(t testing.TB) store.Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnvOn is newEnv on the store st.
func newEnvOn(t testing.TB, st store.Store, now time.Time, opts ...envOption) *env {
	t.Helper()
	c, err := wecom.NewCipher(k1Token, k1Key, k1CorpID)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	o := Options{
		Receivers:       []Receiver{{Name: "app", Path: path, Cipher: c}},
		Store:           st,
		AdminTokens:     []string{adminTok},
		TimestampWindow: 5 * time.Minute,
		MaxBodyBytes:    64 << 10,
		Now:             func() time.Time { return now },
		Logger:          slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:      reg,
		Gatherer:        reg,
	}
	for _, f := range opts {
		f(&o)
	}
	engine, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, engine: engine, store: st, cipher: c, logs: logs, now: now}
}

func (e *env) do(req *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.engine.ServeHTTP(rec, req)
	return rec
}

// post signs and encrypts plaintext as WeCom would and sends it to path.
func (e *env) post(path string, plaintext []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	s := &wecomtest.Sender{URL: "http://wecomply.test" + path, Cipher: e.cipher, Now: func() time.Time { return e.now }}
	req, err := s.Request(context.Background(), plaintext)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *env) admin(target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	return e.do(req)
}

// queued claims everything in the queue.
func (e *env) queued() []store.Delivery {
	e.t.Helper()
	ds, err := e.store.Claim(context.Background(), "test", 1000, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func build(t *testing.T, spec wecomtest.EventSpec) []byte {
	t.Helper()
	b, err := wecomtest.BuildEvent(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestURLVerificationOfficialVector answers WeCom's own GET example (V1a)
// with exactly the plaintext, no newline.
func TestURLVerificationOfficialVector(t *testing.T) {
	e := newEnv(t, time.Unix(1409659589, 0))
	rec := e.do(httptest.NewRequest(http.MethodGet, path+"?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "1616140317555161061" {
		t.Fatalf("got %d %q, want 200 %q", rec.Code, rec.Body.String(), "1616140317555161061")
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
	// The same request a day later is a replay.
	late := newEnv(t, time.Unix(1409659589+86400, 0))
	rec = late.do(httptest.NewRequest(http.MethodGet, path+"?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", nil))
	if rec.Code != http.StatusForbidden {
		t.Errorf("stale GET: got %d, want 403", rec.Code)
	}
}

// TestPostOfficialVector accepts WeCom's own POST example (V1b) and queues
// it durably, keyed by its MsgId.
func TestPostOfficialVector(t *testing.T) {
	e := newEnv(t, time.Unix(1409659813, 0))
	body := `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`
	target := path + "?msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149"
	for i := range 2 { // the second is WeCom's retry
		rec := e.do(httptest.NewRequest(http.MethodPost, target, strings.NewReader(body)))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Fatalf("delivery %d: got %d %q, want 200 with an empty body", i, rec.Code, rec.Body.String())
		}
	}
	ds := e.queued()
	if len(ds) != 1 {
		t.Fatalf("queued %d events, want 1 (the retry is a duplicate)", len(ds))
	}
	d := ds[0]
	if d.Kind != "text" || d.DedupKey != "msg:4561255354251345929" || d.Receiver != path || !strings.Contains(string(d.Payload), "<Content><![CDATA[hello]]></Content>") {
		t.Errorf("queued %+v", d)
	}
	if !d.ReceivedAt.Equal(time.Unix(1409659813, 0)) {
		t.Errorf("ReceivedAt = %s", d.ReceivedAt)
	}
}

// TestPostStatuses checks every answer of the POST route and its order.
func TestPostStatuses(t *testing.T) {
	now := time.Now()
	text := func(id string) []byte {
		return build(t, wecomtest.EventSpec{Kind: "text", CorpID: k1CorpID, UserID: "zhangsan", Content: "secret chat content", MsgID: id, CreateTime: now.Unix()})
	}
	signed := func(t *testing.T, e *env, plaintext []byte, edit func(q url.Values, body []byte) []byte) *http.Request {
		s := &wecomtest.Sender{URL: "http://wecomply.test" + path, Cipher: e.cipher, Now: func() time.Time { return now }}
		req, err := s.Request(context.Background(), plaintext)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(req.Body)
		q := req.URL.Query()
		if edit != nil {
			body = edit(q, body)
		}
		req = httptest.NewRequest(http.MethodPost, path+"?"+q.Encode(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		return req
	}
	otherCipher := func(receiveID string) *wecom.Cipher {
		c, err := wecom.NewCipher(k1Token, k1Key, receiveID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		req    func(t *testing.T, e *env) *http.Request
		status int
		queued int
	}{
		{"ok", func(t *testing.T, e *env) *http.Request { return signed(t, e, text("1"), nil) }, 200, 1},
		{"too large beats bad signature", func(t *testing.T, e *env) *http.Request {
			return signed(t, e, text("2"), func(q url.Values, b []byte) []byte {
				q.Set("msg_signature", "0000")
				return append(b, bytes.Repeat([]byte(" "), 65<<10)...)
			})
		}, 413, 0},
		{"too large without content length", func(t *testing.T, e *env) *http.Request {
			r := signed(t, e, text("3"), func(q url.Values, b []byte) []byte { return append(b, bytes.Repeat([]byte(" "), 65<<10)...) })
			r.ContentLength = -1
			return r
		}, 413, 0},
		{"not an envelope", func(t *testing.T, e *env) *http.Request {
			return signed(t, e, text("4"), func(q url.Values, b []byte) []byte { return []byte("hello") })
		}, 400, 0},
		{"bad signature", func(t *testing.T, e *env) *http.Request {
			return signed(t, e, text("5"), func(q url.Values, b []byte) []byte { q.Set("msg_signature", strings.Repeat("a", 40)); return b })
		}, 403, 0},
		{"missing signature", func(t *testing.T, e *env) *http.Request {
			return signed(t, e, text("6"), func(q url.Values, b []byte) []byte { q.Del("msg_signature"); return b })
		}, 403, 0},
		{"stale timestamp", func(t *testing.T, e *env) *http.Request {
			s := &wecomtest.Sender{URL: "http://wecomply.test" + path, Cipher: e.cipher, Now: func() time.Time { return now.Add(-6 * time.Minute) }}
			r, _ := s.Request(context.Background(), text("7"))
			return r
		}, 403, 0},
		{"future timestamp", func(t *testing.T, e *env) *http.Request {
			s := &wecomtest.Sender{URL: "http://wecomply.test" + path, Cipher: e.cipher, Now: func() time.Time { return now.Add(6 * time.Minute) }}
			r, _ := s.Request(context.Background(), text("8"))
			return r
		}, 403, 0},
		{"wrong receiver", func(t *testing.T, e *env) *http.Request {
			s := &wecomtest.Sender{URL: "http://wecomply.test" + path, Cipher: otherCipher("wwsomeothercorp"), Now: func() time.Time { return now }}
			r, _ := s.Request(context.Background(), text("9"))
			return r
		}, 403, 0},
		{"undecodable plaintext", func(t *testing.T, e *env) *http.Request { return signed(t, e, []byte("not xml at all"), nil) }, 400, 0},
		{"unknown kind is kept", func(t *testing.T, e *env) *http.Request {
			return signed(t, e, []byte(`<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>`+
				itoa(now.Unix())+`</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[brand_new_event]]></Event><Foo>bar</Foo></xml>`), nil)
		}, 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived := 0
			e := newEnv(t, now, func(o *Options) { o.Arrived = func() { arrived++ } })
			rec := e.do(tt.req(t, e))
			if rec.Code != tt.status {
				t.Fatalf("got %d %q, want %d", rec.Code, rec.Body.String(), tt.status)
			}
			// Only an authentic callback makes the workers yield.
			if want := tt.queued; arrived != want {
				t.Errorf("Arrived called %d times, want %d", arrived, want)
			}
			if tt.status == 200 && rec.Body.Len() != 0 {
				t.Errorf("200 with body %q, want empty", rec.Body.String())
			}
			if n := len(e.queued()); n != tt.queued {
				t.Errorf("queued %d, want %d", n, tt.queued)
			}
			if strings.Contains(e.logs.String(), "secret chat content") {
				t.Errorf("log contains the message content:\n%s", e.logs.String())
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestStoreUnavailable: with the store gone the callback answers 503 so
// WeCom retries, never 200.
func TestStoreUnavailable(t *testing.T) {
	now := time.Now()
	e := newEnv(t, now)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	rec := e.post(path, build(t, wecomtest.EventSpec{Kind: "change_contact.create_user", CorpID: k1CorpID, UserID: "lisi", CreateTime: now.Unix()}))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", rec.Code)
	}
	if rec := e.do(httptest.NewRequest(http.MethodGet, "/readyz", nil)); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store closed: %d, want 503", rec.Code)
	}
}

// TestSameSecondEventsAreDistinct: two customers adding one employee in
// the same second are two events, not one.
func TestSameSecondEventsAreDistinct(t *testing.T) {
	now := time.Now()
	e := newEnv(t, now)
	for _, ext := range []string{"wmCustomerA", "wmCustomerB", "wmCustomerA"} {
		rec := e.post(path, build(t, wecomtest.EventSpec{Kind: "change_external_contact.add_external_contact", CorpID: k1CorpID,
			UserID: "zhangsan", ExternalUserID: ext, WelcomeCode: "WELCOME" + ext, CreateTime: now.Unix()}))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", ext, rec.Code)
		}
	}
	if n := len(e.queued()); n != 2 {
		t.Errorf("queued %d events, want 2 (A, B; the second A is a duplicate)", n)
	}
}

func TestBaselineRoute(t *testing.T) {
	now := time.Now()
	plain := build(t, wecomtest.EventSpec{Kind: "enter_agent", CorpID: k1CorpID, UserID: "wangwu", CreateTime: now.Unix()})
	off := newEnv(t, now)
	if rec := off.post(path+"/baseline", plain); rec.Code == http.StatusOK {
		t.Errorf("baseline route answered 200 while disabled")
	}
	on := newEnv(t, now, func(o *Options) { o.BaselineRoute = true })
	if rec := on.post(path+"/baseline", plain); rec.Code != http.StatusOK {
		t.Fatalf("baseline: %d", rec.Code)
	}
	if rec := on.post(path+"/baseline", []byte("garbage")); rec.Code != http.StatusBadRequest {
		t.Errorf("baseline decodes like the real route: got %d, want 400", rec.Code)
	}
	if n := len(on.queued()); n != 0 {
		t.Errorf("baseline queued %d events, want 0", n)
	}
}

func TestAdminAuth(t *testing.T) {
	e := newEnv(t, time.Now())
	tests := []struct {
		name, header string
		want         int
	}{
		{"none", "", 401},
		{"wrong", "Bearer wrong-token-0123456789", 401},
		{"prefix of the right one", "Bearer " + adminTok[:10], 401},
		{"basic scheme", "Basic " + adminTok, 401},
		{"empty bearer", "Bearer ", 401},
		{"bearer with spaces only", "Bearer    ", 401},
		{"scheme alone", "Bearer", 401},
		{"scheme glued to the token", "Bearer" + adminTok, 401},
		{"another scheme starting like bearer", "Bearers " + adminTok, 401},
		{"right", "Bearer " + adminTok, 200},
		// RFC 7235 §2.1: the scheme is case-insensitive, and 1*SP
		// separates it from the credentials.
		{"lower-case scheme", "bearer " + adminTok, 200},
		{"upper-case scheme", "BEARER " + adminTok, 200},
		{"mixed-case scheme", "bEaReR " + adminTok, 200},
		{"two spaces", "Bearer  " + adminTok, 200},
		{"lower-case scheme, wrong token", "bearer wrong-token-0123456789", 401},
		{"token with a trailing character", "bearer " + adminTok + "x", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/events", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			if rec := e.do(req); rec.Code != tt.want {
				t.Errorf("got %d, want %d", rec.Code, tt.want)
			}
		})
	}
	locked := newEnv(t, time.Now(), func(o *Options) { o.AdminTokens = nil })
	req := httptest.NewRequest(http.MethodGet, "/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer ")
	if rec := locked.do(req); rec.Code != 401 {
		t.Errorf("no tokens configured: got %d, want 401", rec.Code)
	}
}

func TestEventsAPI(t *testing.T) {
	e := newEnv(t, time.Now())
	ctx := context.Background()
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for i, kind := range []string{"change_contact.create_user", "text", "change_contact.create_user"} {
		err := e.store.AppendEventLog(ctx, store.LogEntry{Kind: kind, DedupKey: kind + itoa(int64(i)), CreateTime: 1409659813 + int64(i),
			ReceivedAt: base.Add(time.Duration(i) * time.Second), Receiver: path, Fields: map[string]string{"user_id": "u" + itoa(int64(i))}})
		if err != nil {
			t.Fatal(err)
		}
	}
	type resp struct {
		Events []map[string]any `json:"events"`
	}
	get := func(target string) resp {
		t.Helper()
		rec := e.admin(target)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body.String())
		}
		var r resp
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	all := get("/api/v1/events")
	if len(all.Events) != 3 || all.Events[0]["user_id"] != "u2" || all.Events[2]["user_id"] != "u0" {
		t.Fatalf("want 3 events newest first, got %v", all.Events)
	}
	first := all.Events[0]
	for _, k := range []string{"kind", "dedup_key", "create_time", "received_at", "receiver", "user_id"} {
		if _, ok := first[k]; !ok {
			t.Errorf("event lacks %q: %v", k, first)
		}
	}
	if first["received_at"] != "2026-11-23T08:00:02Z" || first["create_time"] != float64(1409659815) {
		t.Errorf("event fields: %v", first)
	}
	if r := get("/api/v1/events?kind=text"); len(r.Events) != 1 || r.Events[0]["kind"] != "text" {
		t.Errorf("kind filter: %v", r.Events)
	}
	if r := get("/api/v1/events?kind=change_contact.create_user&limit=1"); len(r.Events) != 1 || r.Events[0]["user_id"] != "u2" {
		t.Errorf("kind+limit: %v", r.Events)
	}
	if r := get("/api/v1/events?kind=nothing"); r.Events == nil || len(r.Events) != 0 {
		t.Errorf("no match must be an empty list, got %v", r.Events)
	}
	for _, bad := range []string{"0", "-1", "x", "1001"} {
		if rec := e.admin("/api/v1/events?limit=" + bad); rec.Code != 400 || !strings.Contains(rec.Body.String(), "limit") {
			t.Errorf("limit=%s: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	now := time.Now()
	e := newEnv(t, now)
	if rec := e.do(httptest.NewRequest(http.MethodGet, "/healthz", nil)); rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
	if rec := e.do(httptest.NewRequest(http.MethodGet, "/readyz", nil)); rec.Code != 200 {
		t.Errorf("readyz %d", rec.Code)
	}
	e.post(path, build(t, wecomtest.EventSpec{Kind: "change_contact.delete_user", CorpID: k1CorpID, UserID: "zhaoliu", CreateTime: now.Unix()}))
	bad := httptest.NewRequest(http.MethodPost, path+"?msg_signature=x&timestamp=1&nonce=1", strings.NewReader("<xml><Encrypt>AAAA</Encrypt></xml>"))
	e.do(bad)
	rec := e.do(httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`wecomply_callbacks_total{kind="change_contact.delete_user",receiver="app",status="200"} 1`,
		`wecomply_callbacks_total{kind="none",receiver="app",status="403"} 1`,
		`wecomply_enqueue_duration_seconds_count 1`,
		`wecomply_queue_entries{state="ready"} 1`,
		`wecomply_queue_entries{state="dead"} 0`,
		`wecomply_queue_stats_up 1`,
		`wecomply_ingress_log_flushes_total 1`, // the embedded store's
		`wecomply_ingress_log_records_total 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(body, "wecomply_ingress_log_flush_seconds_total ") || strings.Contains(body, "wecomply_ingress_log_flush_seconds_total 0\n") {
		t.Errorf("metrics lack the ingress log's flush time (or it is 0)")
	}
}

// TestLogsHoldNoSecrets drives every route and checks that neither the
// token, the key, the admin token nor any decrypted content was logged.
func TestLogsHoldNoSecrets(t *testing.T) {
	now := time.Now()
	e := newEnv(t, now)
	e.post(path, build(t, wecomtest.EventSpec{Kind: "text", CorpID: k1CorpID, UserID: "u1", Content: "PRIVATE-CONTENT-1", CreateTime: now.Unix()}))
	e.post(path, []byte("<xml>PRIVATE-CONTENT-2"))
	e.do(httptest.NewRequest(http.MethodPost, path+"?msg_signature=x&timestamp=1&nonce=1", strings.NewReader("<xml><Encrypt>PRIVATE</Encrypt></xml>")))
	wrong := httptest.NewRequest(http.MethodGet, "/api/v1/events", nil)
	wrong.Header.Set("Authorization", "Bearer "+adminTok+"x")
	e.do(wrong)
	e.admin("/api/v1/events")
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	for _, s := range []string{k1Token, k1Key, adminTok, "PRIVATE-CONTENT"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}
