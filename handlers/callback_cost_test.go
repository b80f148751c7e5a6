package handlers

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestQueryOfMatchesURLValues checks queryOf against url.ParseQuery and
// Values.Get, which it replaces on the callback path.
func TestQueryOfMatchesURLValues(t *testing.T) {
	for _, raw := range []string{
		"",
		"msg_signature=abc&timestamp=123&nonce=n1",
		"nonce=n1&timestamp=123&msg_signature=abc&other=x",
		"msg_signature=a%2Bb&timestamp=1+2&nonce=%E4%B8%AD",
		"msg_signature=first&msg_signature=second",
		"msg_signature=%zz&msg_signature=good",
		"msg_signature=a;b&msg_signature=c",
		"msg%5Fsignature=escaped-key&timestamp",
		"timestamp=&nonce",
		"&&msg_signature=x&&",
		"msg_signature=a=b",
	} {
		q := queryOf(raw)
		v, _ := url.ParseQuery(raw)
		if want := (callbackQuery{v.Get("msg_signature"), v.Get("timestamp"), v.Get("nonce")}); q != want {
			t.Errorf("%q: got %+v, want %+v", raw, q, want)
		}
	}
}

// logRecords returns the "callback" records of a JSON log.
func logRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "callback" {
			out = append(out, rec)
		}
	}
	return out
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestCallbackLogRecords pins what a callback logs: the same keys as
// before the attributes were built only for an enabled level, and nothing
// at all when the level is off.
func TestCallbackLogRecords(t *testing.T) {
	now := time.Now()
	ok := func(t *testing.T, e *env) {
		e.post(path, build(t, wecomtest.EventSpec{Kind: "change_contact.delete_user", CorpID: k1CorpID, UserID: "u1", CreateTime: now.Unix()}))
	}
	forged := func(t *testing.T, e *env) {
		e.do(httptest.NewRequest(http.MethodPost, path+"?msg_signature=x&timestamp=1&nonce=1", strings.NewReader("<xml><Encrypt>AAAA</Encrypt></xml>")))
	}
	t.Run("debug: a 200 and a 403, with their fields", func(t *testing.T) {
		e := newEnv(t, now)
		ok(t, e)
		forged(t, e)
		recs := logRecords(t, e.logs.String())
		if len(recs) != 2 {
			t.Fatalf("%d callback records, want 2:\n%s", len(recs), e.logs.String())
		}
		base := []string{"kind", "level", "method", "msg", "receiver", "remote", "status", "time"}
		if got := keys(recs[0]); !slices.Equal(got, base) {
			t.Errorf("200 record keys %q, want %q", got, base)
		}
		if recs[0]["level"] != "DEBUG" || recs[0]["status"] != float64(200) || recs[0]["kind"] != "change_contact.delete_user" || recs[0]["receiver"] != "app" {
			t.Errorf("200 record %v", recs[0])
		}
		withReason := append([]string{"err", "reason"}, base...)
		slices.Sort(withReason)
		if got := keys(recs[1]); !slices.Equal(got, withReason) {
			t.Errorf("403 record keys %q, want %q", got, withReason)
		}
		if recs[1]["level"] != "WARN" || recs[1]["status"] != float64(403) || recs[1]["kind"] != "none" || recs[1]["reason"] != "bad signature" {
			t.Errorf("403 record %v", recs[1])
		}
	})
	t.Run("warn: the 200 is not logged, the 403 is", func(t *testing.T) {
		logs := &syncBuffer{}
		e := newEnv(t, now, func(o *Options) {
			o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		})
		ok(t, e)
		forged(t, e)
		recs := logRecords(t, logs.String())
		if len(recs) != 1 || recs[0]["status"] != float64(403) {
			t.Fatalf("records %v, want the 403 only", recs)
		}
	})
}

// TestCallbackCountersPerReceiver checks the cached counters: repeated
// outcomes add up, and the baseline route keeps its own receiver label.
func TestCallbackCountersPerReceiver(t *testing.T) {
	now := time.Now()
	e := newEnv(t, now, func(o *Options) { o.BaselineRoute = true })
	for i := range 3 {
		spec := wecomtest.EventSpec{Kind: "change_contact.delete_user", CorpID: k1CorpID, UserID: "u" + string(rune('a'+i)), CreateTime: now.Unix()}
		e.post(path, build(t, spec))
		e.post(path+"/baseline", build(t, spec))
	}
	e.post(path+"/baseline", build(t, wecomtest.EventSpec{Kind: "text", CorpID: k1CorpID, UserID: "u", Content: "hi", CreateTime: now.Unix()}))
	body := e.do(httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
	for _, want := range []string{
		`wecomply_callbacks_total{kind="change_contact.delete_user",receiver="app",status="200"} 3`,
		`wecomply_callbacks_total{kind="change_contact.delete_user",receiver="app/baseline",status="200"} 3`,
		`wecomply_callbacks_total{kind="text",receiver="app/baseline",status="200"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
