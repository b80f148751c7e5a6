package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
)

// JobInfo describes one configured cron job.
type JobInfo struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	// Off: the job has no spec and is never scheduled.
	Off bool `json:"off"`
	// Next is the job's next activation; zero when it is off.
	Next time.Time `json:"next,omitzero"`
}

// JobLister lists the configured jobs (the cron scheduler, through an
// adapter in main: handlers and jobs do not import each other).
type JobLister interface {
	Jobs() []JobInfo
}

// JobRunLister lists recorded job runs (store.JobRuns.ListJobRuns). The
// store conformance suite (storetest) holds every store to a non-nil
// slice, also when there are no runs, so "runs" is never null.
type JobRunLister interface {
	ListJobRuns(ctx context.Context, job string, limit int) ([]store.JobRun, error)
}

type jobsAPI struct {
	jobs   JobLister // nil: no job is configured
	runs   JobRunLister
	logger *slog.Logger
}

const (
	defaultJobRuns = 10
	maxJobRuns     = 1000
	// keptJobRuns is how many runs of a job the store keeps
	// (store.JobRuns): a page of one job's runs is cut from them.
	keptJobRuns = 1000
)

// jobView is one job in GET /api/v1/jobs.
type jobView struct {
	JobInfo
	Runs []store.JobRun `json:"runs"`
}

// list serves GET /api/v1/jobs?job=&limit=&cursor=: every configured job
// with its latest runs, up to limit each (default 10), latest first; or,
// with job=, that job with a page of its runs, limit at a time, and
// next_cursor for the older ones. The configured jobs are few and always
// on one page (next_cursor "" without job=, and a cursor needs job=).
func (a *jobsAPI) list(c *gin.Context) {
	limit, ok := queryLimit(c, defaultJobRuns, maxJobRuns)
	if !ok {
		return
	}
	var infos []JobInfo
	if a.jobs != nil {
		infos = a.jobs.Jobs()
	}
	name, filtered := c.GetQuery("job")
	cursor := c.Query("cursor")
	if cursor != "" && !filtered {
		badRequest(c, "cursor", "pages the runs of one job: give job too")
		return
	}
	out := make([]jobView, 0, len(infos))
	var next string
	for _, info := range infos {
		if filtered && info.Name != name {
			continue
		}
		want := limit
		if filtered {
			want = keptJobRuns
		}
		runs, err := a.runs.ListJobRuns(c.Request.Context(), info.Name, want)
		if err != nil {
			writeError(c, a.logger, "list job runs", err, "job", info.Name)
			return
		}
		if filtered {
			// Latest first: the key counts down as ScheduledAt goes back.
			runs, next, err = pageOf("runs:"+info.Name, runs, func(r store.JobRun) string {
				return fmt.Sprintf("%020d", math.MaxInt64-r.ScheduledAt.UnixMicro())
			}, store.Page{Limit: limit, Cursor: cursor})
			if err != nil {
				writeError(c, a.logger, "list job runs", err, "job", info.Name)
				return
			}
		}
		out = append(out, jobView{JobInfo: info, Runs: nonNil(runs)})
	}
	if filtered && len(out) == 0 {
		c.JSON(http.StatusNotFound, gin.H{"error": "job: no configured job " + strconv.Quote(name)})
		return
	}
	writePage(c, "jobs", out, next)
}
