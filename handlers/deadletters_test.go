package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// secretText is message text in a dead letter's payload: it must never
// leave the store through the API, its logs or the audit log.
const secretText = "工资条 2026-11 张三 ¥23,456"

// kill puts an event with secretText in its payload into the dead
// letters and returns the dead letter's id.
func (e *env) kill(key string) string {
	e.t.Helper()
	ctx := e.t.Context()
	ev := store.Event{DedupKey: key, Kind: "text", Receiver: path, ReceivedAt: e.now,
		Payload: []byte("<xml><Content><![CDATA[" + secretText + "]]></Content></xml>")}
	if _, err := e.store.Enqueue(ctx, ev); err != nil {
		e.t.Fatal(err)
	}
	for {
		ds, err := e.store.Claim(ctx, "test", 1, 0)
		if err != nil || len(ds) != 1 {
			e.t.Fatalf("Claim = %v, %v", ds, err)
		}
		dead, err := e.store.Fail(ctx, ds[0].Receipt, "decode: unexpected element", 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if dead {
			return ds[0].ID
		}
	}
}

func (e *env) adminAs(method, target, actor string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	if actor != "" {
		req.Header.Set(ActorHeader, actor)
	}
	return e.do(req)
}

type deadLetterList struct {
	DeadLetters []deadLetterView `json:"dead_letters"`
	NextCursor  string           `json:"next_cursor"`
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
	return v
}

// TestDeadLettersAPI: the dead letters are listed a page at a time, one
// is shown by id, retried (202: queued again as a new entry, the event
// as it was) and dropped (200: gone), each retry and drop in the audit
// log with who asked; unknown ids are 404; the payload (message text)
// is never in an answer, a log line or the audit log.
func TestDeadLettersAPI(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, now)
	ctx := t.Context()
	first, second := e.kill("msg-1"), e.kill("msg-2")
	var bodies []string
	answer := func(rec *httptest.ResponseRecorder, want int, what string) *httptest.ResponseRecorder {
		t.Helper()
		if rec.Code != want {
			t.Fatalf("%s: %d %s, want %d", what, rec.Code, rec.Body.String(), want)
		}
		bodies = append(bodies, rec.Body.String())
		return rec
	}

	page1 := decode[deadLetterList](t, answer(e.admin("/api/v1/dead-letters?limit=1"), 200, "list"))
	if len(page1.DeadLetters) != 1 || page1.NextCursor == "" {
		t.Fatalf("first page = %+v, want one letter and a cursor", page1)
	}
	d := page1.DeadLetters[0]
	want := deadLetterView{ID: first, Kind: "text", DedupKey: "msg-1", Receiver: path, ReceivedAt: now, Attempts: 5,
		LastError: "decode: unexpected element", DiedAt: d.DiedAt, PayloadBytes: len("<xml><Content><![CDATA[" + secretText + "]]></Content></xml>")}
	if d != want || d.DiedAt.IsZero() {
		t.Errorf("dead letter = %+v, want %+v", d, want)
	}
	page2 := decode[deadLetterList](t, answer(e.admin("/api/v1/dead-letters?limit=1&cursor="+page1.NextCursor), 200, "page 2"))
	if len(page2.DeadLetters) != 1 || page2.DeadLetters[0].ID != second || page2.NextCursor != "" {
		t.Errorf("second page = %+v, want %s and no cursor", page2, second)
	}
	if rec := e.admin("/api/v1/dead-letters?limit=0"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "limit:") {
		t.Errorf("limit 0: %d %s", rec.Code, rec.Body.String())
	}
	if rec := e.admin("/api/v1/dead-letters?cursor=bogus"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "cursor:") {
		t.Errorf("a bad cursor: %d %s", rec.Code, rec.Body.String())
	}
	one := decode[struct {
		DeadLetter deadLetterView `json:"dead_letter"`
	}](t, answer(e.admin("/api/v1/dead-letters/"+first), 200, "get"))
	if one.DeadLetter != d {
		t.Errorf("GET one = %+v, want %+v", one.DeadLetter, d)
	}
	for _, rec := range []*httptest.ResponseRecorder{
		e.admin("/api/v1/dead-letters/999"),
		e.adminAs(http.MethodPost, "/api/v1/dead-letters/999/retry", ""),
		e.adminAs(http.MethodDelete, "/api/v1/dead-letters/999", ""),
	} {
		if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"field":"id"`) {
			t.Errorf("an unknown id: %d %s, want 404 naming id", rec.Code, rec.Body.String())
		}
	}
	// A bad actor header changes nothing.
	if rec := e.adminAs(http.MethodPost, "/api/v1/dead-letters/"+first+"/retry", strings.Repeat("x", 200)); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), `"field":"X-Wecomply-Actor"`) {
		t.Errorf("a long actor: %d %s, want 400 naming the header", rec.Code, rec.Body.String())
	}
	if rec := e.do(httptest.NewRequest(http.MethodPost, "/api/v1/dead-letters/"+first+"/retry", nil)); rec.Code != 401 {
		t.Errorf("without a token: %d", rec.Code)
	}
	if st, _ := e.store.QueueStats(ctx); st.Dead != 2 || st.Ready != 0 {
		t.Fatalf("refused requests changed the queue: %+v", st)
	}

	retried := decode[struct {
		Retried deadLetterView `json:"retried"`
		EntryID string         `json:"entry_id"`
	}](t, answer(e.adminAs(http.MethodPost, "/api/v1/dead-letters/"+first+"/retry", "王芳 (compliance)"), 202, "retry"))
	if retried.Retried != d || retried.EntryID == "" || retried.EntryID == first {
		t.Errorf("retry answered %+v", retried)
	}
	answer(e.adminAs(http.MethodPost, "/api/v1/dead-letters/"+first+"/retry", "王芳 (compliance)"), 404, "retry again")
	ds := e.queued()
	if len(ds) != 1 || ds[0].ID != retried.EntryID || ds[0].DedupKey != "msg-1" || ds[0].Attempts != 0 || !strings.Contains(string(ds[0].Payload), secretText) {
		t.Fatalf("queued after the retry: %+v", ds)
	}
	dropped := decode[struct {
		Dropped deadLetterView `json:"dropped"`
	}](t, answer(e.adminAs(http.MethodDelete, "/api/v1/dead-letters/"+second, ""), 200, "drop"))
	if dropped.Dropped.ID != second || dropped.Dropped.DedupKey != "msg-2" {
		t.Errorf("drop answered %+v", dropped)
	}
	answer(e.adminAs(http.MethodDelete, "/api/v1/dead-letters/"+second, ""), 404, "drop again")
	if list := decode[deadLetterList](t, answer(e.admin("/api/v1/dead-letters"), 200, "list")); len(list.DeadLetters) != 0 {
		t.Errorf("dead letters left: %+v", list.DeadLetters)
	}

	entries, err := e.store.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		got = append(got, a.Kind+" "+a.Subject)
		if strings.Contains(string(a.Data), secretText) || strings.Contains(string(a.Data), "CDATA") {
			t.Errorf("audit entry %s holds the payload: %s", a.ID, a.Data)
		}
	}
	if want := []string{"dead_letter.retry " + first, "dead_letter.drop " + second}; !slices.Equal(got, want) {
		t.Fatalf("audit = %v, want %v (one entry each, the refused and repeated requests none)", got, want)
	}
	var data store.DeadLetterAudit
	if err := json.Unmarshal(entries[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.ID != first || data.DedupKey != "msg-1" || data.Kind != "text" || data.Via != "api" || data.Actor != "王芳 (compliance)" ||
		data.Action != store.DeadLetterRetry || data.Attempts != 5 || !entries[0].At.Equal(now) {
		t.Errorf("retry audit = %+v at %v", data, entries[0].At)
	}
	data = store.DeadLetterAudit{}
	if err := json.Unmarshal(entries[1].Data, &data); err != nil || data.Actor != "" || data.Via != "api" {
		t.Errorf("drop audit = %+v, %v; want via api, no actor", data, err)
	}
	if rep, err := e.store.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
	for _, b := range append(bodies, e.logs.String()) {
		if strings.Contains(b, secretText) || strings.Contains(b, `"payload"`) {
			t.Errorf("the payload left the store: %s", b)
		}
	}
}
