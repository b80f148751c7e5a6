// Package config reads wecomply's TOML configuration into typed, validated
// settings. Unknown keys are errors, every key has a documented default
// (config.example.toml), secrets may come from WECOMPLY_… environment
// variables, and validation reports every problem with the key it concerns.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration.
type Config struct {
	Server   Server   `toml:"server"`
	Log      Log      `toml:"log"`
	WeCom    WeCom    `toml:"wecom"`
	Store    Store    `toml:"store"`
	Workers  Workers  `toml:"workers"`
	Notify   Notify   `toml:"notify"`
	Policy   Policy   `toml:"policy"`
	Jobs     Jobs     `toml:"jobs"`
	Calendar Calendar `toml:"calendar"`
	Notices  []Notice `toml:"notices"`
	Admin    Admin    `toml:"admin"`

	// Retention is how long records are kept (retention.go).
	Retention Retention `toml:"retention"`
	// Archive is the session archive (archive.go).
	Archive Archive `toml:"archive"`
	// Console is the officers' web console (console.go).
	Console Console `toml:"console"`
	// Evidence signs evidence packs; Transfer pseudonymises exports
	// (evidence.go).
	Evidence Evidence `toml:"evidence"`
	Transfer Transfer `toml:"transfer"`
	// Disclosure is what notices about personal data say of its handling
	// (disclosure.go).
	Disclosure Disclosure `toml:"disclosure"`
	// Rules is the supervision rule file (rules.go).
	Rules Rules `toml:"rules"`
}

// Server is the HTTP server.
type Server struct {
	// Listen is the host:port the server binds.
	Listen string `toml:"listen"`
	// MaxBodyBytes bounds a callback body; larger ones get 413.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// ReadTimeout and WriteTimeout bound one HTTP exchange.
	ReadTimeout  time.Duration `toml:"read_timeout"`
	WriteTimeout time.Duration `toml:"write_timeout"`
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	// BaselineRoute adds, for every callback path P, a route P+"/baseline"
	// that verifies and decrypts like the real one but persists nothing.
	// It exists only to measure the store's cost in load tests; never
	// point WeCom at it.
	BaselineRoute bool `toml:"baseline_route"`
	// DebugListen, when set, serves Go's profiler (net/http/pprof) on its
	// own listener at this host:port, apart from the callback and admin
	// routes. It must be a loopback address: profiles show memory.
	DebugListen string `toml:"debug_listen"`
	// GCPercent is the Go garbage collector's target that serve sets when
	// it starts (debug.SetGCPercent), unless GOGC is set in its
	// environment: the heap may grow this many percent past what is live
	// before the next collection.
	GCPercent int `toml:"gc_percent"`
}

// Log is the structured logger.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // json or text
}

// WeCom is the company's WeCom account and its callback receivers.
type WeCom struct {
	CorpID  string `toml:"corp_id"`
	AgentID int64  `toml:"agent_id"`
	// Secret is the self-built app's secret: sending messages and cards.
	Secret Secret `toml:"secret"`
	// ContactsSecret is the contact-sync (通讯录同步) secret: member and
	// department lists. Optional; without it the app's secret is used.
	ContactsSecret Secret `toml:"contacts_secret"`
	// CustomerSecret is the customer-contact (客户联系) secret. Optional;
	// without it the app's secret is used (the app must then be in
	// 客户联系 → 可调用应用).
	CustomerSecret Secret `toml:"customer_secret"`
	// ArchiveSecret is the session-archive (会话内容存档) secret.
	ArchiveSecret Secret `toml:"archive_secret"`
	APIBaseURL    string `toml:"api_base_url"`
	// APITimeout bounds one call to the WeCom API.
	APITimeout time.Duration `toml:"api_timeout"`
	// TimestampWindow is how far a callback's timestamp may be from now.
	TimestampWindow time.Duration `toml:"timestamp_window"`
	Callbacks       []Callback    `toml:"callback"`
}

// Callback is one WeCom receiver (an app, the contact-sync assistant, the
// customer-contact or the archive callback), each with its own URL path,
// Token and EncodingAESKey.
type Callback struct {
	// Name labels the receiver in logs; defaults to the path.
	Name           string `toml:"name"`
	Path           string `toml:"path"`
	Token          Secret `toml:"token"`
	EncodingAESKey Secret `toml:"encoding_aes_key"`
	// ReceiveID is the id WeCom puts at the end of every plaintext: the
	// corp id for internal apps (the default), the suite id for suites.
	ReceiveID string `toml:"receive_id"`
}

// Store selects and tunes the store backend.
type Store struct {
	Backend  string `toml:"backend"` // embedded or redis
	Path     string `toml:"path"`
	RedisURL Secret `toml:"redis_url"`
	// RedisDurability is what a callback's 200 promises if Redis dies:
	// "fsync" (the server must run appendonly yes, appendfsync always;
	// checked at start-up), "replicas" (each enqueue waits until
	// RedisMinReplicas replicas have it), "everysec" (about a second of
	// accepted callbacks may be lost) or "trust" (not checked).
	RedisDurability string `toml:"redis_durability"`
	// RedisMinReplicas is how many replicas must acknowledge an enqueued
	// event in "replicas" mode, and RedisReplicaTimeout how long to wait
	// for them before answering 503.
	RedisMinReplicas    int           `toml:"redis_min_replicas"`
	RedisReplicaTimeout time.Duration `toml:"redis_replica_timeout"`
	// Lease is how long a worker holds a claimed event before another may
	// take it over.
	Lease time.Duration `toml:"lease"`
	// MaxAttempts failed attempts move an event to the dead letters.
	MaxAttempts int `toml:"max_attempts"`
	// DedupTTL is how long a processed event's dedup key is remembered.
	DedupTTL time.Duration `toml:"dedup_ttl"`
	// BatchDelay is how long the embedded store's background writes (the
	// workers' bookkeeping) wait to share a commit; callback enqueues
	// never wait.
	BatchDelay time.Duration `toml:"batch_delay"`
}

// Workers are the goroutines that process queued events.
type Workers struct {
	Count      int `toml:"count"`
	ClaimBatch int `toml:"claim_batch"`
	// CountWhileReceiving bounds the events processed at once while
	// callbacks arrive fast (1,000 a second or more), so that they have
	// the store first, for the first 30 s of a burst; 0: no bound
	// (count).
	CountWhileReceiving int `toml:"count_while_receiving"`
	// RetryBackoff is the wait before the first retry of a failed event;
	// it doubles per attempt up to RetryMaxBackoff.
	RetryBackoff    time.Duration `toml:"retry_backoff"`
	RetryMaxBackoff time.Duration `toml:"retry_max_backoff"`
}

// Notify delivers notices through the WeCom API.
type Notify struct {
	// DefaultLanguage is the language of notices when a recipient's is
	// unknown: zh-CN or en.
	DefaultLanguage string `toml:"default_language"`
	// TimeZone is the zone of the daily quota's calendar day.
	TimeZone string `toml:"time_zone"`
	// DailyQuota limits the app's person-times a day (WeCom: seats × 200);
	// 0 leaves it to WeCom.
	DailyQuota int `toml:"daily_quota"`
	// MemberPerMinute and MemberPerHour are WeCom's per-member limits for
	// one app (30 and 1,000); beyond them WeCom drops messages silently,
	// so wecomply schedules instead.
	MemberPerMinute int `toml:"member_per_minute"`
	MemberPerHour   int `toml:"member_per_hour"`
	// DuplicateCheckInterval is the enable_duplicate_check window of every
	// send: a send repeated after a crash within it is not delivered twice
	// (WeCom allows up to 4h).
	DuplicateCheckInterval time.Duration `toml:"duplicate_check_interval"`
	// SendDeadline is how long wecomply keeps trying to deliver a notice.
	SendDeadline time.Duration `toml:"send_deadline"`
	// CardBatch is the most recipients of one message/send of a card whose
	// buttons are answered (1..1000; text and markdown notices go 1,000 a
	// send). WeCom gives one single-use response_code per send and a
	// reply 确认 brings none: with 1 a reply greys out the replier's own
	// card, with more only the first reply of a batch can.
	CardBatch int `toml:"card_batch"`
}

// Policy are the company-wide choices of the compliance policy.
type Policy struct {
	// Company names the company in notices.
	Company string `toml:"company"`
	// AckWords acknowledge a person's one open notice when they reply one
	// of them in the app chat.
	AckWords []string `toml:"ack_words"`
	// Officers are the compliance officers' UserIDs, alerted about
	// customers who decline archiving.
	Officers []string `toml:"officers"`
	// ConsentGrace is how long a customer may leave archiving unanswered
	// before the employee and the officers are told.
	ConsentGrace time.Duration `toml:"consent_grace"`
	// WelcomeTemplate is the disclosure welcome message sent to every new
	// customer; "" sends none.
	WelcomeTemplate string `toml:"welcome_template"`
	// ConsentPolicy is what the company requires of an employee whose
	// customer declined archiving (shown on the card they get), and
	// ConsentPolicyURL the full text.
	ConsentPolicy    string `toml:"consent_policy"`
	ConsentPolicyURL string `toml:"consent_policy_url"`
}

// Jobs are the cron's scheduled jobs. Every replica schedules them; the
// one that holds a job's lease runs it.
type Jobs struct {
	// TimeZone is the zone of the cron specs and of the calendar.
	TimeZone string `toml:"time_zone"`
	// Lease is how long a job's lease lasts without renewal (it is
	// renewed while the job runs): how soon another replica takes over
	// from a leader that died.
	Lease time.Duration `toml:"lease"`
	// Timeout bounds one run of a job.
	Timeout time.Duration `toml:"timeout"`
	// Cron specs (five fields, minute hour day month weekday). "" turns
	// a job off.
	Reminders string `toml:"reminders"`
	Digest    string `toml:"digest"`
	Reconcile string `toml:"reconcile"`
	Retention string `toml:"retention"`
}

// Calendar says when people may be reminded: working days and hours,
// holidays, and make-up working days (调休).
type Calendar struct {
	WorkingDays   []string `toml:"working_days"`  // mon … sun
	WorkingHours  string   `toml:"working_hours"` // "09:00-18:00"
	Holidays      []string `toml:"holidays"`      // "2026-10-01"
	ExtraWorkdays []string `toml:"extra_workdays"`
}

// Notice is one notice people must acknowledge, at its current version.
type Notice struct {
	ID      string `toml:"id"`
	Version int    `toml:"version"`
	Title   string `toml:"title"`
	// Template renders the card (a button card, e.g. ack_card).
	Template  string   `toml:"template"`
	Languages []string `toml:"languages"`
	Summary   string   `toml:"summary"`
	URL       string   `toml:"url"`
	Audience  Audience `toml:"audience"`
	// DueDays: acknowledgement is due this many days after a person comes
	// to owe it; 0: no due date.
	DueDays int `toml:"due_days"`
	// ReattestDays: an acknowledgement older than this is due again; 0:
	// never.
	ReattestDays int `toml:"reattest_days"`
	// Reminders and escalation (the cron acts on them).
	RemindEveryDays int      `toml:"remind_every_days"`
	MaxReminders    int      `toml:"max_reminders"`
	EscalateAfter   int      `toml:"escalate_after"`
	Owners          []string `toml:"owners"`
}

// Audience says who must acknowledge a notice.
type Audience struct {
	Everyone    bool     `toml:"everyone"`
	Departments []int64  `toml:"departments"`
	Tags        []int64  `toml:"tags"`
	Users       []string `toml:"users"`
	PermitList  bool     `toml:"permit_list"`
}

// Admin guards the admin API.
type Admin struct {
	Tokens []Secret `toml:"tokens"`
}

// Default returns the configuration every unset key falls back to.
func Default() Config {
	return Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    1 << 20,
			ReadTimeout:     10 * time.Second,
			WriteTimeout:    10 * time.Second,
			ShutdownTimeout: 30 * time.Second,
			GCPercent:       400,
		},
		Log: Log{Level: "info", Format: "json"},
		WeCom: WeCom{
			APIBaseURL:      "https://qyapi.weixin.qq.com",
			APITimeout:      10 * time.Second,
			TimestampWindow: 5 * time.Minute,
		},
		Store: Store{
			Backend:             "embedded",
			Path:                "data/wecomply.db",
			RedisDurability:     "fsync",
			RedisMinReplicas:    1,
			RedisReplicaTimeout: time.Second,
			Lease:               30 * time.Second,
			MaxAttempts:         5,
			DedupTTL:            24 * time.Hour,
			BatchDelay:          2 * time.Millisecond,
		},
		Workers: Workers{
			Count:               128,
			ClaimBatch:          64,
			CountWhileReceiving: 4,
			RetryBackoff:        5 * time.Second,
			RetryMaxBackoff:     5 * time.Minute,
		},
		Policy: Policy{
			AckWords:        []string{"确认", "ack"},
			ConsentGrace:    24 * time.Hour,
			WelcomeTemplate: "welcome",
		},
		Jobs: Jobs{
			TimeZone:  "Asia/Shanghai",
			Lease:     time.Minute,
			Timeout:   15 * time.Minute,
			Reminders: "0 * * * *",
			Digest:    "0 9 * * *",
			Reconcile: "30 2 * * *",
			Retention: "0 3 * * *",
		},
		Retention: defaultRetention(),
		Archive:   defaultArchive(),
		Console:   defaultConsole(),
		Rules:     defaultRules(),
		Calendar: Calendar{
			WorkingDays:  []string{"mon", "tue", "wed", "thu", "fri"},
			WorkingHours: "09:00-18:00",
		},
		Notify: Notify{
			DefaultLanguage:        "zh-CN",
			TimeZone:               "Asia/Shanghai",
			MemberPerMinute:        30,
			MemberPerHour:          1000,
			DuplicateCheckInterval: 4 * time.Hour,
			SendDeadline:           4 * time.Hour,
			CardBatch:              1,
		},
	}
}

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key    string // e.g. "wecom.callback[0].encoding_aes_key" or an environment variable
	Reason string
}

func (p Problem) String() string { return p.Key + ": " + p.Reason }

// Error makes a Problem an error, for parsers that report one.
func (p Problem) Error() string { return p.String() }

// Error lists every problem found in a configuration.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "config %s: %d problem(s)", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads the file at path, applies defaults and the WECOMPLY_…
// variables of environ (as os.Environ returns them), and validates the
// result. Any problem yields an *Error listing all of them.
func Load(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, environ)
}

// Parse is Load on data already read; name is used in errors.
func Parse(name string, data []byte, environ []string) (*Config, error) {
	cfg := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&cfg)
	if err != nil {
		return nil, &Error{File: name, Problems: []Problem{tomlProblem(err)}}
	}
	var problems []Problem
	for _, k := range md.Undecoded() {
		problems = append(problems, Problem{Key: k.String(), Reason: "unknown key"})
	}
	problems = append(problems, cfg.applyEnv(environ)...)
	cfg.fillDerived()
	problems = append(problems, cfg.Validate()...)
	if len(problems) > 0 {
		return nil, &Error{File: name, Problems: problems}
	}
	return &cfg, nil
}

// fillDerived sets defaults that depend on other keys.
func (c *Config) fillDerived() {
	for i := range c.WeCom.Callbacks {
		cb := &c.WeCom.Callbacks[i]
		if cb.ReceiveID == "" {
			cb.ReceiveID = c.WeCom.CorpID
		}
		if cb.Name == "" {
			cb.Name = cb.Path
		}
	}
}

// LogValue keeps secrets out of logs even if the whole config is logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Server.Listen),
		slog.String("corp_id", c.WeCom.CorpID),
		slog.Int("callbacks", len(c.WeCom.Callbacks)),
		slog.String("store", c.Store.Backend),
		slog.Int("workers", c.Workers.Count),
	)
}

// tomlProblem turns a TOML syntax or type error into a problem. A type
// error's text already names the key ("line 9 (last key "workers.count"):
// incompatible types: …").
func tomlProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{Key: "toml", Reason: fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)}
	}
	return Problem{Key: "toml", Reason: strings.TrimPrefix(err.Error(), "toml: ")}
}
