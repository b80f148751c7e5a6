package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// confidential is message content: like tokens and secrets, it must
// never reach an error or a log.
const confidential = "CONFIDENTIAL-notice-text-5e7a"

// requireNoSecrets fails t if any of secrets appears in err (its text, its
// %+v and %#v forms, the text of every error in its chain) or in logs.
func requireNoSecrets(t *testing.T, err error, logs string, secrets []string) {
	t.Helper()
	texts := map[string]string{"logs": logs}
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if e == nil || depth > 20 {
			return
		}
		texts[fmt.Sprintf("chain[%d] %T", depth, e)] = e.Error()
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e, depth+1)
			}
		}
	}
	if err != nil {
		texts["err %+v"] = fmt.Sprintf("%+v", err)
		texts["err %#v"] = fmt.Sprintf("%#v", err)
		walk(err, 0)
	}
	for where, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s leaks %q: %s", where, s, text)
			}
		}
	}
}

// allSecrets is every secret of env: the configured secrets and every
// token the fake issued.
func allSecrets(env *testEnv) []string {
	var out []string
	for _, s := range testSecrets {
		out = append(out, s)
	}
	return append(out, env.wecom.issuedTokens()...)
}

func sendConfidential(c *Client) error {
	_, err := c.SendMessage(context.Background(), Message{
		ToUser: []string{"zhangsan"}, MsgType: MsgText, Text: &Text{Content: confidential},
	})
	return err
}

// TestNoSecretInErrorsOrLogs drives every kind of failure and checks
// that no access token, secret or message content reaches the error or
// the log.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	// echo answers with text that repeats the request's token and every
	// secret, as a careless server or proxy might.
	echo := func(r *http.Request) string {
		tok := r.URL.Query().Get("access_token")
		return fmt.Sprintf("token %s; url %s; secrets %s %s", tok, r.URL.String(), testSecrets[AppMessages], testSecrets[AppArchive])
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name    string
		edit    func(*ClientConfig)
		handler http.HandlerFunc // the API's behaviour
		want    Action
		check   func(t *testing.T, err error)
	}{
		{
			name: "connection dropped by the API",
			handler: func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			want: ActionRetry,
			check: func(t *testing.T, err error) {
				var te *TransportError
				if !errors.As(err, &te) || !strings.Contains(err.Error(), "access_token=REDACTED") {
					t.Errorf("err = %v, want a TransportError with the URL redacted", err)
				}
			},
		},
		{
			name: "gettoken unreachable",
			edit: func(c *ClientConfig) { c.BaseURL = closed.URL },
			want: ActionRetry,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "corpsecret=REDACTED") {
					t.Errorf("err = %v, want the gettoken URL with corpsecret redacted", err)
				}
			},
		},
		{
			name: "HTTP 502 whose body echoes the token",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, echo(r))
			},
			want: ActionRetry,
		},
		{
			name: "HTTP 200 that is not JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "<html>"+echo(r)+"</html>")
			},
			want: ActionRetry,
		},
		{
			name: "errcode whose errmsg echoes the token and secrets",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, fmt.Sprintf(`{"errcode":40058,"errmsg":%q}`, echo(r)+" "+confidential))
			},
			want: ActionPermanent,
			check: func(t *testing.T, err error) {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Msg, "REDACTED") {
					t.Errorf("err = %v, want an APIError with a redacted errmsg", err)
				}
			},
		},
		{
			name: "token rejected twice with the token in errmsg",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, fmt.Sprintf(`{"errcode":42001,"errmsg":%q}`, echo(r)))
			},
			want: ActionRefreshToken,
		},
		{
			name: "JSON of the wrong shape",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, fmt.Sprintf(`{"errcode":0,"errmsg":"ok","msgid":[%q]}`, r.URL.Query().Get("access_token")))
			},
			want: ActionRetry,
		},
		{
			name: "HTTP client timeout",
			edit: func(c *ClientConfig) { c.HTTPClient = &http.Client{Timeout: 150 * time.Millisecond} },
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(3 * time.Second):
				}
			},
			want: ActionRetry,
			check: func(t *testing.T, err error) {
				var te *TransportError
				if !errors.As(err, &te) || !te.Timeout() {
					t.Errorf("err = %v, want a TransportError that is a timeout", err)
				}
			},
		},
		{
			name: "redirect that carries the token elsewhere",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://127.0.0.1:1/steal?"+r.URL.RawQuery, http.StatusFound)
			},
			want: ActionPermanent,
			check: func(t *testing.T, err error) {
				var se *HTTPStatusError
				if !errors.As(err, &se) || se.StatusCode != http.StatusFound {
					t.Errorf("err = %v, want HTTP status 302 (not followed)", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*ClientConfig)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			env := newTestEnv(t, edits...)
			if tt.handler != nil {
				env.wecom.setHandler(tt.handler)
			}
			err := sendConfidential(env.c)
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if got := Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if !strings.Contains(env.logs.String(), "wecom api call") {
				t.Error("the failed call was not logged")
			}
			requireNoSecrets(t, err, env.logs.String(), allSecrets(env))
			// Message content stays out of the log (an error may carry
			// WeCom's errmsg, which is WeCom's text).
			requireNoSecrets(t, nil, env.logs.String(), []string{confidential})
		})
	}
}

func TestNoSecretInGettokenErrors(t *testing.T) {
	secret := testSecrets[AppMessages]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, fmt.Sprintf(`{"errcode":40001,"errmsg":"invalid credential: %s, corpsecret=%s, %s"}`,
			secret, r.URL.Query().Get("corpsecret"), r.URL.RawQuery))
	}))
	defer srv.Close()
	env := newTestEnv(t, func(c *ClientConfig) { c.BaseURL = srv.URL })
	err := sendConfidential(env.c)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != CodeInvalidSecret {
		t.Fatalf("err = %v, want gettoken's 40001", err)
	}
	requireNoSecrets(t, err, env.logs.String(), allSecrets(env))
}

func TestSuccessfulCallsLogNoSecrets(t *testing.T) {
	env := newTestEnv(t)
	if err := sendConfidential(env.c); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.PermitUsers(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	requireNoSecrets(t, nil, env.logs.String(), append(allSecrets(env), confidential))
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in string
		values   []string
		want     string
	}{
		{"url query", `Get "https://q/cgi-bin/user/get?access_token=abc-123&userid=u": EOF`, nil,
			`Get "https://q/cgi-bin/user/get?access_token=REDACTED&userid=u": EOF`},
		{"gettoken url", `Get "https://q/cgi-bin/gettoken?corpid=ww1&corpsecret=s%2Bx": EOF`, nil,
			`Get "https://q/cgi-bin/gettoken?corpid=ww1&corpsecret=REDACTED": EOF`},
		{"last parameter", "x?userid=u&access_token=abc", nil, "x?userid=u&access_token=REDACTED"},
		{"upper case", "ACCESS_TOKEN=abc", nil, "ACCESS_TOKEN=REDACTED"},
		{"literal value", "token abcdef in text", []string{"abcdef"}, "token REDACTED in text"},
		{"escaped value", "v=a%2Bb%2Fcdef", []string{"a+b/cdef"}, "v=REDACTED"},
		{"short values are not scrubbed", "a b c", []string{"a", ""}, "a b c"},
		{"no secret", "plain text", []string{"abcdef"}, "plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in, tt.values...); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
