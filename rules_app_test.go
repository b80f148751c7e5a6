package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wecomply/wecomply/config"
)

// TestRulesReloadOnChange: the served rules follow the file on their
// own: a change is taken at a poll, without a signal.
func TestRulesReloadOnChange(t *testing.T) {
	file := writeRules(t, goodRule)
	cfg := &config.Config{Rules: config.Rules{File: file, PollInterval: 10 * time.Millisecond}}
	rp, err := newRules(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rp.watch(ctx)
	}()
	defer func() { cancel(); <-done }()

	// A second rule: the file's size changes, which the poll sees.
	second := "\n[[rule]]\nid = \"reports\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"季度报告\"]\n"
	if err := os.WriteFile(file, []byte(goodRule+second), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changed file taken", 10*time.Second, func() bool {
		return testutil.ToFloat64(rp.reloads.WithLabelValues("changed")) == 1
	})
	if n := len(rp.set()().Rules()); n != 2 {
		t.Errorf("%d rules in force, want 2", n)
	}
}

// TestRulesReloadReport: the server's reload reports count each result
// and log why a bad file was refused, with its line, while the old rules
// stay in force.
func TestRulesReloadReport(t *testing.T) {
	file := writeRules(t, goodRule)
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	parts, err := newRules(&config.Config{Rules: config.Rules{File: file, PollInterval: 1}}, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	before := parts.holder.Set().Version()

	if err := os.WriteFile(file, []byte(goodRule+"\n[[rule]]\nid = \"bad\"\nkind = \"regex\"\nseverity = \"low\"\nblock = true\npatterns = ['x']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	changed, err := parts.holder.Reload()
	parts.report(rulesReloaded{Forced: true, Changed: changed, Err: err, Set: parts.holder.Set()})
	if got := testutil.ToFloat64(parts.reloads.WithLabelValues("error")); got != 1 {
		t.Errorf("error reloads = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), `line 15: rule \"bad\": block`) || parts.holder.Set().Version() != before {
		t.Errorf("bad file: version %s (want %s kept), log:\n%s", parts.holder.Set().Version(), before, logs.String())
	}

	if err := os.WriteFile(file, []byte(strings.Replace(goodRule, `"high"`, `"critical"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	changed, err = parts.holder.Reload()
	parts.report(rulesReloaded{Forced: true, Changed: changed, Err: err, Set: parts.holder.Set()})
	if got := testutil.ToFloat64(parts.reloads.WithLabelValues("changed")); got != 1 || parts.holder.Set().Version() == before {
		t.Errorf("changed reloads = %v, version %s: want 1 and a new version", got, parts.holder.Set().Version())
	}
	if got := testutil.ToFloat64(parts.count); got != 1 {
		t.Errorf("rules loaded = %v, want 1", got)
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
