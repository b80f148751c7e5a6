package wecomtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

const (
	token = "QDG6eK"
	key   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// receiver is a minimal callback receiver built only from package wecom,
// recording what it got.
type receiver struct {
	c   *wecom.Cipher
	now time.Time

	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	events   []wecom.Event
	envs     []wecom.Envelope
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	q := req.URL.Query()
	if err := wecom.CheckTimestamp(q.Get("timestamp"), r.now, 5*time.Minute); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	switch req.Method {
	case http.MethodGet:
		msg, err := r.c.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		w.Write(msg)
	case http.MethodPost:
		env, err := wecom.ParseEnvelope(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		plain, err := r.c.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		ev, err := wecom.Decode(plain)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.envs = append(r.envs, env)
		r.mu.Unlock()
	}
}

func newReceiver(t *testing.T, receiveID string, now time.Time) (*receiver, *httptest.Server) {
	t.Helper()
	c, err := wecom.NewCipher(token, key, receiveID)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{c: c, now: now}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func cipher(t *testing.T, receiveID string) *wecom.Cipher {
	t.Helper()
	c, err := wecom.NewCipher(token, key, receiveID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSenderPost(t *testing.T) {
	now := time.Unix(1700000000, 0)
	r, srv := newReceiver(t, corpID, now)
	s := &Sender{URL: srv.URL + "/wecom/callback", Cipher: cipher(t, corpID), Now: func() time.Time { return now }, AgentID: "1000002"}
	plain, err := BuildEvent(EventSpec{Kind: "template_card_event", CorpID: corpID, UserID: "zhangsan", TaskID: "t1", EventKey: "ack", CreateTime: now.Unix()})
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := s.Post(context.Background(), plain)
	if err != nil || status != http.StatusOK {
		t.Fatalf("Post: %d %q %v", status, body, err)
	}
	if len(r.events) != 1 || r.events[0].Kind() != "template_card_event" || r.events[0].Fields()["task_id"] != "t1" {
		t.Fatalf("receiver got %v", r.events)
	}
	req := r.requests[0]
	if req.Method != http.MethodPost || req.URL.Path != "/wecom/callback" || req.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("request %s %s %q", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	// WeCom's parameter order, timestamp from Now, a 9–10 digit nonce.
	parts := strings.Split(req.URL.RawQuery, "&")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "msg_signature=") || parts[1] != "timestamp=1700000000" || !strings.HasPrefix(parts[2], "nonce=") {
		t.Errorf("query %q", req.URL.RawQuery)
	}
	if n := strings.TrimPrefix(parts[2], "nonce="); len(n) < 9 || len(n) > 10 || strings.Trim(n, "0123456789") != "" {
		t.Errorf("nonce %q is not like WeCom's", n)
	}
	if env := r.envs[0]; env.ToUserName != corpID || env.AgentID != "1000002" || env.JSON {
		t.Errorf("envelope %+v", env)
	}
	if !strings.HasPrefix(r.bodies[0], "<xml><ToUserName><![CDATA["+corpID+"]]></ToUserName><Encrypt><![CDATA[") {
		t.Errorf("body %s", r.bodies[0])
	}
}

func TestSenderRequest(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := cipher(t, corpID)
	t.Run("fixed nonce and ToUserName, existing query kept", func(t *testing.T) {
		s := &Sender{URL: "http://example.test/cb?receiver=app", Cipher: c, Now: func() time.Time { return now },
			Nonce: func() string { return "a+b/c=" }, ToUserName: "wwother"}
		req, err := s.Request(context.Background(), []byte("<xml><MsgType>text</MsgType></xml>"))
		if err != nil {
			t.Fatal(err)
		}
		q := req.URL.Query()
		if q.Get("receiver") != "app" || q.Get("nonce") != "a+b/c=" || q.Get("timestamp") != "1700000000" {
			t.Errorf("query %q", req.URL.RawQuery)
		}
		if !strings.Contains(req.URL.RawQuery, "nonce=a%2Bb%2Fc%3D") {
			t.Errorf("nonce not percent-encoded: %q", req.URL.RawQuery)
		}
		body, _ := io.ReadAll(req.Body)
		env, err := wecom.ParseEnvelope(body)
		if err != nil || env.ToUserName != "wwother" || env.AgentID != "" || strings.Contains(string(body), "AgentID") {
			t.Fatalf("envelope %+v %v\n%s", env, err, body)
		}
		msg, err := c.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
		if err != nil || string(msg) != "<xml><MsgType>text</MsgType></xml>" {
			t.Errorf("Open: %q %v", msg, err)
		}
		if req.ContentLength != int64(len(body)) || req.GetBody == nil {
			t.Errorf("ContentLength %d, GetBody %v: the request cannot be replayed", req.ContentLength, req.GetBody != nil)
		}
	})
	t.Run("the default nonce changes", func(t *testing.T) {
		s := &Sender{URL: "http://example.test/cb", Cipher: c}
		seen := map[string]bool{}
		for range 20 {
			req, err := s.Request(context.Background(), []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			seen[req.URL.Query().Get("nonce")] = true
		}
		if len(seen) < 19 {
			t.Errorf("%d distinct nonces in 20 requests", len(seen))
		}
	})
	for _, tt := range []struct {
		name string
		s    *Sender
	}{
		{"nil cipher", &Sender{URL: "http://example.test/cb"}},
		{"relative URL", &Sender{URL: "/cb", Cipher: c}},
		{"no scheme", &Sender{URL: "example.test/cb", Cipher: c}},
		{"bad URL", &Sender{URL: "http://[::1", Cipher: c}},
		{"ftp URL", &Sender{URL: "ftp://example.test/cb", Cipher: c}},
	} {
		t.Run("error: "+tt.name, func(t *testing.T) {
			if req, err := tt.s.Request(context.Background(), []byte("x")); err == nil || req != nil {
				t.Errorf("got %v, %v", req, err)
			}
			if _, _, err := tt.s.Post(context.Background(), []byte("x")); err == nil {
				t.Errorf("Post: no error")
			}
			if _, _, err := tt.s.VerifyURL(context.Background(), "x"); err == nil {
				t.Errorf("VerifyURL: no error")
			}
		})
	}
}

func TestSenderVerifyURL(t *testing.T) {
	now := time.Unix(1700000000, 0)
	r, srv := newReceiver(t, corpID, now)
	c := cipher(t, corpID)
	// With fixed random bytes an echo always encrypts to the same echostr,
	// so we can pick echoes whose echostr holds each of '+', '/' and '=',
	// the characters that must arrive percent-encoded.
	fixed, err := wecom.NewCipher(token, key, corpID, wecom.WithRandom(constReader('r')))
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{URL: srv.URL + "/wecom/callback", Cipher: fixed, Now: func() time.Time { return now }, Nonce: func() string { return "263014780" }}
	for _, special := range []struct{ char, escaped string }{{"+", "%2B"}, {"/", "%2F"}, {"=", "%3D"}} {
		t.Run(fmt.Sprintf("echostr with %q", special.char), func(t *testing.T) {
			var echo, echostr string
			for i := range 1000 {
				candidate := fmt.Sprintf("1616140317555161%03d", i)
				enc, err := fixed.Encrypt([]byte(candidate))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(enc, special.char) {
					echo, echostr = candidate, enc
					break
				}
			}
			if echo == "" {
				t.Fatalf("no echostr with %q found", special.char)
			}
			status, body, err := s.VerifyURL(context.Background(), echo)
			if err != nil || status != http.StatusOK {
				t.Fatalf("VerifyURL: %d %q %v", status, body, err)
			}
			if string(body) != echo {
				t.Errorf("answered %q, want %q", body, echo)
			}
			r.mu.Lock()
			req := r.requests[len(r.requests)-1]
			r.mu.Unlock()
			if req.Method != http.MethodGet || req.URL.Query().Get("echostr") != echostr {
				t.Errorf("%s with echostr %q, want %q", req.Method, req.URL.Query().Get("echostr"), echostr)
			}
			if enc := req.URL.RawQuery[strings.Index(req.URL.RawQuery, "echostr="):]; !strings.Contains(enc, special.escaped) || strings.Contains(enc[len("echostr="):], special.char) {
				t.Errorf("echostr not percent-encoded: %q", enc)
			}
		})
	}
	t.Run("raw query is percent-encoded", func(t *testing.T) {
		var raw string
		probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw = r.URL.RawQuery
			q := r.URL.Query()
			msg, err := c.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			w.Write(msg)
		}))
		defer probe.Close()
		ps := &Sender{URL: probe.URL, Cipher: c, Now: func() time.Time { return now }, Nonce: func() string { return "263014780" }}
		for i := range 50 {
			echo := fmt.Sprint("echo", i)
			status, body, err := ps.VerifyURL(context.Background(), echo)
			if err != nil || status != 200 || string(body) != echo {
				t.Fatalf("VerifyURL(%q): %d %q %v", echo, status, body, err)
			}
			if strings.ContainsAny(raw, "+/") || strings.Count(raw, "=") != 4 {
				t.Fatalf("query not percent-encoded: %q", raw)
			}
			if !strings.HasPrefix(raw, "msg_signature=") || !strings.Contains(raw, "&timestamp=1700000000&nonce=263014780&echostr=") {
				t.Fatalf("query order %q", raw)
			}
		}
	})
	t.Run("wrong receiver is refused", func(t *testing.T) {
		bad := &Sender{URL: srv.URL, Cipher: cipher(t, "wwsomeothercorp"), Now: func() time.Time { return now }}
		status, _, err := bad.VerifyURL(context.Background(), "x")
		if err != nil || status != http.StatusForbidden {
			t.Errorf("got %d %v, want 403", status, err)
		}
	})
	t.Run("stale timestamp is refused", func(t *testing.T) {
		old := &Sender{URL: srv.URL, Cipher: c, Now: func() time.Time { return now.Add(-time.Hour) }}
		status, _, err := old.VerifyURL(context.Background(), "x")
		if err != nil || status != http.StatusForbidden {
			t.Errorf("got %d %v, want 403", status, err)
		}
	})
}

// constReader gives the same byte for ever.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestSenderErrors(t *testing.T) {
	c := cipher(t, corpID)
	t.Run("cancelled context", func(t *testing.T) {
		_, srv := newReceiver(t, corpID, time.Now())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := &Sender{URL: srv.URL, Cipher: c}
		if _, _, err := s.Post(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		s := &Sender{URL: url, Cipher: c, Client: &http.Client{Timeout: time.Second}}
		if _, _, err := s.Post(context.Background(), []byte("x")); err == nil {
			t.Errorf("no error")
		}
	})
	t.Run("a non-200 answer is returned, not an error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		s := &Sender{URL: srv.URL, Cipher: c}
		status, body, err := s.Post(context.Background(), []byte("x"))
		if err != nil || status != http.StatusServiceUnavailable || strings.TrimSpace(string(body)) != "store unavailable" {
			t.Errorf("got %d %q %v", status, body, err)
		}
	})
}
