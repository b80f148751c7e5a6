package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy/rules"
)

// testRule is a minimal valid lexicon rule with id and extra lines.
func testRule(id, extra string) string {
	return "[[rule]]\nid = \"" + id + "\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"x1\"]\n" + extra + "\n"
}

// writeAt writes a file with modification time mtime.
func writeAt(t *testing.T, path, body string, mtime time.Time) {
	t.Helper()
	// Written beside it and renamed over it: a watcher polling at the
	// same time (TestRulesHolderWatch) sees the old file or the new one,
	// never a half-written one or the new one with the old time.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// Distinct, fixed modification times: no dependence on how fine the
	// file system's clock is.
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestRulesHolder: a changed file is reloaded at the second Check that
// sees it the same (the first leaves the rules in force alone); an
// unchanged one is not read; a bad one keeps the old rules, says why with
// the line, and is reported once; a changed terms file counts as a
// change; the first load must succeed.
func TestRulesHolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.toml")
	terms := filepath.Join(dir, "terms.txt")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeAt(t, terms, "内幕消息\n", t0)
	writeAt(t, path, testRule("a", "terms_file = \"terms.txt\""), t0)

	h, err := newRuleHolder(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	v1 := h.Set().Version()
	type want struct {
		checked, changed bool
		err              string
	}
	steps := []struct {
		name  string
		edit  func()
		want  want
		scans string // a text the rules in force must hit
	}{
		{"nothing changed", func() {}, want{}, "内幕消息"},
		{"rule file touched, same content", func() { writeAt(t, path, testRule("a", "terms_file = \"terms.txt\""), t0.Add(time.Second)) }, want{checked: true}, "内幕消息"},
		{"bad file keeps the old rules", func() { writeAt(t, path, testRule("a", "block = 1"), t0.Add(2*time.Second)) }, want{checked: true, err: `line 6: rule "a": block`}, "内幕消息"},
		{"the bad file is reported once", func() {}, want{}, "内幕消息"},
		{"fixed file with a new term", func() {
			writeAt(t, path, strings.Replace(testRule("a", "terms_file = \"terms.txt\""), `"x1"`, `"保本"`, 1), t0.Add(3*time.Second))
		}, want{checked: true, changed: true}, "保本"},
		{"terms file changed", func() { writeAt(t, terms, "内幕消息\n小道消息\n", t0.Add(4*time.Second)) }, want{checked: true, changed: true}, "小道消息"},
		{"terms file removed", func() { os.Remove(terms) }, want{checked: true, err: "terms_file"}, "小道消息"},
	}
	for _, st := range steps {
		before := h.Set().Version()
		st.edit()
		if checked, changed, err := h.Check(); checked || changed || err != nil || h.Set().Version() != before {
			t.Fatalf("%s: the first Check after the edit = %v, %v, %v (rules %s, were %s); want nothing loaded yet",
				st.name, checked, changed, err, h.Set().Version(), before)
		}
		checked, changed, err := h.Check()
		got := want{checked: checked, changed: changed}
		if err != nil {
			got.err = err.Error()
		}
		if got.checked != st.want.checked || got.changed != st.want.changed || (st.want.err == "") != (err == nil) || !strings.Contains(got.err, st.want.err) {
			t.Fatalf("%s: Check = %+v, want %+v", st.name, got, st.want)
		}
		if len(h.Set().Scan(rules.Message{Text: st.scans})) == 0 {
			t.Fatalf("%s: the rules in force do not hit %q", st.name, st.scans)
		}
	}
	if h.Set().Version() == v1 {
		t.Error("version unchanged after the rules changed")
	}

	writeAt(t, path, "[[rule]]\nid = 1\n", t0)
	if _, err := newRuleHolder(path, nil); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("NewHolder on a bad file = %v, want an error naming line 2", err)
	}
}

// TestRulesHolderWaitsForTheFileToSettle: a rule file being rewritten in
// place (truncated, then half written, then whole) is taken only once it
// looks the same at two Checks in a row: the empty and the half-written
// file, both valid sets, are never in force. A Reload takes the file at
// once.
func TestRulesHolderWaitsForTheFileToSettle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.toml")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeAt(t, path, testRule("a", "")+testRule("b", ""), t0)
	h, err := newRuleHolder(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	inForce := func() int { return len(h.Set().Rules()) }
	for i, body := range []string{"", testRule("a", ""), testRule("a", "") + testRule("b", "") + testRule("c", "")} {
		writeAt(t, path, body, t0.Add(time.Duration(i+1)*time.Second))
		if checked, _, err := h.Check(); checked || err != nil || inForce() != 2 {
			t.Fatalf("write %d: Check = %v, %v with %d rules in force; want nothing loaded, the 2 old rules", i, checked, err, inForce())
		}
	}
	if checked, changed, err := h.Check(); !checked || !changed || err != nil || inForce() != 3 {
		t.Fatalf("settled file: Check = %v, %v, %v with %d rules in force; want the 3 new rules", checked, changed, err, inForce())
	}
	if checked, _, _ := h.Check(); checked {
		t.Error("an unchanged file was loaded again")
	}

	writeAt(t, path, testRule("a", ""), t0.Add(10*time.Second))
	if changed, err := h.Reload(); !changed || err != nil || inForce() != 1 {
		t.Errorf("Reload = %v, %v with %d rules in force; want the file taken at once", changed, err, inForce())
	}
	if checked, _, _ := h.Check(); checked {
		t.Error("the file Reload took was loaded again by Check")
	}
}

// TestRulesHolderAccept: a set accept refuses is not taken, at the first load
// (an error) or at a reload (the old rules stay, the error says why).
func TestRulesHolderAccept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.toml")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	accept := func(s *rules.Set) error {
		if _, ok := s.Rule("b"); ok {
			return errors.New("no rule b")
		}
		return nil
	}
	writeAt(t, path, testRule("b", ""), t0)
	if _, err := newRuleHolder(path, accept); err == nil || !strings.Contains(err.Error(), "no rule b") {
		t.Fatalf("NewHolder on a refused set = %v, want the refusal", err)
	}
	writeAt(t, path, testRule("a", ""), t0.Add(time.Second))
	h, err := newRuleHolder(path, accept)
	if err != nil {
		t.Fatal(err)
	}
	v := h.Set().Version()
	writeAt(t, path, testRule("a", "")+testRule("b", ""), t0.Add(2*time.Second))
	if _, err := h.Reload(); err == nil || !strings.Contains(err.Error(), "no rule b") {
		t.Errorf("Reload of a refused set = %v, want the refusal", err)
	}
	if h.Set().Version() != v {
		t.Error("a refused set was put in force")
	}
}

// TestRulesHolderWatch: a tick reloads a changed file, SIGHUP reloads even an
// unchanged one, and each attempt is reported.
func TestRulesHolderWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.toml")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeAt(t, path, testRule("a", ""), t0)
	h, err := newRuleHolder(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	hup := make(chan os.Signal)
	reports := make(chan rulesReloaded)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Watch(ctx, ticks, hup, func(r rulesReloaded) { reports <- r })
	}()

	// Unchanged: no report (the second send is taken only after the
	// first tick's check is done).
	ticks <- t0
	ticks <- t0
	writeAt(t, path, testRule("a", "")+testRule("b", ""), t0.Add(time.Second))
	// Tick until the change is seen (the last tick above may see it).
	var r rulesReloaded
	for seen := false; !seen; {
		select {
		case ticks <- t0:
		case r = <-reports:
			seen = true
		}
	}
	if r.Forced || !r.Changed || r.Err != nil || len(r.Set.Rules()) != 2 {
		t.Errorf("after a change: %+v", r)
	}
	hup <- os.Interrupt
	if r := <-reports; !r.Forced || r.Changed || r.Err != nil {
		t.Errorf("after SIGHUP: %+v", r)
	}
	cancel()
	<-done
}
