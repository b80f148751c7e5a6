package wecom

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// interceptCases are the five sensitive-word-rule calls with the requests
// and answers of path/95097's examples (joined into apiCases, so the
// request/answer and errcode tests cover them).
func interceptCases() []apiCase {
	return []apiCase{
		{
			name: "add_intercept_rule",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AddInterceptRule(ctx, InterceptRule{
					RuleName: "rulename", WordList: []string{"敏感词1", "敏感词2"}, SemanticsList: []int{1, 2, 3},
					InterceptType: InterceptWarnAndBlock, ApplicableRange: InterceptRange{UserList: []string{"zhangshan"}, DepartmentList: []int64{2, 3}},
				})
			},
			method: "POST", path: "/cgi-bin/externalcontact/add_intercept_rule",
			body:   `{"rule_name":"rulename","word_list":["敏感词1","敏感词2"],"semantics_list":[1,2,3],"intercept_type":1,"applicable_range":{"user_list":["zhangshan"],"department_list":[2,3]}}`,
			answer: `{"errcode":0,"errmsg":"ok","rule_id":"xxx"}`,
			want:   "xxx",
		},
		{
			name:   "get_intercept_rule_list",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListInterceptRules(ctx) },
			method: "GET", path: "/cgi-bin/externalcontact/get_intercept_rule_list",
			answer: `{"errcode":0,"errmsg":"ok","rule_list":[{"rule_id":"xxxx","rule_name":"rulename","create_time":1600000000}]}`,
			want:   []InterceptRuleSummary{{RuleID: "xxxx", RuleName: "rulename", CreateTime: 1600000000}},
		},
		{
			name:   "get_intercept_rule (rule_id a number, as in the example)",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetInterceptRule(ctx, "xxx") },
			method: "POST", path: "/cgi-bin/externalcontact/get_intercept_rule",
			body:   `{"rule_id":"xxx"}`,
			answer: `{"errcode":0,"errmsg":"ok","rule":{"rule_id":1,"rule_name":"rulename","word_list":["敏感词1","敏感词2"],"semantics_list":[1,2,3],"intercept_type":1,"applicable_range":{"user_list":["zhangshan"],"department_list":[2,3]}}}`,
			want: &InterceptRule{RuleID: "1", RuleName: "rulename", WordList: []string{"敏感词1", "敏感词2"}, SemanticsList: []int{1, 2, 3},
				InterceptType: 1, ApplicableRange: InterceptRange{UserList: []string{"zhangshan"}, DepartmentList: []int64{2, 3}}},
		},
		{
			name:   "get_intercept_rule (semantics under extra_rule, as in the table)",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetInterceptRule(ctx, "r1") },
			method: "POST", path: "/cgi-bin/externalcontact/get_intercept_rule",
			body:   `{"rule_id":"r1"}`,
			answer: `{"errcode":0,"errmsg":"ok","rule":{"rule_id":"r1","rule_name":"n","word_list":["w"],"extra_rule":{"semantics_list":[2]},"intercept_type":2,"applicable_range":{"department_list":[1]},"create_time":1600000001}}`,
			want: &InterceptRule{RuleID: "r1", RuleName: "n", WordList: []string{"w"}, SemanticsList: []int{2},
				InterceptType: 2, ApplicableRange: InterceptRange{DepartmentList: []int64{1}}, CreateTime: 1600000001},
		},
		{
			name: "update_intercept_rule",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.UpdateInterceptRule(ctx, InterceptRuleUpdate{
					RuleID: "xxxx", RuleName: "rulename", WordList: []string{"敏感词1", "敏感词2"}, SemanticsList: []int{1, 2, 3},
					InterceptType: 1,
					AddRange:      InterceptRange{UserList: []string{"zhangshan"}, DepartmentList: []int64{2, 3}},
					RemoveRange:   InterceptRange{UserList: []string{"zhangshan"}, DepartmentList: []int64{2, 3}},
				})
			},
			method: "POST", path: "/cgi-bin/externalcontact/update_intercept_rule",
			body: `{"rule_id":"xxxx","rule_name":"rulename","word_list":["敏感词1","敏感词2"],"extra_rule":{"semantics_list":[1,2,3]},"intercept_type":1,` +
				`"add_applicable_range":{"user_list":["zhangshan"],"department_list":[2,3]},"remove_applicable_range":{"user_list":["zhangshan"],"department_list":[2,3]}}`,
			answer: `{"errcode":0,"errmsg":"ok"}`,
		},
		{
			name: "update_intercept_rule: only what changes is sent",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.UpdateInterceptRule(ctx, InterceptRuleUpdate{RuleID: "r1", RemoveRange: InterceptRange{UserList: []string{"lisi"}}})
			},
			method: "POST", path: "/cgi-bin/externalcontact/update_intercept_rule",
			body:   `{"rule_id":"r1","remove_applicable_range":{"user_list":["lisi"]}}`,
			answer: `{"errcode":0,"errmsg":"ok"}`,
		},
		{
			name:   "del_intercept_rule",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteInterceptRule(ctx, "xxx") },
			method: "POST", path: "/cgi-bin/externalcontact/del_intercept_rule",
			body:   `{"rule_id":"xxx"}`,
			answer: `{"errcode":0,"errmsg":"ok"}`,
		},
	}
}

// interceptInvalidCases are the sensitive-word-rule requests that break
// one of path/95097's rules: each is refused before it is sent, naming
// the field (TestAPIInvalidInput runs them).
func interceptInvalidCases() []invalidCase {
	ctx := context.Background()
	ok := InterceptRule{RuleName: "r", WordList: []string{"w"}, InterceptType: 1, ApplicableRange: InterceptRange{DepartmentList: []int64{1}}}
	add := func(edit func(r *InterceptRule)) func(c *Client) error {
		return func(c *Client) error {
			r := ok
			edit(&r)
			_, err := c.AddInterceptRule(ctx, r)
			return err
		}
	}
	words := func(n int) []string {
		w := make([]string, n)
		for i := range w {
			w[i] = fmt.Sprintf("w%d", i)
		}
		return w
	}
	return []invalidCase{
		{"add with a rule_id", add(func(r *InterceptRule) { r.RuleID = "x" }), "rule_id"},
		{"add without a name", add(func(r *InterceptRule) { r.RuleName = "" }), "rule_name"},
		{"name of 21 characters", add(func(r *InterceptRule) { r.RuleName = strings.Repeat("规", 21) }), "rule_name"},
		{"add without words", add(func(r *InterceptRule) { r.WordList = nil }), "word_list"},
		{"301 words", add(func(r *InterceptRule) { r.WordList = words(301) }), "word_list"},
		{"word of 33 characters", add(func(r *InterceptRule) { r.WordList = []string{"ok", strings.Repeat("词", 33)} }), "word_list[1]"},
		{"empty word", add(func(r *InterceptRule) { r.WordList = []string{""} }), "word_list[0]"},
		{"semantics 4", add(func(r *InterceptRule) { r.SemanticsList = []int{4} }), "semantics_list[0]"},
		{"intercept_type 0", add(func(r *InterceptRule) { r.InterceptType = 0 }), "intercept_type"},
		{"empty range", add(func(r *InterceptRule) { r.ApplicableRange = InterceptRange{} }), "applicable_range"},
		{"1001 users", add(func(r *InterceptRule) { r.ApplicableRange.UserList = words(1001) }), "applicable_range.user_list"},
		{"1001 departments", add(func(r *InterceptRule) { r.ApplicableRange.DepartmentList = make([]int64, 1001) }), "applicable_range.department_list"},
		{"department 0", add(func(r *InterceptRule) { r.ApplicableRange.DepartmentList = []int64{0} }), "applicable_range.department_list[0]"},
		{"update without rule_id", func(c *Client) error { return c.UpdateInterceptRule(ctx, InterceptRuleUpdate{RuleName: "x"}) }, "rule_id"},
		{"update intercept_type 3", func(c *Client) error {
			return c.UpdateInterceptRule(ctx, InterceptRuleUpdate{RuleID: "r", InterceptType: 3})
		}, "intercept_type"},
		{"update adding 1001 users", func(c *Client) error {
			return c.UpdateInterceptRule(ctx, InterceptRuleUpdate{RuleID: "r", AddRange: InterceptRange{UserList: words(1001)}})
		}, "add_applicable_range.user_list"},
		{"update removing an empty userid", func(c *Client) error {
			return c.UpdateInterceptRule(ctx, InterceptRuleUpdate{RuleID: "r", RemoveRange: InterceptRange{UserList: []string{""}}})
		}, "remove_applicable_range.user_list[0]"},
		{"get without rule_id", func(c *Client) error { _, err := c.GetInterceptRule(ctx, ""); return err }, "rule_id"},
		{"delete without rule_id", func(c *Client) error { return c.DeleteInterceptRule(ctx, "") }, "rule_id"},
	}
}

// TestInterceptRuleIDForms: rule_id decodes from a string or an integer,
// and anything else is a malformed answer.
func TestInterceptRuleIDForms(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`"abc"`, "abc", true},
		{`1`, "1", true},
		{`null`, "", true},
		{`1.5`, "", false},
		{`{}`, "", false},
	}
	for _, tt := range tests {
		var id interceptRuleID
		err := id.UnmarshalJSON([]byte(tt.in))
		if (err == nil) != tt.ok || string(id) != tt.want {
			t.Errorf("decode %s = %q, %v; want %q, ok=%v", tt.in, id, err, tt.want, tt.ok)
		}
	}
}

// FuzzInterceptRuleID: any rule_id WeCom sends decodes or fails cleanly,
// and a string decodes to itself.
func FuzzInterceptRuleID(f *testing.F) {
	for _, s := range []string{`"abc"`, `1`, `null`, `1.5`, `{}`, `"`, `-0`, `99999999999999999999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var id interceptRuleID
		_ = id.UnmarshalJSON([]byte(in))
		b, err := json.Marshal(in)
		if err != nil {
			return
		}
		var again interceptRuleID
		if err := again.UnmarshalJSON(b); err != nil || (utf8.ValidString(in) && string(again) != in) {
			t.Errorf("string %q decoded as %q, %v", in, again, err)
		}
	})
}
