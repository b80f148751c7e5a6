package archive_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/policy/rules"
	"github.com/wecomply/wecomply/store"
)

const scanRules = `
[[rule]]
id = "guaranteed-returns"
kind = "lexicon"
severity = "high"
action = "alert"
terms = ["保本保收益"]
[rule.scope]
chats = ["external"]
direction = ["outbound"]
departments = [7]

[[rule]]
id = "pii-identity"
kind = "pii"
severity = "critical"
action = "digest_only"
detectors = ["resident_id"]
`

// sinkFunc raises alerts in the main store, audited, as serve's sink
// does, and notes what the cursor was at each raise.
type sinkFunc func(ctx context.Context, alerts []store.Alert) error

func (f sinkFunc) RaiseAlerts(ctx context.Context, alerts []store.Alert) error { return f(ctx, alerts) }

func scanSet(t *testing.T) *rules.Set {
	t.Helper()
	set, err := rules.Parse([]byte(scanRules))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func openAlerts(t *testing.T, s store.Store) map[string]store.Alert {
	t.Helper()
	out := map[string]store.Alert{}
	err := store.EachAlert(t.Context(), s, store.AlertOpen, func(a store.Alert) bool {
		out[a.MsgID+" "+a.RuleID] = a
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every stored message with text is scanned with the rules in force
// before its page is committed; the scopes see the chat, the direction
// and the sender's departments; a withheld message is not scanned; the
// alerts keep the span, not the text; pulling a hit again raises nothing
// new.
func TestScanRaisesAlertsBeforeCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnvOn(t, b)
		ctx := t.Context()
		set := scanSet(t)
		var cursorsAtRaise []uint64
		e.puller.Scanner = &archive.Scanner{
			Rules:  func() *rules.Set { return set },
			People: e.main,
			Clock:  e.clock.Now,
			Sink: sinkFunc(func(ctx context.Context, alerts []store.Alert) error {
				cursorsAtRaise = append(cursorsAtRaise, e.cursor())
				_, err := store.RaiseAudited(ctx, e.main, alerts)
				return err
			}),
		}
		for _, p := range []policy.Person{
			{UserID: "zhangsan", InPermitList: true, Active: true, Departments: []int64{7}},
			{UserID: "lisi", InPermitList: true, Active: true, Departments: []int64{8}},
		} {
			if err := e.main.PutPerson(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		e.consent("zhangsan", "wmCUSTOMER", policy.ConsentAgreed, "msg_audit_approved")
		e.consent("lisi", "wmCUSTOMER", policy.ConsentAgreed, "msg_audit_approved")
		outbound := e.text("zhangsan", []string{"wmCUSTOMER"}, "", "您好，这款产品保本保收益")
		otherDept := e.text("lisi", []string{"wmCUSTOMER"}, "", "这款产品保本保收益")
		internal := e.text("zhangsan", []string{"lisi"}, "", "客户问是否保本保收益")
		inbound := e.text("wmCUSTOMER", []string{"zhangsan"}, "", "我的身份证 11010519491231002X 保本保收益吗")
		withheld := e.text("wangwu", []string{"wmOTHER"}, "", "保本保收益 11010519491231002X")

		e.pullAll()
		got := openAlerts(t, e.main)
		want := []string{outbound + " guaranteed-returns", inbound + " pii-identity"}
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(want))) {
			t.Fatalf("alerts = %v, want %v (not %s, %s, %s)", keys, want, otherDept, internal, withheld)
		}
		if len(cursorsAtRaise) != 1 || cursorsAtRaise[0] != 0 {
			t.Errorf("cursor at each raise = %v, want [0]: alerts are raised before the page is committed", cursorsAtRaise)
		}
		a := got[outbound+" guaranteed-returns"]
		text := "您好，这款产品保本保收益"
		if text[a.Start:a.End] != "保本保收益" || a.Sender != "zhangsan" || a.Severity != "high" || a.Action != "alert" ||
			a.ConversationID != archive.ConversationID("zhangsan", []string{"wmCUSTOMER"}, "") {
			t.Errorf("alert = %+v, want the span of 保本保收益 in zhangsan's message", a)
		}
		pii := got[inbound+" pii-identity"]
		if pii.Detector != "resident_id" || pii.Severity != "critical" {
			t.Errorf("pii alert = %+v", pii)
		}
		raw, err := e.main.GetAlert(ctx, pii.ID)
		if err != nil || raw.End-raw.Start != 18 {
			t.Errorf("pii alert span = %d..%d, %v; want the 18 bytes of the id", raw.Start, raw.End, err)
		}

		// A later page carries the hit again (WeCom resends): scanned,
		// raised again, nothing new.
		if _, err := e.srv.Duplicate(outbound); err != nil {
			t.Fatal(err)
		}
		e.pullAll()
		if n := len(openAlerts(t, e.main)); n != 2 {
			t.Errorf("alerts after a re-pull = %d, want still 2", n)
		}
		entries, err := e.main.ListAudit(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries {
			if en.Kind == store.AlertAuditKind {
				n++
			}
		}
		if n != 2 {
			t.Errorf("alert audit entries = %d, want 2 (one per alert raised)", n)
		}
	})
}

// Without rules (a nil func or a nil set) nothing is scanned.
func TestScanWithoutRules(t *testing.T) {
	for name, fn := range map[string]func() *rules.Set{"nil func": nil, "nil set": func() *rules.Set { return nil }} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			raised := 0
			e.puller.Scanner = &archive.Scanner{Rules: fn, Sink: sinkFunc(func(context.Context, []store.Alert) error { raised++; return nil })}
			e.permit("zhangsan")
			e.text("zhangsan", []string{"lisi"}, "", "保本保收益")
			if r := e.pullAll(); r.Stored != 1 || raised != 0 {
				t.Fatalf("stored %d, raised %d times; want 1 and 0", r.Stored, raised)
			}
		})
	}
}

// A rule scoped to a tag id fires for a sender who has that tag (the
// directory's tag ids) and not for one who has not.
func TestScanTagScope(t *testing.T) {
	e := newEnv(t)
	set, err := rules.Parse([]byte(`
[[rule]]
id = "advisor-contact"
kind = "lexicon"
severity = "medium"
terms = ["加我微信"]
[rule.scope]
tags = [41]
`))
	if err != nil {
		t.Fatal(err)
	}
	e.puller.Scanner = &archive.Scanner{
		Rules: func() *rules.Set { return set }, People: e.main, Clock: e.clock.Now,
		Sink: sinkFunc(func(ctx context.Context, alerts []store.Alert) error {
			_, err := store.RaiseAudited(ctx, e.main, alerts)
			return err
		}),
	}
	for _, p := range []policy.Person{
		{UserID: "zhangsan", InPermitList: true, Active: true, Tags: []int64{41}},
		{UserID: "lisi", InPermitList: true, Active: true, Tags: []int64{42}},
	} {
		if err := e.main.PutPerson(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	tagged := e.text("zhangsan", []string{"wangwu"}, "", "加我微信")
	untagged := e.text("lisi", []string{"wangwu"}, "", "加我微信")
	e.pullAll()
	got := slices.Sorted(maps.Keys(openAlerts(t, e.main)))
	if want := []string{tagged + " advisor-contact"}; !slices.Equal(got, want) {
		t.Errorf("alerts = %v, want %v (not %s)", got, want, untagged)
	}
}

// A record quarantined for want of its key is not scanned when pulled;
// once RetryQuarantine decrypts it, it is scanned, and its alert is raised
// before the quarantine entry is resolved.
func TestScanRetriedQuarantine(t *testing.T) {
	e := newEnv(t, 1, 2)
	ctx := t.Context()
	set := scanSet(t)
	var raised []store.Alert
	var quarantinedAtRaise []bool // whether the alerted message was still quarantined
	e.puller.Scanner = &archive.Scanner{
		Rules: func() *rules.Set { return set }, People: e.main, Clock: e.clock.Now,
		Sink: sinkFunc(func(ctx context.Context, alerts []store.Alert) error {
			raised = append(raised, alerts...)
			q, _, err := e.store.ListQuarantine(ctx, "", 10)
			if err != nil {
				return err
			}
			quarantinedAtRaise = append(quarantinedAtRaise, slices.ContainsFunc(q, func(it archive.Quarantined) bool {
				return it.Record.MsgID == alerts[0].MsgID
			}))
			_, err = store.RaiseAudited(ctx, e.main, alerts)
			return err
		}),
	}
	e.permit("zhangsan", "lisi")
	if err := e.srv.UseKeyVersion(3); err != nil { // no private key for 3 yet
		t.Fatal(err)
	}
	id := e.text("zhangsan", []string{"lisi"}, "", "客户的身份证 11010519491231002X")
	if sum := e.pullAll(); sum.Quarantined != 1 || len(raised) != 0 {
		t.Fatalf("quarantined %d, raised %d; want 1 and 0", sum.Quarantined, len(raised))
	}

	e.puller.Source = e.source(1, 2, 3)
	if res, rem, err := e.puller.RetryQuarantine(ctx); err != nil || res != 1 || rem != 0 {
		t.Fatalf("RetryQuarantine = %d, %d, %v; want 1, 0", res, rem, err)
	}
	if len(raised) != 1 || raised[0].MsgID != id || raised[0].RuleID != "pii-identity" {
		t.Fatalf("raised %+v, want one pii-identity alert for %s", raised, id)
	}
	if !slices.Equal(quarantinedAtRaise, []bool{true}) {
		t.Errorf("quarantined at each raise = %v, want [true]: the alert is raised before the entry is resolved", quarantinedAtRaise)
	}
	if got := slices.Collect(maps.Keys(openAlerts(t, e.main))); !slices.Equal(got, []string{id + " pii-identity"}) {
		t.Errorf("open alerts = %v, want [%s pii-identity]", got, id)
	}
}
