package handlers

import (
	"github.com/wecomply/wecomply/policy"
)

// The API's JSON is snake_case throughout. Types the store keeps as JSON
// with other member names (policy.Person is stored with Go's field names)
// or that carry no json tags (policy.Audience) are served through the
// view types below, so that the API's shape and the stored records' shape
// never change together by accident.

// audienceView is a policy.Audience as the API shows it.
type audienceView struct {
	Everyone    bool     `json:"everyone"`
	Departments []int64  `json:"departments"`
	Tags        []int64  `json:"tags"`
	Users       []string `json:"users"`
	PermitList  bool     `json:"permit_list"`
}

func viewAudience(a policy.Audience) audienceView {
	return audienceView{Everyone: a.Everyone, Departments: nonNil(a.Departments), Tags: nonNil(a.Tags),
		Users: nonNil(a.Users), PermitList: a.PermitList}
}

// coverageView counts a notice version's obligations by status.
type coverageView struct {
	// Audience is how many owe the notice so far: pending, overdue and
	// acknowledged.
	Audience     int `json:"audience"`
	Acknowledged int `json:"acknowledged"`
	Pending      int `json:"pending"`
	Overdue      int `json:"overdue"`
	Superseded   int `json:"superseded"`
	Cancelled    int `json:"cancelled"`
	// Ratio is Acknowledged / Audience (0 when nobody owes it).
	Ratio float64 `json:"ratio"`
}

// noticeView is one configured notice in GET /api/v1/notices.
type noticeView struct {
	ID           string       `json:"id"`
	Version      int          `json:"version"`
	Key          string       `json:"key"`
	Title        string       `json:"title"`
	Template     string       `json:"template"`
	Languages    []string     `json:"languages"`
	Audience     audienceView `json:"audience"`
	DueDays      int          `json:"due_days"`
	ReattestDays int          `json:"reattest_days"`
	Coverage     coverageView `json:"coverage"`
}

// personView is a policy.Person as the API shows it.
type personView struct {
	UserID         string   `json:"user_id"`
	Name           string   `json:"name"`
	Departments    []int64  `json:"departments"`
	DepartmentPath []int64  `json:"department_path"`
	Tags           []int64  `json:"tags"`
	InPermitList   bool     `json:"in_permit_list"`
	Active         bool     `json:"active"`
	DirectLeaders  []string `json:"direct_leaders"`
	Language       string   `json:"language"`
}

func viewPerson(p policy.Person) personView {
	return personView{UserID: p.UserID, Name: p.Name, Departments: nonNil(p.Departments),
		DepartmentPath: nonNil(p.DepartmentPath), Tags: nonNil(p.Tags), InPermitList: p.InPermitList,
		Active: p.Active, DirectLeaders: nonNil(p.DirectLeaders), Language: p.Language}
}
