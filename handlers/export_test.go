package handlers

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
)

// departmentsFunc is a hand-written DepartmentNamer.
type departmentsFunc func(context.Context) (map[int64]string, error)

func (f departmentsFunc) DepartmentNames(ctx context.Context) (map[int64]string, error) {
	return f(ctx)
}

// readCSV checks the export's answer and reads it back as a program
// would, after the BOM if bom.
func readCSV(t *testing.T, code int, header http.Header, body string, bom bool) [][]string {
	t.Helper()
	if code != http.StatusOK || header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: %d %s %s", code, header, body)
	}
	rest, hasBOM := strings.CutPrefix(body, "\uFEFF")
	if hasBOM != bom {
		t.Errorf("BOM = %v, want %v", hasBOM, bom)
	}
	rows, err := csv.NewReader(strings.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return rows
}

// TestOfficerCSV: the officer exports (the default view) of
// attestations and obligations carry the BOM Excel needs, names and
// department names (zh-CN intact), the notice's title and times in the
// configured zone, named in the header; the engineer's view stays as it
// was; a department without a name shows its id, and department names
// that cannot be had leave ids, not a failed export.
func TestOfficerCSV(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC) // 11:29:54 in Shanghai, 04:29:54 in Berlin
	notice := policy.Notice{ID: "archive", Version: 2, Title: "会话存档告知", Template: "ack_card"}
	names := departmentsFunc(func(context.Context) (map[int64]string, error) {
		return map[int64]string{2: "技术部", 3: "合规部"}, nil
	})
	noNames := departmentsFunc(func(context.Context) (map[int64]string, error) { return nil, errors.New("wecom: unavailable") })

	for _, tt := range []struct {
		name   string
		loc    *time.Location
		depts  DepartmentNamer
		target string
		want   [][]string
	}{
		{"attestations, Shanghai", shanghai, names, "/api/v1/attestations?format=csv", [][]string{
			{"name", "user_id", "departments", "notice_title", "notice_id", "version", "channel", "acknowledged_at (Asia/Shanghai)", "content_hash"},
			{"王芳", "wangfang", "技术部; 合规部", "会话存档告知", "archive", "2", "card", "2026-12-05 11:29:54", "c0ffee"},
			{"", "zhaolei", "", "会话存档告知", "archive", "2", "reply", "2026-12-05 11:29:55", "c0ffee"},
		}},
		{"attestations, Berlin, in Chinese", berlin, names, "/api/v1/attestations?format=csv&view=officer&lang=zh-CN", [][]string{
			{"姓名", "账号", "部门", "告知标题", "告知编号", "版本", "确认方式", "确认时间 (Europe/Berlin)", "内容哈希"},
			{"王芳", "wangfang", "技术部; 合规部", "会话存档告知", "archive", "2", "卡片按钮", "2026-12-05 04:29:54", "c0ffee"},
			{"", "zhaolei", "", "会话存档告知", "archive", "2", "回复确认", "2026-12-05 04:29:55", "c0ffee"},
		}},
		{"attestations, no zone configured, no department names", nil, noNames, "/api/v1/attestations?format=csv&user=wangfang", [][]string{
			{"name", "user_id", "departments", "notice_title", "notice_id", "version", "channel", "acknowledged_at (Asia/Shanghai)", "content_hash"},
			{"王芳", "wangfang", "2; 3", "会话存档告知", "archive", "2", "card", "2026-12-05 11:29:54", "c0ffee"},
		}},
		{"obligations", shanghai, names, "/api/v1/obligations?format=csv", [][]string{
			{"name", "user_id", "departments", "notice_title", "notice_id", "version", "status",
				"created_at (Asia/Shanghai)", "due_at (Asia/Shanghai)", "acknowledged_at (Asia/Shanghai)", "reminders"},
			{"王芳", "wangfang", "技术部; 合规部", "会话存档告知", "archive", "2", "acknowledged", "2026-12-03 11:29:54", "2026-12-10 11:29:54", "2026-12-05 11:29:54", "0"},
			{"张伟", "zhangwei", "9", "会话存档告知", "archive", "2", "pending", "2026-12-03 11:29:54", "2026-12-10 11:29:54", "", "1"},
		}},
		{"obligations, in Chinese, pending only", shanghai, names, "/api/v1/obligations?format=csv&lang=zh-CN&status=pending", [][]string{
			{"姓名", "账号", "部门", "告知标题", "告知编号", "版本", "状态",
				"发出时间 (Asia/Shanghai)", "截止时间 (Asia/Shanghai)", "确认时间 (Asia/Shanghai)", "提醒次数"},
			{"张伟", "zhangwei", "9", "会话存档告知", "archive", "2", "待确认", "2026-12-03 11:29:54", "2026-12-10 11:29:54", "", "1"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, now, func(o *Options) {
				o.Notices, o.Location, o.Departments = []policy.Notice{notice}, tt.loc, tt.depts
			})
			seedOfficer(t, e, notice, now)
			rec := e.admin(tt.target)
			if got := readCSV(t, rec.Code, rec.Header(), rec.Body.String(), true); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("rows\n%q\nwant\n%q", got, tt.want)
			}
		})
	}

	e := newEnv(t, now, func(o *Options) { o.Notices, o.Location, o.Departments = []policy.Notice{notice}, shanghai, names })
	seedOfficer(t, e, notice, now)
	t.Run("the engineer's attestations export is as it was", func(t *testing.T) {
		rec := e.admin("/api/v1/attestations?format=csv&view=engineer")
		want := [][]string{
			{"user_id", "notice_id", "version", "content_hash", "channel", "create_time", "received_at", "task_id", "dedup_key"},
			{"wangfang", "archive", "2", "c0ffee", "card", "1796441394", "2026-12-05T03:29:54Z", "t1", "d-wangfang"},
			{"zhaolei", "archive", "2", "c0ffee", "reply", "1796441395", "2026-12-05T03:29:55Z", "", "d-zhaolei"},
		}
		if got := readCSV(t, rec.Code, rec.Header(), rec.Body.String(), false); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("rows\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("the engineer's obligations export", func(t *testing.T) {
		rec := e.admin("/api/v1/obligations?format=csv&view=engineer&user=zhangwei")
		got := readCSV(t, rec.Code, rec.Header(), rec.Body.String(), false)
		if len(got) != 2 || got[0][0] != "user_id" || got[1][0] != "zhangwei" || got[1][6] != "2026-12-10T03:29:54Z" {
			t.Errorf("rows %q", got)
		}
	})
	for _, tt := range []struct{ target, field string }{
		{"/api/v1/attestations?format=csv&view=auditor", "view"},
		{"/api/v1/obligations?format=csv&lang=fr", "lang"},
		{"/api/v1/obligations?format=xlsx", "format"},
	} {
		t.Run(tt.target, func(t *testing.T) {
			rec := e.admin(tt.target)
			if rec.Code != http.StatusBadRequest || decodeField(t, rec.Body.Bytes()) != tt.field {
				t.Errorf("got %d %s, want 400 naming %s", rec.Code, rec.Body.String(), tt.field)
			}
		})
	}
}

// seedOfficer stores two people (one unknown to the store: zhaolei),
// their obligations and attestations.
func seedOfficer(t *testing.T, e *env, n policy.Notice, now time.Time) {
	t.Helper()
	ctx := t.Context()
	for _, p := range []policy.Person{
		{UserID: "wangfang", Name: "王芳", Departments: []int64{2, 3}, Active: true},
		{UserID: "zhangwei", Name: "张伟", Departments: []int64{9}, Active: true},
	} {
		if err := e.store.PutPerson(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"wangfang", "zhangwei"} {
		if _, err := e.store.CreateObligation(ctx, policy.Obligation{UserID: u, NoticeID: n.ID, Version: n.Version, Status: policy.Pending,
			Reason: policy.ReasonPublished, CreatedAt: now.Add(-48 * time.Hour), DueAt: now.Add(120 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.UpdateObligation(ctx, "zhangwei", n.ID, n.Version, func(o policy.Obligation) (policy.Obligation, error) {
		o.Reminders = 1
		return o, nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, a := range []policy.Attestation{
		{UserID: "wangfang", Channel: policy.ChannelCard, TaskID: "t1"},
		{UserID: "zhaolei", Channel: policy.ChannelReply},
	} {
		at := now.Add(time.Duration(i) * time.Second)
		a.NoticeID, a.Version, a.ContentHash, a.CreateTime, a.ReceivedAt, a.DedupKey = n.ID, n.Version, "c0ffee", at.Unix(), at, "d-"+a.UserID
		if _, err := e.store.Attest(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}
