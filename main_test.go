package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

const (
	testCorpID = "wwtestcorp0001"
	testToken  = "Tok3nForTests"
	testKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testAdmin  = "admin-token-for-tests-0123"
	// testAppSecret is the app's secret in the fake WeCom.
	testAppSecret = "app-secret-for-tests-0123"
)

// writeConfig writes a config for a test server and returns its path.
func writeConfig(t *testing.T, listen, backend, redisURL string) string {
	t.Helper()
	return writeConfigAPI(t, listen, backend, redisURL, "")
}

// writeConfigAPI is writeConfig with the WeCom API at apiURL (the fake's),
// the app's secret set, when apiURL is not empty.
func writeConfigAPI(t *testing.T, listen, backend, redisURL, apiURL string) string {
	t.Helper()
	dir := t.TempDir()
	api := ""
	if apiURL != "" {
		api = fmt.Sprintf("api_base_url = %q\nsecret = %q\n", apiURL, testAppSecret)
	}
	cfg := fmt.Sprintf(`
[server]
listen = %q
shutdown_timeout = "10s"
[log]
level = "debug"
[wecom]
corp_id = %q
agent_id = 1000002
api_timeout = "1s"
%s
[[wecom.callback]]
name = "app"
path = "/wecom/callback"
token = %q
encoding_aes_key = %q
[[wecom.callback]]
name = "contacts"
path = "/wecom/contacts"
token = "OtherToken"
encoding_aes_key = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
[store]
backend = %q
path = %q
redis_url = %q
lease = "2s"
[workers]
count = 2
retry_backoff = "100ms"
[admin]
tokens = [%q]
`, listen, testCorpID, api, testToken, testKey, backend, filepath.Join(dir, "data", "wecomply.db"), redisURL, testAdmin)
	p := filepath.Join(dir, "wecomply.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startApp runs the whole server in-process on a loopback port, on the
// suite's clock (testclock.New), and returns its base URL. The server
// stops when the test ends; a clean shutdown is asserted.
func startApp(t *testing.T, cfgPath string, logs io.Writer) string {
	t.Helper()
	return startAppAt(t, testclock.New(t), cfgPath, logs)
}

// startAppAt is startApp on the clock clk.
func startAppAt(t *testing.T, clk *testclock.Clock, cfgPath string, logs io.Writer) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	_, base, done := launchAppAt(t, ctx, clk, cfgPath, logs)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down within 15s")
		}
	})
	return base
}

// startAppCtx runs the server on the suite's clock until ctx ends; done
// is closed once it has shut down (cleanly: asserted).
func startAppCtx(t *testing.T, ctx context.Context, cfgPath string) (base string, done <-chan struct{}) {
	t.Helper()
	_, base, done = launchAppAt(t, ctx, testclock.New(t), cfgPath, io.Discard)
	return base, done
}

// launchAppAt runs the server on the clock clk until ctx ends, like
// startAppCtx, and also returns the app, for tests that drive its parts
// (e.g. run a job for a chosen activation).
func launchAppAt(t *testing.T, ctx context.Context, clk *testclock.Clock, cfgPath string, logs io.Writer) (*app, string, <-chan struct{}) {
	t.Helper()
	return launchAppWith(t, ctx, cfgPath, logs, appOptions{Now: clk.Now})
}

// launchAppWith is launchAppAt with every app option given (opts.Now is
// the clock).
func launchAppWith(t *testing.T, ctx context.Context, cfgPath string, logs io.Writer, opts appOptions) (*app, string, <-chan struct{}) {
	t.Helper()
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.run(ctx, ln); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}()
	return a, "http://" + ln.Addr().String(), done
}

func sender(t *testing.T, base, path, token, key string) *wecomtest.Sender {
	t.Helper()
	c, err := wecom.NewCipher(token, key, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	return &wecomtest.Sender{URL: base + path, Cipher: c, Now: testclock.New(t).Now}
}

type eventsResponse struct {
	Events []map[string]any `json:"events"`
}

func listEvents(t *testing.T, base, query string) eventsResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/events%s: %d", query, resp.StatusCode)
	}
	var r eventsResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitEvents polls the event log until it holds want entries.
func waitEvents(t *testing.T, base string, want int) eventsResponse {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := listEvents(t, base, "?limit=1000")
		if len(r.Events) >= want || time.Now().After(deadline) {
			if len(r.Events) != want {
				t.Fatalf("event log holds %d entries, want %d", len(r.Events), want)
			}
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric returns the value of one series of the app's /metrics, named
// with its labels as exposed (e.g. `wecomply_queue_entries{state="ready"}`),
// and whether it is there.
func metric(t *testing.T, base, series string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q: %v", series, v, err)
			}
			return f, true
		}
	}
	return 0, false
}

// processed returns how many queue entries of kind the app's workers
// have handled and acked.
func processed(t *testing.T, base, kind string) int {
	t.Helper()
	v, _ := metric(t, base, `wecomply_events_processed_total{kind="`+kind+`",outcome="ok"}`)
	return int(v)
}

// drained reports whether the app's queue holds nothing ready or leased:
// the work it was given is done, and nothing it decided is on its way.
func drained(t *testing.T, base string) bool {
	t.Helper()
	ready, ok1 := metric(t, base, `wecomply_queue_entries{state="ready"}`)
	leased, ok2 := metric(t, base, `wecomply_queue_entries{state="leased"}`)
	return ok1 && ok2 && ready == 0 && leased == 0
}

// TestServeEndToEnd runs the whole server on each store backend: signed
// callbacks over real HTTP on two receivers, workers writing the event
// log, the admin API reading it, and a clean shutdown.
func TestServeEndToEnd(t *testing.T) {
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			redisURL := "redis://127.0.0.1:1/0"
			if backend == "redis" {
				redisURL = redistest.Start(t)
			}
			var logs syncBuffer // the app writes it while the test reads it
			base := startApp(t, writeConfig(t, "127.0.0.1:0", backend, redisURL), &logs)
			app := sender(t, base, "/wecom/callback", testToken, testKey)
			contacts := sender(t, base, "/wecom/contacts", "OtherToken", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut")
			ctx := context.Background()
			// Saving the URL in the console: each receiver answers its own echostr.
			for i, s := range []*wecomtest.Sender{app, contacts} {
				echo := fmt.Sprintf("echo+/=%d-%d", i, time.Now().UnixNano())
				status, body, err := s.VerifyURL(ctx, echo)
				if err != nil || status != 200 || string(body) != echo {
					t.Fatalf("URL verification on %s: %d %q %v, want 200 %q", s.URL, status, body, err, echo)
				}
			}
			now := testclock.New(t).Now().Unix()
			posts := []struct {
				s    *wecomtest.Sender
				spec wecomtest.EventSpec
			}{
				{app, wecomtest.EventSpec{Kind: "text", UserID: "zhangsan", Content: "hi there", MsgID: "7000000000000000001"}},
				{app, wecomtest.EventSpec{Kind: "template_card_event", UserID: "zhangsan", TaskID: "notice-v1-zhangsan", EventKey: "ack"}},
				{contacts, wecomtest.EventSpec{Kind: "change_contact.create_user", UserID: "lisi", Department: "1,2"}},
				{app, wecomtest.EventSpec{Kind: "change_external_contact.add_external_contact", UserID: "zhangsan", ExternalUserID: "wmA"}},
				{app, wecomtest.EventSpec{Kind: "change_external_contact.add_external_contact", UserID: "zhangsan", ExternalUserID: "wmB"}},
				{app, wecomtest.EventSpec{Kind: "text", UserID: "zhangsan", Content: "hi there", MsgID: "7000000000000000001"}}, // WeCom's retry
			}
			for _, p := range posts {
				p.spec.CorpID, p.spec.CreateTime = testCorpID, now
				plain, err := wecomtest.BuildEvent(p.spec)
				if err != nil {
					t.Fatal(err)
				}
				status, body, err := p.s.Post(ctx, plain)
				if err != nil || status != 200 || len(body) != 0 {
					t.Fatalf("%s: %d %q %v", p.spec.Kind, status, body, err)
				}
			}
			r := waitEvents(t, base, 5)
			kinds := map[string]int{}
			for _, e := range r.Events {
				kinds[e["kind"].(string)]++
			}
			want := map[string]int{"text": 1, "template_card_event": 1, "change_contact.create_user": 1, "change_external_contact.add_external_contact": 2}
			if fmt.Sprint(kinds) != fmt.Sprint(want) {
				t.Errorf("kinds %v, want %v", kinds, want)
			}
			for _, e := range r.Events {
				if e["kind"] == "change_contact.create_user" && (e["receiver"] != "/wecom/contacts" || e["user_id"] != "lisi") {
					t.Errorf("contact event %v", e)
				}
				if e["kind"] == "text" && (e["dedup_key"] != "msg:7000000000000000001" || e["user_id"] != "zhangsan") {
					t.Errorf("text event %v", e)
				}
			}
			if got := listEvents(t, base, "?kind=change_external_contact.add_external_contact&limit=1"); len(got.Events) != 1 {
				t.Errorf("kind+limit: %d events", len(got.Events))
			}
			if strings.Contains(logs.String(), "hi there") || strings.Contains(logs.String(), testKey) {
				t.Errorf("logs hold content or the key")
			}
		})
	}
}

func TestCheckCommand(t *testing.T) {
	good := writeConfig(t, "127.0.0.1:8080", "embedded", "")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "-config", good}, &out, &errOut, nil); code != 0 {
		t.Fatalf("good config: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "ok") {
		t.Errorf("good config output: %s", out.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte(`
[server]
lisen = "x"
[wecom]
corp_id = "ww1"
[[wecom.callback]]
path = "/cb"
token = "tok"
encoding_aes_key = "tooshort"
[workers]
count = 0
`), 0o600)
	out.Reset()
	errOut.Reset()
	code := run(context.Background(), []string{"check", "-config", bad}, &out, &errOut, []string{"WECOMPLY_NOPE=1"})
	if code != 1 {
		t.Errorf("bad config: exit %d, want 1", code)
	}
	for _, want := range []string{
		"server.lisen: unknown key",
		"wecom.callback[0].encoding_aes_key: must be 43 characters, got 8",
		"workers.count: must be between 1 and 256, got 0",
		"WECOMPLY_NOPE: unknown environment variable",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if code := run(context.Background(), []string{"check"}, &out, &errOut, nil); code != 2 {
		t.Errorf("check without -config: exit %d, want 2", code)
	}
}

// TestCheckExampleConfig: config.example.toml as shipped fails check on
// WeCom's published sample Token and EncodingAESKey, naming each key and
// saying to run keygen; a copy with a fresh pair from keygen (the
// README's steps) passes, warning that the admin token is the sample.
func TestCheckExampleConfig(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"check", "-config", "config.example.toml"}, &out, io.Discard, nil); code != 1 {
		t.Errorf("check config.example.toml: exit %d, want 1\n%s", code, out.String())
	}
	for _, want := range []string{
		"wecom.callback[0].token: is WeCom's published sample Token",
		"wecom.callback[0].encoding_aes_key: is WeCom's published sample EncodingAESKey",
		`run "wecomply keygen"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	var keys bytes.Buffer
	if code := run(context.Background(), []string{"keygen"}, &keys, io.Discard, nil); code != 0 {
		t.Fatalf("keygen: exit %d", code)
	}
	var pair []string
	for _, line := range strings.Split(keys.String(), "\n") {
		if strings.HasPrefix(line, "token = ") || strings.HasPrefix(line, "encoding_aes_key = ") {
			pair = append(pair, line)
		}
	}
	example, err := os.ReadFile("config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(pair) != 2 {
		t.Fatalf("keygen printed %q", keys.String())
	}
	own := strings.NewReplacer(`token = "QDG6eK"`, pair[0],
		`encoding_aes_key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"`, pair[1]).Replace(string(example))
	path := filepath.Join(t.TempDir(), "wecomply.toml")
	if err := os.WriteFile(path, []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "-config", path}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("check of the copy with keygen's pair: exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), ": ok (") || !strings.Contains(out.String(), "warning: admin.tokens[0]: is the sample token") {
		t.Errorf("check output:\n%s", out.String())
	}
}

func TestKeygenCommand(t *testing.T) {
	keys := map[string]bool{}
	for range 2 {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"keygen"}, &out, io.Discard, nil); code != 0 {
			t.Fatalf("exit %d", code)
		}
		var token, key string
		for _, line := range strings.Split(out.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "Token:"); ok {
				token = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "EncodingAESKey:"); ok {
				key = strings.TrimSpace(v)
			}
		}
		if len(token) != 32 || len(key) != 43 {
			t.Fatalf("token %q key %q:\n%s", token, key, out.String())
		}
		if _, err := wecom.NewCipher(token, key, testCorpID); err != nil {
			t.Errorf("generated key rejected: %v", err)
		}
		cfg := fmt.Sprintf("[wecom]\ncorp_id = %q\n[[wecom.callback]]\npath = \"/cb\"\ntoken = %q\nencoding_aes_key = %q\n", testCorpID, token, key)
		if _, err := config.Parse("keygen.toml", []byte(cfg), nil); err != nil {
			t.Errorf("config rejects keygen output: %v", err)
		}
		keys[key] = true
	}
	if len(keys) != 2 {
		t.Error("two keygen runs printed the same key")
	}
}

// TestSimulateCommand sends events to a running server with the CLI, as
// an admin testing their setup would.
func TestSimulateCommand(t *testing.T) {
	cfgPath := writeConfig(t, "127.0.0.1:0", "embedded", "")
	// simulate signs on the wall clock, as it does for an admin.
	base := startAppAt(t, testclock.Real(), cfgPath, io.Discard)
	tests := []struct {
		args []string
		kind string
	}{
		{[]string{"change_contact.create_user", "-user-id", "zhaoliu", "-department", "1"}, "change_contact.create_user"},
		{[]string{"-receiver", "/wecom/contacts", "change_contact.update_user", "-user-id", "zhaoliu", "-new-user-id", "zhaoliu2"}, "change_contact.update_user"},
		{[]string{"change_external_contact.msg_audit_approved", "-user-id", "zhaoliu", "-external-user-id", "wmX"}, "change_external_contact.msg_audit_approved"},
		{[]string{"text", "-user-id", "zhaoliu", "-content", "确认"}, "text"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		args := append([]string{"simulate", "-config", cfgPath, "-server", base}, tt.args...)
		if code := run(context.Background(), args, &out, &errOut, nil); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", tt.args, code, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "→ 200") {
			t.Errorf("%v: output %s", tt.args, out.String())
		}
	}
	r := waitEvents(t, base, len(tests))
	got := map[string]bool{}
	for _, e := range r.Events {
		got[e["kind"].(string)] = true
		if e["kind"] == "change_contact.update_user" && (e["new_user_id"] != "zhaoliu2" || e["receiver"] != "/wecom/contacts") {
			t.Errorf("update_user entry %v", e)
		}
	}
	for _, tt := range tests {
		if !got[tt.kind] {
			t.Errorf("event log lacks %s", tt.kind)
		}
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"simulate", "-config", cfgPath, "-server", base, "no_such_event"}, &out, &errOut, nil); code != 2 {
		t.Errorf("unknown event: exit %d, want 2", code)
	}
	// A server with other keys refuses the event, and simulate says why.
	other := writeConfig(t, "127.0.0.1:0", "embedded", "")
	os.WriteFile(other, bytes.Replace(must(os.ReadFile(other)), []byte(testToken), []byte("DifferentTok"), 1), 0o600)
	errOut.Reset()
	if code := run(context.Background(), []string{"simulate", "-config", other, "-server", base, "enter_agent", "-user-id", "x"}, &out, &errOut, nil); code != 1 ||
		!strings.Contains(errOut.String(), "token") {
		t.Errorf("mismatched token: exit %d, %s", code, errOut.String())
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"UserID": "user-id", "ExternalUserID": "external-user-id", "MsgID": "msg-id", "PicURL": "pic-url",
		"URL": "url", "PicMd5Sums": "pic-md5-sums", "LocationX": "location-x", "CreateTime": "create-time", "Content": "content",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedisOutage: with Redis gone a callback is answered 503 (so WeCom
// retries), never 200, and /readyz says not ready.
func TestRedisOutage(t *testing.T) {
	url, stop, err := redistest.StartProcess(t.TempDir())
	if err != nil {
		if os.Getenv("CI") != "true" && strings.Contains(err.Error(), "not found") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	base := startApp(t, writeConfig(t, "127.0.0.1:0", "redis", url), io.Discard)
	s := sender(t, base, "/wecom/callback", testToken, testKey)
	post := func(user string) int {
		plain, err := wecomtest.BuildEvent(wecomtest.EventSpec{Kind: "change_contact.create_user", CorpID: testCorpID, UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		status, _, err := s.Post(context.Background(), plain)
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	if got := post("before"); got != 200 {
		t.Fatalf("with Redis up: %d", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := post("during"); got != http.StatusServiceUnavailable {
		t.Errorf("with Redis down: %d, want 503", got)
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d, want 503", resp.StatusCode)
	}
}

// TestServeLogsConfigWarnings: serve starts with the sample admin token
// (a warning, not a problem) and says so in its log, naming the key,
// never the token.
func TestServeLogsConfigWarnings(t *testing.T) {
	cfg := writeConfig(t, "127.0.0.1:0", "embedded", "")
	editConfig(t, cfg, fmt.Sprintf("tokens = [%q]", testAdmin), `tokens = ["sample-admin-token-change-me"]`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve starts, then shuts down at once
	var logs bytes.Buffer
	if code := run(ctx, []string{"serve", "-config", cfg}, io.Discard, &logs, nil); code != 0 {
		t.Fatalf("serve: exit %d\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), `"key":"admin.tokens[0]"`) || !strings.Contains(logs.String(), "is the sample token of config.example.toml") {
		t.Errorf("serve's log lacks the warning:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "sample-admin-token-change-me") {
		t.Error("serve's log quotes the admin token")
	}
}
