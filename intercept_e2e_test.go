package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/intercept"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
)

type interceptSource []intercept.Desired

func (s interceptSource) InterceptRules(context.Context) ([]intercept.Desired, error) { return s, nil }

// TestReconcileJobSyncsInterceptRules: with desired intercept rules given,
// the reconcile job (its start-up catch-up run) also pushes them to WeCom
// and reports intercept_* counts; the run's audit entries are there.
func TestReconcileJobSyncsInterceptRules(t *testing.T) {
	clk := testclock.New(t)
	fake := policyCompanyAt(t, clk)
	src := interceptSource{{RuleID: "guaranteed-returns", Name: "保本保收益", Words: []string{"保本", "保收益"}, Departments: []int64{2}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, base, done := launchAppWith(t, ctx, writePolicyConfig(t, fake.URL, t.TempDir(), 1), io.Discard, appOptions{Now: clk.Now, InterceptRules: src})
	defer func() { cancel(); <-done }()

	if r := finishedRun(t, base, "reconcile").Runs[0]; r.Outcome != store.RunOK || r.Counts["intercept_created"] != 1 || r.Counts["members"] != 3 {
		t.Errorf("reconcile run %+v: want ok, the members listed and one intercept rule created", r)
	}
	rules := fake.InterceptRules()
	if len(rules) != 1 || rules[0].RuleName != "wecomply·保本保收益" || !slices.Equal(rules[0].DepartmentList, []int64{2}) {
		t.Errorf("WeCom's rules: %+v", rules)
	}
	var actions []string
	for _, e := range auditLog(t, base) {
		if e.Kind != intercept.AuditKind {
			continue
		}
		var d struct {
			Action      string `json:"action"`
			WeComRuleID string `json:"wecom_rule_id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if len(rules) == 1 && d.WeComRuleID != rules[0].RuleID {
			t.Errorf("intercept audit entry %s names WeCom rule %q, want %q", e.Data, d.WeComRuleID, rules[0].RuleID)
		}
		actions = append(actions, e.Subject+"/"+d.Action)
	}
	if !slices.Equal(actions, []string{"guaranteed-returns/created"}) {
		t.Errorf("intercept sync audit entries = %v, want the rule's creation", actions)
	}
}

// TestBlockRulesOfTheRuleFileReachWeCom: with [rules] file set (the
// shipped example) and no other source, the reconcile job pushes the
// example's block = true lexicons to WeCom, each over the whole company
// (its scope names no department), with every term as a word.
func TestBlockRulesOfTheRuleFileReachWeCom(t *testing.T) {
	clk := testclock.New(t)
	fake := policyCompanyAt(t, clk)
	abs, err := filepath.Abs("rules.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := writePolicyConfig(t, fake.URL, t.TempDir(), 1)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "\n[rules]\nfile = %q\n", abs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	set, err := loadRules(abs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{} // WeCom's word lists are sets
	for _, b := range set.Blocked() {
		want[b.RuleID] = slices.Sorted(slices.Values(b.Terms))
	}
	if len(want) == 0 {
		t.Fatal("the example has no block = true rule")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, done := launchAppWith(t, ctx, path, io.Discard, appOptions{Now: clk.Now})
	defer func() { cancel(); <-done }()
	eventually(t, "the example's block rules in WeCom", func() bool { return len(fake.InterceptRules()) == len(want) })
	var got []string
	for _, r := range fake.InterceptRules() {
		got = append(got, strings.Join(slices.Sorted(slices.Values(r.WordList)), "|"))
		if !strings.HasPrefix(r.RuleName, "wecomply·") || !slices.Equal(r.DepartmentList, []int64{1}) {
			t.Errorf("rule %q over departments %v: want ours, over the root department 1", r.RuleName, r.DepartmentList)
		}
	}
	var wantWords []string
	for _, w := range want {
		wantWords = append(wantWords, strings.Join(w, "|"))
	}
	slices.Sort(got)
	slices.Sort(wantWords)
	if !slices.Equal(got, wantWords) {
		t.Errorf("WeCom's word lists %q, want the example's block terms %q", got, wantWords)
	}
}
