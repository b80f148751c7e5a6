package store

import (
	"slices"
	"testing"
)

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
