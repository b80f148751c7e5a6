package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/store"
)

// submitFunc is a hand-written Submitter.
type submitFunc func(context.Context, notify.Notice) (notify.Submitted, error)

func (f submitFunc) Submit(ctx context.Context, n notify.Notice) (notify.Submitted, error) {
	return f(ctx, n)
}

func TestSendsAPI(t *testing.T) {
	var got notify.Notice
	sub := submitFunc(func(_ context.Context, n notify.Notice) (notify.Submitted, error) {
		got = n
		switch n.Key {
		case "bad-template":
			return notify.Submitted{}, &notify.InvalidError{Key: n.Key, Err: errors.New(`no template "x"`)}
		case "store-down":
			return notify.Submitted{}, errors.New("store: closed")
		}
		return notify.Submitted{ContentHash: "abc", Recipients: len(n.To)}, nil
	})
	e := newEnv(t, time.Now(), func(o *Options) { o.Notify = sub })
	post := func(body string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sends", strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer "+adminTok)
		}
		return e.do(req)
	}
	tests := []struct {
		name, body string
		auth       bool
		status     int
		want       string
	}{
		{"accepted", `{"key":"k:v1","template":"reminder","lang":"en","data":{"Title":"T"},"to":["a","b"]}`, true, 202, `"recipients":2`},
		{"no token", `{"key":"k:v1","template":"reminder","lang":"en","to":["a"]}`, false, 401, "bearer"},
		{"missing fields", `{"template":"reminder"}`, true, 400, `"fields"`},
		{"unknown field", `{"key":"k","template":"t","lang":"en","to":["a"],"too":["b"]}`, true, 400, "unknown field"},
		{"not JSON", `key=k`, true, 400, "body"},
		{"to not a list", `{"key":"k","template":"t","lang":"en","to":"a"}`, true, 400, `"field":"to"`},
		{"deadline not a time", `{"key":"k","template":"t","lang":"en","to":["a"],"deadline":"friday"}`, true, 400, `"field":"deadline"`},
		{"invalid notice", `{"key":"bad-template","template":"x","lang":"en","to":["a"]}`, true, 400, "no template"},
		{"store down", `{"key":"store-down","template":"x","lang":"en","to":["a"]}`, true, 503, "store unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(tt.body, tt.auth)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %s, want %d …%s…", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
		})
	}
	if got.Key != "store-down" || got.Template != "x" {
		t.Errorf("the notice handed to notify: %+v", got)
	}

	// Results: read back per recipient, with counts.
	ctx := context.Background()
	err := e.store.PutSendResults(ctx, []store.RecipientResult{
		{NoticeKey: "k:v1", UserID: "a", Status: store.StatusSent, MsgID: "m1", At: time.Now()},
		{NoticeKey: "k:v1", UserID: "b", Status: store.StatusInvalid, At: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.admin("/api/v1/sends/k:v1")
	var body struct {
		Counts  map[string]int          `json:"counts"`
		Results []store.RecipientResult `json:"results"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s %v", rec.Code, rec.Body.String(), err)
	}
	if body.Counts["sent"] != 1 || body.Counts["invalid"] != 1 || len(body.Results) != 2 || body.Results[0].MsgID != "m1" {
		t.Errorf("results %+v", body)
	}
	if rec := e.admin("/api/v1/sends/nothing"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"results":[]`) {
		t.Errorf("unknown key: %d %s", rec.Code, rec.Body.String())
	}
}
