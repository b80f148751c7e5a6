package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// jobsFunc is a hand-written JobLister.
type jobsFunc func() []JobInfo

func (f jobsFunc) Jobs() []JobInfo { return f() }

func TestJobsAPI(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, now, func(o *Options) {
		o.Jobs = jobsFunc(func() []JobInfo {
			return []JobInfo{{Name: "digest", Spec: "0 9 * * 1"}, {Name: "idle", Off: true}}
		})
	})
	if _, _, err := e.store.StartJobRun(t.Context(), "digest", now.Add(-time.Hour), "test", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, target string
		status       int
		want         string
	}{
		{"every job", "/api/v1/jobs", http.StatusOK, `"name":"digest"`},
		// The store returns an empty list, never nil, for a job without runs.
		{"a job that never ran", "/api/v1/jobs?job=idle", http.StatusOK, `"runs":[]`},
		{"one job", "/api/v1/jobs?job=digest&limit=1", http.StatusOK, `"holder":"test"`},
		{"no such job", "/api/v1/jobs?job=nope", http.StatusNotFound, `no configured job \"nope\"`},
		{"limit 0", "/api/v1/jobs?limit=0", http.StatusBadRequest, "limit: must be an integer from 1 to 1000"},
		{"limit not a number", "/api/v1/jobs?limit=ten", http.StatusBadRequest, "limit: must be an integer from 1 to 1000"},
		// The configured jobs are one page; a cursor pages one job's runs.
		{"every job is one page", "/api/v1/jobs", http.StatusOK, `"next_cursor":""`},
		{"a cursor without a job", "/api/v1/jobs?cursor=x", http.StatusBadRequest, `"field":"cursor"`},
		{"a bad cursor of a job", "/api/v1/jobs?job=digest&cursor=x", http.StatusBadRequest, `"field":"cursor"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.admin(tt.target)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("got %d %s, want %d …%s…", rec.Code, rec.Body.String(), tt.status, tt.want)
			}
		})
	}
}
