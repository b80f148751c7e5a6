package wecomtest_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func interceptAdd(name string, words []string, users []string, depts []int64) map[string]any {
	rng := map[string]any{}
	if users != nil {
		rng["user_list"] = users
	}
	if depts != nil {
		rng["department_list"] = depts
	}
	return map[string]any{"rule_name": name, "word_list": words, "intercept_type": 1, "applicable_range": rng}
}

func manyWords(n, runes int) []string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("%0*d", runes, i)
	}
	return w
}

// TestInterceptRuleValidation: each of path/95097's rules on
// add_intercept_rule, and the errcode the fake answers for it.
func TestInterceptRuleValidation(t *testing.T) {
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"the documented example (members and departments exist)", map[string]any{
			"rule_name": "rulename", "word_list": []string{"敏感词1", "敏感词2"}, "semantics_list": []int{1, 2, 3},
			"intercept_type": 1, "applicable_range": map[string]any{"user_list": []string{"zhangsan"}, "department_list": []int{2, 3}},
		}, 0},
		{"name of 20 characters", interceptAdd(strings.Repeat("规", 20), []string{"w"}, []string{"lisi"}, nil), 0},
		{"name of 21 characters", interceptAdd(strings.Repeat("规", 21), []string{"w"}, []string{"lisi"}, nil), 40058},
		{"no name", interceptAdd("", []string{"w"}, []string{"lisi"}, nil), 40058},
		{"300 words of 32 characters", interceptAdd("r", manyWords(300, 32), nil, []int64{1}), 0},
		{"301 words", interceptAdd("r", manyWords(301, 3), nil, []int64{1}), 40058},
		{"a word of 33 characters", interceptAdd("r", []string{strings.Repeat("词", 33)}, nil, []int64{1}), 40058},
		{"no words", interceptAdd("r", nil, nil, []int64{1}), 40058},
		{"an empty word", interceptAdd("r", []string{""}, nil, []int64{1}), 40058},
		{"empty range", interceptAdd("r", []string{"w"}, nil, nil), 40058},
		{"1001 departments", interceptAdd("r", []string{"w"}, nil, make([]int64, 1001)), 40058},
		{"unknown member", interceptAdd("r", []string{"w"}, []string{"nobody"}, nil), 40031},
		{"member who left", interceptAdd("r", []string{"w"}, []string{"left"}, nil), 40031},
		{"unknown department", interceptAdd("r", []string{"w"}, nil, []int64{99}), 60123},
		{"intercept_type 3", map[string]any{"rule_name": "r", "word_list": []string{"w"}, "intercept_type": 3, "applicable_range": map[string]any{"department_list": []int{1}}}, 40058},
		{"semantics 4", map[string]any{"rule_name": "r", "word_list": []string{"w"}, "semantics_list": []int{4}, "intercept_type": 2, "applicable_range": map[string]any{"department_list": []int{1}}}, 40058},
		{"word_list not an array", map[string]any{"rule_name": "r", "word_list": "w", "intercept_type": 1, "applicable_range": map[string]any{"department_list": []int{1}}}, 40058},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			m := f.post("app", "externalcontact/add_intercept_rule", tt.body)
			wantErrcode(t, m, tt.want)
			rules := f.s.InterceptRules()
			if tt.want == 0 && (len(rules) != 1 || m["rule_id"] != rules[0].RuleID) {
				t.Errorf("answer %v, rules %v: want one rule with the answered rule_id", m, rules)
			}
			if tt.want != 0 && len(rules) != 0 {
				t.Errorf("a refused add left rules %v", rules)
			}
		})
	}
}

// TestInterceptRuleLifecycle: add, list, get, update with add/remove
// ranges, delete, as path/95097 describes them.
func TestInterceptRuleLifecycle(t *testing.T) {
	f := newFake(t)
	m := f.post("app", "externalcontact/add_intercept_rule", interceptAdd("保本", []string{"保本", "保收益"}, []string{"zhangsan", "LISI"}, []int64{2}))
	wantErrcode(t, m, 0)
	id, _ := m["rule_id"].(string)

	list := f.get("app", "externalcontact/get_intercept_rule_list", nil)
	wantErrcode(t, list, 0)
	want := []any{map[string]any{"rule_id": id, "rule_name": "保本", "create_time": float64(f.clk.Now().Unix())}}
	if !reflect.DeepEqual(list["rule_list"], want) {
		t.Errorf("rule_list = %v, want %v", list["rule_list"], want)
	}

	get := f.post("app", "externalcontact/get_intercept_rule", map[string]any{"rule_id": id})
	wantErrcode(t, get, 0)
	rule := get["rule"].(map[string]any)
	if rule["rule_id"] != id || !reflect.DeepEqual(rule["word_list"], []any{"保本", "保收益"}) || rule["intercept_type"] != float64(1) ||
		!reflect.DeepEqual(rule["applicable_range"], map[string]any{"user_list": []any{"zhangsan", "lisi"}, "department_list": []any{float64(2)}}) {
		t.Errorf("rule = %v (userids spelt as in the directory)", rule)
	}

	// Words replaced, lisi and department 2 removed, wangwu and 4 added,
	// semantics set; the name and type are left alone.
	wantErrcode(t, f.post("app", "externalcontact/update_intercept_rule", map[string]any{
		"rule_id": id, "word_list": []string{"保本保收益"}, "extra_rule": map[string]any{"semantics_list": []int{1}},
		"add_applicable_range":    map[string]any{"user_list": []string{"wangwu"}, "department_list": []int{4}},
		"remove_applicable_range": map[string]any{"user_list": []string{"lisi"}, "department_list": []int{2}},
	}), 0)
	got := f.s.InterceptRules()[0]
	if got.RuleName != "保本" || !reflect.DeepEqual(got.WordList, []string{"保本保收益"}) || !reflect.DeepEqual(got.SemanticsList, []int{1}) ||
		!reflect.DeepEqual(got.UserList, []string{"zhangsan", "wangwu"}) || !reflect.DeepEqual(got.DepartmentList, []int64{4}) || got.InterceptType != 1 {
		t.Errorf("after update: %+v", got)
	}

	// An empty word_list is ignored; an empty extra_rule.semantics_list
	// clears the semantics.
	wantErrcode(t, f.post("app", "externalcontact/update_intercept_rule", map[string]any{
		"rule_id": id, "word_list": []string{}, "extra_rule": map[string]any{"semantics_list": []int{}}, "intercept_type": 2,
	}), 0)
	got = f.s.InterceptRules()[0]
	if !reflect.DeepEqual(got.WordList, []string{"保本保收益"}) || len(got.SemanticsList) != 0 || got.InterceptType != 2 {
		t.Errorf("after the second update: %+v", got)
	}

	updates := []struct {
		name string
		body map[string]any
		want int
	}{
		{"no rule_id", map[string]any{"rule_name": "x"}, 40058},
		{"unknown rule_id", map[string]any{"rule_id": "nope"}, 40058},
		{"a word too long", map[string]any{"rule_id": id, "word_list": []string{strings.Repeat("a", 33)}}, 40058},
		{"range emptied", map[string]any{"rule_id": id, "remove_applicable_range": map[string]any{"user_list": []string{"zhangsan", "wangwu"}, "department_list": []int{4}}}, 40058},
		{"unknown member added", map[string]any{"rule_id": id, "add_applicable_range": map[string]any{"user_list": []string{"nobody"}}}, 40031},
	}
	for _, u := range updates {
		if m := f.post("app", "externalcontact/update_intercept_rule", u.body); errcode(m) != u.want {
			t.Errorf("update %s: errcode %d, want %d", u.name, errcode(m), u.want)
		}
	}
	if after := f.s.InterceptRules()[0]; !reflect.DeepEqual(after, got) {
		t.Errorf("refused updates changed the rule: %+v, was %+v", after, got)
	}

	wantErrcode(t, f.post("app", "externalcontact/del_intercept_rule", map[string]any{"rule_id": id}), 0)
	wantErrcode(t, f.post("app", "externalcontact/get_intercept_rule", map[string]any{"rule_id": id}), 40058)
	wantErrcode(t, f.post("app", "externalcontact/del_intercept_rule", map[string]any{"rule_id": id}), 40058)
	if n := len(f.s.InterceptRules()); n != 0 {
		t.Errorf("%d rules after delete", n)
	}
}

// TestInterceptRuleOwnership: "应用只可修改/删除应用自己创建的敏感词规则"; a
// rule from the admin console is listed but belongs to no app.
func TestInterceptRuleOwnership(t *testing.T) {
	f := newFake(t)
	m := f.post("app", "externalcontact/add_intercept_rule", interceptAdd("ours", []string{"w"}, nil, []int64{1}))
	ours, _ := m["rule_id"].(string)
	console := f.s.AddConsoleInterceptRule(wecomtest.InterceptRule{RuleName: "admin", WordList: []string{"x"}, InterceptType: 2, DepartmentList: []int64{1}})

	tests := []struct {
		app, path, rule string
		want            int
	}{
		{"other", "externalcontact/update_intercept_rule", ours, 48002},
		{"other", "externalcontact/del_intercept_rule", ours, 48002},
		{"customer", "externalcontact/del_intercept_rule", ours, 48002},
		{"app", "externalcontact/update_intercept_rule", console, 48002},
		{"app", "externalcontact/del_intercept_rule", console, 48002},
		{"other", "externalcontact/get_intercept_rule", ours, 0},
		{"app", "externalcontact/get_intercept_rule", console, 0},
		{"contacts", "externalcontact/get_intercept_rule", ours, 48002}, // not a customer-contact secret
	}
	for _, tt := range tests {
		body := map[string]any{"rule_id": tt.rule, "rule_name": "renamed"}
		if m := f.post(tt.app, tt.path, body); errcode(m) != tt.want {
			t.Errorf("%s %s %s: errcode %d, want %d", tt.app, tt.path, tt.rule, errcode(m), tt.want)
		}
	}
	if n := len(f.s.InterceptRules()); n != 2 {
		t.Errorf("%d rules, want 2", n)
	}
	list := f.get("other", "externalcontact/get_intercept_rule_list", nil)
	if rl, _ := list["rule_list"].([]any); len(rl) != 2 {
		t.Errorf("rule_list = %v, want both rules (every rule of the corp)", list["rule_list"])
	}
}

// TestInterceptRuleCorpLimit: "企业敏感词规则条数上限为100个".
func TestInterceptRuleCorpLimit(t *testing.T) {
	f := newFake(t)
	for i := range 100 {
		wantErrcode(t, f.post("app", "externalcontact/add_intercept_rule", interceptAdd(fmt.Sprint("r", i), []string{"w"}, nil, []int64{1})), 0)
	}
	wantErrcode(t, f.post("app", "externalcontact/add_intercept_rule", interceptAdd("r100", []string{"w"}, nil, []int64{1})), 40058)
	if n := len(f.s.InterceptRules()); n != 100 {
		t.Errorf("%d rules, want 100", n)
	}
}

// TestInterceptRuleConsoleHooks: edits and deletes "in the admin console"
// change what the API reports.
func TestInterceptRuleConsoleHooks(t *testing.T) {
	f := newFake(t)
	m := f.post("app", "externalcontact/add_intercept_rule", interceptAdd("r", []string{"a"}, []string{"lisi"}, nil))
	id, _ := m["rule_id"].(string)
	if !f.s.EditInterceptRuleInConsole(id, func(r *wecomtest.InterceptRule) {
		r.WordList = append(r.WordList, "b")
		r.RuleID = "hijacked" // ignored
	}) {
		t.Fatal("EditInterceptRuleInConsole of an existing rule = false")
	}
	get := f.post("app", "externalcontact/get_intercept_rule", map[string]any{"rule_id": id})
	if rule, _ := get["rule"].(map[string]any); !reflect.DeepEqual(rule["word_list"], []any{"a", "b"}) {
		t.Errorf("after a console edit, get = %v", get)
	}
	// Still the app's rule: it may update it.
	wantErrcode(t, f.post("app", "externalcontact/update_intercept_rule", map[string]any{"rule_id": id, "word_list": []string{"a"}}), 0)
	if !f.s.DeleteInterceptRuleInConsole(id) || f.s.DeleteInterceptRuleInConsole(id) {
		t.Error("DeleteInterceptRuleInConsole: want true, then false")
	}
	if f.s.EditInterceptRuleInConsole(id, func(*wecomtest.InterceptRule) {}) {
		t.Error("EditInterceptRuleInConsole of a deleted rule = true")
	}
}
