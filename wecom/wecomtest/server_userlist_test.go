package wecomtest_test

import (
	"fmt"
	"net/url"
	"testing"
)

// TestUserList: user/list (90201) lists the members directly in a
// department (not its sub-departments), the disabled included and those
// who left not, each with user/get's fields.
func TestUserList(t *testing.T) {
	f := newFake(t)
	m := f.get("app", "user/list", url.Values{"department_id": {"2"}})
	wantErrcode(t, m, 0)
	var ids []string
	for _, u := range m["userlist"].([]any) {
		u := u.(map[string]any)
		ids = append(ids, fmt.Sprint(u["userid"]))
		if u["userid"] == "zhaoliu" && (fmt.Sprint(u["department"]) != "[2 4]" || fmt.Sprint(u["order"]) != "[0 0]" ||
			u["name"] != "赵六" || u["status"] != 1.0 || u["main_department"] != 2.0) {
			t.Errorf("zhaoliu = %v", u)
		}
	}
	if got := fmt.Sprint(ids); got != "[lisi zhaoliu disabled]" {
		t.Errorf("department 2 lists %s, want [lisi zhaoliu disabled] (not wangwu of sub-department 3, not who left)", got)
	}
	wantErrcode(t, f.get("contacts", "user/list", url.Values{"department_id": {"3"}}), 0)
	for _, tt := range []struct {
		q    url.Values
		want int
	}{
		{url.Values{}, 40058},
		{url.Values{"department_id": {"x"}}, 40058},
		{url.Values{"department_id": {"99"}}, 60123},
	} {
		wantErrcode(t, f.get("app", "user/list", tt.q), tt.want)
	}
	wantErrcode(t, f.get("archive", "user/list", url.Values{"department_id": {"1"}}), 48002)
}
