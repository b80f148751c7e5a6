package processor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// RemindersRun is the policy event of a reminder run, as its audit
// entries name it.
type RemindersRun struct{ At time.Time }

// Kind implements policy.Event.
func (RemindersRun) Kind() string { return "job.reminders" }

// remindChunk is the most people one applied reminder action names: a
// reminder goes out to at most 1,000 people a call (WeCom's limit), and
// one audit entry stays small.
const remindChunk = 1000

// Remind makes the reminder run for the cron activation at now: it loads
// the obligations policy.Remind may act on (policy.Actionable: open ones
// and, where re-attestation is configured, acknowledged ones), the
// people they name, decides, and applies the decisions through the
// audited path. It reads only those obligations, from the store's index
// of them by when they are due (store.Obligations.ListObligationsDue),
// however many others there are: counts["scanned"] is how many it read.
//
// A run made again at the same now (another replica took it over) decides
// again on what the first one left: the records it made are not made
// twice, and what it sent is not sent twice (the notify keys are per
// notice and day; notify drops what a person already got).
func (p *Processor) Remind(ctx context.Context, now time.Time) (map[string]int, error) {
	counts := map[string]int{}
	if !p.cfg.Calendar.IsWorkingTime(now) {
		counts["quiet"] = 1
		return counts, nil
	}
	// The index follows the configured notices (built already at
	// start-up, by Publish; this is a check, unless another replica's
	// notices differ).
	if err := p.st.IndexDue(ctx, p.cfg.Notices); err != nil {
		return counts, fmt.Errorf("reminders: %w", err)
	}
	var obs []policy.Obligation
	need := map[string]bool{}
	for _, n := range p.cfg.Notices {
		err := store.Each(ctx, pageSize, func(ctx context.Context, page store.Page) ([]policy.Obligation, string, error) {
			return p.st.ListObligationsDue(ctx, n.ID, n.Version, now, page)
		}, func(o policy.Obligation) error {
			counts["scanned"]++
			if policy.Actionable(n, o, now) {
				obs = append(obs, o)
				need[o.UserID] = true
			}
			return nil
		})
		if err != nil {
			return counts, fmt.Errorf("reminders: list obligations of %s due: %w", n.Key(), err)
		}
		for _, u := range n.ComplianceOwners {
			need[u] = true
		}
	}
	counts["actionable"] = len(obs)
	if len(obs) == 0 {
		return counts, nil
	}
	people, err := p.loadPeople(ctx, need)
	if err != nil {
		return counts, fmt.Errorf("reminders: %w", err)
	}
	if err := p.refreshEscalated(ctx, obs, people, now); err != nil {
		return counts, fmt.Errorf("reminders: %w", err)
	}
	// The leaders of the people named, for escalation.
	leaders := map[string]bool{}
	for _, o := range obs {
		for _, l := range people[o.UserID].DirectLeaders {
			if _, known := people[l]; !known {
				leaders[l] = true
			}
		}
	}
	more, err := p.loadPeople(ctx, leaders)
	if err != nil {
		return counts, fmt.Errorf("reminders: %w", err)
	}
	for id, person := range more {
		people[id] = person
	}

	acts := policy.Remind(p.cfg.Notices, obs, people, p.cfg.Calendar, p.cfg.Settings, now)
	acts = chunkActions(acts, remindChunk)
	for _, a := range acts {
		switch a := a.(type) {
		case policy.MarkOverdue:
			counts["overdue"] += len(a.UserIDs)
		case policy.SendReminder:
			counts["reminded"] += len(a.UserIDs)
		case policy.SendText:
			if a.Reason == policy.ReasonEscalation {
				counts["escalation_messages"]++
			}
		case policy.MarkEscalated:
			counts["escalated"] += len(a.UserIDs)
		case policy.Reattest:
			counts["reattest"] += len(a.UserIDs)
		}
	}
	origin := "job:reminders:" + now.UTC().Format(time.RFC3339)
	st := policy.State{Notices: p.cfg.Notices, Settings: p.cfg.Settings, DedupKey: origin, ReceivedAt: now}
	if err := p.apply(ctx, origin, RemindersRun{At: now}, st, acts); err != nil {
		return counts, fmt.Errorf("reminders: %w", err)
	}
	return counts, nil
}

// maxLeaderLookups bounds the user/get calls of one run: the rest wait
// for the next run (or a change_contact, or reconciliation).
const maxLeaderLookups = 2000

// refreshEscalated makes sure the run knows the direct leaders and names
// of the people it is about to escalate: a person known only from the
// member list (user/list_id, at publish) has neither, so they are asked
// of WeCom (user/get) and stored. Direct leaders are otherwise kept
// current by change_contact events.
func (p *Processor) refreshEscalated(ctx context.Context, obs []policy.Obligation, people map[string]policy.Person, now time.Time) error {
	if p.dir.api == nil {
		return nil
	}
	notices := map[string]policy.Notice{}
	for _, n := range p.cfg.Notices {
		notices[n.Key()] = n
	}
	looked := 0
	for _, o := range obs {
		n := notices[policy.Notice{ID: o.NoticeID, Version: o.Version}.Key()]
		prev, known := people[o.UserID]
		if !policy.EscalationDue(n, o, now) || (known && prev.Name != "" && prev.DirectLeaders != nil) || looked >= maxLeaderLookups {
			continue
		}
		looked++
		var before *policy.Person
		if known {
			before = &prev
		}
		person, err := p.dir.person(ctx, o.UserID, before)
		if err != nil {
			return err
		}
		if person.DirectLeaders == nil {
			person.DirectLeaders = []string{} // asked: none
		}
		if err := p.st.PutPerson(ctx, *person); err != nil {
			return fmt.Errorf("store person: %w", err)
		}
		people[o.UserID] = *person
	}
	return nil
}

// loadPeople returns the stored records of ids, reading only theirs;
// those not known are left out (policy treats them as active, in the
// default language).
func (p *Processor) loadPeople(ctx context.Context, ids map[string]bool) (map[string]policy.Person, error) {
	people, err := p.st.GetPeople(ctx, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return nil, fmt.Errorf("get people: %w", err)
	}
	out := make(map[string]policy.Person, len(people))
	for _, person := range people {
		out[person.UserID] = person
	}
	return out, nil
}

// chunkActions splits the actions that name many people into actions of
// at most n people each, in place of the original and in its order.
func chunkActions(acts []policy.Action, n int) []policy.Action {
	out := make([]policy.Action, 0, len(acts))
	for _, a := range acts {
		b, ok := a.(policy.Batch)
		if !ok || len(b.People()) <= n {
			out = append(out, a)
			continue
		}
		for ids := range slices.Chunk(b.People(), n) {
			out = append(out, b.WithPeople(ids))
		}
	}
	return out
}

// updateObligations applies an in-place obligation action to the stored
// obligations it names.
func (p *Processor) updateObligations(ctx context.Context, a policy.ObligationUpdate) error {
	noticeID, version, users := a.Obligations()
	keys := make([]store.ObligationKey, len(users))
	for i, u := range users {
		keys[i] = store.ObligationKey{UserID: u, NoticeID: noticeID, Version: version}
	}
	return p.st.UpdateObligations(ctx, keys, func(o policy.Obligation) (policy.Obligation, error) {
		return a.Update(o), nil
	})
}

// sendReminder submits a reminder card: the same text for everyone it
// names, with the notice's button, under the run's key.
func (p *Processor) sendReminder(ctx context.Context, a policy.SendReminder) error {
	n := a.Notice
	_, err := p.notify.Submit(ctx, notify.Notice{Key: a.Key, Template: a.Template, Lang: a.Lang, Data: policy.NoticeData(p.cfg.Settings, n),
		To: a.UserIDs, ButtonKey: n.ButtonKey()})
	return err
}
