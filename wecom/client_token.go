package wecom

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Access tokens (path/91039). A call needs its app's token: this
// process's copy if it is still valid, else the TokenCache's, else a
// fresh one. A fresh token is fetched by one replica at a time: it takes
// the lease "wecom-token:<app>", looks in the cache once more (another
// replica may just have stored one), calls gettoken, stores the token
// until expires_in minus the margin, and releases the lease. A replica
// that finds the lease taken waits for the token to appear in the cache,
// then tries the lease again. So N replicas fetch a token once.

// errLeaseBusy: the refresh lease stayed with another replica and no
// token appeared.
var errLeaseBusy = errors.New("another replica holds the token refresh lease and no token appeared")

func leaseName(app string) string { return "wecom-token:" + app }

// usable: v is a token, not the one just rejected, and not expired.
func usable(v string, expiresAt, now time.Time, stale string) bool {
	return v != "" && v != stale && now.Before(expiresAt)
}

// token returns app's access token.
func (c *Client) token(ctx context.Context, app string) (string, error) {
	if v, ok := c.memGet(app, ""); ok {
		return v, nil
	}
	if v, err := c.cached(ctx, app, ""); err != nil || v != "" {
		return v, err
	}
	return c.refresh(ctx, app, "")
}

// refresh returns a valid token of app other than stale (a token WeCom
// has just rejected, or "").
func (c *Client) refresh(ctx context.Context, app, stale string) (string, error) {
	sem := c.refreshing[app]
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-sem }()
	for range maxLeaseRounds {
		// Another goroutine or replica may have refreshed meanwhile.
		if v, ok := c.memGet(app, stale); ok {
			return v, nil
		}
		if v, err := c.cached(ctx, app, stale); err != nil || v != "" {
			return v, err
		}
		held, err := c.tokens.AcquireLease(ctx, leaseName(app), c.holder, leaseTTL)
		if err != nil {
			return "", &TokenCacheError{App: app, Op: "lease", Err: err}
		}
		if held {
			return c.refreshHeld(ctx, app, stale)
		}
		if v, err := c.awaitToken(ctx, app, stale); err != nil || v != "" {
			return v, err
		}
	}
	return "", &TokenCacheError{App: app, Op: "lease", Err: errLeaseBusy}
}

// refreshHeld fetches a token while holding the lease.
func (c *Client) refreshHeld(ctx context.Context, app, stale string) (string, error) {
	defer c.releaseLease(ctx, app)
	if v, err := c.cached(ctx, app, stale); err != nil || v != "" {
		return v, err
	}
	start := c.now()
	v, expiresIn, err := c.fetchToken(ctx, app)
	if err != nil {
		return "", err
	}
	expiresAt := start.Add(c.lifetime(expiresIn))
	c.memPut(app, v, expiresAt)
	if err := c.tokens.PutToken(ctx, app, v, expiresAt); err != nil {
		// The token is good: this replica uses it, and the others fetch
		// their own until the cache is back.
		c.log.LogAttrs(ctx, slog.LevelWarn, "wecom: could not cache an access token",
			slog.String("app", app), slog.String("err", redact(err.Error(), v)))
	}
	return v, nil
}

// lifetime is how long a token that WeCom says lives expiresIn is used:
// the margin less, but at least half of it.
func (c *Client) lifetime(expiresIn time.Duration) time.Duration {
	return max(expiresIn-c.margin, expiresIn/2)
}

func (c *Client) releaseLease(ctx context.Context, app string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := c.tokens.ReleaseLease(ctx, leaseName(app), c.holder); err != nil {
		// Harmless: the lease expires after leaseTTL.
		c.log.LogAttrs(ctx, slog.LevelDebug, "wecom: could not release the token lease",
			slog.String("app", app), slog.String("err", err.Error()))
	}
}

// awaitToken polls the cache while another replica refreshes. It returns
// "" and no error when no token appeared in time.
func (c *Client) awaitToken(ctx context.Context, app, stale string) (string, error) {
	deadline := time.Now().Add(c.pollFor)
	t := time.NewTicker(c.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-t.C:
		}
		if v, err := c.cached(ctx, app, stale); err != nil || v != "" {
			return v, err
		}
		if !time.Now().Before(deadline) {
			return "", nil
		}
	}
}

// cached returns the cache's token of app if it is usable (and keeps a
// copy in memory), else "".
func (c *Client) cached(ctx context.Context, app, stale string) (string, error) {
	v, expiresAt, err := c.tokens.GetToken(ctx, app)
	if err != nil {
		return "", &TokenCacheError{App: app, Op: "get", Err: err}
	}
	if !usable(v, expiresAt, c.now(), stale) {
		return "", nil
	}
	c.memPut(app, v, expiresAt)
	return v, nil
}

// fetchToken calls gettoken with app's secret.
func (c *Client) fetchToken(ctx context.Context, app string) (string, time.Duration, error) {
	secret := c.secrets[app]
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {secret}}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.roundTrip(ctx, "gettoken", app, 1, http.MethodGet, q, nil, &out, secret); err != nil {
		return "", 0, err
	}
	if out.AccessToken == "" || out.ExpiresIn <= 0 {
		return "", 0, &ResponseError{Op: "gettoken", Reason: "no access_token or expires_in"}
	}
	return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, nil
}

// dropToken forgets a token WeCom rejected, here and in the cache (only
// if it is still that token there).
func (c *Client) dropToken(ctx context.Context, app, value string) error {
	c.mu.Lock()
	if c.mem[app].value == value {
		delete(c.mem, app)
	}
	c.mu.Unlock()
	if err := c.tokens.DeleteToken(ctx, app, value); err != nil {
		return &TokenCacheError{App: app, Op: "delete", Err: err}
	}
	return nil
}

func (c *Client) memGet(app, stale string) (string, bool) {
	c.mu.Lock()
	t := c.mem[app]
	c.mu.Unlock()
	return t.value, usable(t.value, t.expiresAt, c.now(), stale)
}

func (c *Client) memPut(app, value string, expiresAt time.Time) {
	c.mu.Lock()
	c.mem[app] = memToken{value: value, expiresAt: expiresAt}
	c.mu.Unlock()
}
