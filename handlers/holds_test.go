package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

func (e *env) adminDo(method, target, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminTok)
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

func TestHoldsValidation(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, now)
	for _, tt := range []struct {
		name, body, field, want string
	}{
		{"no subject", `{"reason":"case 17"}`, "subject", "subject: is required"},
		{"no reason", `{"subject":"zhangsan"}`, "reason", "reason: is required"},
		{"subject not a string", `{"subject":17,"reason":"r"}`, "subject", "subject: must be a string"},
		{"expiry not a time", `{"subject":"u","reason":"r","expires_at":"next week"}`, "expires_at", "RFC 3339"},
		{"expiry in the past", `{"subject":"u","reason":"r","expires_at":"2026-11-01T00:00:00Z"}`, "expires_at", "must be in the future"},
		{"subject too long", `{"subject":"` + strings.Repeat("x", 300) + `","reason":"r"}`, "subject", "longer than 256"},
		{"unknown field", `{"subject":"u","reason":"r","scope":"all"}`, "scope", "scope: is not a field of a hold"},
		{"not json", `subject=u`, "", "body:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.adminDo(http.MethodPost, "/api/v1/holds", tt.body)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("got %d %s, want 400 …%s…", rec.Code, rec.Body.String(), tt.want)
			}
			var got struct{ Field string }
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Field != tt.field {
				t.Errorf("field = %q (%v), want %q", got.Field, err, tt.field)
			}
		})
	}
	if hs, _ := e.store.ListHolds(t.Context()); len(hs) != 0 {
		t.Errorf("bad requests stored holds: %+v", hs)
	}
	if rec := e.do(httptest.NewRequest(http.MethodPost, "/api/v1/holds", strings.NewReader(`{"subject":"u","reason":"r"}`))); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", rec.Code)
	}
}

func TestHoldsLifecycleIsAudited(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, now)
	body := `{"id":"case-17","subject":"zhangsan","reason":"labour arbitration 2026-17","created_by":"legal@corp","expires_at":"2027-06-30T00:00:00+08:00"}`
	rec := e.adminDo(http.MethodPost, "/api/v1/holds", body)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"active":true`) {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	// A retry of the same request: 200, one hold, one audit entry.
	if rec := e.adminDo(http.MethodPost, "/api/v1/holds", body); rec.Code != http.StatusOK {
		t.Fatalf("retry: %d %s", rec.Code, rec.Body.String())
	}
	if rec := e.adminDo(http.MethodPost, "/api/v1/holds", `{"id":"case-17","subject":"lisi","reason":"other"}`); rec.Code != http.StatusConflict {
		t.Errorf("another hold with the same id: %d %s", rec.Code, rec.Body.String())
	}
	// Without an id one is made.
	rec = e.adminDo(http.MethodPost, "/api/v1/holds", `{"subject":"wmEXT","reason":"regulator request 9"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"id":"hold-`) {
		t.Fatalf("create without id: %d %s", rec.Code, rec.Body.String())
	}

	rec = e.admin("/api/v1/holds")
	var list struct{ Holds []holdView }
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Holds) != 2 || list.Holds[0].ID != "case-17" {
		t.Fatalf("list: %d %s", rec.Code, rec.Body.String())
	}
	if want := time.Date(2027, 6, 29, 16, 0, 0, 0, time.UTC); !list.Holds[0].ExpiresAt.Equal(want) || list.Holds[0].CreatedBy != "legal@corp" {
		t.Errorf("listed hold = %+v", list.Holds[0])
	}

	if rec := e.adminAs(http.MethodDelete, "/api/v1/holds/case-17", "王芳 (compliance)"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"zhangsan"`) {
		t.Fatalf("release: %d %s", rec.Code, rec.Body.String())
	}
	if rec := e.adminDo(http.MethodDelete, "/api/v1/holds/case-17", ""); rec.Code != http.StatusNotFound {
		t.Errorf("release again: %d %s", rec.Code, rec.Body.String())
	}

	entries, err := e.store.ListAudit(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, en := range entries {
		kinds = append(kinds, en.Kind+" "+en.Subject)
	}
	want := []string{"hold.create zhangsan", "hold.create wmEXT", "hold.release zhangsan"}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("audit = %v, want %v", kinds, want)
	}
	// The entries hold the hold's fields and who asked (the actor header, if sent).
	var h store.HoldAudit
	if err := json.Unmarshal(entries[2].Data, &h); err != nil || h.ID != "case-17" || h.Reason != "labour arbitration 2026-17" ||
		h.Via != "api" || h.Actor != "王芳 (compliance)" {
		t.Errorf("release entry data = %s (%v)", entries[2].Data, err)
	}
	var c store.HoldAudit
	if err := json.Unmarshal(entries[0].Data, &c); err != nil || c.ID != "case-17" || c.Via != "api" || c.Actor != "" {
		t.Errorf("create entry data = %s (%v)", entries[0].Data, err)
	}
	rep, err := e.store.VerifyAudit(t.Context())
	if err != nil || !rep.OK {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
}

// TestHoldsRetryMustMatch: a POST with the id of a stored hold is a retry
// (200, the stored hold) only when it asks for that hold; any other field
// that differs makes it a different hold (409), not a silent 200 with the
// old values.
func TestHoldsRetryMustMatch(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, now)
	const first = `{"id":"case-17","subject":"zhangsan","reason":"case 17","created_by":"legal@corp","expires_at":"2027-06-30T00:00:00+08:00"}`
	if rec := e.adminDo(http.MethodPost, "/api/v1/holds", first); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	for _, tt := range []struct {
		name, body string
		status     int
	}{
		{"the same request", first, http.StatusOK},
		// The same instant written in UTC is the same expiry.
		{"the same expiry in UTC", `{"id":"case-17","subject":"zhangsan","reason":"case 17","created_by":"legal@corp","expires_at":"2027-06-29T16:00:00Z"}`, http.StatusOK},
		{"another subject", `{"id":"case-17","subject":"lisi","reason":"case 17","created_by":"legal@corp","expires_at":"2027-06-30T00:00:00+08:00"}`, http.StatusConflict},
		{"another reason", `{"id":"case-17","subject":"zhangsan","reason":"case 18","created_by":"legal@corp","expires_at":"2027-06-30T00:00:00+08:00"}`, http.StatusConflict},
		{"another creator", `{"id":"case-17","subject":"zhangsan","reason":"case 17","created_by":"hr@corp","expires_at":"2027-06-30T00:00:00+08:00"}`, http.StatusConflict},
		{"no creator", `{"id":"case-17","subject":"zhangsan","reason":"case 17","expires_at":"2027-06-30T00:00:00+08:00"}`, http.StatusConflict},
		{"another expiry", `{"id":"case-17","subject":"zhangsan","reason":"case 17","created_by":"legal@corp","expires_at":"2027-12-31T00:00:00+08:00"}`, http.StatusConflict},
		{"no expiry", `{"id":"case-17","subject":"zhangsan","reason":"case 17","created_by":"legal@corp"}`, http.StatusConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.adminDo(http.MethodPost, "/api/v1/holds", tt.body)
			if rec.Code != tt.status {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body.String(), tt.status)
			}
			if tt.status == http.StatusConflict && !strings.Contains(rec.Body.String(), `"field":"id"`) {
				t.Errorf("409 without the field: %s", rec.Body.String())
			}
		})
	}
	h, err := e.store.GetHold(t.Context(), "case-17")
	if err != nil || h.Subject != "zhangsan" || h.Reason != "case 17" || h.CreatedBy != "legal@corp" ||
		!h.ExpiresAt.Equal(time.Date(2027, 6, 29, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("stored hold = %+v, %v; want the first request's", h, err)
	}
	if entries, err := e.store.ListAudit(t.Context(), 0, 100); err != nil || len(entries) != 1 {
		t.Errorf("audit: %d entries (%v), want the creation's only", len(entries), err)
	}
}

// FuzzCreateHold: whatever the body, POST /api/v1/holds answers 201, 200,
// 400 or 409 (never a panic or a 5xx), a 400 or 409 says what is wrong,
// the hold a 201 or 200 answers with is the one stored under its id, and
// a 200 (a retry) comes only for an id that was stored before the request,
// a 201 only for one that was not.
func FuzzCreateHold(f *testing.F) {
	for _, s := range []string{
		`{"subject":"zhangsan","reason":"case 17"}`,
		`{"id":"case-17","subject":"zhangsan","reason":"r","created_by":"legal","expires_at":"2027-06-30T00:00:00+08:00"}`,
		`{"subject":17}`, `{"expires_at":"x"}`, `{"subject":"\xff","reason":"r"}`, `[]`, `{"a":1}`, ``, `{"id":""}`,
	} {
		f.Add(s)
	}
	// Each request is a second after the one before, so a retry that
	// answered with the request instead of the stored hold would show in
	// created_at.
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var ticks atomic.Int64
	e := newEnv(f, start, func(o *Options) {
		o.Now = func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }
	})
	// existed holds the ids of the holds stored so far: the fuzz target is
	// the only writer to e.store, and it stores a hold only with a 201.
	existed := map[string]bool{}
	f.Fuzz(func(t *testing.T, body string) {
		// Each body is sent twice: a body with an id is then a retry.
		for range 2 {
			// e.do would call the F's Helper inside the fuzz target.
			req := httptest.NewRequest(http.MethodPost, "/api/v1/holds", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminTok)
			rec := httptest.NewRecorder()
			e.engine.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusCreated, http.StatusOK:
				var got struct{ Hold store.Hold }
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("%d with a body that is no hold: %s", rec.Code, rec.Body.String())
				}
				stored, err := e.store.GetHold(t.Context(), got.Hold.ID)
				if err != nil {
					t.Fatalf("%d for hold %q, but GetHold: %v", rec.Code, got.Hold.ID, err)
				}
				if !equalHolds(stored, got.Hold) {
					t.Fatalf("%d answered with %+v, but the stored hold is %+v", rec.Code, got.Hold, stored)
				}
				if retry := rec.Code == http.StatusOK; retry != existed[got.Hold.ID] {
					t.Fatalf("%d for hold %q; it existed before the request: %v", rec.Code, got.Hold.ID, existed[got.Hold.ID])
				}
				existed[got.Hold.ID] = true
			case http.StatusBadRequest, http.StatusConflict:
				if !strings.Contains(rec.Body.String(), `"error":`) {
					t.Fatalf("%d without an error: %s", rec.Code, rec.Body.String())
				}
			default:
				t.Fatalf("body %q: %d %s", body, rec.Code, rec.Body.String())
			}
		}
	})
}

// equalHolds reports whether a and b are the same hold, times compared
// as instants (a hold read back from JSON has lost its monotonic clock).
func equalHolds(a, b store.Hold) bool {
	return a.ID == b.ID && a.Subject == b.Subject && a.Reason == b.Reason && a.CreatedBy == b.CreatedBy &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// TestHoldsActorChecked: an actor header that is not printable text is
// refused, naming it, and nothing is placed or released.
func TestHoldsActorChecked(t *testing.T) {
	e := newEnv(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	if rec := e.actorDo(http.MethodPost, "/api/v1/holds", "bad\x01actor", `{"id":"case-17","subject":"zhangsan","reason":"r"}`); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `"field":"X-Wecomply-Actor"`) {
		t.Errorf("place with a bad actor: %d %s", rec.Code, rec.Body.String())
	}
	if hs, err := e.store.ListHolds(t.Context()); err != nil || len(hs) != 0 {
		t.Fatalf("holds after a refused place: %v, %v", hs, err)
	}
	if rec := e.adminDo(http.MethodPost, "/api/v1/holds", `{"id":"case-17","subject":"zhangsan","reason":"r"}`); rec.Code != http.StatusCreated {
		t.Fatalf("place: %d %s", rec.Code, rec.Body.String())
	}
	if rec := e.actorDo(http.MethodDelete, "/api/v1/holds/case-17", "bad\x01actor", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("release with a bad actor: %d %s", rec.Code, rec.Body.String())
	}
	if hs, err := e.store.ListHolds(t.Context()); err != nil || len(hs) != 1 {
		t.Errorf("holds after a refused release: %v, %v", hs, err)
	}
}
