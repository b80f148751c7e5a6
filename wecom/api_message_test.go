package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%04d", i)
	}
	return out
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i + 1)
	}
	return out
}

// buttonCard is the button_interaction example of path/90236.
func buttonCard() *TemplateCard {
	return &TemplateCard{
		CardType:     CardButtonInteraction,
		Source:       &CardSource{IconURL: "图片的url", Desc: "企业微信", DescColor: 1},
		MainTitle:    &CardMainTitle{Title: "欢迎使用企业微信", Desc: "您的好友正在邀请您加入企业微信"},
		QuoteArea:    &CardQuoteArea{Type: 1, URL: "https://work.weixin.qq.com", Title: "企业微信的引用样式", QuoteText: "企业微信真好用呀真好用"},
		SubTitleText: "下载企业微信还能抢红包！",
		HorizontalContentList: []CardHorizontalContent{
			{KeyName: "邀请人", Value: "张三"},
			{Type: 1, KeyName: "企业微信官网", Value: "点击访问", URL: "https://work.weixin.qq.com"},
			{Type: 3, KeyName: "员工信息", Value: "点击查看", UserID: "zhangsan"},
		},
		CardAction: &CardAction{Type: 2, URL: "https://work.weixin.qq.com", AppID: "小程序的appid", PagePath: "/index.html"},
		TaskID:     "task_id",
		ButtonSelection: &CardButtonSelection{QuestionKey: "btn_question_key1", Title: "企业微信评分",
			OptionList: []CardOption{{ID: "btn_selection_id1", Text: "100分"}, {ID: "btn_selection_id2", Text: "101分"}},
			SelectedID: "btn_selection_id1"},
		ButtonList: []CardButton{{Text: "按钮1", Style: 1, Key: "button_key_1"}, {Text: "按钮2", Style: 2, Key: "button_key_2"}},
	}
}

func textNoticeCard() *TemplateCard {
	return &TemplateCard{
		CardType:        CardTextNotice,
		MainTitle:       &CardMainTitle{Title: "合规告知"},
		EmphasisContent: &CardEmphasisContent{Title: "100", Desc: "核心数据"},
		JumpList:        []CardJump{{Type: 1, Title: "企业微信官网", URL: "https://work.weixin.qq.com"}},
		CardAction:      &CardAction{Type: 1, URL: "https://work.weixin.qq.com"},
	}
}

func textMessage(content string) Message {
	return Message{ToUser: []string{"zhangsan"}, MsgType: MsgText, Text: &Text{Content: content}}
}

func mustClient(t *testing.T) *Client {
	t.Helper()
	return newTestEnv(t).c
}

func TestMessageBody(t *testing.T) {
	c := mustClient(t)
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"text, recipients joined with |, no HTML escaping",
			Message{ToUser: []string{"UserID1", "UserID2"}, ToParty: []string{"1", "2"}, ToTag: []string{"3"}, MsgType: MsgText,
				Text: &Text{Content: "你的快递已到\n<a href=\"https://work.weixin.qq.com\">A&B</a>"}},
			`{"touser":"UserID1|UserID2","toparty":"1|2","totag":"3","msgtype":"text","agentid":1000002,"text":{"content":"你的快递已到\n<a href=\"https://work.weixin.qq.com\">A&B</a>"}}`},
		{"flags as 0/1, interval only with the duplicate check",
			Message{ToUser: []string{"u"}, MsgType: MsgText, Text: &Text{Content: "hi"}, Safe: 1, EnableIDTrans: true,
				EnableDuplicateCheck: true, DuplicateCheckInterval: 14400},
			`{"touser":"u","msgtype":"text","agentid":1000002,"text":{"content":"hi"},"safe":1,"enable_id_trans":1,"enable_duplicate_check":1,"duplicate_check_interval":14400}`},
		{"interval without the duplicate check is not sent",
			Message{ToUser: []string{"u"}, MsgType: MsgText, Text: &Text{Content: "hi"}, DuplicateCheckInterval: 600},
			`{"touser":"u","msgtype":"text","agentid":1000002,"text":{"content":"hi"}}`},
		{"text of exactly 2048 bytes", textMessage(strings.Repeat("a", 2048)),
			`{"touser":"zhangsan","msgtype":"text","agentid":1000002,"text":{"content":"` + strings.Repeat("a", 2048) + `"}}`},
		{"@all", Message{ToUser: []string{"@all"}, MsgType: MsgMarkdown, Markdown: &Markdown{Content: "**b**"}},
			`{"touser":"@all","msgtype":"markdown","agentid":1000002,"markdown":{"content":"**b**"}}`},
		{"party only", Message{ToParty: []string{"2"}, MsgType: MsgMarkdown, Markdown: &Markdown{Content: "# t"}},
			`{"toparty":"2","msgtype":"markdown","agentid":1000002,"markdown":{"content":"# t"}}`},
		{"textcard", Message{ToUser: []string{"u"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: "领奖通知",
			Description: `<div class="gray">2016年9月26日</div>`, URL: "https://example.com/x?a=1&b=2", BtnTxt: "更多"}},
			`{"touser":"u","msgtype":"textcard","agentid":1000002,"textcard":{"title":"领奖通知","description":"<div class=\"gray\">2016年9月26日</div>","url":"https://example.com/x?a=1&b=2","btntxt":"更多"}}`},
		{"button_interaction card as in path/90236",
			Message{ToUser: []string{"UserID1"}, MsgType: MsgTemplateCard, TemplateCard: buttonCard()},
			`{"touser":"UserID1","msgtype":"template_card","agentid":1000002,"template_card":{"card_type":"button_interaction",` +
				`"source":{"icon_url":"图片的url","desc":"企业微信","desc_color":1},"task_id":"task_id",` +
				`"main_title":{"title":"欢迎使用企业微信","desc":"您的好友正在邀请您加入企业微信"},` +
				`"quote_area":{"type":1,"url":"https://work.weixin.qq.com","title":"企业微信的引用样式","quote_text":"企业微信真好用呀真好用"},` +
				`"sub_title_text":"下载企业微信还能抢红包！","horizontal_content_list":[{"keyname":"邀请人","value":"张三"},` +
				`{"type":1,"keyname":"企业微信官网","value":"点击访问","url":"https://work.weixin.qq.com"},` +
				`{"type":3,"keyname":"员工信息","value":"点击查看","userid":"zhangsan"}],` +
				`"card_action":{"type":2,"url":"https://work.weixin.qq.com","appid":"小程序的appid","pagepath":"/index.html"},` +
				`"button_selection":{"question_key":"btn_question_key1","title":"企业微信评分","option_list":[{"id":"btn_selection_id1","text":"100分"},{"id":"btn_selection_id2","text":"101分"}],"selected_id":"btn_selection_id1"},` +
				`"button_list":[{"text":"按钮1","style":1,"key":"button_key_1"},{"text":"按钮2","style":2,"key":"button_key_2"}]}}`},
		{"text_notice card",
			Message{ToUser: []string{"u"}, MsgType: MsgTemplateCard, TemplateCard: textNoticeCard()},
			`{"touser":"u","msgtype":"template_card","agentid":1000002,"template_card":{"card_type":"text_notice",` +
				`"main_title":{"title":"合规告知"},"emphasis_content":{"title":"100","desc":"核心数据"},` +
				`"jump_list":[{"type":1,"title":"企业微信官网","url":"https://work.weixin.qq.com"}],"card_action":{"type":1,"url":"https://work.weixin.qq.com"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.MessageBody(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Error("body is not valid JSON")
			}
			again, _ := c.MessageBody(tt.m)
			if !bytes.Equal(got, again) {
				t.Error("MessageBody is not deterministic")
			}
		})
	}
}

func TestMessageBodyInvalid(t *testing.T) {
	c := mustClient(t)
	card := func(edit func(*TemplateCard)) Message {
		tc := buttonCard()
		edit(tc)
		return Message{ToUser: []string{"u"}, MsgType: MsgTemplateCard, TemplateCard: tc}
	}
	buttons := func(n int) []CardButton {
		out := make([]CardButton, n)
		for i := range out {
			out[i] = CardButton{Text: "b", Key: fmt.Sprint("k", i)}
		}
		return out
	}
	tests := []struct {
		name      string
		m         Message
		field     string // InvalidError.Field
		inProblem string // in InvalidError.Problem
	}{
		{"1001 users", Message{ToUser: users(1001), MsgType: MsgText, Text: &Text{Content: "x"}}, "touser", "1001 users, at most 1000"},
		{"no recipients", Message{MsgType: MsgText, Text: &Text{Content: "x"}}, "touser", "no recipients"},
		{"empty user id", Message{ToUser: []string{"a", ""}, MsgType: MsgText, Text: &Text{Content: "x"}}, "touser[1]", "1 to 64 bytes"},
		{"user id over 64 bytes", Message{ToUser: []string{strings.Repeat("u", 65)}, MsgType: MsgText, Text: &Text{Content: "x"}}, "touser[0]", "1 to 64 bytes"},
		{"user id with |", Message{ToUser: []string{"a|b"}, MsgType: MsgText, Text: &Text{Content: "x"}}, "touser[0]", `"|"`},
		{"@all with others", Message{ToUser: []string{"@all", "u"}, MsgType: MsgText, Text: &Text{Content: "x"}}, "touser", "@all"},
		{"101 parties", Message{ToParty: ids(101), MsgType: MsgText, Text: &Text{Content: "x"}}, "toparty", "101 ids, at most 100"},
		{"101 tags", Message{ToTag: ids(101), MsgType: MsgText, Text: &Text{Content: "x"}}, "totag", "101 ids, at most 100"},
		{"party not numeric", Message{ToParty: []string{"sales"}, MsgType: MsgText, Text: &Text{Content: "x"}}, "toparty[0]", "not a numeric id"},
		{"no msgtype", Message{ToUser: []string{"u"}, Text: &Text{Content: "x"}}, "msgtype", "missing"},
		{"unsupported msgtype", Message{ToUser: []string{"u"}, MsgType: "mpnews"}, "msgtype", `"mpnews" is not supported`},
		{"payload missing", Message{ToUser: []string{"u"}, MsgType: MsgMarkdown}, "markdown", "missing for msgtype markdown"},
		{"payload of another type", Message{ToUser: []string{"u"}, MsgType: MsgMarkdown, Text: &Text{Content: "x"}}, "text", "set, but msgtype is markdown"},
		{"second payload", Message{ToUser: []string{"u"}, MsgType: MsgText, Text: &Text{Content: "x"}, Markdown: &Markdown{Content: "y"}}, "markdown", "msgtype is text"},
		{"empty text", textMessage(""), "text.content", "empty"},
		{"text of 2049 bytes", textMessage(strings.Repeat("a", 2049)), "text.content", "2049 bytes, at most 2048"},
		{"markdown over 2048 bytes in CJK", Message{ToUser: []string{"u"}, MsgType: MsgMarkdown, Markdown: &Markdown{Content: strings.Repeat("中", 683)}}, "markdown.content", "2049 bytes, at most 2048"},
		{"text not UTF-8", textMessage("\xff\xfe"), "text.content", "UTF-8"},
		{"safe 2", Message{ToUser: []string{"u"}, MsgType: MsgText, Text: &Text{Content: "x"}, Safe: 2}, "safe", "want 0 or 1"},
		{"interval over 4 hours", Message{ToUser: []string{"u"}, MsgType: MsgText, Text: &Text{Content: "x"}, EnableDuplicateCheck: true, DuplicateCheckInterval: 14401}, "duplicate_check_interval", "14401 seconds"},
		{"textcard without url", Message{ToUser: []string{"u"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: "t", Description: "d"}}, "textcard.url", "1 to 2048 bytes"},
		{"textcard url without scheme", Message{ToUser: []string{"u"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: "t", Description: "d", URL: "example.com"}}, "textcard.url", "http(s)"},
		{"textcard title of 129 characters", Message{ToUser: []string{"u"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: strings.Repeat("题", 129), Description: "d", URL: "https://e"}}, "textcard.title", "129 characters, at most 128"},
		{"textcard btntxt of 5 characters", Message{ToUser: []string{"u"}, MsgType: MsgTextCard, TextCard: &TextCard{Title: "t", Description: "d", URL: "https://e", BtnTxt: "五个字按钮"}}, "textcard.btntxt", "at most 4"},
		{"card type", card(func(c *TemplateCard) { c.CardType = "vote_interaction" }), "template_card.card_type", "not supported"},
		{"task_id missing", card(func(c *TemplateCard) { c.TaskID = "" }), "template_card.task_id", "missing"},
		{"task_id charset", card(func(c *TemplateCard) { c.TaskID = "task id" }), "template_card.task_id", "[0-9A-Za-z_-@]"},
		{"task_id of 129 bytes", card(func(c *TemplateCard) { c.TaskID = strings.Repeat("t", 129) }), "template_card.task_id", "1 to 128 bytes"},
		{"no main title", card(func(c *TemplateCard) { c.MainTitle = nil }), "template_card.main_title.title", "missing"},
		{"no buttons", card(func(c *TemplateCard) { c.ButtonList = nil }), "template_card.button_list", "0 buttons, want 1 to 6"},
		{"7 buttons", card(func(c *TemplateCard) { c.ButtonList = buttons(7) }), "template_card.button_list", "7 buttons, want 1 to 6"},
		{"button without key", card(func(c *TemplateCard) { c.ButtonList[1].Key = "" }), "template_card.button_list[1].key", "1 to 1024 bytes"},
		{"button key over 1024 bytes", card(func(c *TemplateCard) { c.ButtonList[0].Key = strings.Repeat("k", 1025) }), "template_card.button_list[0].key", "1 to 1024 bytes"},
		{"duplicate button keys", card(func(c *TemplateCard) { c.ButtonList[1].Key = c.ButtonList[0].Key }), "template_card.button_list[1].key", "repeats"},
		{"url button without url", card(func(c *TemplateCard) { c.ButtonList[0] = CardButton{Type: 1, Text: "open"} }), "template_card.button_list[0].url", "missing"},
		{"button without text", card(func(c *TemplateCard) { c.ButtonList[0].Text = "" }), "template_card.button_list[0].text", "missing"},
		{"selection without options", card(func(c *TemplateCard) { c.ButtonSelection.OptionList = nil }), "template_card.button_selection.option_list", "0 options, want 1 to 10"},
		{"duplicate option ids", card(func(c *TemplateCard) { c.ButtonSelection.OptionList[1].ID = c.ButtonSelection.OptionList[0].ID }), "template_card.button_selection.option_list[1].id", "repeats"},
		{"7 horizontal items", card(func(c *TemplateCard) { c.HorizontalContentList = make([]CardHorizontalContent, 7) }), "template_card.horizontal_content_list", "7 items, at most 6"},
		{"horizontal item without keyname", card(func(c *TemplateCard) { c.HorizontalContentList[0].KeyName = "" }), "template_card.horizontal_content_list[0].keyname", "missing"},
		{"replace_text when sending", card(func(c *TemplateCard) { c.ReplaceText = "done" }), "template_card.replace_text", "update_template_card"},
		{"text_notice without card_action", Message{ToUser: []string{"u"}, MsgType: MsgTemplateCard, TemplateCard: func() *TemplateCard {
			tc := textNoticeCard()
			tc.CardAction = nil
			return tc
		}()}, "template_card.card_action", "missing"},
		{"text_notice card_action type 0", Message{ToUser: []string{"u"}, MsgType: MsgTemplateCard, TemplateCard: func() *TemplateCard {
			tc := textNoticeCard()
			tc.CardAction = &CardAction{}
			return tc
		}()}, "template_card.card_action.type", "want 1 (url) or 2"},
		{"text_notice with action_menu but no task_id", Message{ToUser: []string{"u"}, MsgType: MsgTemplateCard, TemplateCard: func() *TemplateCard {
			tc := textNoticeCard()
			tc.ActionMenu = &CardActionMenu{ActionList: []CardMenuAction{{Text: "a", Key: "A"}}}
			return tc
		}()}, "template_card.task_id", "missing"},
		{"text_notice with buttons", Message{ToUser: []string{"u"}, MsgType: MsgTemplateCard, TemplateCard: func() *TemplateCard {
			tc := textNoticeCard()
			tc.ButtonList = buttons(1)
			return tc
		}()}, "template_card.button_list", "only for button_interaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := c.MessageBody(tt.m)
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("MessageBody = %s, %v; want an InvalidError", body, err)
			}
			if ie.Field != tt.field || !strings.Contains(ie.Problem, tt.inProblem) {
				t.Errorf("error %q: field %q, problem %q; want field %q, problem containing %q", err, ie.Field, ie.Problem, tt.field, tt.inProblem)
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.HasPrefix(err.Error(), "wecom: message/send: ") {
				t.Errorf("error %q should name the operation and the field", err)
			}
			if Classify(err) != ActionPermanent {
				t.Errorf("Classify = %v, want permanent", Classify(err))
			}
		})
	}
}

func TestMessageBodyNeedsAgentID(t *testing.T) {
	env := newTestEnv(t, func(c *ClientConfig) { c.AgentID = 0 })
	if _, err := env.c.MessageBody(textMessage("x")); err == nil || !strings.Contains(err.Error(), "wecom.agent_id") {
		t.Fatalf("err = %v, want one naming wecom.agent_id", err)
	}
}

func TestSendMessage(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   SendResult
	}{
		{"the example of path/90236",
			`{"errcode":0,"errmsg":"ok","invaliduser":"userid1|userid2","invalidparty":"partyid1|partyid2","invalidtag":"tagid1|tagid2","unlicenseduser":"userid3|userid4","msgid":"xxxx","response_code":"xyzxyz"}`,
			SendResult{MsgID: "xxxx", ResponseCode: "xyzxyz", InvalidUsers: []string{"userid1", "userid2"},
				InvalidParties: []string{"partyid1", "partyid2"}, InvalidTags: []string{"tagid1", "tagid2"}, UnlicensedUsers: []string{"userid3", "userid4"}}},
		{"empty strings are nil lists",
			`{"errcode":0,"errmsg":"ok","invaliduser":"","invalidparty":"","invalidtag":"","unlicenseduser":"","msgid":"m1"}`,
			SendResult{MsgID: "m1"}},
		{"fields absent", `{"errcode":0,"errmsg":"ok","msgid":"m2"}`, SendResult{MsgID: "m2"}},
		{"one invalid user", `{"errcode":0,"errmsg":"ok","invaliduser":"lisi","msgid":"m3"}`, SendResult{MsgID: "m3", InvalidUsers: []string{"lisi"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.wecom.answer("/cgi-bin/message/send", tt.answer)
			m := Message{ToUser: []string{"zhangsan", "lisi"}, MsgType: MsgText, Text: &Text{Content: "hi"}, EnableDuplicateCheck: true}
			got, err := env.c.SendMessage(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("result %+v, want %+v", *got, tt.want)
			}
			reqs := env.wecom.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			want, _ := env.c.MessageBody(m)
			if r.Method != "POST" || r.Path != "/cgi-bin/message/send" || len(r.Query) != 0 || !bytes.Equal(r.Body, want) {
				t.Errorf("request %s %s ?%v %s; want POST /cgi-bin/message/send with only the token and body %s", r.Method, r.Path, r.Query, r.Body, want)
			}
		})
	}
}

func TestSendMessageErrcodeIsAnError(t *testing.T) {
	for _, code := range []int{CodeAllRecipientsInvalid, CodeFrequencyLimit, CodeSystemBusy, CodeContentTooLarge} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			env := newTestEnv(t)
			// An errcode with success fields alongside is still an error.
			env.wecom.answer("/cgi-bin/message/send", fmt.Sprintf(`{"errcode":%d,"errmsg":"x","msgid":"m","invaliduser":"a|b"}`, code))
			res, err := env.c.SendMessage(context.Background(), textMessage("x"))
			var apiErr *APIError
			if res != nil || !errors.As(err, &apiErr) || apiErr.Code != code || apiErr.Op != "message/send" {
				t.Fatalf("SendMessage = %+v, %v; want nil and an APIError %d", res, err, code)
			}
		})
	}
}

// TestSendMessageBodyIsSentAsIs: the caller's bytes go out unchanged,
// every time, including the retry after a rejected token.
func TestSendMessageBodyIsSentAsIs(t *testing.T) {
	env := newTestEnv(t)
	body := []byte(`{"touser":"u","msgtype":"text","agentid":1000002,"text":{"content":"x"},"enable_duplicate_check":1}`)
	if _, err := env.c.SendMessageBody(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	tok := env.tokens.token(AppMessages).value
	env.wecom.set(func(f *fakeWeCom) { f.rejectOnce[tok] = CodeAccessTokenExpired })
	if _, err := env.c.SendMessageBody(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	reqs := env.wecom.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if !bytes.Equal(r.Body, body) {
			t.Errorf("request %d body %s, want %s", i, r.Body, body)
		}
	}
	if _, err := env.c.SendMessageBody(context.Background(), nil); err == nil {
		t.Error("an empty body was accepted")
	}
}

func BenchmarkMessageBody(b *testing.B) {
	c := newTestEnv(b).c
	m := Message{ToUser: users(1000), MsgType: MsgTemplateCard, TemplateCard: buttonCard(), EnableDuplicateCheck: true, DuplicateCheckInterval: 14400}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.MessageBody(m); err != nil {
			b.Fatal(err)
		}
	}
}

// A send returns a response_code for a button card and for any card with
// an action_menu (WECOM.md §4.2), and only for those.
func TestNeedsResponseCode(t *testing.T) {
	menu := &CardActionMenu{ActionList: []CardMenuAction{{Text: "x", Key: "k"}}}
	for _, tt := range []struct {
		name string
		card TemplateCard
		want bool
	}{
		{"button card", TemplateCard{CardType: CardButtonInteraction}, true},
		{"text notice", TemplateCard{CardType: CardTextNotice}, false},
		{"text notice with an action menu", TemplateCard{CardType: CardTextNotice, ActionMenu: menu}, true},
	} {
		if got := tt.card.NeedsResponseCode(); got != tt.want {
			t.Errorf("%s: NeedsResponseCode() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
