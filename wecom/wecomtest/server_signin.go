package wecomtest

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// Signing a member in to a web page (WECOM.md §4.11). WeCom's two entry
// pages live on other origins (open.weixin.qq.com and
// login.work.weixin.qq.com); the fake serves both on its own URL, so a
// client whose OAuth and login base URLs point at the fake signs in
// through it:
//
//   - GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state&agentid
//     (path/91022), the in-WeCom link;
//   - GET /wwlogin/sso/login?login_type=CorpApp&appid&agentid&redirect_uri&state
//     (path/98152), the Web login (a QR code in real life).
//
// Real WeCom knows who is signed in to the client; the fake asks: both
// pages show the corp's members to pick from (or a UserID to type), and
// the pick redirects to redirect_uri?code=CODE&state=STATE with a code
// that auth/getuserinfo exchanges once, within five minutes (path/91023).
// Tests that need no browser use SignInCode.

// signInCodeTTL: "code只能消费一次，不能重复消费 … 5分钟未被使用自动过期"
// (path/91023).
const signInCodeTTL = 5 * time.Minute

// signInCode is an issued sign-in code.
type signInCode struct {
	userID  string
	agentID int64
	expires time.Time
}

// signInPage is one of the two entry pages.
type signInPage struct {
	web bool // the Web login (login_type …) rather than the OAuth authorize link
}

var signInPages = map[string]signInPage{
	"/connect/oauth2/authorize": {web: false},
	"/wwlogin/sso/login":        {web: true},
}

// SignInCode issues a sign-in code for userID as if they had approved a
// sign-in to the app with agentID (the redirect a browser would follow
// carries it). It fails (returns "") for an unknown or inactive member or
// agent.
func (s *Server) SignInCode(userID string, agentID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.byAgent[agentID]; !ok {
		return ""
	}
	m := s.st.dir.member(userID)
	if m == nil || !m.active() {
		return ""
	}
	return s.st.issueSignIn(m.u.UserID, agentID)
}

func (st *state) issueSignIn(userID string, agentID int64) string {
	code := st.randString(48)
	st.signIns[code] = &signInCode{userID: userID, agentID: agentID, expires: st.now().Add(signInCodeTTL)}
	return code
}

// handleGetUserInfo is GET auth/getuserinfo?code= (path/91023): the
// member's userid for a code issued to the calling app. A code is
// consumed by its first exchange; a reused, expired or unknown code, or
// one issued for another app, is 40029 (90313: "oauth_code 被消费 … 超过
// 5分钟 … 不一致"); no code is 41008. A member's answer carries no
// user_ticket (scope snsapi_base; the Web login never has one, 98176).
func handleGetUserInfo(c *call) (result, *apiError) {
	code := c.query.Get("code")
	if code == "" {
		return nil, fail(41008, "")
	}
	sc, ok := c.st.signIns[code]
	if !ok {
		return nil, fail(40029, "")
	}
	delete(c.st.signIns, code)
	if c.now.After(sc.expires) || c.app == nil || c.app.cfg.AgentID != sc.agentID {
		return nil, fail(40029, "")
	}
	return &struct {
		base
		UserID string `json:"userid"`
	}{UserID: sc.userID}, nil
}

// signInView is what the picker page shows.
type signInView struct {
	Title   string
	Error   string
	Members []signInMember
}

type signInMember struct{ UserID, Name string }

var signInTmpl = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1>
<p>Fake WeCom: pick the member who signs in (real WeCom knows who is signed in to the client, or asks for a QR scan).</p>
{{if .Error}}<p id="error" style="color:#b00">{{.Error}}</p>{{else}}
<form method="post">
<p>{{range .Members}}<button type="submit" name="userid" value="{{.UserID}}" data-userid="{{.UserID}}">{{.Name}} ({{.UserID}})</button> {{end}}</p>
<p><label>UserID <input name="userid_typed" id="userid_typed"></label> <button type="submit" id="typed">OK</button></p>
</form>{{end}}
</body></html>`))

// serveSignIn serves an entry page: GET shows the picker (or what is
// wrong with the link); POST with a member redirects back with a code.
// The checks are WeCom's: appid is the CorpID, agentid a self-built app,
// redirect_uri present and absolute, response_type=code and a state of
// ≤128 a-zA-Z0-9 for OAuth (84025), login_type=CorpApp for the Web login.
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request, page signInPage) {
	q := r.URL.Query()
	title := "企业微信 · 网页授权登录 (fake)"
	if page.web {
		title = "企业微信 · Web登录 (fake)"
	}
	view := signInView{Title: title}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	agentID, _ := strconv.ParseInt(q.Get("agentid"), 10, 64)
	state := q.Get("state")
	s.mu.Lock()
	_, agentOK := s.st.byAgent[agentID]
	switch {
	case q.Get("appid") != s.cfg.CorpID:
		view.Error = "appid: not this corp's CorpID (-31027)"
	case agentID == 0 || !agentOK:
		view.Error = "agentid: not an app of this corp (-31028)"
	case q.Get("redirect_uri") == "" || err != nil || !redirect.IsAbs():
		view.Error = "redirect_uri: missing or not an absolute URL (-31035)"
	case page.web && q.Get("login_type") != "CorpApp":
		view.Error = "login_type: must be CorpApp (-31040)"
	case !page.web && q.Get("response_type") != "code":
		view.Error = "response_type: must be code"
	case !page.web && !wecom.ValidState(state):
		view.Error = "state: 不符合的state参数 (84025)"
	}
	if view.Error != "" {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		signInTmpl.Execute(w, view) //nolint:errcheck // the client went away
		return
	}
	if r.Method == http.MethodPost {
		r.ParseForm() //nolint:errcheck // a bad form picks no one
		id := strings.TrimSpace(r.PostForm.Get("userid"))
		if id == "" {
			id = strings.TrimSpace(r.PostForm.Get("userid_typed"))
		}
		if m := s.st.dir.member(id); m != nil && m.active() {
			code := s.st.issueSignIn(m.u.UserID, agentID)
			s.mu.Unlock()
			back := *redirect
			bq := back.Query()
			bq.Set("code", code)
			bq.Set("state", state)
			back.RawQuery = bq.Encode()
			http.Redirect(w, r, back.String(), http.StatusFound)
			return
		}
		view.Error = "no active member " + strconv.Quote(id)
	}
	for _, m := range s.st.dir.userList {
		if m.active() {
			view.Members = append(view.Members, signInMember{UserID: m.u.UserID, Name: m.u.Name})
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(view.Members, func(a, b signInMember) int { return strings.Compare(a.UserID, b.UserID) })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	signInTmpl.Execute(w, view) //nolint:errcheck // the client went away
}
