package sandbox

import (
	"slices"

	"github.com/wecomply/wecomply/templates"
)

// Field is one value a notice template uses, with its demo value.
type Field struct {
	Name  string
	Value string
}

// demoData holds, per template and language, the values the send form
// starts with, in the order the form shows them.
var demoData = map[string]map[string][]Field{
	"ack_card": {
		"zh-CN": {
			{"Company", "示例科技"}, {"Title", "会话存档告知"}, {"Version", "3"},
			{"Summary", "公司将存档您与客户的企业微信会话。请阅读全文后确认。"},
			{"Due", "2026-12-01"}, {"URL", "https://compliance.example.com/notices/archive/3"},
		},
		"en": {
			{"Company", "Example Tech"}, {"Title", "Chat archiving notice"}, {"Version", "3"},
			{"Summary", "The company archives your WeCom chats with customers. Please read the full text, then acknowledge."},
			{"Due", "2026-12-01"}, {"URL", "https://compliance.example.com/notices/archive/3"},
		},
	},
	"disclosure": {
		"zh-CN": {
			{"Company", "示例科技"}, {"Scope", "与外部联系人的单聊和群聊"}, {"Retention", "3 年"}, {"Officer", "合规部（王芳）"},
		},
		"en": {
			{"Company", "Example Tech"}, {"Scope", "one-to-one and group chats with external contacts"},
			{"Retention", "3 years"}, {"Officer", "Compliance (Wang Fang)"},
		},
	},
	"reminder": {
		"zh-CN": {{"Title", "会话存档告知"}, {"Version", "3"}, {"Due", "2026-12-01"}},
		"en":    {{"Title", "Chat archiving notice"}, {"Version", "3"}, {"Due", "2026-12-01"}},
	},
	"alert": {
		"zh-CN": {
			{"Message", "客户 张先生 不同意会话存档。"}, {"UserName", "孙磊"}, {"UserID", "sunlei"}, {"At", "2026-11-23 10:15"},
		},
		"en": {
			{"Message", "Customer Mr. Zhang does not agree to chat archiving."}, {"UserName", "Sun Lei"},
			{"UserID", "sunlei"}, {"At", "2026-11-23 10:15"},
		},
	},
}

// DemoData returns the demo values of template name in lang (zh-CN for a
// language without its own), nil for a template without demo values. The
// slice is the caller's.
func DemoData(name, lang string) []Field {
	byLang := demoData[name]
	fields, ok := byLang[lang]
	if !ok {
		fields = byLang["zh-CN"]
	}
	return slices.Clone(fields)
}

// Sendable returns the templates the send form offers: every template of
// the catalog that makes an app message (a welcome message goes to a
// customer and needs a welcome code, so it is not one of them) and is not
// one of wecomply's own replies.
func Sendable() []templates.Template {
	var out []templates.Template
	for _, t := range templates.Catalog {
		if t.Kind != templates.KindWelcome && !t.Reply {
			out = append(out, t)
		}
	}
	return out
}
