package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// archiveFunc is a hand-written ArchiveReader: the archive's own
// behaviour is tested in archive and the root's end-to-end tests; here
// only the JSON the handlers make of its answers matters.
type archiveFunc struct {
	status  archive.Status
	results []archive.Result
}

func (a archiveFunc) Status(context.Context) (archive.Status, error) { return a.status, nil }

func (a archiveFunc) Search(context.Context, string, archive.SearchQuery) ([]archive.Result, string, error) {
	return a.results, "", nil
}

func (a archiveFunc) Media(_ context.Context, _, _, _ string, w io.Writer) error {
	_, err := w.Write([]byte("\x89PNG"))
	return err
}

// fixtureNotice is the notice of the populated env.
var fixtureNotice = policy.Notice{ID: "archive", Version: 2, Title: "会话存档告知", Template: "ack_card",
	Languages: []string{"zh-CN", "en"}, DueDays: 7, ReattestDays: 365,
	Audience: policy.Audience{Everyone: true, Departments: []int64{2}, Tags: []int64{1}, Users: []string{"wangfang"}, PermitList: true}}

// populated is an env whose store holds one or more of everything the
// admin API lists, with every optional part (jobs, sends, archive) on.
type populated struct {
	*env
	deadLetters []string // ids of dead letters
	alert       string   // id of an open alert, on the archive's message m1
}

func newPopulated(t *testing.T) *populated {
	t.Helper()
	now := time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC)
	msgTime := now.Add(-time.Hour)
	e := newEnv(t, now, func(o *Options) {
		o.Notices = []policy.Notice{fixtureNotice}
		o.Jobs = jobsFunc(func() []JobInfo {
			return []JobInfo{{Name: "digest", Spec: "0 9 * * 1", Next: now.Add(time.Hour)}, {Name: "idle", Off: true}}
		})
		o.AlertContext = AlertContext{Before: 1, After: 1}
		o.Notify = submitFunc(func(_ context.Context, n notify.Notice) (notify.Submitted, error) {
			return notify.Submitted{ContentHash: "c0ffee", Recipients: len(n.To)}, nil
		})
		o.Archive = archiveFunc{
			status: archive.Status{Stats: archive.Stats{Cursor: 9, Messages: 1, NewestMsgTime: msgTime, LastCommit: now},
				LastPull: now, Since: now.Add(-24 * time.Hour), LastError: "x",
				GapList: []archive.Gap{{After: 3, Before: 5, Detected: now}}},
			results: []archive.Result{{
				Message: archive.Message{MsgID: "m1", Seq: 9, PublicKeyVer: 1, Action: "send", Type: "text", From: "zhangsan",
					ToList: []string{"wmX"}, RoomID: "r1", Time: msgTime, Conversation: "room:r1", External: true,
					Consent: "agreed:msg_audit_approved", PreMsgID: "m0", KeyDay: "2026-12-05", KeyID: "k1"},
				Content: json.RawMessage(`{"msgid":"m1","action":"send","from":"zhangsan","tolist":["wmX"],"roomid":"r1","msgtime":1764900594000,"msgtype":"text","text":{"content":"你好"}}`),
				Text:    "你好", Unreadable: "x",
			}},
		}
	})
	ctx := t.Context()
	st := e.store

	// The event log: one entry of every kind the fake WeCom builds, with
	// the fields the decoder gives it.
	for i, kind := range wecomtest.Kinds() {
		plain := build(t, wecomtest.EventSpec{Kind: kind, CorpID: k1CorpID, CreateTime: now.Unix()})
		ev, err := wecom.Decode(plain)
		if err != nil {
			t.Fatalf("decode %s: %v", kind, err)
		}
		if err := st.AppendEventLog(ctx, store.LogEntry{Kind: ev.Kind(), DedupKey: "ev-" + kind, CreateTime: now.Unix(),
			ReceivedAt: now.Add(time.Duration(i) * time.Millisecond), Receiver: path, Fields: ev.Fields()}); err != nil {
			t.Fatal(err)
		}
	}

	people := []policy.Person{
		{UserID: "wangfang", Name: "王芳", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Tags: []int64{1},
			InPermitList: true, Active: true, DirectLeaders: []string{"lilei"}, Language: "zh-CN"},
		{UserID: "zhangwei", Name: "张伟", Departments: []int64{3}, DepartmentPath: []int64{1, 3}, Active: true},
	}
	for _, p := range people {
		if err := st.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateObligation(ctx, policy.Obligation{UserID: p.UserID, NoticeID: fixtureNotice.ID, Version: fixtureNotice.Version,
			Status: policy.Pending, Reason: policy.ReasonPublished, CreatedAt: now.Add(-48 * time.Hour), DueAt: now.Add(120 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutConsent(ctx, policy.Consent{UserID: p.UserID, ExternalUserID: "wm-" + p.UserID, Status: policy.ConsentAgreed,
			Source: "msg_audit_approved", ChangedAt: now, AddedAt: now, CheckedAt: now, NotifiedAt: now, DeletedAt: now, DeleteReason: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Attest(ctx, policy.Attestation{UserID: "wangfang", NoticeID: fixtureNotice.ID, Version: fixtureNotice.Version,
		ContentHash: "c0ffee", Channel: policy.ChannelCard, CreateTime: now.Unix(), ReceivedAt: now, TaskID: "t1", DedupKey: "d1", Round: 1}); err != nil {
		t.Fatal(err)
	}
	// An audit entry as the processor writes them: its data is the
	// action as policy has it.
	data, err := json.Marshal(map[string]any{"event": "text", "action": "send_card", "reason": "published", "count": 1,
		"detail": policy.SendCard{Notice: fixtureNotice, UserIDs: []string{"wangfang"}, Lang: "zh-CN"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(ctx, store.AuditEntry{ID: "a1", At: now, Kind: "decision", Subject: "wangfang", Data: data}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutHold(ctx, store.Hold{ID: "case-1", Subject: "zhangwei", Reason: "case 2026-17", CreatedBy: "legal",
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	run, _, err := st.StartJobRun(ctx, "digest", now.Add(-time.Hour), "replica-1", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	run.Outcome, run.FinishedAt, run.Counts, run.Error = store.RunFailed, now, map[string]int{"recipients": 2, "overdue": 1}, "x"
	if err := st.FinishJobRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSendResults(ctx, []store.RecipientResult{{NoticeKey: "k:v1", UserID: "wangfang", UnitID: "u1", ContentHash: "c0ffee",
		Status: store.StatusFailed, MsgID: "m", ResponseCode: "r", Error: "x", At: now}}); err != nil {
		t.Fatal(err)
	}
	// An open alert on m1, the message the archive holds: its span is
	// 你好, its context the archive's answers.
	al := store.Alert{ID: store.AlertID("m1", "greeting", "v1"), RuleID: "greeting", RuleVersion: "v1", Kind: "regex",
		Detector: "x", Severity: "high", Action: "alert", MsgID: "m1", ConversationID: "room:r1", Sender: "zhangsan",
		MsgTime: msgTime, Start: 0, End: len("你好"), State: store.AlertOpen, RaisedAt: now}
	if _, err := store.RaiseAudited(ctx, st, []store.Alert{al}); err != nil {
		t.Fatal(err)
	}
	p := &populated{env: e, alert: al.ID}
	for _, k := range []string{"dead-1", "dead-2", "dead-3"} {
		p.deadLetters = append(p.deadLetters, e.kill(k))
	}
	return p
}

// apiCall is one request to the admin API: of the route (method and
// Gin's path pattern) it exercises.
type apiCall struct {
	method, route, target, body string
}

// calls are requests that succeed against the populated env, in an order
// that works (a hold is created before it is released, each dead letter
// is retried or dropped once). Every route of /api/v1 has one.
func (p *populated) calls() []apiCall {
	dl := p.deadLetters
	return []apiCall{
		{"GET", "/api/v1/events", "/api/v1/events", ""},
		{"GET", "/api/v1/notices", "/api/v1/notices", ""},
		{"GET", "/api/v1/obligations", "/api/v1/obligations", ""},
		{"GET", "/api/v1/attestations", "/api/v1/attestations", ""},
		{"GET", "/api/v1/people/:userid", "/api/v1/people/wangfang", ""},
		{"GET", "/api/v1/consents", "/api/v1/consents", ""},
		{"GET", "/api/v1/audit", "/api/v1/audit", ""},
		{"GET", "/api/v1/audit/verify", "/api/v1/audit/verify", ""},
		{"GET", "/api/v1/jobs", "/api/v1/jobs", ""},
		{"GET", "/api/v1/holds", "/api/v1/holds", ""},
		{"POST", "/api/v1/holds", "/api/v1/holds", `{"id":"case-2","subject":"wangfang","reason":"case 2026-18","created_by":"legal","expires_at":"2027-06-30T00:00:00+08:00"}`},
		{"DELETE", "/api/v1/holds/:id", "/api/v1/holds/case-2", ""},
		{"GET", "/api/v1/archive/status", "/api/v1/archive/status", ""},
		{"GET", "/api/v1/archive/messages", "/api/v1/archive/messages", ""},
		{"GET", "/api/v1/archive/conversations/:id", "/api/v1/archive/conversations/room:r1", ""},
		{"GET", "/api/v1/archive/media", "/api/v1/archive/media?msgid=m1&sdkfileid=f1", ""},
		{"GET", "/api/v1/dead-letters", "/api/v1/dead-letters", ""},
		{"GET", "/api/v1/dead-letters/:id", "/api/v1/dead-letters/" + dl[0], ""},
		{"POST", "/api/v1/dead-letters/:id/retry", "/api/v1/dead-letters/" + dl[1] + "/retry", ""},
		{"DELETE", "/api/v1/dead-letters/:id", "/api/v1/dead-letters/" + dl[2], ""},
		{"POST", "/api/v1/sends", "/api/v1/sends", `{"key":"k:v2","template":"reminder","lang":"zh-CN","to":["wangfang"]}`},
		{"GET", "/api/v1/sends/:key", "/api/v1/sends/k:v1", ""},
		{"GET", "/api/v1/alerts", "/api/v1/alerts", ""},
		{"GET", "/api/v1/alerts/:id", "/api/v1/alerts/" + p.alert, ""},
		{"POST", "/api/v1/alerts/:id/decision", "/api/v1/alerts/" + p.alert + "/decision", `{"decision":"false_positive","note":"问候语"}`},
		{"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", ""},
	}
}

// fixtureActor is who every call of the populated env says asks
// (ActorHeader): a decision needs one, the other routes take it.
const fixtureActor = "王芳"

// do makes call as an admin, in fixtureActor's name.
func (p *populated) do(call apiCall) *httptest.ResponseRecorder {
	p.t.Helper()
	req := httptest.NewRequest(call.method, call.target, strings.NewReader(call.body))
	req.Header.Set("Authorization", "Bearer "+adminTok)
	req.Header.Set(ActorHeader, fixtureActor)
	return p.env.do(req)
}

// apiRoutes are the engine's routes under /api/v1, as "METHOD pattern".
func (e *env) apiRoutes() []string {
	var out []string
	for _, r := range e.engine.(*gin.Engine).Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// isJSON reports whether rec's answer is JSON.
func isJSON(rec *httptest.ResponseRecorder) bool {
	return strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json")
}
