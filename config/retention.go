package config

import (
	"fmt"
	"time"
)

// Retention says how long each kind of record is kept before the
// retention job purges it (unless a legal hold names its subject).
// Periods are whole days, like the notices' due_days and reattest_days;
// 0 keeps a kind forever.
//
// The defaults follow what a compliance team in China expects:
//   - the event log holds who did what and when (UserIDs, customer ids,
//     message ids; never message text, which wecomply does not log), so
//     under PIPL's minimum-necessary rule (《个人信息保护法》第六条、
//     第十九条: kept no longer than the purpose needs) it is short: 180
//     days, enough to investigate an incident;
//   - attestations are evidence that a person acknowledged a notice
//     version; archive and record-keeping rules commonly ask for three
//     years, so 1,095 days;
//   - consents whose customer relationship has ended are evidence that
//     archiving was agreed to while it lasted: also 1,095 days from the
//     end. A consent of a relationship that goes on is never purged;
//   - dead letters are the only records that keep a callback as WeCom
//     sent it, message text included, for an operator to look into: the
//     most sensitive and the least needed, so 30 days;
//   - closed obligations (acknowledged, superseded, cancelled) say who
//     owed which notice version and how it ended: the counterpart of the
//     attestations, kept as long, 1,095 days from when they closed. An
//     open obligation is never purged. One purged while its version is
//     still current is owed again at the next decision about the person
//     (its attestation is gone by then too, with the defaults);
//   - send results hold, per recipient of every message, the WeCom msgid
//     and response_code (what a card update or recall needs) and the
//     delivery errors: personal data tied to a member, needed for about a
//     year of delivery questions and the digest's failures, so 365 days
//     from the send;
//   - recipient claims are notify's bookkeeping of which plan sends a
//     notice's content to whom (one claim per person per notice key and
//     content: each reminder day and each reply makes new ones); they are
//     needed only while a plan of their key could still send, so 3 days,
//     and never less than minClaimRetention allows;
//   - dead letters are purged only together: while any dead letter is
//     younger than dead_letters_days, all are kept, so that an incident's
//     letters stay until someone retries or drops them (see
//     store.RecordDeadLetters).
//
// Days are 24-hour periods counted back from the run's scheduled time.
// The audit log has no retention: it is a hash chain, each entry holds
// ids, kinds and counts but no message content, and deleting its oldest
// entries would need a verifiable checkpoint anchor, which wecomply does
// not keep. Each purge is written to it instead.
type Retention struct {
	EventLogDays     int `toml:"event_log_days"`
	AttestationsDays int `toml:"attestations_days"`
	ConsentsDays     int `toml:"consents_days"`
	DeadLettersDays  int `toml:"dead_letters_days"`
	ObligationsDays  int `toml:"obligations_days"`
	SendResultsDays  int `toml:"send_results_days"`
	// RecipientClaimsDays is the retention of notify's recipient claims
	// (store.RecordRecipientClaims), from when each was made: 0 (forever)
	// or at least minClaimRetention.
	RecipientClaimsDays int `toml:"recipient_claims_days"`
	// ArchiveDays is how long archived chat is kept, by the day it was
	// sent: 2,190 days (6 years) by default, which covers the record-keeping
	// rules securities firms work under. A day past it is purged and its
	// data keys destroyed, unless a legal hold names a party in it.
	ArchiveDays int `toml:"archive_days"`
	// BatchSize is how many records one purge batch examines: one short
	// transaction (embedded) or script (Redis) at a time.
	BatchSize int `toml:"batch_size"`
}

// maxRetentionDays bounds a retention period (30 years).
const maxRetentionDays = 30 * 365

func defaultRetention() Retention {
	return Retention{
		EventLogDays:     180,
		AttestationsDays: 1095,
		ConsentsDays:     1095,
		DeadLettersDays:  30,
		ObligationsDays:  1095,
		SendResultsDays:  365,
		// Well above minClaimRetention (at most 9 hours with the limits
		// of notify.send_deadline), and short.
		RecipientClaimsDays: 3,
		ArchiveDays:         2190,
		BatchSize:           1000,
	}
}

// claimRetentionMargin covers, on top of twice the send deadline, the
// clocks of replicas that differ a little and a send that began just
// before its deadline and ends just after.
const claimRetentionMargin = time.Hour

// minClaimRetention is the shortest retention of recipient claims that
// keeps a person from being sent a notice's content by two plans, with
// notify's send deadline sendDeadline.
//
// A plan (notify's plan job, one per submission of a notice) claims its
// recipients under the claim key (notice key + content hash) when it
// runs, at tA, after it was submitted at t0 ≤ tA; every send it makes is
// given up rather than sent after its deadline, t0 + sendDeadline at the
// latest. A second plan of the same key (the notice submitted again, at
// t1) leaves out whoever was sent it already; whoever it names and the
// first plan still holds, it does not get. It could send to someone the
// first plan sends to only if it claimed them after retention purged the
// first plan's claim (at tA + R at the earliest) and before its own
// deadline (t1 + sendDeadline), while the first plan's send was not yet
// recorded when the second was submitted (t1 ≤ t0 + sendDeadline): that
// needs tA + R < t1 + sendDeadline ≤ t0 + 2·sendDeadline ≤ tA +
// 2·sendDeadline, so R < 2·sendDeadline. A plan that runs again late
// (the queue redelivers it after a crash, a retry or an outage, however
// late) sends nothing after its deadline either, so the queue's
// redelivery window needs nothing more; nor does a plan that runs again
// after its own claims were purged: it claims them again, or finds them
// another's. Hence R ≥ 2·sendDeadline + claimRetentionMargin, in whole
// days. (WeCom's duplicate check, within duplicate_check_interval, is a
// second net this does not count on.)
func minClaimRetention(sendDeadline time.Duration) int {
	need := 2*sendDeadline + claimRetentionMargin
	day := 24 * time.Hour
	return int((need + day - 1) / day)
}

// Period returns a retention in days as a duration; 0 means forever.
func Period(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }

func (c *Config) validateRetention(ps *problems) {
	r := c.Retention
	ps.between("retention.event_log_days", int64(r.EventLogDays), 0, maxRetentionDays)
	ps.between("retention.attestations_days", int64(r.AttestationsDays), 0, maxRetentionDays)
	ps.between("retention.consents_days", int64(r.ConsentsDays), 0, maxRetentionDays)
	ps.between("retention.dead_letters_days", int64(r.DeadLettersDays), 0, maxRetentionDays)
	ps.between("retention.obligations_days", int64(r.ObligationsDays), 0, maxRetentionDays)
	ps.between("retention.send_results_days", int64(r.SendResultsDays), 0, maxRetentionDays)
	ps.between("retention.recipient_claims_days", int64(r.RecipientClaimsDays), 0, maxRetentionDays)
	if least := minClaimRetention(c.Notify.SendDeadline); r.RecipientClaimsDays > 0 && r.RecipientClaimsDays < least {
		ps.add("retention.recipient_claims_days", fmt.Sprintf("must be 0 (forever) or at least %d (2 × notify.send_deadline %s and an hour: a claim must outlive every plan that could still send under its key), got %d",
			least, c.Notify.SendDeadline, r.RecipientClaimsDays))
	}
	ps.between("retention.archive_days", int64(r.ArchiveDays), 0, maxRetentionDays)
	ps.between("retention.batch_size", int64(r.BatchSize), 1, 10_000)
}
