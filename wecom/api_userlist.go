package wecom

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// ListDepartmentUsers reads the members directly in one department
// (user/list, path/90201), with user/get's fields, as the token's app may
// see them: "应用只能获取可见范围内的成员信息". It is not recursive: walk
// the sub-departments (ListDepartments) to cover a tree. It uses the
// app's token, or the contact-sync one when only that is configured;
// since 2022-08-15 contact-sync secrets used from new IPs are refused
// (user/list_id replaces it there).
func (c *Client) ListDepartmentUsers(ctx context.Context, departmentID int) ([]User, error) {
	const op = "user/list"
	if departmentID < 1 {
		return nil, invalid(op, "department_id", "%d, want a department id (1 is the root)", departmentID)
	}
	var out struct {
		UserList []User `json:"userlist"`
	}
	err := c.call(ctx, request{op: op, apps: []string{AppMessages, AppContacts}, method: http.MethodGet,
		query: url.Values{"department_id": {strconv.Itoa(departmentID)}}}, &out)
	if err != nil {
		return nil, err
	}
	return out.UserList, nil
}
