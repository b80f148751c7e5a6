package wecom

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Contacts: user/get (path/90196), user/list_id (path/96067) and
// department/list (path/90208).

// User is a member as user/get returns them (path/90196). Which fields
// are filled depends on the app: since 2022-06-20 new self-built apps get
// no avatar, gender, mobile, email, biz_mail, qr_code or address.
type User struct {
	UserID           string           `json:"userid"`
	Name             string           `json:"name"`
	Department       []int            `json:"department"`
	Order            []int64          `json:"order"`
	Position         string           `json:"position"`
	Mobile           string           `json:"mobile"`
	Gender           string           `json:"gender"` // "0" unset, "1" male, "2" female (a string)
	Email            string           `json:"email"`
	BizMail          string           `json:"biz_mail"`
	IsLeaderInDept   []int            `json:"is_leader_in_dept"` // 0/1, aligned with Department
	DirectLeader     []string         `json:"direct_leader"`
	Avatar           string           `json:"avatar"`
	ThumbAvatar      string           `json:"thumb_avatar"`
	Telephone        string           `json:"telephone"`
	Alias            string           `json:"alias"`
	Address          string           `json:"address"`
	OpenUserID       string           `json:"open_userid"`
	MainDepartment   int              `json:"main_department"`
	ExtAttr          *UserExtAttr     `json:"extattr,omitempty"`
	Status           int              `json:"status"` // 1 active, 2 disabled, 4 not activated, 5 left
	QRCode           string           `json:"qr_code"`
	ExternalPosition string           `json:"external_position"`
	ExternalProfile  *ExternalProfile `json:"external_profile,omitempty"`
}

// Member statuses (User.Status).
const (
	UserActive       = 1
	UserDisabled     = 2
	UserNotActivated = 4
	UserLeft         = 5
)

// Active reports whether u counts as a current member: active, or
// invited and not yet activated (they can still be reached); disabled
// and departed members do not.
func (u User) Active() bool {
	return u.Status == UserActive || u.Status == UserNotActivated
}

// UserExtAttr is a member's extattr.
type UserExtAttr struct {
	Attrs []ExternalAttr `json:"attrs"`
}

// ExternalProfile is an external_profile (对外属性, path/92230), of a
// member (user/get) or of a WeCom-user customer (externalcontact/get).
type ExternalProfile struct {
	ExternalCorpName string           `json:"external_corp_name,omitempty"`
	WechatChannels   *ProfileChannels `json:"wechat_channels,omitempty"`
	ExternalAttr     []ExternalAttr   `json:"external_attr"`
}

// ProfileChannels is external_profile.wechat_channels (视频号).
type ProfileChannels struct {
	Nickname string `json:"nickname"`
	Status   int    `json:"status"`
}

// ExternalAttr is one attribute: text (Type 0), web (1) or mini program
// (2).
type ExternalAttr struct {
	Type        int              `json:"type"`
	Name        string           `json:"name"`
	Text        *AttrText        `json:"text,omitempty"`
	Web         *AttrWeb         `json:"web,omitempty"`
	MiniProgram *AttrMiniProgram `json:"miniprogram,omitempty"`
}

// AttrText is a text attribute's value.
type AttrText struct {
	Value string `json:"value"`
}

// AttrWeb is a web attribute's link.
type AttrWeb struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

// AttrMiniProgram is a mini-program attribute.
type AttrMiniProgram struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Title    string `json:"title"`
}

// GetUser reads one member (user/get) with the app's token, or the
// contact-sync token when only that is configured. The app must be
// allowed to see the member. Since 2022-08-15 contact-sync secrets used
// from new IPs get 48009: use ListUserIDs there.
func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	const op = "user/get"
	if userID == "" || len(userID) > maxUserIDBytes {
		return nil, invalid(op, "userid", "must be 1 to %d bytes", maxUserIDBytes)
	}
	var out User
	err := c.call(ctx, request{op: op, apps: []string{AppMessages, AppContacts}, method: http.MethodGet,
		query: url.Values{"userid": {userID}}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeptUser is one user/list_id item: a member in one department (a member
// in several departments comes once for each).
type DeptUser struct {
	UserID     string `json:"userid"`
	Department int    `json:"department"`
}

// ListUserIDs pages through every member's UserID and departments
// (user/list_id). Start with cursor ""; next is "" after the last page.
// limit is 1..10000, or 0 for WeCom's default. WeCom allows it only with
// the contact-sync secret; the app's secret is used when that is not
// configured (and WeCom may refuse it).
func (c *Client) ListUserIDs(ctx context.Context, cursor string, limit int) (users []DeptUser, next string, err error) {
	const op = "user/list_id"
	if limit < 0 || limit > maxListIDLimit {
		return nil, "", invalid(op, "limit", "%d, want 1 to %d (or 0 for the default)", limit, maxListIDLimit)
	}
	req := struct {
		Cursor string `json:"cursor,omitempty"`
		Limit  int    `json:"limit,omitempty"`
	}{cursor, limit}
	var out struct {
		NextCursor string     `json:"next_cursor"`
		DeptUser   []DeptUser `json:"dept_user"`
	}
	if err := c.postJSON(ctx, op, []string{AppContacts, AppMessages}, req, &out); err != nil {
		return nil, "", err
	}
	return out.DeptUser, out.NextCursor, nil
}

// Department is one department/list item.
type Department struct {
	ID               int      `json:"id"`
	Name             string   `json:"name"`
	NameEn           string   `json:"name_en"`
	DepartmentLeader []string `json:"department_leader"`
	ParentID         int      `json:"parentid"` // the root is 1
	Order            int64    `json:"order"`
}

// ListDepartments lists department id and all its sub-departments,
// recursively (department/list); id 0 lists the whole tree the token may
// see. It uses the contact-sync token, or the app's when that is not
// configured. WeCom calls this API slow.
func (c *Client) ListDepartments(ctx context.Context, id int) ([]Department, error) {
	const op = "department/list"
	if id < 0 {
		return nil, invalid(op, "id", "%d is negative", id)
	}
	q := url.Values{}
	if id > 0 {
		q.Set("id", strconv.Itoa(id))
	}
	var out struct {
		Department []Department `json:"department"`
	}
	if err := c.call(ctx, request{op: op, apps: []string{AppContacts, AppMessages}, method: http.MethodGet, query: q}, &out); err != nil {
		return nil, err
	}
	return out.Department, nil
}
