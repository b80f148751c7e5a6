package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/wecomply/wecomply/store"
)

// TestReconcileJob: with the WeCom API configured the reconcile job is
// scheduled on [jobs] reconcile, and its start-up catch-up run (a fresh
// store has never run it) finishes; without the app's secret there is no
// processor and no reconcile job.
func TestReconcileJob(t *testing.T) {
	fake := policyCompany(t)
	base := startApp(t, writePolicyConfig(t, fake.URL, t.TempDir(), 1), io.Discard)
	j := finishedRun(t, base, "reconcile")
	if j.Spec != "30 2 * * *" {
		t.Errorf("reconcile spec %q, want the default", j.Spec)
	}
	if r := j.Runs[0]; r.Outcome != store.RunOK || r.Counts["members"] != 3 {
		t.Errorf("reconcile run %+v: want ok, with the company's 3 members listed", r)
	}

	plain := startApp(t, writeConfig(t, "127.0.0.1:0", "embedded", ""), io.Discard)
	if status := apiGet(t, plain, "/api/v1/jobs?job=reconcile", nil); status != http.StatusNotFound {
		t.Errorf("without wecom.secret: GET /api/v1/jobs?job=reconcile = %d, want 404", status)
	}
}
