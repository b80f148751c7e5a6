package sandbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// DemoNoticeID is the id of the demo company's notice, the one
// `wecomply sandbox` publishes at start-up.
const DemoNoticeID = "archive"

// Policy is the demo company's compliance policy, as `wecomply sandbox`
// configures it ([policy] and one [[notices]]).
type Policy struct {
	Company string
	// Officers are the compliance officers, alerted when a customer
	// declines archiving.
	Officers []string
	// ConsentPolicy is what an employee must do when a customer declines,
	// and ConsentPolicyURL the full text.
	ConsentPolicy    string
	ConsentPolicyURL string
	// The notice: its title, summary and full text at version Version;
	// everyone in the archive permit list or in the Departments (with their
	// sub-departments) owes it within DueDays.
	NoticeID    string
	Version     int
	Title       string
	Summary     string
	URL         string
	DueDays     int
	PermitList  bool
	Departments []int64
	// Disclosure is the demo company's [disclosure]: who handles the
	// data, how to reach them, why, for how long, and where to exercise
	// one's rights.
	Disclosure templates.Disclosure
}

// demoPolicyTexts are the policy's texts per language.
var demoPolicyTexts = map[string]struct{ title, summary, consent, contact, purpose, retention string }{
	"zh-CN": {
		title:     "会话存档告知",
		summary:   "公司将存档您与客户的企业微信会话，用于合规管理与服务质量。请阅读全文后确认。",
		consent:   "客户不同意存档时，请勿在企业微信中讨论交易细节，改用可存档的渠道。",
		contact:   "合规部 王芳 compliance@example.com",
		purpose:   "合规管理、服务质量与纠纷处理",
		retention: "自会话结束起 3 年，法律法规另有规定的从其规定",
	},
	"en": {
		title:     "Chat archiving notice",
		summary:   "The company archives your WeCom chats with customers, for compliance and service quality. Please read the full text, then acknowledge.",
		consent:   "When a customer declines archiving, do not discuss deal details in WeCom; use a channel that is archived.",
		contact:   "Compliance, Wang Fang, compliance@example.com",
		purpose:   "compliance, service quality and dispute resolution",
		retention: "3 years from the end of the chat, unless the law requires longer",
	},
}

// DemoPolicy returns o's compliance policy with its notice at version
// (1 or more) and its texts in lang (zh-CN for a language without its
// own): the notice is owed by the archive permit list and by 销售部 with
// its teams, the officers are o's.
func (o Org) DemoPolicy(lang string, version int) Policy {
	t, ok := demoPolicyTexts[lang]
	if !ok {
		t = demoPolicyTexts["zh-CN"]
	}
	p := Policy{
		Company: o.CorpName, Officers: slices.Clone(o.Officers),
		ConsentPolicy: t.consent, ConsentPolicyURL: "https://compliance.example.com/policy/archive",
		NoticeID: DemoNoticeID, Version: version, Title: t.title, Summary: t.summary,
		URL:     fmt.Sprintf("https://compliance.example.com/notices/%s/%d", DemoNoticeID, version),
		DueDays: 7, PermitList: true,
		Disclosure: templates.Disclosure{Controller: o.CorpName, Contact: t.contact, Purpose: t.purpose, Retention: t.retention,
			RightsURL: "https://compliance.example.com/privacy/rights"},
	}
	if _, ok := o.Department(salesDept); ok {
		p.Departments = []int64{salesDept}
	}
	return p
}

// Audience returns the UserIDs of the people who owe p's notice, in the
// order of o.People.
func (o Org) Audience(p Policy) []string {
	var out []string
	for _, u := range o.People {
		in := p.PermitList && slices.ContainsFunc(o.Permit, func(id string) bool { return strings.EqualFold(id, u.UserID) })
		for _, d := range p.Departments {
			in = in || slices.ContainsFunc(u.Department, func(ud int64) bool { return ud == d || o.Within(ud, d) })
		}
		if in {
			out = append(out, u.UserID)
		}
	}
	return out
}

// DescribeAudience says who owes p's notice, e.g. "the archive permit
// list + 示例科技 / 销售部".
func (o Org) DescribeAudience(p Policy) string {
	return o.describeAudience(false, p.PermitList, p.Departments, nil, nil)
}

// describeAudience names the parts of an audience.
func (o Org) describeAudience(everyone, permit bool, depts, tags []int64, users []string) string {
	var parts []string
	if everyone {
		parts = append(parts, "everyone")
	}
	if permit {
		parts = append(parts, "the archive permit list")
	}
	for _, id := range depts {
		if _, ok := o.Department(id); ok {
			parts = append(parts, o.Path(id))
		} else {
			parts = append(parts, "department "+strconv.FormatInt(id, 10))
		}
	}
	for _, id := range tags {
		parts = append(parts, "tag "+strconv.FormatInt(id, 10))
	}
	for _, u := range users {
		if p, ok := o.Person(u); ok {
			parts = append(parts, p.Name+" ("+u+")")
		} else {
			parts = append(parts, u)
		}
	}
	return strings.Join(parts, " + ")
}
