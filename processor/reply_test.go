package processor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/notify"
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

// TestRepliesGreyEveryCardOfAPublish: two people of one publish both
// reply 确认 and both cards turn 「已确认 …」, each through its own send's
// response_code: cards go out one a send ([notify] card_batch = 1, the
// default), because WeCom gives one single-use code per send and a reply
// brings none. card_batch = 1000 keeps one send for both, whose one code
// greys out the first replier's card only (the trade-off the option
// documents). On both stores.
func TestRepliesGreyEveryCardOfAPublish(t *testing.T) {
	people := []string{"lisi", "zhangsan"}
	for _, backend := range backends {
		for _, tc := range []struct {
			cardBatch int // 0: notify's default
			sends     int // message/send calls of the publish (to the officer too)
			codes     int // distinct response codes of the two cards
			greyed    []bool
		}{
			{cardBatch: 0, sends: 3, codes: 2, greyed: []bool{true, true}},
			{cardBatch: 1000, sends: 1, codes: 1, greyed: []bool{true, false}},
		} {
			t.Run(fmt.Sprintf("%s/card_batch=%d", backend, tc.cardBatch), func(t *testing.T) {
				ctx := context.Background()
				start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
				settings := testSettings()
				settings.AckWords = []string{"确认", "ack"}
				e := newEnvConfig(t, backend, envConfig{Notices: testNotices[:1], Settings: &settings, Start: start,
					Notify: notify.Config{CardBatch: tc.cardBatch}})
				e.fake.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
				e.fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{1}})
				if err := e.proc.Publish(ctx); err != nil {
					t.Fatal(err)
				}
				e.drain(t)
				if n := e.fake.CountRequests("message/send"); n != tc.sends {
					t.Errorf("the publish made %d message/send calls, want %d", n, tc.sends)
				}
				codes := map[string]bool{}
				for _, u := range people {
					r, err := e.st.SendResult(ctx, "conduct:v1", u)
					if err != nil || r.ResponseCode == "" {
						t.Fatalf("%s's card: %+v, %v", u, r, err)
					}
					codes[r.ResponseCode] = true
				}
				if len(codes) != tc.codes {
					t.Errorf("%d distinct response codes for the two cards, want %d", len(codes), tc.codes)
				}

				for i, u := range people {
					e.clock.Advance(time.Hour)
					if _, err := e.st.Enqueue(ctx, wecomEvent(t, wecomtest.EventSpec{Kind: "text", UserID: u, Content: "确认",
						MsgID: fmt.Sprintf("700000000000000010%d", i)}, e.clock.Now())); err != nil {
						t.Fatal(err)
					}
					e.drain(t)
				}

				updated := 0
				for _, r := range e.fake.Requests() {
					if r.Path == "message/update_template_card" && r.Errcode == 0 && r.Status == 200 {
						updated++
					}
				}
				want := 0
				for i, u := range people {
					if o := e.obligation(t, u, "conduct"); o.Status != policy.Acknowledged {
						t.Errorf("%s's obligation %s, want acknowledged", u, o.Status)
					}
					var card *wecomtest.InboxMessage
					for _, m := range e.fake.Inbox(u) {
						if m.MsgType == "template_card" {
							card = &m
						}
					}
					if card == nil {
						t.Fatalf("%s's card is gone", u)
					}
					if got := strings.HasPrefix(card.ReplaceName, "已确认 "); got != tc.greyed[i] {
						t.Errorf("%s's card after the reply says %q; greyed out %v, want %v", u, card.ReplaceName, got, tc.greyed[i])
					}
					if tc.greyed[i] {
						want++
					}
				}
				if updated != want {
					t.Errorf("%d successful update_template_card calls, want %d", updated, want)
				}
			})
		}
	}
}

// TestReplyAfterAReminderGreysTheReminder: a person reminded two days
// after the first card (whose single-use code expires after 72 h) replies
// 确认: the reply is attested with the reminder card's text and greys out
// the reminder card, the one they were shown last, through its own code.
// On both stores.
func TestReplyAfterAReminderGreysTheReminder(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // a Tuesday; the settings' zone is UTC
			settings := testSettings()
			settings.AckWords = []string{"确认", "ack"}
			e := newEnvConfig(t, backend, envConfig{Notices: []policy.Notice{conductNotice}, Settings: &settings, Start: start})
			e.fake.AddUser(wecomtest.User{UserID: "zhangsan", Name: "张三", Department: []int64{1}})
			if err := e.proc.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			e.drain(t)
			first, err := e.st.SendResult(ctx, "conduct:v1", "zhangsan")
			if err != nil || first.ResponseCode == "" {
				t.Fatalf("zhangsan's card: %+v, %v", first, err)
			}

			e.clock.Advance(48 * time.Hour) // Thursday 10:00: remind_every_days = 2
			counts, err := e.proc.Remind(ctx, e.clock.Now())
			if err != nil || counts["reminded"] == 0 {
				t.Fatalf("reminder run: %v, %v; want zhangsan reminded", counts, err)
			}
			e.drain(t)
			reminder, err := e.st.SendResult(ctx, policy.RemindKey(conductNotice, "2026-11-26"), "zhangsan")
			if err != nil || reminder.ResponseCode == "" || reminder.ResponseCode == first.ResponseCode {
				t.Fatalf("zhangsan's reminder card: %+v, %v; want one with its own code", reminder, err)
			}

			e.clock.Advance(time.Hour)
			if _, err := e.st.Enqueue(ctx, wecomEvent(t, wecomtest.EventSpec{Kind: "text", UserID: "zhangsan", Content: "确认"}, e.clock.Now())); err != nil {
				t.Fatal(err)
			}
			e.drain(t)

			a, err := e.st.GetAttestation(ctx, "zhangsan", "conduct", 1)
			if err != nil || a.ContentHash != reminder.ContentHash {
				t.Fatalf("attestation %+v (%v); want the reminder card's hash %s", a, err, reminder.ContentHash)
			}
			var cards []wecomtest.InboxMessage
			for _, m := range e.fake.Inbox("zhangsan") {
				if m.MsgType == "template_card" {
					cards = append(cards, m)
				}
			}
			if len(cards) != 2 || !strings.HasPrefix(cards[1].ReplaceName, "已确认") {
				t.Errorf("zhangsan's cards %+v: want two, the reminder greyed out", cards)
			}
		})
	}
}
