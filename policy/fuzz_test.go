package policy

import (
	"strconv"
	"testing"

	"github.com/wecomply/wecomply/wecom"
)

// FuzzParseButtonKey: any EventKey a click may carry parses without
// panicking, and what parses is exactly some notice version's ButtonKey.
func FuzzParseButtonKey(f *testing.F) {
	for _, k := range []string{"ack:archive:v2", "ack:hr:leave:v1", "ack::v1", "ack:a:v0", "ack:a:v02", "", "ack:", ":v1"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		id, v, ok := parseButtonKey(key)
		if !ok {
			return
		}
		if id == "" || v < 1 {
			t.Fatalf("parseButtonKey(%q) = %q, %d, true", key, id, v)
		}
		if got := (Notice{ID: id, Version: v}).ButtonKey(); got != key {
			t.Fatalf("parseButtonKey(%q) = %q, %d: its ButtonKey is %q", key, id, v, got)
		}
	})
}

// FuzzDecideMemberInput: whatever a member sends (a click's EventKey, a
// text's Content), Decide does not panic, decides the same twice, and
// acknowledges at most one obligation, one the member owes.
func FuzzDecideMemberInput(f *testing.F) {
	for _, s := range []string{"ack:archive:v2", "ack:archive:v1", "确认", " Ack ", "ACK。", "\u3000", "hello", ""} {
		f.Add(s, int64(1795395600))
	}
	st := clickState(laoliu(), ob("laoliu", "archive", 1, Superseded), ob("laoliu", "archive", 2, Pending), ob("laoliu", "handbook", 1, Acknowledged))
	f.Fuzz(func(t *testing.T, input string, createTime int64) {
		h := wecom.Header{FromUserName: "laoliu", CreateTime: createTime, MsgType: "event", Event: "template_card_event"}
		for _, ev := range []Event{
			&wecom.TemplateCardEvent{Header: h, EventKey: input, ResponseCode: input},
			&wecom.TextMessage{Header: wecom.Header{FromUserName: "laoliu", CreateTime: createTime, MsgType: "text"}, Content: input},
		} {
			got := Decide(ev, st, now)
			diffActions(t, Decide(ev, st, now), got)
			acks := 0
			for _, a := range got {
				if ack, ok := a.(Acknowledge); ok {
					acks++
					if at := ack.Attestation; at.UserID != "laoliu" || at.NoticeID != "archive" || at.Version != 2 {
						t.Errorf("%T %q acknowledged %+v", ev, input, at)
					}
				}
			}
			if acks > 1 {
				t.Errorf("%T %q: %d acknowledgements", ev, input, acks)
			}
		}
	})
}

// BenchmarkDecidePublished: publishing a new version to a company of
// 10,000, half of whom owe the old one.
func BenchmarkDecidePublished(b *testing.B) {
	people := make(map[string]PersonChange, 10000)
	for i := range 10000 {
		id := "user" + strconv.Itoa(i)
		p := &Person{UserID: id, Departments: []int64{21}, DepartmentPath: []int64{1, 2, 21}, Active: true}
		if i%3 == 0 {
			p.Language = "en"
		}
		var obs []Obligation
		if i%2 == 0 {
			obs = append(obs, ob(id, "archive", 2, Pending))
		}
		people[id] = same(p, obs...)
	}
	st := stateWith(people)
	ev := NoticePublished{Notice: atVersion(archive, 3)}
	b.ReportAllocs()
	for b.Loop() {
		Decide(ev, st, now)
	}
}
