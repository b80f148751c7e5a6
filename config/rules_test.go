package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRulesDefaultsAndFile(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Rules; r.ContextBefore != 5 || r.ContextAfter != 5 || r.EscalateAfter != 48*time.Hour {
		t.Errorf("default rules = %+v, want 5 before, 5 after, escalate after 48h (the example says so)", r)
	}
	if cfg.Rules.File != "" || cfg.Rules.PollInterval != 10*time.Second {
		t.Errorf("default rules = %+v, want no file and a 10s poll (the example says so)", cfg.Rules)
	}
	file := filepath.Join(t.TempDir(), "rules.toml")
	if err := os.WriteFile(file, []byte("# no rules yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Parse("t.toml", []byte(minimal+"[rules]\nfile = '"+file+"'\npoll_interval = '1m'\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rules.File != file || cfg.Rules.PollInterval != time.Minute {
		t.Errorf("rules = %+v", cfg.Rules)
	}
}

func TestRulesProblemsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ extra, key, want string }{
		{"file = '" + filepath.Join(dir, "missing.toml") + "'", "rules.file", "cannot be read"},
		{"file = '" + dir + "'", "rules.file", "not a regular file"},
		{"poll_interval = '10ms'", "rules.poll_interval", "between"},
		{"poll_interval = '2h'", "rules.poll_interval", "between"},
		{"watch = true", "rules.watch", "unknown key"},
		{"context_before = -1", "rules.context_before", "between"},
		{"context_after = 51", "rules.context_after", "between"},
		{"escalate_after = '10m'", "rules.escalate_after", "between"},
	} {
		t.Run(tt.extra, func(t *testing.T) {
			wantProblem(t, minimal+"[rules]\n"+tt.extra+"\n", tt.key, tt.want)
		})
	}
}
