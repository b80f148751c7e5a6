package wecomtest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// ---- externalcontact/send_welcome_msg ----

// welcomeCodeTTL: "welcome_code … 有效期为20秒" (92137).
const welcomeCodeTTL = 20 * time.Second

type welcomeCode struct {
	user, external string
	issued         time.Time
	used           bool
}

// IssueWelcomeCode returns a WelcomeCode as WeCom puts in an
// add_external_contact event for userID adding externalUserID: valid for
// 20 s of the fake's clock, usable once with send_welcome_msg.
func (s *Server) IssueWelcomeCode(userID, externalUserID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := s.st.randString(32)
	s.st.welcome[code] = &welcomeCode{user: userID, external: externalUserID, issued: s.st.now()}
	return code
}

// handleSendWelcome is POST externalcontact/send_welcome_msg (92137).
//   - 41049 without welcome_code; 41050 "无效的欢迎语code" for a code the
//     fake did not issue or older than 20 s (90313 41050: "须在添加好友后20秒
//     内使用, 且不能重复消费").
//   - A code already used successfully is 41051: "如果欢迎语已成功下发给客户，
//     应用再调用该接口时，将返回41051" (92137).
//   - text.content over 4000 bytes is 45002 and more than 9 attachments
//     41064 "附件数量超过限制" (undocumented which codes); text and
//     attachments both empty is 40058 ("text和attachments不能同时为空");
//     an attachment msgtype other than image, link, miniprogram, video or
//     file is 41065 "无效的附件类型".
//
// 41096 (another app is sending) cannot arise by itself in a fake with one
// caller; script it with a Fault, which leaves the code unused, as WeCom
// does ("41096 … 调用方可以重试").
func handleSendWelcome(c *call) (result, *apiError) {
	var req struct {
		WelcomeCode string `json:"welcome_code"`
		Text        *struct {
			Content string `json:"content"`
		} `json:"text"`
		Attachments []struct {
			MsgType string          `json:"msgtype"`
			Image   json.RawMessage `json:"image"`
		} `json:"attachments"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if req.WelcomeCode == "" {
		return nil, fail(41049, "")
	}
	wc := c.st.welcome[req.WelcomeCode]
	switch {
	case wc == nil:
		return nil, fail(41050, "")
	case wc.used:
		return nil, fail(41051, "")
	case c.now.Sub(wc.issued) >= welcomeCodeTTL:
		return nil, fail(41050, "welcome code expired")
	}
	content := ""
	if req.Text != nil {
		content = req.Text.Content
	}
	switch {
	case content == "" && len(req.Attachments) == 0:
		return nil, fail(40058, "text and attachments cannot both be empty")
	case len(content) > 4000:
		return nil, fail(45002, "text.content at most 4000 bytes")
	case len(req.Attachments) > 9:
		return nil, fail(41064, "")
	}
	for _, a := range req.Attachments {
		switch a.MsgType {
		case "image", "link", "miniprogram", "video", "file":
		default:
			return nil, fail(41065, "")
		}
	}
	// The inbox keeps the body without the code.
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &body); err != nil {
		return nil, wrongJSON(err)
	}
	delete(body, "welcome_code")
	wc.used = true
	d := &delivery{at: c.now, welcome: &welcomeDelivery{app: c.app, from: wc.user, body: marshal(body)}}
	c.st.extInbox[wc.external] = append(c.st.extInbox[wc.external], d)
	return &base{}, nil
}

// ---- msgaudit ----

// AgreeInfo is one 会话内容存档 agreement state (91782).
type AgreeInfo struct {
	StatusChangeTime int64  `json:"status_change_time"`
	UserID           string `json:"userid,omitempty"`
	// ExteranalOpenID keeps WeCom's misspelling "exteranalopenid".
	ExteranalOpenID string `json:"exteranalopenid"`
	AgreeStatus     string `json:"agree_status"` // "Agree" or "Disagree"
}

type agreeKey struct{ user, external string }

// SetPermitUsers sets the members with chat archiving enabled, as
// get_permit_user_list returns them (91614).
func (s *Server) SetPermitUsers(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.permit = slices.Clone(ids)
}

// SetAgree sets whether external contact externalOpenID agreed to archiving
// of their chat with member userID ("Agree" or "Disagree") and when.
func (s *Server) SetAgree(userID, externalOpenID, status string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.agree[agreeKey{strings.ToLower(userID), externalOpenID}] = AgreeInfo{
		StatusChangeTime: at.Unix(), UserID: userID, ExteranalOpenID: externalOpenID, AgreeStatus: status,
	}
	s.st.knownExt[externalOpenID] = true
}

// SetRoomAgree sets the agreement states of a group chat's external
// members, as check_room_agree returns them. UserID is not part of a room
// answer and is dropped.
func (s *Server) SetRoomAgree(roomID string, infos ...AgreeInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AgreeInfo, len(infos))
	for i, in := range infos {
		in.UserID = ""
		out[i] = in
		s.st.knownExt[in.ExteranalOpenID] = true
	}
	s.st.rooms[roomID] = out
}

// handlePermitUsers is POST msgaudit/get_permit_user_list {type} (91614).
// type (1 office, 2 service, 3 enterprise edition) is accepted and ignored:
// the fake has one edition. Other values are 40058.
func handlePermitUsers(c *call) (result, *apiError) {
	var req struct {
		Type int `json:"type"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if req.Type < 0 || req.Type > 3 {
		return nil, fail(40058, "type must be 1, 2 or 3")
	}
	ids := slices.Clone(c.st.permit)
	if ids == nil {
		ids = []string{}
	}
	return &struct {
		base
		IDs []string `json:"ids"`
	}{IDs: ids}, nil
}

// handleCheckSingleAgree is POST msgaudit/check_single_agree (91782): at
// most 100 items ("超过此限制的请求会被拦截": 301060); a userid not in the
// directory or an external id the fake knows nothing of is 301061
// "userid或者exteropenid用户不存在" for the whole request. A known pair with
// no agreement state set is left out of agreeinfo (undocumented).
func handleCheckSingleAgree(c *call) (result, *apiError) {
	var req struct {
		Info []struct {
			UserID          string `json:"userid"`
			ExteranalOpenID string `json:"exteranalopenid"`
		} `json:"info"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	switch {
	case len(req.Info) == 0:
		return nil, fail(40058, "info is required")
	case len(req.Info) > 100:
		return nil, fail(301060, "")
	}
	out := make([]AgreeInfo, 0, len(req.Info))
	for _, in := range req.Info {
		m := c.st.dir.member(in.UserID)
		if in.UserID == "" || in.ExteranalOpenID == "" || m == nil || !m.active() {
			return nil, fail(301061, "")
		}
		a, ok := c.st.agree[agreeKey{m.lower, in.ExteranalOpenID}]
		if !ok {
			if !c.st.knownExt[in.ExteranalOpenID] && c.st.dir.ext[in.ExteranalOpenID] == nil {
				return nil, fail(301061, "")
			}
			continue
		}
		out = append(out, a)
	}
	return &struct {
		base
		AgreeInfo []AgreeInfo `json:"agreeinfo"`
	}{AgreeInfo: out}, nil
}

// handleCheckRoomAgree is POST msgaudit/check_room_agree {"roomid"}
// (91782). A room the fake knows nothing of has no external members: an
// empty agreeinfo (undocumented).
func handleCheckRoomAgree(c *call) (result, *apiError) {
	var req struct {
		RoomID string `json:"roomid"`
	}
	if err := decodeBody(c.body, &req); err != nil {
		return nil, wrongJSON(err)
	}
	if req.RoomID == "" {
		return nil, fail(40058, "roomid is required")
	}
	out := slices.Clone(c.st.rooms[req.RoomID])
	if out == nil {
		out = []AgreeInfo{}
	}
	return &struct {
		base
		AgreeInfo []AgreeInfo `json:"agreeinfo"`
	}{AgreeInfo: out}, nil
}
