package store

import (
	"slices"
	"testing"
)

func TestNoticeIDOfKey(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"archive:v3", "archive"},                       // a notice card
		{"archive:v3:remind:2026-11-23", "archive"},     // its reminder
		{"archive:v3:escalate:2026-11-23:1", "archive"}, // an escalation part
		{"code:v12", "code"},
		{"welcome:zhangsan", "welcome:zhangsan"},             // ad hoc: the whole key
		{"digest:2026-11-23:en:1", "digest:2026-11-23:en:1"}, // ad hoc
		{"victor:vip", "victor:vip"},                         // ":v" not followed by a version
		{"a:v:v2", "a:v"},                                    // the first ":v<digits>" that ends a part
		{":v3", ":v3"},                                       // no notice id before it
		{"archive:v3x", "archive:v3x"},
		{"", ""},
	} {
		if got := NoticeIDOfKey(tt.key); got != tt.want {
			t.Errorf("NoticeIDOfKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestSendResultSubjects(t *testing.T) {
	got := SendResultSubjects(RecipientResult{NoticeKey: "consent-alert:zhangsan:wmCUST:disagreed", UserID: "officer"})
	for _, want := range []string{"officer", "zhangsan", "wmCUST", "consent-alert:zhangsan:wmCUST:disagreed"} {
		if !slices.Contains(got, want) {
			t.Errorf("SendResultSubjects = %q, want %q among them", got, want)
		}
	}
	held := HoldSet{"archive": true}
	if !held.Has(SendResultSubjects(RecipientResult{NoticeKey: "archive:v3:remind:2026-11-23", UserID: "lisi"})...) {
		t.Error("a hold on notice archive does not keep its reminder's result")
	}
	if held.Has(SendResultSubjects(RecipientResult{NoticeKey: "archived:v1", UserID: "lisi"})...) {
		t.Error("a hold on notice archive keeps another notice's result")
	}
}
