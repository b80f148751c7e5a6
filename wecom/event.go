package wecom

import (
	"fmt"
	"strconv"
	"strings"
)

// Header holds the fields every callback plaintext shares (path/90239,
// path/90240). Event types embed it.
type Header struct {
	ToUserName   string // the CorpID
	FromUserName string // the member's UserID, or "sys" for system events
	CreateTime   int64  // Unix seconds
	MsgType      string // text, image, ..., or event
	Event        string // the event type when MsgType is "event"
	ChangeType   string // the sub-type of change_contact, change_external_* events
	AgentID      string // the app's id; empty when the callback has none

	dedupKey string // computed by Decode
}

// Head returns the header itself, so that code holding an Event can read
// the common fields.
func (h *Header) Head() *Header { return h }

// Kind names the event, an external contract (the event log, metrics and
// `wecomply simulate` use it): MsgType for member messages ("text",
// "image", ...); Event for other events ("enter_agent", "click",
// "template_card_event", "msgaudit_notify", ...); "Event.ChangeType" when
// the event has a ChangeType ("change_contact.update_user",
// "change_external_contact.msg_audit_approved", ...). Unknown events
// follow the same rule.
func (h *Header) Kind() string {
	if h.MsgType != "event" || h.Event == "" {
		return h.MsgType
	}
	if h.ChangeType != "" {
		if k, ok := changeKinds[[2]string{h.Event, h.ChangeType}]; ok {
			return k
		}
		return h.Event + "." + h.ChangeType
	}
	return h.Event
}

// changeKinds holds the kinds with a ChangeType that Decode types, keyed
// by Event and ChangeType, so that Kind returns them without building the
// string on every call. It is read-only.
var changeKinds = func() map[[2]string]string {
	m := map[[2]string]string{}
	for _, k := range []string{
		"change_contact.create_user", "change_contact.update_user", "change_contact.delete_user",
		"change_contact.create_party", "change_contact.update_party", "change_contact.delete_party",
		"change_contact.update_tag",
		"change_external_contact.add_external_contact", "change_external_contact.edit_external_contact",
		"change_external_contact.add_half_external_contact", "change_external_contact.del_external_contact",
		"change_external_contact.del_follow_user", "change_external_contact.transfer_fail",
		"change_external_contact.msg_audit_approved",
		"change_external_chat.create", "change_external_chat.update", "change_external_chat.dismiss",
		"change_external_tag.create", "change_external_tag.update", "change_external_tag.delete", "change_external_tag.shuffle",
	} {
		event, change, _ := strings.Cut(k, ".")
		m[[2]string{event, change}] = k
	}
	return m
}()

// DedupKey identifies the event across WeCom's retries (WECOM.md §1.7):
// "msg:<MsgId>" for a message that has a MsgId; otherwise
// "<kind>:<CreateTime>:<digest>", where the digest is the hex of the
// first 16 bytes of the SHA-256 of the canonical form of the plaintext
// (every element's path and trimmed value, sorted). A retry of one event
// gets the same key even if re-serialised with other white space or
// CDATA; two different events in the same second get different keys.
// Events not built by Decode have no digest: "<kind>:<CreateTime>".
func (h *Header) DedupKey() string {
	if h.dedupKey != "" {
		return h.dedupKey
	}
	return h.Kind() + ":" + strconv.FormatInt(h.CreateTime, 10)
}

// Event is a decoded callback plaintext. Decode returns one of the
// pointer types of this package: *TextMessage, *ImageMessage,
// *VoiceMessage, *VideoMessage, *LocationMessage, *LinkMessage,
// *EnterAgent, *MenuEvent, *TemplateCardEvent, *MsgAuditNotify,
// *UserChange, *PartyChange, *TagChange, *ExternalContactChange,
// *ExternalChatChange, *ExternalTagChange, or *RawEvent for any other.
type Event interface {
	// Kind names the event; see Header.Kind.
	Kind() string
	// Head returns the common fields.
	Head() *Header
	// DedupKey identifies the event across retries; see Header.DedupKey.
	DedupKey() string
	// Fields returns the event's identifying fields for the event log,
	// with snake_case keys, leaving out empty ones. It never holds message
	// content, a WelcomeCode or a ResponseCode.
	Fields() map[string]string
}

// fieldSet builds a Fields map, skipping empty values.
type fieldSet map[string]string

func (f fieldSet) set(k, v string) fieldSet {
	if v != "" {
		f[k] = v
	}
	return f
}

// memberFields are the fields of a message or app event from a member.
func memberFields(h *Header) fieldSet {
	return fieldSet{}.set("user_id", h.FromUserName).set("agent_id", h.AgentID)
}

// TextMessage is a text message from a member to the app (path/90239).
type TextMessage struct {
	Header
	MsgID   string // 64-bit integer, kept as its exact digits
	Content string
}

// Fields implements Event. Content is left out.
func (m *TextMessage) Fields() map[string]string {
	return memberFields(&m.Header).set("msg_id", m.MsgID)
}

// ImageMessage is an image from a member (path/90239).
type ImageMessage struct {
	Header
	MsgID   string
	PicURL  string
	MediaID string // valid for 3 days
}

// Fields implements Event.
func (m *ImageMessage) Fields() map[string]string {
	return memberFields(&m.Header).set("msg_id", m.MsgID)
}

// VoiceMessage is a voice message from a member (path/90239).
type VoiceMessage struct {
	Header
	MsgID   string
	MediaID string
	Format  string // amr, speex, ...
}

// Fields implements Event.
func (m *VoiceMessage) Fields() map[string]string {
	return memberFields(&m.Header).set("msg_id", m.MsgID)
}

// VideoMessage is a video from a member (path/90239).
type VideoMessage struct {
	Header
	MsgID        string
	MediaID      string
	ThumbMediaID string
}

// Fields implements Event.
func (m *VideoMessage) Fields() map[string]string {
	return memberFields(&m.Header).set("msg_id", m.MsgID)
}

// LocationMessage is a location shared by a member (path/90239).
type LocationMessage struct {
	Header
	MsgID     string
	LocationX string // latitude (Location_X)
	LocationY string // longitude (Location_Y)
	Scale     string
	Label     string
	AppType   string // "wxwork" in WeCom, absent in WeChat
}

// Fields implements Event. The location itself is left out.
func (m *LocationMessage) Fields() map[string]string {
	return memberFields(&m.Header).set("msg_id", m.MsgID)
}

// LinkMessage is a link shared by a member (path/90239).
type LinkMessage struct {
	Header
	MsgID       string
	Title       string
	Description string
	URL         string
	PicURL      string
}

// Fields implements Event. The link itself is left out.
func (m *LinkMessage) Fields() map[string]string {
	return memberFields(&m.Header).set("msg_id", m.MsgID)
}

// EnterAgent is sent when a member enters the app (path/90240).
type EnterAgent struct {
	Header
	EventKey string // empty
}

// Fields implements Event.
func (e *EnterAgent) Fields() map[string]string {
	return memberFields(&e.Header).set("event_key", e.EventKey)
}

// MenuEvent is a custom-menu event (path/90240): click, view,
// view_miniprogram, scancode_push, scancode_waitmsg, pic_sysphoto,
// pic_photo_or_album, pic_weixin or location_select. Which of the
// sub-structures is filled depends on the Event.
type MenuEvent struct {
	Header
	EventKey         string // the menu KEY, the URL (view) or the mini-program path
	ScanCodeInfo     ScanCodeInfo
	SendPicsInfo     SendPicsInfo
	SendLocationInfo SendLocationInfo
	AppType          string
}

// ScanCodeInfo is the scan result of scancode_push and scancode_waitmsg.
type ScanCodeInfo struct {
	ScanType   string // usually "qrcode"
	ScanResult string
}

// SendPicsInfo lists the pictures of pic_sysphoto, pic_photo_or_album and
// pic_weixin.
type SendPicsInfo struct {
	Count   int
	PicList []string // the PicMd5Sum of each picture
}

// SendLocationInfo is the location chosen in location_select.
type SendLocationInfo struct {
	LocationX string
	LocationY string
	Scale     string
	Label     string
	Poiname   string
}

// Fields implements Event.
func (e *MenuEvent) Fields() map[string]string {
	return memberFields(&e.Header).set("event_key", e.EventKey)
}

// TemplateCardEvent is a click on a template card the app sent
// (template_card_event) or on its top-right menu
// (template_card_menu_event) (path/90240).
type TemplateCardEvent struct {
	Header
	EventKey      string // the clicked button's key
	TaskID        string // the task_id the card was sent with
	CardType      string // text_notice, news_notice, button_interaction, ...
	ResponseCode  string // for update_template_card: valid 72 h, usable once
	SelectedItems []SelectedItem
}

// SelectedItem is one question's answer on a card.
type SelectedItem struct {
	QuestionKey string
	OptionIDs   []string
}

// Fields implements Event. ResponseCode is left out: it is a single-use
// credential.
func (e *TemplateCardEvent) Fields() map[string]string {
	return memberFields(&e.Header).set("event_key", e.EventKey).set("task_id", e.TaskID).set("card_type", e.CardType)
}

// MsgAuditNotify says that new archived messages exist (path/95039). It
// carries no content and no seq.
type MsgAuditNotify struct {
	Header
}

// Fields implements Event.
func (e *MsgAuditNotify) Fields() map[string]string {
	return fieldSet{}.set("agent_id", e.AgentID)
}

// UserChange is a change_contact event about a member: create_user,
// update_user or delete_user (path/90970). Fields WeCom sends only when
// set or changed are pointers, nil when not sent. Since 2022-08-15 a newly
// configured contact-sync URL receives only UserID, NewUserID and
// Department.
type UserChange struct {
	Header
	UserID    string
	NewUserID string // update_user, when the UserID changed

	Name           *string
	Department     *string // comma-separated department ids; see Departments
	MainDepartment *string
	IsLeaderInDept *string // comma-separated 0/1, aligned with Department
	DirectLeader   *string // comma-separated UserIDs; see DirectLeaders
	Position       *string
	Mobile         *string
	Gender         *string // 0 unset, 1 male, 2 female
	Email          *string
	BizMail        *string
	Status         *string // 1 active, 2 disabled, 4 not activated, 5 left
	Avatar         *string
	Alias          *string
	Telephone      *string
	Address        *string
	ExtAttr        *ExtAttr
}

// ExtAttr holds a member's extended attributes.
type ExtAttr struct {
	Items []ExtAttrItem
}

// ExtAttrItem is one extended attribute: a text (Type "0") or a web link
// (Type "1").
type ExtAttrItem struct {
	Name      string
	Type      string
	TextValue string // Text/Value
	WebTitle  string // Web/Title
	WebURL    string // Web/Url
}

// Departments parses Department: nil when it was not sent.
func (e *UserChange) Departments() ([]int, error) {
	if e.Department == nil {
		return nil, nil
	}
	ids, err := splitInts(*e.Department)
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: Department: %w", e.Kind(), err)
	}
	return ids, nil
}

// DirectLeaders splits DirectLeader: nil when it was not sent.
func (e *UserChange) DirectLeaders() []string {
	if e.DirectLeader == nil {
		return nil
	}
	return splitList(*e.DirectLeader)
}

// Fields implements Event.
func (e *UserChange) Fields() map[string]string {
	return fieldSet{}.set("user_id", e.UserID).set("new_user_id", e.NewUserID).set("agent_id", e.AgentID)
}

// PartyChange is a change_contact event about a department: create_party,
// update_party or delete_party (path/90971). Fields sent only when set or
// changed are pointers.
type PartyChange struct {
	Header
	ID       string
	Name     *string
	ParentID *string
	Order    *string
}

// Fields implements Event.
func (e *PartyChange) Fields() map[string]string {
	f := fieldSet{}.set("party_id", e.ID).set("agent_id", e.AgentID)
	if e.ParentID != nil {
		f.set("parent_id", *e.ParentID)
	}
	return f
}

// TagChange is the change_contact update_tag event: members or
// departments added to or removed from a tag (path/90972). The lists are
// comma-separated; see the helpers.
type TagChange struct {
	Header
	TagID         string
	AddUserItems  string
	DelUserItems  string
	AddPartyItems string
	DelPartyItems string
}

// AddedUsers splits AddUserItems.
func (e *TagChange) AddedUsers() []string { return splitList(e.AddUserItems) }

// RemovedUsers splits DelUserItems.
func (e *TagChange) RemovedUsers() []string { return splitList(e.DelUserItems) }

// AddedParties parses AddPartyItems.
func (e *TagChange) AddedParties() ([]int, error) {
	ids, err := splitInts(e.AddPartyItems)
	if err != nil {
		return nil, fmt.Errorf("wecom: update_tag: AddPartyItems: %w", err)
	}
	return ids, nil
}

// RemovedParties parses DelPartyItems.
func (e *TagChange) RemovedParties() ([]int, error) {
	ids, err := splitInts(e.DelPartyItems)
	if err != nil {
		return nil, fmt.Errorf("wecom: update_tag: DelPartyItems: %w", err)
	}
	return ids, nil
}

// Fields implements Event.
func (e *TagChange) Fields() map[string]string {
	return fieldSet{}.set("tag_id", e.TagID).set("agent_id", e.AgentID)
}

// ExternalContactChange is a change_external_contact event (path/92130,
// path/92005): add_external_contact, edit_external_contact,
// add_half_external_contact, del_external_contact, del_follow_user,
// transfer_fail or msg_audit_approved.
type ExternalContactChange struct {
	Header
	UserID         string // the member
	ExternalUserID string // the customer
	State          string // the 「联系我」 state or 获客链接 customer_channel
	WelcomeCode    string // for send_welcome_msg: valid 20 s, usable once
	Source         string // del_external_contact: DELETE_BY_TRANSFER
	FailReason     string // transfer_fail: customer_refused, customer_limit_exceed
}

// Fields implements Event. WelcomeCode is left out: it is a single-use
// credential.
func (e *ExternalContactChange) Fields() map[string]string {
	return fieldSet{}.set("user_id", e.UserID).set("external_user_id", e.ExternalUserID).
		set("state", e.State).set("source", e.Source).set("fail_reason", e.FailReason).set("agent_id", e.AgentID)
}

// ExternalChatChange is a change_external_chat event about a customer
// group: create, update or dismiss (path/92130).
type ExternalChatChange struct {
	Header
	ChatID        string
	UpdateDetail  string // add_member, del_member, change_owner, change_name, change_notice
	JoinScene     string // add_member: 0 invited, 3 QR code
	QuitScene     string // del_member: 0 left, 1 removed
	MemChangeCnt  int
	MemChangeList []string
	LastMemVer    string // member-list version before the change
	CurMemVer     string // and after
}

// Fields implements Event.
func (e *ExternalChatChange) Fields() map[string]string {
	return fieldSet{}.set("chat_id", e.ChatID).set("update_detail", e.UpdateDetail).set("agent_id", e.AgentID)
}

// ExternalTagChange is a change_external_tag event about the corp's
// customer tags: create, update, delete or shuffle (path/92130).
type ExternalTagChange struct {
	Header
	ID         string // the tag or tag group id (empty on shuffle: all groups)
	TagType    string // tag or tag_group
	StrategyID string // the rule group, if any
}

// Fields implements Event.
func (e *ExternalTagChange) Fields() map[string]string {
	return fieldSet{}.set("tag_id", e.ID).set("tag_type", e.TagType).set("strategy_id", e.StrategyID).set("agent_id", e.AgentID)
}

// RawEvent is any event or message this package has no type for. It is
// kept, never an error: Kind still names it.
type RawEvent struct {
	Header
	Plaintext []byte // a copy of the decoded plaintext
}

// Fields implements Event.
func (e *RawEvent) Fields() map[string]string {
	return fieldSet{}.set("from_user", e.FromUserName).set("agent_id", e.AgentID)
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

// splitInts parses a comma-separated list of integers.
func splitInts(s string) ([]int, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]int, 0, len(items))
	for i, item := range items {
		n, err := strconv.Atoi(item)
		if err != nil {
			return nil, fmt.Errorf("item %d is not an integer", i+1)
		}
		out = append(out, n)
	}
	return out, nil
}
