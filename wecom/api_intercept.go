package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Chat sensitive-word rules (管理聊天敏感词, 客户联系): WeCom checks what
// members send to customers against them and warns, or warns and blocks.
// Every fact below is from path/95097 (self-built apps; path/95130 is the
// same page for third-party apps):
// https://developer.work.weixin.qq.com/document/path/95097
//
//   - externalcontact/add_intercept_rule      POST {rule_name, word_list,
//     semantics_list, intercept_type, applicable_range{user_list,
//     department_list}} → {rule_id}
//   - externalcontact/get_intercept_rule_list GET → {rule_list[{rule_id,
//     rule_name, create_time}]}
//   - externalcontact/get_intercept_rule      POST {rule_id} → {rule{…}}
//   - externalcontact/update_intercept_rule   POST {rule_id, rule_name,
//     word_list, extra_rule{semantics_list}, intercept_type,
//     add_applicable_range, remove_applicable_range}
//   - externalcontact/del_intercept_rule      POST {rule_id}
//
// "应用只可修改/删除应用自己创建的敏感词规则": an app may update and delete
// only the rules it created, so a corp must keep calling with the same
// app. The page asks for an app configured in 「客户联系 可调用接口的应用」
// and says system-app secrets (the 客户联系 secret) no longer work for
// corps created after 2023-12-01, so the self-built app's token is used
// first and the customer secret only when no app secret is configured.
var interceptApps = []string{AppMessages, AppCustomer}

// Limits of path/95097 (add_intercept_rule and update_intercept_rule).
const (
	// MaxInterceptRuleNameRunes: "rule_name 规则名称，长度1~20个utf8字符".
	MaxInterceptRuleNameRunes = 20
	// MaxInterceptWordRunes: "敏感词长度1~32个utf8字符" (get_intercept_rule's
	// table says "不能超过30个字符"; the request limit, 32, is the one
	// enforced, see docs/wecom-intercept.md).
	MaxInterceptWordRunes = 32
	// MaxInterceptWords: "word_list … 列表大小不能超过300个".
	MaxInterceptWords = 300
	// MaxInterceptRangeNodes: user_list and department_list "最多支持传
	// 1000个节点" (add: applicable_range; update: per call, in
	// add_applicable_range and remove_applicable_range).
	MaxInterceptRangeNodes = 1000
	// MaxInterceptRuleUsers: update's add_applicable_range.user_list:
	// "该规则最多可包含的userid总数上限为10000个".
	MaxInterceptRuleUsers = 10000
	// MaxInterceptRules: "企业敏感词规则条数上限为100个".
	MaxInterceptRules = 100
)

// Intercept types (intercept_type): "1:警告并拦截发送；2:仅发警告".
const (
	InterceptWarnAndBlock = 1
	InterceptWarnOnly     = 2
)

// Semantics (semantics_list): "额外的拦截语义规则，1：手机号、2：邮箱地址、3：红包".
const (
	InterceptSemanticsMobile    = 1
	InterceptSemanticsEmail     = 2
	InterceptSemanticsRedPacket = 3
)

// InterceptRange is an applicable_range (or add_/remove_applicable_range):
// the members and departments a rule applies to.
type InterceptRange struct {
	UserList       []string `json:"user_list,omitempty"`
	DepartmentList []int64  `json:"department_list,omitempty"`
}

// Empty reports whether r names no member and no department.
func (r InterceptRange) Empty() bool { return len(r.UserList) == 0 && len(r.DepartmentList) == 0 }

// InterceptRule is a sensitive-word rule as add_intercept_rule takes it
// and get_intercept_rule returns it.
type InterceptRule struct {
	RuleID        string // WeCom's rule_id; empty when adding
	RuleName      string
	WordList      []string
	SemanticsList []int
	InterceptType int // InterceptWarnAndBlock or InterceptWarnOnly
	// ApplicableRange: get_intercept_rule returns only the members and
	// departments in the app's visible range ("使用范围只返回应用可见范围内
	// 的成员跟部门").
	ApplicableRange InterceptRange
	CreateTime      int64 // Unix seconds; get only
}

// InterceptRuleSummary is one entry of get_intercept_rule_list.
type InterceptRuleSummary struct {
	RuleID     string
	RuleName   string
	CreateTime int64 // Unix seconds
}

// InterceptRuleUpdate is update_intercept_rule's request. "除rule_id外，
// 需要更新的字段才填": a zero field is left as it is.
type InterceptRuleUpdate struct {
	RuleID   string
	RuleName string // "" keeps the name
	// WordList replaces the rule's words; nil or empty keeps them ("若为空
	// 忽略该字段").
	WordList []string
	// SemanticsList, if not nil, replaces the semantics: an empty, non-nil
	// slice clears them ("若为空表示清除所有的语义规则"). Sent as
	// extra_rule.semantics_list.
	SemanticsList []int
	InterceptType int // 0 keeps the type
	// AddRange and RemoveRange add members/departments to and remove them
	// from the rule's applicable range.
	AddRange    InterceptRange
	RemoveRange InterceptRange
}

// interceptRuleID is a rule_id as WeCom writes it: a string in the add and
// list answers, but a number in get_intercept_rule's example ("rule_id":1).
// Both decode.
type interceptRuleID string

func (id *interceptRuleID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = interceptRuleID(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*id = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("rule_id: want a string or a number, got %s", b)
	}
	if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
		return fmt.Errorf("rule_id: want a string or an integer, got %s", b)
	}
	*id = interceptRuleID(n.String())
	return nil
}

// AddInterceptRule creates a rule (externalcontact/add_intercept_rule)
// and returns its rule_id. r.RuleID must be empty.
func (c *Client) AddInterceptRule(ctx context.Context, r InterceptRule) (string, error) {
	const op = "externalcontact/add_intercept_rule"
	if r.RuleID != "" {
		return "", invalid(op, "rule_id", "must be empty when adding (WeCom assigns it)")
	}
	if err := checkInterceptName(op, r.RuleName, true); err != nil {
		return "", err
	}
	if len(r.WordList) == 0 {
		return "", invalid(op, "word_list", "missing: a rule needs at least one word")
	}
	if err := checkInterceptWords(op, r.WordList); err != nil {
		return "", err
	}
	if err := checkInterceptSemantics(op, r.SemanticsList); err != nil {
		return "", err
	}
	if err := checkInterceptType(op, r.InterceptType, true); err != nil {
		return "", err
	}
	if r.ApplicableRange.Empty() {
		return "", invalid(op, "applicable_range", "user_list and department_list are both empty (userid与department不能同时为不填)")
	}
	if err := checkInterceptRange(op, "applicable_range", r.ApplicableRange); err != nil {
		return "", err
	}
	req := struct {
		RuleName        string         `json:"rule_name"`
		WordList        []string       `json:"word_list"`
		SemanticsList   []int          `json:"semantics_list,omitempty"`
		InterceptType   int            `json:"intercept_type"`
		ApplicableRange InterceptRange `json:"applicable_range"`
	}{r.RuleName, r.WordList, r.SemanticsList, r.InterceptType, r.ApplicableRange}
	var out struct {
		RuleID interceptRuleID `json:"rule_id"`
	}
	if err := c.postJSON(ctx, op, interceptApps, req, &out); err != nil {
		return "", err
	}
	if out.RuleID == "" {
		return "", &ResponseError{Op: op, Reason: "no rule_id in the answer"}
	}
	return string(out.RuleID), nil
}

// ListInterceptRules returns every rule of the corp, whoever created it
// (externalcontact/get_intercept_rule_list: "可获取企业所有敏感词规则").
func (c *Client) ListInterceptRules(ctx context.Context) ([]InterceptRuleSummary, error) {
	const op = "externalcontact/get_intercept_rule_list"
	var out struct {
		RuleList []struct {
			RuleID     interceptRuleID `json:"rule_id"`
			RuleName   string          `json:"rule_name"`
			CreateTime int64           `json:"create_time"`
		} `json:"rule_list"`
	}
	if err := c.call(ctx, request{op: op, apps: interceptApps, method: http.MethodGet}, &out); err != nil {
		return nil, err
	}
	rules := make([]InterceptRuleSummary, 0, len(out.RuleList))
	for _, r := range out.RuleList {
		rules = append(rules, InterceptRuleSummary{RuleID: string(r.RuleID), RuleName: r.RuleName, CreateTime: r.CreateTime})
	}
	return rules, nil
}

// GetInterceptRule reads one rule (externalcontact/get_intercept_rule).
func (c *Client) GetInterceptRule(ctx context.Context, ruleID string) (*InterceptRule, error) {
	const op = "externalcontact/get_intercept_rule"
	if ruleID == "" {
		return nil, invalid(op, "rule_id", "missing")
	}
	var out struct {
		Rule *struct {
			RuleID        interceptRuleID `json:"rule_id"`
			RuleName      string          `json:"rule_name"`
			WordList      []string        `json:"word_list"`
			SemanticsList []int           `json:"semantics_list"`
			// The answer's table lists extra_rule beside semantics_list,
			// its example puts semantics_list at the top: both are read.
			ExtraRule *struct {
				SemanticsList []int `json:"semantics_list"`
			} `json:"extra_rule"`
			InterceptType   int            `json:"intercept_type"`
			ApplicableRange InterceptRange `json:"applicable_range"`
			CreateTime      int64          `json:"create_time"`
		} `json:"rule"`
	}
	body := struct {
		RuleID string `json:"rule_id"`
	}{ruleID}
	if err := c.postJSON(ctx, op, interceptApps, body, &out); err != nil {
		return nil, err
	}
	if out.Rule == nil {
		return nil, &ResponseError{Op: op, Reason: "no rule in the answer"}
	}
	r := out.Rule
	sem := r.SemanticsList
	if len(sem) == 0 && r.ExtraRule != nil {
		sem = r.ExtraRule.SemanticsList
	}
	return &InterceptRule{
		RuleID: string(r.RuleID), RuleName: r.RuleName, WordList: r.WordList, SemanticsList: sem,
		InterceptType: r.InterceptType, ApplicableRange: r.ApplicableRange, CreateTime: r.CreateTime,
	}, nil
}

// UpdateInterceptRule changes a rule the calling app created
// (externalcontact/update_intercept_rule).
func (c *Client) UpdateInterceptRule(ctx context.Context, u InterceptRuleUpdate) error {
	const op = "externalcontact/update_intercept_rule"
	if u.RuleID == "" {
		return invalid(op, "rule_id", "missing")
	}
	if err := checkInterceptName(op, u.RuleName, false); err != nil {
		return err
	}
	if err := checkInterceptWords(op, u.WordList); err != nil {
		return err
	}
	if err := checkInterceptSemantics(op, u.SemanticsList); err != nil {
		return err
	}
	if err := checkInterceptType(op, u.InterceptType, false); err != nil {
		return err
	}
	if err := checkInterceptRange(op, "add_applicable_range", u.AddRange); err != nil {
		return err
	}
	if err := checkInterceptRange(op, "remove_applicable_range", u.RemoveRange); err != nil {
		return err
	}
	type extraRule struct {
		SemanticsList []int `json:"semantics_list"`
	}
	req := struct {
		RuleID        string          `json:"rule_id"`
		RuleName      string          `json:"rule_name,omitempty"`
		WordList      []string        `json:"word_list,omitempty"`
		ExtraRule     *extraRule      `json:"extra_rule,omitempty"`
		InterceptType int             `json:"intercept_type,omitempty"`
		AddRange      *InterceptRange `json:"add_applicable_range,omitempty"`
		RemoveRange   *InterceptRange `json:"remove_applicable_range,omitempty"`
	}{RuleID: u.RuleID, RuleName: u.RuleName, WordList: u.WordList, InterceptType: u.InterceptType}
	if u.SemanticsList != nil {
		req.ExtraRule = &extraRule{SemanticsList: u.SemanticsList}
	}
	if !u.AddRange.Empty() {
		req.AddRange = &u.AddRange
	}
	if !u.RemoveRange.Empty() {
		req.RemoveRange = &u.RemoveRange
	}
	return c.postJSON(ctx, op, interceptApps, req, nil)
}

// DeleteInterceptRule deletes a rule the calling app created
// (externalcontact/del_intercept_rule).
func (c *Client) DeleteInterceptRule(ctx context.Context, ruleID string) error {
	const op = "externalcontact/del_intercept_rule"
	if ruleID == "" {
		return invalid(op, "rule_id", "missing")
	}
	body := struct {
		RuleID string `json:"rule_id"`
	}{ruleID}
	return c.postJSON(ctx, op, interceptApps, body, nil)
}

func checkInterceptName(op, name string, required bool) error {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return invalid(op, "rule_name", "not valid UTF-8")
	case n == 0 && required:
		return invalid(op, "rule_name", "missing")
	case n > MaxInterceptRuleNameRunes:
		return invalid(op, "rule_name", "%q is %d characters, at most %d", name, n, MaxInterceptRuleNameRunes)
	}
	return nil
}

func checkInterceptWords(op string, words []string) error {
	if len(words) > MaxInterceptWords {
		return invalid(op, "word_list", "%d words, at most %d", len(words), MaxInterceptWords)
	}
	for i, w := range words {
		n := utf8.RuneCountInString(w)
		switch {
		case !utf8.ValidString(w):
			return invalid(op, fmt.Sprintf("word_list[%d]", i), "not valid UTF-8")
		case n == 0:
			return invalid(op, fmt.Sprintf("word_list[%d]", i), "empty word")
		case n > MaxInterceptWordRunes:
			return invalid(op, fmt.Sprintf("word_list[%d]", i), "%q is %d characters, at most %d", w, n, MaxInterceptWordRunes)
		}
	}
	return nil
}

func checkInterceptSemantics(op string, sem []int) error {
	for i, v := range sem {
		if v < InterceptSemanticsMobile || v > InterceptSemanticsRedPacket {
			return invalid(op, fmt.Sprintf("semantics_list[%d]", i), "%d: must be 1 (mobile), 2 (e-mail) or 3 (red packet)", v)
		}
	}
	return nil
}

func checkInterceptType(op string, t int, required bool) error {
	if t == 0 && !required {
		return nil
	}
	if t != InterceptWarnAndBlock && t != InterceptWarnOnly {
		return invalid(op, "intercept_type", "%d: must be 1 (warn and block) or 2 (warn only)", t)
	}
	return nil
}

func checkInterceptRange(op, field string, r InterceptRange) error {
	if len(r.UserList) > MaxInterceptRangeNodes {
		return invalid(op, field+".user_list", "%d members, at most %d a call", len(r.UserList), MaxInterceptRangeNodes)
	}
	if len(r.DepartmentList) > MaxInterceptRangeNodes {
		return invalid(op, field+".department_list", "%d departments, at most %d a call", len(r.DepartmentList), MaxInterceptRangeNodes)
	}
	for i, u := range r.UserList {
		if u == "" {
			return invalid(op, fmt.Sprintf("%s.user_list[%d]", field, i), "empty userid")
		}
	}
	for i, d := range r.DepartmentList {
		if d <= 0 {
			return invalid(op, fmt.Sprintf("%s.department_list[%d]", field, i), "%d: department ids are positive", d)
		}
	}
	return nil
}
