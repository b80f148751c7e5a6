package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var (
	alnum        = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	callbackPath = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
)

// The values WeCom publishes in its callback crypto samples (doc
// path/90968 and the official libraries' samples; WECOM.md §2, key set
// K1). They are public: a server using them accepts callbacks anyone can
// sign and reads callbacks anyone can decrypt. The crypto known-answer
// tests use them; a config never may.
const (
	sampleToken          = "QDG6eK"
	sampleEncodingAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	sampleCorpID         = "wx5823bf96d3bd56c7"
)

// SampleAdminToken is the admin token config.example.toml ships with:
// Warnings names it, since whoever has read the example can use it.
const SampleAdminToken = "sample-admin-token-change-me"

// keygenAdvice ends the reason of a published sample callback value.
const keygenAdvice = `; run "wecomply keygen" for a fresh Token and EncodingAESKey, and set the same pair in the WeCom admin console`

// reservedPaths are served by wecomply itself; a callback may not use them.
var reservedPaths = []string{"/healthz", "/readyz", "/metrics", "/api", "/status"}

// Validate checks every key and returns every problem found; it never
// puts a secret's value in a reason.
func (c *Config) Validate() []Problem {
	var ps problems

	s := c.Server
	if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
		ps.add("server.listen", "must be host:port, e.g. 127.0.0.1:8080")
	}
	if s.DebugListen != "" {
		host, port, err := net.SplitHostPort(s.DebugListen)
		ip := net.ParseIP(host)
		switch {
		case err != nil || port == "":
			ps.add("server.debug_listen", "must be host:port, e.g. 127.0.0.1:6060")
		case host != "localhost" && (ip == nil || !ip.IsLoopback()):
			ps.add("server.debug_listen", "must be a loopback address (127.0.0.1, ::1 or localhost): the profiler shows the process's memory")
		}
	}
	ps.between("server.max_body_bytes", s.MaxBodyBytes, 1<<10, 64<<20)
	ps.durationBetween("server.read_timeout", s.ReadTimeout, time.Second, 10*time.Minute)
	ps.durationBetween("server.write_timeout", s.WriteTimeout, time.Second, 10*time.Minute)
	ps.durationBetween("server.shutdown_timeout", s.ShutdownTimeout, time.Second, 10*time.Minute)
	ps.between("server.gc_percent", int64(s.GCPercent), 50, 1000)

	ps.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ps.oneOf("log.format", c.Log.Format, "json", "text")

	w := c.WeCom
	switch {
	case w.CorpID == "":
		ps.add("wecom.corp_id", "is required (My Company → Company Information → Company ID, e.g. ww0123456789abcdef)")
	case w.CorpID == sampleCorpID:
		ps.add("wecom.corp_id", "is the corp id of WeCom's published crypto samples, not a company's (My Company → Company Information → Company ID)")
	case len(w.CorpID) > 64 || !alnum.MatchString(w.CorpID):
		ps.add("wecom.corp_id", "must be letters and digits, at most 64")
	}
	switch {
	case w.AgentID < 0:
		ps.add("wecom.agent_id", fmt.Sprintf("must not be negative, got %d", w.AgentID))
	case w.AgentID == 0 && w.Secret != "":
		ps.add("wecom.agent_id", "is required with wecom.secret: messages are sent as that app (App Management → the app → AgentId)")
	}
	if u, err := url.Parse(w.APIBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ps.add("wecom.api_base_url", "must be an absolute http(s) URL, e.g. https://qyapi.weixin.qq.com")
	}
	ps.durationBetween("wecom.timestamp_window", w.TimestampWindow, 10*time.Second, 24*time.Hour)
	ps.durationBetween("wecom.api_timeout", w.APITimeout, time.Second, 2*time.Minute)
	for key, sec := range map[string]Secret{"wecom.secret": w.Secret, "wecom.contacts_secret": w.ContactsSecret,
		"wecom.customer_secret": w.CustomerSecret, "wecom.archive_secret": w.ArchiveSecret} {
		if v := sec.Reveal(); v != "" && (len(v) > 128 || strings.ContainsAny(v, " \t\r\n")) {
			ps.add(key, "must be the secret as the admin console shows it: no spaces, at most 128 characters")
		}
	}
	c.validateCallbacks(&ps)

	st := c.Store
	switch st.Backend {
	case "embedded":
		if strings.TrimSpace(st.Path) == "" {
			ps.add("store.path", `is required when store.backend = "embedded"`)
		}
	case "redis":
		u, err := url.Parse(st.RedisURL.Reveal())
		switch {
		case st.RedisURL == "":
			ps.add("store.redis_url", `is required when store.backend = "redis" (or set `+EnvStoreRedisURL+`)`)
		case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") || (u.Scheme != "unix" && u.Host == ""):
			// The URL may hold a password: the reason never quotes it.
			ps.add("store.redis_url", "must be a redis://, rediss:// or unix:// URL")
		}
	default:
		ps.add("store.backend", fmt.Sprintf(`must be "embedded" or "redis", got %q`, st.Backend))
	}
	ps.oneOf("store.redis_durability", st.RedisDurability, "fsync", "replicas", "everysec", "trust")
	if st.RedisDurability == "replicas" && st.RedisMinReplicas < 1 {
		ps.add("store.redis_min_replicas", fmt.Sprintf(`must be 1 or more when store.redis_durability = "replicas", got %d`, st.RedisMinReplicas))
	} else {
		ps.between("store.redis_min_replicas", int64(st.RedisMinReplicas), 0, 100)
	}
	// WeCom waits 5 s for the answer, and the wait shares a pipeline
	// read with the enqueue (store/redis: at most 2 s).
	ps.durationBetween("store.redis_replica_timeout", st.RedisReplicaTimeout, 10*time.Millisecond, 2*time.Second)
	ps.durationBetween("store.lease", st.Lease, time.Second, time.Hour)
	if st.Lease*2/3 <= w.APITimeout {
		// A worker gets two thirds of the lease per event, and an event may
		// wait on one WeCom API call.
		ps.add("store.lease", fmt.Sprintf("must be more than 1.5 × wecom.api_timeout (%s), got %s", w.APITimeout, st.Lease))
	}
	ps.between("store.max_attempts", int64(st.MaxAttempts), 1, 100)
	ps.durationBetween("store.batch_delay", st.BatchDelay, 100*time.Microsecond, time.Second)
	// A callback is accepted while its timestamp is within the window on
	// either side of now, so a replay can arrive up to two windows after
	// the original. The dedup key must outlive that.
	if st.DedupTTL <= 2*w.TimestampWindow {
		ps.add("store.dedup_ttl", fmt.Sprintf("must be longer than twice wecom.timestamp_window (%s), got %s", 2*w.TimestampWindow, st.DedupTTL))
	}

	wk := c.Workers
	ps.between("workers.count", int64(wk.Count), 1, 256)
	ps.between("workers.claim_batch", int64(wk.ClaimBatch), 1, 1000)
	ps.between("workers.count_while_receiving", int64(wk.CountWhileReceiving), 0, 256)
	ps.durationBetween("workers.retry_backoff", wk.RetryBackoff, 10*time.Millisecond, time.Hour)
	ps.durationBetween("workers.retry_max_backoff", wk.RetryMaxBackoff, wk.RetryBackoff, 24*time.Hour)

	n := c.Notify
	ps.oneOf("notify.default_language", n.DefaultLanguage, "zh-CN", "en")
	if _, err := time.LoadLocation(n.TimeZone); err != nil || n.TimeZone == "" {
		ps.add("notify.time_zone", fmt.Sprintf("must be an IANA time zone such as Asia/Shanghai, got %q", n.TimeZone))
	}
	ps.between("notify.daily_quota", int64(n.DailyQuota), 0, 1<<31-1)
	ps.between("notify.member_per_minute", int64(n.MemberPerMinute), 1, 30)
	ps.between("notify.member_per_hour", int64(n.MemberPerHour), 1, 1000)
	ps.durationBetween("notify.duplicate_check_interval", n.DuplicateCheckInterval, time.Minute, 4*time.Hour)
	ps.durationBetween("notify.send_deadline", n.SendDeadline, time.Minute, 7*24*time.Hour)
	// Recipients of one message/send: WeCom takes at most 1,000.
	ps.between("notify.card_batch", int64(n.CardBatch), 1, 1000)
	if n.SendDeadline > n.DuplicateCheckInterval {
		// A send retried after a crash is protected from doubling only
		// within the duplicate-check window.
		ps.add("notify.send_deadline", fmt.Sprintf("must not exceed notify.duplicate_check_interval (%s): a send retried after that could be delivered twice", n.DuplicateCheckInterval))
	}

	c.validatePolicy(&ps)
	c.validateJobs(&ps)
	c.validateRetention(&ps)
	c.validateArchive(&ps)
	c.validateConsole(&ps)
	c.validateEvidence(&ps)
	c.validateDisclosure(&ps)
	c.validateRules(&ps)

	seen := map[Secret]bool{}
	for i, t := range c.Admin.Tokens {
		key := fmt.Sprintf("admin.tokens[%d]", i)
		switch v := t.Reveal(); {
		case len(v) < 16:
			ps.add(key, fmt.Sprintf("must be at least 16 characters, got %d (wecomply keygen prints a good one)", len(v)))
		case strings.ContainsAny(v, " \t\r\n,"):
			ps.add(key, "must not contain spaces or commas")
		case seen[t]:
			ps.add(key, "repeats an earlier token")
		}
		seen[t] = true
	}
	return ps
}

func (c *Config) validateCallbacks(ps *problems) {
	cbs := c.WeCom.Callbacks
	if len(cbs) == 0 {
		ps.add("wecom.callback", "at least one [[wecom.callback]] is required")
	}
	paths := map[string]int{}
	for i, cb := range cbs {
		key := func(k string) string { return fmt.Sprintf("wecom.callback[%d].%s", i, k) }
		switch {
		case !callbackPath.MatchString(cb.Path):
			ps.add(key("path"), fmt.Sprintf("must be an absolute URL path of letters, digits and . _ ~ -, e.g. /wecom/callback, got %q", cb.Path))
		case isReserved(cb.Path):
			ps.add(key("path"), fmt.Sprintf("%q is served by wecomply itself", cb.Path))
		default:
			if j, dup := paths[cb.Path]; dup {
				ps.add(key("path"), fmt.Sprintf("%q is also the path of wecom.callback[%d]", cb.Path, j))
			}
			paths[cb.Path] = i
		}
		switch tok := cb.Token.Reveal(); {
		case tok == "":
			ps.add(key("token"), fmt.Sprintf("is required (or set %s%d_TOKEN)", envCallback, i))
		case len(tok) > 32:
			ps.add(key("token"), fmt.Sprintf("must be at most 32 characters, got %d", len(tok)))
		case !alnum.MatchString(tok):
			ps.add(key("token"), "must be letters and digits only")
		case tok == sampleToken:
			ps.add(key("token"), "is WeCom's published sample Token (its callback crypto samples): anyone can sign callbacks with it"+keygenAdvice)
		}
		aesKey := cb.EncodingAESKey.Reveal()
		switch problem := checkAESKey(aesKey); {
		case problem != "":
			ps.add(key("encoding_aes_key"), problem)
		case aesKey == sampleEncodingAESKey:
			ps.add(key("encoding_aes_key"), "is WeCom's published sample EncodingAESKey (its callback crypto samples): anyone can decrypt and forge callbacks with it"+keygenAdvice)
		}
		switch {
		case cb.ReceiveID != "" && !alnum.MatchString(cb.ReceiveID):
			ps.add(key("receive_id"), "must be letters and digits only")
		case cb.ReceiveID == sampleCorpID && c.WeCom.CorpID != sampleCorpID:
			ps.add(key("receive_id"), "is the receive id of WeCom's published crypto samples, not a company's corp id")
		}
	}
}

// Warnings are what is allowed but unwise: check prints them after "ok",
// serve logs them at start. None quotes a secret.
func (c *Config) Warnings() []Problem {
	var ps problems
	for i, t := range c.Admin.Tokens {
		if t.Reveal() == SampleAdminToken {
			ps.add(fmt.Sprintf("admin.tokens[%d]", i), "is the sample token of config.example.toml: anyone who has read the example can call the admin API with it; "+
				`set your own, e.g. the Token "wecomply keygen" prints, or openssl rand -hex 24`)
		}
	}
	c.disclosureWarning(&ps)
	return ps
}

func (c *Config) validateJobs(ps *problems) {
	j := c.Jobs
	if _, err := time.LoadLocation(j.TimeZone); err != nil || j.TimeZone == "" {
		ps.add("jobs.time_zone", fmt.Sprintf("must be an IANA time zone such as Asia/Shanghai, got %q", j.TimeZone))
	}
	ps.durationBetween("jobs.lease", j.Lease, 5*time.Second, time.Hour)
	ps.durationBetween("jobs.timeout", j.Timeout, time.Second, 24*time.Hour)
	for _, js := range []struct{ key, spec string }{{"jobs.reminders", j.Reminders}, {"jobs.digest", j.Digest},
		{"jobs.reconcile", j.Reconcile}, {"jobs.retention", j.Retention}} {
		key, spec := js.key, js.spec
		if spec == "" {
			continue
		}
		if _, err := cron.ParseStandard(spec); err != nil {
			ps.add(key, fmt.Sprintf("must be a cron spec of five fields (minute hour day month weekday), e.g. \"0 9 * * *\": %v", err))
		}
	}
	cal := c.Calendar
	// The parsers serve builds the calendar with: one definition of valid.
	if _, err := cal.Weekdays(); err != nil {
		*ps = append(*ps, err.(Problem))
	}
	if _, _, err := cal.Hours(); err != nil {
		*ps = append(*ps, err.(Problem))
	}
	for _, list := range []struct {
		name string
		days []string
	}{{"calendar.holidays", cal.Holidays}, {"calendar.extra_workdays", cal.ExtraWorkdays}} {
		name := list.name
		for i, d := range list.days {
			if _, err := time.Parse("2006-01-02", d); err != nil {
				ps.add(fmt.Sprintf("%s[%d]", name, i), fmt.Sprintf("must be a date YYYY-MM-DD, got %q", d))
			}
		}
	}
}

var noticeID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (c *Config) validatePolicy(ps *problems) {
	p := c.Policy
	for i, w := range p.AckWords {
		if strings.TrimSpace(w) == "" {
			ps.add(fmt.Sprintf("policy.ack_words[%d]", i), "must not be empty")
		}
	}
	for i, o := range p.Officers {
		if !userID.MatchString(o) {
			ps.add(fmt.Sprintf("policy.officers[%d]", i), fmt.Sprintf("must be a UserID, got %q", o))
		}
	}
	ps.durationBetween("policy.consent_grace", p.ConsentGrace, 0, 30*24*time.Hour)
	if p.ConsentPolicyURL != "" && !httpURL(p.ConsentPolicyURL) {
		ps.add("policy.consent_policy_url", "must be an http(s) URL")
	}
	if p.ConsentPolicyURL == "" && len(c.Notices) > 0 {
		ps.add("policy.consent_policy_url", "is required: the card telling an employee that a customer declined archiving links to it")
	}
	ids := map[string]int{}
	for i, n := range c.Notices {
		key := func(k string) string { return fmt.Sprintf("notices[%d].%s", i, k) }
		if !noticeID.MatchString(n.ID) {
			ps.add(key("id"), fmt.Sprintf("must be 1 to 64 of a-z 0-9 _ - starting with a letter or digit, got %q", n.ID))
		} else if j, dup := ids[n.ID]; dup {
			ps.add(key("id"), fmt.Sprintf("%q is also the id of notices[%d]", n.ID, j))
		}
		ids[n.ID] = i
		if n.Version < 1 {
			ps.add(key("version"), fmt.Sprintf("must be 1 or more, got %d", n.Version))
		}
		if strings.TrimSpace(n.Title) == "" {
			ps.add(key("title"), "is required")
		}
		if n.Template == "" {
			ps.add(key("template"), `is required (e.g. "ack_card")`)
		}
		if len(n.Languages) == 0 {
			ps.add(key("languages"), `at least one, e.g. ["zh-CN", "en"]`)
		}
		for j, l := range n.Languages {
			if l != "zh-CN" && l != "en" {
				ps.add(fmt.Sprintf("notices[%d].languages[%d]", i, j), fmt.Sprintf(`must be "zh-CN" or "en", got %q`, l))
			}
		}
		if n.URL != "" && !httpURL(n.URL) {
			ps.add(key("url"), "must be an http(s) URL")
		}
		a := n.Audience
		if !a.Everyone && !a.PermitList && len(a.Departments) == 0 && len(a.Tags) == 0 && len(a.Users) == 0 {
			ps.add(key("audience"), "names nobody: set everyone, departments, tags, users or permit_list")
		}
		for j, u := range append(slices.Clone(a.Users), n.Owners...) {
			if !userID.MatchString(u) {
				field := fmt.Sprintf("notices[%d].audience.users[%d]", i, j)
				if j >= len(a.Users) {
					field = fmt.Sprintf("notices[%d].owners[%d]", i, j-len(a.Users))
				}
				ps.add(field, fmt.Sprintf("must be a UserID, got %q", u))
			}
		}
		for _, f := range []struct {
			k string
			v int
		}{{"due_days", n.DueDays}, {"reattest_days", n.ReattestDays}, {"remind_every_days", n.RemindEveryDays},
			{"max_reminders", n.MaxReminders}, {"escalate_after", n.EscalateAfter}} {
			ps.between(key(f.k), int64(f.v), 0, 3650)
		}
	}
}

// userID matches a WeCom UserID: 1 to 64 bytes of letters, digits and
// _-.@ (path/90196).
var userID = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// checkAESKey explains what is wrong with an EncodingAESKey, or returns "".
func checkAESKey(k string) string {
	switch {
	case k == "":
		return "is required (wecomply keygen prints one)"
	case len(k) != 43:
		return fmt.Sprintf("must be 43 characters, got %d", len(k))
	case !alnum.MatchString(k):
		return "must be letters and digits only"
	}
	// Not Strict: WeCom's own keys are not canonical Base64 (see WECOM.md §1.5).
	if b, err := base64.StdEncoding.DecodeString(k + "="); err != nil || len(b) != 32 {
		return "is not the Base64 of a 32-byte key"
	}
	return ""
}

func isReserved(path string) bool {
	for _, r := range reservedPaths {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}

type problems []Problem

func (ps *problems) add(key, reason string) { *ps = append(*ps, Problem{Key: key, Reason: reason}) }

func (ps *problems) between(key string, v, lo, hi int64) {
	if v < lo || v > hi {
		ps.add(key, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, v))
	}
}

func (ps *problems) durationBetween(key string, v, lo, hi time.Duration) {
	if v < lo || v > hi {
		ps.add(key, fmt.Sprintf(`must be a duration between %s and %s such as "30s", got %s`, lo, hi, v))
	}
}

func (ps *problems) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	ps.add(key, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
}
