package wecom

import (
	"fmt"
	"unicode/utf8"
)

// Template cards (模板卡片消息), path/90236 "模板卡片消息" for sending and
// path/94888 for replacing a card. The JSON field names are the docs'.
// wecomply sends two card types: button_interaction (按钮交互型: buttons
// whose clicks come back as template_card_event) and text_notice
// (文本通知型).

// Card types wecomply sends.
const (
	CardButtonInteraction = "button_interaction"
	CardTextNotice        = "text_notice"
)

// TemplateCard is the template_card object.
type TemplateCard struct {
	CardType              string                  `json:"card_type"`
	Source                *CardSource             `json:"source,omitempty"`
	ActionMenu            *CardActionMenu         `json:"action_menu,omitempty"`
	TaskID                string                  `json:"task_id,omitempty"` // unique per app, [0-9A-Za-z_-@], ≤128 bytes
	MainTitle             *CardMainTitle          `json:"main_title,omitempty"`
	QuoteArea             *CardQuoteArea          `json:"quote_area,omitempty"`
	EmphasisContent       *CardEmphasisContent    `json:"emphasis_content,omitempty"` // text_notice
	SubTitleText          string                  `json:"sub_title_text,omitempty"`
	HorizontalContentList []CardHorizontalContent `json:"horizontal_content_list,omitempty"` // ≤6
	JumpList              []CardJump              `json:"jump_list,omitempty"`               // text_notice, ≤3
	CardAction            *CardAction             `json:"card_action,omitempty"`
	ButtonSelection       *CardButtonSelection    `json:"button_selection,omitempty"` // button_interaction
	ButtonList            []CardButton            `json:"button_list,omitempty"`      // button_interaction, 1..6
	// ReplaceText greys out the buttons with this text; only when
	// replacing a card (UpdateTemplateCard).
	ReplaceText string `json:"replace_text,omitempty"`
}

// NeedsResponseCode reports whether a send of c returns a response_code,
// the single-use code an update of the card (UpdateTemplateCard) needs,
// and so whether its send needs a task_id: of the card types wecomply
// sends, a button_interaction card, or any card with an action_menu
// (path/90236; WeCom also answers vote and multiple-choice cards, which
// validateCard refuses).
func (c *TemplateCard) NeedsResponseCode() bool {
	return c.CardType == CardButtonInteraction || c.ActionMenu != nil
}

// CardSource is source: the card's origin line.
type CardSource struct {
	IconURL   string `json:"icon_url,omitempty"`
	Desc      string `json:"desc,omitempty"`
	DescColor int    `json:"desc_color,omitempty"` // 0 grey, 1 black, 2 red, 3 green
}

// CardActionMenu is action_menu: the menu at the top right.
type CardActionMenu struct {
	Desc       string           `json:"desc,omitempty"`
	ActionList []CardMenuAction `json:"action_list"` // 1..3
}

// CardMenuAction is one action_menu.action_list item.
type CardMenuAction struct {
	Text string `json:"text"`
	Key  string `json:"key"` // ≤1024 bytes, unique
}

// CardMainTitle is main_title.
type CardMainTitle struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

// CardQuoteArea is quote_area.
type CardQuoteArea struct {
	Type      int    `json:"type,omitempty"` // 0 none, 1 url, 2 mini program
	URL       string `json:"url,omitempty"`
	AppID     string `json:"appid,omitempty"`
	PagePath  string `json:"pagepath,omitempty"`
	Title     string `json:"title,omitempty"`
	QuoteText string `json:"quote_text,omitempty"`
}

// CardEmphasisContent is emphasis_content (text_notice).
type CardEmphasisContent struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

// CardHorizontalContent is one horizontal_content_list item.
type CardHorizontalContent struct {
	Type    int    `json:"type,omitempty"` // 0 text, 1 url, 2 attachment, 3 member
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
	URL     string `json:"url,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	UserID  string `json:"userid,omitempty"`
}

// CardJump is one jump_list item (text_notice).
type CardJump struct {
	Type     int    `json:"type,omitempty"` // 0 none, 1 url, 2 mini program
	Title    string `json:"title"`
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// CardAction is card_action: what a tap on the card opens.
type CardAction struct {
	Type     int    `json:"type"` // 0 nothing (button_interaction only), 1 url, 2 mini program
	URL      string `json:"url,omitempty"`
	AppID    string `json:"appid,omitempty"`
	PagePath string `json:"pagepath,omitempty"`
}

// CardButtonSelection is button_selection: a drop-down above the buttons.
type CardButtonSelection struct {
	QuestionKey string       `json:"question_key"` // ≤1024 bytes
	Title       string       `json:"title,omitempty"`
	OptionList  []CardOption `json:"option_list"` // 1..10
	SelectedID  string       `json:"selected_id,omitempty"`
}

// CardOption is one option_list item.
type CardOption struct {
	ID   string `json:"id"` // ≤128 bytes, unique
	Text string `json:"text"`
}

// CardButton is one button_list item.
type CardButton struct {
	Type  int    `json:"type,omitempty"` // 0 callback (template_card_event), 1 url
	Text  string `json:"text"`
	Style int    `json:"style,omitempty"` // 1..4
	Key   string `json:"key,omitempty"`   // type 0: required, ≤1024 bytes, unique
	URL   string `json:"url,omitempty"`   // type 1: required
}

// Documented card limits.
const (
	maxTaskIDBytes      = 128
	maxCardKeyBytes     = 1024
	maxCardOptionID     = 128
	maxCardButtons      = 6
	maxCardHorizontal   = 6
	maxCardJumps        = 3
	maxCardMenuActions  = 3
	maxCardOptions      = 10
	maxCardButtonStyles = 4
)

// validTaskID: [0-9A-Za-z_-@], 1..128 bytes (path/90236 task_id).
func validTaskID(s string) bool {
	if s == "" || len(s) > maxTaskIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '_', b == '-', b == '@':
		default:
			return false
		}
	}
	return true
}

// validateCard checks a card against the docs. update: the card replaces
// a sent one (path/94888), where task_id is not required and replace_text
// is allowed.
func validateCard(op, f string, c *TemplateCard, update bool) error {
	switch c.CardType {
	case CardButtonInteraction, CardTextNotice:
	case "":
		return invalid(op, f+".card_type", "missing")
	default:
		return invalid(op, f+".card_type", "%q is not supported (%s or %s)", c.CardType, CardButtonInteraction, CardTextNotice)
	}
	if c.ReplaceText != "" && !update {
		return invalid(op, f+".replace_text", "only for replacing a sent card (update_template_card)")
	}
	needTaskID := !update && c.NeedsResponseCode()
	switch {
	case c.TaskID == "" && needTaskID:
		return invalid(op, f+".task_id", "missing (required for %s cards and cards with action_menu)", c.CardType)
	case c.TaskID != "" && !validTaskID(c.TaskID):
		return invalid(op, f+".task_id", "must be 1 to %d bytes of [0-9A-Za-z_-@]", maxTaskIDBytes)
	}
	if err := validateCardText(op, f, c); err != nil {
		return err
	}
	if m := c.ActionMenu; m != nil {
		if n := len(m.ActionList); n < 1 || n > maxCardMenuActions {
			return invalid(op, f+".action_menu.action_list", "%d actions, want 1 to %d", n, maxCardMenuActions)
		}
		keys := map[string]bool{}
		for i, a := range m.ActionList {
			g := fmt.Sprintf("%s.action_menu.action_list[%d]", f, i)
			if a.Text == "" {
				return invalid(op, g+".text", "missing")
			}
			if err := checkKey(op, g+".key", a.Key, keys); err != nil {
				return err
			}
		}
	}
	if q := c.QuoteArea; q != nil {
		if err := checkLink(op, f+".quote_area", q.Type, q.URL, q.AppID, false); err != nil {
			return err
		}
	}
	if n := len(c.HorizontalContentList); n > maxCardHorizontal {
		return invalid(op, f+".horizontal_content_list", "%d items, at most %d", n, maxCardHorizontal)
	}
	for i, h := range c.HorizontalContentList {
		g := fmt.Sprintf("%s.horizontal_content_list[%d]", f, i)
		switch {
		case h.KeyName == "":
			return invalid(op, g+".keyname", "missing")
		case h.Type < 0 || h.Type > 3:
			return invalid(op, g+".type", "%d, want 0 to 3", h.Type)
		case h.Type == 1 && h.URL == "":
			return invalid(op, g+".url", "missing (type 1)")
		case h.Type == 2 && h.MediaID == "":
			return invalid(op, g+".media_id", "missing (type 2)")
		case h.Type == 3 && h.UserID == "":
			return invalid(op, g+".userid", "missing (type 3)")
		}
	}
	if n := len(c.JumpList); n > maxCardJumps {
		return invalid(op, f+".jump_list", "%d items, at most %d", n, maxCardJumps)
	}
	for i, j := range c.JumpList {
		g := fmt.Sprintf("%s.jump_list[%d]", f, i)
		if j.Title == "" {
			return invalid(op, g+".title", "missing")
		}
		if err := checkLink(op, g, j.Type, j.URL, j.AppID, false); err != nil {
			return err
		}
	}
	if a := c.CardAction; a != nil {
		if err := checkLink(op, f+".card_action", a.Type, a.URL, a.AppID, c.CardType == CardTextNotice); err != nil {
			return err
		}
	} else if c.CardType == CardTextNotice {
		return invalid(op, f+".card_action", "missing (required for %s cards)", CardTextNotice)
	}
	if c.CardType == CardButtonInteraction {
		return validateButtons(op, f, c)
	}
	if c.ButtonSelection != nil || len(c.ButtonList) > 0 {
		return invalid(op, f+".button_list", "only for %s cards", CardButtonInteraction)
	}
	return nil
}

// validateCardText checks the titles and that text is UTF-8.
func validateCardText(op, f string, c *TemplateCard) error {
	title := ""
	if c.MainTitle != nil {
		title = c.MainTitle.Title
	}
	switch c.CardType {
	case CardButtonInteraction:
		if title == "" {
			return invalid(op, f+".main_title.title", "missing (required for %s cards)", c.CardType)
		}
	case CardTextNotice:
		if title == "" && c.SubTitleText == "" {
			return invalid(op, f+".main_title.title", "missing: a %s card needs main_title.title or sub_title_text", c.CardType)
		}
	}
	for _, t := range []struct{ name, s string }{
		{"main_title.title", title}, {"sub_title_text", c.SubTitleText}, {"replace_text", c.ReplaceText},
	} {
		if !utf8.ValidString(t.s) {
			return invalid(op, f+"."+t.name, "not valid UTF-8")
		}
	}
	return nil
}

func validateButtons(op, f string, c *TemplateCard) error {
	if s := c.ButtonSelection; s != nil {
		g := f + ".button_selection"
		if s.QuestionKey == "" || len(s.QuestionKey) > maxCardKeyBytes {
			return invalid(op, g+".question_key", "must be 1 to %d bytes", maxCardKeyBytes)
		}
		if n := len(s.OptionList); n < 1 || n > maxCardOptions {
			return invalid(op, g+".option_list", "%d options, want 1 to %d", n, maxCardOptions)
		}
		ids := map[string]bool{}
		for i, o := range s.OptionList {
			h := fmt.Sprintf("%s.option_list[%d]", g, i)
			switch {
			case o.ID == "" || len(o.ID) > maxCardOptionID:
				return invalid(op, h+".id", "must be 1 to %d bytes", maxCardOptionID)
			case ids[o.ID]:
				return invalid(op, h+".id", "%q repeats an earlier id", o.ID)
			case o.Text == "":
				return invalid(op, h+".text", "missing")
			}
			ids[o.ID] = true
		}
	}
	if n := len(c.ButtonList); n < 1 || n > maxCardButtons {
		return invalid(op, f+".button_list", "%d buttons, want 1 to %d", n, maxCardButtons)
	}
	keys := map[string]bool{}
	for i, b := range c.ButtonList {
		g := fmt.Sprintf("%s.button_list[%d]", f, i)
		switch {
		case b.Text == "":
			return invalid(op, g+".text", "missing")
		case b.Style < 0 || b.Style > maxCardButtonStyles:
			return invalid(op, g+".style", "%d, want 1 to %d", b.Style, maxCardButtonStyles)
		case b.Type == 0:
			if err := checkKey(op, g+".key", b.Key, keys); err != nil {
				return err
			}
		case b.Type == 1:
			if b.URL == "" {
				return invalid(op, g+".url", "missing (type 1)")
			}
		default:
			return invalid(op, g+".type", "%d, want 0 (callback) or 1 (url)", b.Type)
		}
	}
	return nil
}

// checkKey: a callback key is 1..1024 bytes and unique within its list.
func checkKey(op, field, key string, seen map[string]bool) error {
	switch {
	case key == "" || len(key) > maxCardKeyBytes:
		return invalid(op, field, "must be 1 to %d bytes", maxCardKeyBytes)
	case seen[key]:
		return invalid(op, field, "%q repeats an earlier key", key)
	}
	seen[key] = true
	return nil
}

// checkLink checks a type/url/appid triple: type 1 needs url, type 2
// appid; linkRequired: type 0 is not allowed.
func checkLink(op, field string, typ int, url, appID string, linkRequired bool) error {
	switch {
	case typ < 0 || typ > 2 || (linkRequired && typ == 0):
		if linkRequired {
			return invalid(op, field+".type", "%d, want 1 (url) or 2 (mini program)", typ)
		}
		return invalid(op, field+".type", "%d, want 0 to 2", typ)
	case typ == 1 && url == "":
		return invalid(op, field+".url", "missing (type 1)")
	case typ == 2 && appID == "":
		return invalid(op, field+".appid", "missing (type 2)")
	}
	return nil
}
