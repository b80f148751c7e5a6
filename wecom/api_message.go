package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// App messages: message/send (path/90236), message/update_template_card
// (path/94888) and message/recall (path/94867), all with the AppMessages
// token.

// Message types the Client sends (Message.MsgType).
const (
	MsgText         = "text"
	MsgMarkdown     = "markdown"
	MsgTextCard     = "textcard"
	MsgTemplateCard = "template_card"
)

// Documented message/send limits.
const (
	MaxToUser                 = 1000
	MaxToParty                = 100
	MaxToTag                  = 100
	MaxContentBytes           = 2048       // text and markdown content
	MaxDuplicateCheckInterval = 4 * 3600   // seconds
	maxUserIDBytes            = 64         // path/90196
	maxTextCardTitleChars     = 128        // textcard.title
	maxTextCardDescChars      = 512        // textcard.description
	maxTextCardURLBytes       = 2048       // textcard.url
	maxTextCardBtnChars       = 4          // textcard.btntxt
	maxWelcomeTextBytes       = 4000       // send_welcome_msg text.content
	maxWelcomeAttachments     = 9          // send_welcome_msg attachments
	maxAgreeQueries           = 100        // check_single_agree info
	maxListIDLimit            = 10000      // user/list_id limit
	maxCardUpdateUsers        = MaxToUser  // update_template_card userids
	maxCardUpdateParties      = MaxToParty // update_template_card partyids
	maxCardUpdateTags         = MaxToTag   // update_template_card tagids
)

// Message is an app message. It is not the wire format: MessageBody
// renders it (touser etc. joined with "|", agentid filled in, booleans
// as 0/1). Exactly the payload named by MsgType must be set.
type Message struct {
	ToUser  []string // UserIDs, 1..1000; or just "@all"
	ToParty []string // department ids, ≤100
	ToTag   []string // tag ids, ≤100
	MsgType string   // MsgText, MsgMarkdown, MsgTextCard or MsgTemplateCard

	Text         *Text
	Markdown     *Markdown
	TextCard     *TextCard
	TemplateCard *TemplateCard

	Safe                   int // 0 shareable, 1 confidential (watermark)
	EnableIDTrans          bool
	EnableDuplicateCheck   bool
	DuplicateCheckInterval int // seconds, ≤ 4 hours; 0: WeCom's default (1800)
}

// Text is the text payload.
type Text struct {
	Content string `json:"content"` // 1..2048 bytes; "\n" and <a href> allowed
}

// Markdown is the markdown payload (WeCom's markdown subset).
type Markdown struct {
	Content string `json:"content"` // 1..2048 bytes of UTF-8
}

// TextCard is the textcard payload.
type TextCard struct {
	Title       string `json:"title"`            // ≤128 characters
	Description string `json:"description"`      // ≤512 characters; <div class="gray|normal|highlight">
	URL         string `json:"url"`              // http(s), ≤2048 bytes
	BtnTxt      string `json:"btntxt,omitempty"` // ≤4 characters; default 详情
}

// sendBody is the message/send request (path/90236).
type sendBody struct {
	ToUser                 string        `json:"touser,omitempty"`
	ToParty                string        `json:"toparty,omitempty"`
	ToTag                  string        `json:"totag,omitempty"`
	MsgType                string        `json:"msgtype"`
	AgentID                int64         `json:"agentid"`
	Text                   *Text         `json:"text,omitempty"`
	Markdown               *Markdown     `json:"markdown,omitempty"`
	TextCard               *TextCard     `json:"textcard,omitempty"`
	TemplateCard           *TemplateCard `json:"template_card,omitempty"`
	Safe                   int           `json:"safe,omitempty"`
	EnableIDTrans          int           `json:"enable_id_trans,omitempty"`
	EnableDuplicateCheck   int           `json:"enable_duplicate_check,omitempty"`
	DuplicateCheckInterval int           `json:"duplicate_check_interval,omitempty"`
}

// SendResult is message/send's answer. The recipient lists come as
// "|"-joined strings; an empty string is a nil list. WeCom lower-cases
// the UserIDs it returns.
type SendResult struct {
	MsgID           string // for RecallMessage
	ResponseCode    string // for UpdateTemplateCard: callback-capable cards only; 72 h, once
	InvalidUsers    []string
	InvalidParties  []string
	InvalidTags     []string
	UnlicensedUsers []string
}

// idList decodes a recipient list, which WeCom sends as a "|"-joined
// string (message/send) or as an array (update_template_card). Both are
// accepted wherever it appears.
type idList []string

func (l *idList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = splitBar(s)
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return errors.New("recipient list is neither a string nor an array of strings")
	}
	*l = nil
	for _, v := range a {
		if v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// splitBar splits a "|"-joined list, trimming items and dropping empty
// ones; "" gives nil.
func splitBar(s string) []string {
	var out []string
	for _, item := range strings.Split(s, "|") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// MessageBody renders m as the message/send request body, after checking
// it against the documented limits (path/90236). The bytes are
// deterministic: keep them to resend exactly the same request (so that
// enable_duplicate_check recognises it). An error is an *InvalidError
// naming the field and the limit.
func (c *Client) MessageBody(m Message) ([]byte, error) {
	const op = "message/send"
	if c.agentID <= 0 {
		return nil, fmt.Errorf("wecom: %s: no AgentID configured (wecom.agent_id)", op)
	}
	if err := validateMessage(op, &m); err != nil {
		return nil, err
	}
	b := sendBody{
		ToUser:       strings.Join(m.ToUser, "|"),
		ToParty:      strings.Join(m.ToParty, "|"),
		ToTag:        strings.Join(m.ToTag, "|"),
		MsgType:      m.MsgType,
		AgentID:      c.agentID,
		Text:         m.Text,
		Markdown:     m.Markdown,
		TextCard:     m.TextCard,
		TemplateCard: m.TemplateCard,
		Safe:         m.Safe,
	}
	if m.EnableIDTrans {
		b.EnableIDTrans = 1
	}
	if m.EnableDuplicateCheck {
		b.EnableDuplicateCheck = 1
		b.DuplicateCheckInterval = m.DuplicateCheckInterval
	}
	body, err := marshal(b)
	if err != nil {
		return nil, fmt.Errorf("wecom: %s: encode: %w", op, err)
	}
	return body, nil
}

func validateMessage(op string, m *Message) error {
	if err := checkUserIDs(op, "touser", m.ToUser, MaxToUser, true); err != nil {
		return err
	}
	if err := checkNumericIDs(op, "toparty", m.ToParty, MaxToParty); err != nil {
		return err
	}
	if err := checkNumericIDs(op, "totag", m.ToTag, MaxToTag); err != nil {
		return err
	}
	if len(m.ToUser)+len(m.ToParty)+len(m.ToTag) == 0 {
		return invalid(op, "touser", "no recipients: touser, toparty and totag are all empty")
	}
	payloads := map[string]bool{
		MsgText: m.Text != nil, MsgMarkdown: m.Markdown != nil,
		MsgTextCard: m.TextCard != nil, MsgTemplateCard: m.TemplateCard != nil,
	}
	if _, ok := payloads[m.MsgType]; !ok {
		if m.MsgType == "" {
			return invalid(op, "msgtype", "missing")
		}
		return invalid(op, "msgtype", "%q is not supported (%s, %s, %s or %s)", m.MsgType, MsgText, MsgMarkdown, MsgTextCard, MsgTemplateCard)
	}
	for _, t := range []string{MsgText, MsgMarkdown, MsgTextCard, MsgTemplateCard} {
		switch {
		case t == m.MsgType && !payloads[t]:
			return invalid(op, t, "missing for msgtype %s", m.MsgType)
		case t != m.MsgType && payloads[t]:
			return invalid(op, t, "set, but msgtype is %s", m.MsgType)
		}
	}
	switch m.MsgType {
	case MsgText:
		if err := checkContent(op, "text.content", m.Text.Content); err != nil {
			return err
		}
	case MsgMarkdown:
		if err := checkContent(op, "markdown.content", m.Markdown.Content); err != nil {
			return err
		}
	case MsgTextCard:
		if err := checkTextCard(op, m.TextCard); err != nil {
			return err
		}
	case MsgTemplateCard:
		if err := validateCard(op, "template_card", m.TemplateCard, false); err != nil {
			return err
		}
	}
	if m.Safe != 0 && m.Safe != 1 {
		return invalid(op, "safe", "%d, want 0 or 1", m.Safe)
	}
	if m.DuplicateCheckInterval < 0 || m.DuplicateCheckInterval > MaxDuplicateCheckInterval {
		return invalid(op, "duplicate_check_interval", "%d seconds, want 0 to %d (4 hours)", m.DuplicateCheckInterval, MaxDuplicateCheckInterval)
	}
	return nil
}

// checkUserIDs: at most max UserIDs, each 1..64 bytes without "|";
// "@all" only alone (when allowAll).
func checkUserIDs(op, field string, ids []string, max int, allowAll bool) error {
	if len(ids) > max {
		return invalid(op, field, "%d users, at most %d", len(ids), max)
	}
	for i, id := range ids {
		switch {
		case id == "@all" && allowAll:
			if len(ids) != 1 {
				return invalid(op, field, "@all must be the only recipient")
			}
		case id == "" || len(id) > maxUserIDBytes:
			return invalid(op, fmt.Sprintf("%s[%d]", field, i), "a UserID is 1 to %d bytes", maxUserIDBytes)
		case strings.ContainsAny(id, "|\x00") || !utf8.ValidString(id):
			return invalid(op, fmt.Sprintf("%s[%d]", field, i), "a UserID is UTF-8 without \"|\" or NUL")
		}
	}
	return nil
}

// checkNumericIDs: at most max department or tag ids, each decimal.
func checkNumericIDs(op, field string, ids []string, max int) error {
	if len(ids) > max {
		return invalid(op, field, "%d ids, at most %d", len(ids), max)
	}
	for i, id := range ids {
		if !isDigits(id) {
			return invalid(op, fmt.Sprintf("%s[%d]", field, i), "%q is not a numeric id", id)
		}
	}
	return nil
}

// checkContent: 1..2048 bytes of UTF-8.
func checkContent(op, field, s string) error {
	switch {
	case s == "":
		return invalid(op, field, "empty (errcode 44004)")
	case len(s) > MaxContentBytes:
		return invalid(op, field, "%d bytes, at most %d", len(s), MaxContentBytes)
	case !utf8.ValidString(s):
		return invalid(op, field, "not valid UTF-8")
	}
	return nil
}

func checkTextCard(op string, t *TextCard) error {
	for _, f := range []struct {
		name, s  string
		maxChars int
	}{
		{"textcard.title", t.Title, maxTextCardTitleChars},
		{"textcard.description", t.Description, maxTextCardDescChars},
		{"textcard.btntxt", t.BtnTxt, maxTextCardBtnChars},
	} {
		switch {
		case f.s == "" && f.name != "textcard.btntxt":
			return invalid(op, f.name, "missing")
		case !utf8.ValidString(f.s):
			return invalid(op, f.name, "not valid UTF-8")
		case utf8.RuneCountInString(f.s) > f.maxChars:
			// WeCom would truncate it silently; a notice must be shown whole.
			return invalid(op, f.name, "%d characters, at most %d", utf8.RuneCountInString(f.s), f.maxChars)
		}
	}
	if t.URL == "" || len(t.URL) > maxTextCardURLBytes {
		return invalid(op, "textcard.url", "must be 1 to %d bytes", maxTextCardURLBytes)
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(op, "textcard.url", "must be an http(s) URL")
	}
	return nil
}

// SendMessageBody posts body (from MessageBody) to message/send exactly as
// it is, so that a resend is byte-identical and WeCom's duplicate check
// recognises it. Recipients that are invalid or unlicensed are in the
// result; if all of them are, WeCom answers errcode 81013.
func (c *Client) SendMessageBody(ctx context.Context, body []byte) (*SendResult, error) {
	const op = "message/send"
	if len(body) == 0 {
		return nil, invalid(op, "body", "empty")
	}
	var out struct {
		InvalidUser    idList `json:"invaliduser"`
		InvalidParty   idList `json:"invalidparty"`
		InvalidTag     idList `json:"invalidtag"`
		UnlicensedUser idList `json:"unlicenseduser"`
		MsgID          string `json:"msgid"`
		ResponseCode   string `json:"response_code"`
	}
	if err := c.call(ctx, request{op: op, apps: []string{AppMessages}, method: http.MethodPost, body: body}, &out); err != nil {
		return nil, err
	}
	return &SendResult{
		MsgID:           out.MsgID,
		ResponseCode:    out.ResponseCode,
		InvalidUsers:    out.InvalidUser,
		InvalidParties:  out.InvalidParty,
		InvalidTags:     out.InvalidTag,
		UnlicensedUsers: out.UnlicensedUser,
	}, nil
}

// SendMessage is MessageBody and SendMessageBody.
func (c *Client) SendMessage(ctx context.Context, m Message) (*SendResult, error) {
	body, err := c.MessageBody(m)
	if err != nil {
		return nil, err
	}
	return c.SendMessageBody(ctx, body)
}

// CardUpdate changes a sent callback-capable card for some of its
// recipients (path/94888): either greys out its buttons with ReplaceName,
// or replaces the whole card with TemplateCard (which may set
// ReplaceText). Exactly one of the two. Each ResponseCode (from the send,
// or from a template_card_event) works once, within 72 hours.
type CardUpdate struct {
	UserIDs       []string // ≤1000
	PartyIDs      []int    // ≤100
	TagIDs        []int    // ≤100
	AtAll         bool     // every recipient of the card
	ResponseCode  string
	ReplaceName   string        // button.replace_name
	TemplateCard  *TemplateCard // template_card
	EnableIDTrans bool
}

type cardUpdateBody struct {
	UserIDs       []string      `json:"userids,omitempty"`
	PartyIDs      []int         `json:"partyids,omitempty"`
	TagIDs        []int         `json:"tagids,omitempty"`
	AtAll         int           `json:"atall,omitempty"`
	AgentID       int64         `json:"agentid"`
	ResponseCode  string        `json:"response_code"`
	EnableIDTrans int           `json:"enable_id_trans,omitempty"`
	Button        *cardButton   `json:"button,omitempty"`
	TemplateCard  *TemplateCard `json:"template_card,omitempty"`
}

type cardButton struct {
	ReplaceName string `json:"replace_name"`
}

// UpdateTemplateCard updates a sent card and returns the users WeCom
// found invalid (lower-cased). Here the recipient lists are JSON arrays,
// not "|"-joined strings.
func (c *Client) UpdateTemplateCard(ctx context.Context, u CardUpdate) (invalidUsers []string, err error) {
	const op = "message/update_template_card"
	if c.agentID <= 0 {
		return nil, fmt.Errorf("wecom: %s: no AgentID configured (wecom.agent_id)", op)
	}
	if err := checkUserIDs(op, "userids", u.UserIDs, maxCardUpdateUsers, false); err != nil {
		return nil, err
	}
	switch {
	case len(u.PartyIDs) > maxCardUpdateParties:
		return nil, invalid(op, "partyids", "%d ids, at most %d", len(u.PartyIDs), maxCardUpdateParties)
	case len(u.TagIDs) > maxCardUpdateTags:
		return nil, invalid(op, "tagids", "%d ids, at most %d", len(u.TagIDs), maxCardUpdateTags)
	case !u.AtAll && len(u.UserIDs)+len(u.PartyIDs)+len(u.TagIDs) == 0:
		return nil, invalid(op, "userids", "no one to update: userids, partyids and tagids are empty and atall is not set (errcode 82101)")
	case u.ResponseCode == "":
		return nil, invalid(op, "response_code", "missing")
	case (u.ReplaceName == "") == (u.TemplateCard == nil):
		return nil, invalid(op, "button.replace_name", "set exactly one of button.replace_name and template_card")
	case u.ReplaceName != "" && !utf8.ValidString(u.ReplaceName):
		return nil, invalid(op, "button.replace_name", "not valid UTF-8")
	}
	b := cardUpdateBody{
		UserIDs:      u.UserIDs,
		PartyIDs:     u.PartyIDs,
		TagIDs:       u.TagIDs,
		AgentID:      c.agentID,
		ResponseCode: u.ResponseCode,
		TemplateCard: u.TemplateCard,
	}
	if u.AtAll {
		b.AtAll = 1
	}
	if u.EnableIDTrans {
		b.EnableIDTrans = 1
	}
	if u.ReplaceName != "" {
		b.Button = &cardButton{ReplaceName: u.ReplaceName}
	} else if err := validateCard(op, "template_card", u.TemplateCard, true); err != nil {
		return nil, err
	}
	var out struct {
		InvalidUser idList `json:"invaliduser"`
	}
	if err := c.postJSON(ctx, op, []string{AppMessages}, b, &out); err != nil {
		return nil, err
	}
	return out.InvalidUser, nil
}

// RecallMessage recalls a message sent with message/send within the last
// 24 hours (path/94867), from the WeCom clients only (not from the WeChat
// plugin). Recalling from another app than the sender gives 40058.
func (c *Client) RecallMessage(ctx context.Context, msgID string) error {
	const op = "message/recall"
	if msgID == "" {
		return invalid(op, "msgid", "missing")
	}
	return c.postJSON(ctx, op, []string{AppMessages}, struct {
		MsgID string `json:"msgid"`
	}{msgID}, nil)
}
