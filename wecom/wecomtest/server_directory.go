package wecomtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Department is a department as department/list returns it (90208).
type Department struct {
	ID               int64    `json:"id"`
	Name             string   `json:"name"`
	NameEn           string   `json:"name_en,omitempty"`
	DepartmentLeader []string `json:"department_leader"`
	ParentID         int64    `json:"parentid"` // the root department is 1, with parent 0
	Order            int64    `json:"order"`    // larger first among siblings
}

// User is a member as user/get returns it (90196). Zero values get the
// defaults of a plain active member: Status 1, Order and IsLeaderInDept
// zeros aligned with Department, MainDepartment the first department.
type User struct {
	UserID           string   `json:"userid"`
	Name             string   `json:"name"`
	Department       []int64  `json:"department"`
	Order            []int64  `json:"order"`
	Position         string   `json:"position,omitempty"`
	Mobile           string   `json:"mobile,omitempty"`
	Gender           string   `json:"gender,omitempty"` // "0", "1" or "2", a string in WeCom's JSON
	Email            string   `json:"email,omitempty"`
	BizMail          string   `json:"biz_mail,omitempty"`
	IsLeaderInDept   []int    `json:"is_leader_in_dept"`
	DirectLeader     []string `json:"direct_leader"`
	Avatar           string   `json:"avatar,omitempty"`
	ThumbAvatar      string   `json:"thumb_avatar,omitempty"`
	Telephone        string   `json:"telephone,omitempty"`
	Alias            string   `json:"alias,omitempty"`
	Address          string   `json:"address,omitempty"`
	MainDepartment   int64    `json:"main_department,omitempty"`
	Status           int      `json:"status"` // 1 active, 2 disabled, 4 not activated, 5 left
	ExternalPosition string   `json:"external_position,omitempty"`
}

// Tag is a contact tag, a recipient set for message/send's totag.
type Tag struct {
	ID       int64
	Name     string
	UserIDs  []string
	PartyIDs []int64
}

// ExternalContact is a customer as externalcontact/get returns it (92114).
type ExternalContact struct {
	ExternalUserID  string          `json:"external_userid"`
	Name            string          `json:"name"`
	Position        string          `json:"position,omitempty"`
	Avatar          string          `json:"avatar,omitempty"`
	CorpName        string          `json:"corp_name,omitempty"`
	CorpFullName    string          `json:"corp_full_name,omitempty"`
	Type            int             `json:"type"` // 1 WeChat user, 2 WeCom user
	Gender          int             `json:"gender"`
	UnionID         string          `json:"unionid,omitempty"`
	ExternalProfile json.RawMessage `json:"external_profile,omitempty"`
}

// FollowUser is a member who added an external contact (92114
// follow_user).
type FollowUser struct {
	UserID         string          `json:"userid"`
	Remark         string          `json:"remark"`
	Description    string          `json:"description"`
	CreateTime     int64           `json:"createtime"`
	Tags           []FollowTag     `json:"tags,omitempty"`
	RemarkCorpName string          `json:"remark_corp_name,omitempty"`
	RemarkMobiles  []string        `json:"remark_mobiles,omitempty"`
	OperUserID     string          `json:"oper_userid,omitempty"`
	AddWay         int             `json:"add_way"`
	State          string          `json:"state,omitempty"`
	WechatChannels *WechatChannels `json:"wechat_channels,omitempty"`
}

// FollowTag is a tag a member put on an external contact.
type FollowTag struct {
	GroupName string `json:"group_name"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id,omitempty"`
	Type      int    `json:"type"` // 1 corp, 2 personal, 3 rule group
}

// WechatChannels is follow_user.wechat_channels (add_way 10).
type WechatChannels struct {
	Nickname string `json:"nickname"`
	Source   int    `json:"source"`
}

// directory is the corp's contacts.
type directory struct {
	depts       map[int64]*Department
	children    map[int64][]int64
	deptOrder   []int64
	users       map[string]*member // by lower-cased userid: UserIDs are case-insensitive (90196)
	userList    []*member          // insertion order: user/list_id's order
	deptMembers map[int64][]*member
	tags        map[int64]*Tag
	ext         map[string]*extContact
	mark        uint64 // dedupe stamp for recipient expansion
}

// member is a user and everything the fake keeps about them.
type member struct {
	u       User
	lower   string
	inbox   []*delivery
	windows [][]int64 // per app index: unix nanos of deliveries (rate windows)
	mark    uint64
	dropped int
}

type extContact struct {
	c         ExternalContact
	followers []FollowUser
}

func (d *directory) init() {
	d.depts = map[int64]*Department{}
	d.children = map[int64][]int64{}
	d.users = map[string]*member{}
	d.deptMembers = map[int64][]*member{}
	d.tags = map[int64]*Tag{}
	d.ext = map[string]*extContact{}
}

// active reports whether m is in the directory: a member who left
// (status 5) is removed from the directory (90313 40003 "已离职或已删除
// 成员，userid会从通讯录中移除").
func (m *member) active() bool { return m.u.Status != 5 }

// receives reports whether m can be sent messages: active and not
// disabled (status 2).
func (m *member) receives() bool { return m.u.Status != 5 && m.u.Status != 2 }

// AddDepartment adds d, or replaces the department with d's id.
func (s *Server) AddDepartment(d Department) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := &s.st.dir
	d.DepartmentLeader = slices.Clone(d.DepartmentLeader)
	if old, ok := dir.depts[d.ID]; ok {
		if old.ParentID != d.ParentID {
			dir.children[old.ParentID] = slices.DeleteFunc(dir.children[old.ParentID], func(id int64) bool { return id == d.ID })
			dir.children[d.ParentID] = append(dir.children[d.ParentID], d.ID)
		}
	} else {
		dir.deptOrder = append(dir.deptOrder, d.ID)
		dir.children[d.ParentID] = append(dir.children[d.ParentID], d.ID)
	}
	dir.depts[d.ID] = &d
}

// AddUser adds u, or replaces the member with u's userid (compared
// case-insensitively). Status 0 means 1 (active).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := &s.st.dir
	u.Department = slices.Clone(u.Department)
	u.Order = slices.Clone(u.Order)
	u.IsLeaderInDept = slices.Clone(u.IsLeaderInDept)
	u.DirectLeader = slices.Clone(u.DirectLeader)
	if u.Status == 0 {
		u.Status = 1
	}
	lower := strings.ToLower(u.UserID)
	m := dir.users[lower]
	if m == nil {
		m = &member{lower: lower, windows: make([][]int64, len(s.st.apps))}
		dir.users[lower] = m
		dir.userList = append(dir.userList, m)
	} else {
		for _, id := range m.u.Department {
			dir.deptMembers[id] = slices.DeleteFunc(dir.deptMembers[id], func(x *member) bool { return x == m })
		}
	}
	m.u = u
	for _, id := range u.Department {
		dir.deptMembers[id] = append(dir.deptMembers[id], m)
	}
}

// AddTag adds t, or replaces the tag with t's id.
func (s *Server) AddTag(t Tag) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.UserIDs = slices.Clone(t.UserIDs)
	t.PartyIDs = slices.Clone(t.PartyIDs)
	s.st.dir.tags[t.ID] = &t
}

// AddExternalContact adds c with the members who follow it, or updates a
// known contact: c replaces its details and each follower replaces the
// one with the same userid or is appended.
func (s *Server) AddExternalContact(c ExternalContact, followers ...FollowUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.dir.ext[c.ExternalUserID]
	if e == nil {
		e = &extContact{}
		s.st.dir.ext[c.ExternalUserID] = e
	}
	e.c = c
	for _, f := range followers {
		i := slices.IndexFunc(e.followers, func(x FollowUser) bool { return strings.EqualFold(x.UserID, f.UserID) })
		if i >= 0 {
			e.followers[i] = f
		} else {
			e.followers = append(e.followers, f)
		}
	}
}

// RemoveFollowUser ends the relationship between a member and an
// external contact, as when the member deletes the customer; with no
// follower left, externalcontact/get answers 84061.
func (s *Server) RemoveFollowUser(externalUserID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.st.dir.ext[externalUserID]; e != nil {
		e.followers = slices.DeleteFunc(e.followers, func(x FollowUser) bool { return strings.EqualFold(x.UserID, userID) })
	}
}

// member returns the member with userid id (case-insensitive), nil if
// there is none.
func (d *directory) member(id string) *member {
	if m := d.users[id]; m != nil {
		return m
	}
	return d.users[strings.ToLower(id)]
}

// ---- user/get ----

// handleUserGet is GET user/get?userid (90196): 41009 without userid,
// 60111 for a userid not in the directory (90313 60111 help: "成员已退出
// 企业 … 成员不在应用可见范围内").
func handleUserGet(c *call) (result, *apiError) {
	id := c.query.Get("userid")
	if id == "" {
		return nil, fail(41009, "")
	}
	m := c.st.dir.member(id)
	if m == nil || !m.active() {
		return nil, fail(60111, "userid not found: "+id)
	}
	return &struct {
		base
		User
	}{User: userView(m)}, nil
}

// ---- user/list_id ----

type deptUser struct {
	UserID     string `json:"userid"`
	Department int64  `json:"department"`
}

// handleUserListID is POST user/list_id {cursor, limit} (96067): one row
// per (member, department), in the order members were added; next_cursor
// is empty on the last page. limit is 1..10000; omitted means 10000
// (undocumented default); outside the range 40058. A cursor the fake did
// not issue is 50100 "分页查询的游标无效" (undocumented which code; 90313
// lists 50100 for an invalid paging cursor).
func handleUserListID(c *call) (result, *apiError) {
	var req struct {
		Cursor string `json:"cursor"`
		Limit  *int   `json:"limit"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	limit := 10000
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 1 || limit > 10000 {
		return nil, fail(40058, "limit must be 1..10000")
	}
	ui, di := 0, 0
	if req.Cursor != "" {
		var ok bool
		if ui, di, ok = decodeCursor("u", req.Cursor); !ok || ui > len(c.st.dir.userList) {
			return nil, fail(50100, "")
		}
	}
	res := &struct {
		base
		NextCursor string     `json:"next_cursor"`
		DeptUser   []deptUser `json:"dept_user"`
	}{DeptUser: make([]deptUser, 0, min(limit, 1024))}
	users := c.st.dir.userList
	for ; ui < len(users); ui, di = ui+1, 0 {
		m := users[ui]
		if !m.active() {
			continue
		}
		for ; di < len(m.u.Department); di++ {
			if len(res.DeptUser) == limit {
				res.NextCursor = encodeCursor("u", ui, di)
				return res, nil
			}
			res.DeptUser = append(res.DeptUser, deptUser{m.u.UserID, m.u.Department[di]})
		}
	}
	return res, nil
}

// encodeCursor and decodeCursor make an opaque cursor of two positions.
func encodeCursor(kind string, a, b int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("wecomtest:" + kind + ":" + strconv.Itoa(a) + ":" + strconv.Itoa(b)))
}

func decodeCursor(kind, cursor string) (a, b int, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, 0, false
	}
	rest, found := strings.CutPrefix(string(raw), "wecomtest:"+kind+":")
	if !found {
		return 0, 0, false
	}
	as, bs, found := strings.Cut(rest, ":")
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(as)
	b, err2 := strconv.Atoi(bs)
	if err1 != nil || err2 != nil || a < 0 || b < 0 {
		return 0, 0, false
	}
	return a, b, true
}

// ---- department/list ----

// handleDepartmentList is GET department/list[?id] (90208): the department
// and all its descendants, or the whole tree without id; siblings by
// order, larger first, then id. An unknown id is 60123 "无效的部门id".
func handleDepartmentList(c *call) (result, *apiError) {
	dir := &c.st.dir
	var roots []int64
	if s := c.query.Get("id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fail(40058, "id must be an integer")
		}
		if dir.depts[id] == nil {
			return nil, fail(60123, "")
		}
		roots = []int64{id}
	} else {
		for _, id := range dir.deptOrder {
			if dir.depts[dir.depts[id].ParentID] == nil {
				roots = append(roots, id)
			}
		}
		dir.sortSiblings(roots)
	}
	out := make([]Department, 0, len(dir.depts))
	seen := map[int64]bool{}
	var walk func(id int64)
	walk = func(id int64) {
		if seen[id] { // a parent cycle in the seeded data
			return
		}
		seen[id] = true
		d := *dir.depts[id]
		if d.DepartmentLeader == nil {
			d.DepartmentLeader = []string{}
		}
		out = append(out, d)
		kids := slices.Clone(dir.children[id])
		dir.sortSiblings(kids)
		for _, k := range kids {
			walk(k)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return &struct {
		base
		Department []Department `json:"department"`
	}{Department: out}, nil
}

func (d *directory) sortSiblings(ids []int64) {
	slices.SortFunc(ids, func(a, b int64) int {
		oa, ob := d.depts[a].Order, d.depts[b].Order
		switch {
		case oa != ob && oa > ob:
			return -1
		case oa != ob:
			return 1
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
}

// ---- externalcontact/get ----

// followPage is how many follow_user entries one externalcontact/get page
// carries: "当客户在企业内的跟进人超过500人时需要使用cursor参数进行分页获取"
// (92114).
const followPage = 500

// handleExternalContactGet is GET externalcontact/get?external_userid
// [&cursor] (92114). 41035 without external_userid; 84061 "不存在外部联系人
// 的关系" when no member follows the contact, and also for an id the fake
// does not know (undocumented; WeCom cannot tell an unknown id from a
// deleted relationship either).
func handleExternalContactGet(c *call) (result, *apiError) {
	id := c.query.Get("external_userid")
	if id == "" {
		return nil, fail(41035, "")
	}
	e := c.st.dir.ext[id]
	if e == nil || len(e.followers) == 0 {
		return nil, fail(84061, "")
	}
	start := 0
	if cur := c.query.Get("cursor"); cur != "" {
		var ok bool
		if start, _, ok = decodeCursor("f", cur); !ok || start >= len(e.followers) {
			return nil, fail(50100, "")
		}
	}
	end := min(start+followPage, len(e.followers))
	res := &struct {
		base
		ExternalContact ExternalContact `json:"external_contact"`
		FollowUser      []FollowUser    `json:"follow_user"`
		NextCursor      string          `json:"next_cursor,omitempty"`
	}{ExternalContact: e.c, FollowUser: slices.Clone(e.followers[start:end])}
	if end < len(e.followers) {
		res.NextCursor = encodeCursor("f", end, 0)
	}
	return res, nil
}

// decodeBody decodes a JSON request body into v. An empty body decodes as
// {}.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}
