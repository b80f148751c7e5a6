package main

import (
	"context"
	"io"
	"net/http"
	"slices"
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

	var jobs struct {
		Jobs []struct {
			Runs []store.JobRun `json:"runs"`
		} `json:"jobs"`
	}
	eventually(t, "a finished reconcile run", func() bool {
		if apiGet(t, base, "/api/v1/jobs?job=reconcile", &jobs) != http.StatusOK || len(jobs.Jobs) != 1 {
			return false
		}
		runs := jobs.Jobs[0].Runs
		return len(runs) > 0 && runs[0].Outcome != store.RunRunning
	})
	if r := jobs.Jobs[0].Runs[0]; r.Outcome != store.RunOK || r.Counts["intercept_created"] != 1 || r.Counts["members"] != 3 {
		t.Errorf("reconcile run %+v: want ok, the members listed and one intercept rule created", r)
	}
	rules := fake.InterceptRules()
	if len(rules) != 1 || rules[0].RuleName != "wecomply·保本保收益" || !slices.Equal(rules[0].DepartmentList, []int64{2}) {
		t.Errorf("WeCom's rules: %+v", rules)
	}
}
