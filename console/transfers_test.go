package console

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
)

// withTransfers gives the console a real evidence Maker over its store.
func withTransfers(t *testing.T) func(*Options) {
	return withMaker(t, bytes.Repeat([]byte{9}, 32))
}

// withMaker gives the console a real evidence Maker over its store, with
// pseudonymKey (nil: exports are off, as the wiring's are without one).
func withMaker(t *testing.T, pseudonymKey []byte) func(*Options) {
	return func(o *Options) {
		t.Helper()
		tmpl, err := templates.Load()
		if err != nil {
			t.Fatal(err)
		}
		m, err := evidence.New(evidence.Config{Store: o.Store.(evidence.Store), Templates: tmpl, Notices: o.Notices, Company: "示例科技",
			Location: o.Location, SigningKey: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)),
			PseudonymKey: pseudonymKey, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		o.Transfers = m
	}
}

// transferForm is a complete export form with the session's token.
func transferValues(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "destination": {"Head office compliance, Frankfurt, DE"}, "purpose": {"quarterly group compliance report"},
		"legal_basis": {"PIPL Art. 38(1)(3) standard contract"}, "approver": {"陈静"}, "notice": {"archive:2"}}
}

func postForm(t *testing.T, b *http.Client, u string, v url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := noFollow(b).PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// seedRecords gives the export something to carry: obligations of two
// members and an acknowledgement.
func seedRecords(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []string{"zhangsan", "lisi"} {
		if _, err := e.st.CreateObligation(ctx, obligation(u, e.clk.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.Attest(ctx, policy.Attestation{UserID: "zhangsan", NoticeID: "archive", Version: 2, ContentHash: "h", Channel: policy.ChannelCard,
		ReceivedAt: e.clk.Now(), DedupKey: "k"}); err != nil {
		t.Fatal(err)
	}
}

// TestTransferExport: an officer's export downloads as JSON with
// pseudonyms and no raw user id, is recorded in the register with its
// SHA-256 first, and is then listed with who, why, where and when in the
// console's zone.
func TestTransferExport(t *testing.T) {
	e := newEnv(t, withTransfers(t))
	seedRecords(t, e)
	b, _, _ := e.signIn("wangfang", "oauth")
	if _, body := e.get(b, "/console/transfers"); !strings.Contains(body, `id="transfer-form"`) || !strings.Contains(body, "尚无跨境传输记录") {
		t.Fatalf("the empty register lacks the form or its empty line:\n%s", body)
	}
	resp, body := postForm(t, b, e.srv.URL+"/console/transfers", transferValues(e.csrf(b)))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="transfer-20261205-112954-`) {
		t.Fatalf("export: %d %q %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), body)
	}
	var x struct {
		Format      string
		Obligations []struct{ User string }
	}
	if err := json.Unmarshal(body, &x); err != nil || x.Format != evidence.TransferFormat || len(x.Obligations) != 2 {
		t.Fatalf("export = %+v, %v\n%s", x, err, body)
	}
	for _, o := range x.Obligations {
		if !strings.HasPrefix(o.User, "u_") {
			t.Errorf("obligation's user %q is not a pseudonym", o.User)
		}
	}
	for _, raw := range []string{"zhangsan", "lisi", "wangfang", "张三", "李四"} {
		if bytes.Contains(body, []byte(raw)) {
			t.Errorf("the export contains %q", raw)
		}
	}
	sum := sha256.Sum256(body)

	_, page := e.get(b, "/console/transfers")
	page = html.UnescapeString(page)
	for _, want := range []string{`data-sha256="` + hex.EncodeToString(sum[:]) + `"`, "Head office compliance, Frankfurt, DE", "quarterly group compliance report",
		"PIPL Art. 38(1)(3) standard contract", "<td>陈静</td><td>wangfang</td>", "archive:v2", "<b>3</b>", "2026-12-05 11:29 +08:00"} {
		if !strings.Contains(page, want) {
			t.Errorf("the register lacks %q", want)
		}
	}
	kinds := auditKinds(t, e)
	if !strings.Contains(kinds, evidence.KindTransfer) {
		t.Errorf("no %s entry in %s", evidence.KindTransfer, kinds)
	}
	es, err := e.st.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	viewed := false
	for _, x := range es {
		var v viewAudit
		if x.Kind == AuditView && json.Unmarshal(x.Data, &v) == nil && v.Page == "transfers" && v.Actor == "wangfang" {
			viewed = true
		}
	}
	if !viewed {
		t.Error("the register's page view is not audited")
	}
}

// TestTransferFormErrors: each missing or bad field is named next to
// the field in the page's language, and nothing is exported or
// recorded.
func TestTransferFormErrors(t *testing.T) {
	tests := []struct {
		name, field, value, lang, want string
	}{
		{"no destination", "destination", "", "zh-CN", "必填"},
		{"blank purpose", "purpose", "   ", "zh-CN", "必填"},
		{"no legal basis, English", "legal_basis", "", "en", "Required: the transfer register records it."},
		{"no approver, English", "approver", "", "en", "Required"},
		{"approver too long", "approver", strings.Repeat("审", 501), "zh-CN", "不能超过 500 个字符"},
		{"unknown notice", "notice", "archive:9", "en", "Not a configured notice version."},
		{"message window without the archive", "from", "2026-12-01", "en", "The session archive is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withTransfers(t))
			b, _, _ := e.signIn("wangfang", "oauth")
			e.get(b, "/console/lang?to="+tt.lang)
			v := transferValues(e.csrf(b))
			v.Set(tt.field, tt.value)
			resp, body := postForm(t, b, e.srv.URL+"/console/transfers", v)
			page := html.UnescapeString(string(body))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="err-`+tt.field+`"`) || !strings.Contains(page, tt.want) {
				t.Errorf("POST with %s=%q: %d, want 400 naming the field with %q\n%s", tt.field, tt.value, resp.StatusCode, tt.want, page)
			}
			if tt.field != "destination" && !strings.Contains(page, `value="Head office compliance, Frankfurt, DE"`) {
				t.Error("the form does not keep what was typed")
			}
			if kinds := auditKinds(t, e); strings.Contains(kinds, evidence.KindTransfer) {
				t.Errorf("a refused form recorded a transfer: %s", kinds)
			}
		})
	}
}

// TestTransferRequestWindow: the message window is two days in the
// console's zone, the last one included.
func TestTransferRequestWindow(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	s := &Server{o: Options{Location: sh, Archive: archiveUnused{}}}
	tests := []struct {
		name, from, to string
		problem        string // the field with a problem, "" for none
		wantFrom       time.Time
		wantTo         time.Time
	}{
		{"none", "", "", "", time.Time{}, time.Time{}},
		{"one day", "2026-12-01", "2026-12-01", "", time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)},
		{"a week", "2026-12-01", "2026-12-07", "", time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)},
		{"no last day", "2026-12-01", "", "to", time.Time{}, time.Time{}},
		{"no first day", "", "2026-12-01", "from", time.Time{}, time.Time{}},
		{"not a date", "12/01/2026", "2026-12-07", "from", time.Time{}, time.Time{}},
		{"backwards", "2026-12-07", "2026-12-01", "to", time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, problems := s.transferRequest(transferForm{Destination: "d", Purpose: "p", LegalBasis: "l", Approver: "a", From: tt.from, To: tt.to})
			if tt.problem != "" {
				if problems[tt.problem] == "" || len(problems) != 1 {
					t.Errorf("problems = %v, want one with %s", problems, tt.problem)
				}
				return
			}
			if len(problems) != 0 || !req.MessagesFrom.Equal(tt.wantFrom) || !req.MessagesTo.Equal(tt.wantTo) {
				t.Errorf("window = [%s, %s), problems %v; want [%s, %s)", req.MessagesFrom.UTC(), req.MessagesTo.UTC(), problems, tt.wantFrom, tt.wantTo)
			}
		})
	}
}

// archiveUnused stands for a configured archive where none is read.
type archiveUnused struct{ Archive }

// TestTransferViewer: a viewer reads the register but gets no form, and
// a viewer's POST (with the token) or anyone's POST without the token is
// refused without recording anything.
func TestTransferViewer(t *testing.T) {
	e := newEnv(t, withTransfers(t))
	seedRecords(t, e)
	b, _, _ := e.signIn("lisi", "oauth")
	resp, body := e.get(b, "/console/transfers")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "transfer-form") || !strings.Contains(body, `id="transfer-readonly"`) || !strings.Contains(body, `id="transfers"`) {
		t.Errorf("viewer's register: %d\n%s", resp.StatusCode, body)
	}
	officer, _, _ := e.signIn("wangfang", "oauth")
	for _, tt := range []struct {
		name string
		b    *http.Client
		csrf string
	}{
		{"viewer with the token", b, e.csrf(b)},
		{"officer without the token", officer, ""},
	} {
		resp, _ := postForm(t, tt.b, e.srv.URL+"/console/transfers", transferValues(tt.csrf))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: POST %d, want 403", tt.name, resp.StatusCode)
		}
	}
	if kinds := auditKinds(t, e); strings.Contains(kinds, evidence.KindTransfer) {
		t.Errorf("a refused POST recorded a transfer: %s", kinds)
	}
}

// TestTransferRegisterPages: the register is newest first, fifty a
// page, with a link to the older ones.
func TestTransferRegisterPages(t *testing.T) {
	e := newEnv(t, withTransfers(t))
	ctx := context.Background()
	for i := 1; i <= pageSize+1; i++ {
		data := fmt.Sprintf(`{"id":"transfer:%d","destination":"dest-%03d","purpose":"p","legal_basis":"l","approver":"a","actor":"x","sha256":"%064d"}`, i, i, i)
		if _, err := e.st.AppendAudit(ctx, store.AuditEntry{ID: fmt.Sprintf("transfer:%d", i), At: e.clk.Now(), Kind: evidence.KindTransfer,
			Subject: "transfer", Data: json.RawMessage(data)}); err != nil {
			t.Fatal(err)
		}
	}
	b, _, _ := e.signIn("lisi", "oauth")
	_, first := e.get(b, "/console/transfers")
	if n := strings.Count(first, `<tr class="transfer"`); n != pageSize || !strings.Contains(first, "dest-051") || strings.Contains(first, "dest-001<") {
		t.Errorf("first page: %d rows (want %d, from dest-051 down)", n, pageSize)
	}
	i := strings.Index(first, `id="next" href="`)
	if i < 0 {
		t.Fatal("no link to the older transfers")
	}
	next := html.UnescapeString(first[i+len(`id="next" href="`):])
	next = next[:strings.IndexByte(next, '"')]
	_, second := e.get(b, next)
	if n := strings.Count(second, `<tr class="transfer"`); n != 1 || !strings.Contains(second, "dest-001") || strings.Contains(second, `id="next"`) {
		t.Errorf("second page (%s): %d rows, want dest-001 alone", next, n)
	}
	if resp, _ := e.get(b, "/console/transfers?before=x"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d, want 400", resp.StatusCode)
	}
}

// TestTransfersOff: without a register the page says so and the form's
// POST is a 404.
func TestTransfersOff(t *testing.T) {
	e := newEnv(t)
	b, _, _ := e.signIn("wangfang", "oauth")
	if resp, body := e.get(b, "/console/transfers"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="transfers-off"`) || strings.Contains(body, "transfer-form") {
		t.Errorf("register off: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := postForm(t, b, e.srv.URL+"/console/transfers", transferValues(e.csrf(b))); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST with the register off: %d, want 404", resp.StatusCode)
	}
}

// TestDashboardTransfersThisMonth: the dashboard counts the transfers
// made since the first of the month in the console's zone (Asia/Shanghai
// here; the clock is 2026-12-05 11:29 +08:00).
func TestDashboardTransfersThisMonth(t *testing.T) {
	e := newEnv(t, withTransfers(t))
	ctx := context.Background()
	for i, at := range []time.Time{
		time.Date(2026, 11, 30, 15, 59, 0, 0, time.UTC), // 2026-11-30 23:59 +08:00: last month
		time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC),  // 2026-12-01 00:00 +08:00: this month
		time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC),    // today
	} {
		data := fmt.Sprintf(`{"id":"transfer:%d","at":%q,"destination":"d","purpose":"p","legal_basis":"l","approver":"a","actor":"x"}`, i, at.Format(time.RFC3339))
		if _, err := e.st.AppendAudit(ctx, store.AuditEntry{ID: fmt.Sprintf("transfer:%d", i), At: at, Kind: evidence.KindTransfer,
			Subject: "transfer", Data: json.RawMessage(data)}); err != nil {
			t.Fatal(err)
		}
	}
	b, _, _ := e.signIn("lisi", "oauth")
	if _, body := e.get(b, "/console/"); !strings.Contains(body, `<b id="transfers-month">2</b>`) || !strings.Contains(body, "本月跨境传输") {
		t.Errorf("dashboard lacks 2 transfers this month:\n%s", body)
	}
	off := newEnv(t)
	b, _, _ = off.signIn("lisi", "oauth")
	if _, body := off.get(b, "/console/"); strings.Contains(body, "transfers-month") {
		t.Error("a transfer count without a register")
	}
}

// TestTransferExportsOff: with no pseudonym key the form's POST says
// why in the page's language (503), and the register still reads.
func TestTransferExportsOff(t *testing.T) {
	e := newEnv(t, withMaker(t, nil))
	b, _, _ := e.signIn("wangfang", "oauth")
	resp, body := postForm(t, b, e.srv.URL+"/console/transfers", transferValues(e.csrf(b)))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "pseudonym_key") {
		t.Errorf("POST with exports off: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := e.get(b, "/console/transfers"); resp.StatusCode != http.StatusOK {
		t.Errorf("register with exports off: %d", resp.StatusCode)
	}
}
