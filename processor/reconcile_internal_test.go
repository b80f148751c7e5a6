package processor

import (
	"context"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// TestContactChangeXML: the synthetic change_contact plaintexts decode as
// the callbacks they stand for, whatever the UserID holds.
func TestContactChangeXML(t *testing.T) {
	at := time.Unix(1795447320, 0)
	for _, tt := range []struct {
		change, userID string
		depts          []int64
		wantDept       []int
	}{
		{"create_user", "zhangsan", []int64{1, 3}, []int{1, 3}},
		{"create_user", "a&b<c>]]>d", []int64{2}, []int{2}},
		{"delete_user", "lisi", nil, nil},
	} {
		plain, err := contactChangeXML(tt.change, tt.userID, tt.depts, at)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := wecom.Decode(plain)
		if err != nil {
			t.Fatalf("%s: %v", plain, err)
		}
		u, ok := ev.(*wecom.UserChange)
		if !ok {
			t.Fatalf("%s decodes as %T", plain, ev)
		}
		if u.Kind() != "change_contact."+tt.change || u.UserID != tt.userID || u.CreateTime != at.Unix() || u.FromUserName != "sys" {
			t.Errorf("%s decodes as %+v", plain, u)
		}
		depts, err := u.Departments()
		if err != nil || len(depts) != len(tt.wantDept) || (len(depts) > 0 && depts[0] != tt.wantDept[0]) {
			t.Errorf("%s: departments %v (%v), want %v", plain, depts, err, tt.wantDept)
		}
	}
}

// TestPacer: the first call goes at once; each later one waits until
// every has passed since the one before, on the injected clock.
func TestPacer(t *testing.T) {
	now := time.Unix(0, 0)
	var slept []time.Duration
	pc := &pacer{now: func() time.Time { return now }, every: 30 * time.Millisecond,
		sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }}
	ctx := context.Background()
	var at []time.Time
	for i := range 4 {
		if i == 2 {
			now = now.Add(100 * time.Millisecond) // slow work in between: no wait needed
		}
		if err := pc.wait(ctx); err != nil {
			t.Fatal(err)
		}
		at = append(at, now)
		now = now.Add(10 * time.Millisecond) // the call itself
	}
	if len(slept) != 2 || slept[0] != 20*time.Millisecond || slept[1] != 20*time.Millisecond {
		t.Errorf("slept %v, want [20ms 20ms]", slept)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 30*time.Millisecond {
			t.Errorf("calls %d and %d %v apart", i-1, i, gap)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	pc.sleep = sleep
	if err := pc.wait(cancelled); err == nil {
		t.Error("wait on a cancelled context returned nil")
	}
}
