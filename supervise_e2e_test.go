package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// superviseRules is the rule file of the supervision tests.
const superviseRules = `
[[rule]]
id = "guaranteed-returns"
description = "承诺保本保收益"
kind = "lexicon"
severity = "high"
action = "alert"
terms = ["保本保收益"]
`

type alertJSON struct {
	ID          string    `json:"id"`
	RuleID      string    `json:"rule_id"`
	RuleVersion string    `json:"rule_version"`
	MsgID       string    `json:"msgid"`
	Sender      string    `json:"sender"`
	Start       int       `json:"start"`
	End         int       `json:"end"`
	State       string    `json:"state"`
	DecidedBy   string    `json:"decided_by"`
	DecidedAt   time.Time `json:"decided_at"`
}

// TestSupervisionLoop runs the supervision loop end to end on both
// stores: a message with a hit in the fake archive → the puller stores
// it and raises an alert → an alert card reaches the compliance officer
// → 王芳 clicks 误报 → the card turns 「误报 · 王芳」 in place, the alert
// is false_positive with who and when, and the audit chain verifies.
func TestSupervisionLoop(t *testing.T) {
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			redisURL := ""
			if backend == "redis" {
				redisURL = redistest.Start(t)
			}
			clk := testclock.New(t)
			fake := policyCompanyAt(t, clk)
			arch := newArchiveFixture(t, clk)
			cfgPath := writePolicyConfigStore(t, fake.URL, t.TempDir(), 1, redisURL)
			rulesPath := filepath.Join(t.TempDir(), "rules.toml")
			if err := os.WriteFile(rulesPath, []byte(superviseRules), 0o600); err != nil {
				t.Fatal(err)
			}
			appendConfig(t, cfgPath, arch.section+fmt.Sprintf("\n[rules]\nfile = %q\ncontext_before = 1\ncontext_after = 1\n", rulesPath))

			text := "这款产品保本保收益，您放心"
			// A minute apart, so that the hit's context is m0 before and m2
			// after it.
			sent := clk.Now().Add(-time.Hour)
			for i, m := range []struct{ id, from, to, text string }{
				{"m0", "wangwu", "zhangsan", "下午好"}, {"m1", "zhangsan", "wangwu", text}, {"m2", "zhangsan", "wangwu", "季度报告已发"},
			} {
				if _, err := arch.srv.Add(map[string]any{
					"msgid": m.id, "action": "send", "from": m.from, "tolist": []string{m.to}, "roomid": "",
					"msgtime": sent.Add(time.Duration(i) * time.Minute).UnixMilli(), "msgtype": "text", "text": map[string]string{"content": m.text},
				}); err != nil {
					t.Fatal(err)
				}
			}

			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			_, base, done := launchAppWith(t, ctx, cfgPath, io.Discard, appOptions{Now: clk.Now, ArchiveSource: arch.source()})
			t.Cleanup(func() {
				cancel()
				<-done
			})
			waitArchived(t, base, 3)

			// One alert, open, naming the span and not the text.
			var list struct {
				Alerts []alertJSON `json:"alerts"`
				Next   string      `json:"next_cursor"`
			}
			eventually(t, "one open alert", func() bool {
				apiGet(t, base, "/api/v1/alerts?state=open", &list)
				return len(list.Alerts) == 1
			})
			al := list.Alerts[0]
			if al.MsgID != "m1" || al.RuleID != "guaranteed-returns" || al.Sender != "zhangsan" || text[al.Start:al.End] != "保本保收益" {
				t.Fatalf("alert = %+v", al)
			}

			// The card reaches the officer, with 确认违规 and 误报.
			eventually(t, "wangfang's alert card", func() bool { return len(cards(fake, "wangfang")) == 1 })
			card := cards(fake, "wangfang")[0]
			for _, want := range []string{"确认违规", "误报", "guaranteed-returns"} {
				if !strings.Contains(string(card.Card), want) {
					t.Errorf("card %s lacks %q", card.Card, want)
				}
			}
			if strings.Contains(string(card.Card), "保本保收益，您放心") {
				t.Errorf("card %s carries the message's text", card.Card)
			}

			// The alert with its context, read from the archive.
			var view struct {
				Alert  alertJSON `json:"alert"`
				Match  string    `json:"match"`
				Before []struct {
					MsgID string `json:"msgid"`
				} `json:"context_before"`
				After []struct {
					MsgID string `json:"msgid"`
				} `json:"context_after"`
			}
			if code := apiGet(t, base, "/api/v1/alerts/"+al.ID, &view); code != 200 || view.Match != "保本保收益" ||
				len(view.Before) != 1 || view.Before[0].MsgID != "m0" || len(view.After) != 1 || view.After[0].MsgID != "m2" {
				t.Errorf("GET alert: %d %+v", code, view)
			}

			// 王芳 clicks 误报.
			click, err := fake.Click("wangfang", card.MsgID, "alert:"+al.ID+":false_positive")
			if err != nil {
				t.Fatalf("click: %v", err)
			}
			clickedAt := time.Unix(click.CreateTime, 0)
			plain, err := wecomtest.BuildEvent(click.Spec())
			if err != nil {
				t.Fatal(err)
			}
			postPlain(t, base, plain)
			eventually(t, "the card turns 误报 · 王芳", func() bool {
				c := cards(fake, "wangfang")
				return len(c) == 1 && c[0].ReplaceName == "误报 · 王芳"
			})
			var got struct {
				Alert alertJSON `json:"alert"`
			}
			apiGet(t, base, "/api/v1/alerts/"+al.ID, &got)
			if got.Alert.State != "false_positive" || got.Alert.DecidedBy != "wangfang" || got.Alert.DecidedAt.IsZero() ||
				got.Alert.DecidedAt.After(clickedAt.Add(time.Minute)) || got.Alert.DecidedAt.Before(clickedAt.Add(-time.Minute)) {
				t.Errorf("decided alert = %+v, want false_positive by wangfang at %v", got.Alert, clickedAt)
			}

			// Confirming it now is refused: a decision is final.
			if code := postDecision(t, base, al.ID, "王芳", `{"decision":"confirmed"}`); code != http.StatusConflict {
				t.Errorf("second decision: %d, want 409", code)
			}

			var states []string
			for _, e := range auditLog(t, base) {
				if e.Kind == "alert" && e.Subject == al.ID {
					var d struct {
						State string `json:"state"`
						Actor string `json:"actor"`
					}
					if err := json.Unmarshal(e.Data, &d); err != nil {
						t.Fatal(err)
					}
					states = append(states, d.State+"/"+d.Actor)
					if strings.Contains(string(e.Data), "保本") {
						t.Errorf("audit entry carries the text: %s", e.Data)
					}
				}
			}
			if strings.Join(states, " ") != "open/wecomply false_positive/wangfang" {
				t.Errorf("alert audit entries = %v, want raised then false_positive by wangfang", states)
			}
			var report struct {
				OK bool `json:"ok"`
			}
			if code := apiGet(t, base, "/api/v1/audit/verify", &report); code != 200 || !report.OK {
				t.Errorf("audit verify: %d %+v", code, report)
			}
			cancel()
			<-done

			// A new rule, then `rules rescan` over the range: the new rule's
			// hit is raised, the old rule's is not raised again; a second
			// rescan raises nothing.
			more := superviseRules + `
[[rule]]
id = "reports"
kind = "lexicon"
severity = "low"
action = "digest_only"
terms = ["季度报告"]
`
			if err := os.WriteFile(rulesPath, []byte(more), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"rules", "rescan", "-config", cfgPath, "-actor", "王芳",
				"-from", sent.Add(-time.Minute).Format(time.RFC3339), "-to", sent.Add(time.Hour).Format(time.RFC3339)}
			for range 2 {
				var out, errOut strings.Builder
				if code := run(context.Background(), args, &out, &errOut, nil); code != 0 {
					t.Fatalf("rules rescan: exit %d: %s", code, errOut.String())
				}
				if !strings.Contains(out.String(), "3 message(s) read, 3 scanned, 0 unreadable, 2 hit(s)") {
					t.Errorf("rules rescan printed %q", out.String())
				}
			}
			cfg, err := config.Load(cfgPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			st, err := openStore(context.Background(), cfg, slog.New(slog.DiscardHandler), time.Now, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			open, _, err := st.ListAlerts(context.Background(), "open", store.Page{})
			if err != nil || len(open) != 1 || open[0].MsgID != "m2" || open[0].RuleID != "reports" {
				t.Errorf("open alerts after the rescans = %+v, %v; want m2's reports alert only", open, err)
			}
			if rep, err := st.VerifyAudit(context.Background()); err != nil || !rep.OK {
				t.Errorf("VerifyAudit after the rescans = %+v, %v", rep, err)
			}
		})
	}
}

// postDecision POSTs a decision on an alert as actor and returns the
// status.
func postDecision(t *testing.T, base, id, actor, body string) int {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/v1/alerts/"+id+"/decision", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	req.Header.Set("Content-Type", "application/json")
	if actor != "" {
		req.Header.Set("X-Wecomply-Actor", actor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
