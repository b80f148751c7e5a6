package wecomtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EventSpec describes an event to build. Kind is required; every other
// field is optional, with a sensible default, and applies only to the
// kinds that carry it (each field's usage tag says which, and its
// default). It is a flat struct of strings so that a command line can fill
// it from flags: wecomply simulate makes a flag of every field.
type EventSpec struct {
	// Kind is the event's kind as wecom.Event.Kind names it: "text",
	// "enter_agent", "click", "template_card_event", "msgaudit_notify",
	// "change_contact.create_user",
	// "change_external_contact.add_external_contact",
	// "change_external_chat.update", "change_external_tag.create", ...
	// See Kinds.
	Kind string

	CorpID     string `usage:"ToUserName; default ww0123456789abcdef"`
	AgentID    string `usage:"messages and app events; default 1000002 (change events carry none)"`
	CreateTime int64  `usage:"Unix seconds; default now"`

	UserID         string `usage:"FromUserName of messages and app events; UserID of change events; default zhangsan"`
	NewUserID      string `usage:"update_user"`
	ExternalUserID string `usage:"change_external_contact; default woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"`
	ChatID         string `usage:"change_external_chat; default wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ"`
	Content        string `usage:"text; default hello"`
	MsgID          string `usage:"messages; default a random 19-digit id"`
	EventKey       string `usage:"menu events, template card events"`
	TaskID         string `usage:"template card events; default wecomply-task"`
	CardType       string `usage:"template card events; default button_interaction"`
	ResponseCode   string `usage:"template card events; default random"`
	SelectedItems  string `usage:"template_card_event: \"question=option1,option2;question2=option3\""`
	State          string `usage:"add_external_contact, add_half_external_contact"`
	WelcomeCode    string `usage:"add_external_contact, add_half_external_contact, msg_audit_approved; default random"`
	Source         string `usage:"del_external_contact, e.g. DELETE_BY_TRANSFER"`
	FailReason     string `usage:"transfer_fail; default customer_refused"`
	UpdateDetail   string `usage:"change_external_chat.update; default add_member"`
	TagID          string `usage:"update_tag (default 1); change_external_tag Id (default etTAG0001)"`
	TagType        string `usage:"change_external_tag; default tag"`
	StrategyID     string `usage:"change_external_tag"`
	PartyID        string `usage:"party events Id; default 2"`
	ParentID       string `usage:"create_party (default 1), update_party"`
	Order          string `usage:"create_party"`
	Name           string `usage:"user and party events"`
	Department     string `usage:"user events, comma-separated ids; create_user default 1"`
	Position       string `usage:"user events"`
	Mobile         string `usage:"user events"`
	Email          string `usage:"user events"`
	Status         string `usage:"user events"`
	DirectLeader   string `usage:"user events, comma-separated UserIDs"`
	AddUserItems   string `usage:"update_tag"`
	DelUserItems   string `usage:"update_tag"`
	AddPartyItems  string `usage:"update_tag"`
	DelPartyItems  string `usage:"update_tag"`
	JoinScene      string `usage:"change_external_chat.update add_member; default 0"`
	QuitScene      string `usage:"change_external_chat.update del_member; default 0"`
	MemChangeList  string `usage:"change_external_chat.update, comma-separated; default the UserID"`
	LastMemVer     string `usage:"change_external_chat.update; default random"`
	CurMemVer      string `usage:"change_external_chat.update; default random"`

	PicURL       string `usage:"image, link"`
	MediaID      string `usage:"image, voice, video"`
	Format       string `usage:"voice; default amr"`
	ThumbMediaID string `usage:"video"`
	LocationX    string `usage:"location, location_select"`
	LocationY    string `usage:"location, location_select"`
	Scale        string `usage:"location, location_select"`
	Label        string `usage:"location, location_select"`
	Poiname      string `usage:"location_select"`
	Title        string `usage:"link"`
	Description  string `usage:"link"`
	URL          string `usage:"link"`
	ScanType     string `usage:"scancode_push, scancode_waitmsg; default qrcode"`
	ScanResult   string `usage:"scancode_push, scancode_waitmsg"`
	PicMd5Sums   string `usage:"pic_* events, comma-separated"`
}

// Kinds returns the kinds BuildEvent supports, sorted.
func Kinds() []string {
	k := []string{
		"text", "image", "voice", "video", "location", "link",
		"enter_agent",
		"click", "view", "view_miniprogram", "scancode_push", "scancode_waitmsg",
		"pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select",
		"template_card_event", "template_card_menu_event",
		"msgaudit_notify",
		"change_contact.create_user", "change_contact.update_user", "change_contact.delete_user",
		"change_contact.create_party", "change_contact.update_party", "change_contact.delete_party",
		"change_contact.update_tag",
		"change_external_contact.add_external_contact", "change_external_contact.edit_external_contact",
		"change_external_contact.add_half_external_contact", "change_external_contact.del_external_contact",
		"change_external_contact.del_follow_user", "change_external_contact.transfer_fail",
		"change_external_contact.msg_audit_approved",
		"change_external_chat.create", "change_external_chat.update", "change_external_chat.dismiss",
		"change_external_tag.create", "change_external_tag.update", "change_external_tag.delete",
		"change_external_tag.shuffle",
	}
	slices.Sort(k)
	return k
}

// BuildEvent returns the plaintext XML WeCom would send for spec, in the
// documented shape of its kind (path/90239, 90240, 90970–90972, 92130,
// 92005, 95039): the same elements in the same order, CDATA where the
// official samples use it and bare values where they do not, one element
// per line as in WeCom's own POST example. An unknown kind is an error
// that lists the supported ones.
func BuildEvent(spec EventSpec) ([]byte, error) {
	kind := spec.Kind
	if !slices.Contains(Kinds(), kind) {
		return nil, fmt.Errorf("wecomtest: unknown event kind %q; supported kinds: %s", kind, strings.Join(Kinds(), ", "))
	}
	s, err := withDefaults(spec)
	if err != nil {
		return nil, err
	}
	x := &xmlBuilder{}
	x.b.WriteString("<xml>")
	family, change, isChange := strings.Cut(kind, ".")
	switch {
	case isChange:
		x.head(s, "sys", "event")
		x.cdata("Event", family)
		buildChange(x, s, family, change)
	case kind == "msgaudit_notify":
		x.head(s, "sys", "event")
		x.bare("AgentID", s.AgentID)
		x.cdata("Event", kind)
	case isMessage(kind):
		x.head(s, s.UserID, kind)
		buildMessage(x, s)
	default:
		x.head(s, s.UserID, "event")
		x.cdata("Event", kind)
		buildAppEvent(x, s)
	}
	x.b.WriteString("</xml>")
	return []byte(x.b.String()), nil
}

func isMessage(kind string) bool {
	switch kind {
	case "text", "image", "voice", "video", "location", "link":
		return true
	}
	return false
}

// withDefaults fills the fields that every build of the kind needs.
func withDefaults(s EventSpec) (EventSpec, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.CorpID, "ww0123456789abcdef")
	def(&s.AgentID, "1000002")
	def(&s.UserID, "zhangsan")
	def(&s.ExternalUserID, "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA")
	def(&s.ChatID, "wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ")
	if s.CreateTime == 0 {
		s.CreateTime = time.Now().Unix()
	}
	var err error
	random := func(p *string, gen func() (string, error)) {
		if *p == "" && err == nil {
			*p, err = gen()
		}
	}
	switch s.Kind {
	case "text", "image", "voice", "video", "location", "link":
		random(&s.MsgID, randomMsgID)
	case "template_card_event", "template_card_menu_event":
		random(&s.ResponseCode, func() (string, error) { return randomToken(24) })
	case "change_external_contact.add_external_contact", "change_external_contact.add_half_external_contact",
		"change_external_contact.msg_audit_approved":
		random(&s.WelcomeCode, func() (string, error) { return randomToken(32) })
	case "change_external_chat.update":
		random(&s.LastMemVer, func() (string, error) { return randomHex(16) })
		random(&s.CurMemVer, func() (string, error) { return randomHex(16) })
	}
	if err != nil {
		return s, fmt.Errorf("wecomtest: build %s: %w", s.Kind, err)
	}
	return s, nil
}

func buildMessage(x *xmlBuilder, s EventSpec) {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	switch s.Kind {
	case "text":
		x.cdata("Content", def(s.Content, "hello"))
	case "image":
		x.cdata("PicUrl", def(s.PicURL, "https://wework.qpic.cn/wwpic/example/0"))
		x.cdata("MediaId", def(s.MediaID, "media_id"))
	case "voice":
		x.cdata("MediaId", def(s.MediaID, "media_id"))
		x.cdata("Format", def(s.Format, "amr"))
	case "video":
		x.cdata("MediaId", def(s.MediaID, "media_id"))
		x.cdata("ThumbMediaId", def(s.ThumbMediaID, "thumb_media_id"))
	case "location":
		x.bare("Location_X", def(s.LocationX, "23.134"))
		x.bare("Location_Y", def(s.LocationY, "113.358"))
		x.bare("Scale", def(s.Scale, "20"))
		x.cdata("Label", def(s.Label, "位置信息"))
	case "link":
		x.cdata("Title", def(s.Title, "title"))
		x.cdata("Description", def(s.Description, "description"))
		x.cdata("Url", def(s.URL, "https://example.com/"))
		x.cdata("PicUrl", def(s.PicURL, "https://wework.qpic.cn/wwpic/example/0"))
	}
	x.bare("MsgId", s.MsgID)
	x.bare("AgentID", s.AgentID)
	if s.Kind == "location" {
		x.cdata("AppType", "wxwork")
	}
}

func buildAppEvent(x *xmlBuilder, s EventSpec) {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	switch s.Kind {
	case "enter_agent":
		x.cdata("EventKey", s.EventKey)
	case "click":
		x.cdata("EventKey", def(s.EventKey, "menu_key"))
	case "view":
		x.cdata("EventKey", def(s.EventKey, "https://example.com/"))
	case "view_miniprogram":
		x.cdata("EventKey", def(s.EventKey, "pages/index"))
	case "scancode_push", "scancode_waitmsg":
		x.cdata("EventKey", def(s.EventKey, "scan"))
		x.open("ScanCodeInfo")
		x.cdata("ScanType", def(s.ScanType, "qrcode"))
		x.cdata("ScanResult", s.ScanResult)
		x.close("ScanCodeInfo")
	case "pic_sysphoto", "pic_photo_or_album", "pic_weixin":
		x.cdata("EventKey", def(s.EventKey, "pic"))
		sums := splitList(def(s.PicMd5Sums, "1b5f7c23b5bf75682a53e7b6d163e185"))
		x.open("SendPicsInfo")
		x.bare("Count", strconv.Itoa(len(sums)))
		x.open("PicList")
		for _, sum := range sums {
			x.open("item")
			x.cdata("PicMd5Sum", sum)
			x.close("item")
		}
		x.close("PicList")
		x.close("SendPicsInfo")
	case "location_select":
		x.cdata("EventKey", def(s.EventKey, "location"))
		x.open("SendLocationInfo")
		x.cdata("Location_X", def(s.LocationX, "23"))
		x.cdata("Location_Y", def(s.LocationY, "113"))
		x.cdata("Scale", def(s.Scale, "15"))
		x.cdata("Label", def(s.Label, "广州市海珠区客村艺苑路 106号"))
		x.cdata("Poiname", s.Poiname)
		x.close("SendLocationInfo")
	case "template_card_event", "template_card_menu_event":
		x.cdata("EventKey", def(s.EventKey, "ack"))
		x.cdata("TaskId", def(s.TaskID, "wecomply-task"))
		x.cdata("CardType", def(s.CardType, "button_interaction"))
		x.cdata("ResponseCode", s.ResponseCode)
	}
	x.bare("AgentID", s.AgentID)
	switch s.Kind {
	case "location_select":
		x.cdata("AppType", "wxwork")
	case "template_card_event":
		if s.SelectedItems != "" {
			x.open("SelectedItems")
			for _, item := range strings.Split(s.SelectedItems, ";") {
				question, options, _ := strings.Cut(item, "=")
				x.open("SelectedItem")
				x.cdata("QuestionKey", strings.TrimSpace(question))
				x.open("OptionIds")
				for _, o := range splitList(options) {
					x.cdata("OptionId", o)
				}
				x.close("OptionIds")
				x.close("SelectedItem")
			}
			x.close("SelectedItems")
		}
	}
}

func buildChange(x *xmlBuilder, s EventSpec, family, change string) {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	optional := func(cdata bool, name, v string) {
		switch {
		case v == "":
		case cdata:
			x.cdata(name, v)
		default:
			x.bare(name, v)
		}
	}
	switch family {
	case "change_contact":
		if change == "update_tag" {
			x.cdata("ChangeType", change)
		} else {
			x.bare("ChangeType", change)
		}
		switch change {
		case "create_user", "update_user", "delete_user":
			x.cdata("UserID", s.UserID)
			if change == "delete_user" {
				return
			}
			department := s.Department
			if change == "create_user" {
				department = def(department, "1")
			}
			optional(true, "NewUserID", s.NewUserID)
			optional(true, "Name", s.Name)
			optional(true, "Department", department)
			optional(true, "DirectLeader", s.DirectLeader)
			optional(true, "Position", s.Position)
			optional(false, "Mobile", s.Mobile)
			optional(true, "Email", s.Email)
			optional(false, "Status", s.Status)
		case "create_party", "update_party", "delete_party":
			x.bare("Id", def(s.PartyID, "2"))
			if change == "delete_party" {
				return
			}
			parent := s.ParentID
			if change == "create_party" {
				parent = def(parent, "1")
			}
			optional(true, "Name", s.Name)
			optional(true, "ParentId", parent)
			if change == "create_party" {
				optional(false, "Order", s.Order)
			}
		case "update_tag":
			x.bare("TagId", def(s.TagID, "1"))
			x.cdata("AddUserItems", s.AddUserItems)
			x.cdata("DelUserItems", s.DelUserItems)
			x.cdata("AddPartyItems", s.AddPartyItems)
			x.cdata("DelPartyItems", s.DelPartyItems)
		}
	case "change_external_contact":
		x.cdata("ChangeType", change)
		if change == "transfer_fail" {
			x.cdata("FailReason", def(s.FailReason, "customer_refused"))
		}
		x.cdata("UserID", s.UserID)
		x.cdata("ExternalUserID", s.ExternalUserID)
		switch change {
		case "add_external_contact", "add_half_external_contact":
			optional(true, "State", s.State)
			x.cdata("WelcomeCode", s.WelcomeCode)
		case "msg_audit_approved":
			x.cdata("WelcomeCode", s.WelcomeCode)
		case "del_external_contact":
			optional(true, "Source", s.Source)
		}
	case "change_external_chat":
		x.cdata("ChatId", s.ChatID)
		x.cdata("ChangeType", change)
		if change != "update" {
			return
		}
		detail := def(s.UpdateDetail, "add_member")
		x.cdata("UpdateDetail", detail)
		if detail != "add_member" && detail != "del_member" {
			return
		}
		if detail == "add_member" {
			x.bare("JoinScene", def(s.JoinScene, "0"))
		} else {
			x.bare("QuitScene", def(s.QuitScene, "0"))
		}
		members := splitList(def(s.MemChangeList, s.UserID))
		x.bare("MemChangeCnt", strconv.Itoa(len(members)))
		x.open("MemChangeList")
		for _, m := range members {
			x.bare("Item", m)
		}
		x.close("MemChangeList")
		x.bare("LastMemVer", s.LastMemVer)
		x.bare("CurMemVer", s.CurMemVer)
	case "change_external_tag":
		x.cdata("Id", def(s.TagID, "etTAG0001"))
		if change == "shuffle" {
			optional(true, "StrategyId", s.StrategyID)
			x.cdata("ChangeType", change)
			return
		}
		x.cdata("TagType", def(s.TagType, "tag"))
		x.cdata("ChangeType", change)
		optional(false, "StrategyId", s.StrategyID)
	}
}

// head writes the fields every plaintext starts with.
func (x *xmlBuilder) head(s EventSpec, from, msgType string) {
	x.cdata("ToUserName", s.CorpID)
	x.cdata("FromUserName", from)
	x.bare("CreateTime", strconv.FormatInt(s.CreateTime, 10))
	x.cdata("MsgType", msgType)
}

// xmlBuilder writes plaintext XML one element per line, as WeCom does.
type xmlBuilder struct{ b strings.Builder }

// cdata writes <name><![CDATA[v]]></name>. A value CDATA cannot carry
// unchanged (a carriage return, a character XML forbids) is escaped
// instead, and "]]>" is split across two sections.
func (x *xmlBuilder) cdata(name, v string) {
	x.b.WriteString("<" + name + ">")
	if strings.ContainsFunc(v, func(r rune) bool { return r == '\r' || !isXMLChar(r) }) || !utf8.ValidString(v) {
		xml.EscapeText(&x.b, []byte(v))
	} else {
		x.b.WriteString("<![CDATA[" + strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>") + "]]>")
	}
	x.b.WriteString("</" + name + ">\n")
}

// bare writes <name>v</name> with v escaped.
func (x *xmlBuilder) bare(name, v string) {
	x.b.WriteString("<" + name + ">")
	xml.EscapeText(&x.b, []byte(v))
	x.b.WriteString("</" + name + ">\n")
}

func (x *xmlBuilder) open(name string)  { x.b.WriteString("<" + name + ">") }
func (x *xmlBuilder) close(name string) { x.b.WriteString("</" + name + ">\n") }

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// randomMsgID returns a 19-digit MsgId like WeCom's (a positive int64).
func randomMsgID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	const lo = 1_000_000_000_000_000_000
	n := binary.BigEndian.Uint64(b[:])%(1<<63-lo) + lo
	return strconv.FormatUint(n, 10), nil
}

// randomToken returns n random bytes as URL-safe Base64, the look of a
// WelcomeCode or ResponseCode.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
