package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Console is the officers' web console at /console/ and what the people
// reading its pages and exports see: every time shown there, and in the
// officers' CSV exports, is in TimeZone, and says so.
type Console struct {
	// TimeZone is the IANA zone every time in the console and in the
	// officers' exports is shown in (default Asia/Shanghai).
	TimeZone string `toml:"time_zone"`
	// Enabled serves the console at /console/ (default off). It needs
	// wecom.secret and wecom.agent_id: officers sign in with WeCom.
	Enabled bool `toml:"enabled"`
	// BaseURL is the console's public origin as browsers reach it, e.g.
	// https://compliance.example.com: WeCom redirects back to
	// BaseURL/console/auth/callback, so its host must be the app's
	// trusted domain 「可信域名」. https is required unless the host is
	// loopback.
	BaseURL string `toml:"base_url"`
	// SessionIdle signs a session out after this long without a request
	// (default 30m, 1m to 24h).
	SessionIdle time.Duration `toml:"session_idle"`
	// Viewers, Officers and Admins grant the roles: each entry is a
	// member's UserID, or "tag:<tagid>" for every member with that WeCom
	// tag. A member in several lists has the highest role. Viewers read;
	// officers also place and release legal holds, retry dead letters and
	// export; admins may do everything.
	Viewers  []string `toml:"viewers"`
	Officers []string `toml:"officers"`
	Admins   []string `toml:"admins"`
	// OAuthBaseURL and LoginBaseURL are WeCom's sign-in origins (defaults
	// https://open.weixin.qq.com and https://login.work.weixin.qq.com);
	// only the sandbox and tests point them elsewhere (the fake WeCom).
	OAuthBaseURL string `toml:"oauth_base_url"`
	LoginBaseURL string `toml:"login_base_url"`
}

// Console defaults and limits.
const (
	DefaultSessionIdle = 30 * time.Minute
	minSessionIdle     = time.Minute
	maxSessionIdle     = 24 * time.Hour
)

func defaultConsole() Console {
	return Console{TimeZone: "Asia/Shanghai", SessionIdle: DefaultSessionIdle,
		OAuthBaseURL: "https://open.weixin.qq.com", LoginBaseURL: "https://login.work.weixin.qq.com"}
}

// Location is TimeZone loaded; Asia/Shanghai's fixed +08:00 when the
// zone cannot be loaded (Validate reports that case).
func (c Console) Location() *time.Location {
	if loc, err := time.LoadLocation(c.TimeZone); err == nil && c.TimeZone != "" {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

func (c *Config) validateConsole(ps *problems) {
	cc := c.Console
	if _, err := time.LoadLocation(cc.TimeZone); err != nil || cc.TimeZone == "" {
		ps.add("console.time_zone", fmt.Sprintf("must be an IANA time zone such as Asia/Shanghai, got %q", cc.TimeZone))
	}
	if cc.SessionIdle < minSessionIdle || cc.SessionIdle > maxSessionIdle {
		ps.add("console.session_idle", fmt.Sprintf("must be 1m to 24h, got %s", cc.SessionIdle))
	}
	for key, v := range map[string]string{"console.oauth_base_url": cc.OAuthBaseURL, "console.login_base_url": cc.LoginBaseURL} {
		if !httpURL(v) {
			ps.add(key, fmt.Sprintf("must be an http(s) origin such as https://open.weixin.qq.com, got %q", v))
		}
	}
	for key, list := range map[string][]string{"console.viewers": cc.Viewers, "console.officers": cc.Officers, "console.admins": cc.Admins} {
		for i, e := range list {
			if p := roleEntryProblem(e); p != "" {
				ps.add(fmt.Sprintf("%s[%d]", key, i), p)
			}
		}
	}
	if !cc.Enabled {
		return
	}
	switch u, err := url.Parse(cc.BaseURL); {
	case err != nil || !httpURL(cc.BaseURL):
		ps.add("console.base_url", fmt.Sprintf("must be the console's public origin such as https://compliance.example.com, got %q", cc.BaseURL))
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		ps.add("console.base_url", "must be https (the session cookie is Secure); http only for a loopback host")
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		ps.add("console.base_url", "must be an origin only (no path, query or fragment): the console lives at /console/")
	}
	if len(cc.Viewers)+len(cc.Officers)+len(cc.Admins) == 0 {
		ps.add("console.admins", "no one may sign in: list at least one UserID or tag:<tagid> in console.viewers, officers or admins")
	}
	if c.WeCom.Secret == "" || c.WeCom.AgentID == 0 {
		ps.add("console.enabled", "needs wecom.secret and wecom.agent_id: officers sign in with WeCom")
	}
}

// roleEntryProblem says what is wrong with a role entry: a UserID (1 to
// 64 bytes of letters, digits and _-.@, as policy.officers) or
// tag:<positive tag id>.
func roleEntryProblem(e string) string {
	if id, ok := strings.CutPrefix(e, "tag:"); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
			return fmt.Sprintf("tag must be tag:<tag id>, a positive number, got %q", e)
		}
		return ""
	}
	if !userID.MatchString(e) {
		return fmt.Sprintf("must be a UserID (1 to 64 bytes of letters, digits and _-.@) or tag:<tag id>, got %q", e)
	}
	return ""
}

// loopbackHost reports whether h is localhost, 127.0.0.1 or ::1: a host
// a browser treats as a secure origin over http, so that it keeps the
// console's Secure session cookie. It is deliberately stricter than
// server.debug_listen's check (localhost or any IP that net.IP calls
// loopback, for a listener), which also takes an IPv4-mapped
// ::ffff:127.0.0.1: loopback to net.IP, but not an origin the Secure
// Contexts spec names (localhost, 127.0.0.0/8, ::1).
func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}
