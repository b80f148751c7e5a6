package wecom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// WeCom's errcodes that wecomply meets, each with its meaning and the page
// that documents it. The global list is path/90313
// (https://developer.work.weixin.qq.com/document/path/90313); the API
// pages give the codes their own context. Branch on these, never on
// errmsg, whose text WeCom changes. What to do about each is in
// codeActions (see ActionFor and Classify).
const (
	// CodeSystemBusy (-1): 系统繁忙, the system is busy. Retry later, at
	// most 3 times.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeSystemBusy = -1

	// CodeDataVersionConflict (6000): 数据版本冲突, several callers changed
	// the same data at once. Retry later.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeDataVersionConflict = 6000

	// CodeInvalidSecret (40001): 不合法的secret参数, the corpsecret is
	// wrong, reset, or its app is disabled. Using a wrong secret
	// repeatedly gets the calling IP blocked for an hour.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40001
	CodeInvalidSecret = 40001

	// CodeInvalidUserID (40003): 无效的UserID.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40003
	CodeInvalidUserID = 40003

	// CodeInvalidCorpID (40013): 不合法的CorpID.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidCorpID = 40013

	// CodeInvalidOAuthCode (40029): 不合法的oauth_code, a sign-in code
	// used twice, older than five minutes, or of another app
	// (auth/getuserinfo). The member must sign in again.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40029
	CodeInvalidOAuthCode = 40029

	// CodeMissingOAuthCode (41008): 缺少auth code参数.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeMissingOAuthCode = 41008

	// CodeRedirectNotTrusted (50001): redirect_url未登记可信域名, the
	// sign-in redirect's host is not a trusted domain of the app whose
	// token exchanged the code (auth/getuserinfo).
	// https://developer.work.weixin.qq.com/document/path/91023
	CodeRedirectNotTrusted = 50001

	// CodeInvalidAccessToken (40014): 不合法的access_token, the token is
	// invalid (WeCom may invalidate one early), malformed, or of another
	// app or kind. Fetch a new token and retry once.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40014
	CodeInvalidAccessToken = 40014

	// CodeInvalidUserIDList (40031): 不合法的UserID列表, misspelt or
	// outside the app's visible range.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidUserIDList = 40031

	// CodeUserIDListTooLong (40032): 不合法的UserID列表长度, message/send
	// takes at most 1,000 users.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40032
	CodeUserIDListTooLong = 40032

	// CodeInvalidCharacters (40033): 不合法的请求字符, the request contains
	// \uxxxx-style characters.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidCharacters = 40033

	// CodeInvalidAgentID (40056): 不合法的agentid.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40056
	CodeInvalidAgentID = 40056

	// CodeInvalidParameter (40058): 不合法的参数: bad JSON, a value too
	// long (e.g. a userid over 64 bytes), a missing required field, a
	// recall from another app than the sender's, or GET where POST is
	// required.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40058
	CodeInvalidParameter = 40058

	// CodeInvalidExternalUserID (40096): 不合法的外部联系人userid.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：40096
	CodeInvalidExternalUserID = 40096

	// CodeMissingAccessToken (41001): 缺少access_token参数, the token is
	// empty or not in the URL. Fetch a token and retry once.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：41001
	CodeMissingAccessToken = 41001

	// CodeMissingSecret (41004): 缺少secret参数 (gettoken).
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeMissingSecret = 41004

	// CodeInvalidWelcomeCode (41050): 无效的欢迎语code, welcome_code is
	// valid for 20 seconds and only once.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidWelcomeCode = 41050

	// CodeCustomerAlreadyChatting (41051): 客户和服务人员已经开始聊天了,
	// the welcome message was already delivered. Do not retry.
	// https://developer.work.weixin.qq.com/document/path/92137
	CodeCustomerAlreadyChatting = 41051

	// CodeCustomerNotAgreed (41053): 客户未同意聊天存档, the customer has
	// not accepted the service notice, so no welcome can be sent.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeCustomerNotAgreed = 41053

	// CodeWelcomeBeingSent (41096): 欢迎语已在发送中, another app is
	// sending the welcome right now. It does not mean the welcome was
	// delivered, so a retry is allowed.
	// https://developer.work.weixin.qq.com/document/path/92137
	CodeWelcomeBeingSent = 41096

	// CodeAccessTokenExpired (42001): access_token已过期. Fetch a new
	// token and retry once.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeAccessTokenExpired = 42001

	// CodeInvalidTaskID (42014): 卡片消息的task_id不合法.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidTaskID = 42014

	// CodeCardAppMismatch (42015): 更新的消息的应用与发送消息的应用不匹配,
	// the card is updated by another app than the one that sent it.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeCardAppMismatch = 42015

	// CodeTaskIDNotFound (42016): 更新的task_id不存在.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeTaskIDNotFound = 42016

	// CodeMsgIDExpired (42052): msgid已过期, only messages of the last 24
	// hours can be recalled.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeMsgIDExpired = 42052

	// CodeCallbackURLRequired (43012): 应用需配置回调url, an app without
	// a callback URL may not send callback-capable cards.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeCallbackURLRequired = 43012

	// CodeEmptyContent (44004): 文本消息content参数为空.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeEmptyContent = 44004

	// CodeContentTooLarge (45002): 消息内容大小超过限制 (text over 2,048
	// bytes, news over 666 KB).
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：45002
	CodeContentTooLarge = 45002

	// CodeFrequencyLimit (45009): 接口调用超过限制, a frequency limit was
	// hit. The block lasts as long as the limit's window (a minute for
	// per-minute limits, an hour for hourly ones).
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：45009
	// and the limits: https://developer.work.weixin.qq.com/document/path/90312
	CodeFrequencyLimit = 45009

	// CodeResponseTooLarge (45029): 回包大小超过上限 (e.g. user/list with
	// fetch_child=1).
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：45029
	CodeResponseTooLarge = 45029

	// CodeConcurrencyLimit (45033): 接口并发调用超过限制, too many
	// concurrent calls of one API (or of one resource). Lower the
	// concurrency and retry after a while.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：45033
	CodeConcurrencyLimit = 45033

	// CodeUserNotFound (46004): 指定的用户不存在.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：46004
	CodeUserNotFound = 46004

	// CodeAPINotAuthorized (48001): API功能未授权.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：48001
	CodeAPINotAuthorized = 48001

	// CodeAPIForbidden (48002): API接口无权限调用, the token's app may not
	// call this API (e.g. a contact-sync token sending messages, or
	// customer-contact APIs from an app not in 可调用应用).
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：48002
	CodeAPIForbidden = 48002

	// CodeContactSyncIPForbidden (48009): the contact-sync secret may no
	// longer read member details from a newly added IP (since
	// 2022-08-15); use user/list_id.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeContactSyncIPForbidden = 48009

	// CodeAppDisabled (50003): 应用已禁用.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：50003
	CodeAppDisabled = 50003

	// CodeInvalidCursor (50100): 分页查询的游标无效.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidCursor = 50100

	// CodeNoPermissionForTarget (60011): 指定的成员/部门/标签参数无权限.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：60011
	CodeNoPermissionForTarget = 60011

	// CodeUntrustedIP (60020): 不安全的访问IP, the caller's IP is not in
	// the app's 企业可信IP. A change takes about a minute to apply.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：60020
	CodeUntrustedIP = 60020

	// CodeUserIDNotFound (60111): UserID不存在.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：60111
	CodeUserIDNotFound = 60111

	// CodeInvalidDepartmentID (60123): 无效的部门id.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeInvalidDepartmentID = 60123

	// CodeInvalidResponseCode (60140): 无效的response_code, expired (72
	// hours) or already used (each code works once).
	// https://developer.work.weixin.qq.com/document/path/94888
	CodeInvalidResponseCode = 60140

	// CodeAllRecipientsInvalid (81013): UserID、部门ID、标签ID全部非法或无权限,
	// every recipient is invalid or outside the app's range.
	// https://developer.work.weixin.qq.com/document/path/90236
	CodeAllRecipientsInvalid = 81013

	// CodeNoRecipients (82001): 指定的成员/部门/标签全部为空.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：82001
	CodeNoRecipients = 82001

	// CodePartyListTooLong (82002): 不合法的PartyID列表长度, at most 100.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodePartyListTooLong = 82002

	// CodeTagListTooLong (82003): 不合法的TagID列表长度, at most 100.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeTagListTooLong = 82003

	// CodeCardTargetEmpty (82101): 指定的更新对象为空 (update_template_card).
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeCardTargetEmpty = 82101

	// CodeCardTargetNotRecipient (82102): 指定的更新对象不在多人消息内.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeCardTargetNotRecipient = 82102

	// CodeNoExternalContact (84061): 不存在外部联系人的关系.
	// https://developer.work.weixin.qq.com/document/path/90313#错误码：84061
	CodeNoExternalContact = 84061

	// CodeArchiveExpired (301052): 会话存档服务已过期.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeArchiveExpired = 301052

	// CodeArchiveNotEnabled (301053): 会话存档服务未开启.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeArchiveNotEnabled = 301053

	// CodeArchivePullTooLarge (301058): 拉取会话数据请求超过大小限制, lower
	// the limit.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeArchivePullTooLarge = 301058

	// CodeArchiveNotInternalGroup (301059): 非内部群，不提供数据.
	// https://developer.work.weixin.qq.com/document/path/92951
	CodeArchiveNotInternalGroup = 301059

	// CodeAgreeQueryTooLarge (301060): 拉取同意情况请求量过大, at most 100
	// items in one check_single_agree.
	// https://developer.work.weixin.qq.com/document/path/91782
	CodeAgreeQueryTooLarge = 301060

	// CodeArchiveUserNotFound (301061): userid或者exteropenid用户不存在.
	// https://developer.work.weixin.qq.com/document/path/90313
	CodeArchiveUserNotFound = 301061
)

// Action is what a caller should do about a failed call.
type Action int

// The actions. The zero value is ActionPermanent.
const (
	// ActionPermanent: do not retry; the request or the setup is wrong.
	ActionPermanent Action = iota
	// ActionRetry: a transient failure; retry with backoff. For errcode
	// -1 WeCom asks for at most 3 retries.
	ActionRetry
	// ActionRefreshToken: the access token was rejected. The Client has
	// already fetched a new one and retried once; a caller that still
	// sees it may retry the call later.
	ActionRefreshToken
	// ActionWaitWindow: a frequency or concurrency limit was hit; retry
	// only after the limit's window (a minute for per-minute limits).
	ActionWaitWindow
)

func (a Action) String() string {
	switch a {
	case ActionPermanent:
		return "permanent"
	case ActionRetry:
		return "retry"
	case ActionRefreshToken:
		return "refresh_token"
	case ActionWaitWindow:
		return "wait_window"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// codeActions is the one table from errcode to action. Every Code
// constant has an entry and every entry a constant (errcodes_test.go
// checks both). A code that is not here is permanent.
var codeActions = map[int]Action{
	CodeSystemBusy:          ActionRetry,
	CodeDataVersionConflict: ActionRetry,
	CodeWelcomeBeingSent:    ActionRetry,

	CodeInvalidAccessToken: ActionRefreshToken,
	CodeMissingAccessToken: ActionRefreshToken,
	CodeAccessTokenExpired: ActionRefreshToken,

	CodeFrequencyLimit:   ActionWaitWindow,
	CodeConcurrencyLimit: ActionWaitWindow,

	CodeInvalidSecret:           ActionPermanent,
	CodeInvalidOAuthCode:        ActionPermanent,
	CodeMissingOAuthCode:        ActionPermanent,
	CodeRedirectNotTrusted:      ActionPermanent,
	CodeInvalidUserID:           ActionPermanent,
	CodeInvalidCorpID:           ActionPermanent,
	CodeInvalidUserIDList:       ActionPermanent,
	CodeUserIDListTooLong:       ActionPermanent,
	CodeInvalidCharacters:       ActionPermanent,
	CodeInvalidAgentID:          ActionPermanent,
	CodeInvalidParameter:        ActionPermanent,
	CodeInvalidExternalUserID:   ActionPermanent,
	CodeMissingSecret:           ActionPermanent,
	CodeInvalidWelcomeCode:      ActionPermanent,
	CodeCustomerAlreadyChatting: ActionPermanent,
	CodeCustomerNotAgreed:       ActionPermanent,
	CodeInvalidTaskID:           ActionPermanent,
	CodeCardAppMismatch:         ActionPermanent,
	CodeTaskIDNotFound:          ActionPermanent,
	CodeMsgIDExpired:            ActionPermanent,
	CodeCallbackURLRequired:     ActionPermanent,
	CodeEmptyContent:            ActionPermanent,
	CodeContentTooLarge:         ActionPermanent,
	CodeResponseTooLarge:        ActionPermanent,
	CodeUserNotFound:            ActionPermanent,
	CodeAPINotAuthorized:        ActionPermanent,
	CodeAPIForbidden:            ActionPermanent,
	CodeContactSyncIPForbidden:  ActionPermanent,
	CodeAppDisabled:             ActionPermanent,
	CodeInvalidCursor:           ActionPermanent,
	CodeNoPermissionForTarget:   ActionPermanent,
	CodeUntrustedIP:             ActionPermanent,
	CodeUserIDNotFound:          ActionPermanent,
	CodeInvalidDepartmentID:     ActionPermanent,
	CodeInvalidResponseCode:     ActionPermanent,
	CodeAllRecipientsInvalid:    ActionPermanent,
	CodeNoRecipients:            ActionPermanent,
	CodePartyListTooLong:        ActionPermanent,
	CodeTagListTooLong:          ActionPermanent,
	CodeCardTargetEmpty:         ActionPermanent,
	CodeCardTargetNotRecipient:  ActionPermanent,
	CodeNoExternalContact:       ActionPermanent,
	CodeArchiveExpired:          ActionPermanent,
	CodeArchiveNotEnabled:       ActionPermanent,
	CodeArchivePullTooLarge:     ActionPermanent,
	CodeArchiveNotInternalGroup: ActionPermanent,
	CodeAgreeQueryTooLarge:      ActionPermanent,
	CodeArchiveUserNotFound:     ActionPermanent,
}

// ActionFor is the action for a WeCom errcode: the table's, or
// ActionPermanent for a code it does not know.
func ActionFor(code int) Action {
	if a, ok := codeActions[code]; ok {
		return a
	}
	return ActionPermanent
}

// APIError is a non-zero errcode from WeCom. Msg is WeCom's errmsg, for
// people; branch on Code.
type APIError struct {
	Op   string // the API, e.g. "message/send"
	Code int
	Msg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wecom: %s: errcode %d: %s", e.Op, e.Code, e.Msg)
}

// Classify says what to do about an error of the Client:
//
//   - an *APIError (anywhere in the chain): its errcode's action
//     (ActionFor);
//   - an *HTTPStatusError: ActionRetry for 5xx and 429, else permanent;
//   - a *TransportError (network failure, HTTP client timeout), a
//     *ResponseError (an answer that is not the JSON WeCom sends, e.g. cut
//     short), or a failure of the TokenCache: ActionRetry;
//   - the caller's context being cancelled or past its deadline:
//     ActionPermanent (there is no one left to retry for);
//   - anything else (invalid input, a missing secret, ErrResponseTooLarge,
//     nil): ActionPermanent.
func Classify(err error) Action {
	if err == nil {
		return ActionPermanent
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return ActionFor(apiErr.Code)
	}
	var statusErr *HTTPStatusError
	if errors.As(err, &statusErr) {
		if statusErr.StatusCode >= 500 || statusErr.StatusCode == http.StatusTooManyRequests {
			return ActionRetry
		}
		return ActionPermanent
	}
	var transportErr *TransportError
	if errors.As(err, &transportErr) {
		return ActionRetry // never caused by the caller's context (see TransportError)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ActionPermanent
	}
	if errors.Is(err, ErrResponseTooLarge) {
		return ActionPermanent
	}
	var respErr *ResponseError
	var cacheErr *TokenCacheError
	var netErr net.Error
	if errors.As(err, &respErr) || errors.As(err, &cacheErr) || errors.As(err, &netErr) {
		return ActionRetry
	}
	return ActionPermanent
}
