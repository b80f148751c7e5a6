package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const minimal = `
[wecom]
corp_id = "ww5823bf96d3bd56c7"
[[wecom.callback]]
path = "/wecom/callback"
token = "Tok3nForConfig"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
`

// TestExampleFile: config.example.toml ships WeCom's published sample
// Token and EncodingAESKey, which no server may run with: as it is, it
// fails on exactly those two, saying to run keygen. With a fresh pair in
// their place (here from the environment, as a deployment may give them)
// it is valid, and warns that its admin token is the sample one.
func TestExampleFile(t *testing.T) {
	path := filepath.Join("..", "config.example.toml")
	_, err := Load(path, nil)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("config.example.toml: got %v, want the sample keys refused", err)
	}
	var keys []string
	for _, p := range cerr.Problems {
		keys = append(keys, p.Key)
		if !strings.Contains(p.Reason, "published sample") || !strings.Contains(p.Reason, `run "wecomply keygen"`) {
			t.Errorf("%s: %s; want it named a published sample, with keygen to run", p.Key, p.Reason)
		}
	}
	if want := []string{"wecom.callback[0].token", "wecom.callback[0].encoding_aes_key"}; !slices.Equal(keys, want) {
		t.Errorf("problems of config.example.toml: %v, want %v", keys, want)
	}

	cfg, err := Load(path, []string{"WECOMPLY_WECOM_CALLBACK_0_TOKEN=Tok3nForConfig",
		"WECOMPLY_WECOM_CALLBACK_0_ENCODING_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})
	if err != nil {
		t.Fatalf("config.example.toml with a fresh pair: %v", err)
	}
	if cfg.WeCom.Callbacks[0].ReceiveID != cfg.WeCom.CorpID {
		t.Errorf("receive_id default = %q, want corp_id %q", cfg.WeCom.Callbacks[0].ReceiveID, cfg.WeCom.CorpID)
	}
	ws := cfg.Warnings()
	if len(ws) != 1 || ws[0].Key != "admin.tokens[0]" || !strings.Contains(ws[0].Reason, "sample token") {
		t.Errorf("warnings %v, want the sample admin token", ws)
	}
}

// disclosureSection is a complete [disclosure].
const disclosureSection = `[disclosure]
controller = "示例科技有限公司"
contact = "合规部 privacy@example.com"
purpose = "业务留痕与纠纷处理"
retention = "3 年"
rights_url = "https://www.example.com/privacy/rights"
`

// TestWarnings: the sample admin token is allowed (the API works) but
// warned of, wherever it is in the list, without quoting any token; other
// tokens are not warned of. A config without [disclosure] is warned of.
func TestWarnings(t *testing.T) {
	tests := []struct {
		name       string
		tokens     string
		disclosure string
		want       []string // keys warned of
	}{
		{"own tokens", `["0123456789abcdef-one", "0123456789abcdef-two"]`, disclosureSection, nil},
		{"the sample first", `["sample-admin-token-change-me", "0123456789abcdef-two"]`, disclosureSection, []string{"admin.tokens[0]"}},
		{"the sample second", `["0123456789abcdef-one", "sample-admin-token-change-me"]`, disclosureSection, []string{"admin.tokens[1]"}},
		{"no tokens", `[]`, disclosureSection, nil},
		{"no disclosure", `[]`, "", []string{"disclosure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.toml", []byte(minimal+tt.disclosure+"[admin]\ntokens = "+tt.tokens+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, w := range cfg.Warnings() {
				keys = append(keys, w.Key)
				if strings.Contains(w.Reason, "0123456789abcdef") || strings.Contains(w.Reason, SampleAdminToken) {
					t.Errorf("warning %s quotes a token: %s", w.Key, w.Reason)
				}
			}
			if !slices.Equal(keys, tt.want) {
				t.Errorf("warned of %v, want %v", keys, tt.want)
			}
		})
	}
}

// TestDisclosureProblems: [disclosure] is optional, but once set every
// key is required, each within its length, on one line, and rights_url an
// https URL.
func TestDisclosureProblems(t *testing.T) {
	edit := func(key, value string) string {
		lines := strings.Split(disclosureSection, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, key+" = ") {
				lines[i] = key + " = " + value
			}
		}
		return strings.Join(lines, "\n")
	}
	tests := []struct {
		name, section, key, want string
	}{
		{"complete", disclosureSection, "", ""},
		{"absent", "", "", ""},
		{"controller missing", edit("controller", `""`), "disclosure.controller", "is required once [disclosure] is set"},
		{"contact blank", edit("contact", `"  "`), "disclosure.contact", "is required"},
		{"only rights_url", "[disclosure]\nrights_url = \"https://www.example.com/r\"\n", "disclosure.purpose", "PIPL Art. 17"},
		{"purpose too long", edit("purpose", `"`+strings.Repeat("处", 201)+`"`), "disclosure.purpose", "at most 200 characters, got 201"},
		{"retention on two lines", edit("retention", `"3 年\n另行通知"`), "disclosure.retention", "one line"},
		{"rights_url http", edit("rights_url", `"http://www.example.com/rights"`), "disclosure.rights_url", "absolute https URL"},
		{"rights_url relative", edit("rights_url", `"/privacy/rights"`), "disclosure.rights_url", "absolute https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.key != "" {
				wantProblem(t, minimal+tt.section, tt.key, tt.want)
				return
			}
			cfg, err := Parse("t.toml", []byte(minimal+tt.section), nil)
			if err != nil {
				t.Fatalf("got %v, want valid", err)
			}
			if tt.section != "" && cfg.Disclosure.Controller != "示例科技有限公司" {
				t.Errorf("disclosure %+v", cfg.Disclosure)
			}
		})
	}
}

// TestExampleDocumentsEveryKey keeps config.example.toml complete: every
// key the Config struct knows appears in it.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range tomlKeys(Config{}) {
		name := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(data), "\n"+name+" = ") {
			t.Errorf("config.example.toml does not document %s", key)
		}
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if cfg.Server != want.Server || cfg.Store != want.Store || cfg.Workers != want.Workers || cfg.Log != want.Log {
		t.Errorf("defaults not applied:\n got %+v\nwant %+v", cfg, want)
	}
	if cfg.Notify.CardBatch != 1 {
		t.Errorf("notify.card_batch %d, want 1 (a card a send: a reply can grey out every card)", cfg.Notify.CardBatch)
	}
	cb := cfg.WeCom.Callbacks[0]
	if cb.Name != "/wecom/callback" || cb.ReceiveID != "ww5823bf96d3bd56c7" {
		t.Errorf("derived defaults: name %q receive_id %q", cb.Name, cb.ReceiveID)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name  string
		extra string // appended to minimal (TOML allows later tables)
		edit  func(string) string
		key   string
		want  string // substring of the reason
	}{
		{name: "aes key too short", edit: func(s string) string { return strings.Replace(s, "DEFG\"", "DEF\"", 1) },
			key: "wecom.callback[0].encoding_aes_key", want: "must be 43 characters, got 42"},
		{name: "aes key bad chars", edit: func(s string) string { return strings.Replace(s, "abcdefg", "ab+defg", 1) },
			key: "wecom.callback[0].encoding_aes_key", want: "letters and digits"},
		{name: "token too long", edit: func(s string) string {
			return strings.Replace(s, `"Tok3nForConfig"`, `"`+strings.Repeat("a", 33)+`"`, 1)
		},
			key: "wecom.callback[0].token", want: "at most 32 characters, got 33"},
		{name: "token missing", edit: func(s string) string { return strings.Replace(s, `token = "Tok3nForConfig"`, ``, 1) },
			key: "wecom.callback[0].token", want: "WECOMPLY_WECOM_CALLBACK_0_TOKEN"},
		// WeCom's published crypto samples (WECOM.md §2): public, so
		// anyone could sign, forge and read callbacks.
		{name: "published sample token", edit: func(s string) string { return strings.Replace(s, `"Tok3nForConfig"`, `"QDG6eK"`, 1) },
			key: "wecom.callback[0].token", want: `WeCom's published sample Token (its callback crypto samples): anyone can sign callbacks with it; run "wecomply keygen"`},
		{name: "published sample key", edit: func(s string) string {
			return strings.Replace(s, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", 1)
		}, key: "wecom.callback[0].encoding_aes_key", want: `WeCom's published sample EncodingAESKey (its callback crypto samples): anyone can decrypt and forge callbacks with it; run "wecomply keygen"`},
		{name: "published sample corp id", edit: func(s string) string { return strings.Replace(s, "ww5823bf96d3bd56c7", "wx5823bf96d3bd56c7", 1) },
			key: "wecom.corp_id", want: "published crypto samples"},
		{name: "published sample receive id", extra: "receive_id = \"wx5823bf96d3bd56c7\"\n",
			key: "wecom.callback[0].receive_id", want: "published crypto samples"},
		{name: "corp id missing", edit: func(s string) string { return strings.Replace(s, `corp_id = "ww5823bf96d3bd56c7"`, ``, 1) },
			key: "wecom.corp_id", want: "is required"},
		{name: "path reserved", edit: func(s string) string { return strings.Replace(s, `"/wecom/callback"`, `"/metrics"`, 1) },
			key: "wecom.callback[0].path", want: "served by wecomply"},
		{name: "path relative", edit: func(s string) string { return strings.Replace(s, `"/wecom/callback"`, `"wecom"`, 1) },
			key: "wecom.callback[0].path", want: "absolute URL path"},
		{name: "path with gin wildcard", edit: func(s string) string { return strings.Replace(s, `"/wecom/callback"`, `"/wecom/:id"`, 1) },
			key: "wecom.callback[0].path", want: "absolute URL path"},
		{name: "no callbacks", edit: func(s string) string { return s[:strings.Index(s, "[[wecom.callback]]")] },
			key: "wecom.callback", want: "at least one"},
		{name: "duplicate path", extra: "[[wecom.callback]]\npath = \"/wecom/callback\"\ntoken = \"abc\"\nencoding_aes_key = \"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\"\n",
			key: "wecom.callback[1].path", want: "also the path of wecom.callback[0]"},
		{name: "unknown key", extra: "[server]\nlisen = \"x\"\n", key: "server.lisen", want: "unknown key"},
		{name: "unknown section", extra: "[serverr]\nlisten = \"x\"\n", key: "serverr", want: "unknown key"},
		{name: "bad backend", extra: "[store]\nbackend = \"mysql\"\n", key: "store.backend", want: `got "mysql"`},
		{name: "redis without url", extra: "[store]\nbackend = \"redis\"\nredis_url = \"\"\n", key: "store.redis_url", want: "is required"},
		{name: "redis bad url", extra: "[store]\nbackend = \"redis\"\nredis_url = \"http://u:pw@h\"\n", key: "store.redis_url", want: "redis://"},
		{name: "unknown redis durability", extra: "[store]\nredis_durability = \"always\"\n", key: "store.redis_durability", want: `got "always"`},
		{name: "replicas mode without replicas", extra: "[store]\nredis_durability = \"replicas\"\nredis_min_replicas = 0\n",
			key: "store.redis_min_replicas", want: "1 or more"},
		{name: "negative min replicas", extra: "[store]\nredis_min_replicas = -1\n", key: "store.redis_min_replicas", want: "between 0 and 100"},
		{name: "replica timeout beyond WeCom's patience", extra: "[store]\nredis_replica_timeout = \"5s\"\n",
			key: "store.redis_replica_timeout", want: "between 10ms and 2s"},
		{name: "dedup ttl too short", extra: "[store]\ndedup_ttl = \"9m\"\n", key: "store.dedup_ttl", want: "twice wecom.timestamp_window"},
		{name: "integer duration", extra: "[store]\nlease = 30\n", key: "store.lease", want: "duration between"},
		{name: "bad listen", extra: "[server]\nlisten = \"8080\"\n", key: "server.listen", want: "host:port"},
		{name: "debug listen not loopback", extra: "[server]\ndebug_listen = \"0.0.0.0:6060\"\n", key: "server.debug_listen", want: "loopback"},
		{name: "debug listen no port", extra: "[server]\ndebug_listen = \"127.0.0.1\"\n", key: "server.debug_listen", want: "host:port"},
		{name: "gc percent too low", extra: "[server]\ngc_percent = 0\n", key: "server.gc_percent", want: "between 50 and 1000, got 0"},
		{name: "gc percent too high", extra: "[server]\ngc_percent = 5000\n", key: "server.gc_percent", want: "between 50 and 1000, got 5000"},
		{name: "bad log level", extra: "[log]\nlevel = \"loud\"\n", key: "log.level", want: `got "loud"`},
		{name: "workers zero", extra: "[workers]\ncount = 0\n", key: "workers.count", want: "between 1 and 256, got 0"},
		{name: "workers while receiving", extra: "[workers]\ncount_while_receiving = 300\n", key: "workers.count_while_receiving", want: "between 0 and 256, got 300"},
		{name: "short admin token", extra: "[admin]\ntokens = [\"short\"]\n", key: "admin.tokens[0]", want: "at least 16 characters, got 5"},
		{name: "duplicate admin token", extra: "[admin]\ntokens = [\"0123456789abcdefX\", \"0123456789abcdefX\"]\n", key: "admin.tokens[1]", want: "repeats"},
		{name: "deadline beyond duplicate check", extra: "[notify]\nsend_deadline = \"5h\"\n", key: "notify.send_deadline", want: "delivered twice"},
		{name: "duplicate check beyond WeCom's max", extra: "[notify]\nduplicate_check_interval = \"5h\"\n", key: "notify.duplicate_check_interval", want: "between 1m0s and 4h0m0s"},
		{name: "unknown language", extra: "[notify]\ndefault_language = \"fr\"\n", key: "notify.default_language", want: `got "fr"`},
		{name: "bad time zone", extra: "[notify]\ntime_zone = \"Mars/Olympus\"\n", key: "notify.time_zone", want: "IANA time zone"},
		{name: "bad console time zone", extra: "[console]\ntime_zone = \"Mars/Olympus\"\n", key: "console.time_zone", want: "IANA time zone"},
		{name: "member limit above WeCom's", extra: "[notify]\nmember_per_minute = 31\n", key: "notify.member_per_minute", want: "between 1 and 30"},
		{name: "card batch of none", extra: "[notify]\ncard_batch = 0\n", key: "notify.card_batch", want: "between 1 and 1000"},
		{name: "card batch above message/send's", extra: "[notify]\ncard_batch = 1001\n", key: "notify.card_batch", want: "between 1 and 1000"},
		{name: "secret with spaces", edit: func(s string) string {
			return strings.Replace(s, "[wecom]\n", "[wecom]\narchive_secret = \"a b\"\n", 1)
		},
			key: "wecom.archive_secret", want: "no spaces"},
		{name: "lease shorter than an API call", extra: "[store]\nlease = \"10s\"\n", key: "store.lease", want: "1.5 × wecom.api_timeout"},
		{name: "secret without agent id", edit: func(s string) string { return strings.Replace(s, "[wecom]\n", "[wecom]\nsecret = \"abc\"\n", 1) },
			key: "wecom.agent_id", want: "required with wecom.secret"},
		{name: "bad cron spec", extra: "[jobs]\nreminders = \"every hour\"\n", key: "jobs.reminders", want: "cron spec of five fields"},
		{name: "bad weekday", extra: "[calendar]\nworking_days = [\"monday\"]\n", key: "calendar.working_days[0]", want: `got "monday"`},
		{name: "hours backwards", extra: "[calendar]\nworking_hours = \"18:00-09:00\"\n", key: "calendar.working_hours", want: "start before the end"},
		{name: "hours empty", extra: "[calendar]\nworking_hours = \"09:00-09:00\"\n", key: "calendar.working_hours", want: "start before the end"},
		{name: "hours malformed", extra: "[calendar]\nworking_hours = \"9-18\"\n", key: "calendar.working_hours", want: "HH:MM-HH:MM"},
		{name: "hours past midnight", extra: "[calendar]\nworking_hours = \"09:00-24:30\"\n", key: "calendar.working_hours", want: "HH:MM-HH:MM"},
		{name: "bad holiday", extra: "[calendar]\nholidays = [\"10/01/2026\"]\n", key: "calendar.holidays[0]", want: "YYYY-MM-DD"},
		{name: "toml syntax", extra: "[server\n", key: "toml", want: "line"},
		{name: "wrong type", extra: "[workers]\ncount = \"four\"\n", key: "toml", want: `line 9 (last key "workers.count"): incompatible types`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal
			if tt.edit != nil {
				src = tt.edit(src)
			}
			src += tt.extra
			_, err := Parse("t.toml", []byte(src), nil)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse: got %v, want *config.Error", err)
			}
			for _, p := range cerr.Problems {
				if p.Key == tt.key && strings.Contains(p.Reason, tt.want) {
					return
				}
			}
			t.Errorf("no problem %s: …%s…; got:\n%v", tt.key, tt.want, err)
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	src := strings.Replace(minimal, "DEFG\"", "DEF\"", 1) + "[server]\nlisen = 1\n[workers]\ncount = 0\n[store]\nbackend = \"x\"\n"
	_, err := Parse("t.toml", []byte(src), nil)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got %v", err)
	}
	keys := map[string]bool{}
	for _, p := range cerr.Problems {
		keys[p.Key] = true
	}
	for _, k := range []string{"wecom.callback[0].encoding_aes_key", "server.lisen", "workers.count", "store.backend"} {
		if !keys[k] {
			t.Errorf("problem for %s missing from:\n%v", k, err)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"PATH=/bin",
		"WECOMPLY_WECOM_SECRET=app-secret-value",
		"WECOMPLY_WECOM_CONTACTS_SECRET=contacts-secret-value",
		"WECOMPLY_WECOM_CUSTOMER_SECRET=customer-secret-value",
		"WECOMPLY_WECOM_ARCHIVE_SECRET=archive-secret-value",
		"WECOMPLY_WECOM_CALLBACK_0_TOKEN=EnvToken1",
		"WECOMPLY_WECOM_CALLBACK_0_ENCODING_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		"WECOMPLY_STORE_REDIS_URL=redis://:pw@127.0.0.1:6380/1",
		"WECOMPLY_ADMIN_TOKENS=0123456789abcdef-one, 0123456789abcdef-two",
	}
	cfg, err := Parse("t.toml", []byte(strings.Replace(minimal, "[wecom]\n", "[wecom]\nagent_id = 1000002\n", 1)), env)
	if err != nil {
		t.Fatal(err)
	}
	cb := cfg.WeCom.Callbacks[0]
	checks := []struct{ name, got, want string }{
		{"secret", cfg.WeCom.Secret.Reveal(), "app-secret-value"},
		{"contacts secret", cfg.WeCom.ContactsSecret.Reveal(), "contacts-secret-value"},
		{"customer secret", cfg.WeCom.CustomerSecret.Reveal(), "customer-secret-value"},
		{"archive secret", cfg.WeCom.ArchiveSecret.Reveal(), "archive-secret-value"},
		{"token", cb.Token.Reveal(), "EnvToken1"},
		{"aes key", cb.EncodingAESKey.Reveal(), "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"},
		{"redis", cfg.Store.RedisURL.Reveal(), "redis://:pw@127.0.0.1:6380/1"},
		{"admin", fmt.Sprintf("%d %s", len(cfg.Admin.Tokens), cfg.Admin.Tokens[1].Reveal()), "2 0123456789abcdef-two"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestEnvProblems(t *testing.T) {
	tests := []struct{ env, key, want string }{
		{"WECOMPLY_WECOM_SECRTE=x", "WECOMPLY_WECOM_SECRTE", "unknown environment variable"},
		{"WECOMPLY_WECOM_CALLBACK_3_TOKEN=x", "WECOMPLY_WECOM_CALLBACK_3_TOKEN", "no [[wecom.callback]] number 3"},
		{"WECOMPLY_WECOM_CALLBACK_0_ENCODING_AES_KEY=short", "wecom.callback[0].encoding_aes_key", "got 5"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(minimal), []string{tt.env})
			if err == nil || !strings.Contains(err.Error(), tt.key+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s: …%s…", err, tt.key, tt.want)
			}
		})
	}
}

// TestSecretsNeverPrinted: whatever goes wrong and however a config is
// printed, secret values do not appear.
func TestSecretsNeverPrinted(t *testing.T) {
	const token, key, redisPW, admin = "SecretTok9", "SecretKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx12", "hunter2pw", "AdminTokenValue123"
	src := strings.NewReplacer("Tok3nForConfig", token, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", key).Replace(minimal) +
		"[store]\nbackend = \"redis\"\nredis_url = \"http://u:" + redisPW + "@h\"\n[admin]\ntokens=[\"" + admin + "\", \"" + admin + "\"]\n"
	_, err := Parse("t.toml", []byte(src), nil)
	if err == nil {
		t.Fatal("want problems")
	}
	cfg := Default()
	cfg.WeCom.Callbacks = []Callback{{Token: Secret(token), EncodingAESKey: Secret(key)}}
	cfg.Store.RedisURL = Secret("redis://:" + redisPW + "@h")
	cfg.Admin.Tokens = []Secret{Secret(admin)}
	js, _ := json.Marshal(cfg)
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "config", cfg, "cb", cfg.WeCom.Callbacks[0], "tok", cfg.Admin.Tokens[0])
	outputs := map[string]string{
		"error":  err.Error(),
		"%v":     fmt.Sprintf("%v", cfg),
		"%+v":    fmt.Sprintf("%+v", cfg),
		"%#v":    fmt.Sprintf("%#v", cfg),
		"json":   string(js),
		"slog":   logged.String(),
		"string": fmt.Sprint(cfg.Store.RedisURL),
	}
	for name, out := range outputs {
		for _, s := range []string{token, key, redisPW, admin} {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains a secret: %s", name, out)
			}
		}
	}
}

func TestJobCanBeTurnedOff(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(minimal+"[jobs]\ndigest = \"\"\n"), nil)
	if err != nil || cfg.Jobs.Digest != "" || cfg.Jobs.Reminders == "" {
		t.Errorf("got %+v, %v; want the digest off and the rest at their defaults", cfg, err)
	}
}

func TestDurationsAreParsed(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(minimal+"[store]\nlease = \"45s\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Lease != 45*time.Second {
		t.Errorf("lease = %s", cfg.Store.Lease)
	}
}

// tomlKeys lists the dotted TOML keys of a struct, e.g. "server.listen"
// and "wecom.callback.path".
func tomlKeys(v any) []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := f.Tag.Get("toml")
			if name == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
				walk(prefix+name+".", ft)
				continue
			}
			keys = append(keys, prefix+name)
		}
	}
	walk("", reflect.TypeOf(v))
	return keys
}

// validNotice is a notice section that passes validation.
const validNotice = `
[policy]
consent_policy_url = "https://compliance.example.com/p"
[[notices]]
id = "archive"
version = 1
title = "会话存档告知"
template = "ack_card"
languages = ["zh-CN", "en"]
[notices.audience]
everyone = true
`

func TestNoticeProblems(t *testing.T) {
	if _, err := Parse("t.toml", []byte(minimal+validNotice), nil); err != nil {
		t.Fatalf("valid notice: %v", err)
	}
	tests := []struct {
		name, old, new, key, want string
	}{
		{"bad id", `id = "archive"`, `id = "Archive Notice"`, "notices[0].id", "a-z 0-9"},
		{"version zero", "version = 1", "version = 0", "notices[0].version", "1 or more"},
		{"no title", `title = "会话存档告知"`, `title = " "`, "notices[0].title", "required"},
		{"bad language", `languages = ["zh-CN", "en"]`, `languages = ["zh-CN", "fr"]`, "notices[0].languages[1]", `got "fr"`},
		{"nobody", "everyone = true", "everyone = false", "notices[0].audience", "names nobody"},
		{"bad user", "everyone = true", `users = ["a b"]`, "notices[0].audience.users[0]", "UserID"},
		{"no policy url", `consent_policy_url = "https://compliance.example.com/p"`, "", "policy.consent_policy_url", "required"},
		{"negative due", `template = "ack_card"`, "template = \"ack_card\"\ndue_days = -1", "notices[0].due_days", "between 0 and 3650"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal + strings.Replace(validNotice, tt.old, tt.new, 1)
			_, err := Parse("t.toml", []byte(src), nil)
			if err == nil || !strings.Contains(err.Error(), tt.key+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s: …%s…", err, tt.key, tt.want)
			}
		})
	}
	dup := minimal + validNotice + strings.Replace(validNotice[strings.Index(validNotice, "[[notices]]"):], "version = 1", "version = 2", 1)
	if _, err := Parse("t.toml", []byte(dup), nil); err == nil || !strings.Contains(err.Error(), "notices[1].id") {
		t.Errorf("duplicate id: %v", err)
	}
}
