package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// nextLink is the page's "next page" link, "" on the last page.
func nextLink(body string) string {
	m := regexp.MustCompile(`id="next" href="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestListsPage: following "next" walks every matching row once, the
// filter kept on every page; the audit log pages newest first.
func TestListsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clk.Now()
	const n = 120
	for i := range n {
		o := obligation(fmt.Sprintf("u%03d", i), now)
		if i%2 == 1 {
			o.Status = policy.Overdue
		}
		if _, err := e.st.CreateObligation(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, err := e.st.AppendAudit(ctx, store.AuditEntry{ID: fmt.Sprintf("t%d", i), At: now, Kind: "test.entry", Subject: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b, _, _ := e.signIn("lisi", "oauth")

	t.Run("obligations, overdue only", func(t *testing.T) {
		seen := map[string]bool{}
		re := regexp.MustCompile(`<td><a href="/console/people/(u\d+)">`)
		path, pages := "/console/obligations?status=overdue", 0
		for path != "" {
			_, body := e.get(b, path)
			pages++
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				if seen[m[1]] {
					t.Errorf("%s shown twice", m[1])
				}
				seen[m[1]] = true
				if i, _ := strconv.Atoi(m[1][1:]); i%2 == 0 {
					t.Errorf("%s is pending, shown under overdue", m[1])
				}
			}
			path = nextLink(body)
		}
		if len(seen) != n/2 || pages != 2 {
			t.Errorf("%d rows over %d pages, want %d over 2", len(seen), pages, n/2)
		}
	})
	t.Run("audit log, newest first", func(t *testing.T) {
		re := regexp.MustCompile(`<td>test.entry</td><td>(\d+)</td>`)
		var got []int
		path := "/console/audit?kind=test."
		for path != "" {
			_, body := e.get(b, path)
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				i, _ := strconv.Atoi(m[1])
				got = append(got, i)
			}
			path = nextLink(body)
		}
		if len(got) != n {
			t.Fatalf("%d entries, want %d", len(got), n)
		}
		for i, v := range got {
			if v != n-1-i {
				t.Fatalf("entry %d is subject %d, want %d (newest first)", i, v, n-1-i)
			}
		}
	})
}

// TestLastAuditSeq finds the head of logs of many lengths.
func TestLastAuditSeq(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	for i := 1; i <= 70; i++ {
		if _, err := e.st.AppendAudit(ctx, store.AuditEntry{ID: strconv.Itoa(i), At: e.clk.Now(), Kind: "k"}); err != nil {
			t.Fatal(err)
		}
		if got, err := lastAuditSeq(r, e.st); err != nil || got != uint64(i) {
			t.Fatalf("after %d appends: %d, %v", i, got, err)
		}
	}
}

// TestAuditExport: officers get the filtered log as CSV for Excel: a
// BOM, times in the console's zone saying so, and UTC beside them.
func TestAuditExport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC)
	for i, kind := range []string{"hold.create", "decision", "hold.release"} {
		if _, err := e.st.AppendAudit(ctx, store.AuditEntry{ID: strconv.Itoa(i), At: at, Kind: kind, Subject: "zhangsan"}); err != nil {
			t.Fatal(err)
		}
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	resp, body := e.get(b, "/console/audit/export?kind=hold.")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeff") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][1] != "time (Asia/Shanghai)" || rows[1][1] != "2026-12-05 11:29:54 +08:00" || rows[1][2] != "2026-12-05T03:29:54Z" ||
		rows[1][3] != "hold.create" || rows[2][3] != "hold.release" {
		t.Errorf("rows = %q", rows)
	}
	if !strings.Contains(auditKinds(t, e), AuditView) {
		t.Error("the export is not audited")
	}
}

// TestEvidenceDownload: officers download a pack through the evidence
// maker, named for its subject; with no maker there is no button and no
// pack.
func TestEvidenceDownload(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Evidence = stubEvidence{} })
	if _, err := e.st.CreateObligation(context.Background(), obligation("zhangsan", e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	for _, tt := range []struct{ path, body, file string }{
		{"/console/evidence/person/zhangsan", "PK person zhangsan by wangfang", "evidence-person-zhangsan.zip"},
		{"/console/evidence/notice/archive/2", "PK notice archive:v2 by wangfang", "evidence-notice-archive-v2.zip"},
	} {
		resp, body := e.get(b, tt.path)
		if resp.StatusCode != http.StatusOK || body != tt.body || !strings.Contains(resp.Header.Get("Content-Disposition"), tt.file) {
			t.Errorf("GET %s: %d %q %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
		}
	}
	if _, body := e.get(b, "/console/people/zhangsan"); !strings.Contains(body, `id="evidence-person"`) {
		t.Error("an officer sees no evidence download on a person's page")
	}

	off := newEnv(t)
	b, _, _ = off.signIn("wangfang", "oauth")
	if resp, _ := off.get(b, "/console/evidence/person/zhangsan"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("evidence without a maker: %d, want 404", resp.StatusCode)
	}
	if _, body := off.get(b, "/console/notices/archive/2"); strings.Contains(body, "evidence-notice") {
		t.Error("a download button without an evidence maker")
	}
}

// TestNoticeTextsByHash: the notice page shows the exact text each
// person was sent, found by the content hash of their delivery.
func TestNoticeTextsByHash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clk.Now()
	o := obligation("zhangsan", now)
	if _, err := e.st.CreateObligation(ctx, o); err != nil {
		t.Fatal(err)
	}
	sent, err := e.con.o.Render(e.notes[1], "zh-CN", o.DueAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutSendResults(ctx, []store.RecipientResult{
		{NoticeKey: "archive:v2", UserID: "zhangsan", ContentHash: sent.Hash(), Status: store.StatusSent, At: now},
		{NoticeKey: "archive:v2", UserID: "lisi", ContentHash: "not-a-rendering", Status: store.StatusSent, At: now},
	}); err != nil {
		t.Fatal(err)
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	_, body := e.get(b, "/console/notices/archive/2")
	body = html.UnescapeString(body)
	want := "zh-CN · 截止 2026-12-12 · <span class=\"hash\">" + sent.Hash() + "</span> · 使用此哈希的送达 1"
	if !strings.Contains(body, want) || !strings.Contains(body, "请于 2026-12-12 前阅读并确认") {
		t.Errorf("notice page lacks the sent text %q:\n%s", want, body)
	}
	if !strings.Contains(body, "配置已更改？）: 1") {
		t.Error("the delivery whose hash matches no rendering is not counted")
	}
}

// TestDeadLetterRetry: an officer queues a dead letter again from its
// page; the retry is audited with who asked.
func TestDeadLetterRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.st.Enqueue(ctx, store.Event{DedupKey: "d1", Kind: "text", Receiver: "/wecom/callback", ReceivedAt: e.clk.Now(), Payload: []byte("<xml/>")}); err != nil {
		t.Fatal(err)
	}
	ds, err := e.st.Claim(ctx, "test", 1, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v, %v", ds, err)
	}
	if dead, err := e.st.Fail(ctx, ds[0].Receipt, "boom", 0); err != nil || !dead {
		t.Fatalf("fail: dead %v, %v", dead, err)
	}
	b, _, _ := e.signIn("wangfang", "oauth")
	_, body := e.get(b, "/console/deadletters")
	if !strings.Contains(body, ds[0].ID) || !strings.Contains(body, "boom") {
		t.Fatalf("dead letters page lacks %s:\n%s", ds[0].ID, body)
	}
	resp, err := noFollow(b).PostForm(e.srv.URL+"/console/deadletters/"+ds[0].ID+"/retry", map[string][]string{"csrf": {e.csrf(b)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry: %d", resp.StatusCode)
	}
	if dl, _, _ := e.st.ListDeadLetters(ctx, store.Page{}); len(dl) != 0 {
		t.Errorf("dead letters after retry: %v", dl)
	}
	es, _ := e.st.ListAudit(ctx, 0, 1000)
	found := false
	for _, x := range es {
		if x.Kind == "dead_letter.retry" && strings.Contains(string(x.Data), `"actor":"wangfang"`) && strings.Contains(string(x.Data), `"via":"console"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no dead_letter.retry entry by wangfang via console in %s", auditKinds(t, e))
	}
}

// TestSignOut ends the session on the server: the old cookie no longer
// opens anything, and the sign-out is audited.
func TestSignOut(t *testing.T) {
	e := newEnv(t)
	b, _, _ := e.signIn("wangfang", "oauth")
	c := noFollow(b)
	u, _ := url.Parse(e.srv.URL + "/console/")
	old := b.Jar.Cookies(u)
	resp, err := c.PostForm(e.srv.URL+"/console/signout", url.Values{"csrf": {e.csrf(b)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
		t.Fatalf("sign out: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	replay := noFollow(e.browser())
	replay.Jar.SetCookies(u, old)
	if resp, _ := e.get(replay, "/console/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the signed-out session's cookie still opens the console: %d", resp.StatusCode)
	}
	if !strings.Contains(auditKinds(t, e), "console.signout") {
		t.Error("the sign-out is not audited")
	}
}

// TestPlaceHoldFields: a bad field sends the officer back to the form
// naming it; days sets when the hold ends.
func TestPlaceHoldFields(t *testing.T) {
	tests := []struct {
		name      string
		form      url.Values
		wantField string // "" for a hold placed
		wantEnds  time.Duration
	}{
		{"until released", url.Values{"subject": {"zhangsan"}, "reason": {"案件 1"}}, "", 0},
		{"thirty days", url.Values{"subject": {"zhangsan"}, "reason": {"案件 1"}, "days": {"30"}}, "", 30 * 24 * time.Hour},
		{"days not a number", url.Values{"subject": {"zhangsan"}, "reason": {"案件 1"}, "days": {"abc"}}, "days", 0},
		{"no reason", url.Values{"subject": {"zhangsan"}}, "reason", 0},
		{"no subject", url.Values{"reason": {"案件 1"}}, "subject", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b, _, _ := e.signIn("wangfang", "oauth")
			tt.form.Set("csrf", e.csrf(b))
			resp, err := noFollow(b).PostForm(e.srv.URL+"/console/holds", tt.form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			hs, _ := e.st.ListHolds(context.Background())
			if tt.wantField != "" {
				if loc == nil || loc.Query().Get("field") != tt.wantField || len(hs) != 0 {
					t.Errorf("→ %q, holds %v; want back to the form naming %s", resp.Header.Get("Location"), hs, tt.wantField)
				}
				return
			}
			if len(hs) != 1 {
				t.Fatalf("holds = %v (→ %q)", hs, resp.Header.Get("Location"))
			}
			if got := hs[0].ExpiresAt; (tt.wantEnds == 0) != got.IsZero() || (tt.wantEnds != 0 && got.Sub(e.clk.Now()) != tt.wantEnds) {
				t.Errorf("expires at %v, want %v after now", got, tt.wantEnds)
			}
		})
	}
}

// TestSignInReturnsToThePageAsked: a page opened without a session is
// where the member lands after signing in through the sign-in page's
// link.
func TestSignInReturnsToThePageAsked(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.CreateObligation(context.Background(), obligation("zhangsan", e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	resp, body := e.get(b, "/console/people/zhangsan")
	if resp.Request.URL.Path != "/console/signin" {
		t.Fatalf("without a session: at %s", resp.Request.URL)
	}
	m := regexp.MustCompile(`id="signin-web" href="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no Web login link:\n%s", body)
	}
	resp, _ = e.get(b, html.UnescapeString(m[1]))
	resp, err := b.PostForm(resp.Request.URL.String(), url.Values{"userid": {"wangfang"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/console/people/zhangsan" || resp.StatusCode != http.StatusOK {
		t.Errorf("after signing in: %d at %s, want the person's page", resp.StatusCode, resp.Request.URL)
	}
}
