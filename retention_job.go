package main

import (
	"context"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/jobs"
	"github.com/wecomply/wecomply/retention"
	"github.com/wecomply/wecomply/store"
)

// retentionJob is the "retention" cron job on [jobs] retention: it purges
// what [retention] says is past its time, except what a legal hold keeps.
// It needs only the store, so it runs whether or not wecom.secret is set.
//
// With the archive on, the same run then purges archived days older than
// retention.archive_days, destroying each day's data keys unless a hold
// keeps a message of it (crypto-shredding).
func retentionJob(d jobDeps) jobs.Job {
	p := retention.New(d.store, retentionPolicy(d.cfg.Retention), d.now)
	if d.archive == nil {
		return jobs.Job{Name: "retention", Spec: d.cfg.Jobs.Retention, Run: p.Run}
	}
	run := func(ctx context.Context, now time.Time) (map[string]int, error) {
		counts, err := p.Run(ctx, now)
		if err != nil {
			return counts, err
		}
		if counts == nil {
			counts = map[string]int{}
		}
		deleted, shredded, err := purgeArchive(ctx, d.archive, d.store, d.cfg.Retention.ArchiveDays, now)
		counts["archive_messages"] = deleted
		counts["archive_days_shredded"] = shredded
		return counts, err
	}
	return jobs.Job{Name: "retention", Spec: d.cfg.Jobs.Retention, Run: run}
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
