package notify

import (
	"fmt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
)

// AckKey is the default key of a card's acknowledgement button: the
// EventKey of the template_card_event a click sends. Notice.ButtonKey
// sets another (policy names the notice version in it).
const AckKey = "ack"

// ReviewKey is the EventKey of a review card's button: the notice's
// button key, ":", the decision (store.AlertConfirmed or
// store.AlertFalsePositive, what the processor parses back).
func ReviewKey(buttonKey string, decision store.AlertState) string {
	return buttonKey + ":" + string(decision)
}

// message turns a rendered template into the WeCom app message, without
// recipients (and, for a card, without the task_id, which each send gets
// its own of). buttonKey is the key of a button card's button.
func message(r templates.Rendered, buttonKey string) (wecom.Message, error) {
	p := r.Parts
	switch r.Kind {
	case templates.KindText:
		return wecom.Message{MsgType: wecom.MsgText, Text: &wecom.Text{Content: p["content"]}}, nil
	case templates.KindMarkdown:
		return wecom.Message{MsgType: wecom.MsgMarkdown, Markdown: &wecom.Markdown{Content: p["content"]}}, nil
	case templates.KindButtonCard:
		card := &wecom.TemplateCard{
			CardType:     wecom.CardButtonInteraction,
			Source:       &wecom.CardSource{Desc: p["source"], DescColor: 1},
			MainTitle:    &wecom.CardMainTitle{Title: p["title"], Desc: p["desc"]},
			SubTitleText: p["body"],
			ButtonList:   []wecom.CardButton{{Text: p["button"], Style: 1, Key: buttonKey}},
		}
		if url := p["url"]; url != "" {
			card.CardAction = &wecom.CardAction{Type: 1, URL: url}
		}
		fields, err := templates.Fields(p["fields"])
		if err != nil {
			return wecom.Message{}, fmt.Errorf("template %s: %w", r.Name, err)
		}
		for _, f := range fields {
			h := wecom.CardHorizontalContent{KeyName: f.Key, Value: f.Value}
			if f.URL != "" {
				h.Type, h.URL = 1, f.URL
			}
			card.HorizontalContentList = append(card.HorizontalContentList, h)
		}
		return wecom.Message{MsgType: wecom.MsgTemplateCard, TemplateCard: card}, nil
	case templates.KindReviewCard:
		// Two buttons: the click's EventKey is buttonKey and the decision
		// (ReviewKey).
		card := &wecom.TemplateCard{
			CardType:     wecom.CardButtonInteraction,
			Source:       &wecom.CardSource{Desc: p["source"], DescColor: 2},
			MainTitle:    &wecom.CardMainTitle{Title: p["title"], Desc: p["desc"]},
			SubTitleText: p["body"],
			ButtonList: []wecom.CardButton{
				{Text: p["confirm"], Style: 4, Key: ReviewKey(buttonKey, store.AlertConfirmed)},
				{Text: p["dismiss"], Style: 1, Key: ReviewKey(buttonKey, store.AlertFalsePositive)},
			},
		}
		if url := p["url"]; url != "" {
			card.CardAction = &wecom.CardAction{Type: 1, URL: url}
		}
		return wecom.Message{MsgType: wecom.MsgTemplateCard, TemplateCard: card}, nil
	case templates.KindNoticeCard:
		return wecom.Message{MsgType: wecom.MsgTemplateCard, TemplateCard: &wecom.TemplateCard{
			CardType:     wecom.CardTextNotice,
			Source:       &wecom.CardSource{Desc: p["source"], DescColor: 2},
			MainTitle:    &wecom.CardMainTitle{Title: p["title"], Desc: p["desc"]},
			SubTitleText: p["body"],
			CardAction:   &wecom.CardAction{Type: 1, URL: p["url"]},
		}}, nil
	default:
		return wecom.Message{}, fmt.Errorf("template %s makes a %s, which is not an app message", r.Name, r.Kind)
	}
}
