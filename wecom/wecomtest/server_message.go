package wecomtest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// InboxMessage is a message as delivered to one recipient: a member (by
// message/send) or an external contact (by send_welcome_msg).
type InboxMessage struct {
	MsgID   string // message/send's msgid; "" for a welcome message
	App     string // the name of the app that sent it
	AgentID int64  // its agentid; 0 for a welcome message sent with the customer secret
	From    string // send_welcome_msg: the member whose welcome it is
	MsgType string // text, markdown, textcard, template_card, …; "welcome" for send_welcome_msg
	// Message is the message object as sent: the value of the msgtype key
	// ({"content":"…"} for text), or for a welcome message the request body
	// without welcome_code.
	Message json.RawMessage
	// Content is what a text or markdown message shows: the content after
	// truncation. Truncated says whether text content was cut to 2048 bytes.
	Content   string
	Truncated bool
	// Card is a template card as the recipient sees it now: Message, or the
	// template_card of the last update_template_card that reached them.
	// CardType and TaskID describe it.
	Card     json.RawMessage
	CardType string
	TaskID   string
	// ReplaceName is the text of the greyed-out button after an
	// update_template_card with button.replace_name; ReplaceText is the
	// replace_text of a whole-card update. Either makes the card
	// unclickable.
	ReplaceName string
	ReplaceText string
	// Clicked is the key of the last button the recipient clicked (Click).
	Clicked  string
	Recalled bool
	At       time.Time
}

// message is one message/send call's message.
type message struct {
	id        string
	app       *appState
	msgType   string
	object    json.RawMessage
	content   string
	truncated bool
	at        time.Time
	recalled  bool
	taskID    string
	card      *cardInfo            // template_card only
	recips    map[string]*delivery // template_card only: lower userid → delivery, nil if dropped
}

// delivery is a message in one recipient's inbox.
type delivery struct {
	msg         *message
	at          time.Time
	welcome     *welcomeDelivery // send_welcome_msg only
	card        *cardInfo        // template_card only: the card as shown now
	replaceName string
	clicked     string
}

type welcomeDelivery struct {
	app  *appState
	from string
	body json.RawMessage
}

// responseCode is a response_code issued by a send or a click: valid 72 h,
// usable once (90236, 94888, 90240).
type responseCode struct {
	msg    *message
	issued time.Time
	used   bool
}

const (
	responseCodeTTL = 72 * time.Hour
	recallWindow    = 24 * time.Hour
	maxTextBytes    = 2048
)

type dupKey struct {
	app int
	sum [sha256.Size]byte
}

type dupEntry struct {
	until time.Time
	body  []byte
}

// rawAnswer is a result whose JSON is already made (a duplicate send's
// first answer).
type rawAnswer struct {
	base
	b []byte
}

// sendRequest is message/send's body (90236).
type sendRequest struct {
	ToUser                 string `json:"touser"`
	ToParty                string `json:"toparty"`
	ToTag                  string `json:"totag"`
	MsgType                string `json:"msgtype"`
	AgentID                int64  `json:"agentid"`
	Safe                   int    `json:"safe"`
	EnableIDTrans          int    `json:"enable_id_trans"`
	EnableDuplicateCheck   int    `json:"enable_duplicate_check"`
	DuplicateCheckInterval int64  `json:"duplicate_check_interval"`

	Text              json.RawMessage `json:"text"`
	Markdown          json.RawMessage `json:"markdown"`
	Textcard          json.RawMessage `json:"textcard"`
	Image             json.RawMessage `json:"image"`
	Voice             json.RawMessage `json:"voice"`
	Video             json.RawMessage `json:"video"`
	File              json.RawMessage `json:"file"`
	News              json.RawMessage `json:"news"`
	MPNews            json.RawMessage `json:"mpnews"`
	MiniprogramNotice json.RawMessage `json:"miniprogram_notice"`
	TemplateCard      json.RawMessage `json:"template_card"`
}

type sendResponse struct {
	base
	InvalidUser    string `json:"invaliduser"`
	InvalidParty   string `json:"invalidparty"`
	InvalidTag     string `json:"invalidtag"`
	UnlicensedUser string `json:"unlicenseduser"`
	MsgID          string `json:"msgid,omitempty"`
	ResponseCode   string `json:"response_code,omitempty"`
}

// checkAgent checks a body's agentid against the token's app: 41011 when
// missing, 40056 "不合法的agentid" when no app has it, 301002 "无权限操作指定
// 的应用" when it is another app's (90313 301002 help gives exactly this
// message/send case).
func checkAgent(c *call, agentID int64) *apiError {
	switch a := c.st.byAgent[agentID]; {
	case agentID == 0:
		return fail(41011, "")
	case a == nil:
		return fail(40056, "")
	case a != c.app:
		return fail(301002, "")
	}
	return nil
}

// handleSend is POST message/send (90236).
func handleSend(c *call) (result, *apiError) {
	var req sendRequest
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if err := checkAgent(c, req.AgentID); err != nil {
		return nil, err
	}

	// enable_duplicate_check: "在一定时间间隔内，同样内容（请求json）的消息，
	// 不会重复收到" (90236). Same JSON means the same body bytes. WeCom does
	// not document what the repeated call answers; the fake answers the
	// first call's answer again (same msgid, same response_code) and
	// delivers nothing.
	var dk dupKey
	dup := req.EnableDuplicateCheck == 1
	if dup {
		dk = dupKey{c.app.index, sha256.Sum256(c.body)}
		if e := c.st.dupes[dk]; e != nil && c.now.Before(e.until) {
			return &rawAnswer{b: e.body}, nil
		}
	}

	if req.ToUser == "" && req.ToParty == "" && req.ToTag == "" {
		// "touser、toparty、totag不能同时为空" (90236); 82001 "指定的成员/
		// 部门/标签全部为空" (90313).
		return nil, fail(82001, "")
	}
	all := strings.TrimSpace(req.ToUser) == "@all"
	users, parties, tags := splitIDs(req.ToUser), splitIDs(req.ToParty), splitIDs(req.ToTag)
	if all {
		users, parties, tags = nil, nil, nil // toparty and totag are ignored with @all
	}
	switch {
	case len(users) > 1000:
		return nil, fail(40032, "touser at most 1000") // 90313 40032 help: "发消息接口，最多指定1000人"
	case len(parties) > 100:
		return nil, fail(82002, "toparty at most 100") // "发消息，单次不能超过100个部门"
	case len(tags) > 100:
		return nil, fail(82003, "totag at most 100") // "发消息，单次不能超过100个标签"
	}
	switch {
	case req.Safe < 0 || req.Safe > 2 || req.Safe == 2 && req.MsgType != "mpnews":
		return nil, fail(40058, "safe") // "仅mpnews类型的消息支持safe值为2"
	case req.Safe == 1 && req.MsgType == "news":
		return nil, fail(40074, "") // "news消息不支持保密消息类型"
	}

	m := &message{app: c.app, msgType: req.MsgType, at: c.now}
	var card *templateCard
	if err := validateMessage(c, &req, m, &card, all); err != nil {
		return nil, err
	}
	if card != nil {
		if card.callback() && c.app.cfg.NoCallback {
			return nil, fail(43012, "") // "没有配置回调接口的应用不可发送支持回调的卡片"
		}
		if card.TaskID != "" && c.app.tasks[card.TaskID] {
			// "同一个应用任务id不能重复" (90236); the errcode is undocumented,
			// 42014 is "卡片消息的task_id不合法".
			return nil, fail(42014, "task_id "+card.TaskID+" already used")
		}
	}

	recips, res := c.st.resolve(all, users, parties, tags)
	if recips == nil {
		// "如果全部接收人无权限或不存在，则本次调用返回失败，errcode为81013"
		// (90236). The answer still names the invalid ones.
		return res, fail(81013, "")
	}

	m.id = c.st.randString(48)
	if card != nil {
		m.taskID = card.TaskID
		if card.TaskID != "" {
			c.app.tasks[card.TaskID] = true
		}
		m.card = card.info(m.object)
		m.recips = make(map[string]*delivery, len(recips))
		if card.callback() {
			res.ResponseCode = c.st.issueCode(m, c.now)
		}
	}
	c.st.messages[m.id] = m
	res.MsgID = m.id
	c.st.deliver(m, recips, c.now)

	if dup {
		interval := time.Duration(req.DuplicateCheckInterval) * time.Second
		switch {
		case interval <= 0:
			interval = 1800 * time.Second // "默认1800s"
		case interval > 4*time.Hour:
			interval = 4 * time.Hour // "最大不超过4小时"; longer is clamped (undocumented)
		}
		res.base = base{0, "ok"}
		c.st.dupes[dk] = &dupEntry{until: c.now.Add(interval), body: marshal(res)}
	}
	return res, nil
}

// splitIDs splits a "|"-joined id list, trimming spaces (90236's own
// example is "TagID1 | TagID2") and dropping empty items.
func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	out := make([]string, 0, strings.Count(s, "|")+1)
	for len(s) > 0 {
		item, rest, _ := strings.Cut(s, "|")
		s = rest
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// validateMessage checks the msgtype's object and fills m.object, m.content
// and, for a template card, *card.
func validateMessage(c *call, req *sendRequest, m *message, card **templateCard, all bool) *apiError {
	var obj json.RawMessage
	switch req.MsgType {
	case "text":
		obj = req.Text
	case "markdown":
		obj = req.Markdown
	case "textcard":
		obj = req.Textcard
	case "image":
		obj = req.Image
	case "voice":
		obj = req.Voice
	case "video":
		obj = req.Video
	case "file":
		obj = req.File
	case "news":
		obj = req.News
	case "mpnews":
		obj = req.MPNews
	case "miniprogram_notice":
		obj = req.MiniprogramNotice
	case "template_card":
		obj = req.TemplateCard
	default:
		return fail(40008, "msgtype "+req.MsgType) // "不合法的msgtype参数"
	}
	m.object = obj
	if len(obj) == 0 || string(obj) == "null" {
		obj = json.RawMessage("{}")
	}
	decode := func(v any) *apiError {
		if err := json.Unmarshal(obj, v); err != nil {
			return wrongJSON(err)
		}
		return nil
	}
	switch req.MsgType {
	case "text", "markdown":
		var v struct {
			Content string `json:"content"`
		}
		if err := decode(&v); err != nil {
			return err
		}
		switch {
		case v.Content == "":
			// 44004 "文本消息content参数为空"; the fake uses it for an empty
			// markdown too (undocumented).
			return fail(44004, "")
		case len(v.Content) > maxTextBytes && req.MsgType == "text":
			// "最长不超过2048个字节，超过将截断" (90236): text is truncated,
			// at a UTF-8 boundary. 90313's 45002 help also lists text over
			// 2048 bytes; the fake follows the API page.
			m.content, m.truncated = truncateBytes(v.Content, maxTextBytes), true
		case len(v.Content) > maxTextBytes:
			// Markdown: "最长不超过2048个字节，必须是utf8编码" with no word of
			// truncation, so the fake refuses it with 45002 "消息内容大小超过
			// 限制" (undocumented which).
			return fail(45002, "markdown content at most 2048 bytes")
		default:
			m.content = v.Content
		}
		if !utf8.ValidString(v.Content) && req.MsgType == "markdown" {
			return fail(40058, "markdown content must be UTF-8")
		}
	case "textcard":
		var v struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			URL         string `json:"url"`
		}
		if err := decode(&v); err != nil {
			return err
		}
		// title ≤128 and description ≤512 characters, btntxt ≤4: longer is
		// truncated by WeCom, so accepted here.
		switch {
		case v.Title == "":
			return fail(41016, "")
		case v.Description == "":
			return fail(41033, "") // 90313: "发送文本卡片消息接口，description 是必填字段"
		}
		if err := checkURL(v.URL); err != nil {
			return err
		}
	case "image", "voice", "file", "video":
		var v struct {
			MediaID string `json:"media_id"`
		}
		if err := decode(&v); err != nil {
			return err
		}
		if v.MediaID == "" {
			return fail(41006, "")
		}
	case "news", "mpnews":
		var v struct {
			Articles []struct {
				Title        string `json:"title"`
				URL          string `json:"url"`
				AppID        string `json:"appid"`
				PagePath     string `json:"pagepath"`
				ThumbMediaID string `json:"thumb_media_id"`
				Content      string `json:"content"`
			} `json:"articles"`
		}
		if err := decode(&v); err != nil {
			return err
		}
		switch n := len(v.Articles); {
		case n == 0:
			return fail(40058, "articles must have 1..8 items")
		case n > 8:
			return fail(45008, "") // "图文消息的文章数量不能超过8条"
		}
		for _, a := range v.Articles {
			if a.Title == "" {
				return fail(41016, "")
			}
			if req.MsgType == "mpnews" {
				switch {
				case a.ThumbMediaID == "":
					return fail(41006, "thumb_media_id")
				case a.Content == "":
					return fail(40058, "content is required")
				case len(a.Content) > 666*1024:
					return fail(45002, "") // 45002 help: "图文消息类型：最长不超过666k个字节"
				}
				continue
			}
			if a.AppID == "" || a.PagePath == "" {
				if err := checkURL(a.URL); err != nil {
					return err
				}
			}
		}
	case "miniprogram_notice":
		// Every app of the fake counts as bound to a mini program.
		var v struct {
			AppID       string            `json:"appid"`
			Title       string            `json:"title"`
			ContentItem []json.RawMessage `json:"content_item"`
		}
		if err := decode(&v); err != nil {
			return err
		}
		switch {
		case all:
			return fail(40058, "miniprogram_notice does not support @all") // "不支持@all全员发送"
		case v.AppID == "":
			return fail(90200, "")
		case v.Title == "":
			return fail(41016, "")
		case len(v.ContentItem) > 10:
			return fail(90201, "")
		}
	case "template_card":
		tc := &templateCard{}
		if err := decode(tc); err != nil {
			return err
		}
		if err := validateCard(tc, false); err != nil {
			return err
		}
		*card = tc
	}
	return nil
}

// checkURL checks a link: 41010 when missing, 45034 "url必须有协议头",
// 40039 over 2048 bytes (90236 "最长2048字节，请确保包含了协议头").
func checkURL(u string) *apiError {
	switch {
	case u == "":
		return fail(41010, "")
	case len(u) > 2048:
		return fail(40039, "")
	case !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://"):
		return fail(45034, "")
	}
	return nil
}

// truncateBytes cuts s to at most n bytes at a rune boundary.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// resolve expands the recipients of a send. It returns the members to
// deliver to (nil if every user, party and tag was invalid) and a
// response with the invalid ones: unknown or unreachable (left, disabled)
// userids lower-cased (90236 "返回包中的userid，不区分大小写，统一转为小写"),
// unknown party and tag ids as given. A member named several ways gets
// one message. Parties include their sub-departments.
func (st *state) resolve(all bool, users, parties, tags []string) ([]*member, *sendResponse) {
	dir := &st.dir
	dir.mark++
	stamp := dir.mark
	res := &sendResponse{}
	var out []*member
	valid := false
	add := func(m *member) {
		if m.mark != stamp && m.receives() {
			m.mark = stamp
			out = append(out, m)
		}
	}
	if all {
		out = make([]*member, 0, len(dir.userList))
		for _, m := range dir.userList {
			add(m)
		}
		return out, res
	}
	out = make([]*member, 0, len(users))
	var invalid []string
	var seenInvalid map[string]bool
	for _, id := range users {
		m := dir.member(id)
		if m == nil || !m.receives() {
			lower := strings.ToLower(id)
			if seenInvalid == nil {
				seenInvalid = map[string]bool{}
			}
			if !seenInvalid[lower] {
				seenInvalid[lower] = true
				invalid = append(invalid, lower)
			}
			continue
		}
		valid = true
		add(m)
	}
	res.InvalidUser = strings.Join(invalid, "|")

	var visited map[int64]bool
	expand := func(id int64) {
		if visited == nil {
			visited = map[int64]bool{}
		}
		stack := []int64{id}
		for len(stack) > 0 {
			d := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if visited[d] {
				continue
			}
			visited[d] = true
			for _, m := range dir.deptMembers[d] {
				add(m)
			}
			stack = append(stack, dir.children[d]...)
		}
	}
	var badParty []string
	for _, p := range parties {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || dir.depts[id] == nil {
			badParty = append(badParty, p)
			continue
		}
		valid = true
		expand(id)
	}
	res.InvalidParty = strings.Join(badParty, "|")
	var badTag []string
	for _, t := range tags {
		id, err := strconv.ParseInt(t, 10, 64)
		tag := dir.tags[id]
		if err != nil || tag == nil {
			badTag = append(badTag, t)
			continue
		}
		valid = true
		for _, u := range tag.UserIDs {
			if m := dir.member(u); m != nil {
				add(m)
			}
		}
		for _, p := range tag.PartyIDs {
			if dir.depts[p] != nil {
				expand(p)
			}
		}
	}
	res.InvalidTag = strings.Join(badTag, "|")
	if !valid {
		return nil, res
	}
	return out, res
}

// deliver puts m into each recipient's inbox, except where the per-member
// limits drop it: "每应用对同一个成员不可超过30次/分钟，1000次/小时，超过部分会被
// 丢弃不下发" (90236, 90312). Dropped messages do not count toward the
// windows.
func (st *state) deliver(m *message, recips []*member, now time.Time) {
	slab := make([]delivery, len(recips))
	n := now.UnixNano()
	for i, r := range recips {
		if !st.admit(r, m.app, n) {
			r.dropped++
			if m.recips != nil {
				m.recips[r.lower] = nil
			}
			continue
		}
		d := &slab[i]
		d.msg, d.at, d.card = m, now, m.card
		r.inbox = append(r.inbox, d)
		if m.recips != nil {
			m.recips[r.lower] = d
		}
	}
}

// admit applies the per-member rolling windows of app to one delivery at
// time n (unix nanos) and records it if admitted.
func (st *state) admit(r *member, app *appState, n int64) bool {
	perMin, perHour := st.cfg.MemberPerMinute, st.cfg.MemberPerHour
	if perMin < 0 && perHour < 0 {
		return true
	}
	w := r.windows[app.index]
	hourCut := n - int64(time.Hour)
	w = w[sort.Search(len(w), func(i int) bool { return w[i] > hourCut }):]
	if perHour > 0 && len(w) >= perHour {
		r.windows[app.index] = w
		return false
	}
	if perMin > 0 {
		minCut := n - int64(time.Minute)
		if len(w)-sort.Search(len(w), func(i int) bool { return w[i] > minCut }) >= perMin {
			r.windows[app.index] = w
			return false
		}
	}
	if len(w) == 0 || w[len(w)-1] <= n {
		w = append(w, n)
	} else { // the clock went back: keep the window sorted
		i := sort.Search(len(w), func(i int) bool { return w[i] > n })
		w = append(w, 0)
		copy(w[i+1:], w[i:])
		w[i] = n
	}
	r.windows[app.index] = w
	return true
}

// issueCode returns a fresh response_code for m.
func (st *state) issueCode(m *message, now time.Time) string {
	code := st.randString(33)
	st.codes[code] = &responseCode{msg: m, issued: now}
	return code
}

// ---- message/update_template_card ----

type updateRequest struct {
	UserIDs       []string `json:"userids"`
	PartyIDs      []int64  `json:"partyids"`
	TagIDs        []int64  `json:"tagids"`
	AtAll         int      `json:"atall"`
	AgentID       int64    `json:"agentid"`
	ResponseCode  string   `json:"response_code"`
	EnableIDTrans int      `json:"enable_id_trans"`
	Button        *struct {
		ReplaceName string `json:"replace_name"`
	} `json:"button"`
	TemplateCard json.RawMessage `json:"template_card"`
}

// handleUpdateCard is POST message/update_template_card (94888). The
// response_code must be one the fake issued (by a send or a click),
// unused and younger than 72 h, else 60140 "无效的response_code 可能是
// response_code已经过期" (90313); a code of another app's message is 42015
// "更新的消息的应用与发送消息的应用不匹配". Targets are JSON arrays here;
// userids that are not recipients of the card are returned, lower-cased,
// in the invaliduser array. With no valid target at all the fake answers
// 81013 and keeps the code (undocumented; 94888 documents only the
// partial case). With no target given (no ids, atall 0) it answers 82101
// "指定的更新对象为空" (undocumented which code).
func handleUpdateCard(c *call) (result, *apiError) {
	var req updateRequest
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if err := checkAgent(c, req.AgentID); err != nil {
		return nil, err
	}
	if req.ResponseCode == "" {
		return nil, fail(40058, "response_code is required")
	}
	rc := c.st.codes[req.ResponseCode]
	if rc == nil || rc.used || c.now.Sub(rc.issued) >= responseCodeTTL {
		return nil, fail(60140, "")
	}
	m := rc.msg
	if m.app != c.app {
		return nil, fail(42015, "")
	}
	var newCard *cardInfo
	switch {
	case req.Button != nil && len(req.TemplateCard) > 0:
		return nil, fail(40058, "button and template_card are exclusive")
	case req.Button != nil:
		if req.Button.ReplaceName == "" {
			return nil, fail(42020, "") // "缺少按钮名称"
		}
		switch m.card.cardType {
		case "button_interaction", "vote_interaction", "multiple_interaction":
		default:
			// "仅原卡片为 按钮交互型、投票选择型、多项选择型的卡片可以更新按钮"
			return nil, fail(40058, "button update needs a button, vote or multiple card")
		}
	case len(req.TemplateCard) > 0:
		tc := &templateCard{}
		if err := json.Unmarshal(req.TemplateCard, tc); err != nil {
			return nil, wrongJSON(err)
		}
		if err := validateCard(tc, true); err != nil {
			return nil, err
		}
		newCard = tc.info(req.TemplateCard)
	default:
		return nil, fail(40058, "button or template_card is required")
	}
	switch {
	case len(req.UserIDs) > 1000:
		return nil, fail(40032, "userids at most 1000")
	case len(req.PartyIDs) > 100:
		return nil, fail(82002, "partyids at most 100")
	case len(req.TagIDs) > 100:
		return nil, fail(82003, "tagids at most 100")
	case req.AtAll == 0 && len(req.UserIDs) == 0 && len(req.PartyIDs) == 0 && len(req.TagIDs) == 0:
		return nil, fail(82101, "")
	}

	targets := map[*delivery]bool{}
	valid := false
	invalid := []string{}
	if req.AtAll == 1 {
		valid = true
		for _, d := range m.recips {
			if d != nil {
				targets[d] = true
			}
		}
	}
	for _, id := range req.UserIDs {
		lower := strings.ToLower(id)
		d, ok := m.recips[lower]
		if !ok {
			invalid = append(invalid, lower)
			continue
		}
		valid = true
		if d != nil {
			targets[d] = true
		}
	}
	var parties []string
	for _, p := range req.PartyIDs {
		parties = append(parties, strconv.FormatInt(p, 10))
	}
	var tags []string
	for _, t := range req.TagIDs {
		tags = append(tags, strconv.FormatInt(t, 10))
	}
	if len(parties) > 0 || len(tags) > 0 {
		members, _ := c.st.resolve(false, nil, parties, tags)
		for _, mb := range members {
			if d, ok := m.recips[mb.lower]; ok {
				valid = true
				if d != nil {
					targets[d] = true
				}
			}
		}
	}
	res := &struct {
		base
		InvalidUser []string `json:"invaliduser"`
	}{InvalidUser: invalid}
	if !valid {
		return res, fail(81013, "")
	}
	rc.used = true
	for d := range targets {
		if newCard != nil {
			d.card, d.replaceName = newCard, ""
		} else {
			d.replaceName = req.Button.ReplaceName
		}
	}
	return res, nil
}

// ---- message/recall ----

// handleRecall is POST message/recall {"msgid"} (94867): only messages of
// the last 24 h (else 42052 "msgid已过期"), only by the app that sent them
// (else 40058, 90313 40058 help: "撤回消息时报错，请检查发消息和撤回消息是否
// 同一个应用"). An unknown msgid is 40058 and recalling twice is ok
// (both undocumented).
func handleRecall(c *call) (result, *apiError) {
	var req struct {
		MsgID string `json:"msgid"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if req.MsgID == "" {
		return nil, fail(40058, "msgid is required")
	}
	m := c.st.messages[req.MsgID]
	switch {
	case m == nil:
		return nil, fail(40058, "unknown msgid")
	case m.app != c.app:
		return nil, fail(40058, "msgid was sent by another app")
	case c.now.Sub(m.at) >= recallWindow:
		return nil, fail(42052, "")
	}
	m.recalled = true
	return &base{}, nil
}

// ---- inspection and clicks ----

// Inbox returns the messages delivered to a member (by userid,
// case-insensitive) or to an external contact (by external userid),
// oldest first. Recalled messages stay, marked Recalled.
func (s *Server) Inbox(userID string) []InboxMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ds []*delivery
	if m := s.st.dir.member(userID); m != nil {
		ds = m.inbox
	} else {
		ds = s.st.extInbox[userID]
	}
	out := make([]InboxMessage, len(ds))
	for i, d := range ds {
		out[i] = d.inboxMessage()
	}
	return out
}

// Drops returns how many messages the per-member limits have dropped for
// a member so far.
func (s *Server) Drops(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.st.dir.member(userID); m != nil {
		return m.dropped
	}
	return 0
}

func (d *delivery) inboxMessage() InboxMessage {
	if w := d.welcome; w != nil {
		return InboxMessage{App: w.app.name, AgentID: w.app.cfg.AgentID, From: w.from, MsgType: "welcome", Message: w.body, At: d.at}
	}
	m := d.msg
	im := InboxMessage{
		MsgID: m.id, App: m.app.name, AgentID: m.app.cfg.AgentID, MsgType: m.msgType,
		Message: m.object, Content: m.content, Truncated: m.truncated,
		TaskID: m.taskID, ReplaceName: d.replaceName, Clicked: d.clicked, Recalled: m.recalled, At: d.at,
	}
	if d.card != nil {
		im.Card, im.CardType, im.ReplaceText = d.card.raw, d.card.cardType, d.card.replaceText
	}
	return im
}

// ClickEvent is what WeCom pushes when a member clicks a template card's
// button (template_card_event, or template_card_menu_event for an
// action_menu item; 90240). Spec turns it into an EventSpec for
// BuildEvent and a Sender.
type ClickEvent struct {
	Event        string // "template_card_event" or "template_card_menu_event"
	ToUserName   string // the CorpID
	FromUserName string // the clicking member
	CreateTime   int64
	EventKey     string // the button's key
	TaskID       string
	CardType     string
	ResponseCode string // fresh: valid 72 h, usable once with update_template_card
	AgentID      int64
}

// Spec returns the EventSpec that builds e's callback plaintext.
func (e ClickEvent) Spec() EventSpec {
	return EventSpec{
		Kind: e.Event, CorpID: e.ToUserName, AgentID: strconv.FormatInt(e.AgentID, 10),
		CreateTime: e.CreateTime, UserID: e.FromUserName, EventKey: e.EventKey,
		TaskID: e.TaskID, CardType: e.CardType, ResponseCode: e.ResponseCode,
	}
}

// Click simulates a member clicking the button (or action_menu item, or
// submit button) with key buttonKey on the card msgID in their inbox. It
// returns the event WeCom would push, with a fresh response_code ("每次
// 点击回调都会带上response_code", 94888) the fake will accept once within
// 72 h. A recalled card, a greyed-out card (after a button or replace_text
// update) or an unknown key is an error.
func (s *Server) Click(userID, msgID, buttonKey string) (ClickEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	mb := st.dir.member(userID)
	if mb == nil {
		return ClickEvent{}, fmt.Errorf("wecomtest: click: no member %q", userID)
	}
	m := st.messages[msgID]
	if m == nil || m.card == nil {
		return ClickEvent{}, fmt.Errorf("wecomtest: click: no template card %q", msgID)
	}
	d := m.recips[mb.lower]
	switch {
	case d == nil:
		return ClickEvent{}, fmt.Errorf("wecomtest: click: card %s is not in %s's inbox", msgID, userID)
	case m.recalled:
		return ClickEvent{}, errors.New("wecomtest: click: the card was recalled")
	case d.replaceName != "" || d.card.replaceText != "":
		return ClickEvent{}, errors.New("wecomtest: click: the card's buttons are greyed out")
	}
	event, ok := d.card.events[buttonKey]
	if !ok {
		return ClickEvent{}, fmt.Errorf("wecomtest: click: the card has no clickable key %q", buttonKey)
	}
	now := st.now()
	d.clicked = buttonKey
	return ClickEvent{
		Event: event, ToUserName: st.cfg.CorpID, FromUserName: mb.u.UserID, CreateTime: now.Unix(),
		EventKey: buttonKey, TaskID: m.taskID, CardType: d.card.cardType,
		ResponseCode: st.issueCode(m, now), AgentID: m.app.cfg.AgentID,
	}, nil
}
