package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("request body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// apiCase is one API call with the request the docs prescribe and the
// answer the docs show.
type apiCase struct {
	name      string
	call      func(ctx context.Context, c *Client) (any, error)
	method    string
	path      string
	query     url.Values // without access_token
	body      string     // JSON, "" for none
	answer    string     // the docs' example answer
	want      any        // the parsed result
	wantCalls int        // requests expected; default 1
}

var updateCardAnswer = `{"errcode":0,"errmsg":"ok","invaliduser":["userid1","userid2"]}`

var externalContactAnswer = `{"errcode":0,"errmsg":"ok","external_contact":{"external_userid":"woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA","name":"李四","position":"Manager","avatar":"https://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0","corp_name":"腾讯","corp_full_name":"腾讯科技有限公司","type":2,"gender":1,"unionid":"ozynqsulJFCZ2z1aYeS8h-nuasdAAA","external_profile":{"external_attr":[{"type":0,"name":"文本名称","text":{"value":"文本"}},{"type":1,"name":"网页名称","web":{"url":"https://www.test.com","title":"标题"}},{"type":2,"name":"测试app","miniprogram":{"appid":"wx8bd80126147df384","pagepath":"/index","title":"my miniprogram"}}]}},` +
	`"follow_user":[{"userid":"rocky","remark":"李部长","description":"对接采购事务","createtime":1525779812,"tags":[{"group_name":"标签分组名称","tag_name":"标签名称","tag_id":"etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA","type":1},{"group_name":"标签分组名称","tag_name":"标签名称","type":2},{"group_name":"标签分组名称","tag_name":"标签名称","tag_id":"stAJ2GCAAAXtWyujaWJHDDGi0mACHAAA","type":3}],"remark_corp_name":"腾讯科技","remark_mobiles":["13800000001","13000000002"],"oper_userid":"rocky","add_way":10,"wechat_channels":{"nickname":"视频号名称","source":1}},` +
	`{"userid":"tommy","remark":"李总","description":"采购问题咨询","createtime":1525881637,"state":"外联二维码1","oper_userid":"woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA","add_way":3}],"next_cursor":"NEXT_CURSOR"}`

var userAnswer = `{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":[1,2],"order":[1,2],"position":"后台工程师","mobile":"13800000000","gender":"1","email":"zhangsan@qq.com","biz_mail":"zhangsan@tencent.com","is_leader_in_dept":[1,0],"direct_leader":["lisi"],"avatar":"http://wx.qlogo.cn/a/0","thumb_avatar":"http://wx.qlogo.cn/a/100","telephone":"020-123456","alias":"jackzhang","address":"广州市海珠区新港中路","open_userid":"xxxxxx","main_department":1,` +
	`"extattr":{"attrs":[{"type":0,"name":"文本名称","text":{"value":"文本"}},{"type":1,"name":"网页名称","web":{"url":"http://www.test.com","title":"标题"}}]},"status":1,"qr_code":"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=xxx","external_position":"产品经理",` +
	`"external_profile":{"external_corp_name":"企业简称","wechat_channels":{"nickname":"视频号名称","status":1},"external_attr":[{"type":0,"name":"文本名称","text":{"value":"文本"}}]}}`

func apiCases() []apiCase {
	return append([]apiCase{
		{
			name:   "auth/getuserinfo: a member signs in",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.UserInfo(ctx, "CODE") },
			method: "GET", path: "/cgi-bin/auth/getuserinfo", query: url.Values{"code": {"CODE"}},
			answer: `{"errcode":0,"errmsg":"ok","userid":"USERID","user_ticket":"USER_TICKET"}`,
			want:   SignIn{UserID: "USERID"},
		},
		{
			name:   "auth/getuserinfo: someone outside the corp",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.UserInfo(ctx, "CODE") },
			method: "GET", path: "/cgi-bin/auth/getuserinfo", query: url.Values{"code": {"CODE"}},
			answer: `{"errcode":0,"errmsg":"ok","openid":"OPENID","external_userid":"EXTERNAL_USERID"}`,
			want:   SignIn{OpenID: "OPENID", ExternalUserID: "EXTERNAL_USERID"},
		},
		{
			name: "update_template_card: grey out the button",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateTemplateCard(ctx, CardUpdate{UserIDs: []string{"userid1", "userid2"}, PartyIDs: []int{2, 3}, TagIDs: []int{44, 55},
					ResponseCode: "response_code", ReplaceName: "replace_name"})
			},
			method: "POST", path: "/cgi-bin/message/update_template_card",
			body:   `{"userids":["userid1","userid2"],"partyids":[2,3],"tagids":[44,55],"agentid":1000002,"response_code":"response_code","button":{"replace_name":"replace_name"}}`,
			answer: updateCardAnswer, want: []string{"userid1", "userid2"},
		},
		{
			name: "update_template_card: replace the card",
			call: func(ctx context.Context, c *Client) (any, error) {
				card := &TemplateCard{CardType: CardButtonInteraction, MainTitle: &CardMainTitle{Title: "欢迎使用企业微信"},
					ButtonList: []CardButton{{Text: "按钮1", Style: 1, Key: "button_key_1"}}, ReplaceText: "已提交"}
				return c.UpdateTemplateCard(ctx, CardUpdate{AtAll: true, ResponseCode: "rc", TemplateCard: card, EnableIDTrans: true})
			},
			method: "POST", path: "/cgi-bin/message/update_template_card",
			body: `{"atall":1,"agentid":1000002,"response_code":"rc","enable_id_trans":1,"template_card":{"card_type":"button_interaction",` +
				`"main_title":{"title":"欢迎使用企业微信"},"button_list":[{"text":"按钮1","style":1,"key":"button_key_1"}],"replace_text":"已提交"}}`,
			answer: `{"errcode":0,"errmsg":"ok","invaliduser":[]}`, want: []string(nil),
		},
		{
			name: "recall",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.RecallMessage(ctx, "vcT8gGc-7dFb4bxT35ONjBDz901sLlXPZw1DAMC_Gc26qRpK-AK5sTJkkb0128t")
			},
			method: "POST", path: "/cgi-bin/message/recall",
			body:   `{"msgid":"vcT8gGc-7dFb4bxT35ONjBDz901sLlXPZw1DAMC_Gc26qRpK-AK5sTJkkb0128t"}`,
			answer: `{"errcode":0,"errmsg":"ok"}`,
		},
		{
			name: "externalcontact/get",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetExternalContact(ctx, "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "CURSOR")
			},
			method: "GET", path: "/cgi-bin/externalcontact/get",
			query:  url.Values{"external_userid": {"woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"}, "cursor": {"CURSOR"}},
			answer: externalContactAnswer,
			want: &ExternalContactDetail{
				ExternalContact: ExternalContact{ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", Name: "李四", Position: "Manager",
					Avatar: "https://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0", CorpName: "腾讯", CorpFullName: "腾讯科技有限公司", Type: 2, Gender: 1,
					UnionID: "ozynqsulJFCZ2z1aYeS8h-nuasdAAA", ExternalProfile: &ExternalProfile{ExternalAttr: []ExternalAttr{
						{Type: 0, Name: "文本名称", Text: &AttrText{Value: "文本"}},
						{Type: 1, Name: "网页名称", Web: &AttrWeb{URL: "https://www.test.com", Title: "标题"}},
						{Type: 2, Name: "测试app", MiniProgram: &AttrMiniProgram{AppID: "wx8bd80126147df384", PagePath: "/index", Title: "my miniprogram"}},
					}}},
				FollowUsers: []FollowUser{
					{UserID: "rocky", Remark: "李部长", Description: "对接采购事务", CreateTime: 1525779812,
						Tags: []FollowUserTag{{GroupName: "标签分组名称", TagName: "标签名称", TagID: "etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", Type: 1},
							{GroupName: "标签分组名称", TagName: "标签名称", Type: 2},
							{GroupName: "标签分组名称", TagName: "标签名称", TagID: "stAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", Type: 3}},
						RemarkCorpName: "腾讯科技", RemarkMobiles: []string{"13800000001", "13000000002"}, OperUserID: "rocky", AddWay: 10,
						WechatChannels: &FollowChannels{Nickname: "视频号名称", Source: 1}},
					{UserID: "tommy", Remark: "李总", Description: "采购问题咨询", CreateTime: 1525881637, State: "外联二维码1",
						OperUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", AddWay: 3},
				},
				NextCursor: "NEXT_CURSOR",
			},
		},
		{
			name:   "externalcontact/get without cursor",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetExternalContact(ctx, "wm1", "") },
			method: "GET", path: "/cgi-bin/externalcontact/get",
			query:  url.Values{"external_userid": {"wm1"}},
			answer: `{"errcode":0,"errmsg":"ok","external_contact":{"external_userid":"wm1","name":"n","type":1},"follow_user":[]}`,
			want:   &ExternalContactDetail{ExternalContact: ExternalContact{ExternalUserID: "wm1", Name: "n", Type: 1}, FollowUsers: []FollowUser{}},
		},
		{
			name: "send_welcome_msg",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SendWelcomeMessage(ctx, WelcomeMessage{WelcomeCode: "CALLBACK_CODE", Text: "文本消息内容", Attachments: []json.RawMessage{
					json.RawMessage(`{"msgtype":"link","link":{"title":"消息标题","url":"https://example.link.com/path"}}`),
					json.RawMessage(`{"msgtype":"file","file":{"media_id":"MEDIA_ID"}}`),
				}})
			},
			method: "POST", path: "/cgi-bin/externalcontact/send_welcome_msg",
			body: `{"welcome_code":"CALLBACK_CODE","text":{"content":"文本消息内容"},"attachments":[{"msgtype":"link","link":{"title":"消息标题","url":"https://example.link.com/path"}},` +
				`{"msgtype":"file","file":{"media_id":"MEDIA_ID"}}]}`,
			answer: `{"errcode":0,"errmsg":"ok"}`,
		},
		{
			name: "send_welcome_msg, text only",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SendWelcomeMessage(ctx, WelcomeMessage{WelcomeCode: "C", Text: "hi"})
			},
			method: "POST", path: "/cgi-bin/externalcontact/send_welcome_msg",
			body:   `{"welcome_code":"C","text":{"content":"hi"}}`,
			answer: `{"errcode":0,"errmsg":"ok"}`,
		},
		{
			name:   "user/get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetUser(ctx, "zhangsan") },
			method: "GET", path: "/cgi-bin/user/get",
			query:  url.Values{"userid": {"zhangsan"}},
			answer: userAnswer,
			want: &User{UserID: "zhangsan", Name: "张三", Department: []int{1, 2}, Order: []int64{1, 2}, Position: "后台工程师", Mobile: "13800000000",
				Gender: "1", Email: "zhangsan@qq.com", BizMail: "zhangsan@tencent.com", IsLeaderInDept: []int{1, 0}, DirectLeader: []string{"lisi"},
				Avatar: "http://wx.qlogo.cn/a/0", ThumbAvatar: "http://wx.qlogo.cn/a/100", Telephone: "020-123456", Alias: "jackzhang",
				Address: "广州市海珠区新港中路", OpenUserID: "xxxxxx", MainDepartment: 1,
				ExtAttr: &UserExtAttr{Attrs: []ExternalAttr{{Type: 0, Name: "文本名称", Text: &AttrText{Value: "文本"}},
					{Type: 1, Name: "网页名称", Web: &AttrWeb{URL: "http://www.test.com", Title: "标题"}}}},
				Status: UserActive, QRCode: "https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=xxx", ExternalPosition: "产品经理",
				ExternalProfile: &ExternalProfile{ExternalCorpName: "企业简称", WechatChannels: &ProfileChannels{Nickname: "视频号名称", Status: 1},
					ExternalAttr: []ExternalAttr{{Type: 0, Name: "文本名称", Text: &AttrText{Value: "文本"}}}},
			},
		},
		{
			name:   "user/list (path/90201)",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListDepartmentUsers(ctx, 2) },
			method: "GET", path: "/cgi-bin/user/list",
			query: url.Values{"department_id": {"2"}},
			answer: `{"errcode":0,"errmsg":"ok","userlist":[{"userid":"zhangsan","name":"李四","department":[1,2],"order":[1,2],"is_leader_in_dept":[1,0],` +
				`"direct_leader":["lisi"],"status":1,"main_department":1}]}`,
			want: []User{{UserID: "zhangsan", Name: "李四", Department: []int{1, 2}, Order: []int64{1, 2}, IsLeaderInDept: []int{1, 0},
				DirectLeader: []string{"lisi"}, Status: UserActive, MainDepartment: 1}},
		},
		{
			name: "user/list_id",
			call: func(ctx context.Context, c *Client) (any, error) {
				users, next, err := c.ListUserIDs(ctx, "xxxxxxx", 10000)
				return []any{users, next}, err
			},
			method: "POST", path: "/cgi-bin/user/list_id",
			body:   `{"cursor":"xxxxxxx","limit":10000}`,
			answer: `{"errcode":0,"errmsg":"ok","next_cursor":"aaaaaaaaa","dept_user":[{"userid":"zhangsan","department":1},{"userid":"zhangsan","department":2},{"userid":"lisi","department":2}]}`,
			want:   []any{[]DeptUser{{"zhangsan", 1}, {"zhangsan", 2}, {"lisi", 2}}, "aaaaaaaaa"},
		},
		{
			name: "user/list_id, first page, default limit",
			call: func(ctx context.Context, c *Client) (any, error) {
				users, next, err := c.ListUserIDs(ctx, "", 0)
				return []any{users, next}, err
			},
			method: "POST", path: "/cgi-bin/user/list_id",
			body:   `{}`,
			answer: `{"errcode":0,"errmsg":"ok","next_cursor":"","dept_user":[{"userid":"lisi","department":2}]}`,
			want:   []any{[]DeptUser{{"lisi", 2}}, ""},
		},
		{
			name:   "department/list, whole tree",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListDepartments(ctx, 0) },
			method: "GET", path: "/cgi-bin/department/list",
			query:  url.Values{},
			answer: `{"errcode":0,"errmsg":"ok","department":[{"id":2,"name":"广州研发中心","name_en":"RDGZ","department_leader":["zhangsan","lisi"],"parentid":1,"order":10},{"id":3,"name":"邮箱产品部","name_en":"mail","department_leader":["lisi","wangwu"],"parentid":2,"order":40}]}`,
			want: []Department{{ID: 2, Name: "广州研发中心", NameEn: "RDGZ", DepartmentLeader: []string{"zhangsan", "lisi"}, ParentID: 1, Order: 10},
				{ID: 3, Name: "邮箱产品部", NameEn: "mail", DepartmentLeader: []string{"lisi", "wangwu"}, ParentID: 2, Order: 40}},
		},
		{
			name:   "department/list of one department",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListDepartments(ctx, 2) },
			method: "GET", path: "/cgi-bin/department/list",
			query:  url.Values{"id": {"2"}},
			answer: `{"errcode":0,"errmsg":"ok","department":[]}`,
			want:   []Department{},
		},
		{
			name:   "get_permit_user_list, all",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.PermitUsers(ctx, 0) },
			method: "POST", path: "/cgi-bin/msgaudit/get_permit_user_list",
			body:   `{}`,
			answer: `{"errcode":0,"errmsg":"ok","ids":["userid_111","userid_222","userid_333"]}`,
			want:   []string{"userid_111", "userid_222", "userid_333"},
		},
		{
			name:   "get_permit_user_list, office edition",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.PermitUsers(ctx, 1) },
			method: "POST", path: "/cgi-bin/msgaudit/get_permit_user_list",
			body:   `{"type":1}`,
			answer: `{"errcode":0,"errmsg":"ok","ids":[]}`,
			want:   []string{},
		},
		{
			name: "check_single_agree (note exteranalopenid)",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CheckSingleAgree(ctx, []AgreeQuery{{"XuJinSheng", "wmeDKaCQAAGd9oGiQWxVsAKwV2HxNAAA"}, {"XuJinSheng", "wmeDKaCQAAIQ_p7ACn_jpLVBJSGocAAA"}})
			},
			method: "POST", path: "/cgi-bin/msgaudit/check_single_agree",
			body: `{"info":[{"userid":"XuJinSheng","exteranalopenid":"wmeDKaCQAAGd9oGiQWxVsAKwV2HxNAAA"},{"userid":"XuJinSheng","exteranalopenid":"wmeDKaCQAAIQ_p7ACn_jpLVBJSGocAAA"}]}`,
			answer: `{"errcode":0,"errmsg":"ok","agreeinfo":[{"status_change_time":1562766651,"userid":"XuJinSheng","exteranalopenid":"wmeDKaCQAAGd9oGiQWxVsAKwV2HxNAAA","agree_status":"Agree"},` +
				`{"status_change_time":1562766652,"userid":"XuJinSheng","exteranalopenid":"wmeDKaCQAAIQ_p7ACn_jpLVBJSGocAAA","agree_status":"Disagree"}]}`,
			want: []AgreeInfo{
				{UserID: "XuJinSheng", ExternalOpenID: "wmeDKaCQAAGd9oGiQWxVsAKwV2HxNAAA", Status: AgreeStatusAgree, ChangedAt: time.Unix(1562766651, 0).UTC()},
				{UserID: "XuJinSheng", ExternalOpenID: "wmeDKaCQAAIQ_p7ACn_jpLVBJSGocAAA", Status: AgreeStatusDisagree, ChangedAt: time.Unix(1562766652, 0).UTC()},
			},
		},
		{
			name: "check_room_agree",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CheckRoomAgree(ctx, "wrjc7bDwAASxc8tZvBErFE02BtPWyAAA")
			},
			method: "POST", path: "/cgi-bin/msgaudit/check_room_agree",
			body:   `{"roomid":"wrjc7bDwAASxc8tZvBErFE02BtPWyAAA"}`,
			answer: `{"errcode":0,"errmsg":"ok","agreeinfo":[{"status_change_time":1562766651,"exteranalopenid":"wmeDKaCQAAGdtHdiQWxVadfwV2HxNAAA","agree_status":"Agree"}]}`,
			want:   []AgreeInfo{{ExternalOpenID: "wmeDKaCQAAGdtHdiQWxVadfwV2HxNAAA", Status: AgreeStatusAgree, ChangedAt: time.Unix(1562766651, 0).UTC()}},
		},
	}, interceptCases()...)
}

// TestAPIRequestsAndAnswers checks each call's request (method, path,
// query, body field names) and how the documented answer is parsed.
func TestAPIRequestsAndAnswers(t *testing.T) {
	for _, tt := range apiCases() {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.wecom.answer(tt.path, tt.answer)
			got, err := tt.call(context.Background(), env.c)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result\n got %#v\nwant %#v", got, tt.want)
			}
			reqs := env.wecom.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			if r.Token == "" {
				t.Error("no access_token in the query")
			}
			wantQuery := tt.query
			if wantQuery == nil {
				wantQuery = url.Values{}
			}
			if !reflect.DeepEqual(r.Query, wantQuery) {
				t.Errorf("query %v, want %v", r.Query, wantQuery)
			}
			switch {
			case tt.body == "" && len(r.Body) != 0:
				t.Errorf("body %s, want none", r.Body)
			case tt.body != "" && !jsonEqual(t, r.Body, tt.body):
				t.Errorf("body\n got %s\nwant %s", r.Body, tt.body)
			}
		})
	}
}

// TestAPIErrcodes: every API returns a non-zero errcode as an *APIError
// naming the API, never as a result.
func TestAPIErrcodes(t *testing.T) {
	for _, tt := range apiCases() {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.wecom.answer(tt.path, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
			_, err := tt.call(context.Background(), env.c)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Code != CodeFrequencyLimit || "/cgi-bin/"+apiErr.Op != tt.path {
				t.Fatalf("err = %v, want an APIError 45009 of %s", err, tt.path)
			}
			if want := fmt.Sprintf("wecom: %s: errcode 45009: api freq out of limit", apiErr.Op); err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			if Classify(err) != ActionWaitWindow {
				t.Errorf("Classify = %v, want wait_window", Classify(err))
			}
		})
	}
}

func TestCheckSingleAgreeSplitsIntoHundreds(t *testing.T) {
	env := newTestEnv(t)
	env.wecom.setHandler(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Info []map[string]string `json:"info"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Info) > 100 {
			writeJSON(w, `{"errcode":301060,"errmsg":"too many"}`)
			return
		}
		var out []map[string]any
		for _, q := range req.Info {
			out = append(out, map[string]any{"userid": q["userid"], "exteranalopenid": q["exteranalopenid"], "agree_status": "Agree", "status_change_time": 1562766651})
		}
		b, _ := json.Marshal(map[string]any{"errcode": 0, "errmsg": "ok", "agreeinfo": out})
		w.Write(b)
	})
	var q []AgreeQuery
	for i := range 250 {
		q = append(q, AgreeQuery{UserID: fmt.Sprint("u", i), ExternalOpenID: fmt.Sprint("wm", i)})
	}
	got, err := env.c.CheckSingleAgree(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 250 {
		t.Fatalf("%d results, want 250", len(got))
	}
	for i, a := range got {
		if a.UserID != q[i].UserID || a.ExternalOpenID != q[i].ExternalOpenID {
			t.Fatalf("result %d is %+v, want %+v in order", i, a, q[i])
		}
	}
	var sizes []int
	for _, r := range env.wecom.requests() {
		var req struct {
			Info []json.RawMessage `json:"info"`
		}
		json.Unmarshal(r.Body, &req)
		sizes = append(sizes, len(req.Info))
	}
	if !reflect.DeepEqual(sizes, []int{100, 100, 50}) {
		t.Errorf("request sizes %v, want [100 100 50]", sizes)
	}

	// No queries, no request.
	if got, err := env.c.CheckSingleAgree(context.Background(), nil); err != nil || got != nil {
		t.Errorf("CheckSingleAgree(nil) = %v, %v", got, err)
	}
	if n := len(env.wecom.requests()); n != 3 {
		t.Errorf("%d requests after an empty query, want still 3", n)
	}
}

// invalidCase is a call with input a rule of WeCom's refuses, and the
// field the InvalidError must name.
type invalidCase struct {
	name  string
	call  func(c *Client) error
	field string
}

// TestAPIInvalidInput: a request that breaks one of WeCom's documented
// rules is refused before it is sent, naming the field.
func TestAPIInvalidInput(t *testing.T) {
	ctx := context.Background()
	card := buttonCard()
	tests := append([]invalidCase{
		{"update without response_code", func(c *Client) error {
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{UserIDs: []string{"u"}, ReplaceName: "x"})
			return err
		}, "response_code"},
		{"update with both replacements", func(c *Client) error {
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{UserIDs: []string{"u"}, ResponseCode: "r", ReplaceName: "x", TemplateCard: card})
			return err
		}, "button.replace_name"},
		{"update with neither", func(c *Client) error {
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{UserIDs: []string{"u"}, ResponseCode: "r"})
			return err
		}, "button.replace_name"},
		{"update without targets", func(c *Client) error {
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{ResponseCode: "r", ReplaceName: "x"})
			return err
		}, "userids"},
		{"update with 1001 users", func(c *Client) error {
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{UserIDs: users(1001), ResponseCode: "r", ReplaceName: "x"})
			return err
		}, "userids"},
		{"update with 101 parties", func(c *Client) error {
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{PartyIDs: make([]int, 101), ResponseCode: "r", ReplaceName: "x"})
			return err
		}, "partyids"},
		{"update with an invalid card", func(c *Client) error {
			bad := buttonCard()
			bad.ButtonList = nil
			_, err := c.UpdateTemplateCard(ctx, CardUpdate{AtAll: true, ResponseCode: "r", TemplateCard: bad})
			return err
		}, "template_card.button_list"},
		{"recall without msgid", func(c *Client) error { return c.RecallMessage(ctx, "") }, "msgid"},
		{"external contact without id", func(c *Client) error { _, err := c.GetExternalContact(ctx, "", ""); return err }, "external_userid"},
		{"welcome without code", func(c *Client) error { return c.SendWelcomeMessage(ctx, WelcomeMessage{Text: "hi"}) }, "welcome_code"},
		{"empty welcome", func(c *Client) error { return c.SendWelcomeMessage(ctx, WelcomeMessage{WelcomeCode: "c"}) }, "text"},
		{"welcome text over 4000 bytes", func(c *Client) error {
			return c.SendWelcomeMessage(ctx, WelcomeMessage{WelcomeCode: "c", Text: strings.Repeat("a", 4001)})
		}, "text.content"},
		{"welcome with 10 attachments", func(c *Client) error {
			a := make([]json.RawMessage, 10)
			for i := range a {
				a[i] = json.RawMessage(`{"msgtype":"file","file":{"media_id":"m"}}`)
			}
			return c.SendWelcomeMessage(ctx, WelcomeMessage{WelcomeCode: "c", Attachments: a})
		}, "attachments"},
		{"welcome attachment without msgtype", func(c *Client) error {
			return c.SendWelcomeMessage(ctx, WelcomeMessage{WelcomeCode: "c", Attachments: []json.RawMessage{json.RawMessage(`{"file":{}}`)}})
		}, "attachments[0]"},
		{"user without id", func(c *Client) error { _, err := c.GetUser(ctx, ""); return err }, "userid"},
		{"list_id limit over 10000", func(c *Client) error { _, _, err := c.ListUserIDs(ctx, "", 10001); return err }, "limit"},
		{"negative department", func(c *Client) error { _, err := c.ListDepartments(ctx, -1); return err }, "id"},
		{"permit type 4", func(c *Client) error { _, err := c.PermitUsers(ctx, 4); return err }, "type"},
		{"agree query without external id", func(c *Client) error {
			_, err := c.CheckSingleAgree(ctx, []AgreeQuery{{UserID: "u"}})
			return err
		}, "info[0]"},
		{"room without id", func(c *Client) error { _, err := c.CheckRoomAgree(ctx, ""); return err }, "roomid"},
	}, interceptInvalidCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			err := tt.call(env.c)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err = %v, want an InvalidError of field %q", err, tt.field)
			}
			if n := len(env.wecom.requests()); n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
}

// TestHTTPAnswers covers answers other than WeCom's JSON.
func TestHTTPAnswers(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    Action
		check   func(t *testing.T, err error)
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, ActionRetry, nil},
		{"503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, ActionRetry, nil},
		{"429", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, ActionRetry, nil},
		{"404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, ActionPermanent, nil},
		{"400 with WeCom JSON", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
		}, ActionPermanent, func(t *testing.T, err error) {
			var se *HTTPStatusError
			if !errors.As(err, &se) || se.StatusCode != 400 || se.Op != "message/recall" {
				t.Errorf("err = %v, want HTTPStatusError 400 of message/recall", err)
			}
		}},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>gateway</html>")) }, ActionRetry,
			func(t *testing.T, err error) {
				var re *ResponseError
				if !errors.As(err, &re) {
					t.Errorf("err = %v, want a ResponseError", err)
				}
			}},
		{"cut short", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"errcode":0,"errm`)) }, ActionRetry, nil},
		{"larger than 4 MiB", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"errcode":0,"errmsg":"` + strings.Repeat("x", maxResponseBytes) + `"}`))
		}, ActionPermanent, func(t *testing.T, err error) {
			if !errors.Is(err, ErrResponseTooLarge) {
				t.Errorf("err = %v, want ErrResponseTooLarge", err)
			}
		}},
		{"errcode as a string", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, `{"errcode":"0"}`) }, ActionRetry, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.wecom.setHandler(tt.handler)
			err := recall(env.c)
			if err == nil {
				t.Fatal("no error")
			}
			if got := Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if n := len(env.wecom.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (the Client itself retries only after a token error)", n)
			}
		})
	}
}

func TestIDList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`""`, nil},
		{`"a"`, []string{"a"}},
		{`"a|b"`, []string{"a", "b"}},
		{`"a | b|"`, []string{"a", "b"}},
		{`[]`, nil},
		{`["a","b"]`, []string{"a", "b"}},
		{`null`, nil},
	}
	for _, tt := range tests {
		var got idList
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual([]string(got), tt.want) {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
	var bad idList
	if err := json.Unmarshal([]byte(`{"a":1}`), &bad); err == nil {
		t.Error("an object was accepted as a recipient list")
	}
}

// FuzzIDList: a recipient list from the network never panics and never
// yields an empty item (or, from a string, an item with "|").
func FuzzIDList(f *testing.F) {
	for _, s := range []string{`""`, `"a|b"`, `["a",""]`, `null`, `{"a":1}`, `"|||"`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l idList
		if err := json.Unmarshal(b, &l); err != nil {
			return
		}
		var s string
		fromString := json.Unmarshal(b, &s) == nil
		for _, item := range l {
			if item == "" || (fromString && strings.Contains(item, "|")) {
				t.Fatalf("%q gave item %q", b, item)
			}
		}
	})
}

// TestSignInLinks: the two sign-in links carry what path/91022 and
// path/98152 require, and state follows 91022's charset rule.
func TestSignInLinks(t *testing.T) {
	a := AuthorizeURL("https://open.weixin.qq.com/", "ww1", 1000002, "https://c.example.com/cb?x=1", "s1")
	if want := "https://open.weixin.qq.com/connect/oauth2/authorize?agentid=1000002&appid=ww1&redirect_uri=https%3A%2F%2Fc.example.com%2Fcb%3Fx%3D1&response_type=code&scope=snsapi_base&state=s1#wechat_redirect"; a != want {
		t.Errorf("AuthorizeURL = %s\nwant %s", a, want)
	}
	w := WebLoginURL("https://login.work.weixin.qq.com", "ww1", 1000002, "https://c.example.com/cb", "s1", "en")
	if want := "https://login.work.weixin.qq.com/wwlogin/sso/login?agentid=1000002&appid=ww1&lang=en&login_type=CorpApp&redirect_uri=https%3A%2F%2Fc.example.com%2Fcb&state=s1"; w != want {
		t.Errorf("WebLoginURL = %s\nwant %s", w, want)
	}
	for state, want := range map[string]bool{"abcXYZ019": true, "": false, "a-b": false, "中": false, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false} {
		if got := ValidState(state); got != want {
			t.Errorf("ValidState(%q) = %v, want %v", state, got, want)
		}
	}
}
