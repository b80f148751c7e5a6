package wecom

import (
	"strings"
	"testing"
)

// TestChangeKindsTable checks the interned kinds: each is Event + "." +
// ChangeType, and each is a kind Decode types (not a *RawEvent).
func TestChangeKindsTable(t *testing.T) {
	for key, k := range changeKinds {
		h := Header{MsgType: "event", Event: key[0], ChangeType: key[1]}
		if got := h.Kind(); got != key[0]+"."+key[1] || got != k {
			t.Errorf("%q: Kind %q", key, got)
		}
		ev, err := Decode([]byte("<xml><MsgType>event</MsgType><Event>" + key[0] + "</Event><ChangeType>" + key[1] + "</ChangeType></xml>"))
		if err != nil {
			t.Fatal(err)
		}
		if _, raw := ev.(*RawEvent); raw || ev.Kind() != k {
			t.Errorf("%s decodes to %T, kind %q", k, ev, ev.Kind())
		}
	}
	if h := (Header{MsgType: "event", Event: "change_x", ChangeType: "y"}); h.Kind() != "change_x.y" || !strings.Contains(h.DedupKey(), "change_x.y:") {
		t.Errorf("unknown change kind %q", h.Kind())
	}
}
