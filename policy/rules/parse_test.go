package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// rule is a minimal valid lexicon rule with id and extra lines.
func rule(id, extra string) string {
	return "[[rule]]\nid = \"" + id + "\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"x1\"]\n" + extra + "\n"
}

// loadFile parses the rule file at path, its terms files read from its
// directory.
func loadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFS(data, os.DirFS(filepath.Dir(path)))
}

func mustParse(t *testing.T, src string) *Set {
	t.Helper()
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// TestParseProblems: each mistake is reported with the line it is on,
// the rule's id and the key.
func TestParseProblems(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      string // a Problem's String()
	}{
		{"bad TOML names the line", "[[rule]]\nid = \"a\"\nkind = lexicon\n", "line 3: "},
		{"wrong type names the line, rule and key", rule("a", "block = 1"), `line 6: rule "a": block: incompatible types`},
		{"missing id", "[[rule]]\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"a\"]\n", `line 1: id: is required (rule number 1)`},
		{"bad id", rule("A B", ""), `line 2: rule "A B": id: must be 1 to 64`},
		{"duplicate id", rule("a", "") + rule("a", ""), `line 7: rule "a": id: already used by the rule on line 1`},
		{"unknown kind", "[[rule]]\nid = \"a\"\nkind = \"word\"\nseverity = \"low\"\n", `line 3: rule "a": kind: must be lexicon, regex or pii, got "word"`},
		{"missing kind", "[[rule]]\nid = \"a\"\nseverity = \"low\"\n", `line 1: rule "a": kind: is required`},
		{"bad severity", "[[rule]]\nid = \"a\"\nkind = \"lexicon\"\nseverity = \"urgent\"\nterms = [\"t\"]\n", `line 4: rule "a": severity: must be low, medium, high or critical, got "urgent"`},
		{"bad action", rule("a", "action = \"page\""), `line 6: rule "a": action: must be alert, notify_sender or digest_only, got "page"`},
		{"block on regex", "[[rule]]\nid = \"r\"\nkind = \"regex\"\nseverity = \"low\"\npatterns = ['a']\nblock = true\n", `line 6: rule "r": block: only lexicon rules can block`},
		{"block on pii", "[[rule]]\nid = \"p\"\nkind = \"pii\"\nseverity = \"low\"\ndetectors = ['email']\n\nblock = true\n", `line 7: rule "p": block: only lexicon rules can block`},
		{"block scoped by tags", rule("a", "block = true\n[rule.scope]\ntags = [41]"), `line 6: rule "a": block: a blocking rule cannot be scoped by tags`},
		{"block scoped to internal chats", rule("a", "block = true\n[rule.scope]\nchats = [\"internal\"]"), `line 6: rule "a": block: a blocking rule must apply to external chats`},
		{"block scoped to inbound messages", rule("a", "block = true\n[rule.scope]\ndirection = [\"inbound\"]"), `line 6: rule "a": block: a blocking rule must apply to outbound messages`},
		{"block scoped to images", rule("a", "block = true\n[rule.scope]\nmsgtypes = [\"image\"]"), `line 6: rule "a": block: a blocking rule must apply to text messages`},
		{"no terms", "[[rule]]\nid = \"a\"\nkind = \"lexicon\"\nseverity = \"low\"\n", `line 1: rule "a": terms: a lexicon rule needs at least one term`},
		{"empty term", "[[rule]]\nid = \"a\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"ok\", \"  \"]\n", `line 5: rule "a": terms: a term must not be empty`},
		{"terms on regex", "[[rule]]\nid = \"r\"\nkind = \"regex\"\nseverity = \"low\"\npatterns = ['a']\nterms = ['b']\n", `line 6: rule "r": terms: only lexicon rules have terms`},
		{"bad regex", "[[rule]]\nid = \"r\"\nkind = \"regex\"\nseverity = \"low\"\npatterns = ['ok', '(?<x']\n", `line 5: rule "r": patterns: pattern 2: error parsing regexp`},
		{"no patterns", "[[rule]]\nid = \"r\"\nkind = \"regex\"\nseverity = \"low\"\n", `line 1: rule "r": patterns: a regex rule needs at least one pattern`},
		{"unknown detector", "[[rule]]\nid = \"p\"\nkind = \"pii\"\nseverity = \"low\"\ndetectors = ['passport']\n", `line 5: rule "p": detectors: unknown detector "passport"`},
		{"detector twice", "[[rule]]\nid = \"p\"\nkind = \"pii\"\nseverity = \"low\"\ndetectors = ['email', 'email']\n", `line 5: rule "p": detectors: "email" is listed twice`},
		{"bad chat", rule("a", "[rule.scope]\nchats = [\"group\"]"), `line 7: rule "a": scope.chats: must be internal or external, got "group"`},
		{"bad direction", rule("a", "[rule.scope]\ndirection = [\"sent\"]"), `line 7: rule "a": scope.direction: must be outbound (sent by an employee) or inbound (sent by a customer), got "sent"`},
		{"bad department", rule("a", "[rule.scope]\ndepartments = [0]"), `line 7: rule "a": scope.departments: department ids are positive, got 0`},
		{"department name", rule("a", "[rule.scope]\ndepartments = [\"销售部\"]"), `line 7: rule "a": scope.departments: departments are department ids (numbers), not names: incompatible types`},
		{"bad tag", rule("a", "[rule.scope]\ntags = [-2]"), `line 7: rule "a": scope.tags: tag ids are positive, got -2`},
		{"tag name", rule("a", "[rule.scope]\ntags = [\"理财顾问\"]"), `line 7: rule "a": scope.tags: tags are tag ids (numbers), not names: incompatible types`},
		{"unknown key", rule("a", "[rule.scope]\nchatz = [\"external\"]"), `line 7: rule "a": scope.chatz: unknown key`},
		{"terms_file without a file system", rule("a", "terms_file = \"more.txt\""), `line 6: rule "a": terms_file: cannot be read here`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse = %v, want *Error", err)
			}
			for _, p := range perr.Problems {
				if strings.HasPrefix(p.String(), tt.want) {
					return
				}
			}
			t.Errorf("problems %q, want one starting %q", perr.Problems, tt.want)
		})
	}
}

// TestParseFSTermsFile: terms_file adds terms (comments and blank lines
// skipped); a path out of the directory is refused.
func TestParseFSTermsFile(t *testing.T) {
	fsys := fstest.MapFS{"lex/insider.txt": {Data: []byte("# insider terms\n内幕消息\n\n  inside information  \n")}}
	s, err := ParseFS([]byte(rule("a", "terms_file = \"lex/insider.txt\"")), fsys)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.Rule("a")
	if got := strings.Join(r.Terms, "|"); got != "x1|内幕消息|inside information" {
		t.Errorf("terms = %q", got)
	}
	for _, tt := range []struct{ file, want string }{
		{"../etc/passwd", "must be a relative path below the rule file's directory"},
		{"missing.txt", "file does not exist"},
	} {
		_, err := ParseFS([]byte(rule("a", "terms_file = \""+tt.file+"\"")), fsys)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "line 6") {
			t.Errorf("terms_file %q: err = %v, want line 6 and %q", tt.file, err, tt.want)
		}
	}
}

// TestVersion: a rule's version changes with what it matches and how a
// hit is handled, not with samples, descriptions or term order.
func TestVersion(t *testing.T) {
	base := "[[rule]]\nid = \"a\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"保本\", \"稳赚\", \"abc\"]\n"
	v := func(src string) string {
		t.Helper()
		r, _ := mustParse(t, src).Rule("a")
		return r.Version
	}
	v0 := v(base)
	for _, tt := range []struct {
		name, src string
		same      bool
	}{
		{"terms reordered", strings.Replace(base, `["保本", "稳赚", "abc"]`, `["abc", "稳赚", "保本"]`, 1), true},
		{"a term repeated", strings.Replace(base, `"保本"`, `"保本", "保本"`, 1), true},
		{"a term in another case or width", strings.Replace(base, `"abc"`, `"ＡＢＣ", "Abc"`, 1), true},
		{"samples and description", base + "description = \"d\"\n[rule.samples]\nmatch = [\"保本\"]\n", true},
		{"block", base + "block = true\n", true},
		{"a term added", strings.Replace(base, `"保本"`, `"保本", "保息"`, 1), false},
		{"severity", strings.Replace(base, `"low"`, `"high"`, 1), false},
		{"action", base + "action = \"digest_only\"\n", false},
		{"scope", base + "[rule.scope]\nchats = [\"external\"]\n", false},
		{"traditional folding off", "fold_traditional = false\n" + base, false},
	} {
		if got := v(tt.src); (got == v0) != tt.same {
			t.Errorf("%s: version %s vs %s, want same=%v", tt.name, got, v0, tt.same)
		}
	}
	if len(v0) != 16 {
		t.Errorf("version %q: want 16 hex digits", v0)
	}
}

// TestBlocked: only lexicon rules with block = true, terms as written,
// with the departments of their scope.
func TestBlocked(t *testing.T) {
	s := mustParse(t, rule("a", "block = true")+rule("b", "")+
		"[[rule]]\nid = \"c\"\nkind = \"lexicon\"\nseverity = \"high\"\nblock = true\nterms = [\"加我微信\", \"加我微信\", \"Add Me\"]\n[rule.scope]\ndepartments = [3, 7]\n")
	got := s.Blocked()
	if len(got) != 2 || got[0].RuleID != "a" || got[1].RuleID != "c" || strings.Join(got[1].Terms, "|") != "加我微信|Add Me" {
		t.Fatalf("Blocked = %+v", got)
	}
	if len(got[0].Departments) != 0 || !slices.Equal(got[1].Departments, []int64{3, 7}) {
		t.Errorf("departments %v and %v, want none and [3 7]", got[0].Departments, got[1].Departments)
	}
}

// TestCheckSamples: a sample that misses, one that hits when it must
// not, and a rule without samples are failures; scope is set aside.
func TestCheckSamples(t *testing.T) {
	s := mustParse(t, `
[[rule]]
id = "ok"
kind = "lexicon"
severity = "low"
terms = ["稳赚不赔"]
[rule.scope]
chats = ["external"]
[rule.samples]
match = ["稳赚不赔哦"]
no_match = ["稳赚"]

[[rule]]
id = "bad"
kind = "regex"
severity = "low"
patterns = ['\d{3}']
[rule.samples]
match = ["12"]
no_match = ["123"]

[[rule]]
id = "none"
kind = "pii"
severity = "low"
detectors = ["email"]
`)
	fails, err := s.CheckSamples()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fails {
		got = append(got, f.String())
	}
	want := []string{
		`line 13: rule "bad": samples.match "12": no hit`,
		`line 13: rule "bad": samples.no_match "123": hit "123"`,
		`line 22: rule "none": samples.match "(samples.match is empty)": no hit`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRequiredLiterals: the prefilter literals of a regex, or nil when
// it must run on every message.
func TestRequiredLiterals(t *testing.T) {
	for _, tt := range []struct{ pattern, want string }{
		{`保证.{0,8}收益`, "保证"},
		{`(?i)guarantee[ds]?\s+\d+%`, "guarantee"},
		{`(保本|保息)\d+`, "保息|保本"},
		{`[保包]赚`, "保赚|包赚"},
		{`(年化)+收益率`, "收益率"},
		{`\d{11}`, ""},
		{`a*b?`, ""},
		{`(foo|\d+)bar`, "bar"},
		{`(foo|\d+)`, ""},
		{`\bvx[:：]`, "vx:|vx："},
		{`(a.b)c`, "a"},
		{`^(ab)+cd`, "ab"},
		{`x{0,3}`, ""},
	} {
		// (?i) literals come back as the parser keeps them; Scan folds them.
		if got := strings.ToLower(strings.Join(requiredLiterals(tt.pattern), "|")); got != tt.want {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}
