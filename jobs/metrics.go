package jobs

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/store"
)

// Outcomes of a run on this replica, as the runs metric labels them:
// store.RunOK, store.RunFailed, or outcomeLost when the lease was lost
// before the run could be recorded (the replica that took it over
// records it).
const outcomeLost = "lost"

type metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	takeovers   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_job_runs_total",
			Help: "Job runs made by this replica, by job and outcome (ok, failed, lost: the lease was lost mid-run and another replica took the run over).",
		}, []string{"job", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wecomply_job_duration_seconds",
			Help:    "Time a job run made by this replica took.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 12), // 10ms … 30min
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wecomply_job_last_success_timestamp_seconds",
			Help: "When the latest successful run of a job this replica made or saw finished (Unix seconds); 0 if none yet.",
		}, []string{"job"}),
		takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_job_takeovers_total",
			Help: "Runs this replica took over from a leader that died or lost its lease mid-run.",
		}, []string{"job"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.duration, m.lastSuccess, m.takeovers} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
	}
	return m, nil
}

// init makes a job's series exist (at zero) from the start, so that
// alerts on them work before the first run.
func (m *metrics) init(job string) {
	m.lastSuccess.WithLabelValues(job)
	m.takeovers.WithLabelValues(job)
	m.runs.WithLabelValues(job, store.RunOK)
	m.runs.WithLabelValues(job, store.RunFailed)
}
