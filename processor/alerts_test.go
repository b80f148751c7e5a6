package processor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/processor"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func testAlert(msgID, action string, raisedAt time.Time) store.Alert {
	return store.Alert{ID: store.AlertID(msgID, "rule-"+action, "v1"), RuleID: "rule-" + action, RuleVersion: "v1",
		Kind: "lexicon", Severity: "high", Action: action, MsgID: msgID, ConversationID: "single:wmCUSTOMER|zhangsan",
		Sender: "zhangsan", MsgTime: raisedAt.Add(-time.Minute), Start: 0, End: 6, State: store.AlertOpen, RaisedAt: raisedAt}
}

// alertCards are user's template cards whose text names rule.
func alertCards(e *env, user, rule string) []wecomtest.InboxMessage {
	var out []wecomtest.InboxMessage
	for _, m := range e.fake.Inbox(user) {
		if m.MsgType == "template_card" && strings.Contains(string(m.Message), rule) {
			out = append(out, m)
		}
	}
	return out
}

// An alert of action "alert" sends each officer a review card, once
// however often it is raised; "notify_sender" tells the sender;
// "digest_only" sends nothing. A click decides the alert by the officer
// who clicked and greys their card out with the decision and their name;
// the other officer's later click on the decided alert decides nothing and
// shows the first decision; a click by someone who is not an officer
// decides nothing.
func TestAlertReviewByCard(t *testing.T) {
	settings := testSettings()
	settings.Officers = []string{"officer", "officer2"}
	e := newEnvConfig(t, "embedded", envConfig{Settings: &settings})
	e.fake.AddUser(wecomtest.User{UserID: "officer2", Name: "李娜", Department: []int64{1}})
	e.fake.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
	ctx := context.Background()
	now := e.clock.Now()
	alerts := []store.Alert{testAlert("m1", "alert", now), testAlert("m2", "notify_sender", now), testAlert("m3", "digest_only", now)}
	for range 2 {
		if err := e.proc.RaiseAlerts(ctx, alerts); err != nil {
			t.Fatal(err)
		}
		e.drain(t)
	}
	for _, u := range []string{"officer", "officer2"} {
		if n := len(alertCards(e, u, "rule-alert")); n != 1 {
			t.Fatalf("%s got %d alert cards, want 1", u, n)
		}
		if n := len(alertCards(e, u, "rule-digest_only")) + len(alertCards(e, u, "rule-notify_sender")); n != 0 {
			t.Errorf("%s got %d cards of other actions, want 0", u, n)
		}
	}
	texts := 0
	for _, m := range e.fake.Inbox("zhangsan") {
		if m.MsgType == "text" && strings.Contains(m.Content, "rule-notify_sender") {
			texts++
		}
	}
	if texts != 1 {
		t.Errorf("zhangsan got %d notices of the notify_sender hit, want 1", texts)
	}

	id := alerts[0].ID
	click := func(user, decision string) {
		t.Helper()
		spec := wecomtest.EventSpec{Kind: "template_card_event", UserID: user, EventKey: processor.AlertNoticeKey(id) + ":" + decision,
			ResponseCode: "rc-" + user, CardType: "button_interaction", TaskID: "t"}
		if cards := alertCards(e, user, "rule-alert"); len(cards) == 1 {
			c, err := e.fake.Click(user, cards[0].MsgID, spec.EventKey)
			if err != nil {
				t.Fatal(err)
			}
			spec = c.Spec()
		}
		if _, err := e.st.Enqueue(ctx, wecomEvent(t, spec, e.clock.Now())); err != nil {
			t.Fatal(err)
		}
		e.drain(t)
	}
	click("zhangsan", "false_positive") // not an officer
	if a, _ := e.st.GetAlert(ctx, id); a.State != store.AlertOpen {
		t.Fatalf("after a non-officer's click the alert is %s, want open", a.State)
	}
	click("officer", "false_positive")
	click("officer2", "confirmed")
	a, err := e.st.GetAlert(ctx, id)
	if err != nil || a.State != store.AlertFalsePositive || a.DecidedBy != "officer" || a.DecidedAt.IsZero() {
		t.Fatalf("alert = %+v, %v; want false_positive by officer", a, err)
	}
	for user, want := range map[string]string{"officer": "误报 · 王芳", "officer2": "误报 · 王芳"} {
		if c := alertCards(e, user, "rule-alert"); len(c) != 1 || c[0].ReplaceName != want {
			t.Errorf("%s's card = %+v, want %q", user, c, want)
		}
	}
	if rep, err := e.st.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Errorf("audit: %+v %v", rep, err)
	}
}

// EscalateAlerts escalates the alerts open longer than EscalateAfter and
// tells the officers' leaders and the notices' owners once; a run again
// escalates nothing more.
func TestEscalateAlerts(t *testing.T) {
	settings := testSettings()
	notices := []policy.Notice{testNotices[0]}
	notices[0].ComplianceOwners = []string{"owner"}
	e := newEnvConfig(t, "embedded", envConfig{Settings: &settings, Notices: notices,
		Alerts: processor.AlertConfig{EscalateAfter: 48 * time.Hour}})
	e.fake.AddUser(wecomtest.User{UserID: "owner", Name: "赵总", Department: []int64{1}})
	ctx := context.Background()
	now := e.clock.Now()
	old, fresh := testAlert("m1", "digest_only", now.Add(-49*time.Hour)), testAlert("m2", "digest_only", now.Add(-47*time.Hour))
	if err := e.proc.RaiseAlerts(ctx, []store.Alert{old, fresh}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0} {
		counts, err := e.proc.EscalateAlerts(ctx, now)
		if err != nil || counts["escalated"] != want {
			t.Fatalf("run %d: %v, %v; want %d escalated", i, counts, err, want)
		}
		e.drain(t)
	}
	if a, _ := e.st.GetAlert(ctx, old.ID); a.State != store.AlertEscalated || !a.EscalatedAt.Equal(now) {
		t.Errorf("old alert = %s at %v, want escalated at %v", a.State, a.EscalatedAt, now)
	}
	if a, _ := e.st.GetAlert(ctx, fresh.ID); a.State != store.AlertOpen {
		t.Errorf("fresh alert = %s, want open", a.State)
	}
	if got := e.markdown("owner"); len(got) != 1 || !strings.Contains(got[0], old.ID) || strings.Contains(got[0], fresh.ID) {
		t.Errorf("owner's escalations = %q, want one naming the old alert", got)
	}

	// The daily digest counts them: one open, one escalated, by severity
	// and age.
	counts, err := e.proc.Digest(ctx, now)
	if err != nil || counts["alerts"] != 2 {
		t.Fatalf("digest: %v, %v; want 2 alerts counted", counts, err)
	}
	e.drain(t)
	got := e.markdown("officer")
	if len(got) != 1 || !strings.Contains(got[0], "会话监管告警待复核**（共 2 条）") || !strings.Contains(got[0], "高 2") ||
		!strings.Contains(got[0], "1–3 天 2") {
		t.Errorf("officer's digest = %q, want the alerts counted", got)
	}
}

// TestEscalateAlertsCatchUpDatesByTheClock: a run that catches up a
// missed activation (its scheduled time hours ago) takes the overdue
// cutoff from the schedule but dates the escalation, and its audit
// entry, by the clock: the audit chain never goes back in time.
func TestEscalateAlertsCatchUpDatesByTheClock(t *testing.T) {
	settings := testSettings()
	e := newEnvConfig(t, "embedded", envConfig{Settings: &settings,
		Alerts: processor.AlertConfig{EscalateAfter: 48 * time.Hour}})
	ctx := context.Background()
	clock := e.clock.Now()
	scheduled := clock.Add(-7*time.Hour - 30*time.Minute)
	old := testAlert("m1", "digest_only", scheduled.Add(-49*time.Hour))
	if err := e.proc.RaiseAlerts(ctx, []store.Alert{old}); err != nil {
		t.Fatal(err)
	}
	counts, err := e.proc.EscalateAlerts(ctx, scheduled)
	if err != nil || counts["escalated"] != 1 {
		t.Fatalf("escalate: %v, %v; want 1 escalated", counts, err)
	}
	if a, _ := e.st.GetAlert(ctx, old.ID); a.State != store.AlertEscalated || !a.EscalatedAt.Equal(clock) {
		t.Errorf("alert = %s at %v, want escalated at the clock's %v", a.State, a.EscalatedAt, clock)
	}
	entries, err := e.st.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range entries {
		if en.Kind == store.AlertAuditKind && en.ID == "alert:"+old.ID+":"+string(store.AlertEscalated) {
			found = true
			if !en.At.Equal(clock) {
				t.Errorf("escalation audited at %v, want the clock's %v (not the schedule's %v)", en.At, clock, scheduled)
			}
		}
	}
	if !found {
		t.Errorf("no audit entry of the escalation in %+v", entries)
	}
}
