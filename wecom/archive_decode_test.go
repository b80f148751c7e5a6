package wecom

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// common is the envelope of the doc examples whose common fields are
// trimmed in ARCHIVE.md (…): a 1:1 chat at 2020-10-28 09:00:10.000 UTC.
const common = `"msgid":"CAQQluDa4QUY0On2rYSAgAMgzPrShAE=","action":"send","from":"XuJinSheng","tolist":["wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"],"roomid":"","msgtime":1603875610000`

var commonTime = time.UnixMilli(1603875610000).UTC()

func TestDecodeChatMessageDocExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ChatMessage // Raw is checked separately
	}{
		{
			name: "text",
			in:   `{` + common + `,"msgtype":"text","text":{"content":"test"}}`,
			want: ChatMessage{Type: "text", Text: "test"},
		},
		{
			name: "quoted reply is a text",
			in:   `{` + common + `,"msgtype":"text","text":{"content":"这是一条引用/回复消息：\n\"nick\n666\"\n------\n@nick777"}}`,
			want: ChatMessage{Type: "text", Text: "这是一条引用/回复消息：\n\"nick\n666\"\n------\n@nick777"},
		},
		{
			name: "image with msgtime 0",
			in:   `{"msgid":"CAQQvPnc4QUY0On2rYSAgAMgooLa0Q8=","action":"send","from":"XuJinSheng","tolist":["ZhangZheng"],"roomid":"","msgtime":0,"msgtype":"image","image":{"md5sum":"50de8e5ae8ffe4f1df7a93841f71993a","filesize":70961,"sdkfileid":"CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNGI"}}`,
			want: ChatMessage{MsgID: "CAQQvPnc4QUY0On2rYSAgAMgooLa0Q8=", From: "XuJinSheng", ToList: []string{"ZhangZheng"}, Type: "image",
				Media: []ChatMedia{{Type: "image", SDKFileID: "CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNGI", MD5Sum: "50de8e5ae8ffe4f1df7a93841f71993a", Size: 70961}}},
		},
		{
			name: "revoke",
			in:   `{"msgid":"15775510700152506326_1603875615","action":"recall","from":"kenshin","tolist":["wmUu0zBgAALV7ZymkcMyxHN7mbMDSEaw"],"roomid":"","msgtime":1603875615723,"msgtype":"revoke","revoke":{"pre_msgid":"14822339130656386894_1603875600"}}`,
			want: ChatMessage{MsgID: "15775510700152506326_1603875615", Action: "recall", From: "kenshin", ToList: []string{"wmUu0zBgAALV7ZymkcMyxHN7mbMDSEaw"},
				Time: time.UnixMilli(1603875615723).UTC(), Type: "revoke", PreMsgID: "14822339130656386894_1603875600"},
		},
		{
			name: "agree",
			in:   `{` + common + `,"msgtype":"agree","agree":{"userid":"wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ","agree_time":1603875826656}}`,
			want: ChatMessage{Type: "agree", Agree: &ChatAgree{UserID: "wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ", Agreed: true, Time: time.UnixMilli(1603875826656).UTC()}},
		},
		{
			name: "disagree uses disagree_time",
			in:   `{` + common + `,"msgtype":"disagree","disagree":{"userid":"wmErxtDgAA9AW32YyyuYRimKr7D1KWlw","disagree_time":1603875944122}}`,
			want: ChatMessage{Type: "disagree", Agree: &ChatAgree{UserID: "wmErxtDgAA9AW32YyyuYRimKr7D1KWlw", Agreed: false, Time: time.UnixMilli(1603875944122).UTC()}},
		},
		{
			name: "voice",
			in:   `{` + common + `,"msgtype":"voice","voice":{"md5sum":"9db09c7fa627c9e53fa0d1d5d7d41b2b","voice_size":6810,"play_length":10,"sdkfileid":"kcyZjZqOXhETGYxajB2Zkp4"}}`,
			want: ChatMessage{Type: "voice", Media: []ChatMedia{{Type: "voice", SDKFileID: "kcyZjZqOXhETGYxajB2Zkp4", MD5Sum: "9db09c7fa627c9e53fa0d1d5d7d41b2b", Size: 6810}}},
		},
		{
			name: "video",
			in:   `{` + common + `,"msgtype":"video","video":{"md5sum":"d06fc80c01d6fa7f2ad0c9d8a8c5dc8a","filesize":15169724,"play_length":108,"sdkfileid":"MzAzMjYxMDIwMTAyMDQ1YjMw"}}`,
			want: ChatMessage{Type: "video", Media: []ChatMedia{{Type: "video", SDKFileID: "MzAzMjYxMDIwMTAyMDQ1YjMw", MD5Sum: "d06fc80c01d6fa7f2ad0c9d8a8c5dc8a", Size: 15169724}}},
		},
		{
			name: "card",
			in:   `{` + common + `,"msgtype":"card","card":{"corpname":"微信联系人","userid":"wmGAgeDQAAGjFmfnP7A3j2JxQDdLNhSw"}}`,
			want: ChatMessage{Type: "card", Text: "微信联系人"},
		},
		{
			name: "location",
			in:   `{` + common + `,"msgtype":"location","location":{"longitude":116.586285899,"latitude":39.911125799,"address":"北京市xxx区xxx路xxx大厦x座","title":"xxx管理中心","zoom":15}}`,
			want: ChatMessage{Type: "location", Text: "xxx管理中心\n北京市xxx区xxx路xxx大厦x座"},
		},
		{
			name: "emotion",
			in:   `{` + common + `,"msgtype":"emotion","emotion":{"type":1,"width":290,"height":290,"imagesize":962604,"md5sum":"94c2b0bba52a8e0ab1f2d1d8e8d51c9e","sdkfileid":"4eE1ESTVNalE3"}}`,
			want: ChatMessage{Type: "emotion", Media: []ChatMedia{{Type: "emotion", SDKFileID: "4eE1ESTVNalE3", MD5Sum: "94c2b0bba52a8e0ab1f2d1d8e8d51c9e", Size: 962604}}},
		},
		{
			name: "file",
			in:   `{` + common + `,"msgtype":"file","file":{"md5sum":"18e93fc2ea884df23b3d2d3b8667b9f0","filename":"资料.docx","fileext":"docx","filesize":18181,"sdkfileid":"E4ODRkZjIzYjNk"}}`,
			want: ChatMessage{Type: "file", Text: "资料.docx", Media: []ChatMedia{{Type: "file", SDKFileID: "E4ODRkZjIzYjNk", MD5Sum: "18e93fc2ea884df23b3d2d3b8667b9f0", Size: 18181, FileName: "资料.docx"}}},
		},
		{
			name: "link",
			in:   `{` + common + `,"msgtype":"link","link":{"title":"邀请你加入群聊","description":"技术支持群，进入可查看详情","link_url":"https://work.weixin.qq.com/wework_admin/external_room/join","image_url":"https://wework.qpic.cn/wwpic/x/0"}}`,
			want: ChatMessage{Type: "link", Text: "邀请你加入群聊\n技术支持群，进入可查看详情"},
		},
		{
			name: "weapp",
			in:   `{` + common + `,"msgtype":"weapp","weapp":{"title":"开始聊天前请仔细阅读服务须知事项","description":"客户需同意存档聊天记录","username":"xxx@app","displayname":"服务须知","appid":"wx062f7a5507909000","pagepath":"pages/home/index"}}`,
			want: ChatMessage{Type: "weapp", Text: "开始聊天前请仔细阅读服务须知事项\n客户需同意存档聊天记录"},
		},
		{
			name: "chatrecord",
			in:   `{` + common + `,"msgtype":"chatrecord","chatrecord":{"title":"群聊","item":[{"type":"ChatRecordText","msgtime":1603875610,"content":"{\"content\":\"test\"}","from_chatroom":false}]}}`,
			want: ChatMessage{Type: "chatrecord", Text: "群聊\ntest"},
		},
		{
			name: "chatrecord with files, links and a nested chatrecord",
			in: `{` + common + `,"msgtype":"chatrecord","chatrecord":{"title":"客户沟通记录","item":[` +
				`{"type":"ChatRecordFile","msgtime":1603875610,"content":"{\"md5sum\":\"aa\",\"filename\":\"报价单.xlsx\",\"fileext\":\"xlsx\",\"filesize\":1024,\"sdkfileid\":\"F1\"}","from_chatroom":false},` +
				`{"type":"ChatRecordLink","msgtime":1603875611,"content":"{\"title\":\"产品介绍\",\"description\":\"第二版\",\"link_url\":\"https://x\"}","from_chatroom":false},` +
				`{"type":"chatrecord","msgtime":1603875612,"content":"{\"title\":\"转发\",\"item\":[{\"type\":\"ChatRecordImage\",\"msgtime\":1603875600,\"content\":\"{\\\"md5sum\\\":\\\"bb\\\",\\\"filesize\\\":77,\\\"sdkfileid\\\":\\\"I1\\\"}\"},{\"type\":\"ChatRecordText\",\"msgtime\":1603875601,\"content\":\"{\\\"content\\\":\\\"内层\\\"}\"}]}","from_chatroom":true}]}}`,
			want: ChatMessage{Type: "chatrecord", Text: "客户沟通记录\n报价单.xlsx\n产品介绍\n第二版\n转发\n内层",
				Media: []ChatMedia{{Type: "file", SDKFileID: "F1", MD5Sum: "aa", Size: 1024, FileName: "报价单.xlsx"}, {Type: "image", SDKFileID: "I1", MD5Sum: "bb", Size: 77}}},
		},
		{
			name: "todo under todo",
			in:   `{` + common + `,"msgtype":"todo","todo":{"title":"来源文本","content":"下周一前回复报价"}}`,
			want: ChatMessage{Type: "todo", Text: "来源文本\n下周一前回复报价"},
		},
		{
			name: "vote at the top level",
			in:   `{` + common + `,"msgtype":"vote","votetitle":"团建去哪","voteitem":["爬山","露营"],"votetype":101,"voteid":"2azYp0j9"}`,
			want: ChatMessage{Type: "vote", Text: "团建去哪\n爬山\n露营"},
		},
		{
			name: "vote under vote",
			in:   `{` + common + `,"msgtype":"vote","vote":{"votetitle":"团建去哪","voteitem":["爬山"],"votetype":102,"voteid":"2azYp0j9"}}`,
			want: ChatMessage{Type: "vote", Text: "团建去哪\n爬山"},
		},
		{
			name: "collect",
			in:   `{"msgid":"2500536226619379797_1576034482","action":"send","from":"nick","tolist":["XuJinSheng","15602498328"],"roomid":"wrjc7bDwYAySAfJYYd6lw5zAoxEZ6ag","msgtime":1603875610000,"msgtype":"collect","collect":{"room_name":"这是一个群","creator":"nick","create_time":"2019-12-11 11:21:22","title":"这是填表title","details":[{"id":1,"ques":"表项1，文本","type":"Text"}]}}`,
			want: ChatMessage{MsgID: "2500536226619379797_1576034482", From: "nick", ToList: []string{"XuJinSheng", "15602498328"}, RoomID: "wrjc7bDwYAySAfJYYd6lw5zAoxEZ6ag", Time: commonTime, Type: "collect", Text: "这是填表title"},
		},
		{
			name: "redpacket",
			in:   `{` + common + `,"msgtype":"redpacket","redpacket":{"type":1,"wish":"恭喜发财，大吉大利","totalcnt":1,"totalamount":3000}}`,
			want: ChatMessage{Type: "redpacket", Text: "恭喜发财，大吉大利"},
		},
		{
			name: "meeting",
			in:   `{` + common + `,"msgtype":"meeting","meeting":{"topic":"夕会","starttime":1603877400,"endtime":1603881000,"address":"","remarks":"","meetingid":1210342560}}`,
			want: ChatMessage{Type: "meeting", Text: "夕会"},
		},
		{
			name: "meeting_notification under info with meeting_id above 2^53",
			in:   `{"action":"send","from":"18510382533","info":{"content":"yinhuiyou的快速会议 已结束","meeting_id":6072773153468854001,"notification_type":2},"msgid":"14158408185591086566_1700815962253","msgtime":1700815958880,"msgtype":"meeting_notification","roomid":"","tolist":["DuDuDu"],"time":"2023-11-24 16:52:38:880"}`,
			want: ChatMessage{MsgID: "14158408185591086566_1700815962253", From: "18510382533", ToList: []string{"DuDuDu"}, Time: time.UnixMilli(1700815958880).UTC(),
				Type: "meeting_notification", Text: "yinhuiyou的快速会议 已结束"},
		},
		{
			name: "switch has action, time and user only",
			in:   `{"msgid":"125289002219525886280","action":"switch","time":1554119421840,"user":"XuJinSheng"}`,
			want: ChatMessage{MsgID: "125289002219525886280", Action: "switch", Time: time.UnixMilli(1554119421840).UTC(), SwitchUser: "XuJinSheng"},
		},
		{
			name: "docmsg under doc",
			in:   `{` + common + `,"msgtype":"docmsg","doc":{"title":"测试&演示客户","doc_creator":"test","link_url":"https://doc.weixin.qq.com/txdoc/excel?docid=xxx"}}`,
			want: ChatMessage{Type: "docmsg", Text: "测试&演示客户"},
		},
		{
			name: "markdown under info",
			in:   `{` + common + `,"msgtype":"markdown","info":{"content":"请前往系统查看，谢谢。"}}`,
			want: ChatMessage{Type: "markdown", Text: "请前往系统查看，谢谢。"},
		},
		{
			name: "news under info",
			in:   `{"msgid":"118732825779547782215","action":"send","from":"wbJs_rDAAAS6T5jM9AZo0qTVs9Xe8L4w","tolist":["wrJs_rDAAA8GjYgW1g3yc9y4lQDLTBPQ"],"roomid":"wrJs_rDAAA8GjYgW1g3yc9y4lQDLTBPQ","msgtime":1603875610000,"msgtype":"news","info":{"item":[{"title":"service ","description":"test","url":"https://xxx","picurl":"https://www.qq.com/xxx.jpg"}]}}`,
			want: ChatMessage{MsgID: "118732825779547782215", From: "wbJs_rDAAAS6T5jM9AZo0qTVs9Xe8L4w", ToList: []string{"wrJs_rDAAA8GjYgW1g3yc9y4lQDLTBPQ"}, RoomID: "wrJs_rDAAA8GjYgW1g3yc9y4lQDLTBPQ", Time: commonTime, Type: "news", Text: "service\ntest"},
		},
		{
			name: "calendar",
			in:   `{` + common + `,"msgtype":"calendar","calendar":{"title":"xxx业绩复盘会","creatorname":"test","attendeename":["aaa","bbb"],"starttime":1603882800,"endtime":1603886400,"place":"","remarks":""}}`,
			want: ChatMessage{Type: "calendar", Text: "xxx业绩复盘会"},
		},
		{
			name: "mixed",
			in:   `{` + common + `,"msgtype":"mixed","mixed":{"item":[{"type":"text","content":"{\"content\":\"你好[微笑]\\n\"}"},{"type":"image","content":"{\"md5sum\":\"368b6c18c82e6441bfd89b343e9d2429\",\"filesize\":13177,\"sdkfileid\":\"CtYBMzA2OTAy\"}"}]}}`,
			want: ChatMessage{Type: "mixed", Text: "你好[微笑]", Media: []ChatMedia{{Type: "image", SDKFileID: "CtYBMzA2OTAy", MD5Sum: "368b6c18c82e6441bfd89b343e9d2429", Size: 13177}}},
		},
		{
			name: "meeting_voice_call without roomid",
			in:   `{"msgid":"17952229780246929345_1594197637","action":"send","from":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","tolist":["wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"],"msgtime":1594197581203,"msgtype":"meeting_voice_call","voiceid":"grb8a4c48a3c094a70982c518d55e40557","meeting_voice_call":{"endtime":1594197635,"sdkfileid":"CpsBKjAqd0xhb2JWRUJldGtwcE5DVTB6UjRUalN6c09vTjVyRnF4YVJ5M24rZC9YZ3Jn","demofiledata":[{"filename":"65eb1cdd3e7a3c1740ecd74220b6c627.docx","demooperator":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","starttime":1594197599,"endtime":1594197609}],"sharescreendata":[{"share":"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA","starttime":1594197624,"endtime":1594197624}]}}`,
			want: ChatMessage{MsgID: "17952229780246929345_1594197637", From: "wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA", ToList: []string{"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"}, Time: time.UnixMilli(1594197581203).UTC(),
				Type: "meeting_voice_call", Media: []ChatMedia{{Type: "meeting_voice_call", SDKFileID: "CpsBKjAqd0xhb2JWRUJldGtwcE5DVTB6UjRUalN6c09vTjVyRnF4YVJ5M24rZC9YZ3Jn"}}},
		},
		{
			name: "voip_doc_share without roomid",
			in:   `{"msgid":"16527954622422422847_1594199256","action":"send","from":"18002520162","tolist":["wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"],"msgtime":1594199235014,"msgtype":"voip_doc_share","voipid":"gr2751c98b19300571f8afb3b74514bd32","voip_doc_share":{"filename":"欢迎使用微盘.pdf.pdf","md5sum":"ff893900f24e55e216e617a40e5c4648","filesize":4400654,"sdkfileid":"CpsBKjAqZUlLdWJMd2gvQ1JxMWd1"}}`,
			want: ChatMessage{MsgID: "16527954622422422847_1594199256", From: "18002520162", ToList: []string{"wo137MCgAAYW6pIiKKrDe5SlzEhSgwbA"}, Time: time.UnixMilli(1594199235014).UTC(),
				Type: "voip_doc_share", Text: "欢迎使用微盘.pdf.pdf", Media: []ChatMedia{{Type: "voip_doc_share", SDKFileID: "CpsBKjAqZUlLdWJMd2gvQ1JxMWd1", MD5Sum: "ff893900f24e55e216e617a40e5c4648", Size: 4400654, FileName: "欢迎使用微盘.pdf.pdf"}}},
		},
		{
			name: "external_redpacket under redpacket",
			in:   `{"msgid":"8632214264349267353_1603786184","action":"send","from":"wmlRa0DAAA4wB0bfk6ipI6eK4qYHhLgw","tolist":["wmlRa0DAAAAZGbqQ5xBEh-2WJ0Hx1ORw"],"roomid":"wrJ7ijBwAAlfqiuuJrU6p0f8jMMOh8Fw","msgtime":1603786183723,"msgtype":"external_redpacket","redpacket":{"type":1,"wish":"恭喜发财，大吉大利","totalcnt":2,"totalamount":20}}`,
			want: ChatMessage{MsgID: "8632214264349267353_1603786184", From: "wmlRa0DAAA4wB0bfk6ipI6eK4qYHhLgw", ToList: []string{"wmlRa0DAAAAZGbqQ5xBEh-2WJ0Hx1ORw"}, RoomID: "wrJ7ijBwAAlfqiuuJrU6p0f8jMMOh8Fw", Time: time.UnixMilli(1603786183723).UTC(),
				Type: "external_redpacket", Text: "恭喜发财，大吉大利"},
		},
		{
			name: "sphfeed",
			in:   `{"msgid":"5702551662099334532_1619511584_external","action":"send","from":"wmO2A_DAAAfb3kRaGdn0NhEXXFK-y-GA","tolist":["ShengXiaoJing"],"roomid":"","msgtime":1619511584000,"msgtype":"sphfeed","sphfeed":{"feed_type":4,"sph_name":"云游天地旅行家","feed_desc":"瑞士丨盖尔默缆车"}}`,
			want: ChatMessage{MsgID: "5702551662099334532_1619511584_external", From: "wmO2A_DAAAfb3kRaGdn0NhEXXFK-y-GA", ToList: []string{"ShengXiaoJing"}, Time: time.UnixMilli(1619511584000).UTC(),
				Type: "sphfeed", Text: "云游天地旅行家\n瑞士丨盖尔默缆车"},
		},
		{
			name: "voiptext under info",
			in:   `{"msgid":"10950316726562067988_1666601563058","action":"send","from":"tiny-six768","tolist":["wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"],"roomid":"","msgtime":1666601563058,"msgtype":"voiptext","info":{"callduration":9,"invitetype":2}}`,
			want: ChatMessage{MsgID: "10950316726562067988_1666601563058", From: "tiny-six768", ToList: []string{"wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"}, Time: time.UnixMilli(1666601563058).UTC(), Type: "voiptext"},
		},
		{
			name: "qydiskfile under info",
			in:   `{"msgid":"1234_1666601563058_external","action":"send","from":"0000726","tolist":["wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"],"roomid":"","msgtime":1666601563058,"msgtype":"qydiskfile","info":{"filename":".sys.log","url":"https://drive.weixin.qq.com/s?k=abc"}}`,
			want: ChatMessage{MsgID: "1234_1666601563058_external", From: "0000726", ToList: []string{"wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"}, Time: time.UnixMilli(1666601563058).UTC(), Type: "qydiskfile", Text: ".sys.log"},
		},
		{
			name: "solitaire under info",
			in:   `{` + common + `,"msgtype":"solitaire","info":{"solitaire_type":101,"solitaire_content":"#接龙\n接龙举例\n\n1. 发起接龙"}}`,
			want: ChatMessage{Type: "solitaire", Text: "#接龙\n接龙举例\n\n1. 发起接龙"},
		},
		{
			name: "note under info with items and msg_type",
			in:   `{` + common + `,"msgtype":"note","info":{"items":[{"content":"{\"content\":\"测试笔记\"}","msg_type":"text"},{"content":"{\"md5sum\":\"fe6136d6a4c3e7b5fbe7d7f7e94e1d7f\",\"filename\":\"log_list-42.pub\",\"fileext\":\"pub\",\"filesize\":404,\"sdkfileid\":\"CqoCMzA4\"}","msg_type":"file"}]}}`,
			want: ChatMessage{Type: "note", Text: "测试笔记\nlog_list-42.pub", Media: []ChatMedia{{Type: "file", SDKFileID: "CqoCMzA4", MD5Sum: "fe6136d6a4c3e7b5fbe7d7f7e94e1d7f", Size: 404, FileName: "log_list-42.pub"}}},
		},
		{
			name: "unknown type: every content string",
			in:   `{` + common + `,"msgtype":"hologram","hologram":{"content":"全息","meta":{"content":"{\"content\":\"深处\"}"}}}`,
			want: ChatMessage{Type: "hologram", Text: "全息\n深处"},
		},
		{
			name: "unknown type sent as text 【未知消息类型】",
			in:   `{` + common + `,"msgtype":"text","text":{"content":"【未知消息类型】"}}`,
			want: ChatMessage{Type: "text", Text: "【未知消息类型】"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeChatMessage([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeChatMessage: %v", err)
			}
			if string(got.Raw) != tt.in {
				t.Errorf("Raw changed: %s", got.Raw)
			}
			want := tt.want
			if strings.Contains(tt.in, common) {
				want.MsgID = "CAQQluDa4QUY0On2rYSAgAMgzPrShAE="
				want.From = "XuJinSheng"
				want.ToList = []string{"wmErxtDgAA9AW32YyyuYRimKr7D1KWlw"}
				want.Time = commonTime
			}
			if want.Action == "" {
				want.Action = "send"
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
				if got.Agree != nil && want.Agree != nil {
					t.Errorf("agree got %+v want %+v", *got.Agree, *want.Agree)
				}
			}
		})
	}
}

func TestDecodeChatMessageControlBytesAreEscapedNotDeleted(t *testing.T) {
	in := []byte("{\"msgid\":\"m1\",\"action\":\"send\",\"msgtype\":\"text\",\"text\":{\"content\":\"line1\nline2\ttab\x01end\"}}")
	got, err := DecodeChatMessage(in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "line1\nline2\ttab\x01end" {
		t.Errorf("Text = %q", got.Text)
	}
	wantRaw := `{"msgid":"m1","action":"send","msgtype":"text","text":{"content":"line1\u000aline2\u0009tab\u0001end"}}`
	if string(got.Raw) != wantRaw {
		t.Errorf("Raw = %s\nwant  %s", got.Raw, wantRaw)
	}
	// Whitespace between tokens is legal JSON and stays as it is.
	pretty := []byte("{\n\t\"msgid\": \"m2\",\r\n\t\"text\": {\"content\": \"a\x1fb\"}, \"msgtype\": \"text\"\n}")
	got, err = DecodeChatMessage(pretty)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "a\x1fb" || !json.Valid(got.Raw) || !strings.HasPrefix(string(got.Raw), "{\n\t\"msgid\"") {
		t.Errorf("pretty: Text %q Raw %q", got.Text, got.Raw)
	}
	// A backslash before a raw control byte is that byte's escape.
	got, err = DecodeChatMessage([]byte("{\"msgid\":\"m3\",\"msgtype\":\"text\",\"text\":{\"content\":\"a\\\nb\"}}"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "a\nb" {
		t.Errorf("backslash-newline: Text %q", got.Text)
	}
}

func TestDecodeChatMessageBigIDsStayExact(t *testing.T) {
	// A msgid of plain digits sent as a number, above 2^64 even.
	got, err := DecodeChatMessage([]byte(`{"msgid":125289002219525886280,"action":"send","msgtype":"text","text":{"content":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.MsgID != "125289002219525886280" {
		t.Errorf("MsgID = %q", got.MsgID)
	}
	// Sizes above 2^53 are exact too.
	got, err = DecodeChatMessage([]byte(`{"msgid":"m","msgtype":"voip_doc_share","voip_doc_share":{"filename":"f","filesize":9007199254740993,"sdkfileid":"S"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Media) != 1 || got.Media[0].Size != 9007199254740993 {
		t.Errorf("Media = %+v", got.Media)
	}
}

func TestDecodeChatMessageLenientShapes(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, m ChatMessage)
	}{
		{"msgtime as a string", `{"msgid":"m","msgtime":"1603875610000"}`, func(t *testing.T, m ChatMessage) {
			if !m.Time.Equal(commonTime) {
				t.Errorf("Time = %v", m.Time)
			}
		}},
		{"tolist as one string", `{"msgid":"m","tolist":"wmX"}`, func(t *testing.T, m ChatMessage) {
			if !reflect.DeepEqual(m.ToList, []string{"wmX"}) {
				t.Errorf("ToList = %v", m.ToList)
			}
		}},
		{"payload of the wrong kind", `{"msgid":"m","msgtype":"text","text":"plain"}`, func(t *testing.T, m ChatMessage) {
			if m.Type != "text" || m.Text != "" {
				t.Errorf("got %+v", m)
			}
		}},
		{"mixed item content already an object", `{"msgid":"m","msgtype":"mixed","mixed":{"item":[{"type":"text","content":{"content":"hi"}}]}}`, func(t *testing.T, m ChatMessage) {
			if m.Text != "hi" {
				t.Errorf("Text = %q", m.Text)
			}
		}},
		{"mixed item content not JSON", `{"msgid":"m","msgtype":"mixed","mixed":{"item":[{"type":"text","content":"plain words"}]}}`, func(t *testing.T, m ChatMessage) {
			if m.Text != "plain words" {
				t.Errorf("Text = %q", m.Text)
			}
		}},
		{"the same sdkfileid twice is one media", `{"msgid":"m","msgtype":"mixed","mixed":{"item":[{"type":"image","content":"{\"sdkfileid\":\"A\"}"},{"type":"image","content":"{\"sdkfileid\":\"A\"}"}]}}`, func(t *testing.T, m ChatMessage) {
			if len(m.Media) != 1 {
				t.Errorf("Media = %+v", m.Media)
			}
		}},
		{"deep nesting stops at the bound", deepChatRecord(maxNestedJSON + 4), func(t *testing.T, m ChatMessage) {
			if n := strings.Count(m.Text, "level"); n == 0 || n > maxNestedJSON+1 {
				t.Errorf("%d levels of text", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeChatMessage([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}

// deepChatRecord is a chatrecord nesting n chatrecords, each level a
// JSON string inside the one above.
func deepChatRecord(n int) string {
	inner := `{"title":"level0","item":[]}`
	for i := 1; i <= n; i++ {
		item, _ := json.Marshal(inner)
		inner = `{"title":"level` + string(rune('a'+i%26)) + `","item":[{"type":"chatrecord","content":` + string(item) + `}]}`
	}
	return `{"msgid":"deep","msgtype":"chatrecord","chatrecord":` + inner + `}`
}

func TestDecodeChatMessageErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", ``, ErrChatNotObject},
		{"not JSON", `not json at all`, ErrChatNotObject},
		{"an array", `[{"msgid":"m"}]`, ErrChatNotObject},
		{"a string", `"msgid"`, ErrChatNotObject},
		{"null", `null`, ErrChatNotObject},
		{"trailing data", `{"msgid":"m"} {"msgid":"n"}`, ErrChatNotObject},
		{"truncated", `{"msgid":"m","text":{"content":"secret words`, ErrChatNotObject},
		{"no msgid", `{"action":"send","msgtype":"text","text":{"content":"secret words"}}`, ErrChatNoMsgID},
		{"empty msgid", `{"msgid":"","msgtype":"text"}`, ErrChatNoMsgID},
		{"msgid not a string", `{"msgid":{"x":1}}`, ErrChatNoMsgID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChatMessage([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes the plaintext: %v", err)
			}
		})
	}
}

func FuzzDecodeChatMessage(f *testing.F) {
	f.Add([]byte(`{` + common + `,"msgtype":"text","text":{"content":"test"}}`))
	f.Add([]byte(`{"msgid":"125289002219525886280","action":"switch","time":1554119421840,"user":"XuJinSheng"}`))
	f.Add([]byte(`{` + common + `,"msgtype":"mixed","mixed":{"item":[{"type":"text","content":"{\"content\":\"你好\\n\"}"},{"type":"image","content":"{\"md5sum\":\"36\",\"filesize\":13177,\"sdkfileid\":\"Ct\"}"}]}}`))
	f.Add([]byte(`{` + common + `,"msgtype":"note","info":{"items":[{"content":"{\"content\":\"n\"}","msg_type":"text"}]}}`))
	f.Add([]byte("{\"msgid\":\"m\",\"text\":{\"content\":\"a\x01\\\n\x1f\"}}"))
	f.Add([]byte(deepChatRecord(3)))
	f.Add([]byte(`{"msgid":1e400,"msgtime":-1,"tolist":[1,null,"x"]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeChatMessage(in)
		if err != nil {
			if !errors.Is(err, ErrChatNotObject) && !errors.Is(err, ErrChatNoMsgID) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !json.Valid(m.Raw) {
			t.Fatalf("Raw is not valid JSON: %q", m.Raw)
		}
		if m.MsgID == "" {
			t.Fatal("no error but no msgid")
		}
		for _, md := range m.Media {
			if md.SDKFileID == "" {
				t.Fatal("media without sdkfileid")
			}
		}
	})
}

func BenchmarkDecodeChatMessage(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"text", `{` + common + `,"msgtype":"text","text":{"content":"这是一条引用/回复消息：\n\"nick\n666\"\n------\n@nick777"}}`},
		{"raw control bytes", "{" + common + ",\"msgtype\":\"text\",\"text\":{\"content\":\"line1\nline2\nline3\"}}"},
		{"mixed", `{` + common + `,"msgtype":"mixed","mixed":{"item":[{"type":"text","content":"{\"content\":\"你好[微笑]\\n\"}"},{"type":"image","content":"{\"md5sum\":\"368b6c18c82e6441bfd89b343e9d2429\",\"filesize\":13177,\"sdkfileid\":\"CtYBMzA2OTAy\"}"}]}}`},
		{"nested chatrecord", deepChatRecord(3)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeChatMessage(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
