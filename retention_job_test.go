package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
)

// TestRetentionJobRunsWithoutWeComSecret: the retention job is registered
// on [jobs] retention and, run by the scheduler with no wecom.secret (no
// notifier, no client), purges on the store alone.
func TestRetentionJobRunsWithoutWeComSecret(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := config.Default()
	cfg.Retention.EventLogDays = 30
	cfg.Jobs.TimeZone = "UTC"
	s, err := newScheduler(jobDeps{cfg: &cfg, store: st, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, j := range s.Jobs() {
		if j.Name == "retention" {
			found = j.Spec == "0 3 * * *" && !j.Off
		}
	}
	if !found {
		t.Fatalf("jobs = %+v, want retention on 0 3 * * *", s.Jobs())
	}

	at := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	for i, age := range []time.Duration{31 * 24 * time.Hour, 29 * 24 * time.Hour} {
		e := store.LogEntry{Kind: "text", DedupKey: string(rune('a' + i)), ReceivedAt: at.Add(-age), Fields: map[string]string{"user_id": "u"}}
		if err := st.AppendEventLog(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	run, err := s.RunScheduled(t.Context(), "retention", at)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != store.RunOK || run.Counts["event_log.purged"] != 1 {
		t.Fatalf("run = %+v, want ok with one event purged", run)
	}
	if es, _, _ := st.ListEventLog(t.Context(), "", store.Page{Limit: 10}); len(es) != 1 || es[0].DedupKey != "b" {
		t.Errorf("event log = %+v, want the 29-day-old entry only", es)
	}
	if rep, err := st.VerifyAudit(t.Context()); err != nil || !rep.OK || rep.Entries == 0 {
		t.Errorf("VerifyAudit = %+v, %v; want OK with the purge's entries", rep, err)
	}
}

// TestRetentionPolicyCoversEveryKind: every kind the stores purge has a
// [retention] key, on by default.
func TestRetentionPolicyCoversEveryKind(t *testing.T) {
	p := retentionPolicy(config.Default().Retention)
	for _, kind := range store.RecordKinds {
		if p.Keep[kind] <= 0 {
			t.Errorf("%s: retention %v by default, want a [retention] key with a period", kind, p.Keep[kind])
		}
	}
	if len(p.Keep) != len(store.RecordKinds) {
		t.Errorf("policy has %d kinds, store.RecordKinds %d", len(p.Keep), len(store.RecordKinds))
	}
}
