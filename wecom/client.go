package wecom

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Apps: each WeCom secret has its own access token (path/91039), so the
// Client keeps one token per app.
const (
	// AppMessages is the self-built app's secret (config wecom.secret):
	// message/*, and externalcontact/* if the app is in 客户联系 可调用应用.
	AppMessages = "app"
	// AppContacts is the 通讯录同步 (contact sync) secret
	// (wecom.contacts_secret): user/list_id, department/list.
	AppContacts = "contacts"
	// AppCustomer is the 客户联系 (customer contact) secret
	// (wecom.customer_secret): externalcontact/*.
	AppCustomer = "customer"
	// AppArchive is the 会话内容存档 (session archive) secret
	// (wecom.archive_secret): msgaudit/*.
	AppArchive = "archive"
)

// appConfigKeys names the config key of each app's secret, for errors.
var appConfigKeys = map[string]string{
	AppMessages: "wecom.secret",
	AppContacts: "wecom.contacts_secret",
	AppCustomer: "wecom.customer_secret",
	AppArchive:  "wecom.archive_secret",
}

// TokenCache is where the access tokens live, shared by every replica so
// that they fetch each app's token once between them. The store
// implements it (store.Tokens and store.Leases). Token values are
// secrets: implementations never log them or put them in errors.
type TokenCache interface {
	// GetToken returns app's token and when it expires, or "" (and a nil
	// error) when none is cached or it has expired. An error means the
	// cache failed.
	GetToken(ctx context.Context, app string) (value string, expiresAt time.Time, err error)
	// PutToken caches value for app until expiresAt.
	PutToken(ctx context.Context, app, value string, expiresAt time.Time) error
	// DeleteToken removes app's token if it is still value
	// (compare-and-delete).
	DeleteToken(ctx context.Context, app, value string) error
	// AcquireLease takes lease name for holder until ttl from now if it is
	// free, expired or already holder's, and reports whether holder holds
	// it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease frees name if holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// ClientConfig configures a Client.
type ClientConfig struct {
	CorpID  string
	AgentID int64 // the self-built app's agentid, for message/*
	// Secrets maps an app (AppMessages, AppContacts, AppCustomer,
	// AppArchive) to its secret. An API whose app has no secret fails
	// with ErrNoSecret, naming the app and its config key.
	Secrets map[string]string
	// BaseURL is WeCom's API origin, e.g. https://qyapi.weixin.qq.com
	// (without /cgi-bin).
	BaseURL string
	// HTTPClient is required and must have a Timeout. The Client never
	// follows redirects (a redirect would carry the access token
	// elsewhere).
	HTTPClient *http.Client
	// Tokens is required: the shared token cache.
	Tokens TokenCache
	// Holder names this replica in the token refresh lease (the Client
	// appends a random suffix, so that two Clients never share a holder).
	Holder string
	// TokenMargin: a token is refreshed this long before WeCom's
	// expires_in ends. Default 5 minutes.
	TokenMargin time.Duration
	// Now is the clock for token expiry; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults and limits of the Client.
const (
	// DefaultTokenMargin is ClientConfig.TokenMargin's default.
	DefaultTokenMargin = 5 * time.Minute
	// maxResponseBytes is the most of an answer the Client reads.
	maxResponseBytes = 4 << 20
	// leaseTTL bounds how long one replica may hold a token refresh.
	leaseTTL = 10 * time.Second
	// tokenPollEvery and tokenPollFor: how a replica that finds another
	// refreshing waits for the token to appear in the cache.
	tokenPollEvery = 50 * time.Millisecond
	tokenPollFor   = 5 * time.Second
	// maxLeaseRounds bounds how often a replica tries the lease and waits
	// before it gives up on getting a token.
	maxLeaseRounds = 4
)

// Client calls WeCom's server APIs (the pages named on each method). It
// gets and
// caches access tokens (see TokenCache), retries once after an
// invalidated token, and returns every non-zero errcode as an *APIError.
// It is safe for concurrent use.
type Client struct {
	corpID  string
	agentID int64
	secrets map[string]string
	base    string
	hc      *http.Client
	tokens  TokenCache
	holder  string
	margin  time.Duration
	now     func() time.Time
	log     *slog.Logger
	scrub   []string // every secret, to scrub from texts

	pollEvery, pollFor time.Duration // tests shorten them

	mu  sync.Mutex
	mem map[string]memToken // app → this process's copy of the cached token
	// refreshing serialises token refreshes of one app within the
	// process (the lease serialises them between replicas): a channel of
	// capacity one per app, so that waiting honours ctx.
	refreshing map[string]chan struct{}
}

type memToken struct {
	value     string
	expiresAt time.Time
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.CorpID == "" {
		return nil, errors.New("wecom: client: CorpID (wecom.corp_id) is required")
	}
	if cfg.AgentID < 0 {
		return nil, errors.New("wecom: client: AgentID (wecom.agent_id) must not be negative")
	}
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil || cfg.HTTPClient.Timeout <= 0 {
		return nil, errors.New("wecom: client: an HTTPClient with a Timeout is required")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("wecom: client: a TokenCache is required")
	}
	if cfg.TokenMargin < 0 {
		return nil, errors.New("wecom: client: TokenMargin must not be negative")
	}
	if cfg.TokenMargin == 0 {
		cfg.TokenMargin = DefaultTokenMargin
	}
	secrets := make(map[string]string, len(cfg.Secrets))
	var scrub []string
	for app, secret := range cfg.Secrets {
		if _, ok := appConfigKeys[app]; !ok {
			return nil, fmt.Errorf("wecom: client: unknown app %q in Secrets (want %q, %q, %q or %q)",
				app, AppMessages, AppContacts, AppCustomer, AppArchive)
		}
		if secret = strings.TrimSpace(secret); secret != "" {
			secrets[app] = secret
			scrub = append(scrub, secret)
		}
	}
	if len(secrets) == 0 {
		return nil, errors.New("wecom: client: no secret configured (wecom.secret, wecom.contacts_secret, wecom.customer_secret or wecom.archive_secret)")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	holder, err := instanceHolder(cfg.Holder)
	if err != nil {
		return nil, err
	}
	// A shallow copy, so that the redirect policy does not change the
	// caller's client; the Transport (and its connections) stays shared.
	hc := *cfg.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		corpID:     cfg.CorpID,
		agentID:    cfg.AgentID,
		secrets:    secrets,
		base:       base,
		hc:         &hc,
		tokens:     cfg.Tokens,
		holder:     holder,
		margin:     cfg.TokenMargin,
		now:        cfg.Now,
		log:        cfg.Logger,
		scrub:      scrub,
		pollEvery:  tokenPollEvery,
		pollFor:    tokenPollFor,
		mem:        make(map[string]memToken),
		refreshing: make(map[string]chan struct{}, len(appConfigKeys)),
	}
	for app := range appConfigKeys {
		c.refreshing[app] = make(chan struct{}, 1)
	}
	return c, nil
}

func checkBaseURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wecom: client: BaseURL (wecom.api_base_url) %q is not an http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("wecom: client: BaseURL (wecom.api_base_url) %q must have no query, fragment or user", s)
	}
	if strings.HasSuffix(u.Path, "/cgi-bin") {
		return "", fmt.Errorf("wecom: client: BaseURL (wecom.api_base_url) %q must not end in /cgi-bin (e.g. https://qyapi.weixin.qq.com)", s)
	}
	return s, nil
}

// instanceHolder makes the lease holder name unique to this Client, so
// that two Clients given the same Holder (or none) still exclude each
// other.
func instanceHolder(holder string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("wecom: client: holder id: %w", err)
	}
	if holder == "" {
		holder = "wecomply"
	}
	return holder + "/" + hex.EncodeToString(b[:]), nil
}

// appFor picks the first of apps that has a secret.
func (c *Client) appFor(op string, apps ...string) (string, error) {
	for _, app := range apps {
		if _, ok := c.secrets[app]; ok {
			return app, nil
		}
	}
	keys := make([]string, len(apps))
	names := make([]string, len(apps))
	for i, app := range apps {
		keys[i] = appConfigKeys[app]
		names[i] = fmt.Sprintf("%q", app)
	}
	return "", fmt.Errorf("wecom: %s: %w for app %s: set %s",
		op, ErrNoSecret, strings.Join(names, " or "), strings.Join(keys, " or "))
}

// request is one API call.
type request struct {
	op     string   // path under /cgi-bin/, e.g. "message/send"
	apps   []string // whose token to use: the first with a secret
	method string   // GET or POST
	query  url.Values
	body   []byte // POST body, sent as it is
}

// call makes r with app's token and decodes the answer into out. On an
// invalidated token (40014, 42001, 41001) it drops the token, gets a
// fresh one and tries once more; a second token error is returned.
func (c *Client) call(ctx context.Context, r request, out any) error {
	app, err := c.appFor(r.op, r.apps...)
	if err != nil {
		return err
	}
	var stale string
	for attempt := 1; ; attempt++ {
		var token string
		if stale == "" {
			token, err = c.token(ctx, app)
		} else {
			token, err = c.refresh(ctx, app, stale)
		}
		if err != nil {
			return c.tokenError(r.op, app, err)
		}
		q := url.Values{}
		for k, v := range r.query {
			q[k] = v
		}
		q.Set("access_token", token)
		err = c.roundTrip(ctx, r.op, app, attempt, r.method, q, r.body, out, token)
		var apiErr *APIError
		if attempt == 1 && errors.As(err, &apiErr) && ActionFor(apiErr.Code) == ActionRefreshToken {
			if err := c.dropToken(ctx, app, token); err != nil {
				return c.tokenError(r.op, app, err)
			}
			stale = token
			continue
		}
		return err
	}
}

// tokenError wraps a failure to get app's token for op.
func (c *Client) tokenError(op, app string, err error) error {
	return fmt.Errorf("wecom: %s: access token of app %q: %w", op, app, err)
}

// roundTrip sends one request to /cgi-bin/<op> and decodes the answer:
// a non-zero errcode becomes an *APIError, anything else unexpected a
// *TransportError, *HTTPStatusError or *ResponseError. values are the
// secrets in flight, scrubbed from every text. Each round trip is logged
// once, at debug, without the token, the secret or the content (not even
// WeCom's errmsg, which might echo it).
func (c *Client) roundTrip(ctx context.Context, op, app string, attempt int, method string, q url.Values, body []byte, out any, values ...string) (err error) {
	start := time.Now()
	status, code := 0, 0
	scrub := slices.Concat(values, c.scrub)
	defer func() {
		attrs := []slog.Attr{
			slog.String("op", op), slog.String("app", app), slog.Int("attempt", attempt),
			slog.Int("status", status), slog.Int("errcode", code), slog.Duration("duration", time.Since(start)),
		}
		// WeCom's errmsg is not logged (the errcode is): it may echo the
		// request. Other errors are logged redacted.
		var apiErr *APIError
		if err != nil && !errors.As(err, &apiErr) {
			attrs = append(attrs, slog.String("err", redact(err.Error(), scrub...)))
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "wecom api call", attrs...)
	}()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/cgi-bin/"+op+"?"+q.Encode(), rd)
	if err != nil {
		return &TransportError{Op: op, Err: redactTransport(err, scrub...)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("wecom: %s: %w", op, ctxErr)
		}
		return &TransportError{Op: op, Err: redactTransport(err, scrub...)}
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("wecom: %s: %w", op, ctxErr)
		}
		return &TransportError{Op: op, Err: redactTransport(err, scrub...)}
	}
	if resp.StatusCode != http.StatusOK {
		return &HTTPStatusError{Op: op, StatusCode: resp.StatusCode}
	}
	if len(data) > maxResponseBytes {
		return &ResponseError{Op: op, Reason: fmt.Sprintf("more than %d bytes", maxResponseBytes), Err: ErrResponseTooLarge}
	}
	var head struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return &ResponseError{Op: op, Reason: "not a JSON object with errcode", Err: err}
	}
	code = head.ErrCode
	if head.ErrCode != 0 {
		return &APIError{Op: op, Code: head.ErrCode, Msg: redact(head.ErrMsg, scrub...)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &ResponseError{Op: op, Reason: "unexpected JSON", Err: err}
		}
	}
	return nil
}

// marshal encodes v as WeCom wants it: without escaping <, > and & (a
// text with a link stays as written; WeCom rejects some \uXXXX escapes,
// errcode 40033) and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// postJSON makes a POST call with v as the JSON body.
func (c *Client) postJSON(ctx context.Context, op string, apps []string, v any, out any) error {
	body, err := marshal(v)
	if err != nil {
		return fmt.Errorf("wecom: %s: encode request: %w", op, err)
	}
	return c.call(ctx, request{op: op, apps: apps, method: http.MethodPost, body: body}, out)
}
