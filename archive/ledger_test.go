package archive_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/wecom"
)

// StoreLedger over the real main store and archive: the permit list,
// and of a stored consent and a stream record the later one.
func TestStoreLedger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l := &archive.StoreLedger{Main: e.main, Archive: e.store}
	e.permit("zhangsan")
	if ok, err := l.Permitted(ctx, "zhangsan"); !ok || err != nil {
		t.Errorf("Permitted(zhangsan) = %v, %v", ok, err)
	}
	if ok, err := l.Permitted(ctx, "nobody"); ok || err != nil {
		t.Errorf("Permitted(nobody) = %v, %v", ok, err)
	}

	// wmA agreed (main store, at start−1h) and later disagreed in the
	// stream (at start); wmB disagreed in the stream long ago and agreed
	// in the main store since.
	e.consent("zhangsan", "wmA", policy.ConsentAgreed, "msg_audit_approved")
	if err := e.main.PutConsent(ctx, policy.Consent{UserID: "zhangsan", ExternalUserID: "wmB", Status: policy.ConsentAgreed,
		Source: "check_single_agree", ChangedAt: start.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	stream := func(id, typ, ext, room string, at time.Time) {
		m := map[string]any{"msgid": id, "action": "send", "from": ext, "tolist": []string{"zhangsan"}, "roomid": room,
			"msgtime": at.UnixMilli(), "msgtype": typ, typ: map[string]any{"userid": ext, typ + "_time": at.UnixMilli()}}
		e.add(m)
	}
	stream("s1_external", "disagree", "wmA", "", start)
	stream("s2_external", "disagree", "wmB", "", start.Add(-time.Hour))
	stream("s3_external", "agree", "wmC", "wrR", start)
	e.pullAll()

	for _, c := range []struct {
		user, ext, room string
		want            string
	}{
		{"zhangsan", "wmA", "", "disagreed:stream"},
		{"zhangsan", "wmB", "", "agreed:check_single_agree"},
		{"zhangsan", "wmZ", "", "unknown"},
		{"lisi", "wmA", "", "unknown"}, // the stream record names zhangsan's chat only
		{"", "wmC", "wrR", "agreed:stream"},
		{"", "wmC", "wrOTHER", "unknown"},
	} {
		var a archive.ConsentAnswer
		var err error
		if c.room != "" {
			a, err = l.RoomConsent(ctx, c.room, c.ext)
		} else {
			a, err = l.Consent(ctx, c.user, c.ext)
		}
		if err != nil || a.String() != c.want {
			t.Errorf("%s/%s/%s: %s, %v; want %s", c.user, c.ext, c.room, a, err, c.want)
		}
	}
}

func TestPermitListCachesAndFailsClosed(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	calls := 0
	var fail error
	list := []string{"zhangsan"}
	p := &archive.PermitList{TTL: time.Minute, Clock: func() time.Time { return now },
		Fetch: func(context.Context) ([]string, error) {
			calls++
			return list, fail
		}}
	for _, tc := range []struct {
		user string
		want bool
	}{{"zhangsan", true}, {"wangwu", false}} {
		got, err := p.Has(ctx, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("Has(%s) = %v, %v; want %v", tc.user, got, err, tc.want)
		}
	}
	if calls != 1 {
		t.Errorf("fetched %d times within the TTL, want 1", calls)
	}
	list = []string{"zhangsan", "wangwu"}
	now = now.Add(time.Minute)
	if got, err := p.Has(ctx, "wangwu"); err != nil || !got {
		t.Errorf("after the TTL: Has(wangwu) = %v, %v; want true (fetched again)", got, err)
	}
	fail = errors.New("48002 api forbidden")
	now = now.Add(time.Minute)
	if got, err := p.Has(ctx, "zhangsan"); err == nil || got {
		t.Errorf("a failed fetch gave %v, %v; want an error, never a guess", got, err)
	}
	l := &archive.StoreLedger{Permits: p}
	fail = nil
	if got, err := l.Permitted(ctx, "wangwu"); err != nil || !got {
		t.Errorf("StoreLedger with Permits: Permitted(wangwu) = %v, %v", got, err)
	}
}

// A group's answers from check_room_agree count beside the stream's: the
// later wins; a room WeCom refuses (an errcode) is no answer, a failed
// call an error.
func TestRoomAgreements(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	calls := 0
	var fail error
	rooms := &archive.RoomAgreements{TTL: time.Minute, Clock: func() time.Time { return start },
		Fetch: func(_ context.Context, room string) ([]wecom.AgreeInfo, error) {
			calls++
			if fail != nil {
				return nil, fail
			}
			if room != "wrR" {
				return nil, &wecom.APIError{Op: "msgaudit/check_room_agree", Code: 301052, Msg: "会话存档已过期"}
			}
			return []wecom.AgreeInfo{
				{ExternalOpenID: "wmAgreed", Status: wecom.AgreeStatusAgree, ChangedAt: start.Add(-time.Hour)},
				{ExternalOpenID: "wmLater", Status: wecom.AgreeStatusAgree, ChangedAt: start.Add(-2 * time.Hour)},
			}, nil
		}}
	l := &archive.StoreLedger{Main: e.main, Archive: e.store, Rooms: rooms}
	// wmLater disagreed in the group's stream after agreeing to WeCom.
	e.add(map[string]any{"msgid": "d1_external", "action": "send", "from": "wmLater", "tolist": []string{"zhangsan"}, "roomid": "wrR",
		"msgtime": start.Add(-time.Hour).UnixMilli(), "msgtype": "disagree", "disagree": map[string]any{"userid": "wmLater", "disagree_time": start.Add(-time.Hour).UnixMilli()}})
	e.pullAll()
	for _, c := range []struct{ room, ext, want string }{
		{"wrR", "wmAgreed", "agreed:check_room_agree"},
		{"wrR", "wmLater", "disagreed:stream"},
		{"wrR", "wmNobody", "unknown"},
		{"wrGone", "wmAgreed", "unknown"},
	} {
		a, err := l.RoomConsent(ctx, c.room, c.ext)
		if err != nil || a.String() != c.want {
			t.Errorf("%s/%s: %s, %v; want %s", c.room, c.ext, a, err, c.want)
		}
	}
	if calls != 2 {
		t.Errorf("check_room_agree called %d times, want once per room within the TTL (2)", calls)
	}
	fail = errors.New("connection refused")
	if _, err := l.RoomConsent(ctx, "wrNew", "wmAgreed"); err == nil {
		t.Errorf("a failed check_room_agree gave no error: the page would be stored on a guess")
	}
}
