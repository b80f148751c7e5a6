package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/postgres/pgtest"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// archiveFixture is a fake WeCom archive with one key version, and the
// [archive] config section that opens it.
type archiveFixture struct {
	srv     *wecomtest.ArchiveServer
	key     *rsa.PrivateKey
	ver     uint32
	section string
	dir     string
	dsn     string // the PostgreSQL backend's database; "" for the embedded one
}

func newArchiveFixture(t *testing.T, clk *testclock.Clock) *archiveFixture {
	t.Helper()
	return newArchiveFixtureOn(t, clk, "embedded")
}

// newArchiveFixtureOn is newArchiveFixture with archive.backend set:
// "embedded" (a file in the fixture's dir) or "postgres" (a database of
// the test's own, from pgtest).
func newArchiveFixtureOn(t *testing.T, clk *testclock.Clock, backend string) *archiveFixture {
	t.Helper()
	f := &archiveFixture{dir: t.TempDir()}
	if backend == "postgres" {
		f.dsn = pgtest.DSN(t)
	}
	f.srv = wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 11, Now: clk.Now, Secret: archiveSecret})
	var err error
	if f.key, err = wecomtest.GenerateArchiveKey(); err != nil {
		t.Fatal(err)
	}
	f.ver = f.srv.UploadPublicKey(&f.key.PublicKey)
	pem := filepath.Join(f.dir, "archive_v1.pem")
	if err := wecomtest.WriteArchiveKeyPEM(pem, f.key, true); err != nil {
		t.Fatal(err)
	}
	f.section = fmt.Sprintf(`
[archive]
enabled = true
backend = %q
path = %q
postgres_url = %q
poll_interval = "1h"
master_key = %q
index_key = %q
[[archive.private_key]]
version = %d
file = %q
`, backend, filepath.Join(f.dir, "archive.db"), f.dsn, randomKey(), randomKey(), f.ver, pem)
	return f
}

// randomKey is a fresh 32-byte key in base64, as the config takes it.
func randomKey() string { return base64.StdEncoding.EncodeToString(randomBytes(32)) }

func (f *archiveFixture) source() *wecomtest.ArchiveSource {
	return wecomtest.NewArchiveSource(f.srv, archiveSecret, map[uint32]*rsa.PrivateKey{f.ver: f.key})
}

// add puts one text message into the fake archive.
func (f *archiveFixture) add(t *testing.T, clk *testclock.Clock, msgid, from, to, text string) {
	t.Helper()
	if _, err := f.srv.Add(map[string]any{
		"msgid": msgid, "action": "send", "from": from, "tolist": []string{to}, "roomid": "",
		"msgtime": clk.Now().UnixMilli(), "msgtype": "text", "text": map[string]string{"content": text},
	}); err != nil {
		t.Fatal(err)
	}
}

func archiveStatus(t *testing.T, base string) archive.Status {
	t.Helper()
	var s archive.Status
	if code := apiGet(t, base, "/api/v1/archive/status", &s); code != 200 {
		t.Fatalf("GET /api/v1/archive/status: %d", code)
	}
	return s
}

func waitArchived(t *testing.T, base string, want int64) archive.Status {
	t.Helper()
	var s archive.Status
	defer logLastStatus(t, &s)
	eventually(t, fmt.Sprintf("the archive holds %d messages", want), func() bool {
		s = archiveStatus(t, base)
		if s.Messages > want {
			t.Fatalf("archive holds %d messages, want %d", s.Messages, want)
		}
		return s.Messages == want
	})
	return s
}

// logLastStatus logs *s, the last status a wait saw, when the test has
// failed (deferred by the waits, whose timeout does not say it).
func logLastStatus(t *testing.T, s *archive.Status) {
	if t.Failed() {
		t.Logf("last archive status: %+v", *s)
	}
}

type archiveMessages struct {
	Messages []archive.Result `json:"messages"`
	Next     string           `json:"next_cursor"`
	Error    string           `json:"error"`
	Field    string           `json:"field"`
}

func archiveSearch(t *testing.T, base, query string) (int, archiveMessages) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/archive/messages?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	req.Header.Set("X-Wecomply-Actor", "王芳")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out archiveMessages
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestArchiveEndToEnd runs the archive inside the server: the first pass
// at start stores what WeCom holds (content only where allowed), the API
// searches it (audited, with who asked), a msgaudit_notify callback wakes
// the puller (the timer is an hour away), and /metrics shows it — on the
// embedded backend and on PostgreSQL (archive.backend = "postgres").
func TestArchiveEndToEnd(t *testing.T) {
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			clk := testclock.New(t)
			fake := policyCompanyAt(t, clk)
			arch := newArchiveFixtureOn(t, clk, backend)
			cfgPath := writePolicyConfig(t, fake.URL, t.TempDir(), 1)
			appendConfig(t, cfgPath, arch.section)

			arch.add(t, clk, "m1", "zhangsan", "wangwu", "季度报告已发给客户 quarterly report sent")
			// A customer who never agreed: only the facts are kept.
			arch.add(t, clk, "m2_external", "zhangsan", "wmCustomerNoConsent01", "保证收益 guaranteed returns MARKER-7f3a")

			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			_, base, done := launchAppWith(t, ctx, cfgPath, io.Discard, appOptions{Now: clk.Now, ArchiveSource: arch.source()})
			t.Cleanup(func() {
				cancel()
				<-done
			})

			s := waitArchived(t, base, 2)
			if s.Withheld != 1 || s.Cursor != 2 || s.Quarantined != 0 {
				t.Errorf("status = %+v, want 1 withheld, cursor 2, nothing quarantined", s)
			}

			code, res := archiveSearch(t, base, "q="+url.QueryEscape("季度报告"))
			if code != 200 || len(res.Messages) != 1 || res.Messages[0].MsgID != "m1" || !strings.Contains(string(res.Messages[0].Content), "quarterly report") {
				t.Fatalf("search 季度报告: %d %+v", code, res)
			}
			code, res = archiveSearch(t, base, "user=zhangsan&order=asc")
			if code != 200 || len(res.Messages) != 2 || res.Messages[1].Withheld != archive.WithheldNoConsent || len(res.Messages[1].Content) != 0 {
				t.Fatalf("search user=zhangsan: %d %+v", code, res)
			}
			for _, bad := range []struct{ query, field string }{
				{"q=" + url.QueryEscape("🙂!!"), "q"},
				{"from=yesterday", "from"},
				{"order=sideways", "order"},
				{"limit=1001", "limit"},
			} {
				if code, res := archiveSearch(t, base, bad.query); code != 400 || res.Field != bad.field {
					t.Errorf("search %s: %d %+v, want 400 naming %q", bad.query, code, res, bad.field)
				}
			}

			// Every search is in the audit log with who asked, never the text.
			searches := 0
			for _, e := range auditLog(t, base) {
				if e.Kind == archive.AuditSearch {
					searches++
					if e.Subject != "王芳" || bytes.Contains(e.Data, []byte("季度")) {
						t.Errorf("audit entry %s: subject %q data %s", e.Kind, e.Subject, e.Data)
					}
				}
			}
			if searches != 2 {
				t.Errorf("%d search audit entries, want 2 (the refused ones read nothing)", searches)
			}

			// A msgaudit_notify wakes the puller; its timer is an hour away.
			arch.add(t, clk, "m3", "wangwu", "zhangsan", "收到 received")
			postEvent(t, base, wecomtest.EventSpec{Kind: "msgaudit_notify", AgentID: "2000004"})
			waitArchived(t, base, 3)

			if v, ok := metric(t, base, "wecomply_archive_messages_stored"); !ok || v != 3 {
				t.Errorf("wecomply_archive_messages_stored = %v (%v), want 3", v, ok)
			}
			if v, ok := metric(t, base, "wecomply_archive_lag_seconds"); !ok || v != 0 {
				t.Errorf("wecomply_archive_lag_seconds = %v (%v), want 0 (caught up)", v, ok)
			}
			cancel()
			<-done

			// The withheld message's text is nowhere in the archive's file or
			// database (its tables, and its files when readable), nor the
			// kept one's in the clear; the customer's id, a fact kept in the
			// clear, is found (the scan can fail).
			markers := []string{"MARKER-7f3a", "quarterly report", "wmCustomerNoConsent01"}
			found := map[string][]string{}
			if arch.dsn != "" {
				ctx := context.Background()
				files, err := pgtest.FindInFiles(ctx, arch.dsn, markers...)
				switch {
				case errors.Is(err, pgtest.ErrNoFiles):
					t.Logf("only the tables are scanned: %v", err)
				case err != nil:
					t.Fatal(err)
				}
				for _, m := range markers {
					tables, err := pgtest.Find(ctx, arch.dsn, m)
					if err != nil {
						t.Fatal(err)
					}
					found[m] = append(files[m], tables...)
				}
			} else {
				raw, err := os.ReadFile(filepath.Join(arch.dir, "archive.db"))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range markers {
					if bytes.Contains(raw, []byte(m)) {
						found[m] = []string{"archive.db"}
					}
				}
			}
			for _, marker := range markers[:2] {
				if where := found[marker]; len(where) > 0 {
					t.Errorf("the %s archive holds %q in the clear at %v", backend, marker, where)
				}
			}
			if len(found["wmCustomerNoConsent01"]) == 0 {
				t.Errorf("the scan of the %s archive does not find the customer's id kept in the clear", backend)
			}
		})
	}
}

// appendConfig adds text to the config file at path.
func appendConfig(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
