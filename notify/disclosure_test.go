package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

var testDisclosure = &templates.Disclosure{Controller: "示例科技有限公司", Contact: "合规部 privacy@example.com",
	Purpose: "业务留痕与纠纷处理", Retention: "3 年", RightsURL: "https://www.example.com/privacy/rights"}

// TestDisclosureReachesTheTexts: with [disclosure] configured, a notice
// card carries it as its key-value lines (the rights as a link) and a
// customer's welcome message says it, without the caller passing it;
// without it, neither shows any of it.
func TestDisclosureReachesTheTexts(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *templates.Disclosure
	}{
		{"configured", testDisclosure},
		{"not configured", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 1, func(c *Config, _ *wecomtest.ServerConfig) { c.Disclosure = tc.d })
			r.run()
			ctx := context.Background()
			if _, err := r.n.Submit(ctx, ackCard("archive:v3", r.users)); err != nil {
				t.Fatal(err)
			}
			var card *wecomtest.InboxMessage
			r.eventually("the card", func() bool {
				for _, m := range r.fake.Inbox(r.users[0]) {
					if isCard(m) {
						card = &m
					}
				}
				return card != nil
			})
			var got wecom.TemplateCard
			if err := json.Unmarshal(card.Card, &got); err != nil {
				t.Fatal(err)
			}
			h := got.HorizontalContentList
			switch {
			case tc.d == nil && len(h) != 0:
				t.Errorf("fields without [disclosure]: %+v", h)
			case tc.d != nil && (len(h) != 5 || h[0].KeyName != "处理者" || h[0].Value != tc.d.Controller ||
				h[4].Type != 1 || h[4].URL != tc.d.RightsURL):
				t.Errorf("fields %+v", h)
			}

			r.fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmCustomer", Name: "张先生", Type: 1},
				wecomtest.FollowUser{UserID: r.users[0], CreateTime: r.clock.Now().Unix()})
			code := r.fake.IssueWelcomeCode(r.users[0], "wmCustomer")
			if _, err := r.n.SendWelcome(ctx, Welcome{UserID: r.users[0], ExternalUserID: "wmCustomer", Code: code,
				Template: "welcome", Lang: "zh-CN", Data: map[string]any{"EmployeeName": "李雷", "Company": "示例科技"},
				Deadline: r.clock.Now().Add(20 * time.Second)}); err != nil {
				t.Fatal(err)
			}
			in := r.fake.Inbox("wmCustomer")
			if len(in) != 1 {
				t.Fatalf("the customer got %d messages", len(in))
			}
			says := strings.Contains(string(in[0].Message), "个人信息处理者：示例科技有限公司") &&
				strings.Contains(string(in[0].Message), "https://www.example.com/privacy/rights")
			if says != (tc.d != nil) {
				t.Errorf("welcome message %s", in[0].Message)
			}
		})
	}
}
