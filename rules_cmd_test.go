package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goodRule is a rule whose samples pass.
const goodRule = `
[[rule]]
id = "returns"
kind = "lexicon"
severity = "high"
terms = ["保本保收益", "guaranteed returns"]
[rule.samples]
match = ["本产品保本保收益"]
no_match = ["投资有风险"]
`

func writeRules(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRulesTestCommand: exit 0 on passing samples, 1 naming the rule and
// the sample that failed, 2 naming the line of a file that does not
// parse (and 2 on usage mistakes).
func TestRulesTestCommand(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string // rule file body; "-" for no file argument
		code int
		want []string
	}{
		{"samples pass", goodRule, 0, []string{"ok ", "1 rule(s), 2 sample(s)"}},
		{"a match sample misses", goodRule + `
[[rule]]
id = "insider"
kind = "lexicon"
severity = "critical"
terms = ["内幕消息"]
[rule.samples]
match = ["我有内部消息"]
`, 1, []string{`FAIL`, `line 11: rule "insider": samples.match "我有内部消息": no hit`, "1 of 3 sample(s) failed"}},
		{"a no_match sample hits", strings.Replace(goodRule, `no_match = ["投资有风险"]`, `no_match = ["GUARANTEED RETURNS!"]`, 1), 1,
			[]string{`rule "returns": samples.no_match "GUARANTEED RETURNS!": hit "GUARANTEED RETURNS"`}},
		{"a rule without match samples", "[[rule]]\nid = \"x\"\nkind = \"pii\"\nseverity = \"low\"\ndetectors = [\"email\"]\n", 1,
			[]string{`rule "x": samples.match "(samples.match is empty)": no hit`}},
		{"block on a regex rule", goodRule + "\n[[rule]]\nid = \"re\"\nkind = \"regex\"\nseverity = \"low\"\nblock = true\npatterns = ['a+']\n", 2,
			[]string{`line 15: rule "re": block: only lexicon rules can block`, "does not parse: 1 problem(s)"}},
		{"a blocking term WeCom would not take", goodRule + "\n[[rule]]\nid = \"long\"\nkind = \"lexicon\"\nseverity = \"low\"\nblock = true\nterms = [\"" + strings.Repeat("长", 33) + "\"]\n", 2,
			[]string{"blocking rules WeCom would not take", `rule "long"`, "33 characters, WeCom takes 1 to 32"}},
		{"bad TOML", "[[rule]]\nid = \"x\n", 2, []string{"line 2:"}},
		{"bad regex", "[[rule]]\nid = \"re\"\nkind = \"regex\"\nseverity = \"low\"\npatterns = ['(unclosed']\n", 2,
			[]string{`line 5: rule "re": patterns: pattern 1: error parsing regexp`}},
		{"no file", "-", 2, []string{"rules test takes one FILE", "Usage:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"rules", "test"}
			if tt.file != "-" {
				args = append(args, writeRules(t, tt.file))
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), args, &out, &errOut, nil)
			got := out.String() + errOut.String()
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestRulesExampleFile: the shipped example parses and its samples pass
// (CI also runs `go run . rules test rules.example.toml`).
func TestRulesExampleFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"rules", "test", "rules.example.toml"}, &out, &errOut, nil); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	set, err := loadRules("rules.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	var blocked []string
	for _, b := range set.Blocked() {
		blocked = append(blocked, b.RuleID)
	}
	if strings.Join(blocked, ",") != "guaranteed-returns,off-channel" {
		t.Errorf("blocked rules = %v, want guaranteed-returns and off-channel", blocked)
	}
}

// TestCheckCommandParsesRules: `check` loads rules.file and names the
// line of a rule that does not parse.
func TestCheckCommandParsesRules(t *testing.T) {
	cfgPath := writeConfig(t, "127.0.0.1:8080", "embedded", "")
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, rules string
		code        int
		want        string
	}{
		{"good", goodRule, 0, "rules.file "},
		{"bad", "[[rule]]\nid = \"x\"\nkind = \"lexicon\"\nseverity = \"urgent\"\nterms = [\"a\"]\n", 1, `line 4: rule "x": severity: must be low, medium, high or critical, got "urgent"`},
		// Parses, but serve would refuse it: WeCom takes words of 32 characters at most.
		{"blocking WeCom would not take", "[[rule]]\nid = \"x\"\nkind = \"lexicon\"\nseverity = \"high\"\nblock = true\nterms = [\"" + strings.Repeat("长", 33) + "\"]\n", 1, "blocking rules WeCom would not take"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "c.toml")
			body := string(base) + "\n[rules]\nfile = " + tomlLiteral(writeRules(t, tt.rules)) + "\n"
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"check", "-config", cfg}, &out, &errOut, nil)
			if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out.String(), errOut.String())
			}
		})
	}
}

// tomlLiteral quotes a path as a TOML literal string.
func tomlLiteral(s string) string { return "'" + s + "'" }
