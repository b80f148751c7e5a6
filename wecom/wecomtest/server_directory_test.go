package wecomtest_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func TestUserGet(t *testing.T) {
	f := newFake(t)
	m := f.get("contacts", "user/get", url.Values{"userid": {"WangWu"}})
	wantErrcode(t, m, 0)
	if m["userid"] != "wangwu" || m["name"] != "王五" || m["status"] != 1.0 || m["main_department"] != 3.0 ||
		fmt.Sprint(m["department"]) != "[3]" || fmt.Sprint(m["order"]) != "[0]" ||
		fmt.Sprint(m["is_leader_in_dept"]) != "[0]" || fmt.Sprint(m["direct_leader"]) != "[lisi]" {
		t.Errorf("user/get = %v", m)
	}
	tests := []struct {
		q    url.Values
		want int
	}{
		{url.Values{}, 41009},
		{url.Values{"userid": {"ghost"}}, 60111},
		{url.Values{"userid": {"left"}}, 60111},
		{url.Values{"userid": {"disabled"}}, 0},
	}
	for _, tt := range tests {
		wantErrcode(t, f.get("app", "user/get", tt.q), tt.want)
	}
}

func TestUserListID(t *testing.T) {
	f := newFake(t)
	for i := range 250 {
		f.s.AddUser(wecomtest.User{UserID: fmt.Sprintf("bulk%03d", i), Department: []int64{2, 4}})
	}
	// 5 seeded active members in 6 (member, department) rows, plus 500.
	var rows []string
	cursor := ""
	pages := 0
	for {
		body := map[string]any{"limit": 77}
		if cursor != "" {
			body["cursor"] = cursor
		}
		m := f.post("contacts", "user/list_id", body)
		wantErrcode(t, m, 0)
		pages++
		for _, r := range m["dept_user"].([]any) {
			row := r.(map[string]any)
			rows = append(rows, fmt.Sprintf("%s/%v", row["userid"], row["department"]))
		}
		cursor = m["next_cursor"].(string)
		if cursor == "" {
			break
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(rows) != 506 || pages != 7 {
		t.Errorf("%d rows in %d pages, want 506 in 7", len(rows), pages)
	}
	for _, want := range []string{"zhaoliu/2", "zhaoliu/4", "disabled/2", "bulk000/4", "bulk249/2"} {
		if !slices.Contains(rows, want) {
			t.Errorf("rows lack %s", want)
		}
	}
	if slices.Contains(rows, "left/2") {
		t.Errorf("a member who left is listed")
	}
	slices.Sort(rows)
	if len(slices.Compact(rows)) != 506 {
		t.Errorf("duplicate rows across pages")
	}
	for _, tt := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{}, 0},
		{map[string]any{"limit": 0}, 40058},
		{map[string]any{"limit": 10001}, 40058},
		{map[string]any{"limit": 10000}, 0},
		{map[string]any{"cursor": "garbage"}, 50100},
	} {
		wantErrcode(t, f.post("contacts", "user/list_id", tt.body), tt.want)
	}
}

func TestDepartmentList(t *testing.T) {
	f := newFake(t)
	ids := func(m map[string]any) string {
		var out []string
		for _, d := range m["department"].([]any) {
			out = append(out, fmt.Sprint(d.(map[string]any)["id"]))
		}
		return strings.Join(out, ",")
	}
	m := f.get("app", "department/list", nil)
	wantErrcode(t, m, 0)
	// Siblings by order, larger first: sales (20) before rd (10).
	if got := ids(m); got != "1,4,2,3" {
		t.Errorf("whole tree = %s, want 1,4,2,3", got)
	}
	d := m["department"].([]any)[2].(map[string]any)
	if d["name"] != "rd" || d["parentid"] != 1.0 || d["order"] != 10.0 || fmt.Sprint(d["department_leader"]) != "[lisi]" {
		t.Errorf("department 2 = %v", d)
	}
	if got := ids(f.get("contacts", "department/list", url.Values{"id": {"2"}})); got != "2,3" {
		t.Errorf("from 2 = %s, want 2,3", got)
	}
	wantErrcode(t, f.get("app", "department/list", url.Values{"id": {"99"}}), 60123)
}

func TestExternalContactGet(t *testing.T) {
	f := newFake(t)
	var followers []wecomtest.FollowUser
	for i := range 1201 {
		followers = append(followers, wecomtest.FollowUser{UserID: fmt.Sprintf("f%04d", i), Remark: "r", CreateTime: 1525779812, AddWay: 1,
			Tags: []wecomtest.FollowTag{{GroupName: "g", TagName: "t", TagID: "et1", Type: 1}}})
	}
	f.s.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmMany", Name: "李四", Type: 2, CorpName: "腾讯"}, followers...)
	f.s.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmAlone", Name: "x", Type: 1})
	f.s.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmGone", Name: "y", Type: 1}, wecomtest.FollowUser{UserID: "zhangsan"})
	f.s.RemoveFollowUser("wmGone", "ZhangSan")

	var got []string
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"external_userid": {"wmMany"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		m := f.get("customer", "externalcontact/get", q)
		wantErrcode(t, m, 0)
		ec := m["external_contact"].(map[string]any)
		if ec["external_userid"] != "wmMany" || ec["name"] != "李四" || ec["type"] != 2.0 || ec["corp_name"] != "腾讯" {
			t.Errorf("external_contact = %v", ec)
		}
		fu := m["follow_user"].([]any)
		if want := []int{500, 500, 201}[page]; len(fu) != want {
			t.Errorf("page %d has %d follow users, want %d", page, len(fu), want)
		}
		for _, u := range fu {
			got = append(got, u.(map[string]any)["userid"].(string))
		}
		next, ok := m["next_cursor"].(string)
		if !ok || next == "" {
			break
		}
		cursor = next
	}
	if len(got) != 1201 || got[0] != "f0000" || got[1200] != "f1200" {
		t.Errorf("paged %d follow users", len(got))
	}
	tests := []struct {
		q    url.Values
		want int
	}{
		{url.Values{}, 41035},
		{url.Values{"external_userid": {"wmNobody"}}, 84061},
		{url.Values{"external_userid": {"wmAlone"}}, 84061},
		{url.Values{"external_userid": {"wmGone"}}, 84061},
		{url.Values{"external_userid": {"wmMany"}, "cursor": {"bad"}}, 50100},
	}
	for _, tt := range tests {
		wantErrcode(t, f.get("app", "externalcontact/get", tt.q), tt.want)
	}
}

func TestSendWelcomeMsg(t *testing.T) {
	f := newFake(t)
	welcome := func(code string, extra map[string]any) map[string]any {
		b := map[string]any{"welcome_code": code, "text": map[string]any{"content": "欢迎"}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	code := f.s.IssueWelcomeCode("zhangsan", "wmNew")
	wantErrcode(t, f.post("customer", "externalcontact/send_welcome_msg", welcome(code, nil)), 0)
	in := f.s.Inbox("wmNew")
	if len(in) != 1 || in[0].MsgType != "welcome" || in[0].From != "zhangsan" || in[0].App != "customer" ||
		!strings.Contains(string(in[0].Message), "欢迎") || strings.Contains(string(in[0].Message), code) {
		t.Errorf("external inbox = %+v", in)
	}
	wantErrcode(t, f.post("customer", "externalcontact/send_welcome_msg", welcome(code, nil)), 41051)

	expired := f.s.IssueWelcomeCode("zhangsan", "wmLate")
	f.clk.Advance(19 * time.Second)
	young := f.s.IssueWelcomeCode("zhangsan", "wmLate")
	f.clk.Advance(time.Second)
	wantErrcode(t, f.post("app", "externalcontact/send_welcome_msg", welcome(expired, nil)), 41050)
	wantErrcode(t, f.post("app", "externalcontact/send_welcome_msg", welcome(young, nil)), 0)

	attachments := func(n int) []any {
		return slices.Repeat([]any{map[string]any{"msgtype": "link", "link": map[string]any{"title": "t", "url": "https://x"}}}, n)
	}
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"no code", map[string]any{"text": map[string]any{"content": "x"}}, 41049},
		{"unknown code", welcome("nope", nil), 41050},
		{"empty", map[string]any{"welcome_code": f.s.IssueWelcomeCode("lisi", "wmA")}, 40058},
		{"4001 bytes", welcome(f.s.IssueWelcomeCode("lisi", "wmA"), map[string]any{"text": map[string]any{"content": strings.Repeat("x", 4001)}}), 45002},
		{"10 attachments", welcome(f.s.IssueWelcomeCode("lisi", "wmA"), map[string]any{"attachments": attachments(10)}), 41064},
		{"bad attachment", welcome(f.s.IssueWelcomeCode("lisi", "wmA"), map[string]any{"attachments": []any{map[string]any{"msgtype": "voice"}}}), 41065},
		{"9 attachments", welcome(f.s.IssueWelcomeCode("lisi", "wmA"), map[string]any{"attachments": attachments(9)}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErrcode(t, f.post("customer", "externalcontact/send_welcome_msg", tt.body), tt.want)
		})
	}
}

func TestMsgAudit(t *testing.T) {
	f := newFake(t)
	f.s.SetPermitUsers([]string{"zhangsan", "lisi"})
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.s.SetAgree("zhangsan", "wmAgree", "Agree", at)
	f.s.SetAgree("zhangsan", "wmNo", "Disagree", at)
	f.s.SetRoomAgree("wrRoom", wecomtest.AgreeInfo{StatusChangeTime: at.Unix(), UserID: "dropped", ExteranalOpenID: "wmAgree", AgreeStatus: "Agree"})

	m := f.post("archive", "msgaudit/get_permit_user_list", map[string]any{"type": 1})
	wantErrcode(t, m, 0)
	if fmt.Sprint(m["ids"]) != "[zhangsan lisi]" {
		t.Errorf("ids = %v", m["ids"])
	}
	wantErrcode(t, f.post("archive", "msgaudit/get_permit_user_list", ""), 0)

	q := func(pairs ...string) map[string]any {
		var info []any
		for i := 0; i+1 < len(pairs); i += 2 {
			info = append(info, map[string]any{"userid": pairs[i], "exteranalopenid": pairs[i+1]})
		}
		return map[string]any{"info": info}
	}
	m = f.post("archive", "msgaudit/check_single_agree", q("zhangsan", "wmAgree", "ZhangSan", "wmNo", "lisi", "wmAgree"))
	wantErrcode(t, m, 0)
	ai := m["agreeinfo"].([]any)
	if len(ai) != 2 {
		t.Fatalf("agreeinfo = %v, want 2 items (lisi/wmAgree has no state)", ai)
	}
	first := ai[0].(map[string]any)
	if first["userid"] != "zhangsan" || first["exteranalopenid"] != "wmAgree" || first["agree_status"] != "Agree" || first["status_change_time"] != float64(at.Unix()) {
		t.Errorf("agreeinfo[0] = %v", first)
	}
	if ai[1].(map[string]any)["agree_status"] != "Disagree" {
		t.Errorf("agreeinfo[1] = %v", ai[1])
	}
	many := make([]string, 0, 202)
	for range 101 {
		many = append(many, "zhangsan", "wmAgree")
	}
	wantErrcode(t, f.post("archive", "msgaudit/check_single_agree", q(many[:200]...)), 0)
	wantErrcode(t, f.post("archive", "msgaudit/check_single_agree", q(many...)), 301060)
	wantErrcode(t, f.post("archive", "msgaudit/check_single_agree", q("ghost", "wmAgree")), 301061)
	wantErrcode(t, f.post("archive", "msgaudit/check_single_agree", q("zhangsan", "wmUnknown")), 301061)

	m = f.post("archive", "msgaudit/check_room_agree", map[string]any{"roomid": "wrRoom"})
	wantErrcode(t, m, 0)
	room := m["agreeinfo"].([]any)
	if len(room) != 1 || room[0].(map[string]any)["userid"] != nil || room[0].(map[string]any)["agree_status"] != "Agree" {
		t.Errorf("room agreeinfo = %v", room)
	}
	m = f.post("archive", "msgaudit/check_room_agree", map[string]any{"roomid": "wrOther"})
	if a, ok := m["agreeinfo"].([]any); !ok || len(a) != 0 {
		t.Errorf("unknown room = %v, want an empty agreeinfo", m)
	}
	wantErrcode(t, f.post("archive", "msgaudit/check_room_agree", map[string]any{}), 40058)
}
