package wecomtest

import "strconv"

// ---- user/list ----

// handleUserList is GET user/list?department_id (90201, 获取部门成员详情):
// the members directly in the department (not its sub-departments: "如需
// 获取该部门及其子部门的所有成员，需先获取该部门下的子部门…逐层递归获取"), in
// the order they were added to it (AddUser again moves a member to the
// end), each as user/get returns them. Every
// department is visible to every app here. A department the fake does not
// know is 60123 "无效的部门id" (90313); a missing or non-numeric
// department_id is 40058 (undocumented which code).
func handleUserList(c *call) (result, *apiError) {
	s := c.query.Get("department_id")
	if s == "" {
		return nil, fail(40058, "department_id is required")
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fail(40058, "department_id must be an integer")
	}
	dir := &c.st.dir
	if dir.depts[id] == nil {
		return nil, fail(60123, "")
	}
	out := make([]User, 0, len(dir.deptMembers[id]))
	for _, m := range dir.deptMembers[id] { // the order they were put in the department
		if m.active() {
			out = append(out, userView(m))
		}
	}
	return &struct {
		base
		UserList []User `json:"userlist"`
	}{UserList: out}, nil
}

// userView is a member as user/get and user/list show them: the
// defaults of User filled in (empty lists, zeros aligned with Department,
// the first department as the main one).
func userView(m *member) User {
	u := m.u
	n := len(u.Department)
	if u.Department == nil {
		u.Department = []int64{}
	}
	if len(u.Order) != n {
		u.Order = make([]int64, n)
	}
	if len(u.IsLeaderInDept) != n {
		u.IsLeaderInDept = make([]int, n)
	}
	if u.DirectLeader == nil {
		u.DirectLeader = []string{}
	}
	if u.MainDepartment == 0 && n > 0 {
		u.MainDepartment = u.Department[0]
	}
	return u
}
