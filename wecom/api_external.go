package wecom

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// Customer contact (客户联系): externalcontact/get (path/92114) and
// externalcontact/send_welcome_msg (path/92137). They use the
// customer-contact token if that secret is configured, else the app's
// (which works if the app is in 客户联系 可调用应用).

var customerApps = []string{AppCustomer, AppMessages}

// ExternalContactDetail is externalcontact/get's answer.
type ExternalContactDetail struct {
	ExternalContact ExternalContact `json:"external_contact"`
	FollowUsers     []FollowUser    `json:"follow_user"`
	// NextCursor is set when the customer has more than 500 follow users:
	// call again with it for the rest.
	NextCursor string `json:"next_cursor"`
}

// ExternalContact is a customer.
type ExternalContact struct {
	ExternalUserID  string           `json:"external_userid"`
	Name            string           `json:"name"`
	Position        string           `json:"position"`
	Avatar          string           `json:"avatar"`
	CorpName        string           `json:"corp_name"`
	CorpFullName    string           `json:"corp_full_name"`
	Type            int              `json:"type"`   // 1 WeChat user, 2 WeCom user
	Gender          int              `json:"gender"` // 0 unknown, 1 male, 2 female
	UnionID         string           `json:"unionid"`
	ExternalProfile *ExternalProfile `json:"external_profile,omitempty"`
}

// FollowUser is a member who added the customer.
type FollowUser struct {
	UserID         string          `json:"userid"`
	Remark         string          `json:"remark"`
	Description    string          `json:"description"`
	CreateTime     int64           `json:"createtime"` // Unix seconds
	Tags           []FollowUserTag `json:"tags"`
	RemarkCorpName string          `json:"remark_corp_name"`
	RemarkMobiles  []string        `json:"remark_mobiles"`
	OperUserID     string          `json:"oper_userid"`
	AddWay         int             `json:"add_way"`
	State          string          `json:"state"`
	WechatChannels *FollowChannels `json:"wechat_channels,omitempty"`
}

// FollowUserTag is a tag the member put on the customer.
type FollowUserTag struct {
	GroupName string `json:"group_name"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id"` // not for personal tags (Type 2)
	Type      int    `json:"type"`   // 1 corp, 2 personal, 3 rule group
}

// FollowChannels is follow_user.wechat_channels (add_way 10).
type FollowChannels struct {
	Nickname string `json:"nickname"`
	Source   int    `json:"source"`
}

// GetExternalContact reads a customer and the members who added them
// (externalcontact/get). cursor is "" or the previous NextCursor. The app
// sees only follow users in its visible range; 84061 means no
// relationship.
func (c *Client) GetExternalContact(ctx context.Context, externalUserID, cursor string) (*ExternalContactDetail, error) {
	const op = "externalcontact/get"
	if externalUserID == "" {
		return nil, invalid(op, "external_userid", "missing")
	}
	q := url.Values{"external_userid": {externalUserID}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out ExternalContactDetail
	if err := c.call(ctx, request{op: op, apps: customerApps, method: http.MethodGet, query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WelcomeMessage is a welcome to a new customer.
type WelcomeMessage struct {
	WelcomeCode string // from add_external_contact; valid 20 s, once
	Text        string // text.content, ≤4000 bytes
	// Attachments are the attachments objects as the docs give them
	// ({"msgtype":"image","image":{...}}, link, miniprogram, video,
	// file), at most 9.
	Attachments []json.RawMessage
}

// welcomeAttachmentTypes are the documented attachments[].msgtype values.
var welcomeAttachmentTypes = map[string]bool{"image": true, "link": true, "miniprogram": true, "video": true, "file": true}

// SendWelcomeMessage sends a welcome through the member who added the
// customer (externalcontact/send_welcome_msg). Call it within 20 seconds
// of the event, once. 41051: the customer is already chatting (do not
// retry); 41096: another app is sending one (a retry is allowed).
func (c *Client) SendWelcomeMessage(ctx context.Context, w WelcomeMessage) error {
	const op = "externalcontact/send_welcome_msg"
	switch {
	case w.WelcomeCode == "":
		return invalid(op, "welcome_code", "missing")
	case w.Text == "" && len(w.Attachments) == 0:
		return invalid(op, "text", "text and attachments are both empty")
	case len(w.Text) > maxWelcomeTextBytes:
		return invalid(op, "text.content", "%d bytes, at most %d", len(w.Text), maxWelcomeTextBytes)
	case !utf8.ValidString(w.Text):
		return invalid(op, "text.content", "not valid UTF-8")
	case len(w.Attachments) > maxWelcomeAttachments:
		return invalid(op, "attachments", "%d attachments, at most %d", len(w.Attachments), maxWelcomeAttachments)
	}
	for i, a := range w.Attachments {
		var head struct {
			MsgType string `json:"msgtype"`
		}
		if err := json.Unmarshal(a, &head); err != nil || !welcomeAttachmentTypes[head.MsgType] {
			return invalid(op, fmt.Sprintf("attachments[%d]", i), "must be a JSON object whose msgtype is image, link, miniprogram, video or file")
		}
	}
	type text struct {
		Content string `json:"content"`
	}
	req := struct {
		WelcomeCode string            `json:"welcome_code"`
		Text        *text             `json:"text,omitempty"`
		Attachments []json.RawMessage `json:"attachments,omitempty"`
	}{WelcomeCode: w.WelcomeCode, Attachments: w.Attachments}
	if w.Text != "" {
		req.Text = &text{Content: w.Text}
	}
	return c.postJSON(ctx, op, customerApps, req, nil)
}
