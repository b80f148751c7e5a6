package main

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// jobsResponse is GET /api/v1/jobs.
type jobsResponse struct {
	Jobs []jobView `json:"jobs"`
}

// jobView is one job of GET /api/v1/jobs, its runs latest first.
type jobView struct {
	Name string         `json:"name"`
	Spec string         `json:"spec"`
	Off  bool           `json:"off"`
	Runs []store.JobRun `json:"runs"`
}

// finishedRun waits until job has a run and its latest run has finished
// (its outcome no longer running), and returns the job as listed then:
// its latest run is Runs[0].
func finishedRun(t *testing.T, base, job string) jobView {
	t.Helper()
	var jobs jobsResponse
	eventually(t, "a finished "+job+" run", func() bool {
		if apiGet(t, base, "/api/v1/jobs?job="+job, &jobs) != http.StatusOK || len(jobs.Jobs) != 1 {
			return false
		}
		runs := jobs.Jobs[0].Runs
		return len(runs) > 0 && runs[0].Outcome != store.RunRunning
	})
	return jobs.Jobs[0]
}

// TestServeRunsTheDigest: with the app's secret, serve schedules the
// digest on [jobs] digest; on a fresh store the day's run is caught up at
// start-up, recorded ok, and the officer gets the digest, once. Without
// the secret there is nothing to send with, and no digest job.
func TestServeRunsTheDigest(t *testing.T) { serveRunsTheDigest(t, testclock.New(t)) }

func serveRunsTheDigest(t *testing.T, clk *testclock.Clock) {
	fake := policyCompanyAt(t, clk)
	base := startAppAt(t, clk, writePolicyConfig(t, fake.URL, t.TempDir(), 1), io.Discard)
	if j := finishedRun(t, base, "digest"); len(j.Runs) != 1 || j.Runs[0].Outcome != store.RunOK || j.Spec != "0 9 * * *" || j.Off ||
		j.Runs[0].Counts["messages"] != 1 || j.Runs[0].Counts["recipients"] != 1 {
		t.Errorf("the digest job: %+v; want one run, ok, one message to one recipient", j)
	}
	eventually(t, "the officer's digest", func() bool { return markdowns(fake, "wangfang", "### 合规日报") == 1 })
	// The run caught up is the latest activation's (09:00), before the
	// notice published at start-up: nobody owed it then, and the digest
	// says so rather than "all clear … 0/0".
	if markdowns(fake, "wangfang", "《会话存档告知》第 1 版：<font color=\"warning\">尚未向任何人发布</font>") != 1 ||
		markdowns(fake, "wangfang", "一切正常") != 0 {
		for _, m := range fake.Inbox("wangfang") {
			t.Logf("wangfang: %s %q", m.MsgType, m.Content)
		}
		t.Error("the start-up digest does not say the notice is not yet published")
	}

	bare := startAppAt(t, clk, writeConfig(t, "127.0.0.1:0", "embedded", ""), io.Discard)
	var none jobsResponse
	apiGet(t, bare, "/api/v1/jobs", &none)
	for _, j := range none.Jobs {
		if j.Name == "digest" {
			t.Errorf("a digest job without wecom.secret: %+v", j)
		}
	}
}

// TestDigestReportsSinceTheLastDigest: a day with no digest (every replica
// down, or its run failed) is reported by the next one: a consent refusal
// recorded after one digest, in the window of the day whose digest was
// missed, is in the digest after that.
func TestDigestReportsSinceTheLastDigest(t *testing.T) {
	digestReportsSinceTheLastDigest(t, testclock.New(t))
}

func digestReportsSinceTheLastDigest(t *testing.T, clk *testclock.Clock) {
	fake := policyCompanyAt(t, clk)
	a, _ := startJobsApp(t, clk, fake, "due_days = 7\n")
	ctx := context.Background()

	shanghai := jobsLocation(a.cfg)
	day1 := clk.Now().In(shanghai).AddDate(0, 0, 1)
	day1 = time.Date(day1.Year(), day1.Month(), day1.Day(), 9, 0, 0, 0, shanghai)
	if err := a.store.PutConsent(ctx, policy.Consent{UserID: "zhangsan", ExternalUserID: "wmMissedDayCustomer",
		Status: policy.ConsentDisagreed, Source: "check_single_agree", NotifiedAt: day1.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	refusalIn := func(day time.Time) bool {
		return markdowns(fake, "wangfang", "合规日报 "+day.Format(time.DateOnly), "wmMissedDayCustomer") > 0
	}
	digestOf := func(day time.Time) bool {
		return markdowns(fake, "wangfang", "合规日报 "+day.Format(time.DateOnly)) > 0
	}
	for _, day := range []time.Time{day1, day1.AddDate(0, 0, 2)} { // day 2 is missed
		if r, err := a.jobs.RunScheduled(ctx, "digest", day); err != nil {
			t.Fatalf("digest of %v: %v (%+v)", day, err, r)
		}
		eventually(t, "the digest of "+day.Format(time.DateOnly), func() bool { return digestOf(day) })
	}
	if refusalIn(day1) {
		t.Error("day 1's digest lists a refusal made after it")
	}
	if !refusalIn(day1.AddDate(0, 0, 2)) {
		t.Error("day 3's digest does not list the refusal of the missed day 2's window")
	}
}
