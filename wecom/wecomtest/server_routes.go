package wecomtest

import (
	"net/http"
	"net/url"
	"sort"
	"time"
)

// route is one API: its method, the kinds of secret whose tokens may call
// it, and its handler.
type route struct {
	method  string
	roles   []string
	handler func(c *call) (result, *apiError)
}

// routes is the API and its permission table. A token of any other kind
// is answered with 48002 "API接口无权限调用" (90313: "通讯录同步助手的
// access_token，仅用于同步通讯录，不能用于发消息"; "客户联系相关的接口，只能由
// 系统应用'客户联系'调用，或由配置到客户联系'可调用应用'列表中的自建应用调用").
//
//   - message/*: a self-built app (AgentID != 0), 90236.
//   - user/get, user/list, department/list: the contacts secret or an app
//     (90196, 90201, 90208: an app sees its visible range; every member is
//     visible here).
//   - user/list_id: the contacts secret only: "仅支持通过'通讯录同步secret'
//     调用" (96067).
//   - externalcontact/*: the customer secret or an app (92114, 92137).
//   - msgaudit/*: the archive secret only (91614, 91782).
var routes = map[string]route{
	"gettoken":                         {method: http.MethodGet},
	"message/send":                     {http.MethodPost, []string{roleApp}, handleSend},
	"message/update_template_card":     {http.MethodPost, []string{roleApp}, handleUpdateCard},
	"message/recall":                   {http.MethodPost, []string{roleApp}, handleRecall},
	"auth/getuserinfo":                 {http.MethodGet, []string{roleApp}, handleGetUserInfo},
	"user/get":                         {http.MethodGet, []string{roleContacts, roleApp}, handleUserGet},
	"user/list_id":                     {http.MethodPost, []string{roleContacts}, handleUserListID},
	"user/list":                        {http.MethodGet, []string{roleContacts, roleApp}, handleUserList},
	"department/list":                  {http.MethodGet, []string{roleContacts, roleApp}, handleDepartmentList},
	"externalcontact/get":              {http.MethodGet, []string{roleCustomer, roleApp}, handleExternalContactGet},
	"externalcontact/send_welcome_msg": {http.MethodPost, []string{roleCustomer, roleApp}, handleSendWelcome},
	"msgaudit/get_permit_user_list":    {http.MethodPost, []string{roleArchive}, handlePermitUsers},
	"msgaudit/check_single_agree":      {http.MethodPost, []string{roleArchive}, handleCheckSingleAgree},
	"msgaudit/check_room_agree":        {http.MethodPost, []string{roleArchive}, handleCheckRoomAgree},

	// Sensitive-word rules (95097, server_intercept.go): the customer
	// secret or an app in 客户联系 可调用应用.
	"externalcontact/add_intercept_rule":      {http.MethodPost, []string{roleCustomer, roleApp}, handleAddInterceptRule},
	"externalcontact/get_intercept_rule_list": {http.MethodGet, []string{roleCustomer, roleApp}, handleListInterceptRules},
	"externalcontact/get_intercept_rule":      {http.MethodPost, []string{roleCustomer, roleApp}, handleGetInterceptRule},
	"externalcontact/update_intercept_rule":   {http.MethodPost, []string{roleCustomer, roleApp}, handleUpdateInterceptRule},
	"externalcontact/del_intercept_rule":      {http.MethodPost, []string{roleCustomer, roleApp}, handleDelInterceptRule},
}

// call is one authenticated API call.
type call struct {
	st    *state
	app   *appState
	query url.Values
	body  []byte
	now   time.Time
}

// base is the errcode/errmsg pair of every answer.
type base struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

func (b *base) baseOf() *base { return b }

// result is an answer struct that embeds base.
type result interface{ baseOf() *base }

// handle answers one request (faults aside). Order of checks: body size,
// method (40058, as 90313 says for a GET where POST is required), token
// (41001, 40014, 42001), the app's call limit (45009), permission (48002),
// then the API's own checks.
func (st *state) handle(r *http.Request, path string, rt route, body []byte) answer {
	q := r.URL.Query()
	if len(body) > maxBody {
		return answer{body: errorBody(st, 40206, ""), errcode: 40206}
	}
	if r.Method != rt.method {
		return answer{body: errorBody(st, 40058, "http method must be "+rt.method), errcode: 40058, app: st.appOfRequest(r, path)}
	}
	if path == "gettoken" {
		return st.getToken(q)
	}
	now := st.now()
	tok := q.Get("access_token")
	if tok == "" {
		return answer{body: errorBody(st, 41001, ""), errcode: 41001}
	}
	t := st.tokens[tok]
	if t == nil {
		return answer{body: errorBody(st, 40014, ""), errcode: 40014}
	}
	app := t.app
	fail := func(code int, detail string) answer {
		return answer{body: errorBody(st, code, detail), errcode: code, app: app.name}
	}
	switch {
	case t.revoked != 0:
		return fail(t.revoked, "")
	case !now.Before(t.expires):
		return fail(42001, "")
	}
	if st.overCallLimit(app, now) {
		return fail(45009, "")
	}
	allowed := false
	for _, role := range rt.roles {
		allowed = allowed || role == app.role
	}
	if !allowed {
		return fail(48002, "")
	}
	res, aerr := rt.handler(&call{st: st, app: app, query: q, body: body, now: now})
	switch {
	case aerr != nil && res == nil:
		return fail(aerr.code, aerr.detail)
	case aerr != nil:
		*res.baseOf() = base{aerr.code, errmsgOf(st, aerr.code, aerr.detail)}
		return answer{body: marshal(res), errcode: aerr.code, app: app.name}
	}
	if raw, ok := res.(*rawAnswer); ok {
		return answer{body: raw.b, app: app.name}
	}
	*res.baseOf() = base{0, "ok"}
	return answer{body: marshal(res), app: app.name}
}

// overCallLimit counts a call against ServerConfig.AppCallsPerMinute and
// reports whether it is refused.
func (st *state) overCallLimit(a *appState, now time.Time) bool {
	limit := st.cfg.AppCallsPerMinute
	if limit <= 0 {
		return false
	}
	n := now.UnixNano()
	if n < a.blockd {
		return true
	}
	cut := n - int64(time.Minute)
	i := sort.Search(len(a.calls), func(i int) bool { return a.calls[i] > cut })
	a.calls = a.calls[i:]
	if len(a.calls) >= limit {
		// A minute-level limit blocks for a minute (90312, 90313 45009).
		a.blockd = n + int64(time.Minute)
		a.calls = a.calls[:0]
		return true
	}
	a.calls = append(a.calls, n)
	return false
}

// getToken is GET gettoken?corpid&corpsecret (91039). Each app has its
// own tokens. Every call issues a fresh token; earlier ones stay valid
// until they expire (undocumented; older copies of 91039 said a repeated
// call within the validity returns the same token, the current page says
// nothing).
func (st *state) getToken(q url.Values) answer {
	corpID, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case corpID == "":
		return answer{body: errorBody(st, 41002, ""), errcode: 41002}
	case corpID != st.cfg.CorpID:
		return answer{body: errorBody(st, 40013, ""), errcode: 40013}
	case secret == "":
		return answer{body: errorBody(st, 41004, ""), errcode: 41004}
	}
	app := st.bySecret[secret]
	if app == nil {
		return answer{body: errorBody(st, 40001, ""), errcode: 40001}
	}
	tok := st.randString(96) // "access_token至少保留512字节的存储空间"
	ttl := st.cfg.TokenTTL
	st.tokens[tok] = &accessToken{app: app, expires: st.now().Add(ttl)}
	st.tokenFetches[app.name]++
	return answer{app: app.name, body: marshal(struct {
		base
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}{base{0, "ok"}, tok, int64(ttl / time.Second)})}
}
