// Package sandbox is what `wecomply sandbox` adds to a normal server: a
// demo organisation loaded into the fake WeCom (wecomtest.Server) with its
// compliance policy (DemoPolicy), and a web page that shows every message
// the fake received, per person and per customer, as WeCom would show it,
// and lets a newcomer act as those people: click a card's button, reply
// in the app chat, open the app, set a customer's answer to archiving,
// add a customer, send a notice, simulate an event; and read what the
// server recorded: the event log, and the compliance view (coverage,
// obligations, attestations, consents, the audit log).
//
// The page drives the running wecomply server only the way the outside
// world does: signed callbacks (wecomtest.Sender) to its callback URL and
// its admin API (/api/v1/sends, /events, /notices, /obligations,
// /attestations, /people, /consents, /audit) with an admin token. It is a
// development tool: it has no login and is meant for loopback.
package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// Org is the demo organisation: the corp's departments, people and
// customers as Seed loaded them into the fake WeCom.
type Org struct {
	// CorpName is the company's name, as the demo notices use it.
	CorpName string
	// Departments, parents before children; department 1 is the root.
	Departments []wecomtest.Department
	// People are the members; each one's first department is the main one.
	People []wecomtest.User
	// Officers are the UserIDs of the compliance officers.
	Officers []string
	// Customers are external contacts with the members who added them.
	Customers []Customer
	// Permit is the archive permit list (会话内容存档 enabled members).
	Permit []string
}

// Customer is an external contact (客户) and the members who follow it.
type Customer struct {
	Contact   wecomtest.ExternalContact
	Followers []wecomtest.FollowUser
}

// Seed loads the demo organisation into s and returns it.
func Seed(s *wecomtest.Server) Org {
	o := Demo()
	for _, d := range o.Departments {
		s.AddDepartment(d)
	}
	for _, u := range o.People {
		s.AddUser(u)
	}
	for _, c := range o.Customers {
		s.AddExternalContact(c.Contact, c.Followers...)
	}
	s.SetPermitUsers(o.Permit)
	return o
}

// demoDept is one department of the demo and its people, leader first.
type demoDept struct {
	id, parent int64
	name, en   string
	people     []demoPerson
}

type demoPerson struct {
	name, userID, position string
	gender                 string // "1" male, "2" female
}

// demoDepts is the demo organisation. The root department has no people
// of its own; its leader is the general manager.
var demoDepts = []demoDept{
	{1, 0, "示例科技", "Example Tech", nil},
	{2, 1, "总经办", "General Office", []demoPerson{
		{"周明远", "zhoumingyuan", "总经理", "1"},
		{"林晓燕", "linxiaoyan", "总经理助理", "2"},
		{"高志强", "gaozhiqiang", "财务总监", "1"},
		{"何丽", "heli", "行政经理", "2"},
	}},
	{3, 1, "销售部", "Sales", []demoPerson{
		{"赵建国", "zhaojianguo", "销售总监", "1"},
		{"马骏", "majun", "销售运营", "1"},
	}},
	{4, 3, "华东销售组", "Sales East", []demoPerson{
		{"钱伟", "qianwei", "华东销售经理", "1"},
		{"孙磊", "sunlei", "客户经理", "1"},
		{"李娜", "lina", "客户经理", "2"},
		{"周杰", "zhoujie", "客户经理", "1"},
		{"吴敏", "wumin", "客户经理", "2"},
		{"郑浩", "zhenghao", "销售代表", "1"},
		{"王强", "wangqiang", "销售代表", "1"},
		{"冯雪", "fengxue", "销售代表", "2"},
		{"陈晨", "chenchen", "销售代表", "2"},
		{"褚琳", "chulin", "销售助理", "2"},
	}},
	{5, 3, "华南销售组", "Sales South", []demoPerson{
		{"卫东", "weidong", "华南销售经理", "1"},
		{"蒋涛", "jiangtao", "客户经理", "1"},
		{"沈洁", "shenjie", "客户经理", "2"},
		{"韩梅", "hanmei", "客户经理", "2"},
		{"杨帆", "yangfan", "销售代表", "1"},
		{"朱磊", "zhulei", "销售代表", "1"},
		{"秦雨", "qinyu", "销售代表", "2"},
		{"尤佳", "youjia", "销售代表", "2"},
		{"许斌", "xubin", "销售代表", "1"},
		{"何静", "hejing", "销售助理", "2"},
	}},
	{6, 1, "客户服务部", "Customer Service", []demoPerson{
		{"吕芳", "lvfang", "客服经理", "2"},
		{"施磊", "shilei", "客服主管", "1"},
		{"张伟", "zhangwei", "客服专员", "1"},
		{"孔丽", "kongli", "客服专员", "2"},
		{"曹阳", "caoyang", "客服专员", "1"},
		{"严亮", "yanliang", "客服专员", "1"},
		{"华颖", "huaying", "客服专员", "2"},
		{"金鑫", "jinxin", "客服专员", "1"},
		{"魏婷", "weiting", "客服专员", "2"},
		{"陶然", "taoran", "客服专员", "1"},
		// Two people may share a name; WeCom tells them apart by userid.
		{"张伟", "zhangwei2", "客服专员", "1"},
	}},
	{7, 1, "合规与法务部", "Compliance & Legal", []demoPerson{
		{"王芳", "wangfang", "合规负责人", "2"},
		{"陈静", "chenjing", "合规专员", "2"},
		{"姜明", "jiangming", "法务经理", "1"},
		{"谢婉", "xiewan", "法务助理", "2"},
	}},
	{8, 1, "技术部", "Engineering", []demoPerson{
		{"邹凯", "zoukai", "技术总监", "1"},
		{"喻晨", "yuchen", "后端工程师", "1"},
		{"柏杨", "baiyang", "后端工程师", "1"},
		{"水清", "shuiqing", "前端工程师", "2"},
		{"窦伟", "douwei", "运维工程师", "1"},
		{"章磊", "zhanglei", "测试工程师", "1"},
		{"云飞", "yunfei", "产品经理", "1"},
		{"苏畅", "suchang", "设计师", "2"},
		{"潘婷", "panting", "数据分析师", "2"},
	}},
}

// demoCustomers are the customers: name, company (empty for a WeChat
// user), and the members who added them.
var demoCustomers = []struct {
	name, corp string
	followers  []string
}{
	{"张先生", "", []string{"sunlei"}},
	{"刘女士", "上海华远贸易有限公司", []string{"sunlei", "lina"}},
	{"陈总", "杭州云帆科技有限公司", []string{"qianwei", "zhoujie"}},
	{"黄经理", "苏州恒通物流有限公司", []string{"wumin"}},
	{"Mr. Smith", "Acme Trading Ltd.", []string{"lina", "zhaojianguo"}},
	{"王阿姨", "", []string{"zhenghao"}},
	{"李先生", "", []string{"jiangtao"}},
	{"周女士", "深圳星河电子有限公司", []string{"weidong", "shenjie"}},
	{"吴总", "广州南方建材有限公司", []string{"hanmei"}},
	{"郭先生", "", []string{"yangfan", "lvfang"}},
	{"林小姐", "", []string{"shilei"}},
	{"赵经理", "厦门海峡食品有限公司", []string{"zhangwei", "zhangwei2"}},
	{"孙女士", "", []string{"kongli"}},
	{"马先生", "东莞精工模具厂", []string{"xubin", "caoyang"}},
	{"Ms. Tanaka", "Sakura Components K.K.", []string{"zhaojianguo"}},
}

// The departments the demo's policy names: 销售部 (with its two teams)
// and 客户服务部.
const (
	salesDept   = 3
	serviceDept = 6
)

// demoFollowTime is when the demo customers were added (2026-01-05
// 09:30 CST), the same for every run.
const demoFollowTime = 1767576600

// Demo returns the demo organisation: 8 departments in a tree, 50 people
// with Chinese names and pinyin userids, a leader per department and a
// direct leader per person, 2 compliance officers, 15 customers followed
// by people in sales and customer service, who are also the archive
// permit list. It is the same on every call.
func Demo() Org {
	o := Org{CorpName: "示例科技"}
	leader := map[int64]string{}
	parent := map[int64]int64{}
	for _, d := range demoDepts {
		parent[d.id] = d.parent
		if len(d.people) > 0 {
			leader[d.id] = d.people[0].userID
		}
	}
	leader[1] = leader[2] // the general manager leads the company
	// directLeader is the leader of the nearest department up the tree
	// that is led by someone else.
	directLeader := func(dept int64, self string) []string {
		for id := dept; id != 0; id = parent[id] {
			if l := leader[id]; l != "" && l != self {
				return []string{l}
			}
		}
		return nil
	}
	for i, d := range demoDepts {
		dep := wecomtest.Department{ID: d.id, Name: d.name, NameEn: d.en, ParentID: d.parent, Order: int64(100000000 - i*1000)}
		if l := leader[d.id]; l != "" {
			dep.DepartmentLeader = []string{l}
		}
		o.Departments = append(o.Departments, dep)
		for j, p := range d.people {
			isLeader := 0
			if j == 0 {
				isLeader = 1
			}
			o.People = append(o.People, wecomtest.User{
				UserID:         p.userID,
				Name:           p.name,
				Department:     []int64{d.id},
				Order:          []int64{int64(1000 - j)},
				Position:       p.position,
				Gender:         p.gender,
				BizMail:        p.userID + "@example.com",
				IsLeaderInDept: []int{isLeader},
				DirectLeader:   directLeader(d.id, p.userID),
				MainDepartment: d.id,
				Status:         1,
			})
		}
	}
	o.Officers = []string{"wangfang", "chenjing"}
	for i, c := range demoCustomers {
		contact := wecomtest.ExternalContact{
			ExternalUserID: fmt.Sprintf("wmDemoCustomer%02dXq7LbT2vN8kPz", i+1),
			Name:           c.name,
			Type:           1,
		}
		if c.corp != "" {
			contact.Type, contact.CorpName, contact.CorpFullName = 2, c.corp, c.corp
		}
		cust := Customer{Contact: contact}
		for j, f := range c.followers {
			cust.Followers = append(cust.Followers, wecomtest.FollowUser{
				UserID: f, Remark: c.name, CreateTime: demoFollowTime + int64(i*86400+j*3600), AddWay: 1,
			})
		}
		o.Customers = append(o.Customers, cust)
	}
	for _, p := range o.People {
		if d := p.Department[0]; d == salesDept || o.Within(d, salesDept) || d == serviceDept {
			o.Permit = append(o.Permit, p.UserID)
		}
	}
	return o
}

// Department returns the department with id, and whether there is one.
func (o Org) Department(id int64) (wecomtest.Department, bool) {
	i := slices.IndexFunc(o.Departments, func(d wecomtest.Department) bool { return d.ID == id })
	if i < 0 {
		return wecomtest.Department{}, false
	}
	return o.Departments[i], true
}

// Person returns the member with userid id (case-insensitive, as WeCom
// compares them), and whether there is one.
func (o Org) Person(id string) (wecomtest.User, bool) {
	i := slices.IndexFunc(o.People, func(u wecomtest.User) bool { return strings.EqualFold(u.UserID, id) })
	if i < 0 {
		return wecomtest.User{}, false
	}
	return o.People[i], true
}

// Customer returns the customer with external userid id, and whether
// there is one.
func (o Org) Customer(id string) (Customer, bool) {
	i := slices.IndexFunc(o.Customers, func(c Customer) bool { return c.Contact.ExternalUserID == id })
	if i < 0 {
		return Customer{}, false
	}
	return o.Customers[i], true
}

// Within reports whether department id lies below department ancestor,
// at any depth; a department is not within itself.
func (o Org) Within(id, ancestor int64) bool {
	seen := map[int64]bool{}
	for d, ok := o.Department(id); ok && !seen[d.ID]; d, ok = o.Department(d.ParentID) {
		seen[d.ID] = true
		if d.ParentID == ancestor {
			return true
		}
	}
	return false
}

// Members returns the UserIDs of the people in department id and in every
// department below it, in the order of People.
func (o Org) Members(id int64) []string {
	var out []string
	for _, u := range o.People {
		if slices.ContainsFunc(u.Department, func(d int64) bool { return d == id || o.Within(d, id) }) {
			out = append(out, u.UserID)
		}
	}
	return out
}

// Path is the department's name with its ancestors', root first:
// "示例科技 / 销售部 / 华东销售组".
func (o Org) Path(id int64) string {
	var names []string
	seen := map[int64]bool{}
	for d, ok := o.Department(id); ok && !seen[d.ID]; d, ok = o.Department(d.ParentID) {
		seen[d.ID] = true
		names = append(names, d.Name)
	}
	slices.Reverse(names)
	return strings.Join(names, " / ")
}

// Depth is how many ancestors department id has (the root has 0).
func (o Org) Depth(id int64) int {
	n := 0
	seen := map[int64]bool{}
	for d, ok := o.Department(id); ok && !seen[d.ID] && d.ParentID != 0; d, ok = o.Department(d.ParentID) {
		seen[d.ID] = true
		n++
	}
	return n
}

// Check reports every inconsistency in o: a department whose parent is
// missing or that is its own ancestor, a leader, direct leader, officer,
// follower or permitted member who is not a person, a person in a
// department that does not exist, duplicate ids.
func (o Org) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	depts := map[int64]bool{}
	for _, d := range o.Departments {
		if depts[d.ID] {
			bad("department %d appears twice", d.ID)
		}
		depts[d.ID] = true
	}
	people := map[string]bool{}
	for _, u := range o.People {
		lower := strings.ToLower(u.UserID)
		if u.UserID == "" || people[lower] {
			bad("userid %q is empty or appears twice", u.UserID)
		}
		people[lower] = true
	}
	isPerson := func(id string) bool { return people[strings.ToLower(id)] }

	roots := 0
	for _, d := range o.Departments {
		switch {
		case d.ParentID == 0:
			roots++
		case !depts[d.ParentID]:
			bad("department %d (%s): parent %d does not exist", d.ID, d.Name, d.ParentID)
		case o.Within(d.ID, d.ID):
			bad("department %d (%s) is its own ancestor", d.ID, d.Name)
		}
		for _, l := range d.DepartmentLeader {
			if !isPerson(l) {
				bad("department %d (%s): leader %q is not a person", d.ID, d.Name, l)
			}
		}
	}
	if roots != 1 {
		bad("%d root departments, want 1", roots)
	}
	for _, u := range o.People {
		if len(u.Department) == 0 {
			bad("%s is in no department", u.UserID)
		}
		for _, d := range u.Department {
			if !depts[d] {
				bad("%s: department %d does not exist", u.UserID, d)
			}
		}
		if len(u.IsLeaderInDept) != len(u.Department) {
			bad("%s: is_leader_in_dept has %d entries for %d departments", u.UserID, len(u.IsLeaderInDept), len(u.Department))
		}
		for _, l := range u.DirectLeader {
			switch {
			case !isPerson(l):
				bad("%s: direct leader %q is not a person", u.UserID, l)
			case strings.EqualFold(l, u.UserID):
				bad("%s is their own direct leader", u.UserID)
			}
		}
	}
	for _, id := range o.Officers {
		if !isPerson(id) {
			bad("officer %q is not a person", id)
		}
	}
	ext := map[string]bool{}
	for _, c := range o.Customers {
		id := c.Contact.ExternalUserID
		if id == "" || ext[id] {
			bad("external userid %q is empty or appears twice", id)
		}
		ext[id] = true
		if len(c.Followers) == 0 {
			bad("customer %s is followed by nobody", id)
		}
		for _, f := range c.Followers {
			if !isPerson(f.UserID) {
				bad("customer %s: follower %q is not a person", id, f.UserID)
			}
		}
	}
	for _, id := range o.Permit {
		if !isPerson(id) {
			bad("permit list: %q is not a person", id)
		}
	}
	return errors.Join(errs...)
}
