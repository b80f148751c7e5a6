package main

import (
	"context"
	"fmt"
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

// TestRulesRefuseBlockingWeComWouldNotTake: a blocking rule that breaks
// WeCom's intercept limits stops the start, and at a reload keeps the
// rules in force, rather than failing each intercept sync.
func TestRulesRefuseBlockingWeComWouldNotTake(t *testing.T) {
	terms := make([]string, 301)
	for i := range terms {
		terms[i] = fmt.Sprintf("%q", fmt.Sprint("词", i))
	}
	tooMany := "\n[[rule]]\nid = \"many\"\nkind = \"lexicon\"\nseverity = \"low\"\nblock = true\nterms = [" + strings.Join(terms, ", ") + "]\n"
	log := slog.New(slog.DiscardHandler)
	cfg := func(file string) *config.Config {
		return &config.Config{Rules: config.Rules{File: file, PollInterval: time.Second}}
	}
	if _, err := newRules(cfg(writeRules(t, goodRule+tooMany)), log, nil); err == nil || !strings.Contains(err.Error(), `rule "many"`) {
		t.Fatalf("newRules = %v, want an error naming rule many", err)
	}

	file := writeRules(t, goodRule)
	rp, err := newRules(cfg(file), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := rp.set()().Version()
	if err := os.WriteFile(file, []byte(goodRule+tooMany), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.holder.Reload(); err == nil || !strings.Contains(err.Error(), "301 distinct words") {
		t.Errorf("Reload = %v, want the 301 words refused", err)
	}
	if rp.set()().Version() != before {
		t.Error("rules WeCom would not take were put in force")
	}
}
