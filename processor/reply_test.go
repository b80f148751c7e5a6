package processor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestReplyAcknowledgesTheCardShown: an acknowledgement by reply is
// evidence like a click's: its attestation carries the content hash of
// the card the member was sent, and the card's button greys out
// ("已确认 …") through update_template_card with the send's response
// code, as after a click. A reply from someone whose card was never sent
// still acknowledges, with no hash to claim and no card to update. On
// both stores.
func TestReplyAcknowledgesTheCardShown(t *testing.T) {
	for _, backend := range backends {
		for _, tc := range []struct {
			name     string
			cardSent bool
		}{
			{"card sent", true},
			{"card never sent", false},
		} {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
				settings := testSettings()
				settings.AckWords = []string{"确认", "ack"}
				e := newEnvConfig(t, backend, envConfig{Notices: testNotices[:1], Settings: &settings, Start: start})
				e.fake.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
				if tc.cardSent {
					if err := e.proc.Publish(ctx); err != nil {
						t.Fatal(err)
					}
				} else {
					if _, err := e.st.CreateObligation(ctx, policy.Obligation{UserID: "zhangsan", NoticeID: "conduct", Version: 1,
						Status: policy.Pending, Reason: policy.ReasonNewMember, CreatedAt: start, DueAt: start.AddDate(0, 0, 7)}); err != nil {
						t.Fatal(err)
					}
				}
				e.drain(t)
				var want store.RecipientResult
				if tc.cardSent {
					r, err := e.st.SendResult(ctx, "conduct:v1", "zhangsan")
					if err != nil || r.ContentHash == "" || r.ResponseCode == "" {
						t.Fatalf("zhangsan's card: %+v, %v", r, err)
					}
					want = r
				}

				e.clock.Advance(time.Hour)
				if _, err := e.st.Enqueue(ctx, wecomEvent(t, wecomtest.EventSpec{Kind: "text", UserID: "zhangsan", Content: "确认。"}, e.clock.Now())); err != nil {
					t.Fatal(err)
				}
				e.drain(t)

				a, err := e.st.GetAttestation(ctx, "zhangsan", "conduct", 1)
				if err != nil {
					t.Fatal(err)
				}
				if a.Channel != policy.ChannelReply || a.ContentHash != want.ContentHash {
					t.Errorf("attestation channel %s, content hash %q; want reply, %q", a.Channel, a.ContentHash, want.ContentHash)
				}
				var card *wecomtest.InboxMessage
				for _, m := range e.fake.Inbox("zhangsan") {
					if m.MsgType == "template_card" {
						card = &m
					}
				}
				switch {
				case !tc.cardSent && card != nil:
					t.Errorf("a card nobody sent: %s", card.MsgID)
				case tc.cardSent && card == nil:
					t.Error("zhangsan's card is gone")
				case tc.cardSent && card.ReplaceName != "已确认 2026-11-24 11:00":
					t.Errorf("zhangsan's card after the reply says %q; want its button greyed out, 已确认 2026-11-24 11:00", card.ReplaceName)
				}
				if o := e.obligation(t, "zhangsan", "conduct"); o.Status != policy.Acknowledged {
					t.Errorf("obligation %s, want acknowledged", o.Status)
				}
				confirmed := false
				for _, m := range e.fake.Inbox("zhangsan") {
					confirmed = confirmed || (m.MsgType == "text" && strings.Contains(m.Content, "已确认"))
				}
				if !confirmed {
					t.Error("no confirmation text for the reply")
				}
			})
		}
	}
}
