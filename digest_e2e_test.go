package main

import (
	"io"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/store"
)

// jobsResponse is GET /api/v1/jobs.
type jobsResponse struct {
	Jobs []struct {
		Name string         `json:"name"`
		Spec string         `json:"spec"`
		Off  bool           `json:"off"`
		Runs []store.JobRun `json:"runs"`
	} `json:"jobs"`
}

// TestServeRunsTheDigest: with the app's secret, serve schedules the
// digest on [jobs] digest; on a fresh store the day's run is caught up at
// start-up, recorded ok, and the officer gets the digest, once. Without
// the secret there is nothing to send with, and no digest job.
func TestServeRunsTheDigest(t *testing.T) {
	fake := policyCompany(t)
	base := startApp(t, writePolicyConfig(t, fake.URL, t.TempDir(), 1), io.Discard)
	var jobs jobsResponse
	eventually(t, "the digest run recorded ok", func() bool {
		apiGet(t, base, "/api/v1/jobs?job=digest", &jobs)
		return len(jobs.Jobs) == 1 && len(jobs.Jobs[0].Runs) == 1 && jobs.Jobs[0].Runs[0].Outcome == store.RunOK
	})
	if j := jobs.Jobs[0]; j.Spec != "0 9 * * *" || j.Off || j.Runs[0].Counts["messages"] != 1 || j.Runs[0].Counts["recipients"] != 1 {
		t.Errorf("the digest job: %+v", j)
	}
	digests := func() int {
		n := 0
		for _, m := range fake.Inbox("wangfang") {
			if m.MsgType == "markdown" && strings.Contains(m.Content, "### 合规日报") {
				n++
			}
		}
		return n
	}
	eventually(t, "the officer's digest", func() bool { return digests() == 1 })

	bare := startApp(t, writeConfig(t, "127.0.0.1:0", "embedded", ""), io.Discard)
	var none jobsResponse
	apiGet(t, bare, "/api/v1/jobs", &none)
	for _, j := range none.Jobs {
		if j.Name == "digest" {
			t.Errorf("a digest job without wecom.secret: %+v", j)
		}
	}
}
