package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

func alert(msgID, ruleID, version string, raisedAt time.Time) store.Alert {
	return store.Alert{
		ID: store.AlertID(msgID, ruleID, version), RuleID: ruleID, RuleVersion: version,
		Kind: "lexicon", Severity: "high", Action: "alert",
		MsgID: msgID, ConversationID: "zhangsan|wmCUSTOMER", Sender: "zhangsan",
		MsgTime: raisedAt.Add(-time.Minute), Start: 3, End: 12,
		State: store.AlertOpen, RaisedAt: raisedAt,
	}
}

func alertIDs(as []store.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.MsgID
	}
	return out
}

func listAllAlerts(t *testing.T, s store.Store, state store.AlertState, limit int) []store.Alert {
	t.Helper()
	var out []store.Alert
	p := store.Page{Limit: limit}
	for range 100 {
		items, next, err := s.ListAlerts(t.Context(), state, p)
		if err != nil {
			t.Fatalf("ListAlerts(%s, %+v): %v", state, p, err)
		}
		if len(items) > p.Size() {
			t.Fatalf("ListAlerts(%s) returned %d items, limit %d", state, len(items), p.Size())
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
	t.Fatal("ListAlerts never ended")
	return nil
}

// testAlertsRaiseIsIdempotent: raising the same alerts again stores
// nothing new; Get returns them as raised; an alert is refused with the
// field at fault.
func testAlertsRaiseIsIdempotent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	_, err := s.GetAlert(ctx, store.AlertID("m", "r", "1"))
	wantNotFound(t, "GetAlert of none", err)
	if items := listAllAlerts(t, s, store.AlertOpen, 0); len(items) != 0 {
		t.Fatalf("ListAlerts of none = %v", alertIDs(items))
	}
	a1, a2 := alert("m1", "guarantee", "v1", baseTime), alert("m2", "pii", "v1", baseTime.Add(time.Second))
	raised, err := s.RaiseAlerts(ctx, []store.Alert{a1, a2})
	if err != nil || len(raised) != 2 {
		t.Fatalf("RaiseAlerts of new = %v, %v; want both", alertIDs(raised), err)
	}
	a3 := alert("m1", "guarantee", "v2", baseTime.Add(2*time.Second)) // a new rule version: a new alert
	raised, err = s.RaiseAlerts(ctx, []store.Alert{a1, a2, a3})
	if err != nil || len(raised) != 1 || raised[0].ID != a3.ID {
		t.Fatalf("RaiseAlerts again = %v, %v; want only the new version's", alertIDs(raised), err)
	}
	got, err := s.GetAlert(ctx, a1.ID)
	if err != nil {
		t.Fatalf("GetAlert: %v", err)
	}
	sameJSON(t, "GetAlert", got, a1)

	bad := []struct {
		name  string
		edit  func(*store.Alert)
		field string
	}{
		{"no msgid", func(a *store.Alert) { a.MsgID = "" }, "msgid"},
		{"id not derived", func(a *store.Alert) { a.ID = "x" }, "id"},
		{"end before start", func(a *store.Alert) { a.End = 1 }, "start"},
		{"not open", func(a *store.Alert) { a.State = store.AlertConfirmed }, "state"},
		{"no raise time", func(a *store.Alert) { a.RaisedAt = time.Time{} }, "raised_at"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			a := alert("m9", "r", "1", baseTime)
			tc.edit(&a)
			_, err := s.RaiseAlerts(ctx, []store.Alert{a})
			var ae *store.AlertError
			if !errors.As(err, &ae) || ae.Field != tc.field {
				t.Fatalf("RaiseAlerts = %v, want an AlertError on %s", err, tc.field)
			}
		})
	}
	if items := listAllAlerts(t, s, store.AlertOpen, 0); len(items) != 3 {
		t.Fatalf("open alerts after refused raises = %v, want 3", alertIDs(items))
	}
}

// testAlertsConcurrentRaiseOnce: of concurrent raises of one alert,
// exactly one reports it raised.
func testAlertsConcurrentRaiseOnce(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	a := alert("m1", "r", "1", baseTime)
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			raised, err := s.RaiseAlerts(t.Context(), []store.Alert{a})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			n += len(raised)
			mu.Unlock()
		})
	}
	wg.Wait()
	if n != 1 {
		t.Fatalf("concurrent raises reported %d raised, want 1", n)
	}
}

// testAlertsListPages: ListAlerts pages through a state oldest first with
// every page size, and refuses a foreign cursor.
func testAlertsListPages(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	var all []store.Alert
	var want []string
	for i := range 7 {
		a := alert(fmt.Sprintf("m%d", i), "r", "1", baseTime.Add(time.Duration(7-i)*time.Minute))
		all = append(all, a)
		want = append([]string{a.MsgID}, want...)
	}
	if _, err := s.RaiseAlerts(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 1, 2, 3, 7, 8} {
		if got := alertIDs(listAllAlerts(t, s, store.AlertOpen, limit)); !slices.Equal(got, want) {
			t.Errorf("limit %d: ListAlerts = %v, want %v", limit, got, want)
		}
	}
	if items := listAllAlerts(t, s, store.AlertConfirmed, 2); len(items) != 0 {
		t.Errorf("confirmed alerts = %v, want none", alertIDs(items))
	}
	_, next, err := s.ListAlerts(t.Context(), store.AlertOpen, store.Page{Limit: 2})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	for _, tc := range []struct{ name, cursor string }{{"garbage", "!!"}, {"other state's", next}} {
		state := store.AlertConfirmed
		if tc.name == "garbage" {
			state = store.AlertOpen
		}
		if _, _, err := s.ListAlerts(t.Context(), state, store.Page{Cursor: tc.cursor}); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("%s cursor: err = %v, want ErrInvalidCursor", tc.name, err)
		}
	}
}

// testAlertsDecide: the state machine of store.DecideAlertState, as every
// backend keeps it, with the index following the state.
func testAlertsDecide(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	at := baseTime.Add(time.Hour)
	a, b := alert("m1", "r", "1", baseTime), alert("m2", "r", "1", baseTime.Add(time.Second))
	if _, err := s.RaiseAlerts(ctx, []store.Alert{a, b}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		d           store.AlertDecision
		wantState   store.AlertState
		wantChanged bool
		wantErr     error
	}{
		// An officer marks m1 a false positive.
		{"open to false_positive", store.AlertDecision{ID: a.ID, State: store.AlertFalsePositive, Actor: "wangfang", At: at, Note: "客户原话"}, store.AlertFalsePositive, true, nil},
		// The same click again (WeCom retried): a no-op.
		{"same decision again", store.AlertDecision{ID: a.ID, State: store.AlertFalsePositive, Actor: "lisi", At: at.Add(time.Minute)}, store.AlertFalsePositive, false, nil},
		// Another officer tries to confirm it: refused.
		{"other decision", store.AlertDecision{ID: a.ID, State: store.AlertConfirmed, Actor: "lisi", At: at}, store.AlertFalsePositive, false, store.ErrAlertDecided},
		// Escalating a closed alert: refused.
		{"escalate closed", store.AlertDecision{ID: a.ID, State: store.AlertEscalated, At: at}, store.AlertFalsePositive, false, store.ErrAlertDecided},
		// m2 escalates, twice (overlapping runs), then is confirmed.
		{"open to escalated", store.AlertDecision{ID: b.ID, State: store.AlertEscalated, At: at}, store.AlertEscalated, true, nil},
		{"escalated again", store.AlertDecision{ID: b.ID, State: store.AlertEscalated, At: at.Add(time.Hour)}, store.AlertEscalated, false, nil},
		{"escalated to confirmed", store.AlertDecision{ID: b.ID, State: store.AlertConfirmed, Actor: "wangfang", At: at}, store.AlertConfirmed, true, nil},
		// Unknown alert.
		{"unknown", store.AlertDecision{ID: "nope", State: store.AlertConfirmed, Actor: "x", At: at}, "", false, store.ErrNotFound},
	}
	for _, st := range steps {
		got, changed, err := s.DecideAlert(ctx, st.d)
		if !errors.Is(err, st.wantErr) || changed != st.wantChanged || (st.wantErr == nil && got.State != st.wantState) {
			t.Fatalf("%s: DecideAlert = %s, changed %v, %v; want %s, %v, %v", st.name, got.State, changed, err, st.wantState, st.wantChanged, st.wantErr)
		}
	}
	for _, tc := range []struct {
		field string
		d     store.AlertDecision
	}{
		{"decision", store.AlertDecision{ID: b.ID, State: "open", Actor: "x", At: at}},
		{"actor", store.AlertDecision{ID: b.ID, State: store.AlertConfirmed, At: at}},
		{"decided_at", store.AlertDecision{ID: b.ID, State: store.AlertConfirmed, Actor: "x"}},
	} {
		_, _, err := s.DecideAlert(ctx, tc.d)
		var ae *store.AlertError
		if !errors.As(err, &ae) || ae.Field != tc.field {
			t.Errorf("bad %s: DecideAlert = %v, want an AlertError on it", tc.field, err)
		}
	}
	got, err := s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DecidedBy != "wangfang" || !got.DecidedAt.Equal(at) || got.Note != "客户原话" {
		t.Errorf("decided alert = by %q at %v note %q, want the first decision's", got.DecidedBy, got.DecidedAt, got.Note)
	}
	for state, want := range map[store.AlertState][]string{
		store.AlertOpen: nil, store.AlertEscalated: nil,
		store.AlertFalsePositive: {"m1"}, store.AlertConfirmed: {"m2"},
	} {
		if got := alertIDs(listAllAlerts(t, s, state, 0)); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("ListAlerts(%s) = %v, want %v", state, got, want)
		}
	}
}

// testAlertsAuditedCountsOverdue: the audited helpers write one audit
// entry per state change, the chain verifies; counts and overdue read
// the open alerts.
func testAlertsAuditedCountsOverdue(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	now := baseTime.Add(100 * time.Hour)
	fresh, old, older := alert("m1", "r", "1", now.Add(-time.Hour)), alert("m2", "r", "1", now.Add(-50*time.Hour)), alert("m3", "r", "1", now.Add(-200*time.Hour))
	older.Severity = "critical"
	for range 2 {
		if _, err := store.RaiseAudited(ctx, s, []store.Alert{fresh, old, older}); err != nil {
			t.Fatal(err)
		}
	}
	overdue, err := store.OverdueAlerts(ctx, s, now.Add(-48*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := alertIDs(overdue); !slices.Equal(got, []string{"m3", "m2"}) {
		t.Fatalf("OverdueAlerts = %v, want [m3 m2]", got)
	}
	for range 2 {
		if _, _, err := store.DecideAudited(ctx, s, store.AlertDecision{ID: older.ID, State: store.AlertEscalated, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := store.DecideAudited(ctx, s, store.AlertDecision{ID: fresh.ID, State: store.AlertFalsePositive, Actor: "wangfang", At: now}); err != nil {
		t.Fatal(err)
	}
	c, err := store.CountOpenAlerts(ctx, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Open != 1 || c.Escalated != 1 || c.BySeverity["high"] != 1 || c.BySeverity["critical"] != 1 || c.Ages != [4]int{0, 1, 0, 1} {
		t.Errorf("CountOpenAlerts = %+v, want 1 open (high, 50h), 1 escalated (critical, 200h)", c)
	}
	entries, err := s.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range entries {
		if e.Kind == store.AlertAuditKind {
			kinds = append(kinds, e.Subject[:4]+":"+string(e.Data))
		}
	}
	if len(kinds) != 5 { // 3 raised, 1 escalated, 1 false positive
		t.Errorf("alert audit entries = %d (%v), want 5", len(kinds), kinds)
	}
	if rep, err := s.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
}
