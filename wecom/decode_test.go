package wecom

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// as asserts ev's concrete type.
func as[T Event](t *testing.T, ev Event) T {
	t.Helper()
	v, ok := ev.(T)
	if !ok {
		var zero T
		t.Fatalf("decoded %T, want %T", ev, zero)
	}
	return v
}

func decodeOK(t *testing.T, s string) Event {
	t.Helper()
	ev, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return ev
}

func sp(s string) *string { return &s }

// eqPtr reports whether a pointer field holds want (nil for not sent).
func eqPtr(got *string, want *string) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	return *got == *want
}

// forbiddenFieldKeys are the event log's own columns; Fields must not
// shadow them.
var forbiddenFieldKeys = []string{"kind", "dedup_key", "create_time", "received_at", "receiver"}

var dedupDigestRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestDecodeOfficialSamples(t *testing.T) {
	tests := []struct {
		sample string
		kind   string
		fields map[string]string
		check  func(t *testing.T, ev Event)
	}{
		{"text", "text", map[string]string{"user_id": "fromUser", "agent_id": "1", "msg_id": "1234567890123456"}, func(t *testing.T, ev Event) {
			m := as[*TextMessage](t, ev)
			want := TextMessage{Header: Header{ToUserName: "toUser", FromUserName: "fromUser", CreateTime: 1348831860, MsgType: "text", AgentID: "1"},
				MsgID: "1234567890123456", Content: "this is a test"}
			want.dedupKey = m.dedupKey
			if !reflect.DeepEqual(*m, want) {
				t.Errorf("got %+v\nwant %+v", *m, want)
			}
		}},
		{"image", "image", map[string]string{"user_id": "fromUser", "agent_id": "1", "msg_id": "1234567890123456"}, func(t *testing.T, ev Event) {
			m := as[*ImageMessage](t, ev)
			if m.PicURL != "this is a url" || m.MediaID != "media_id" || m.MsgID != "1234567890123456" {
				t.Errorf("got %+v", m)
			}
		}},
		{"voice", "voice", map[string]string{"user_id": "fromUser", "agent_id": "1", "msg_id": "1234567890123456"}, func(t *testing.T, ev Event) {
			m := as[*VoiceMessage](t, ev)
			if m.MediaID != "media_id" || m.Format != "Format" || m.CreateTime != 1357290913 {
				t.Errorf("got %+v", m)
			}
		}},
		{"video", "video", map[string]string{"user_id": "fromUser", "agent_id": "1", "msg_id": "1234567890123456"}, func(t *testing.T, ev Event) {
			m := as[*VideoMessage](t, ev)
			if m.MediaID != "media_id" || m.ThumbMediaID != "thumb_media_id" {
				t.Errorf("got %+v", m)
			}
		}},
		{"location", "location", map[string]string{"user_id": "fromUser", "agent_id": "1", "msg_id": "1234567890123456"}, func(t *testing.T, ev Event) {
			m := as[*LocationMessage](t, ev)
			if m.LocationX != "23.134" || m.LocationY != "113.358" || m.Scale != "20" || m.Label != "位置信息" || m.AppType != "wxwork" {
				t.Errorf("got %+v", m)
			}
		}},
		{"link", "link", map[string]string{"user_id": "fromUser", "agent_id": "1", "msg_id": "1234567890123456"}, func(t *testing.T, ev Event) {
			m := as[*LinkMessage](t, ev)
			if m.Title != "this is a title！" || m.Description != "this is a description！" || m.URL != "URL" || m.PicURL != "this is a url" {
				t.Errorf("got %+v", m)
			}
		}},
		{"subscribe", "subscribe", map[string]string{"from_user": "UserID", "agent_id": "1"}, func(t *testing.T, ev Event) {
			r := as[*RawEvent](t, ev)
			if string(r.Plaintext) != sample(t, "subscribe") || r.Event != "subscribe" {
				t.Errorf("got %+v", r)
			}
		}},
		{"enter_agent", "enter_agent", map[string]string{"user_id": "FromUser", "agent_id": "1"}, func(t *testing.T, ev Event) {
			e := as[*EnterAgent](t, ev)
			if e.EventKey != "" || e.CreateTime != 1408091189 || e.Event != "enter_agent" {
				t.Errorf("got %+v", e)
			}
		}},
		{"LOCATION", "LOCATION", map[string]string{"from_user": "FromUser", "agent_id": "1"}, func(t *testing.T, ev Event) {
			as[*RawEvent](t, ev)
		}},
		{"batch_job_result", "batch_job_result", map[string]string{"from_user": "FromUser"}, func(t *testing.T, ev Event) {
			as[*RawEvent](t, ev)
		}},
		{"click", "click", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "EVENTKEY"}, func(t *testing.T, ev Event) {
			e := as[*MenuEvent](t, ev)
			if e.EventKey != "EVENTKEY" || e.ScanCodeInfo != (ScanCodeInfo{}) || e.SendPicsInfo.Count != 0 {
				t.Errorf("got %+v", e)
			}
		}},
		{"view", "view", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "www.qq.com"}, func(t *testing.T, ev Event) {
			as[*MenuEvent](t, ev)
		}},
		{"view_miniprogram", "view_miniprogram", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "index"}, func(t *testing.T, ev Event) {
			as[*MenuEvent](t, ev)
		}},
		{"scancode_push", "scancode_push", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "6"}, func(t *testing.T, ev Event) {
			if e := as[*MenuEvent](t, ev); e.ScanCodeInfo != (ScanCodeInfo{ScanType: "qrcode", ScanResult: "1"}) {
				t.Errorf("got %+v", e.ScanCodeInfo)
			}
		}},
		{"scancode_waitmsg", "scancode_waitmsg", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "6"}, func(t *testing.T, ev Event) {
			if e := as[*MenuEvent](t, ev); e.ScanCodeInfo != (ScanCodeInfo{ScanType: "qrcode", ScanResult: "2"}) {
				t.Errorf("got %+v", e.ScanCodeInfo)
			}
		}},
		{"pic_sysphoto", "pic_sysphoto", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "6"}, func(t *testing.T, ev Event) {
			e := as[*MenuEvent](t, ev)
			if !reflect.DeepEqual(e.SendPicsInfo, SendPicsInfo{Count: 1, PicList: []string{"1b5f7c23b5bf75682a53e7b6d163e185"}}) {
				t.Errorf("got %+v", e.SendPicsInfo)
			}
		}},
		{"pic_photo_or_album", "pic_photo_or_album", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "6"}, func(t *testing.T, ev Event) {
			e := as[*MenuEvent](t, ev)
			if !reflect.DeepEqual(e.SendPicsInfo, SendPicsInfo{Count: 1, PicList: []string{"5a75aaca956d97be686719218f275c6b"}}) {
				t.Errorf("got %+v", e.SendPicsInfo)
			}
		}},
		{"pic_weixin", "pic_weixin", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "6"}, func(t *testing.T, ev Event) {
			if e := as[*MenuEvent](t, ev); len(e.SendPicsInfo.PicList) != 1 {
				t.Errorf("got %+v", e.SendPicsInfo)
			}
		}},
		{"location_select", "location_select", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "6"}, func(t *testing.T, ev Event) {
			e := as[*MenuEvent](t, ev)
			want := SendLocationInfo{LocationX: "23", LocationY: "113", Scale: "15", Label: "广州市海珠区客村艺苑路 106号", Poiname: ""}
			if e.SendLocationInfo != want || e.AppType != "wxwork" {
				t.Errorf("got %+v", e.SendLocationInfo)
			}
		}},
		{"template_card_event", "template_card_event", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "key111", "task_id": "taskid111", "card_type": "text_notice"}, func(t *testing.T, ev Event) {
			e := as[*TemplateCardEvent](t, ev)
			want := []SelectedItem{{"QuestionKey1", []string{"OptionId1", "OptionId2"}}, {"QuestionKey2", []string{"OptionId3", "OptionId4"}}}
			if e.ResponseCode != "ResponseCode" || !reflect.DeepEqual(e.SelectedItems, want) {
				t.Errorf("got %+v", e)
			}
		}},
		{"template_card_menu_event", "template_card_menu_event", map[string]string{"user_id": "FromUser", "agent_id": "1", "event_key": "key111", "task_id": "taskid111", "card_type": "text_notice"}, func(t *testing.T, ev Event) {
			e := as[*TemplateCardEvent](t, ev)
			if e.ResponseCode != "ResponseCode" || e.SelectedItems != nil {
				t.Errorf("got %+v", e)
			}
		}},
		{"msgaudit_notify", "msgaudit_notify", map[string]string{"agent_id": "2000004"}, func(t *testing.T, ev Event) {
			e := as[*MsgAuditNotify](t, ev)
			if e.FromUserName != "sys" || e.ToUserName != "CorpID" || e.CreateTime != 1629101687 {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_contact.create_user", "change_contact.create_user", map[string]string{"user_id": "zhangsan"}, func(t *testing.T, ev Event) {
			e := as[*UserChange](t, ev)
			for _, f := range []struct {
				name      string
				got, want *string
			}{
				{"Name", e.Name, sp("张三")}, {"Department", e.Department, sp("1,2,3")}, {"MainDepartment", e.MainDepartment, sp("1")},
				{"IsLeaderInDept", e.IsLeaderInDept, sp("1,0,0")}, {"DirectLeader", e.DirectLeader, sp("lisi,wangwu")},
				{"Position", e.Position, sp("产品经理")}, {"Mobile", e.Mobile, sp("13800000000")}, {"Gender", e.Gender, sp("1")},
				{"Email", e.Email, sp("zhangsan@gzdev.com")}, {"BizMail", e.BizMail, sp("zhangsan@qyycs2.wecom.work")},
				{"Status", e.Status, sp("1")}, {"Alias", e.Alias, sp("zhangsan")}, {"Telephone", e.Telephone, sp("020-123456")},
				{"Address", e.Address, sp("广州市")},
				{"Avatar", e.Avatar, sp("http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0")},
			} {
				if !eqPtr(f.got, f.want) {
					t.Errorf("%s = %v, want %q", f.name, f.got, *f.want)
				}
			}
			wantExt := &ExtAttr{Items: []ExtAttrItem{
				{Name: "爱好", Type: "0", TextValue: "旅游"},
				{Name: "卡号", Type: "1", WebTitle: "企业微信", WebURL: "https://work.weixin.qq.com"},
			}}
			if !reflect.DeepEqual(e.ExtAttr, wantExt) {
				t.Errorf("ExtAttr = %+v", e.ExtAttr)
			}
			if ids, err := e.Departments(); err != nil || !reflect.DeepEqual(ids, []int{1, 2, 3}) {
				t.Errorf("Departments = %v, %v", ids, err)
			}
			if got := e.DirectLeaders(); !reflect.DeepEqual(got, []string{"lisi", "wangwu"}) {
				t.Errorf("DirectLeaders = %v", got)
			}
			if e.NewUserID != "" || e.ChangeType != "create_user" {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_contact.update_user", "change_contact.update_user", map[string]string{"user_id": "zhangsan", "new_user_id": "zhangsan001"}, func(t *testing.T, ev Event) {
			e := as[*UserChange](t, ev)
			if e.NewUserID != "zhangsan001" || !eqPtr(e.Name, sp("张三")) {
				t.Errorf("got %+v", e)
			}
			// Not in the sample, so not sent: nil.
			if e.BizMail != nil || e.DirectLeader != nil || e.DirectLeaders() != nil {
				t.Errorf("BizMail %v DirectLeader %v: want nil", e.BizMail, e.DirectLeader)
			}
		}},
		{"change_contact.delete_user", "change_contact.delete_user", map[string]string{"user_id": "zhangsan"}, func(t *testing.T, ev Event) {
			e := as[*UserChange](t, ev)
			if e.Name != nil || e.Department != nil || e.Status != nil || e.ExtAttr != nil {
				t.Errorf("fields not sent are set: %+v", e)
			}
			if ids, err := e.Departments(); ids != nil || err != nil {
				t.Errorf("Departments = %v, %v; want nil, nil", ids, err)
			}
		}},
		{"change_contact.create_party", "change_contact.create_party", map[string]string{"party_id": "2", "parent_id": "1"}, func(t *testing.T, ev Event) {
			e := as[*PartyChange](t, ev)
			if e.ID != "2" || !eqPtr(e.Name, sp("张三")) || !eqPtr(e.ParentID, sp("1")) || !eqPtr(e.Order, sp("1")) {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_contact.create_party (90240: bare ParentId)", "change_contact.create_party", map[string]string{"party_id": "2", "parent_id": "1"}, func(t *testing.T, ev Event) {
			e := as[*PartyChange](t, ev)
			if !eqPtr(e.ParentID, sp("1")) {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_contact.update_party", "change_contact.update_party", map[string]string{"party_id": "2", "parent_id": "1"}, func(t *testing.T, ev Event) {
			e := as[*PartyChange](t, ev)
			if e.Order != nil || !eqPtr(e.Name, sp("张三")) {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_contact.delete_party", "change_contact.delete_party", map[string]string{"party_id": "2"}, func(t *testing.T, ev Event) {
			e := as[*PartyChange](t, ev)
			if e.Name != nil || e.ParentID != nil || e.Order != nil {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_contact.update_tag", "change_contact.update_tag", map[string]string{"tag_id": "1"}, func(t *testing.T, ev Event) {
			e := as[*TagChange](t, ev)
			if !reflect.DeepEqual(e.AddedUsers(), []string{"zhangsan", "lisi"}) || !reflect.DeepEqual(e.RemovedUsers(), []string{"zhangsan1", "lisi1"}) {
				t.Errorf("users %v %v", e.AddedUsers(), e.RemovedUsers())
			}
			add, err1 := e.AddedParties()
			del, err2 := e.RemovedParties()
			if !reflect.DeepEqual(add, []int{1, 2}) || !reflect.DeepEqual(del, []int{3, 4}) || err1 != nil || err2 != nil {
				t.Errorf("parties %v %v %v %v", add, del, err1, err2)
			}
		}},
		{"change_external_contact.add_external_contact", "change_external_contact.add_external_contact",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", "state": "teststate"}, func(t *testing.T, ev Event) {
				e := as[*ExternalContactChange](t, ev)
				if e.WelcomeCode != "WELCOMECODE" || e.State != "teststate" {
					t.Errorf("got %+v", e)
				}
			}},
		{"change_external_contact.edit_external_contact", "change_external_contact.edit_external_contact",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"}, func(t *testing.T, ev Event) {
				as[*ExternalContactChange](t, ev)
			}},
		{"change_external_contact.add_half_external_contact", "change_external_contact.add_half_external_contact",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA", "state": "teststate"}, func(t *testing.T, ev Event) {
				if e := as[*ExternalContactChange](t, ev); e.WelcomeCode != "WELCOMECODE" {
					t.Errorf("got %+v", e)
				}
			}},
		{"change_external_contact.del_external_contact", "change_external_contact.del_external_contact",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA", "source": "DELETE_BY_TRANSFER"}, func(t *testing.T, ev Event) {
				if e := as[*ExternalContactChange](t, ev); e.Source != "DELETE_BY_TRANSFER" {
					t.Errorf("got %+v", e)
				}
			}},
		{"change_external_contact.del_follow_user", "change_external_contact.del_follow_user",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"}, func(t *testing.T, ev Event) {
				as[*ExternalContactChange](t, ev)
			}},
		{"change_external_contact.transfer_fail", "change_external_contact.transfer_fail",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", "fail_reason": "customer_refused"}, func(t *testing.T, ev Event) {
				if e := as[*ExternalContactChange](t, ev); e.FailReason != "customer_refused" {
					t.Errorf("got %+v", e)
				}
			}},
		{"change_external_contact.msg_audit_approved", "change_external_contact.msg_audit_approved",
			map[string]string{"user_id": "zhangsan", "external_user_id": "woAJ2GCAAABiuyujaWJHDDGi0mACHAAA"}, func(t *testing.T, ev Event) {
				if e := as[*ExternalContactChange](t, ev); e.WelcomeCode != "WELCOMECODE" {
					t.Errorf("got %+v", e)
				}
			}},
		{"change_external_chat.create", "change_external_chat.create", map[string]string{"chat_id": "CHAT_ID"}, func(t *testing.T, ev Event) {
			as[*ExternalChatChange](t, ev)
		}},
		{"change_external_chat.update", "change_external_chat.update", map[string]string{"chat_id": "wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ", "update_detail": "add_member"}, func(t *testing.T, ev Event) {
			e := as[*ExternalChatChange](t, ev)
			want := ExternalChatChange{Header: e.Header, ChatID: "wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ", UpdateDetail: "add_member", JoinScene: "1", QuitScene: "0",
				MemChangeCnt: 10, MemChangeList: []string{"Jack", "Rose"}, LastMemVer: "9c3f97c2ada667dfb5f6d03308d963e1", CurMemVer: "71217227bbd112ecfe3a49c482195cb4"}
			if !reflect.DeepEqual(*e, want) {
				t.Errorf("got %+v", e)
			}
		}},
		{"change_external_chat.dismiss", "change_external_chat.dismiss", map[string]string{"chat_id": "CHAT_ID"}, func(t *testing.T, ev Event) {
			as[*ExternalChatChange](t, ev)
		}},
		{"change_external_tag.create", "change_external_tag.create", map[string]string{"tag_id": "TAG_ID", "tag_type": "tag", "strategy_id": "1"}, func(t *testing.T, ev Event) {
			as[*ExternalTagChange](t, ev)
		}},
		{"change_external_tag.update", "change_external_tag.update", map[string]string{"tag_id": "TAG_ID", "tag_type": "tag", "strategy_id": "1"}, func(t *testing.T, ev Event) {
			as[*ExternalTagChange](t, ev)
		}},
		{"change_external_tag.delete", "change_external_tag.delete", map[string]string{"tag_id": "TAG_ID", "tag_type": "tag", "strategy_id": "1"}, func(t *testing.T, ev Event) {
			as[*ExternalTagChange](t, ev)
		}},
		{"change_external_tag.shuffle", "change_external_tag.shuffle", map[string]string{"tag_id": "TAG_ID", "strategy_id": "STRATEGY_ID"}, func(t *testing.T, ev Event) {
			if e := as[*ExternalTagChange](t, ev); e.StrategyID != "STRATEGY_ID" || e.TagType != "" {
				t.Errorf("got %+v", e)
			}
		}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.sample] = true
		t.Run(tt.sample, func(t *testing.T) {
			ev := decodeOK(t, sample(t, tt.sample))
			if ev.Kind() != tt.kind {
				t.Errorf("Kind = %q, want %q", ev.Kind(), tt.kind)
			}
			if got := ev.Fields(); !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("Fields = %v,\nwant     %v", got, tt.fields)
			}
			checkDedupKey(t, ev)
			checkFields(t, ev)
			tt.check(t, ev)
		})
	}
	for _, s := range officialSamples {
		if !covered[s.name] {
			t.Errorf("sample %q has no test case", s.name)
		}
	}
}

// checkDedupKey checks the shape of a key produced by Decode.
func checkDedupKey(t *testing.T, ev Event) {
	t.Helper()
	key := ev.DedupKey()
	h := ev.Head()
	if h.MsgType != "event" && strings.HasPrefix(key, "msg:") {
		return
	}
	prefix := fmt.Sprintf("%s:%d:", ev.Kind(), h.CreateTime)
	if !strings.HasPrefix(key, prefix) || !dedupDigestRE.MatchString(strings.TrimPrefix(key, prefix)) {
		t.Errorf("DedupKey = %q, want %s<32 hex>", key, prefix)
	}
}

// checkFields checks what Fields must never hold.
func checkFields(t *testing.T, ev Event) {
	t.Helper()
	f := ev.Fields()
	for _, k := range forbiddenFieldKeys {
		if _, ok := f[k]; ok {
			t.Errorf("Fields has the reserved key %q", k)
		}
	}
	for k, v := range f {
		if v == "" {
			t.Errorf("Fields[%q] is empty", k)
		}
		if k != strings.ToLower(k) || strings.ContainsAny(k, " -") {
			t.Errorf("Fields key %q is not snake_case", k)
		}
		if k == "welcome_code" || k == "response_code" || k == "content" {
			t.Errorf("Fields has %q", k)
		}
	}
	switch e := ev.(type) {
	case *TextMessage:
		for _, v := range f {
			if e.Content != "" && strings.Contains(v, e.Content) {
				t.Errorf("Fields holds the message content")
			}
		}
	case *ExternalContactChange:
		for _, v := range f {
			if e.WelcomeCode != "" && v == e.WelcomeCode {
				t.Errorf("Fields holds the WelcomeCode")
			}
		}
	case *TemplateCardEvent:
		for _, v := range f {
			if e.ResponseCode != "" && v == e.ResponseCode {
				t.Errorf("Fields holds the ResponseCode")
			}
		}
	}
}

func TestDecodeVectors(t *testing.T) {
	t.Run("V1b XML plaintext", func(t *testing.T) {
		m := as[*TextMessage](t, decodeOK(t, v1bMsg))
		if m.Content != "hello" || m.MsgID != "4561255354251345929" || m.AgentID != "218" || m.FromUserName != "mycreate" ||
			m.ToUserName != k1CorpID || m.CreateTime != 1409659813 {
			t.Errorf("got %+v", m)
		}
		if m.DedupKey() != "msg:4561255354251345929" {
			t.Errorf("DedupKey = %q", m.DedupKey())
		}
	})
	t.Run("V1c JSON plaintext decodes like V1b", func(t *testing.T) {
		x := as[*TextMessage](t, decodeOK(t, v1bMsg))
		j := as[*TextMessage](t, decodeOK(t, v1cMsg))
		x.dedupKey, j.dedupKey = "", ""
		if !reflect.DeepEqual(x, j) {
			t.Errorf("JSON %+v\nXML  %+v", j, x)
		}
		if k := decodeOK(t, v1cMsg).DedupKey(); k != "msg:4561255354251345929" {
			t.Errorf("DedupKey = %q", k)
		}
	})
	t.Run("V1d malformed JSON", func(t *testing.T) {
		_, err := Decode([]byte(v1dMsg))
		wantOnly(t, err, ErrDecode)
		noSecrets(t, err, "mycreate", "hello")
	})
	t.Run("D1 passive reply plaintext", func(t *testing.T) {
		m := as[*TextMessage](t, decodeOK(t, d1Msg))
		if m.Content != "this is a test" || m.MsgID != "1234567890123456" || m.AgentID != "128" {
			t.Errorf("got %+v", m)
		}
	})
}

func TestDecodeJSON(t *testing.T) {
	t.Run("nested objects and arrays equal the XML sample", func(t *testing.T) {
		j := `{"ToUserName":"toUser","FromUserName":"FromUser","CreateTime":123456789,"MsgType":"event",
			"Event":"template_card_event","EventKey":"key111","TaskId":"taskid111","CardType":"text_notice",
			"ResponseCode":"ResponseCode","AgentID":1,
			"SelectedItems":{"SelectedItem":[
				{"QuestionKey":"QuestionKey1","OptionIds":{"OptionId":["OptionId1","OptionId2"]}},
				{"QuestionKey":"QuestionKey2","OptionIds":{"OptionId":["OptionId3","OptionId4"]}}]}}`
		fromJSON := decodeOK(t, j)
		fromXML := decodeOK(t, sample(t, "template_card_event"))
		if !reflect.DeepEqual(fromJSON, fromXML) {
			t.Errorf("JSON %+v\nXML  %+v", fromJSON, fromXML)
		}
	})
	t.Run("numbers keep their digits", func(t *testing.T) {
		m := as[*TextMessage](t, decodeOK(t, `{"MsgType":"text","MsgId":18446744073709551615,"AgentID":1000002,"CreateTime":1409659813}`))
		if m.MsgID != "18446744073709551615" || m.AgentID != "1000002" || m.DedupKey() != "msg:18446744073709551615" {
			t.Errorf("got %+v key %q", m, m.DedupKey())
		}
	})
	t.Run("booleans and nulls", func(t *testing.T) {
		r := as[*RawEvent](t, decodeOK(t, `{"MsgType":"event","Event":"x","Flag":true,"Gone":null,"AgentID":null}`))
		if r.AgentID != "" || r.Kind() != "x" {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("leading white space and BOM", func(t *testing.T) {
		if m := as[*TextMessage](t, decodeOK(t, "\ufeff \n\t"+v1cMsg)); m.Content != "hello" {
			t.Errorf("got %+v", m)
		}
	})
}

func TestDecodeUnknownKinds(t *testing.T) {
	tests := []struct {
		name, in, kind, dedupPrefix string
	}{
		{"unknown message type with MsgId", `<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>file</MsgType><MsgId>77</MsgId></xml>`, "file", "msg:77"},
		{"unknown event", `<xml><FromUserName>sys</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>brand_new_event</Event><Foo>bar</Foo></xml>`, "brand_new_event", "brand_new_event:1:"},
		{"unknown change type", `<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>brand_new</ChangeType></xml>`, "change_contact.brand_new", "change_contact.brand_new:0:"},
		{"unknown family with a ChangeType", `<xml><MsgType>event</MsgType><Event>change_x</Event><ChangeType>y</ChangeType></xml>`, "change_x.y", "change_x.y:0:"},
		{"known event with a stray ChangeType", `<xml><MsgType>event</MsgType><Event>enter_agent</Event><ChangeType>y</ChangeType></xml>`, "enter_agent.y", "enter_agent.y:0:"},
		{"event without Event", `<xml><MsgType>event</MsgType></xml>`, "event", "event:0:"},
		{"event named in upper case", `<xml><MsgType>event</MsgType><Event>CLICK</Event></xml>`, "CLICK", "CLICK:0:"},
		{"message type in upper case", `<xml><MsgType>TEXT</MsgType><MsgId>5</MsgId></xml>`, "TEXT", "msg:5"},
		{"an event's MsgId is not a message id", `<xml><MsgType>event</MsgType><Event>e</Event><MsgId>5</MsgId></xml>`, "e", "e:0:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			ev, err := Decode(in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			r := as[*RawEvent](t, ev)
			if r.Kind() != tt.kind || !strings.HasPrefix(r.DedupKey(), tt.dedupPrefix) {
				t.Errorf("Kind %q DedupKey %q; want %q, %s…", r.Kind(), r.DedupKey(), tt.kind, tt.dedupPrefix)
			}
			in[0] = 'X'
			if string(r.Plaintext) != tt.in {
				t.Errorf("Plaintext is not a copy")
			}
			checkFields(t, ev)
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"white space", " \n "},
		{"not XML at all", "not xml at all SECRET"},
		{"unclosed root", "<xml><MsgType>text</MsgType><Content>SECRET</Content>"},
		{"mismatched tags", "<xml><MsgType>text</Content></xml>"},
		{"other root", "<notxml><MsgType>text</MsgType></notxml>"},
		{"missing MsgType", "<xml><Content>SECRET</Content></xml>"},
		{"empty MsgType", "<xml><MsgType><![CDATA[ ]]></MsgType></xml>"},
		{"CreateTime not an integer", "<xml><MsgType>text</MsgType><CreateTime>SECRET</CreateTime></xml>"},
		{"CreateTime fractional", "<xml><MsgType>text</MsgType><CreateTime>1.5</CreateTime></xml>"},
		{"CreateTime overflows", "<xml><MsgType>text</MsgType><CreateTime>99999999999999999999</CreateTime></xml>"},
		{"Count not an integer", "<xml><MsgType>event</MsgType><Event>pic_weixin</Event><SendPicsInfo><Count>x</Count></SendPicsInfo></xml>"},
		{"MemChangeCnt not an integer", "<xml><MsgType>event</MsgType><Event>change_external_chat</Event><ChangeType>update</ChangeType><MemChangeCnt>x</MemChangeCnt></xml>"},
		{"two roots", "<xml><MsgType>text</MsgType></xml><xml><MsgType>text</MsgType></xml>"},
		{"text after the root", "<xml><MsgType>text</MsgType></xml>SECRET"},
		{"text before the root", "SECRET<xml><MsgType>text</MsgType></xml>"},
		{"undefined entity", "<xml><MsgType>text</MsgType><Content>&SECRET;</Content></xml>"},
		{"internal entity of a DOCTYPE", `<!DOCTYPE xml [<!ENTITY x "SECRET">]><xml><MsgType>text</MsgType><Content>&x;</Content></xml>`},
		{"external entity of a DOCTYPE", `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><MsgType>text</MsgType><Content>&x;</Content></xml>`},
		{"declared GBK encoding", `<?xml version="1.0" encoding="GBK"?><xml><MsgType>text</MsgType></xml>`},
		{"invalid UTF-8", "<xml><MsgType>text</MsgType><Content>\xff\xfe</Content></xml>"},
		{"nested too deep", "<xml><MsgType>text</MsgType>" + deep + "</xml>"},
		{"JSON array", `[{"MsgType":"text"}]`},
		{"JSON string", `"SECRET"`},
		{"JSON truncated", `{"MsgType":"text","Content":"SECRET`},
		{"JSON trailing content", `{"MsgType":"text"}{"MsgType":"text"}`},
		{"JSON missing MsgType", `{"Content":"SECRET"}`},
		{"JSON CreateTime not an integer", `{"MsgType":"text","CreateTime":"SECRET"}`},
		{"JSON CreateTime float", `{"MsgType":"text","CreateTime":1.4e9}`},
		{"JSON nested too deep", `{"MsgType":"text","a":` + strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100) + "}"},
		{"JSON invalid UTF-8 is not JSON", "{\"MsgType\":\"text\",\"Content\":\"\xff\"} x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode([]byte(tt.in))
			if ev != nil {
				t.Errorf("got an event %T with the error", ev)
			}
			wantOnly(t, err, ErrDecode)
			noSecrets(t, err, "SECRET", "passwd")
		})
	}
}

func TestDedupKey(t *testing.T) {
	key := func(t *testing.T, s string) string { t.Helper(); return decodeOK(t, s).DedupKey() }
	updateUser := func(fields string) string {
		return `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>` +
			`<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType>` +
			`<UserID><![CDATA[zhangsan]]></UserID>` + fields + `</xml>`
	}
	addContact := func(external string) string {
		return `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>` +
			`<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>` +
			`<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[` + external + `]]></ExternalUserID><State><![CDATA[s]]></State></xml>`
	}
	// The create_user sample, re-serialised: no indentation, no CDATA, other element order.
	createUser := sample(t, "change_contact.create_user")
	reserialised := regexp.MustCompile(`<!\[CDATA\[(.*?)\]\]>`).ReplaceAllString(createUser, "$1")
	reserialised = regexp.MustCompile(`>\s+<`).ReplaceAllString(reserialised, "><")
	reserialised = strings.Replace(reserialised, "<Gender>1</Gender><Email>zhangsan@gzdev.com</Email>", "<Email>zhangsan@gzdev.com</Email><Gender>  1 </Gender>", 1)
	if reserialised == createUser || !strings.Contains(reserialised, "<Email>zhangsan@gzdev.com</Email><Gender>") {
		t.Fatalf("re-serialisation did not happen:\n%s", reserialised)
	}

	t.Run("same event, other white space, CDATA and order: same key", func(t *testing.T) {
		if a, b := key(t, createUser), key(t, reserialised); a != b {
			t.Errorf("%s != %s", a, b)
		}
	})
	t.Run("two update_user of one user in one second with other fields: different keys", func(t *testing.T) {
		a := key(t, updateUser(`<Department><![CDATA[1,2]]></Department>`))
		b := key(t, updateUser(`<Department><![CDATA[1,3]]></Department>`))
		c := key(t, updateUser(`<Position><![CDATA[CEO]]></Position>`))
		if a == b || a == c || b == c {
			t.Errorf("keys collide: %s %s %s", a, b, c)
		}
	})
	t.Run("two customers adding one employee in one second: different keys", func(t *testing.T) {
		a, b := key(t, addContact("wmCustomerA")), key(t, addContact("wmCustomerB"))
		if a == b {
			t.Errorf("keys collide: %s", a)
		}
		if key(t, addContact("wmCustomerA")) != a {
			t.Errorf("the retry has another key")
		}
	})
	t.Run("a retried message keeps its MsgId key", func(t *testing.T) {
		if a, b := key(t, v1bMsg), key(t, strings.ReplaceAll(v1bMsg, "\n", "\r\n  ")); a != b || a != "msg:4561255354251345929" {
			t.Errorf("%s, %s", a, b)
		}
	})
	t.Run("a message without MsgId is keyed by content", func(t *testing.T) {
		a := key(t, `<xml><MsgType>text</MsgType><CreateTime>5</CreateTime><Content>a</Content></xml>`)
		b := key(t, `<xml><MsgType>text</MsgType><CreateTime>5</CreateTime><Content>b</Content></xml>`)
		if a == b || !strings.HasPrefix(a, "text:5:") {
			t.Errorf("%s, %s", a, b)
		}
	})
	t.Run("another CreateTime: different key", func(t *testing.T) {
		a := key(t, addContact("wmA"))
		b := key(t, strings.Replace(addContact("wmA"), "1700000000", "1700000001", 1))
		if a == b {
			t.Errorf("keys collide: %s", a)
		}
	})
	t.Run("a newline in a value cannot mimic two elements", func(t *testing.T) {
		a := key(t, "<xml><MsgType>event</MsgType><Event>e</Event><A>x\nB=y</A></xml>")
		b := key(t, "<xml><MsgType>event</MsgType><Event>e</Event><A>x</A><B>y</B></xml>")
		if a == b {
			t.Errorf("keys collide: %s", a)
		}
	})
	t.Run("the same tree as XML or JSON: same key", func(t *testing.T) {
		x := `<xml><MsgType>event</MsgType><Event>change_external_chat</Event><ChangeType>update</ChangeType><CreateTime>9</CreateTime>` +
			`<ChatId>c</ChatId><MemChangeList><Item>Jack</Item><Item>Rose</Item></MemChangeList></xml>`
		j := `{"MsgType":"event","Event":"change_external_chat","ChangeType":"update","CreateTime":9,"ChatId":"c","MemChangeList":{"Item":["Jack","Rose"]}}`
		if a, b := key(t, x), key(t, j); a != b {
			t.Errorf("%s != %s", a, b)
		}
	})
	t.Run("Decode is deterministic", func(t *testing.T) {
		for _, s := range officialSamples {
			if key(t, s.xml) != key(t, s.xml) {
				t.Errorf("%s: key changes between calls", s.name)
			}
		}
	})
	t.Run("every official sample has its own key", func(t *testing.T) {
		seen := map[string]string{}
		for _, s := range officialSamples {
			if s.name == "change_contact.create_party (90240: bare ParentId)" {
				continue // the same event as the 90971 sample, so the same key
			}
			k := key(t, s.xml)
			if strings.HasPrefix(k, "msg:") {
				continue // the message samples all reuse MsgId 1234567890123456
			}
			if other, dup := seen[k]; dup {
				t.Errorf("%s and %s share key %s", s.name, other, k)
			}
			seen[k] = s.name
		}
		if key(t, sample(t, "change_contact.create_party")) != key(t, sample(t, "change_contact.create_party (90240: bare ParentId)")) {
			t.Errorf("ParentId as CDATA or bare gives different keys")
		}
	})
	t.Run("a hand-built event has a key without digest", func(t *testing.T) {
		e := &EnterAgent{Header: Header{MsgType: "event", Event: "enter_agent", CreateTime: 7}}
		if e.DedupKey() != "enter_agent:7" {
			t.Errorf("got %q", e.DedupKey())
		}
	})
}

func TestHelpers(t *testing.T) {
	t.Run("Departments rejects a non-integer", func(t *testing.T) {
		e := &UserChange{Header: Header{MsgType: "event", Event: "change_contact", ChangeType: "update_user"}, Department: sp("1, x")}
		if _, err := e.Departments(); err == nil || strings.Contains(err.Error(), "x") && !strings.Contains(err.Error(), "update_user") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("lists are trimmed and empty items dropped", func(t *testing.T) {
		e := &TagChange{AddUserItems: " a, ,b ,", AddPartyItems: ""}
		if got := e.AddedUsers(); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Errorf("AddedUsers = %q", got)
		}
		if got, err := e.AddedParties(); got != nil || err != nil {
			t.Errorf("AddedParties = %v, %v", got, err)
		}
		e.DelPartyItems = "1,z"
		if _, err := e.RemovedParties(); err == nil {
			t.Errorf("RemovedParties accepted a non-integer")
		}
	})
	t.Run("Head returns the embedded header", func(t *testing.T) {
		ev := decodeOK(t, v1bMsg)
		ev.Head().AgentID = "changed"
		if ev.(*TextMessage).AgentID != "changed" {
			t.Errorf("Head is a copy")
		}
	})
}

func TestDecodeErrorsWrapErrDecode(t *testing.T) {
	_, err := Decode([]byte("<xml/>"))
	if !errors.Is(err, ErrDecode) || !strings.HasPrefix(err.Error(), "wecom: decode: ") {
		t.Errorf("got %v", err)
	}
}
