package policy

import "testing"

func TestAudienceIncludes(t *testing.T) {
	// sales east (21) is in sales (2), in the company (1).
	salesEast := Person{UserID: "zhangsan", Departments: []int64{21}, DepartmentPath: []int64{1, 2, 21}, Tags: []int64{7, 9}, Active: true}
	for _, tc := range []struct {
		name     string
		audience Audience
		person   Person
		want     bool
	}{
		{
			// The empty audience includes nobody.
			name:   "empty",
			person: salesEast,
		},
		{
			name:     "everyone",
			audience: Audience{Everyone: true},
			person:   salesEast,
			want:     true,
		},
		{
			// Inactive people are in no audience, not even everyone's.
			name:     "everyone inactive",
			audience: Audience{Everyone: true},
			person:   Person{UserID: "zhangsan", Active: false},
		},
		{
			// The member's own department.
			name:     "own department",
			audience: Audience{Departments: []int64{21}},
			person:   salesEast,
			want:     true,
		},
		{
			// A parent department includes its sub-departments, through
			// DepartmentPath.
			name:     "parent department",
			audience: Audience{Departments: []int64{2}},
			person:   salesEast,
			want:     true,
		},
		{
			// The root includes the whole tree.
			name:     "root department",
			audience: Audience{Departments: []int64{1}},
			person:   salesEast,
			want:     true,
		},
		{
			// A sibling department does not.
			name:     "other department",
			audience: Audience{Departments: []int64{3, 22}},
			person:   salesEast,
		},
		{
			// Departments match the path only: a caller that did not walk
			// the tree gets no sub-department match.
			name:     "parent department without path",
			audience: Audience{Departments: []int64{2}},
			person:   Person{UserID: "zhangsan", Departments: []int64{21}, Active: true},
		},
		{
			name:     "tag",
			audience: Audience{Tags: []int64{9}},
			person:   salesEast,
			want:     true,
		},
		{
			name:     "other tag",
			audience: Audience{Tags: []int64{8}},
			person:   salesEast,
		},
		{
			name:     "user",
			audience: Audience{Users: []string{"lisi", "zhangsan"}},
			person:   salesEast,
			want:     true,
		},
		{
			// UserIDs are exact.
			name:     "other user",
			audience: Audience{Users: []string{"ZhangSan"}},
			person:   salesEast,
		},
		{
			name:     "permit list",
			audience: Audience{PermitList: true},
			person:   Person{UserID: "lisi", InPermitList: true, Active: true},
			want:     true,
		},
		{
			name:     "permit list not in it",
			audience: Audience{PermitList: true},
			person:   salesEast,
		},
		{
			// Any part suffices.
			name:     "any of several parts",
			audience: Audience{Departments: []int64{3}, Tags: []int64{8}, Users: []string{"zhangsan"}},
			person:   salesEast,
			want:     true,
		},
		{
			// Inactive in every part.
			name:     "all parts inactive",
			audience: Audience{Departments: []int64{2}, Tags: []int64{7}, Users: []string{"zhangsan"}, PermitList: true},
			person:   Person{UserID: "zhangsan", DepartmentPath: []int64{1, 2}, Tags: []int64{7}, InPermitList: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.audience.Includes(tc.person); got != tc.want {
				t.Errorf("%+v.Includes(%+v) = %v, want %v", tc.audience, tc.person, got, tc.want)
			}
		})
	}
}

func TestNoticeKeys(t *testing.T) {
	for _, tc := range []struct {
		notice         Notice
		key, buttonKey string
	}{
		{Notice{ID: "archive", Version: 3}, "archive:v3", "ack:archive:v3"},
		{Notice{ID: "handbook", Version: 12}, "handbook:v12", "ack:handbook:v12"},
		{Notice{ID: "hr:leave", Version: 1}, "hr:leave:v1", "ack:hr:leave:v1"},
	} {
		if got := tc.notice.Key(); got != tc.key {
			t.Errorf("%+v.Key() = %q, want %q", tc.notice, got, tc.key)
		}
		if got := tc.notice.ButtonKey(); got != tc.buttonKey {
			t.Errorf("%+v.ButtonKey() = %q, want %q", tc.notice, got, tc.buttonKey)
		}
	}
}

func TestObligationStatusOpen(t *testing.T) {
	for s, want := range map[ObligationStatus]bool{
		Pending: true, Overdue: true, Acknowledged: false, Superseded: false, Cancelled: false, "": false,
	} {
		if got := s.Open(); got != want {
			t.Errorf("%q.Open() = %v, want %v", s, got, want)
		}
	}
}

func TestCustomerLabel(t *testing.T) {
	if got := customerLabel(State{}, "wmX"); got != "wmX" {
		t.Errorf("without a name: %q", got)
	}
	if got := customerLabel(State{CustomerName: "张先生"}, "wmX"); got != "张先生（wmX）" {
		t.Errorf("with a name: %q", got)
	}
}
