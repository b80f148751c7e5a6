package sandbox

import (
	"bytes"
	"encoding/json"
	"html/template"
	"slices"
	"time"

	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// messageView is one inbox message as the page shows it.
type messageView struct {
	MsgID    string
	MsgType  string
	App      string
	AgentID  int64
	At       time.Time
	Unread   bool
	Recalled bool
	// Mine is a line the person sent (a text or opening the app), not a
	// message of the app.
	Mine bool
	// From is the employee whose welcome message it is.
	From string
	// Body is the rendered text or markdown; Card a template card; Raw
	// the message object of any other type, indented.
	Body      template.HTML
	Truncated bool
	Card      *cardView
	Raw       string
}

// cardView is a template card in its current state: as sent, or as the
// last update_template_card left it.
type cardView struct {
	CardType    string
	TaskID      string
	Source      string
	SourceColor int
	Title       string
	Desc        string
	Emphasis    *wecom.CardEmphasisContent
	Quote       *wecom.CardQuoteArea
	SubTitle    string
	Horizontal  []wecom.CardHorizontalContent
	Jumps       []wecom.CardJump
	ActionURL   string
	Menu        []buttonView
	Buttons     []buttonView
	// Greyed is the text of the single grey button that replaces the
	// buttons after an update (button.replace_name or replace_text);
	// nothing is clickable then.
	Greyed string
	// Clicked is the text (or key) of the button last clicked.
	Clicked string
}

// buttonView is a button or action_menu item.
type buttonView struct {
	Text      string
	Key       string
	URL       string // a link button (type 1)
	Style     int
	Clickable bool // a callback button of a card that can still be clicked
}

// msgWelcome is the MsgType the fake gives a welcome message
// (send_welcome_msg) in a customer's inbox.
const msgWelcome = "welcome"

// newMessageView turns an inbox message into its view.
func newMessageView(m wecomtest.InboxMessage, unread bool) messageView {
	v := messageView{MsgID: m.MsgID, MsgType: m.MsgType, App: m.App, AgentID: m.AgentID, At: m.At, Unread: unread,
		Recalled: m.Recalled, Truncated: m.Truncated}
	switch m.MsgType {
	case wecom.MsgText:
		v.Body = renderText(m.Content)
	case wecom.MsgMarkdown:
		v.Body = renderMarkdown(m.Content)
	case wecom.MsgTemplateCard:
		if c, err := newCardView(m); err == nil {
			v.Card = c
			break
		}
		v.Raw = indent(m.Card)
	case msgWelcome:
		v.From = m.From
		var w struct {
			Text *struct {
				Content string `json:"content"`
			} `json:"text"`
			Attachments json.RawMessage `json:"attachments"`
		}
		if err := json.Unmarshal(m.Message, &w); err != nil || w.Text == nil {
			v.Raw = indent(m.Message)
			break
		}
		v.Body = renderText(w.Text.Content)
		if len(w.Attachments) > 0 {
			v.Raw = indent(w.Attachments)
		}
	default:
		v.Raw = indent(m.Message)
	}
	return v
}

// newCardView reads the card as the recipient sees it now.
func newCardView(m wecomtest.InboxMessage) (*cardView, error) {
	raw := m.Card
	if len(raw) == 0 {
		raw = m.Message
	}
	var c wecom.TemplateCard
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	v := &cardView{
		CardType: c.CardType, TaskID: m.TaskID, SubTitle: c.SubTitleText,
		Emphasis: c.EmphasisContent, Quote: c.QuoteArea,
		Horizontal: c.HorizontalContentList, Jumps: c.JumpList,
	}
	if v.CardType == "" {
		v.CardType = m.CardType
	}
	if s := c.Source; s != nil {
		v.Source, v.SourceColor = s.Desc, s.DescColor
	}
	if t := c.MainTitle; t != nil {
		v.Title, v.Desc = t.Title, t.Desc
	}
	if a := c.CardAction; a != nil && a.Type == 1 {
		v.ActionURL = a.URL
	}
	switch {
	case m.ReplaceName != "":
		v.Greyed = m.ReplaceName
	case m.ReplaceText != "":
		v.Greyed = m.ReplaceText
	case c.ReplaceText != "":
		v.Greyed = c.ReplaceText
	}
	clickable := !m.Recalled && v.Greyed == ""
	if am := c.ActionMenu; am != nil {
		for _, a := range am.ActionList {
			v.Menu = append(v.Menu, buttonView{Text: a.Text, Key: a.Key, Clickable: clickable})
		}
	}
	for _, b := range c.ButtonList {
		bv := buttonView{Text: b.Text, Key: b.Key, Style: b.Style}
		if b.Type == 1 {
			bv.URL = b.URL
		} else {
			bv.Clickable = clickable
		}
		v.Buttons = append(v.Buttons, bv)
	}
	if m.Clicked != "" {
		v.Clicked = m.Clicked
		all := append(slices.Clone(v.Buttons), v.Menu...)
		if i := slices.IndexFunc(all, func(b buttonView) bool { return b.Key == m.Clicked }); i >= 0 {
			v.Clicked = all[i].Text
		}
	}
	return v, nil
}

// indent pretty-prints JSON for the page, or returns it as it is.
func indent(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
