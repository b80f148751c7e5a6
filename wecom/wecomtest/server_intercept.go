package wecomtest

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Chat sensitive-word rules (管理聊天敏感词), path/95097:
// externalcontact/add_intercept_rule, get_intercept_rule_list,
// get_intercept_rule, update_intercept_rule and del_intercept_rule.
//
// The page gives the fields and limits but no errcode of its own. The fake
// answers:
//   - 40058 for a field that breaks a documented rule (rule_name 1~20 utf8
//     characters, each word 1~32, at most 300 words, intercept_type 1 or 2,
//     semantics 1..3, range lists at most 1,000 a call, user_list and
//     department_list not both empty): 90313's help for 40058 says an
//     array over its size limit is 40058 too;
//   - 40031 "不合法的UserID列表" for a userid not in the directory (90313:
//     "是否都在应用可见范围之内"; every member is visible here) and 60123
//     "无效的部门id" for an unknown department;
//   - (undocumented; the fake's choice) 40058 for a missing or unknown
//     rule_id, for a 101st rule ("企业敏感词规则条数上限为100个"), for an
//     update that would take a rule over 10,000 userids ("该规则最多可包含
//     的userid总数上限为10000个") or leave its range empty; 48002 for an
//     update or delete of a rule another app (or the admin console)
//     created ("应用只可修改/删除应用自己创建的敏感词规则").
//
// Update applies remove_applicable_range, then add_applicable_range
// (undocumented order). Rule names need not be unique (undocumented).

// InterceptRule is a sensitive-word rule as the fake keeps it.
type InterceptRule struct {
	RuleID         string
	RuleName       string
	WordList       []string
	SemanticsList  []int
	InterceptType  int
	UserList       []string
	DepartmentList []int64
	CreateTime     time.Time
	// CreatedBy is the app (ServerConfig.Apps name) that created the rule,
	// "" for one made in the admin console (AddConsoleInterceptRule).
	CreatedBy string
}

func (r *InterceptRule) clone() InterceptRule {
	c := *r
	c.WordList = slices.Clone(r.WordList)
	c.SemanticsList = slices.Clone(r.SemanticsList)
	c.UserList = slices.Clone(r.UserList)
	c.DepartmentList = slices.Clone(r.DepartmentList)
	return c
}

// interceptState is the corp's rules, in creation order. Its zero value
// is ready.
type interceptState struct {
	rules []*InterceptRule
}

func (is *interceptState) find(id string) (int, *InterceptRule) {
	for i, r := range is.rules {
		if r.RuleID == id {
			return i, r
		}
	}
	return -1, nil
}

// maxInterceptRules: "企业敏感词规则条数上限为100个" (95097).
const maxInterceptRules = 100

// InterceptRules returns a copy of every rule, in creation order.
func (s *Server) InterceptRules() []InterceptRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InterceptRule, 0, len(s.st.intercept.rules))
	for _, r := range s.st.intercept.rules {
		out = append(out, r.clone())
	}
	return out
}

// AddConsoleInterceptRule adds a rule as an administrator would in the
// WeCom admin console (no app created it, so no app may update or delete
// it) and returns its rule_id. Limits are not checked.
func (s *Server) AddConsoleInterceptRule(r InterceptRule) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := r.clone()
	c.RuleID = s.st.randString(24)
	c.CreatedBy = ""
	if c.CreateTime.IsZero() {
		c.CreateTime = s.st.now()
	}
	s.st.intercept.rules = append(s.st.intercept.rules, &c)
	return c.RuleID
}

// EditInterceptRuleInConsole changes a rule as an administrator would in
// the WeCom admin console, whoever created it (drift, for sync tests).
// edit gets a copy; RuleID, CreatedBy and CreateTime stay. It reports
// whether the rule exists.
func (s *Server) EditInterceptRuleInConsole(ruleID string, edit func(*InterceptRule)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r := s.st.intercept.find(ruleID)
	if r == nil {
		return false
	}
	c := r.clone()
	edit(&c)
	c.RuleID, c.CreatedBy, c.CreateTime = r.RuleID, r.CreatedBy, r.CreateTime
	*r = c
	return true
}

// DeleteInterceptRuleInConsole deletes a rule as an administrator would
// in the admin console. It reports whether the rule existed.
func (s *Server) DeleteInterceptRuleInConsole(ruleID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := s.st.intercept.find(ruleID)
	if i < 0 {
		return false
	}
	s.st.intercept.rules = slices.Delete(s.st.intercept.rules, i, i+1)
	return true
}

// interceptRange is applicable_range and its add_/remove_ forms.
type interceptRange struct {
	UserList       []string `json:"user_list,omitempty"`
	DepartmentList []int64  `json:"department_list,omitempty"`
}

func (r *interceptRange) empty() bool {
	return r == nil || len(r.UserList) == 0 && len(r.DepartmentList) == 0
}

// check validates a range's sizes and that its members and departments
// exist, and returns the userids as the directory spells them.
func (c *call) checkRange(field string, r *interceptRange) ([]string, *apiError) {
	if r == nil {
		return nil, nil
	}
	if len(r.UserList) > 1000 || len(r.DepartmentList) > 1000 {
		return nil, fail(40058, field+": user_list and department_list take at most 1000 nodes")
	}
	users := make([]string, 0, len(r.UserList))
	for _, id := range r.UserList {
		m := c.st.dir.member(id)
		if m == nil || !m.active() {
			return nil, fail(40031, "")
		}
		users = append(users, m.u.UserID)
	}
	for _, d := range r.DepartmentList {
		if _, ok := c.st.dir.depts[d]; !ok {
			return nil, fail(60123, "")
		}
	}
	return users, nil
}

func checkRuleName(name string) *apiError {
	if n := utf8.RuneCountInString(name); n < 1 || n > 20 || !utf8.ValidString(name) {
		return fail(40058, "rule_name must be 1~20 utf8 characters")
	}
	return nil
}

func checkWords(words []string) *apiError {
	if len(words) == 0 || len(words) > 300 {
		return fail(40058, "word_list must have 1~300 words")
	}
	for _, w := range words {
		if n := utf8.RuneCountInString(w); n < 1 || n > 32 || !utf8.ValidString(w) {
			return fail(40058, "each word must be 1~32 utf8 characters")
		}
	}
	return nil
}

func checkSemantics(sem []int) *apiError {
	for _, v := range sem {
		if v < 1 || v > 3 {
			return fail(40058, "semantics_list values are 1, 2 or 3")
		}
	}
	return nil
}

func checkInterceptType(t int) *apiError {
	if t != 1 && t != 2 {
		return fail(40058, "intercept_type must be 1 or 2")
	}
	return nil
}

type ruleIDAnswer struct {
	base
	RuleID string `json:"rule_id"`
}

// handleAddInterceptRule is POST externalcontact/add_intercept_rule.
func handleAddInterceptRule(c *call) (result, *apiError) {
	var req struct {
		RuleName        string          `json:"rule_name"`
		WordList        []string        `json:"word_list"`
		SemanticsList   []int           `json:"semantics_list"`
		InterceptType   int             `json:"intercept_type"`
		ApplicableRange *interceptRange `json:"applicable_range"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if e := checkRuleName(req.RuleName); e != nil {
		return nil, e
	}
	if e := checkWords(req.WordList); e != nil {
		return nil, e
	}
	if e := checkSemantics(req.SemanticsList); e != nil {
		return nil, e
	}
	if e := checkInterceptType(req.InterceptType); e != nil {
		return nil, e
	}
	if req.ApplicableRange.empty() {
		return nil, fail(40058, "applicable_range: user_list and department_list cannot both be empty")
	}
	users, e := c.checkRange("applicable_range", req.ApplicableRange)
	if e != nil {
		return nil, e
	}
	if len(c.st.intercept.rules) >= maxInterceptRules {
		return nil, fail(40058, "a corp has at most 100 rules")
	}
	r := &InterceptRule{
		RuleID: c.st.randString(24), RuleName: req.RuleName, WordList: slices.Clone(req.WordList),
		SemanticsList: slices.Clone(req.SemanticsList), InterceptType: req.InterceptType,
		UserList: dedupe(users), DepartmentList: dedupe(req.ApplicableRange.DepartmentList),
		CreateTime: c.now, CreatedBy: c.app.name,
	}
	c.st.intercept.rules = append(c.st.intercept.rules, r)
	return &ruleIDAnswer{RuleID: r.RuleID}, nil
}

// handleListInterceptRules is GET externalcontact/get_intercept_rule_list:
// every rule of the corp ("可获取企业所有敏感词规则"), in creation order.
func handleListInterceptRules(c *call) (result, *apiError) {
	type item struct {
		RuleID     string `json:"rule_id"`
		RuleName   string `json:"rule_name"`
		CreateTime int64  `json:"create_time"`
	}
	out := &struct {
		base
		RuleList []item `json:"rule_list"`
	}{RuleList: []item{}}
	for _, r := range c.st.intercept.rules {
		out.RuleList = append(out.RuleList, item{r.RuleID, r.RuleName, r.CreateTime.Unix()})
	}
	return out, nil
}

// ruleOf decodes {"rule_id"} and finds the rule.
func (c *call) ruleOf() (int, *InterceptRule, *apiError) {
	var req struct {
		RuleID string `json:"rule_id"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return -1, nil, wrongJSON(err)
	}
	if req.RuleID == "" {
		return -1, nil, fail(40058, "rule_id is required")
	}
	i, r := c.st.intercept.find(req.RuleID)
	if r == nil {
		return -1, nil, fail(40058, "rule_id not found")
	}
	return i, r, nil
}

// handleGetInterceptRule is POST externalcontact/get_intercept_rule. The
// answer follows the page's example (semantics_list beside word_list),
// except that rule_id is the string the other calls use (the example
// shows a number).
func handleGetInterceptRule(c *call) (result, *apiError) {
	_, r, e := c.ruleOf()
	if e != nil {
		return nil, e
	}
	type rule struct {
		RuleID          string         `json:"rule_id"`
		RuleName        string         `json:"rule_name"`
		WordList        []string       `json:"word_list"`
		SemanticsList   []int          `json:"semantics_list"`
		InterceptType   int            `json:"intercept_type"`
		ApplicableRange interceptRange `json:"applicable_range"`
		CreateTime      int64          `json:"create_time"`
	}
	sem := r.SemanticsList
	if sem == nil {
		sem = []int{}
	}
	return &struct {
		base
		Rule rule `json:"rule"`
	}{Rule: rule{
		RuleID: r.RuleID, RuleName: r.RuleName, WordList: r.WordList, SemanticsList: sem, InterceptType: r.InterceptType,
		ApplicableRange: interceptRange{UserList: r.UserList, DepartmentList: r.DepartmentList}, CreateTime: r.CreateTime.Unix(),
	}}, nil
}

// handleUpdateInterceptRule is POST externalcontact/update_intercept_rule:
// "除rule_id外，需要更新的字段才填". Nothing changes unless every check
// passes.
func handleUpdateInterceptRule(c *call) (result, *apiError) {
	var req struct {
		RuleID    string   `json:"rule_id"`
		RuleName  *string  `json:"rule_name"`
		WordList  []string `json:"word_list"`
		ExtraRule *struct {
			SemanticsList []int `json:"semantics_list"`
		} `json:"extra_rule"`
		InterceptType int             `json:"intercept_type"`
		AddRange      *interceptRange `json:"add_applicable_range"`
		RemoveRange   *interceptRange `json:"remove_applicable_range"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if req.RuleID == "" {
		return nil, fail(40058, "rule_id is required")
	}
	_, r := c.st.intercept.find(req.RuleID)
	if r == nil {
		return nil, fail(40058, "rule_id not found")
	}
	if r.CreatedBy != c.app.name {
		return nil, fail(48002, "an app may only update the rules it created")
	}
	next := r.clone()
	if req.RuleName != nil {
		if e := checkRuleName(*req.RuleName); e != nil {
			return nil, e
		}
		next.RuleName = *req.RuleName
	}
	if len(req.WordList) > 0 { // "若为空忽略该字段"
		if e := checkWords(req.WordList); e != nil {
			return nil, e
		}
		next.WordList = slices.Clone(req.WordList)
	}
	if req.ExtraRule != nil { // "若为空表示清除所有的语义规则"
		if e := checkSemantics(req.ExtraRule.SemanticsList); e != nil {
			return nil, e
		}
		next.SemanticsList = slices.Clone(req.ExtraRule.SemanticsList)
	}
	if req.InterceptType != 0 {
		if e := checkInterceptType(req.InterceptType); e != nil {
			return nil, e
		}
		next.InterceptType = req.InterceptType
	}
	rmUsers, e := c.checkRange("remove_applicable_range", req.RemoveRange)
	if e != nil {
		return nil, e
	}
	addUsers, e := c.checkRange("add_applicable_range", req.AddRange)
	if e != nil {
		return nil, e
	}
	if !req.RemoveRange.empty() {
		next.UserList = slices.DeleteFunc(next.UserList, func(u string) bool {
			return slices.ContainsFunc(rmUsers, func(x string) bool { return strings.EqualFold(x, u) })
		})
		next.DepartmentList = slices.DeleteFunc(next.DepartmentList, func(d int64) bool { return slices.Contains(req.RemoveRange.DepartmentList, d) })
	}
	if !req.AddRange.empty() {
		next.UserList = dedupe(append(next.UserList, addUsers...))
		next.DepartmentList = dedupe(append(next.DepartmentList, req.AddRange.DepartmentList...))
	}
	if len(next.UserList) > 10000 {
		return nil, fail(40058, "a rule has at most 10000 userids")
	}
	if len(next.UserList) == 0 && len(next.DepartmentList) == 0 {
		return nil, fail(40058, "the applicable range cannot become empty")
	}
	*r = next
	return &base{}, nil
}

// handleDelInterceptRule is POST externalcontact/del_intercept_rule.
func handleDelInterceptRule(c *call) (result, *apiError) {
	i, r, e := c.ruleOf()
	if e != nil {
		return nil, e
	}
	if r.CreatedBy != c.app.name {
		return nil, fail(48002, "an app may only delete the rules it created")
	}
	c.st.intercept.rules = slices.Delete(c.st.intercept.rules, i, i+1)
	return &base{}, nil
}

// dedupe drops repeated values, keeping the first of each.
func dedupe[T comparable](s []T) []T {
	seen := make(map[T]bool, len(s))
	out := s[:0:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
