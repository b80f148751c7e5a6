package config

import "time"

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
//     from the send.
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
		BatchSize:        1000,
	}
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
	ps.between("retention.batch_size", int64(r.BatchSize), 1, 10_000)
}
