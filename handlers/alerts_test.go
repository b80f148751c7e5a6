package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/store"
)

func (e *env) actorDo(method, target, actor, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminTok)
	req.Header.Set("Content-Type", "application/json")
	if actor != "" {
		req.Header.Set(ActorHeader, actor)
	}
	return e.do(req)
}

// testAlerts are n open alerts on messages m0, m1, …, raised a second
// apart from now on.
func testAlerts(now time.Time, n int) []store.Alert {
	var as []store.Alert
	for i := range n {
		msg := "m" + itoa(int64(i))
		as = append(as, store.Alert{ID: store.AlertID(msg, "guaranteed-returns", "v1"), RuleID: "guaranteed-returns", RuleVersion: "v1",
			Kind: "lexicon", Severity: "high", Action: "alert", MsgID: msg, ConversationID: "single:a|b", Sender: "zhangsan",
			MsgTime: now.Add(-time.Hour), Start: 0, End: 15, State: store.AlertOpen, RaisedAt: now.Add(time.Duration(i) * time.Second)})
	}
	return as
}

// raiseTestAlerts raises testAlerts in e's store, audited as the
// processor raises them.
func raiseTestAlerts(t *testing.T, e *env, now time.Time, n int) []store.Alert {
	t.Helper()
	as := testAlerts(now, n)
	if _, err := store.RaiseAudited(t.Context(), e.store, as); err != nil {
		t.Fatal(err)
	}
	return as
}

// The alerts API lists by state with paging, shows one alert, and takes
// an officer's decision once, audited; bad requests name the field.
func TestAlertsAPI(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, now)
	as := raiseTestAlerts(t, e, now, 3)

	var page struct {
		Alerts []store.Alert `json:"alerts"`
		Next   string        `json:"next_cursor"`
	}
	rec := e.admin("/api/v1/alerts?limit=2")
	if err := json.Unmarshal(rec.Body.Bytes(), &page); rec.Code != 200 || err != nil || len(page.Alerts) != 2 || page.Next == "" {
		t.Fatalf("first page: %d %s", rec.Code, rec.Body.String())
	}
	rec = e.admin("/api/v1/alerts?state=open&limit=2&cursor=" + page.Next)
	if err := json.Unmarshal(rec.Body.Bytes(), &page); rec.Code != 200 || err != nil || len(page.Alerts) != 1 || page.Next != "" || page.Alerts[0].ID != as[2].ID {
		t.Fatalf("second page: %d %s", rec.Code, rec.Body.String())
	}
	for _, tc := range []struct{ name, target, want string }{
		{"bad state", "/api/v1/alerts?state=closed", `"field":"state"`},
		{"bad limit", "/api/v1/alerts?limit=0", `"field":"limit"`},
		{"bad cursor", "/api/v1/alerts?cursor=zzz", `"field":"cursor"`},
	} {
		if rec := e.admin(tc.target); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want 400 …%s…", tc.name, rec.Code, rec.Body.String(), tc.want)
		}
	}
	if rec := e.admin("/api/v1/alerts/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown alert: %d", rec.Code)
	}
	rec = e.admin("/api/v1/alerts/" + as[0].ID)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"rule_id":"guaranteed-returns"`) || strings.Contains(rec.Body.String(), "context_error") {
		t.Errorf("get alert: %d %s", rec.Code, rec.Body.String())
	}

	path := "/api/v1/alerts/" + as[0].ID + "/decision"
	steps := []struct {
		name, actor, body string
		code              int
		want              string
	}{
		{"no actor", "", `{"decision":"confirmed"}`, 400, `"field":"X-Wecomply-Actor"`},
		{"bad decision", "王芳", `{"decision":"escalated"}`, 400, `"field":"decision"`},
		{"unknown field", "王芳", `{"decision":"confirmed","by":"x"}`, 400, `"field":"by"`},
		{"note too long", "王芳", `{"decision":"confirmed","note":"` + strings.Repeat("x", 3000) + `"}`, 400, `"field":"note"`},
		{"unknown alert", "王芳", `{"decision":"confirmed"}`, 0, ""},
		{"decided", "王芳", `{"decision":"false_positive","note":"客户原话"}`, 200, `"changed":true`},
		{"same again", "李四", `{"decision":"false_positive"}`, 200, `"changed":false`},
		{"otherwise", "李四", `{"decision":"confirmed"}`, 409, `"field":"decision"`},
	}
	for _, st := range steps {
		target := path
		if st.name == "unknown alert" {
			target, st.code = "/api/v1/alerts/nope/decision", 404
		}
		rec := e.actorDo(http.MethodPost, target, st.actor, st.body)
		if rec.Code != st.code || !strings.Contains(rec.Body.String(), st.want) {
			t.Errorf("%s: %d %s, want %d …%s…", st.name, rec.Code, rec.Body.String(), st.code, st.want)
		}
	}
	got, err := e.store.GetAlert(t.Context(), as[0].ID)
	if err != nil || got.State != store.AlertFalsePositive || got.DecidedBy != "王芳" || !got.DecidedAt.Equal(now) || got.Note != "客户原话" {
		t.Errorf("alert = %+v, %v; want false_positive by 王芳 at %v", got, err, now)
	}
	rec = e.admin("/api/v1/alerts?state=false_positive")
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Alerts) != 1 {
		t.Errorf("false positives: %s", rec.Body.String())
	}
	rep, err := e.store.VerifyAudit(t.Context())
	if err != nil || !rep.OK || rep.Entries != 4 { // 3 raised, 1 decided
		t.Errorf("audit = %+v, %v; want 4 entries, verified", rep, err)
	}
}

// GET /api/v1/alerts/:id with an archive shows the matched text, the
// message and [rules] context_before/after messages of its conversation
// (the populated env's archive answers every search with m1).
func TestAlertContext(t *testing.T) {
	p := newPopulated(t)
	rec := p.do(apiCall{"GET", "/api/v1/alerts/:id", "/api/v1/alerts/" + p.alert, ""})
	var v struct {
		Alert   store.Alert `json:"alert"`
		Match   string      `json:"match"`
		Message *struct {
			MsgID string `json:"msgid"`
		} `json:"message"`
		Before       []json.RawMessage `json:"context_before"`
		After        []json.RawMessage `json:"context_after"`
		ContextError string            `json:"context_error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body.String(), err)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"alert", v.Alert.ID == p.alert && v.Alert.State == store.AlertOpen},
		{"match", v.Match == "你好"},
		{"message", v.Message != nil && v.Message.MsgID == "m1"},
		{"context", len(v.Before) == 1 && len(v.After) == 1},
		{"no context error", v.ContextError == ""},
	} {
		if !c.ok {
			t.Errorf("%s wrong in %s", c.name, rec.Body.String())
		}
	}
}

// actorArchive is an archiveFunc that records the actor of every search:
// the name archive.Archive.Search audits the search under.
type actorArchive struct {
	archiveFunc
	actors []string
}

func (a *actorArchive) Search(ctx context.Context, actor string, q archive.SearchQuery) ([]archive.Result, string, error) {
	a.actors = append(a.actors, actor)
	return a.archiveFunc.Search(ctx, actor, q)
}

// GET /api/v1/alerts/:id reads the archive in the request's actor's
// name, and in "api"'s when no ActorHeader names anyone, as the archive
// routes do: the archive's audit entries never have a blank actor.
func TestAlertContextActor(t *testing.T) {
	for _, c := range []struct {
		name, header, want string
	}{
		{"named", "王芳", "王芳"},
		{"no actor header", "", "api"},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
			ar := &actorArchive{}
			e := newEnv(t, now, func(o *Options) {
				o.Archive = ar
				o.AlertContext = AlertContext{Before: 1, After: 1}
			})
			as := raiseTestAlerts(t, e, now, 1)
			rec := e.actorDo(http.MethodGet, "/api/v1/alerts/"+as[0].ID, c.header, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			// The message, the context before and after.
			if len(ar.actors) != 3 {
				t.Fatalf("searches as %q; want 3", ar.actors)
			}
			for _, got := range ar.actors {
				if got != c.want {
					t.Errorf("searched as %q; want %q", got, c.want)
				}
			}
		})
	}
}
