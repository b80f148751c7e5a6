package config

import (
	"errors"
	"strings"
	"testing"
)

func TestConsoleProblemsNameTheKey(t *testing.T) {
	const on = "enabled = true\nbase_url = \"https://c.example.com\"\nofficers = [\"wangfang\"]\n"
	for _, tt := range []struct{ name, wecom, extra, key, want string }{
		{"no base_url", "", "enabled = true\nofficers = [\"a\"]", "console.base_url", "public origin"},
		{"http on a public host", "", "enabled = true\nbase_url = \"http://c.example.com\"\nofficers = [\"a\"]", "console.base_url", "must be https"},
		{"base_url with a path", "", "enabled = true\nbase_url = \"https://c.example.com/x\"\nofficers = [\"a\"]", "console.base_url", "origin only"},
		{"nobody may sign in", "", "enabled = true\nbase_url = \"https://c.example.com\"", "console.admins", "no one may sign in"},
		{"no secret", "", on, "console.enabled", "wecom.secret"},
		{"bad tag", "", "officers = [\"tag:x\"]", "console.officers[0]", "tag:<tag id>"},
		{"userid with a space", "", "viewers = [\"a b\"]", "console.viewers[0]", "UserID"},
		// As policy.officers: a WeCom UserID is ASCII (path/90196).
		{"non-ASCII userid", "", "admins = [\"tag:3\", \"王芳\"]", "console.admins[1]", "UserID"},
		{"http on an IPv4-mapped loopback", "", "enabled = true\nbase_url = \"http://[::ffff:127.0.0.1]:8080\"\nofficers = [\"a\"]", "console.base_url", "must be https"},
		{"idle too short", "", "session_idle = \"10s\"", "console.session_idle", "1m to 24h"},
		{"bad oauth origin", "", "oauth_base_url = \"open.weixin.qq.com\"", "console.oauth_base_url", "http(s) origin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, minimal+"[console]\n"+tt.extra+"\n", tt.key, tt.want)
		})
	}
	t.Run("loopback http and a tag are fine", func(t *testing.T) {
		src := strings.Replace(minimal, "corp_id", "agent_id = 1000002\nsecret = \"s3cr3t-s3cr3t-s3cr3t\"\ncorp_id", 1) +
			"[console]\nenabled = true\nbase_url = \"http://127.0.0.1:8080\"\nadmins = [\"tag:3\", \"wangfang\"]\n"
		cfg, err := Parse("t.toml", []byte(src), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Console.Enabled || cfg.Console.SessionIdle != DefaultSessionIdle {
			t.Errorf("console = %+v", cfg.Console)
		}
	})
}

// wantProblem parses src and requires a problem of key whose reason
// contains want.
func wantProblem(t *testing.T, src, key, want string) {
	t.Helper()
	_, err := Parse("t.toml", []byte(src), nil)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Parse: got %v, want *config.Error", err)
	}
	for _, p := range cerr.Problems {
		if p.Key == key && strings.Contains(p.Reason, want) {
			return
		}
	}
	t.Errorf("problems = %v, want %s: …%s…", cerr.Problems, key, want)
}
