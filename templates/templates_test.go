package templates

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleDisclosure is the [disclosure] of the golden tests.
var sampleDisclosure = &Disclosure{Controller: "示例科技有限公司", Contact: "合规部 privacy@example.com / 400-000-0000",
	Purpose: "履行金融监管要求的业务留痕、服务质量管理与纠纷处理", Retention: "自会话结束起 3 年，法律法规另有规定的从其规定",
	RightsURL: "https://www.example.com/privacy/rights"}

// sampleData is what each template is rendered with in the golden tests.
var sampleData = map[string]map[string]any{
	"alert_review": {"Company": "示例科技", "Rule": "guaranteed-returns", "Description": "承诺保本保收益", "Severity": "high",
		"Sender": "李雷（lilei）", "Conversation": "single:lilei|wmAbc123", "At": "2026-11-23 10:15", "ID": "0123456789abcdef0123456789abcdef", "URL": ""},
	"alert_sender": {"Rule": "guaranteed-returns", "Description": "承诺保本保收益", "At": "2026-11-23 10:15"},
	"alert_escalation": {"Total": 3, "After": "48h", "Items": []map[string]any{
		{"Rule": "guaranteed-returns", "Severity": "high", "Sender": "李雷（lilei）", "Raised": "2026-11-20 10:15", "ID": "0123456789abcdef0123456789abcdef"}}},
	"ack_card": {"Company": "示例科技", "Title": "会话存档告知", "Version": 3, "Summary": "公司将存档您与客户的企业微信会话。请阅读全文后确认。",
		"Due": "2026-12-01", "URL": "https://compliance.example.com/notices/archive/3", "Disclosure": sampleDisclosure},
	"disclosure": {"Company": "示例科技", "Scope": "与外部联系人的单聊和群聊", "Retention": "3 年", "Officer": "合规部（王芳）",
		"Disclosure": sampleDisclosure},
	"reminder":    {"Title": "会话存档告知", "Version": 3, "Due": "2026-12-01"},
	"alert":       {"Message": "客户 张先生 不同意会话存档。", "UserName": "李雷", "UserID": "lilei", "At": "2026-11-23 10:15"},
	"welcome":     {"EmployeeName": "李雷", "Company": "示例科技", "Disclosure": sampleDisclosure},
	"ack_confirm": {"Title": "会话存档告知", "Version": 3, "At": "2026-11-23 10:15"},
	"ack_choose": {"Items": []map[string]any{{"Title": "会话存档告知", "Version": 3, "Due": "2026-12-01"},
		{"Title": "信息安全守则", "Version": 1, "Due": ""}}},
	"nothing_open": {},
	"open_list":    {"Items": []map[string]any{{"Title": "会话存档告知", "Version": 3, "Due": "2026-12-01"}}},
	"consent_employee": {"Company": "示例科技", "Customer": "张先生（wmAbc123）", "Status": "disagreed",
		"Policy": "公司要求：客户不同意存档时，请勿在企业微信中讨论交易细节，改用可存档的渠道。", "URL": "https://compliance.example.com/policy/archive"},
	"consent_alert": {"Customer": "张先生（wmAbc123）", "UserID": "lilei", "UserName": "李雷", "Status": "disagreed", "At": "2026-11-23 10:15"},
	"remind_card": {"Company": "示例科技", "Title": "会话存档告知", "Version": 3, "Summary": "公司将存档您与客户的企业微信会话。请阅读全文后确认。",
		"URL": "https://compliance.example.com/notices/archive/3", "Disclosure": sampleDisclosure},
	"escalation_leader": {"Title": "会话存档告知", "Version": 3, "Part": 1, "Parts": 1, "Total": 2, "Items": []map[string]any{
		{"Name": "张三", "UserID": "zhangsan", "Due": "2026-11-30"}, {"Name": "李四", "UserID": "lisi", "Due": ""}}},
	"escalation_owner": {"Title": "会话存档告知", "Version": 3, "Part": 2, "Parts": 3, "Total": 250, "Items": []map[string]any{
		{"Name": "张三", "UserID": "zhangsan", "Due": "2026-11-30"}, {"Name": "王五", "UserID": "wangwu", "Due": "2026-11-30"}}},
	"digest": {"Day": "2026-11-23", "Since": "2026-11-22 09:00", "Until": "2026-11-23 09:00", "Part": 1, "Parts": 2, "AllClear": false,
		"Sections": []map[string]any{
			{"Kind": "coverage", "Total": 2, "More": 0, "MoreCount": 0, "Continued": false, "Items": []map[string]any{
				{"Title": "会话存档告知", "Version": 3, "Published": true, "Acknowledged": 120, "Total": 150, "Percent": 80, "Open": 30, "Overdue": 12, "Failed": 2},
				{"Title": "信息安全守则", "Version": 1, "Published": false, "Acknowledged": 0, "Total": 0, "Percent": 0, "Open": 0, "Overdue": 0, "Failed": 0}}},
			{"Kind": "departments", "Total": 12, "More": 1, "MoreCount": 2, "Continued": false, "Items": []map[string]any{
				{"Name": "销售部", "ID": int64(3), "Count": 7}, {"Name": "", "ID": int64(9), "Count": 3}, {"Name": "", "ID": int64(0), "Count": 0}}},
			{"Kind": "refusals", "Total": 1, "More": 0, "MoreCount": 0, "Continued": false, "Items": []map[string]any{
				{"Name": "李雷", "UserID": "lilei", "Customer": "wmAbc123", "At": "2026-11-22 15:30"}}},
			{"Kind": "failures", "Total": 23, "More": 20, "MoreCount": 0, "Continued": false, "Items": []map[string]any{
				{"Title": "会话存档告知", "Version": 3, "Name": "韩梅梅", "UserID": "hanmeimei", "Status": "failed", "At": "2026-11-22 10:00"},
				{"Title": "会话存档告知", "Version": 3, "Name": "lucy", "UserID": "lucy", "Status": "invalid", "At": "2026-11-22 10:01"},
				{"Title": "会话存档告知", "Version": 3, "Name": "tom", "UserID": "tom", "Status": "unlicensed", "At": "2026-11-22 10:02"}}},
			{"Kind": "dead_letters", "Total": 4, "More": 0, "MoreCount": 0, "Continued": false, "Items": []map[string]any{
				{"Count": 4, "Oldest": "2026-11-20"}}},
			{"Kind": "alerts", "Total": 7, "More": 0, "MoreCount": 0, "Continued": false, "Items": []map[string]any{
				{"Open": 5, "Escalated": 2, "Critical": 1, "High": 3, "Medium": 2, "Low": 1, "Day": 3, "ThreeDays": 2, "Week": 1, "Older": 1}}},
		}},
}

func TestGolden(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range Catalog {
		for _, lang := range Languages {
			t.Run(tmpl.Name+"."+lang, func(t *testing.T) {
				r, err := set.Render(tmpl.Name, lang, sampleData[tmpl.Name])
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				b.WriteString("kind: " + string(r.Kind) + "\nhash: " + r.Hash() + "\n")
				for _, k := range slices.Sorted(maps.Keys(r.Parts)) {
					b.WriteString("== " + k + " ==\n" + r.Parts[k] + "\n")
				}
				golden := filepath.Join("testdata", tmpl.Name+"."+lang+".golden")
				if *update {
					if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./templates -update to create it)", err)
				}
				if b.String() != string(want) {
					t.Errorf("rendered differs from %s:\n--- got\n%s--- want\n%s", golden, b.String(), want)
				}
			})
		}
	}
}

// TestDisclosureShownWhenSet: the texts that concern personal data show
// the [disclosure] keys when they are configured, and nothing of them
// (no empty lines or labels) when .Disclosure is nil; a card shows them
// as its key-value fields, the rights as a link.
func TestDisclosureShownWhenSet(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ack_card", "remind_card", "disclosure", "welcome"} {
		for _, lang := range Languages {
			t.Run(name+"."+lang, func(t *testing.T) {
				r, err := set.Render(name, lang, sampleData[name])
				if err != nil {
					t.Fatal(err)
				}
				all := strings.Join(slices.Collect(maps.Values(r.Parts)), "\n")
				for _, v := range []string{sampleDisclosure.Controller, sampleDisclosure.Contact, sampleDisclosure.Purpose,
					sampleDisclosure.Retention, sampleDisclosure.RightsURL} {
					if !strings.Contains(all, v) {
						t.Errorf("%q is not shown:\n%s", v, all)
					}
				}
				if set.Kind(name) == KindButtonCard {
					fs, err := Fields(r.Parts["fields"])
					if err != nil || len(fs) != 5 || fs[4].URL != sampleDisclosure.RightsURL || fs[0].Value != sampleDisclosure.Controller {
						t.Errorf("fields %+v, %v", fs, err)
					}
				}

				without := maps.Clone(sampleData[name])
				without["Disclosure"] = (*Disclosure)(nil)
				r, err = set.Render(name, lang, without)
				if err != nil {
					t.Fatal(err)
				}
				all = strings.Join(slices.Collect(maps.Values(r.Parts)), "\n")
				if _, ok := r.Parts["fields"]; ok || strings.Contains(all, "privacy") || strings.Contains(all, "处理者") || strings.Contains(all, "handled by") {
					t.Errorf("without [disclosure]:\n%s", all)
				}
			})
		}
	}
}

// TestFields: a card's key-value lines, and what is not one.
func TestFields(t *testing.T) {
	tests := []struct {
		name, part string
		want       []Field
		err        string
	}{
		{"two", "处理者\t示例科技\n您的权利\t查阅\thttps://e.example/r\n", []Field{{"处理者", "示例科技", ""}, {"您的权利", "查阅", "https://e.example/r"}}, ""},
		{"blank lines skipped", "\nA\tb\n\n", []Field{{"A", "b", ""}}, ""},
		{"none", "", nil, ""},
		{"no tab", "A b", nil, "want a key, a tab, a value"},
		{"empty value", "A\t ", nil, "want a key, a tab, a value"},
		{"four parts", "A\tb\tc\td", nil, "want a key, a tab, a value"},
		{"seven", strings.Repeat("A\tb\n", 7), nil, "at most 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fields(tt.part)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("got %v, %v; want …%s…", got, err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	missing := maps.Clone(sampleData["reminder"])
	delete(missing, "Due")
	long := maps.Clone(sampleData["reminder"])
	long["Title"] = strings.Repeat("长", 700)
	empty := maps.Clone(sampleData["ack_card"])
	empty["Summary"] = "  "
	tests := []struct {
		name, tmpl, lang string
		data             any
		want             string
	}{
		{"missing key", "reminder", "en", missing, `map has no entry for key "Due"`},
		{"unknown template", "nope", "en", nil, `no template "nope"`},
		{"unknown language", "reminder", "fr", sampleData["reminder"], `no language "fr"`},
		{"too long for WeCom", "reminder", "zh-CN", long, "WeCom allows 2048"},
		{"required part empty", "ack_card", "en", empty, "part body is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := set.Render(tt.tmpl, tt.lang, tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want …%s…", err, tt.want)
			}
		})
	}
}

func TestHashTracksExactText(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	render := func(lang string, data map[string]any) string {
		r, err := set.Render("ack_card", lang, data)
		if err != nil {
			t.Fatal(err)
		}
		return r.Hash()
	}
	base := render("zh-CN", sampleData["ack_card"])
	if render("zh-CN", sampleData["ack_card"]) != base {
		t.Error("same text, different hash")
	}
	if render("en", sampleData["ack_card"]) == base {
		t.Error("another language, same hash")
	}
	v4 := maps.Clone(sampleData["ack_card"])
	v4["Version"] = 4
	if render("zh-CN", v4) == base {
		t.Error("another version, same hash")
	}
	noURL := maps.Clone(sampleData["ack_card"])
	noURL["URL"] = ""
	if render("zh-CN", noURL) == base {
		t.Error("a card without its link, same hash")
	}
}

// TestLoadChecksEveryTemplate: a missing language file, a missing part or
// an unknown part is found at start-up, not when a notice is sent.
func TestLoadChecksEveryTemplate(t *testing.T) {
	good := fstest.MapFS{}
	for _, tmpl := range Catalog {
		for _, lang := range Languages {
			b, err := files.ReadFile(tmpl.Name + "." + lang + ".tmpl")
			if err != nil {
				t.Fatal(err)
			}
			good[tmpl.Name+"."+lang+".tmpl"] = &fstest.MapFile{Data: b}
		}
	}
	if _, err := load(good); err != nil {
		t.Fatalf("the embedded files do not load from a copy: %v", err)
	}
	tests := []struct {
		name string
		edit func(fstest.MapFS)
		want string
	}{
		{"missing language", func(m fstest.MapFS) { delete(m, "reminder.en.tmpl") }, "reminder.en.tmpl"},
		{"missing part", func(m fstest.MapFS) {
			m["ack_card.en.tmpl"] = &fstest.MapFile{Data: []byte(strings.Replace(string(m["ack_card.en.tmpl"].Data), `{{define "button"}}`, `{{define "buton"}}`, 1))}
		}, `part "button" is missing`},
		{"syntax error", func(m fstest.MapFS) { m["alert.en.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.X}`)} }, "alert.en.tmpl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := maps.Clone(good)
			tt.edit(m)
			if _, err := load(m); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want …%s…", err, tt.want)
			}
		})
	}
}
