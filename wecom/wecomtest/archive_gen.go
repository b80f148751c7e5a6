package wecomtest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"time"
)

// The archive's generator: conversations between a small corp's
// employees, its customers (external contacts, wo…/wm…) and a robot
// (wb…), in 1:1 chats and groups (wr…), with every message shape of
// ARCHIVE.md §1. Deterministic from the seed.

// archKinds are the generator's kinds with their weights in the random
// mix. "quote" (a quoted reply) and "unknown" (an unsupported type,
// exported as text "【未知消息类型】") are texts; "switch" is a switch
// record; the rest are msgtypes.
var archKinds = []struct {
	name   string
	weight int
}{
	{"text", 30}, {"quote", 3}, {"image", 6}, {"voice", 4}, {"video", 1}, {"file", 4},
	{"revoke", 3}, {"agree", 2}, {"disagree", 1}, {"card", 2}, {"link", 3},
	{"chatrecord", 3}, {"mixed", 3}, {"meeting", 2}, {"markdown", 2}, {"unknown", 2},
	{"switch", 1}, {"emotion", 2}, {"location", 1}, {"weapp", 1}, {"todo", 1},
	{"vote", 1}, {"collect", 1}, {"redpacket", 1}, {"external_redpacket", 1},
	{"meeting_notification", 1}, {"docmsg", 1}, {"news", 1}, {"calendar", 1},
	{"meeting_voice_call", 1}, {"voip_doc_share", 1}, {"sphfeed", 1}, {"voiptext", 1},
	{"qydiskfile", 1}, {"solitaire", 1}, {"note", 1},
}

// ArchiveKinds are the kinds Generate produces: its first
// len(ArchiveKinds()) records are one of each, in this order.
func ArchiveKinds() []string {
	out := make([]string, len(archKinds))
	for i, k := range archKinds {
		out[i] = k.name
	}
	return out
}

// ArchiveUnknownText is what WeCom exports for a message type the
// exporter does not know (path/91552).
const ArchiveUnknownText = "【未知消息类型】"

type person struct{ id, name string }

type genConv struct {
	roomID   string // "" for a 1:1 chat
	roomName string
	members  []person
	external bool // an external contact or a robot takes part
	robot    bool
	sent     []sentMsg
}

type sentMsg struct{ from, msgid string }

type genMsg struct {
	msgid string
	plain []byte
	media map[string][]byte
}

type archGen struct {
	r        *mrand.Rand
	raw      bool // leave raw newlines in quoted replies
	internal []person
	external []person
	robot    person
	convs    []*genConv
	next     int       // records generated so far
	last     time.Time // the latest msgtime generated
}

// chinaZone is UTC+8, the zone of WeCom's local-time strings.
var chinaZone = time.FixedZone("CST", 8*3600)

func newArchGen(seed uint64, raw bool) *archGen {
	g := &archGen{r: mrand.New(mrand.NewPCG(seed, 0x6172636869766567)), raw: raw}
	g.internal = []person{
		{"zhangsan", "张三"}, {"lisi", "李四"}, {"wangwu", "王五"},
		{"WoBeiQi", "沃北琦"}, // an internal userid that looks external to a careless prefix test
		{"18002520162", "陈晨"},
	}
	g.external = []person{
		{"wm" + g.token(30), "刘女士"}, {"wo" + g.token(30), "陈先生"},
		{"wm" + g.token(30), "周总"}, {"wo" + g.token(30), "吴经理"},
	}
	g.robot = person{"wb" + g.token(30), "报价助手"}
	in, ex := g.internal, g.external
	g.convs = []*genConv{
		{members: []person{in[0], in[1]}},
		{members: []person{in[0], ex[0]}, external: true},
		{members: []person{in[1], ex[1]}, external: true},
		{members: []person{in[4], ex[3]}, external: true},
		{roomID: "wr" + g.token(30), roomName: "产品部内部群", members: []person{in[0], in[1], in[2], in[3]}},
		{roomID: "wr" + g.token(30), roomName: "华东客户服务群", members: []person{in[0], in[2], ex[0], ex[2], g.robot}, external: true, robot: true},
	}
	return g
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// token is n random id characters.
func (g *archGen) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tokenAlphabet[g.r.IntN(len(tokenAlphabet))]
	}
	return string(b)
}

func pick[T any](g *archGen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// batch generates n messages at times up to now.
func (g *archGen) batch(n int, now time.Time) []genMsg {
	t := now.Add(-time.Duration(n) * 30 * time.Second)
	if t.Before(g.last) {
		t = g.last
	}
	out := make([]genMsg, 0, n)
	for range n {
		var kind string
		if g.next < len(archKinds) {
			kind = archKinds[g.next].name
		} else {
			kind = g.randomKind()
		}
		g.next++
		t = t.Add(time.Duration(1+g.r.IntN(60)) * time.Second)
		if t.After(now) {
			t = now
		}
		out = append(out, g.message(kind, t))
	}
	return out
}

func (g *archGen) randomKind() string {
	total := 0
	for _, k := range archKinds {
		total += k.weight
	}
	n := g.r.IntN(total)
	for _, k := range archKinds {
		if n < k.weight {
			return k.name
		}
		n -= k.weight
	}
	return "text"
}

// trickle is the sandbox's demo: a customer asks, an employee answers,
// and the customer group talks.
func (g *archGen) trickle(now time.Time) []genMsg {
	c1 := g.convs[1+g.r.IntN(3)] // an external 1:1
	room := g.convs[5]
	ask := pick(g, customerTexts)
	answer := pick(g, employeeTexts)
	var out []genMsg
	out = append(out, g.textFrom(c1, c1.members[1], ask, now.Add(-2*time.Second)))
	out = append(out, g.textFrom(c1, c1.members[0], answer, now.Add(-time.Second)))
	if g.r.IntN(2) == 0 {
		out = append(out, g.textFrom(room, room.members[2+g.r.IntN(2)], pick(g, customerTexts), now))
	} else {
		out = append(out, g.textFrom(room, room.members[g.r.IntN(2)], pick(g, employeeTexts), now))
	}
	g.next += len(out)
	if now.After(g.last) {
		g.last = now
	}
	return out
}

var customerTexts = []string{
	"您好，请问上次的报价单还有效吗？",
	"合同我这边看过了，第三条想再确认一下",
	"发票抬头需要改成我们新公司的名字",
	"请问什么时候可以发货？",
	"好的，谢谢您！",
	"价格还能再优惠一点吗？",
	"[微笑]",
	"周五前能给个答复吗？",
}

var employeeTexts = []string{
	"您好，报价单本月底前都有效。",
	"收到，我马上跟法务确认。",
	"好的，发票信息我已经更新了。",
	"预计明天下午发货，单号稍后发您。",
	"不客气，有问题随时联系我。",
	"这个需要请示一下领导，稍后回复您。",
	"明天上午十点开会讨论一下？",
	"资料已发到您邮箱，请查收。",
}

// convFor picks a conversation that suits kind, and its sender.
func (g *archGen) convFor(kind string) (*genConv, person) {
	var cands []*genConv
	for _, c := range g.convs {
		ok := true
		switch kind {
		case "agree", "disagree", "sphfeed":
			ok = c.external && c.roomID == ""
		case "markdown", "news":
			ok = c.robot
		case "external_redpacket":
			ok = c.external && c.roomID != ""
		case "collect", "solitaire", "vote", "redpacket", "meeting_notification":
			ok = c.roomID != ""
		case "voiptext", "meeting_voice_call", "voip_doc_share":
			ok = c.roomID == ""
		case "revoke":
			ok = len(c.sent) > 0
		}
		if ok {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		cands = g.convs // a revoke before anything was sent: made a text
	}
	c := pick(g, cands)
	switch kind {
	case "agree", "disagree", "sphfeed":
		return c, c.members[1]
	case "markdown", "news":
		return c, g.robot
	}
	var humans []person
	for _, p := range c.members {
		if p != g.robot {
			humans = append(humans, p)
		}
	}
	return c, pick(g, humans)
}

func (g *archGen) msgid(c *genConv, t time.Time) string {
	var id string
	if g.r.IntN(8) == 0 {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint64(b, g.r.Uint64())
		binary.LittleEndian.PutUint64(b[8:], g.r.Uint64())
		id = "CAQQ" + base64.StdEncoding.EncodeToString(b)
	} else {
		id = strconv.FormatUint(g.r.Uint64(), 10) + "_" + strconv.FormatInt(t.UnixMilli(), 10)
	}
	if c != nil && c.external {
		id += "_external"
	}
	return id
}

// base are the common fields of a message from "from" in c.
func (g *archGen) base(c *genConv, from person, msgid string, t time.Time, msgtype string) map[string]any {
	var to []string
	for _, p := range c.members {
		if p != from {
			to = append(to, p.id)
		}
	}
	return map[string]any{
		"msgid": msgid, "action": "send", "from": from.id, "tolist": to,
		"roomid": c.roomID, "msgtime": t.UnixMilli(), "msgtype": msgtype,
	}
}

func (g *archGen) textFrom(c *genConv, from person, text string, t time.Time) genMsg {
	id := g.msgid(c, t)
	m := g.base(c, from, id, t, "text")
	m["text"] = map[string]any{"content": text}
	c.sent = append(c.sent, sentMsg{from.id, id})
	return g.finish(id, m, nil)
}

// newMedia makes a media file of min to max bytes: its sdkfileid, bytes
// and md5.
func (g *archGen) newMedia(media map[string][]byte, lo, hi int) (string, int, string) {
	b := make([]byte, 48)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.r.Uint64())
	}
	id := base64.StdEncoding.EncodeToString(b)
	size := lo + g.r.IntN(hi-lo+1)
	data := make([]byte, size+8)
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(data[i:], g.r.Uint64())
	}
	data = data[:size]
	media[id] = data
	return id, size, mediaMD5(data)
}

// nestedJSON is v marshalled into a string, as item contents are.
func nestedJSON(v any) string {
	b, err := marshalPlain(v)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return string(b)
}

// finish marshals m; raw newlines stay in quoted replies when g.raw.
func (g *archGen) finish(id string, m map[string]any, media map[string][]byte) genMsg {
	b, err := marshalPlain(m)
	if err != nil {
		panic(err)
	}
	return genMsg{msgid: id, plain: b, media: media}
}

// message builds one message of kind at t.
func (g *archGen) message(kind string, t time.Time) genMsg {
	if t.After(g.last) {
		g.last = t
	}
	if kind == "switch" {
		id := strconv.FormatUint(g.r.Uint64(), 10) + strconv.Itoa(g.r.IntN(100))
		return g.finish(id, map[string]any{
			"msgid": id, "action": "switch", "time": t.UnixMilli(), "user": pick(g, g.internal).id,
		}, nil)
	}
	c, from := g.convFor(kind)
	if kind == "revoke" && len(c.sent) == 0 {
		kind = "text"
	}
	id := g.msgid(c, t)
	media := map[string][]byte{}
	msgtype := kind
	switch kind {
	case "quote", "unknown":
		msgtype = "text"
	}
	m := g.base(c, from, id, t, msgtype)
	ms := t.UnixMilli()
	sec := t.Unix()
	isCustomer := len(from.id) > 2 && (from.id[:2] == "wm" || from.id[:2] == "wo")
	say := func() string {
		if isCustomer {
			return pick(g, customerTexts)
		}
		return pick(g, employeeTexts)
	}
	fileNames := []string{"报价单.xlsx", "合同草案.docx", "产品手册.pdf", "发票信息.png", "会议纪要.docx"}
	fileObj := func() map[string]any {
		name := pick(g, fileNames)
		fid, size, sum := g.newMedia(media, 1024, 300*1024)
		ext := name[bytes.LastIndexByte([]byte(name), '.')+1:]
		return map[string]any{"md5sum": sum, "filename": name, "fileext": ext, "filesize": size, "sdkfileid": fid}
	}
	imageObj := func() map[string]any {
		fid, size, sum := g.newMedia(media, 8*1024, 120*1024)
		return map[string]any{"md5sum": sum, "filesize": size, "sdkfileid": fid}
	}
	switch kind {
	case "text":
		m["text"] = map[string]any{"content": say()}
	case "unknown":
		m["text"] = map[string]any{"content": ArchiveUnknownText}
	case "quote":
		quoted := c.members[0]
		if quoted == from {
			quoted = c.members[1]
		}
		q := pick(g, customerTexts)
		m["text"] = map[string]any{"content": "这是一条引用/回复消息：\n\"" + quoted.name + "：\n" + q + "\"\n------\n@" + quoted.name + " " + say()}
	case "image":
		m["image"] = imageObj()
	case "voice":
		fid, size, sum := g.newMedia(media, 2*1024, 30*1024)
		m["voice"] = map[string]any{"md5sum": sum, "voice_size": size, "play_length": 1 + g.r.IntN(60), "sdkfileid": fid}
	case "video":
		fid, size, sum := g.newMedia(media, 600*1024, 1300*1024) // 2 or 3 chunks
		m["video"] = map[string]any{"md5sum": sum, "filesize": size, "play_length": 5 + g.r.IntN(120), "sdkfileid": fid}
	case "file":
		m["file"] = fileObj()
	case "emotion":
		fid, size, sum := g.newMedia(media, 5*1024, 60*1024)
		m["emotion"] = map[string]any{"type": 1 + g.r.IntN(2), "width": 240, "height": 240, "imagesize": size, "md5sum": sum, "sdkfileid": fid}
	case "revoke":
		m["action"] = "recall"
		var own []sentMsg
		for _, s := range c.sent {
			if s.from == from.id {
				own = append(own, s)
			}
		}
		prev := c.sent[len(c.sent)-1]
		if len(own) > 0 {
			prev = own[len(own)-1]
		}
		m["from"] = prev.from
		m["tolist"] = g.base(c, personByID(c, prev.from), id, t, "")["tolist"]
		m["revoke"] = map[string]any{"pre_msgid": prev.msgid}
	case "agree":
		m["agree"] = map[string]any{"userid": from.id, "agree_time": ms}
	case "disagree":
		m["disagree"] = map[string]any{"userid": from.id, "disagree_time": ms}
	case "card":
		who := pick(g, append(append([]person{}, g.internal...), g.external...))
		corp := "微信联系人"
		if who.id[:2] != "wm" && who.id[:2] != "wo" {
			corp = "华信科技有限公司"
		}
		m["card"] = map[string]any{"corpname": corp, "userid": who.id}
	case "link":
		m["link"] = map[string]any{"title": "2026年产品价格表", "description": "最新价格与交付周期，进入可查看详情",
			"link_url": "https://work.weixin.qq.com/doc/" + g.token(12), "image_url": "https://wework.qpic.cn/wwpic/" + g.token(16) + "/0"}
	case "chatrecord":
		m["chatrecord"] = g.chatRecord(media, sec, 0, imageObj, fileObj)
	case "mixed":
		m["mixed"] = map[string]any{"item": []any{
			map[string]any{"type": "text", "content": nestedJSON(map[string]any{"content": say() + "\n"})},
			map[string]any{"type": "image", "content": nestedJSON(imageObj())},
		}}
	case "meeting":
		start := sec + 3600
		m["meeting"] = map[string]any{"topic": "周例会", "starttime": start, "endtime": start + 3600, "address": "3楼会议室", "remarks": "请带上本周数据", "meetingid": g.r.Uint64N(1 << 40)}
	case "markdown":
		m["info"] = map[string]any{"content": "**报价提醒**\n> 客户：" + pick(g, g.external).name + "\n请前往系统查看，谢谢。"}
	case "location":
		m["location"] = map[string]any{"longitude": 121.473701, "latitude": 31.230416, "address": "上海市黄浦区人民大道200号", "title": "上海市人民政府", "zoom": 15}
	case "weapp":
		m["weapp"] = map[string]any{"title": "开始聊天前请仔细阅读服务须知事项", "description": "客户需同意存档聊天记录", "username": "gh_" + g.token(12) + "@app", "displayname": "服务须知", "appid": "wx" + g.token(16), "pagepath": "pages/home/index"}
	case "todo":
		m["todo"] = map[string]any{"title": say(), "content": "下周一前回复客户报价"}
	case "vote":
		m["votetitle"] = "年会时间投票"
		m["voteitem"] = []string{"1月20日", "1月27日"}
		m["votetype"] = 101
		m["voteid"] = g.token(16)
	case "collect":
		m["collect"] = map[string]any{"room_name": c.roomName, "creator": from.name, "create_time": t.In(chinaZone).Format("2006-01-02 15:04:05"),
			"title": "活动报名表", "details": []any{
				map[string]any{"id": 1, "ques": "姓名", "type": "Text"},
				map[string]any{"id": 2, "ques": "人数", "type": "Number"},
				map[string]any{"id": 3, "ques": "日期", "type": "Date"},
			}}
	case "redpacket", "external_redpacket":
		m["redpacket"] = map[string]any{"type": 1 + g.r.IntN(2), "wish": "恭喜发财，大吉大利", "totalcnt": 1 + g.r.IntN(5), "totalamount": 100 * (1 + g.r.IntN(100))}
	case "meeting_notification":
		m["info"] = map[string]any{"content": from.name + "的快速会议 已结束", "meeting_id": g.r.Uint64()>>1 | 1<<62, "notification_type": 2}
		m["time"] = t.In(chinaZone).Format("2006-01-02 15:04:05") + ":" + fmt.Sprintf("%03d", t.Nanosecond()/1e6)
	case "docmsg":
		m["doc"] = map[string]any{"title": "客户跟进表", "doc_creator": from.id, "link_url": "https://doc.weixin.qq.com/txdoc/excel?docid=" + g.token(20)}
	case "news":
		m["info"] = map[string]any{"item": []any{map[string]any{"title": "本周报价更新", "description": "三款产品价格调整", "url": "https://example.com/" + g.token(8), "picurl": "https://example.com/" + g.token(8) + ".jpg"}}}
	case "calendar":
		m["calendar"] = map[string]any{"title": "季度业绩复盘会", "creatorname": from.name, "attendeename": []string{"张三", "李四"}, "starttime": sec + 86400, "endtime": sec + 86400 + 3600, "place": "", "remarks": ""}
	case "meeting_voice_call":
		delete(m, "roomid")
		m["msgtime"] = ms - 56_000 // msgtime is the call's start, not the archive time
		m["voiceid"] = "gr" + g.token(30)
		fid, _, _ := g.newMedia(media, 50*1024, 200*1024)
		m["meeting_voice_call"] = map[string]any{"endtime": sec, "sdkfileid": fid,
			"demofiledata":    []any{map[string]any{"filename": "方案.docx", "demooperator": from.id, "starttime": sec - 40, "endtime": sec - 30}},
			"sharescreendata": []any{map[string]any{"share": from.id, "starttime": sec - 20, "endtime": sec - 10}}}
	case "voip_doc_share":
		delete(m, "roomid")
		m["voipid"] = "gr" + g.token(30)
		fid, size, sum := g.newMedia(media, 10*1024, 200*1024)
		m["voip_doc_share"] = map[string]any{"filename": "欢迎使用微盘.pdf", "md5sum": sum, "filesize": uint64(size), "sdkfileid": fid}
	case "sphfeed":
		m["sphfeed"] = map[string]any{"feed_type": 4, "sph_name": "云游天地旅行家", "feed_desc": "瑞士丨盖尔默缆车"}
	case "voiptext":
		m["info"] = map[string]any{"callduration": g.r.IntN(600), "invitetype": 1 + g.r.IntN(2)}
	case "qydiskfile":
		m["info"] = map[string]any{"filename": "项目资料.zip", "url": "https://drive.weixin.qq.com/s?k=" + g.token(20)}
	case "solitaire":
		m["info"] = map[string]any{"solitaire_type": 101, "solitaire_content": "#接龙\n周五聚餐报名\n\n1. " + from.name}
	case "note":
		f := fileObj()
		m["info"] = map[string]any{"items": []any{
			map[string]any{"content": nestedJSON(map[string]any{"content": "客户拜访笔记：" + say()}), "msg_type": "text"},
			map[string]any{"content": nestedJSON(f), "msg_type": "file"},
		}}
	}
	if kind != "revoke" {
		c.sent = append(c.sent, sentMsg{from.id, id})
	}
	out := g.finish(id, m, media)
	if kind == "quote" && g.raw {
		// The real plaintext carries raw control bytes (ARCHIVE.md §4).
		out.plain = bytes.ReplaceAll(out.plain, []byte(`\n`), []byte("\n"))
	}
	return out
}

// chatRecord is a forwarded chat record of 2 to 4 items, one of them at
// depth 0 possibly a nested chatrecord.
func (g *archGen) chatRecord(media map[string][]byte, sec int64, depth int, imageObj, fileObj func() map[string]any) map[string]any {
	items := []any{
		map[string]any{"type": "ChatRecordText", "msgtime": sec - 120, "content": nestedJSON(map[string]any{"content": pick(g, customerTexts)}), "from_chatroom": false},
		map[string]any{"type": "ChatRecordText", "msgtime": sec - 110, "content": nestedJSON(map[string]any{"content": pick(g, employeeTexts)}), "from_chatroom": false},
	}
	switch g.r.IntN(3) {
	case 0:
		items = append(items, map[string]any{"type": "ChatRecordImage", "msgtime": sec - 100, "content": nestedJSON(imageObj()), "from_chatroom": false})
	case 1:
		items = append(items, map[string]any{"type": "ChatRecordFile", "msgtime": sec - 100, "content": nestedJSON(fileObj()), "from_chatroom": false})
	case 2:
		items = append(items, map[string]any{"type": "ChatRecordLink", "msgtime": sec - 100, "content": nestedJSON(map[string]any{"title": "产品介绍", "description": "第二版", "link_url": "https://example.com/p"}), "from_chatroom": false})
	}
	if depth == 0 && g.r.IntN(2) == 0 {
		items = append(items, map[string]any{"type": "chatrecord", "msgtime": sec - 90, "content": nestedJSON(g.chatRecord(media, sec-200, depth+1, imageObj, fileObj)), "from_chatroom": true})
	}
	title := "群聊"
	if depth > 0 {
		title = "张三和刘女士的聊天记录"
	}
	return map[string]any{"title": title, "item": items}
}

func personByID(c *genConv, id string) person {
	for _, p := range c.members {
		if p.id == id {
			return p
		}
	}
	return person{id: id}
}
