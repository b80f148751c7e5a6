package wecom

import (
	"context"
	"fmt"
	"time"
)

// Session-archive HTTP APIs (会话内容存档), with the archive secret's
// token: msgaudit/get_permit_user_list (path/91614) and
// msgaudit/check_single_agree, msgaudit/check_room_agree (path/91782).

var archiveApps = []string{AppArchive}

// PermitUsers lists the members whose conversations are archived
// (departments and tags expanded; only members within the purchased
// seats). typ: 1 office, 2 service, 3 enterprise edition, 0 all.
func (c *Client) PermitUsers(ctx context.Context, typ int) ([]string, error) {
	const op = "msgaudit/get_permit_user_list"
	if typ < 0 || typ > 3 {
		return nil, invalid(op, "type", "%d, want 1 to 3 (or 0 for all)", typ)
	}
	req := struct {
		Type int `json:"type,omitempty"`
	}{typ}
	var out struct {
		IDs []string `json:"ids"`
	}
	if err := c.postJSON(ctx, op, archiveApps, req, &out); err != nil {
		return nil, err
	}
	return out.IDs, nil
}

// AgreeQuery asks whether an external contact agreed to archiving of
// their 1:1 conversation with a member.
type AgreeQuery struct {
	UserID         string
	ExternalOpenID string
}

// AgreeInfo is an external contact's archiving consent.
type AgreeInfo struct {
	UserID         string // empty for check_room_agree
	ExternalOpenID string
	Status         string // AgreeStatusAgree or AgreeStatusDisagree
	ChangedAt      time.Time
}

// Agreement statuses (AgreeInfo.Status).
const (
	AgreeStatusAgree    = "Agree"
	AgreeStatusDisagree = "Disagree"
)

// agreeItem is one agreeinfo item. Note WeCom's own spelling,
// "exteranalopenid", in requests and answers alike.
type agreeItem struct {
	UserID           string `json:"userid,omitempty"`
	ExternalOpenID   string `json:"exteranalopenid"`
	AgreeStatus      string `json:"agree_status,omitempty"`
	StatusChangeTime int64  `json:"status_change_time,omitempty"` // Unix seconds
}

func (a agreeItem) info() AgreeInfo {
	var at time.Time
	if a.StatusChangeTime > 0 {
		at = time.Unix(a.StatusChangeTime, 0).UTC()
	}
	return AgreeInfo{UserID: a.UserID, ExternalOpenID: a.ExternalOpenID, Status: a.AgreeStatus, ChangedAt: at}
}

// CheckSingleAgree asks WeCom about the consent of each (member, external
// contact) pair (msgaudit/check_single_agree), in requests of at most 100
// (WeCom refuses more with 301060). On an error no results are returned.
func (c *Client) CheckSingleAgree(ctx context.Context, q []AgreeQuery) ([]AgreeInfo, error) {
	const op = "msgaudit/check_single_agree"
	for i, item := range q {
		if item.UserID == "" || item.ExternalOpenID == "" {
			return nil, invalid(op, fmt.Sprintf("info[%d]", i), "userid and exteranalopenid are required")
		}
	}
	var infos []AgreeInfo
	for start := 0; start < len(q); start += maxAgreeQueries {
		chunk := q[start:min(start+maxAgreeQueries, len(q))]
		req := struct {
			Info []agreeItem `json:"info"`
		}{make([]agreeItem, len(chunk))}
		for i, item := range chunk {
			req.Info[i] = agreeItem{UserID: item.UserID, ExternalOpenID: item.ExternalOpenID}
		}
		var out struct {
			AgreeInfo []agreeItem `json:"agreeinfo"`
		}
		if err := c.postJSON(ctx, op, archiveApps, req, &out); err != nil {
			return nil, err
		}
		for _, a := range out.AgreeInfo {
			infos = append(infos, a.info())
		}
	}
	return infos, nil
}

// CheckRoomAgree returns the consent of every external member of a group
// chat (msgaudit/check_room_agree).
func (c *Client) CheckRoomAgree(ctx context.Context, roomID string) ([]AgreeInfo, error) {
	const op = "msgaudit/check_room_agree"
	if roomID == "" {
		return nil, invalid(op, "roomid", "missing")
	}
	req := struct {
		RoomID string `json:"roomid"`
	}{roomID}
	var out struct {
		AgreeInfo []agreeItem `json:"agreeinfo"`
	}
	if err := c.postJSON(ctx, op, archiveApps, req, &out); err != nil {
		return nil, err
	}
	infos := make([]AgreeInfo, 0, len(out.AgreeInfo))
	for _, a := range out.AgreeInfo {
		infos = append(infos, a.info())
	}
	return infos, nil
}
