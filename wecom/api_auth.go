package wecom

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Signing a member in to a web page (WECOM.md §4.11): the browser is
// sent to WeCom's authorize URL (inside the WeCom client, path/91022) or
// to its Web login (a QR code outside it, path/98152); WeCom sends it
// back to the redirect URI with a one-time code, which the server
// exchanges for the member's UserID with auth/getuserinfo (path/91023,
// path/98176).

// The origins of WeCom's sign-in pages. Configurable (the fake WeCom
// serves both), so these are only the defaults.
const (
	DefaultOAuthBaseURL = "https://open.weixin.qq.com"
	DefaultLoginBaseURL = "https://login.work.weixin.qq.com"
)

// maxOAuthCodeBytes: "code长度最大为512字节" (path/91022, path/91023).
const maxOAuthCodeBytes = 512

// maxStateBytes: state is "a-zA-Z0-9的参数值，长度不可超过128个字节"
// (path/91022; errcode 84025 repeats the rule).
const maxStateBytes = 128

// SignIn is who a sign-in code belongs to: a member (UserID) or, for
// someone outside the corp, an OpenID (and an ExternalUserID when they
// are a customer of the corp).
type SignIn struct {
	UserID         string `json:"userid"`
	OpenID         string `json:"openid"`
	ExternalUserID string `json:"external_userid"`
}

// Member reports whether the code was a corp member's.
func (s SignIn) Member() bool { return s.UserID != "" }

// UserInfo exchanges a sign-in code for who signed in
// (auth/getuserinfo, path/91023). It uses the app's token: the app whose
// agentid the sign-in URL named and whose trusted domain holds the
// redirect URI (else 50001). A code is good once and for five minutes:
// a reused or expired one is errcode 40029 (CodeInvalidOAuthCode).
func (c *Client) UserInfo(ctx context.Context, code string) (SignIn, error) {
	const op = "auth/getuserinfo"
	if code == "" || len(code) > maxOAuthCodeBytes {
		return SignIn{}, invalid(op, "code", "must be 1 to %d bytes", maxOAuthCodeBytes)
	}
	var out SignIn
	err := c.call(ctx, request{op: op, apps: []string{AppMessages}, method: http.MethodGet,
		query: url.Values{"code": {code}}}, &out)
	if err != nil {
		return SignIn{}, err
	}
	return out, nil
}

// ValidState reports whether state may be sent as a sign-in URL's state:
// 1 to 128 of a-z, A-Z, 0-9 (path/91022).
func ValidState(state string) bool {
	if state == "" || len(state) > maxStateBytes {
		return false
	}
	for _, r := range state {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// AuthorizeURL is the in-WeCom OAuth2 link (「网页授权登录」, path/91022)
// with scope snsapi_base (silent: the UserID only). base is the OAuth
// origin (DefaultOAuthBaseURL).
func AuthorizeURL(base, corpID string, agentID int64, redirectURI, state string) string {
	q := url.Values{
		"appid":         {corpID},
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
		"scope":         {"snsapi_base"},
		"state":         {state},
		"agentid":       {strconv.FormatInt(agentID, 10)},
	}
	return strings.TrimSuffix(base, "/") + "/connect/oauth2/authorize?" + q.Encode() + "#wechat_redirect"
}

// WebLoginURL is the 「企业微信Web登录」 link for a self-built app
// (login_type CorpApp, path/98152): a QR code, or quick login through a
// running desktop client. base is the login origin
// (DefaultLoginBaseURL); lang is "zh" or "en" ("" leaves it to WeCom).
func WebLoginURL(base, corpID string, agentID int64, redirectURI, state, lang string) string {
	q := url.Values{
		"login_type":   {"CorpApp"},
		"appid":        {corpID},
		"agentid":      {strconv.FormatInt(agentID, 10)},
		"redirect_uri": {redirectURI},
		"state":        {state},
	}
	if lang != "" {
		q.Set("lang", lang)
	}
	return strings.TrimSuffix(base, "/") + "/wwlogin/sso/login?" + q.Encode()
}
