package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wecomply/wecomply/config"
)

// The served rules follow the file: a change is taken at the next poll;
// a file that does not parse keeps the rules in force, is counted as an
// error and logged with the line at fault; fixed again, it is taken.
func TestRulesReloadOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(superviseRules)
	var logs syncBuffer
	cfg := &config.Config{Rules: config.Rules{File: path, PollInterval: time.Second}}
	rp, err := newRules(cfg, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	first := rp.set()()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rp.watch(ctx)

	steps := []struct {
		name, text string
		result     string
		wantRules  int
	}{
		// A bad edit: the rules in force stay.
		{"bad", superviseRules + "\n[[rule]]\nid = \"x\"\nkind = \"nope\"\n", "error", 1},
		// Fixed, with a second rule: taken.
		{"fixed", superviseRules + "\n[[rule]]\nid = \"reports\"\nkind = \"lexicon\"\nseverity = \"low\"\naction = \"digest_only\"\nterms = [\"季度报告\"]\n", "changed", 2},
	}
	for _, st := range steps {
		// The poll sees a change by size or modification time.
		time.Sleep(10 * time.Millisecond)
		// Counted before the write, or a poll between the two would be missed.
		before := testutil.ToFloat64(rp.reloads.WithLabelValues(st.result))
		write(st.text)
		waitFor(t, st.name+" reload counted", 10*time.Second, func() bool {
			return testutil.ToFloat64(rp.reloads.WithLabelValues(st.result)) > before
		})
		if n := len(rp.set()().Rules()); n != st.wantRules {
			t.Errorf("%s: %d rules in force, want %d", st.name, n, st.wantRules)
		}
	}
	if !strings.Contains(logs.String(), "rules not reloaded") || !strings.Contains(logs.String(), "line") {
		t.Errorf("logs lack the refused reload with its line:\n%s", logs.String())
	}
	if rp.set()().Version() == first.Version() {
		t.Error("the fixed file's rules have the first file's version")
	}
}
