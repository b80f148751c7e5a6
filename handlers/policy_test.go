package handlers

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
)

func TestPolicyAPI(t *testing.T) {
	notice := policy.Notice{ID: "archive", Version: 2, Title: "会话存档告知", Template: "ack_card", Languages: []string{"zh-CN"},
		Audience: policy.Audience{Everyone: true}}
	e := newEnv(t, time.Now(), func(o *Options) { o.Notices = []policy.Notice{notice} })
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	for _, u := range []string{"alice", "bob", "=cmd"} {
		if _, err := e.store.CreateObligation(ctx, policy.Obligation{UserID: u, NoticeID: "archive", Version: 2, Status: policy.Pending,
			Reason: policy.ReasonPublished, CreatedAt: now, DueAt: now.AddDate(0, 0, 7)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "=cmd"} {
		if _, err := e.store.Attest(ctx, policy.Attestation{UserID: u, NoticeID: "archive", Version: 2, ContentHash: "h",
			Channel: policy.ChannelCard, CreateTime: now.Unix(), ReceivedAt: now, TaskID: "t", DedupKey: "d-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.PutConsent(ctx, policy.Consent{UserID: "bob", ExternalUserID: "wmX", Status: policy.ConsentDisagreed, Source: "check_single_agree"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/notices", 200, `"acknowledged":2`},
		{"/api/v1/notices", 200, `"audience":3`},
		{"/api/v1/obligations?notice=archive&status=pending", 200, `"user_id":"bob"`},
		{"/api/v1/obligations?status=done", 400, "status: must be one of"},
		{"/api/v1/obligations?status=done", 400, `"field":"status"`},
		{"/api/v1/obligations?version=0", 400, "version: must be a positive integer"},
		{"/api/v1/obligations?version=0", 400, `"field":"version"`},
		{"/api/v1/attestations?version=x", 400, `"field":"version"`},
		{"/api/v1/obligations?limit=0", 400, "limit: must be an integer"},
		{"/api/v1/obligations?cursor=garbage", 400, "cursor: not one this listing returned"},
		{"/api/v1/attestations?user=alice", 200, `"channel":"card"`},
		{"/api/v1/attestations?format=xml", 400, "format: must be json or csv"},
		{"/api/v1/people/bob", 200, `"external_user_id":"wmX"`},
		{"/api/v1/people/nobody", 404, "no person"},
		{"/api/v1/consents?status=disagreed", 200, `"user_id":"bob"`},
		{"/api/v1/consents?status=maybe", 400, "status: must be one of"},
		{"/api/v1/consents?status=maybe", 400, `"field":"status"`},
		{"/api/v1/audit/verify", 200, `"ok":true`},
		{"/api/v1/audit?after=x", 400, "after: must be a sequence number"},
		{"/api/v1/audit?after=1&cursor=YXVkaXQ6Mg", 400, "after: give after or cursor, not both"},
		{"/api/v1/audit?cursor=YXVkaXQ6eA", 400, `"field":"cursor"`}, // audit:x
		{"/api/v1/audit?cursor=aG9sZHM6MQ", 400, `"field":"cursor"`}, // holds:1, another listing's
		{"/api/v1/notices?limit=1001", 400, "limit: must be an integer from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := e.admin(tt.path)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %s, want %d …%s…", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
		})
	}

	// The engineer's CSV export: every attestation as stored, no BOM, and
	// a cell that would run as a spreadsheet formula is defused.
	rec := e.admin("/api/v1/attestations?format=csv&view=engineer")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", rec.Code, rec.Header())
	}
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "user_id" || rows[1][6] != "2026-11-23T02:00:00Z" || rows[1][5] != "1795399200" {
		t.Fatalf("csv rows %v", rows)
	}
	for _, r := range rows[1:] {
		if strings.HasPrefix(r[0], "=") {
			t.Errorf("formula cell exported as is: %q", r[0])
		}
	}
	if !strings.Contains(rec.Body.String(), "'=cmd") {
		t.Errorf("the formula-like user id is not defused:\n%s", rec.Body.String())
	}
}
