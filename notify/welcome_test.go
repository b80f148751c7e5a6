package notify

import (
	"context"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestSendWelcomeBeforeItsDeadline: a welcome's deadline is a time on the
// notifier's clock, however far that clock is from the wall clock: a
// welcome whose 20 s are not over goes out, one whose deadline has
// passed does not.
func TestSendWelcomeBeforeItsDeadline(t *testing.T) {
	tests := []struct {
		name string
		skew time.Duration // of the clock from the wall clock
		left time.Duration // until the deadline, on the clock
		want store.DeliveryStatus
		got  int // welcome messages the customer gets
	}{
		{"clock on time, 20 s left", 0, 20 * time.Second, store.StatusSent, 1},
		{"clock a day behind, 20 s left", -24 * time.Hour, 20 * time.Second, store.StatusSent, 1},
		{"clock a day ahead, 20 s left", 24 * time.Hour, 20 * time.Second, store.StatusSent, 1},
		{"clock a day ahead, deadline passed", 24 * time.Hour, -time.Second, store.StatusFailed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 1)
			r.clock.Advance(tt.skew)
			r.fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: "wmCustomer", Name: "张先生", Type: 1},
				wecomtest.FollowUser{UserID: r.users[0], CreateTime: r.clock.Now().Unix()})
			code := r.fake.IssueWelcomeCode(r.users[0], "wmCustomer")
			res, err := r.n.SendWelcome(context.Background(), Welcome{UserID: r.users[0], ExternalUserID: "wmCustomer", Code: code,
				Template: "welcome", Lang: "zh-CN", Data: map[string]any{"EmployeeName": "李雷", "Company": "示例科技"},
				Deadline: r.clock.Now().Add(tt.left)})
			if err != nil || res.Status != tt.want {
				t.Fatalf("SendWelcome = %+v, %v; want %s", res, err, tt.want)
			}
			if got := len(r.fake.Inbox("wmCustomer")); got != tt.got {
				t.Errorf("the customer got %d welcome messages, want %d", got, tt.got)
			}
		})
	}
}
