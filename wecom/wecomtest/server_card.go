package wecomtest

import (
	"encoding/json"
	"strings"
)

// templateCard is the part of a template_card (90236, 94888) the fake
// validates and acts on. Fields it does not check (source, quote text,
// emphasis_content, …) stay in the raw JSON the inbox keeps.
type templateCard struct {
	CardType   string `json:"card_type"`
	ActionMenu *struct {
		Desc       string       `json:"desc"`
		ActionList []cardButton `json:"action_list"`
	} `json:"action_menu"`
	TaskID    string `json:"task_id"`
	MainTitle *struct {
		Title string `json:"title"`
		Desc  string `json:"desc"`
	} `json:"main_title"`
	SubTitleText          string    `json:"sub_title_text"`
	QuoteArea             *cardLink `json:"quote_area"`
	HorizontalContentList []struct {
		Type    int    `json:"type"`
		KeyName string `json:"keyname"`
		Value   string `json:"value"`
		URL     string `json:"url"`
		MediaID string `json:"media_id"`
		UserID  string `json:"userid"`
	} `json:"horizontal_content_list"`
	JumpList []struct {
		cardLink
		Title string `json:"title"`
	} `json:"jump_list"`
	CardAction *cardLink `json:"card_action"`
	CardImage  *struct {
		URL string `json:"url"`
	} `json:"card_image"`
	ImageTextArea *struct {
		cardLink
		ImageURL string `json:"image_url"`
	} `json:"image_text_area"`
	VerticalContentList []struct {
		Title string `json:"title"`
	} `json:"vertical_content_list"`
	ButtonSelection *cardSelector  `json:"button_selection"`
	ButtonList      []cardButton   `json:"button_list"`
	Checkbox        *cardSelector  `json:"checkbox"`
	SelectList      []cardSelector `json:"select_list"`
	SubmitButton    *cardButton    `json:"submit_button"`
	ReplaceText     string         `json:"replace_text"`
}

type cardLink struct {
	Type     int    `json:"type"`
	URL      string `json:"url"`
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
}

type cardButton struct {
	Type  int    `json:"type"`
	Text  string `json:"text"`
	Style int    `json:"style"`
	Key   string `json:"key"`
	URL   string `json:"url"`
}

type cardSelector struct {
	QuestionKey string `json:"question_key"`
	Title       string `json:"title"`
	SelectedID  string `json:"selected_id"`
	OptionList  []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"option_list"`
}

// cardInfo is a card as a recipient's inbox shows it, with what Click
// needs.
type cardInfo struct {
	raw         json.RawMessage
	cardType    string
	replaceText string
	events      map[string]string // clickable key → the event a click pushes
}

// callback reports whether a card supports callbacks and updates, and so
// gets a response_code: "仅有 按钮交互型、投票选择型、多项选择型 以及填写了
// action_menu字段的文本通知型、图文展示型的卡片支持回调更新" (90236).
func (c *templateCard) callback() bool {
	switch c.CardType {
	case "button_interaction", "vote_interaction", "multiple_interaction":
		return true
	}
	return c.ActionMenu != nil
}

// info returns the cardInfo of a validated card.
func (c *templateCard) info(raw json.RawMessage) *cardInfo {
	ci := &cardInfo{raw: raw, cardType: c.CardType, replaceText: c.ReplaceText, events: map[string]string{}}
	if c.ActionMenu != nil {
		for _, a := range c.ActionMenu.ActionList {
			ci.events[a.Key] = "template_card_menu_event"
		}
	}
	switch c.CardType {
	case "button_interaction":
		for _, b := range c.ButtonList {
			if b.Type == 0 {
				ci.events[b.Key] = "template_card_event"
			}
		}
	case "vote_interaction", "multiple_interaction":
		if c.SubmitButton != nil {
			ci.events[c.SubmitButton.Key] = "template_card_event"
		}
	}
	return ci
}

// validCardTypes are the five template card types (90236); anything else
// is 42031 "Template_Card.CardType 字段不合法" (90313).
var validCardTypes = map[string]bool{
	"text_notice": true, "news_notice": true, "button_interaction": true,
	"vote_interaction": true, "multiple_interaction": true,
}

// validateCard checks a card against 90236 (send) or 94888 (update). The
// errcodes are 90313's Template_Card family where one fits; an array
// longer than allowed without a specific code is 40058 (90313 40058 help:
// "参数字段若是数组类型，若元素个数超出限制，也同样报错40058"). WeCom does
// not document which check runs first; the fake checks in field order.
func validateCard(c *templateCard, update bool) *apiError {
	if !validCardTypes[c.CardType] {
		return fail(42031, "card_type "+c.CardType)
	}
	needTask := !update && (c.ActionMenu != nil || c.CardType == "button_interaction" ||
		c.CardType == "vote_interaction" || c.CardType == "multiple_interaction")
	if needTask && c.TaskID == "" {
		return fail(42014, "task_id is required")
	}
	if c.TaskID != "" && !validTaskID(c.TaskID) {
		return fail(42014, "task_id must be [0-9A-Za-z_-@], at most 128 bytes")
	}
	if am := c.ActionMenu; am != nil {
		if len(am.ActionList) < 1 || len(am.ActionList) > 3 {
			return fail(40058, "action_menu.action_list must have 1..3 items")
		}
		seen := map[string]bool{}
		for _, a := range am.ActionList {
			if a.Text == "" || a.Key == "" || len(a.Key) > 1024 {
				return fail(40058, "action_menu.action_list needs text and a key of at most 1024 bytes")
			}
			if seen[a.Key] {
				return fail(42051, "")
			}
			seen[a.Key] = true
		}
	}
	title := c.MainTitle != nil && c.MainTitle.Title != ""
	switch {
	case c.CardType == "text_notice" && !title && c.SubTitleText == "":
		return fail(42033, "text_notice needs main_title.title or sub_title_text")
	case c.CardType != "text_notice" && !title:
		return fail(42033, "main_title.title is required")
	}
	if err := validateLink(c.QuoteArea, "quote_area"); err != nil {
		return err
	}
	if len(c.HorizontalContentList) > 6 {
		return fail(42035, "")
	}
	for _, h := range c.HorizontalContentList {
		switch {
		case h.KeyName == "":
			return fail(42027, "")
		case h.Type == 1 && h.URL == "":
			return fail(42028, "horizontal_content_list.url")
		case h.Type == 2 && h.MediaID == "":
			return fail(42029, "")
		case h.Type == 3 && h.UserID == "":
			return fail(42050, "")
		}
	}
	if len(c.JumpList) > 3 {
		return fail(42042, "")
	}
	for _, j := range c.JumpList {
		if j.Title == "" {
			return fail(42033, "jump_list.title")
		}
		if err := validateLink(&j.cardLink, "jump_list"); err != nil {
			return err
		}
	}
	notice := c.CardType == "text_notice" || c.CardType == "news_notice"
	switch {
	case notice && c.CardAction == nil:
		return fail(42045, c.CardType+" needs card_action")
	case notice && c.CardAction.Type != 1 && c.CardAction.Type != 2:
		return fail(42045, "card_action.type must be 1 or 2")
	}
	if err := validateLink(c.CardAction, "card_action"); err != nil {
		return err
	}
	switch c.CardType {
	case "news_notice":
		if c.CardImage == nil && c.ImageTextArea == nil {
			return fail(42044, "news_notice needs card_image or image_text_area")
		}
		if c.CardImage != nil && c.CardImage.URL == "" {
			return fail(42044, "")
		}
		if c.ImageTextArea != nil {
			if c.ImageTextArea.ImageURL == "" {
				return fail(42044, "image_text_area.image_url")
			}
			if err := validateLink(&c.ImageTextArea.cardLink, "image_text_area"); err != nil {
				return err
			}
		}
		if len(c.VerticalContentList) > 4 {
			return fail(42036, "")
		}
		for _, v := range c.VerticalContentList {
			if v.Title == "" {
				return fail(42033, "vertical_content_list.title")
			}
		}
	case "button_interaction":
		if c.ButtonSelection != nil {
			if err := validateSelector(c.ButtonSelection, 10); err != nil {
				return err
			}
		}
		if len(c.ButtonList) < 1 || len(c.ButtonList) > 6 {
			return fail(40058, "button_list must have 1..6 buttons")
		}
		seen := map[string]bool{}
		for _, b := range c.ButtonList {
			if b.Text == "" {
				return fail(42038, "")
			}
			switch b.Type {
			case 0:
				if b.Key == "" || len(b.Key) > 1024 || seen[b.Key] {
					return fail(42039, "button_list.key must be unique, 1..1024 bytes")
				}
				seen[b.Key] = true
			case 1:
				if b.URL == "" {
					return fail(42028, "button_list.url")
				}
			default:
				return fail(40058, "button_list.type must be 0 or 1")
			}
		}
	case "vote_interaction":
		if c.Checkbox == nil {
			return fail(42043, "vote_interaction needs checkbox")
		}
		if err := validateSelector(c.Checkbox, 20); err != nil {
			return err
		}
		if err := validateSubmit(c.SubmitButton, update); err != nil {
			return err
		}
	case "multiple_interaction":
		if len(c.SelectList) < 1 || len(c.SelectList) > 3 {
			return fail(42047, "")
		}
		seen := map[string]bool{}
		for i := range c.SelectList {
			if err := validateSelector(&c.SelectList[i], 10); err != nil {
				return err
			}
			if seen[c.SelectList[i].QuestionKey] {
				return fail(42043, "select_list.question_key must be unique")
			}
			seen[c.SelectList[i].QuestionKey] = true
		}
		if err := validateSubmit(c.SubmitButton, update); err != nil {
			return err
		}
	}
	return nil
}

func validateLink(l *cardLink, field string) *apiError {
	switch {
	case l == nil:
	case l.Type == 1 && l.URL == "":
		return fail(42028, field+".url")
	case l.Type == 2 && l.AppID == "":
		return fail(42030, field+".appid")
	case l.Type < 0 || l.Type > 2:
		return fail(40058, field+".type must be 0, 1 or 2")
	}
	return nil
}

func validateSelector(s *cardSelector, maxOptions int) *apiError {
	if s.QuestionKey == "" || len(s.QuestionKey) > 1024 {
		return fail(42043, "")
	}
	if len(s.OptionList) < 1 || len(s.OptionList) > maxOptions {
		return fail(42037, "")
	}
	seen := map[string]bool{}
	for _, o := range s.OptionList {
		if o.ID == "" || len(o.ID) > 128 || seen[o.ID] {
			return fail(42040, "")
		}
		seen[o.ID] = true
		if o.Text == "" {
			return fail(42041, "")
		}
	}
	return nil
}

// validateSubmit checks submit_button: required when sending (90236),
// optional in an update (94888).
func validateSubmit(b *cardButton, update bool) *apiError {
	switch {
	case b == nil && update:
		return nil
	case b == nil || b.Key == "" || len(b.Key) > 1024:
		return fail(42046, "")
	}
	return nil
}

// validTaskID: "只能由数字、字母和'_-@'组成，最长128字节" (90236).
func validTaskID(id string) bool {
	if len(id) > 128 {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-' || r == '@')
	})
}
