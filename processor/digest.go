package processor

import (
	"context"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// digestRun is the event a digest run's audit entries name.
type digestRun struct{}

// Kind implements policy.Event.
func (digestRun) Kind() string { return "jobs.digest" }

// Digest makes the daily digest for the activation at now (a jobs.Func):
// it loads what policy.Digest reports on, decides and applies the
// messages through the audited path, like any other action.
//
// The window is (now - policy.DigestWindow, now]: the 24 hours before the
// activation, whichever replica runs it and however often. Everything
// the digest counts is counted as it stood at now (policy.DigestCoverage),
// so a run taken over and made again for the same now renders the same
// messages, and notify sends nobody a second copy (same key, same
// content); the audit log gets no second entry. Someone who was sent the
// day's digest before now (an earlier activation the same day) gets
// nothing more that day.
//
// Loaded: every obligation of the current notice versions (a page at a
// time), the people it needs (recipients, the overdue, the employees and
// recipients listed), the department names from WeCom when the contacts
// API answers (ids otherwise), the recorded consent refusals and the
// send results of the notices' cards and reminders, and the dead letters
// (counted, with when the oldest died).
func (p *Processor) Digest(ctx context.Context, now time.Time) (map[string]int, error) {
	return p.DigestSince(ctx, now.Add(-policy.DigestWindow), now)
}

// DigestSince is Digest over the window (since, now]: the cron passes the
// activation of the last digest that was made, so that refusals and
// failures of days no digest went out on (every replica was down, or the
// run failed) are reported by the next one. since is capped at
// policy.MaxDigestWindow before now.
func (p *Processor) DigestSince(ctx context.Context, since, now time.Time) (map[string]int, error) {
	s := p.cfg.Settings
	if earliest := now.Add(-policy.MaxDigestWindow); since.Before(earliest) {
		since = earliest
	}
	if !since.Before(now) {
		since = now.Add(-policy.DigestWindow)
	}
	in := policy.DigestInput{
		Since:               since,
		Notices:             p.cfg.Notices,
		Coverage:            make(map[string]policy.DigestCoverage, len(p.cfg.Notices)),
		OverdueByDepartment: map[int64]int{},
		AlreadySent:         map[string]bool{},
	}
	need := map[string]bool{}
	for _, u := range s.Officers {
		need[u] = true
	}

	overdue := map[string]int{} // overdue obligations by UserID
	for _, n := range p.cfg.Notices {
		for _, u := range n.ComplianceOwners {
			need[u] = true
		}
		var c policy.DigestCoverage
		err := store.Each(ctx, pageSize, func(ctx context.Context, page store.Page) ([]policy.Obligation, string, error) {
			return p.st.ListObligations(ctx, store.ObligationFilter{NoticeID: n.ID, Version: n.Version}, page)
		}, func(o policy.Obligation) error {
			if c.Add(o, now) {
				overdue[o.UserID]++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("digest: obligations of %s: %w", n.Key(), err)
		}
		in.Coverage[n.Key()] = c

		for _, key := range policy.DigestDeliveryKeys(n, in.Since, now, s) {
			results, err := p.st.ListSendResults(ctx, key)
			if err != nil {
				return nil, fmt.Errorf("digest: send results of %s: %w", key, err)
			}
			for _, r := range results {
				switch r.Status {
				case store.StatusFailed, store.StatusInvalid, store.StatusUnlicensed:
				default:
					continue
				}
				if r.At.After(in.Since) && !r.At.After(now) {
					in.Failures = append(in.Failures, policy.FailedDelivery{NoticeID: n.ID, Version: n.Version,
						UserID: r.UserID, Status: string(r.Status), At: r.At})
					need[r.UserID] = true
				}
			}
		}
	}

	err := store.Each(ctx, pageSize, func(ctx context.Context, page store.Page) ([]policy.Consent, string, error) {
		return p.st.ListConsents(ctx, store.ConsentFilter{Status: policy.ConsentDisagreed}, page)
	}, func(c policy.Consent) error {
		if at := policy.RefusedAt(c); at.After(in.Since) && !at.After(now) {
			in.Refusals = append(in.Refusals, c)
			need[c.UserID] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest: consent refusals: %w", err)
	}

	for _, lang := range policy.DigestLanguages() {
		results, err := p.st.ListSendResults(ctx, policy.DigestKey(now, lang, 1, s))
		if err != nil {
			return nil, fmt.Errorf("digest: earlier digests: %w", err)
		}
		for _, r := range results {
			if r.Status == store.StatusSent && r.At.Before(now) {
				in.AlreadySent[r.UserID] = true
			}
		}
	}

	// The dead letters that died by now (those after it are the next
	// digest's), the first in the order of death the oldest.
	err = store.Each(ctx, pageSize, p.st.ListDeadLetters, func(d store.DeadLetter) error {
		if !d.DiedAt.After(now) {
			if in.DeadLetters++; in.OldestDeadLetter.IsZero() {
				in.OldestDeadLetter = d.DiedAt
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("digest: dead letters: %w", err)
	}

	// The supervision alerts waiting for review (like the dead letters,
	// counted as they stand when the run reads them).
	if in.Alerts, err = store.CountOpenAlerts(ctx, p.st, now); err != nil {
		return nil, fmt.Errorf("digest: alerts: %w", err)
	}

	for u := range overdue {
		need[u] = true
	}
	people, err := p.loadPeople(ctx, need)
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	in.People = people
	for u, n := range overdue {
		in.OverdueByDepartment[policy.DigestDepartment(people, u)] += n
	}
	if len(in.OverdueByDepartment) > 0 {
		in.DepartmentNames = p.departmentNames(ctx)
	}

	acts := policy.Digest(in, s, now)
	origin := "digest:" + now.UTC().Format(time.RFC3339)
	if err := p.apply(ctx, origin, digestRun{}, policy.State{Notices: p.cfg.Notices, Settings: s}, acts); err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}

	counts := map[string]int{"messages": len(acts), "notices": len(p.cfg.Notices),
		"refusals": len(in.Refusals), "failures": len(in.Failures), "dead_letters": in.DeadLetters}
	if n := in.Alerts.Open + in.Alerts.Escalated; n > 0 {
		counts["alerts"] = n
	}
	recipients := map[string]bool{}
	for _, a := range acts {
		switch a := a.(type) {
		case policy.SendText:
			for _, u := range a.UserIDs {
				recipients[u] = true
			}
		}
	}
	counts["recipients"] = len(recipients)
	for _, n := range overdue {
		counts["overdue"] += n
	}
	return counts, nil
}

// departmentNames names the company's departments from WeCom, or none
// when the contacts API is not there or does not answer: the digest then
// shows department ids, which is all it loses.
func (p *Processor) departmentNames(ctx context.Context) map[int64]string {
	if p.dir.api == nil {
		return nil
	}
	depts, err := p.dir.departments(ctx)
	if err != nil {
		p.log.DebugContext(ctx, "digest: department names unavailable; showing ids", "err", err)
		return nil
	}
	names := make(map[int64]string, len(depts))
	for _, d := range depts {
		names[int64(d.ID)] = d.Name
	}
	return names
}
