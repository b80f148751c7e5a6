package wecomtest_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// buttonCard returns a valid button_interaction send body.
func buttonCard(to, task string) map[string]any {
	return map[string]any{
		"touser": to, "msgtype": "template_card", "agentid": agentID,
		"template_card": map[string]any{
			"card_type":  "button_interaction",
			"main_title": map[string]any{"title": "请确认"},
			"task_id":    task,
			"button_list": []any{
				map[string]any{"text": "确认", "style": 1, "key": "ack"},
				map[string]any{"text": "拒绝", "style": 2, "key": "nack"},
			},
		},
	}
}

func textNotice(to string, menu bool) map[string]any {
	card := map[string]any{
		"card_type":   "text_notice",
		"main_title":  map[string]any{"title": "通知"},
		"card_action": map[string]any{"type": 1, "url": "https://example.com"},
	}
	if menu {
		card["task_id"] = "menu-task"
		card["action_menu"] = map[string]any{"desc": "d", "action_list": []any{map[string]any{"text": "不再提醒", "key": "mute"}}}
	}
	return map[string]any{"touser": to, "msgtype": "template_card", "agentid": agentID, "template_card": card}
}

// with returns a copy of a send body's template_card with one field set
// (or deleted when v is nil).
func withCard(body map[string]any, key string, v any) map[string]any {
	b, _ := json.Marshal(body)
	var out map[string]any
	json.Unmarshal(b, &out) //nolint:errcheck
	card := out["template_card"].(map[string]any)
	if v == nil {
		delete(card, key)
	} else {
		card[key] = v
	}
	return out
}

func buttons(n int, dupKey bool) []any {
	var out []any
	for i := range n {
		key := fmt.Sprintf("k%d", i)
		if dupKey {
			key = "same"
		}
		out = append(out, map[string]any{"text": "b", "key": key})
	}
	return out
}

func userList(n int, prefix string) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return strings.Join(ids, "|")
}

func TestSendResponseShape(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name     string
		body     map[string]any
		wantCode bool
	}{
		{"text", text("zhangsan", "hi"), false},
		{"button_interaction", buttonCard("zhangsan", "t1"), true},
		{"text_notice", textNotice("zhangsan", false), false},
		{"text_notice with action_menu", textNotice("zhangsan", true), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := f.post("app", "message/send", tt.body)
			wantErrcode(t, m, 0)
			for _, k := range []string{"errmsg", "invaliduser", "invalidparty", "invalidtag", "unlicenseduser", "msgid"} {
				if _, ok := m[k].(string); !ok {
					t.Errorf("answer lacks string %q: %v", k, m)
				}
			}
			if _, ok := m["response_code"]; ok != tt.wantCode {
				t.Errorf("response_code present = %v, want %v", ok, tt.wantCode)
			}
		})
	}
}

func TestSendValidation(t *testing.T) {
	long := strings.Repeat("字", 683) // 2049 bytes
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"no recipients", map[string]any{"msgtype": "text", "agentid": agentID, "text": map[string]any{"content": "x"}}, 82001},
		{"1000 users", text(userList(999, "nobody")+"|zhangsan", "x"), 0},
		{"1001 users", text(userList(1001, "nobody"), "x"), 40032},
		{"101 parties", map[string]any{"toparty": userList(101, ""), "msgtype": "text", "agentid": agentID, "text": map[string]any{"content": "x"}}, 82002},
		{"101 tags", map[string]any{"totag": userList(101, ""), "msgtype": "text", "agentid": agentID, "text": map[string]any{"content": "x"}}, 82003},
		{"empty text", text("zhangsan", ""), 44004},
		{"no text object", map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": agentID}, 44004},
		{"long text is truncated", text("zhangsan", long), 0},
		{"long markdown", map[string]any{"touser": "zhangsan", "msgtype": "markdown", "agentid": agentID, "markdown": map[string]any{"content": long}}, 45002},
		{"markdown", map[string]any{"touser": "zhangsan", "msgtype": "markdown", "agentid": agentID, "markdown": map[string]any{"content": "**b**"}}, 0},
		{"unknown msgtype", map[string]any{"touser": "zhangsan", "msgtype": "telegram", "agentid": agentID}, 40008},
		{"textcard", map[string]any{"touser": "zhangsan", "msgtype": "textcard", "agentid": agentID, "textcard": map[string]any{"title": "t", "description": "d", "url": "https://x"}}, 0},
		{"textcard without description", map[string]any{"touser": "zhangsan", "msgtype": "textcard", "agentid": agentID, "textcard": map[string]any{"title": "t", "url": "https://x"}}, 41033},
		{"textcard url without scheme", map[string]any{"touser": "zhangsan", "msgtype": "textcard", "agentid": agentID, "textcard": map[string]any{"title": "t", "description": "d", "url": "x.com"}}, 45034},
		{"image without media_id", map[string]any{"touser": "zhangsan", "msgtype": "image", "agentid": agentID, "image": map[string]any{}}, 41006},
		{"news with 9 articles", map[string]any{"touser": "zhangsan", "msgtype": "news", "agentid": agentID, "news": map[string]any{"articles": slices.Repeat([]any{map[string]any{"title": "t", "url": "https://x"}}, 9)}}, 45008},
		{"safe news", map[string]any{"touser": "zhangsan", "msgtype": "news", "agentid": agentID, "safe": 1, "news": map[string]any{"articles": []any{map[string]any{"title": "t", "url": "https://x"}}}}, 40074},
		{"card without task_id", withCard(buttonCard("zhangsan", "t"), "task_id", nil), 42014},
		{"card with a bad task_id", buttonCard("zhangsan", "has space"), 42014},
		{"card type", withCard(buttonCard("zhangsan", "t"), "card_type", "taskcard"), 42031},
		{"card with 6 buttons", withCard(buttonCard("zhangsan", "t"), "button_list", buttons(6, false)), 0},
		{"card with 7 buttons", withCard(buttonCard("zhangsan", "t"), "button_list", buttons(7, false)), 40058},
		{"card without buttons", withCard(buttonCard("zhangsan", "t"), "button_list", []any{}), 40058},
		{"card with duplicate keys", withCard(buttonCard("zhangsan", "t"), "button_list", buttons(2, true)), 42039},
		{"card without title", withCard(buttonCard("zhangsan", "t"), "main_title", nil), 42033},
		{"text_notice without card_action", withCard(textNotice("zhangsan", false), "card_action", nil), 42045},
		{"7 horizontal items", withCard(textNotice("zhangsan", false), "horizontal_content_list", slices.Repeat([]any{map[string]any{"keyname": "k"}}, 7)), 42035},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			wantErrcode(t, f.post("app", "message/send", tt.body), tt.want)
			delivered := len(f.s.Inbox("zhangsan"))
			if tt.want == 0 && delivered != 1 || tt.want != 0 && delivered != 0 {
				t.Errorf("delivered %d", delivered)
			}
		})
	}
}

func TestSendTruncatesText(t *testing.T) {
	f := newFake(t)
	long := strings.Repeat("字", 683) // 2049 bytes: the cut must not split a rune
	wantErrcode(t, f.post("app", "message/send", text("zhangsan", long)), 0)
	im := f.s.Inbox("zhangsan")[0]
	if !im.Truncated || len(im.Content) != 2046 || im.Content != long[:2046] {
		t.Errorf("content %d bytes, truncated %v; want 2046 bytes (682 runes)", len(im.Content), im.Truncated)
	}
	var sent struct{ Content string }
	json.Unmarshal(im.Message, &sent) //nolint:errcheck
	if sent.Content != long {
		t.Errorf("Message is not the object as sent")
	}
}

func TestSendRecipients(t *testing.T) {
	tests := []struct {
		name                      string
		touser, toparty, totag    string
		want                      []string // who gets it
		invUser, invParty, invTag string
		errcode                   int
	}{
		{name: "users, case-insensitive", touser: "ZhangSan|lisi|zhangsan", want: []string{"zhangsan", "lisi"}},
		{name: "unknown users lower-cased", touser: "zhangsan|Ghost|GHOST|left|disabled", want: []string{"zhangsan"}, invUser: "ghost|left|disabled"},
		{name: "all invalid", touser: "Ghost|nobody", errcode: 81013, invUser: "ghost|nobody"},
		{name: "all invalid parties and tags", touser: "ghost", toparty: "99", totag: "98", errcode: 81013, invUser: "ghost", invParty: "99", invTag: "98"},
		{name: "party with sub-departments", toparty: "2", want: []string{"lisi", "wangwu", "zhaoliu"}},
		{name: "party and user overlap", touser: "lisi", toparty: "2 | 99", want: []string{"lisi", "wangwu", "zhaoliu"}, invParty: "99"},
		{name: "tag", totag: "7", want: []string{"zhangsan", "zhaoliu"}},
		{name: "@all ignores party and tag", touser: "@all", toparty: "99", want: []string{"zhangsan", "lisi", "wangwu", "zhaoliu"}},
	}
	everyone := []string{"zhangsan", "lisi", "wangwu", "zhaoliu", "left", "disabled"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			body := map[string]any{"touser": tt.touser, "toparty": tt.toparty, "totag": tt.totag, "msgtype": "text", "agentid": agentID, "text": map[string]any{"content": "x"}}
			m := f.post("app", "message/send", body)
			wantErrcode(t, m, tt.errcode)
			if m["invaliduser"] != tt.invUser || m["invalidparty"] != tt.invParty || m["invalidtag"] != tt.invTag {
				t.Errorf("invalid = %q %q %q, want %q %q %q", m["invaliduser"], m["invalidparty"], m["invalidtag"], tt.invUser, tt.invParty, tt.invTag)
			}
			if tt.errcode != 0 {
				if _, ok := m["msgid"]; ok {
					t.Errorf("failed send has a msgid")
				}
			}
			for _, u := range everyone {
				got := len(f.s.Inbox(u))
				if want := slices.Contains(tt.want, u); got != map[bool]int{true: 1, false: 0}[want] {
					t.Errorf("%s got %d messages", u, got)
				}
			}
		})
	}
}

func TestPerMemberLimits(t *testing.T) {
	t.Run("30 a minute", func(t *testing.T) {
		f := newFake(t)
		for i := range 31 {
			wantErrcode(t, f.post("app", "message/send", text("zhangsan|lisi", fmt.Sprint(i))), 0)
			f.clk.Advance(time.Second)
		}
		if n := len(f.s.Inbox("zhangsan")); n != 30 {
			t.Fatalf("delivered %d in a minute, want 30", n)
		}
		if got := f.s.Drops("zhangsan"); got != 1 {
			t.Errorf("Drops = %d, want 1", got)
		}
		// Another app has its own window.
		other := map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": otherID, "text": map[string]any{"content": "o"}}
		wantErrcode(t, f.post("other", "message/send", other), 0)
		if n := len(f.s.Inbox("zhangsan")); n != 31 {
			t.Errorf("other app's message dropped")
		}
		// The window rolls: the first message (t=0) leaves it at t=60s.
		f.clk.Advance(60*time.Second - 31*time.Second)
		wantErrcode(t, f.post("app", "message/send", text("zhangsan", "after")), 0)
		if last := f.s.Inbox("zhangsan"); last[len(last)-1].Content != "after" {
			t.Errorf("message after the window was dropped")
		}
		wantErrcode(t, f.post("app", "message/send", text("zhangsan", "again")), 0)
		if last := f.s.Inbox("zhangsan"); last[len(last)-1].Content == "again" {
			t.Errorf("31st message within a rolling minute delivered")
		}
	})
	t.Run("1000 an hour", func(t *testing.T) {
		f := newFake(t)
		for i := range 1001 {
			wantErrcode(t, f.post("app", "message/send", text("lisi", fmt.Sprint(i))), 0)
			f.clk.Advance(3 * time.Second) // 20 a minute: under the minute limit
		}
		if n := len(f.s.Inbox("lisi")); n != 1000 {
			t.Fatalf("delivered %d in an hour, want 1000", n)
		}
		// At t=3003s; the first message (t=0) leaves the hour at t=3600s.
		f.clk.Advance(3600*time.Second - 3003*time.Second)
		wantErrcode(t, f.post("app", "message/send", text("lisi", "late")), 0)
		if n := len(f.s.Inbox("lisi")); n != 1001 {
			t.Errorf("after the hour rolled: %d, want 1001", n)
		}
	})
	t.Run("configurable", func(t *testing.T) {
		f := newFake(t, func(c *wecomtest.ServerConfig) { c.MemberPerMinute, c.MemberPerHour = 2, -1 })
		for i := range 3 {
			f.post("app", "message/send", text("zhangsan", fmt.Sprint(i)))
		}
		if n := len(f.s.Inbox("zhangsan")); n != 2 {
			t.Errorf("MemberPerMinute 2 delivered %d", n)
		}
	})
}

func TestDuplicateCheck(t *testing.T) {
	dup := func(content string, interval int) map[string]any {
		b := text("zhangsan", content)
		b["enable_duplicate_check"] = 1
		if interval != 0 {
			b["duplicate_check_interval"] = interval
		}
		return b
	}
	tests := []struct {
		name      string
		second    map[string]any
		after     time.Duration
		delivered int
		sameMsgID bool
	}{
		{"same body within default 1800 s", dup("x", 0), 1799 * time.Second, 1, true},
		{"same body after 1800 s", dup("x", 0), 1800 * time.Second, 2, false},
		{"other body", dup("y", 0), time.Second, 2, false},
		{"interval 60 s, within", dup("x", 60), 59 * time.Second, 1, true},
		{"interval 60 s, after", dup("x", 60), 61 * time.Second, 2, false},
		{"interval above 4 h is 4 h", dup("x", 86400), 4*time.Hour + time.Second, 2, false},
		{"without the check", text("zhangsan", "x"), time.Second, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			first := dup("x", 0)
			if tt.second["duplicate_check_interval"] != nil {
				first["duplicate_check_interval"] = tt.second["duplicate_check_interval"]
			}
			if tt.second["enable_duplicate_check"] == nil {
				delete(first, "enable_duplicate_check")
			}
			m1 := f.post("app", "message/send", first)
			f.clk.Advance(tt.after)
			m2 := f.post("app", "message/send", tt.second)
			wantErrcode(t, m2, 0)
			if n := len(f.s.Inbox("zhangsan")); n != tt.delivered {
				t.Errorf("delivered %d, want %d", n, tt.delivered)
			}
			if (m1["msgid"] == m2["msgid"]) != tt.sameMsgID {
				t.Errorf("msgids %v %v; same wanted = %v", m1["msgid"], m2["msgid"], tt.sameMsgID)
			}
		})
	}
	t.Run("a duplicate card answers the same response_code", func(t *testing.T) {
		f := newFake(t)
		b := buttonCard("zhangsan", "dup-task")
		b["enable_duplicate_check"] = 1
		m1 := f.post("app", "message/send", b)
		m2 := f.post("app", "message/send", b)
		wantErrcode(t, m2, 0)
		if m1["response_code"] == nil || m1["response_code"] != m2["response_code"] {
			t.Errorf("response codes %v %v", m1["response_code"], m2["response_code"])
		}
		delete(b, "enable_duplicate_check")
		wantErrcode(t, f.post("app", "message/send", b), 42014) // task_id already used
	})
}

func updateButton(code string, users ...string) map[string]any {
	return map[string]any{"userids": users, "agentid": agentID, "response_code": code, "button": map[string]any{"replace_name": "已确认"}}
}

func TestUpdateTemplateCard(t *testing.T) {
	f := newFake(t)
	m := f.post("app", "message/send", buttonCard("zhangsan|lisi", "task-1"))
	wantErrcode(t, m, 0)
	msgID, code := m["msgid"].(string), m["response_code"].(string)

	up := f.post("app", "message/update_template_card", updateButton(code, "ZhangSan", "Stranger"))
	wantErrcode(t, up, 0)
	if inv, _ := up["invaliduser"].([]any); len(inv) != 1 || inv[0] != "stranger" {
		t.Errorf("invaliduser = %v, want [stranger]", up["invaliduser"])
	}
	if got := f.s.Inbox("zhangsan")[0]; got.ReplaceName != "已确认" {
		t.Errorf("zhangsan's card: %+v", got)
	}
	if got := f.s.Inbox("lisi")[0]; got.ReplaceName != "" {
		t.Errorf("lisi's card was updated too")
	}
	wantErrcode(t, f.post("app", "message/update_template_card", updateButton(code, "lisi")), 60140) // single use

	if _, err := f.s.Click("zhangsan", msgID, "ack"); err == nil {
		t.Errorf("clicked a greyed-out card")
	}
	if _, err := f.s.Click("lisi", msgID, "nope"); err == nil {
		t.Errorf("clicked an unknown key")
	}
	ev, err := f.s.Click("lisi", msgID, "nack")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != "template_card_event" || ev.FromUserName != "lisi" || ev.TaskID != "task-1" || ev.CardType != "button_interaction" ||
		ev.EventKey != "nack" || ev.AgentID != agentID || ev.ToUserName != corpID || ev.ResponseCode == "" || ev.ResponseCode == code {
		t.Errorf("click event %+v", ev)
	}
	if got := f.s.Inbox("lisi")[0]; got.Clicked != "nack" {
		t.Errorf("Clicked = %q", got.Clicked)
	}
	newCard := map[string]any{
		"card_type": "button_interaction", "main_title": map[string]any{"title": "已处理"},
		"button_list": []any{map[string]any{"text": "x", "key": "x"}}, "replace_text": "已拒绝",
	}
	whole := map[string]any{"userids": []string{"lisi"}, "agentid": agentID, "response_code": ev.ResponseCode, "template_card": newCard}
	wantErrcode(t, f.post("app", "message/update_template_card", whole), 0)
	got := f.s.Inbox("lisi")[0]
	if got.ReplaceText != "已拒绝" || !strings.Contains(string(got.Card), "已处理") || got.CardType != "button_interaction" || got.TaskID != "task-1" {
		t.Errorf("lisi's card after replace: %+v", got)
	}
	if !strings.Contains(string(got.Message), "请确认") {
		t.Errorf("Message is not the card as sent")
	}
	wantErrcode(t, f.post("app", "message/update_template_card", whole), 60140) // a click code is single use too
}

func TestUpdateTemplateCardErrors(t *testing.T) {
	f := newFake(t)
	tasks := 0
	send := func(t *testing.T) (string, string) {
		t.Helper()
		tasks++
		m := f.post("app", "message/send", buttonCard("zhangsan|lisi", fmt.Sprint("task-", tasks)))
		wantErrcode(t, m, 0)
		return m["msgid"].(string), m["response_code"].(string)
	}
	_, code := send(t)
	tests := []struct {
		name string
		app  string
		body map[string]any
		want int
	}{
		{"unknown code", "app", updateButton("nope", "zhangsan"), 60140},
		{"no code", "app", updateButton("", "zhangsan"), 40058},
		{"no target", "app", map[string]any{"agentid": agentID, "response_code": code, "button": map[string]any{"replace_name": "x"}}, 82101},
		{"empty replace_name", "app", map[string]any{"userids": []string{"lisi"}, "agentid": agentID, "response_code": code, "button": map[string]any{}}, 42020},
		{"neither button nor card", "app", map[string]any{"userids": []string{"lisi"}, "agentid": agentID, "response_code": code}, 40058},
		{"bad card", "app", map[string]any{"userids": []string{"lisi"}, "agentid": agentID, "response_code": code, "template_card": map[string]any{"card_type": "x"}}, 42031},
		{"1001 userids", "app", updateButton(code, strings.Split(userList(1001, "u"), "|")...), 40032},
		{"no valid target keeps the code", "app", updateButton(code, "ghost"), 81013},
		{"another app", "other", map[string]any{"userids": []string{"lisi"}, "agentid": otherID, "response_code": code, "button": map[string]any{"replace_name": "x"}}, 42015},
		{"then the code still works, atall", "app", map[string]any{"atall": 1, "agentid": agentID, "response_code": code, "button": map[string]any{"replace_name": "x"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErrcode(t, f.post(tt.app, "message/update_template_card", tt.body), tt.want)
		})
	}
	if f.s.Inbox("zhangsan")[0].ReplaceName != "x" || f.s.Inbox("lisi")[0].ReplaceName != "x" {
		t.Errorf("atall did not update every recipient")
	}

	t.Run("72 h", func(t *testing.T) {
		msgID, code := send(t)
		ev, err := f.s.Click("zhangsan", msgID, "ack")
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(72*time.Hour - time.Second)
		wantErrcode(t, f.post("app", "message/update_template_card", updateButton(code, "lisi")), 0)
		_, code2 := send(t)
		f.clk.Advance(time.Second)
		wantErrcode(t, f.post("app", "message/update_template_card", updateButton(ev.ResponseCode, "zhangsan")), 60140)
		f.clk.Advance(72*time.Hour - time.Second)
		wantErrcode(t, f.post("app", "message/update_template_card", updateButton(code2, "lisi")), 60140)
	})
	t.Run("party target", func(t *testing.T) {
		m := f.post("app", "message/send", map[string]any{"toparty": "2", "msgtype": "template_card", "agentid": agentID,
			"template_card": buttonCard("", "party-task")["template_card"]})
		wantErrcode(t, m, 0)
		body := map[string]any{"partyids": []int{3}, "agentid": agentID, "response_code": m["response_code"], "button": map[string]any{"replace_name": "ok"}}
		wantErrcode(t, f.post("app", "message/update_template_card", body), 0)
		in := f.s.Inbox("wangwu")
		if in[len(in)-1].ReplaceName != "ok" {
			t.Errorf("party 3's member not updated")
		}
		in = f.s.Inbox("lisi")
		if in[len(in)-1].ReplaceName != "" {
			t.Errorf("party 2's member updated by partyids [3]")
		}
	})
}

func TestClickEventBuildsCallback(t *testing.T) {
	f := newFake(t)
	m := f.post("app", "message/send", textNotice("zhangsan", true))
	ev, err := f.s.Click("zhangsan", m["msgid"].(string), "mute")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != "template_card_menu_event" || ev.CardType != "text_notice" || ev.TaskID != "menu-task" {
		t.Errorf("menu click %+v", ev)
	}
	plain, err := wecomtest.BuildEvent(ev.Spec())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ev.ResponseCode, "<EventKey><![CDATA[mute]]>", "<TaskId><![CDATA[menu-task]]>", "<FromUserName><![CDATA[zhangsan]]>", corpID} {
		if !strings.Contains(string(plain), want) {
			t.Errorf("event lacks %q:\n%s", want, plain)
		}
	}
	wantErrcode(t, f.post("app", "message/update_template_card", updateButton(ev.ResponseCode, "zhangsan")), 40058) // no button on a text_notice
	if _, err := f.s.Click("lisi", m["msgid"].(string), "mute"); err == nil {
		t.Errorf("a non-recipient clicked")
	}
}

func TestRecall(t *testing.T) {
	f := newFake(t)
	send := func() string {
		m := f.post("app", "message/send", text("zhangsan|lisi", "oops"))
		wantErrcode(t, m, 0)
		return m["msgid"].(string)
	}
	id := send()
	wantErrcode(t, f.post("other", "message/recall", map[string]any{"msgid": id}), 40058)
	wantErrcode(t, f.post("app", "message/recall", map[string]any{"msgid": "nope"}), 40058)
	wantErrcode(t, f.post("app", "message/recall", map[string]any{}), 40058)
	f.clk.Advance(24*time.Hour - time.Second)
	wantErrcode(t, f.post("app", "message/recall", map[string]any{"msgid": id}), 0)
	for _, u := range []string{"zhangsan", "lisi"} {
		if in := f.s.Inbox(u); !in[0].Recalled {
			t.Errorf("%s's message not recalled", u)
		}
	}
	id2 := send()
	f.clk.Advance(24 * time.Hour)
	wantErrcode(t, f.post("app", "message/recall", map[string]any{"msgid": id2}), 42052)
	if f.s.Inbox("zhangsan")[1].Recalled {
		t.Errorf("expired recall took effect")
	}
}

func TestNoCallbackApp(t *testing.T) {
	f := newFake(t, func(c *wecomtest.ServerConfig) {
		c.Apps = map[string]wecomtest.AppConfig{"app": {Secret: "app-secret", AgentID: agentID, NoCallback: true}}
	})
	wantErrcode(t, f.post("app", "message/send", buttonCard("zhangsan", "t")), 43012)
	wantErrcode(t, f.post("app", "message/send", textNotice("zhangsan", false)), 0)
}
