package archive

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// mapLedger is a Ledger from maps, for the decision's table test (the
// puller's tests use StoreLedger over real stores).
type mapLedger struct {
	permitted map[string]bool
	pair      map[[2]string]ConsentAnswer // (user, ext)
	room      map[[2]string]ConsentAnswer // (room, ext)
	err       error
	calls     int
}

func (l *mapLedger) Permitted(_ context.Context, u string) (bool, error) {
	l.calls++
	return l.permitted[u], l.err
}
func (l *mapLedger) Consent(_ context.Context, u, e string) (ConsentAnswer, error) {
	l.calls++
	return l.pair[[2]string{u, e}], l.err
}
func (l *mapLedger) RoomConsent(_ context.Context, r, e string) (ConsentAnswer, error) {
	l.calls++
	return l.room[[2]string{r, e}], l.err
}

func TestDecide(t *testing.T) {
	agreed := ConsentAnswer{Known: true, Agreed: true, Source: "msg_audit_approved"}
	disagreed := ConsentAnswer{Known: true, Source: "check_single_agree"}
	ledger := func() *mapLedger {
		return &mapLedger{
			permitted: map[string]bool{"zhangsan": true},
			pair: map[[2]string]ConsentAnswer{
				{"zhangsan", "wmAGREED"}:    agreed,
				{"zhangsan", "wmDISAGREED"}: disagreed,
			},
			room: map[[2]string]ConsentAnswer{{"wrROOM", "wmAGREED"}: {Known: true, Agreed: true, Source: "check_room_agree"}},
		}
	}
	text := func(from string, to []string, room string) wecom.ChatMessage {
		return wecom.ChatMessage{MsgID: "m", Action: wecom.ActionSend, Type: "text", From: from, ToList: to, RoomID: room}
	}
	tests := []struct {
		name string
		msgs []wecom.ChatMessage // decided in order; the last one is checked
		want Decision
	}{
		// An internal chat with a permitted member is kept.
		{"internal permitted", []wecom.ChatMessage{text("lisi", []string{"zhangsan"}, "")}, Decision{Consent: ConsentInternal}},
		// Nobody on the permit list: only the facts.
		{"internal not permitted", []wecom.ChatMessage{text("lisi", []string{"wangwu"}, "")}, Decision{Withheld: WithheldNotPermitted, Consent: ConsentInternal}},
		// Internal ids are compared case-sensitively: "WoBeiQi" is internal.
		{"capital Wo is internal", []wecom.ChatMessage{text("WoBeiQi", []string{"zhangsan"}, "")}, Decision{Consent: ConsentInternal}},
		{"external agreed", []wecom.ChatMessage{text("wmAGREED", []string{"zhangsan"}, "")}, Decision{Consent: "agreed:msg_audit_approved"}},
		{"external disagreed", []wecom.ChatMessage{text("zhangsan", []string{"wmDISAGREED"}, "")}, Decision{Withheld: WithheldNoConsent, Consent: "disagreed:check_single_agree"}},
		{"external unknown", []wecom.ChatMessage{text("zhangsan", []string{"wmNEW"}, "")}, Decision{Withheld: WithheldNoConsent, Consent: ConsentUnknown}},
		// An _external msgid with no external id to ask about.
		{"external by msgid only", []wecom.ChatMessage{{MsgID: "1_external", Action: wecom.ActionSend, Type: "text", From: "zhangsan", ToList: []string{"lisi"}}}, Decision{Withheld: WithheldNoConsent, Consent: ConsentUnknown}},
		// A group: every external member must have agreed in that group.
		{"room all agreed", []wecom.ChatMessage{text("zhangsan", []string{"lisi", "wmAGREED"}, "wrROOM")}, Decision{Consent: "agreed:check_room_agree"}},
		{"room one unknown", []wecom.ChatMessage{text("zhangsan", []string{"wmAGREED", "wmNEW"}, "wrROOM")}, Decision{Withheld: WithheldNoConsent, Consent: ConsentUnknown}},
		// A robot (wb…) is not asked for consent: with internal members only, the permit list decides.
		{"robot and permitted member", []wecom.ChatMessage{{MsgID: "r_external", Action: wecom.ActionSend, Type: "markdown", From: "wbROBOT", ToList: []string{"zhangsan"}}}, Decision{Consent: ConsentInternal}},
		{"robot in a group with a customer", []wecom.ChatMessage{text("wbROBOT", []string{"zhangsan", "wmAGREED"}, "wrROOM")}, Decision{Consent: "agreed:check_room_agree"}},
		{"switch is an event", []wecom.ChatMessage{{MsgID: "s", Action: wecom.ActionSwitch, SwitchUser: "zhangsan"}}, Decision{Consent: ConsentEvent}},
		{"disagree record is an event", []wecom.ChatMessage{{MsgID: "d", Action: wecom.ActionSend, Type: "disagree", From: "wmAGREED", ToList: []string{"zhangsan"}, Agree: &wecom.ChatAgree{UserID: "wmAGREED"}}}, Decision{Consent: "disagreed:stream"}},
		// A disagree record in the stream overrides the ledger's agreement
		// for the pair's later messages of the batch.
		{"stream disagree overrides ledger", []wecom.ChatMessage{
			{MsgID: "d", Action: wecom.ActionSend, Type: "disagree", From: "wmAGREED", ToList: []string{"zhangsan"}, Agree: &wecom.ChatAgree{UserID: "wmAGREED"}},
			text("zhangsan", []string{"wmAGREED"}, ""),
		}, Decision{Withheld: WithheldNoConsent, Consent: "disagreed:stream"}},
		// … and an agree record lets later messages of an unknown pair in.
		{"stream agree admits", []wecom.ChatMessage{
			{MsgID: "a", Action: wecom.ActionSend, Type: "agree", From: "wmNEW", ToList: []string{"zhangsan"}, Agree: &wecom.ChatAgree{UserID: "wmNEW", Agreed: true}},
			text("wmNEW", []string{"zhangsan"}, ""),
		}, Decision{Consent: "agreed:stream"}},
		// A room's agree record counts for that room only.
		{"stream agree in another room", []wecom.ChatMessage{
			{MsgID: "a", Action: wecom.ActionSend, Type: "agree", From: "wmNEW", RoomID: "wrOTHER", Agree: &wecom.ChatAgree{UserID: "wmNEW", Agreed: true}},
			text("zhangsan", []string{"wmNEW"}, "wrROOM"),
		}, Decision{Withheld: WithheldNoConsent, Consent: ConsentUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecider(ledger())
			var got Decision
			for _, m := range tt.msgs {
				var err error
				if got, err = d.decide(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			if got != tt.want {
				t.Errorf("decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecideAsksLedgerOncePerBatch(t *testing.T) {
	l := &mapLedger{permitted: map[string]bool{}}
	d := newDecider(l)
	m := wecom.ChatMessage{MsgID: "m", Action: wecom.ActionSend, Type: "text", From: "a", ToList: []string{"b", "c"}, RoomID: "wr1", Time: time.Unix(1, 0)}
	for range 10 {
		if _, err := d.decide(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if l.calls != 3 {
		t.Errorf("ledger asked %d times, want 3 (a, b, c once each)", l.calls)
	}
}

func TestDecideLedgerError(t *testing.T) {
	boom := errors.New("boom")
	d := newDecider(&mapLedger{err: boom})
	_, err := d.decide(context.Background(), wecom.ChatMessage{MsgID: "m", Action: wecom.ActionSend, From: "zhangsan", ToList: []string{"wmX"}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}
