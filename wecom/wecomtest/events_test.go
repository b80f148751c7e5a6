package wecomtest

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

const corpID = "wx5823bf96d3bd56c7"

func decode(t *testing.T, spec EventSpec) wecom.Event {
	t.Helper()
	b, err := BuildEvent(spec)
	if err != nil {
		t.Fatalf("BuildEvent: %v", err)
	}
	ev, err := wecom.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, b)
	}
	return ev
}

func as[T wecom.Event](t *testing.T, ev wecom.Event) T {
	t.Helper()
	v, ok := ev.(T)
	if !ok {
		var zero T
		t.Fatalf("decoded %T, want %T", ev, zero)
	}
	return v
}

func TestBuildEventDecodes(t *testing.T) {
	const ct = 1700000000
	tests := []struct {
		spec   EventSpec
		fields map[string]string
		check  func(t *testing.T, ev wecom.Event)
	}{
		{EventSpec{Kind: "text", UserID: "lisi", Content: "我已阅读 <&> ]]> done", MsgID: "7000000000000000001"},
			map[string]string{"user_id": "lisi", "msg_id": "7000000000000000001", "agent_id": "1000002"},
			func(t *testing.T, ev wecom.Event) {
				if m := as[*wecom.TextMessage](t, ev); m.Content != "我已阅读 <&> ]]> done" {
					t.Errorf("Content %q", m.Content)
				}
			}},
		{EventSpec{Kind: "image", UserID: "lisi", MsgID: "1", PicURL: "https://p/1.jpg", MediaID: "m1"},
			map[string]string{"user_id": "lisi", "msg_id": "1", "agent_id": "1000002"},
			func(t *testing.T, ev wecom.Event) {
				if m := as[*wecom.ImageMessage](t, ev); m.PicURL != "https://p/1.jpg" || m.MediaID != "m1" {
					t.Errorf("got %+v", m)
				}
			}},
		{EventSpec{Kind: "voice", UserID: "lisi", MsgID: "2", MediaID: "m2", Format: "speex"},
			map[string]string{"user_id": "lisi", "msg_id": "2", "agent_id": "1000002"},
			func(t *testing.T, ev wecom.Event) {
				if m := as[*wecom.VoiceMessage](t, ev); m.Format != "speex" || m.MediaID != "m2" {
					t.Errorf("got %+v", m)
				}
			}},
		{EventSpec{Kind: "video", UserID: "lisi", MsgID: "3", ThumbMediaID: "t3"},
			map[string]string{"user_id": "lisi", "msg_id": "3", "agent_id": "1000002"},
			func(t *testing.T, ev wecom.Event) {
				if m := as[*wecom.VideoMessage](t, ev); m.ThumbMediaID != "t3" || m.MediaID == "" {
					t.Errorf("got %+v", m)
				}
			}},
		{EventSpec{Kind: "location", UserID: "lisi", MsgID: "4", LocationX: "1.5", LocationY: "2.5", Label: "here"},
			map[string]string{"user_id": "lisi", "msg_id": "4", "agent_id": "1000002"},
			func(t *testing.T, ev wecom.Event) {
				if m := as[*wecom.LocationMessage](t, ev); m.LocationX != "1.5" || m.LocationY != "2.5" || m.Label != "here" || m.AppType != "wxwork" {
					t.Errorf("got %+v", m)
				}
			}},
		{EventSpec{Kind: "link", UserID: "lisi", MsgID: "5", Title: "T", URL: "https://u/"},
			map[string]string{"user_id": "lisi", "msg_id": "5", "agent_id": "1000002"},
			func(t *testing.T, ev wecom.Event) {
				if m := as[*wecom.LinkMessage](t, ev); m.Title != "T" || m.URL != "https://u/" {
					t.Errorf("got %+v", m)
				}
			}},
		{EventSpec{Kind: "enter_agent", UserID: "wangwu", AgentID: "1000005"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000005"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.EnterAgent](t, ev) }},
		{EventSpec{Kind: "click", UserID: "wangwu", EventKey: "K1"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "K1"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.MenuEvent](t, ev) }},
		{EventSpec{Kind: "view", UserID: "wangwu", EventKey: "https://x/"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "https://x/"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.MenuEvent](t, ev) }},
		{EventSpec{Kind: "view_miniprogram", UserID: "wangwu", EventKey: "pages/a"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "pages/a"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.MenuEvent](t, ev) }},
		{EventSpec{Kind: "scancode_push", UserID: "wangwu", EventKey: "s", ScanResult: "R1"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "s"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.MenuEvent](t, ev); e.ScanCodeInfo != (wecom.ScanCodeInfo{ScanType: "qrcode", ScanResult: "R1"}) {
					t.Errorf("got %+v", e.ScanCodeInfo)
				}
			}},
		{EventSpec{Kind: "scancode_waitmsg", UserID: "wangwu", EventKey: "s", ScanType: "barcode", ScanResult: "R2"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "s"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.MenuEvent](t, ev); e.ScanCodeInfo != (wecom.ScanCodeInfo{ScanType: "barcode", ScanResult: "R2"}) {
					t.Errorf("got %+v", e.ScanCodeInfo)
				}
			}},
		{EventSpec{Kind: "pic_sysphoto", UserID: "wangwu", EventKey: "p", PicMd5Sums: "aa,bb"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "p"},
			func(t *testing.T, ev wecom.Event) {
				e := as[*wecom.MenuEvent](t, ev)
				if !reflect.DeepEqual(e.SendPicsInfo, wecom.SendPicsInfo{Count: 2, PicList: []string{"aa", "bb"}}) {
					t.Errorf("got %+v", e.SendPicsInfo)
				}
			}},
		{EventSpec{Kind: "pic_photo_or_album", UserID: "wangwu", EventKey: "p"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "p"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.MenuEvent](t, ev); e.SendPicsInfo.Count != 1 || len(e.SendPicsInfo.PicList) != 1 {
					t.Errorf("got %+v", e.SendPicsInfo)
				}
			}},
		{EventSpec{Kind: "pic_weixin", UserID: "wangwu", EventKey: "p"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "p"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.MenuEvent](t, ev) }},
		{EventSpec{Kind: "location_select", UserID: "wangwu", EventKey: "l", Poiname: "POI"},
			map[string]string{"user_id": "wangwu", "agent_id": "1000002", "event_key": "l"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.MenuEvent](t, ev); e.SendLocationInfo.Poiname != "POI" || e.SendLocationInfo.LocationX == "" || e.AppType != "wxwork" {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "template_card_event", UserID: "zhangsan", TaskID: "notice-v1", EventKey: "ack", CardType: "vote_interaction",
			ResponseCode: "RC", SelectedItems: "q1=o1,o2;q2=o3"},
			map[string]string{"user_id": "zhangsan", "agent_id": "1000002", "event_key": "ack", "task_id": "notice-v1", "card_type": "vote_interaction"},
			func(t *testing.T, ev wecom.Event) {
				e := as[*wecom.TemplateCardEvent](t, ev)
				want := []wecom.SelectedItem{{QuestionKey: "q1", OptionIDs: []string{"o1", "o2"}}, {QuestionKey: "q2", OptionIDs: []string{"o3"}}}
				if e.ResponseCode != "RC" || !reflect.DeepEqual(e.SelectedItems, want) {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "template_card_menu_event", UserID: "zhangsan", TaskID: "t", EventKey: "menu"},
			map[string]string{"user_id": "zhangsan", "agent_id": "1000002", "event_key": "menu", "task_id": "t", "card_type": "button_interaction"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.TemplateCardEvent](t, ev); e.ResponseCode == "" || e.SelectedItems != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "msgaudit_notify", AgentID: "2000004"},
			map[string]string{"agent_id": "2000004"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.MsgAuditNotify](t, ev); e.FromUserName != "sys" {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.create_user", UserID: "lisi", Name: "李四", Department: "1,2", Position: "PM", Mobile: "13800000000", Email: "l@x", Status: "1", DirectLeader: "zhangsan"},
			map[string]string{"user_id": "lisi"},
			func(t *testing.T, ev wecom.Event) {
				e := as[*wecom.UserChange](t, ev)
				ids, err := e.Departments()
				if err != nil || !reflect.DeepEqual(ids, []int{1, 2}) || *e.Name != "李四" || *e.Position != "PM" || *e.Mobile != "13800000000" ||
					*e.Email != "l@x" || *e.Status != "1" || !reflect.DeepEqual(e.DirectLeaders(), []string{"zhangsan"}) || e.Gender != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.update_user", UserID: "lisi", NewUserID: "lisi2", Department: "3"},
			map[string]string{"user_id": "lisi", "new_user_id": "lisi2"},
			func(t *testing.T, ev wecom.Event) {
				e := as[*wecom.UserChange](t, ev)
				if *e.Department != "3" || e.Name != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.delete_user", UserID: "zhaoliu"},
			map[string]string{"user_id": "zhaoliu"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.UserChange](t, ev); e.Department != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.create_party", PartyID: "7", Name: "研发部", ParentID: "1", Order: "3"},
			map[string]string{"party_id": "7", "parent_id": "1"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.PartyChange](t, ev); *e.Name != "研发部" || *e.Order != "3" {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.update_party", PartyID: "7", ParentID: "4"},
			map[string]string{"party_id": "7", "parent_id": "4"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.PartyChange](t, ev); e.Name != nil || e.Order != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.delete_party", PartyID: "7"},
			map[string]string{"party_id": "7"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.PartyChange](t, ev); e.ParentID != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_contact.update_tag", TagID: "9", AddUserItems: "a,b", DelPartyItems: "3"},
			map[string]string{"tag_id": "9"},
			func(t *testing.T, ev wecom.Event) {
				e := as[*wecom.TagChange](t, ev)
				del, err := e.RemovedParties()
				if !reflect.DeepEqual(e.AddedUsers(), []string{"a", "b"}) || err != nil || !reflect.DeepEqual(del, []int{3}) {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_external_contact.add_external_contact", UserID: "zhangsan", ExternalUserID: "wmA", State: "channel-a", WelcomeCode: "WC"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA", "state": "channel-a"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.ExternalContactChange](t, ev); e.WelcomeCode != "WC" {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_external_contact.edit_external_contact", UserID: "zhangsan", ExternalUserID: "wmA"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalContactChange](t, ev) }},
		{EventSpec{Kind: "change_external_contact.add_half_external_contact", UserID: "zhangsan", ExternalUserID: "wmA"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.ExternalContactChange](t, ev); e.WelcomeCode == "" {
					t.Errorf("no default WelcomeCode")
				}
			}},
		{EventSpec{Kind: "change_external_contact.del_external_contact", UserID: "zhangsan", ExternalUserID: "wmA", Source: "DELETE_BY_TRANSFER"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA", "source": "DELETE_BY_TRANSFER"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalContactChange](t, ev) }},
		{EventSpec{Kind: "change_external_contact.del_follow_user", UserID: "zhangsan", ExternalUserID: "wmA"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalContactChange](t, ev) }},
		{EventSpec{Kind: "change_external_contact.transfer_fail", UserID: "zhangsan", ExternalUserID: "wmA", FailReason: "customer_limit_exceed"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA", "fail_reason": "customer_limit_exceed"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalContactChange](t, ev) }},
		{EventSpec{Kind: "change_external_contact.msg_audit_approved", UserID: "zhangsan", ExternalUserID: "wmA"},
			map[string]string{"user_id": "zhangsan", "external_user_id": "wmA"},
			func(t *testing.T, ev wecom.Event) {
				if e := as[*wecom.ExternalContactChange](t, ev); e.WelcomeCode == "" {
					t.Errorf("no default WelcomeCode")
				}
			}},
		{EventSpec{Kind: "change_external_chat.create", ChatID: "wrA"},
			map[string]string{"chat_id": "wrA"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalChatChange](t, ev) }},
		{EventSpec{Kind: "change_external_chat.update", ChatID: "wrA", UpdateDetail: "del_member", QuitScene: "1", MemChangeList: "wmA,wmB", LastMemVer: "v1", CurMemVer: "v2"},
			map[string]string{"chat_id": "wrA", "update_detail": "del_member"},
			func(t *testing.T, ev wecom.Event) {
				e := as[*wecom.ExternalChatChange](t, ev)
				if e.QuitScene != "1" || e.MemChangeCnt != 2 || !reflect.DeepEqual(e.MemChangeList, []string{"wmA", "wmB"}) || e.LastMemVer != "v1" || e.CurMemVer != "v2" {
					t.Errorf("got %+v", e)
				}
			}},
		{EventSpec{Kind: "change_external_chat.dismiss", ChatID: "wrA"},
			map[string]string{"chat_id": "wrA"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalChatChange](t, ev) }},
		{EventSpec{Kind: "change_external_tag.create", TagID: "et1", TagType: "tag_group", StrategyID: "5"},
			map[string]string{"tag_id": "et1", "tag_type": "tag_group", "strategy_id": "5"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalTagChange](t, ev) }},
		{EventSpec{Kind: "change_external_tag.update", TagID: "et1"},
			map[string]string{"tag_id": "et1", "tag_type": "tag"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalTagChange](t, ev) }},
		{EventSpec{Kind: "change_external_tag.delete", TagID: "et1"},
			map[string]string{"tag_id": "et1", "tag_type": "tag"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalTagChange](t, ev) }},
		{EventSpec{Kind: "change_external_tag.shuffle", TagID: "et1", StrategyID: "S"},
			map[string]string{"tag_id": "et1", "strategy_id": "S"},
			func(t *testing.T, ev wecom.Event) { as[*wecom.ExternalTagChange](t, ev) }},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.spec.Kind] = true
		t.Run(tt.spec.Kind, func(t *testing.T) {
			tt.spec.CorpID, tt.spec.CreateTime = corpID, ct
			ev := decode(t, tt.spec)
			if ev.Kind() != tt.spec.Kind {
				t.Errorf("Kind = %q, want %q", ev.Kind(), tt.spec.Kind)
			}
			if h := ev.Head(); h.ToUserName != corpID || h.CreateTime != ct {
				t.Errorf("header %+v", h)
			}
			if got := ev.Fields(); !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("Fields = %v,\nwant     %v", got, tt.fields)
			}
			tt.check(t, ev)
		})
	}
	for _, k := range Kinds() {
		if !covered[k] {
			t.Errorf("kind %q has no test case", k)
		}
	}
}

// TestBuildEventOfficialShape rebuilds WeCom's own POST example (WECOM.md
// §2 V1b) byte for byte.
func TestBuildEventOfficialShape(t *testing.T) {
	const v1b = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
	got, err := BuildEvent(EventSpec{Kind: "text", CorpID: corpID, UserID: "mycreate", CreateTime: 1409659813, Content: "hello", MsgID: "4561255354251345929", AgentID: "218"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != v1b {
		t.Errorf("got\n%s\nwant\n%s", got, v1b)
	}
}

func TestBuildEventShapes(t *testing.T) {
	// CDATA or bare as in the official samples (WECOM.md §3).
	tests := []struct {
		kind string
		want []string
	}{
		{"change_contact.create_user", []string{"<ChangeType>create_user</ChangeType>", "<UserID><![CDATA[", "<Department><![CDATA[1]]></Department>"}},
		{"change_contact.update_tag", []string{"<ChangeType><![CDATA[update_tag]]></ChangeType>", "<TagId>1</TagId>", "<AddUserItems><![CDATA[]]></AddUserItems>"}},
		{"change_contact.create_party", []string{"<ChangeType>create_party</ChangeType>", "<Id>2</Id>", "<ParentId><![CDATA[1]]></ParentId>"}},
		{"change_external_contact.transfer_fail", []string{"<ChangeType><![CDATA[transfer_fail]]></ChangeType>\n<FailReason><![CDATA[customer_refused]]></FailReason>\n<UserID>"}},
		{"change_external_chat.update", []string{"<JoinScene>0</JoinScene>", "<MemChangeCnt>1</MemChangeCnt>", "<MemChangeList><Item>zhangsan</Item>\n</MemChangeList>"}},
		{"change_external_tag.create", []string{"<Id><![CDATA[etTAG0001]]></Id>", "<TagType><![CDATA[tag]]></TagType>"}},
		{"msgaudit_notify", []string{"<FromUserName><![CDATA[sys]]></FromUserName>", "<AgentID>1000002</AgentID>\n<Event><![CDATA[msgaudit_notify]]></Event>"}},
		{"enter_agent", []string{"<EventKey><![CDATA[]]></EventKey>\n<AgentID>1000002</AgentID>"}},
		{"location", []string{"<Location_X>23.134</Location_X>", "<AppType><![CDATA[wxwork]]></AppType>"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			b, err := BuildEvent(EventSpec{Kind: tt.kind})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("missing %q in\n%s", w, b)
				}
			}
			if strings.HasPrefix(tt.kind, "change_") && strings.Contains(string(b), "<AgentID>") {
				t.Errorf("change events carry no AgentID:\n%s", b)
			}
		})
	}
}

func TestBuildEventDefaults(t *testing.T) {
	before := time.Now().Unix()
	a := decode(t, EventSpec{Kind: "text"})
	b := decode(t, EventSpec{Kind: "text"})
	if ct := a.Head().CreateTime; ct < before || ct > time.Now().Unix() {
		t.Errorf("default CreateTime %d is not now", ct)
	}
	ma, mb := as[*wecom.TextMessage](t, a), as[*wecom.TextMessage](t, b)
	if !regexp.MustCompile(`^[1-9][0-9]{18}$`).MatchString(ma.MsgID) || ma.MsgID == mb.MsgID {
		t.Errorf("default MsgIDs %q %q: want distinct random 19-digit ids", ma.MsgID, mb.MsgID)
	}
	if ma.FromUserName == "" || ma.ToUserName == "" || ma.AgentID == "" || ma.Content == "" {
		t.Errorf("defaults missing: %+v", ma)
	}
	w1 := as[*wecom.ExternalContactChange](t, decode(t, EventSpec{Kind: "change_external_contact.add_external_contact"}))
	w2 := as[*wecom.ExternalContactChange](t, decode(t, EventSpec{Kind: "change_external_contact.add_external_contact"}))
	if w1.WelcomeCode == "" || w1.WelcomeCode == w2.WelcomeCode || w1.DedupKey() == w2.DedupKey() {
		t.Errorf("WelcomeCodes %q %q: want distinct random codes", w1.WelcomeCode, w2.WelcomeCode)
	}
	r1 := as[*wecom.TemplateCardEvent](t, decode(t, EventSpec{Kind: "template_card_event"}))
	r2 := as[*wecom.TemplateCardEvent](t, decode(t, EventSpec{Kind: "template_card_event"}))
	if r1.ResponseCode == "" || r1.ResponseCode == r2.ResponseCode {
		t.Errorf("ResponseCodes %q %q: want distinct random codes", r1.ResponseCode, r2.ResponseCode)
	}
}

func TestBuildEventEscaping(t *testing.T) {
	for _, content := range []string{"a ]]> b", "<b>&amp;</b>", "line1\r\nline2", "nul\x00byte", "bad utf-8 \xff", "中文 ✓"} {
		t.Run(content, func(t *testing.T) {
			m := as[*wecom.TextMessage](t, decode(t, EventSpec{Kind: "text", Content: content}))
			want := strings.ToValidUTF8(strings.ReplaceAll(content, "\x00", "\uFFFD"), "\uFFFD")
			if m.Content != want {
				t.Errorf("Content %q, want %q", m.Content, want)
			}
		})
	}
	t.Run("an element name cannot be injected", func(t *testing.T) {
		ev := decode(t, EventSpec{Kind: "change_contact.create_party", PartyID: "1</Id><Name>x"})
		if e := as[*wecom.PartyChange](t, ev); e.ID != "1</Id><Name>x" || e.Name != nil {
			t.Errorf("got %+v", e)
		}
	})
}

func TestBuildEventUnknownKind(t *testing.T) {
	for _, kind := range []string{"", "nope", "change_contact", "change_contact.nope", "TEXT"} {
		t.Run(kind, func(t *testing.T) {
			b, err := BuildEvent(EventSpec{Kind: kind})
			if err == nil || b != nil {
				t.Fatalf("no error for kind %q", kind)
			}
			if !strings.Contains(err.Error(), `"`+kind+`"`) || !strings.Contains(err.Error(), "change_external_tag.shuffle") {
				t.Errorf("error %q should name the kind and list the supported ones", err)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	k := Kinds()
	if len(k) != 40 {
		t.Errorf("%d kinds, want 40", len(k))
	}
	for i := 1; i < len(k); i++ {
		if k[i-1] >= k[i] {
			t.Errorf("not sorted or repeated at %q, %q", k[i-1], k[i])
		}
	}
	k[0] = "changed"
	if Kinds()[0] == "changed" {
		t.Errorf("Kinds returns shared state")
	}
}
