package main

import (
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/jobs"
	"github.com/wecomply/wecomply/retention"
	"github.com/wecomply/wecomply/store"
)

// retentionJob is the "retention" cron job on [jobs] retention: it purges
// what [retention] says is past its time, except what a legal hold keeps.
// It needs only the store, so it runs whether or not wecom.secret is set.
func retentionJob(d jobDeps) jobs.Job {
	p := retention.New(d.store, retentionPolicy(d.cfg.Retention))
	return jobs.Job{Name: "retention", Spec: d.cfg.Jobs.Retention, Run: p.Run}
}

// retentionPolicy maps [retention] to the retention of each record kind.
func retentionPolicy(r config.Retention) retention.Policy {
	return retention.Policy{
		Keep: map[store.RecordKind]time.Duration{
			store.RecordEventLog:        config.Period(r.EventLogDays),
			store.RecordAttestations:    config.Period(r.AttestationsDays),
			store.RecordConsents:        config.Period(r.ConsentsDays),
			store.RecordDeadLetters:     config.Period(r.DeadLettersDays),
			store.RecordObligations:     config.Period(r.ObligationsDays),
			store.RecordSendResults:     config.Period(r.SendResultsDays),
			store.RecordRecipientClaims: config.Period(r.RecipientClaimsDays),
		},
		BatchSize: r.BatchSize,
	}
}
