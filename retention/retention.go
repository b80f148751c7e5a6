// Package retention purges records past their retention, except those
// under a legal hold, and writes every purge to the audit log. It needs
// only the store: it runs whether or not WeCom credentials are set.
package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wecomply/wecomply/store"
)

// Store is what a purge needs of the store.
type Store interface {
	store.Holds
	store.Retention
	store.Audit
}

// Policy says how long each kind is kept.
type Policy struct {
	// Keep is the retention of each kind; a kind that is absent, or 0,
	// is kept forever.
	Keep map[store.RecordKind]time.Duration
	// BatchSize is how many records one store batch examines; default
	// store.DefaultPageLimit.
	BatchSize int
}

// Purger runs retention. Create it with New.
type Purger struct {
	st  Store
	p   Policy
	now func() time.Time
}

// New returns a Purger of st following p. now stamps the audit entries
// it writes (nil: time.Now): an entry is stamped when it is written, not
// with the run's activation, so the audit log reads in order.
func New(st Store, p Policy, now func() time.Time) *Purger {
	if now == nil {
		now = time.Now
	}
	return &Purger{st: st, p: p, now: now}
}

// Audit entry kinds written by a run.
const (
	// AuditPurgeStart is written once a run, before anything is deleted:
	// every kind's cutoff and the holds in force (RunData), so that a run
	// cut off midway (records deleted, no summary yet) is still on
	// record.
	AuditPurgeStart = "purge.start"
	// AuditPurge is written when a kind's purge that deleted records is
	// complete, with counts (PurgeData): one entry each.
	AuditPurge = "purge"
	// AuditNoop is written once a run, at its end, for every kind whose
	// purge deleted nothing (RunData, each kind with its held count): a
	// quiet day is two entries, not two a kind.
	AuditNoop = "retention.noop"
)

// PurgeData is the Data of a kind's AuditPurge entry, and one kind of a
// RunData. It names kinds, times, counts and hold ids: no personal
// content, no subjects (a hold's subject is in the audit entry of its
// creation).
type PurgeData struct {
	Kind          store.RecordKind `json:"kind"`
	ScheduledAt   time.Time        `json:"scheduled_at,omitzero"` // the run's activation (AuditPurge only)
	Cutoff        time.Time        `json:"cutoff"`
	RetentionDays int              `json:"retention_days"`
	Holds         []string         `json:"holds,omitempty"`  // ids of the holds in force (during the run, for AuditPurge)
	Purged        *int             `json:"purged,omitempty"` // records deleted (not in AuditPurgeStart)
	Held          *int             `json:"held,omitempty"`   // records past the cutoff kept for a hold
}

// RunData is the Data of a run's AuditPurgeStart and AuditNoop entries:
// the run's activation, the holds in force, and the kinds (all those with
// a retention at the start; those that deleted nothing in the no-op
// summary).
type RunData struct {
	ScheduledAt time.Time   `json:"scheduled_at"`
	Holds       []string    `json:"holds"`
	Kinds       []PurgeData `json:"kinds"`
}

// AuditID is the id of a purge's audit entry for one run (its activation
// time now) and kind. The id is the same when a run taken over by
// another replica runs again with the same now, so the audit log gets
// each entry once; a re-run's deletions are part of the same purge.
func AuditID(kind store.RecordKind, now time.Time, phase string) string {
	return "retention:" + string(kind) + ":" + now.UTC().Format(time.RFC3339Nano) + ":" + phase
}

// RunAuditID is the id of a run's AuditPurgeStart ("start") or AuditNoop
// ("noop") entry: like AuditID, the same for a run taken over.
func RunAuditID(now time.Time, phase string) string {
	return "retention:" + now.UTC().Format(time.RFC3339Nano) + ":" + phase
}

// Run purges every kind with a retention, for the activation at now: a
// record is purged when its retention time is before now minus its
// kind's retention, unless a hold in force at now names one of its
// subjects. Run is idempotent: run again with the same now it deletes
// what is left (nothing, if the first run completed) and appends no
// audit entry twice. Counts are "<kind>.purged" and "<kind>.held".
//
// The audit log gets, for one run: the AuditPurgeStart entry, an
// AuditPurge entry for each kind that deleted records, and one AuditNoop
// entry naming the kinds that deleted nothing (when any did not).
//
// A taken-over run's entries are written by whichever run gets there
// first: if an earlier run was cut off after deleting, its deletions are
// covered by the AuditPurgeStart entry (same cutoffs) and the counts are
// what the completing run deleted (a kind it found nothing left of is
// in the no-op summary).
func (p *Purger) Run(ctx context.Context, now time.Time) (map[string]int, error) {
	counts := map[string]int{}
	var kinds []store.RecordKind
	start := RunData{ScheduledAt: now.UTC()}
	for _, kind := range store.RecordKinds {
		if keep := p.p.Keep[kind]; keep > 0 {
			kinds = append(kinds, kind)
			start.Kinds = append(start.Kinds, cutoff(kind, now, keep))
		}
	}
	if len(kinds) == 0 {
		return counts, nil
	}
	ids := map[string]bool{}
	if _, err := p.holds(ctx, now, ids); err != nil {
		return counts, err
	}
	start.Holds = slices.Sorted(maps.Keys(ids))
	if err := p.audit(ctx, RunAuditID(now, "start"), AuditPurgeStart, "", start); err != nil {
		return counts, err
	}
	noop := RunData{ScheduledAt: now.UTC(), Holds: start.Holds}
	var errs []error
	for i, kind := range kinds {
		data, err := p.purgeKind(ctx, start.Kinds[i], now)
		counts[string(kind)+".purged"] = *data.Purged
		counts[string(kind)+".held"] = *data.Held
		if err != nil {
			if ctx.Err() != nil {
				return counts, err
			}
			errs = append(errs, err) // the other kinds are still purged
			continue
		}
		if *data.Purged == 0 {
			noop.Holds = mergeSorted(noop.Holds, data.Holds)
			data.Holds = nil
			noop.Kinds = append(noop.Kinds, data)
		}
	}
	if len(noop.Kinds) > 0 {
		if err := p.audit(ctx, RunAuditID(now, "noop"), AuditNoop, "", noop); err != nil {
			errs = append(errs, err)
		}
	}
	return counts, errors.Join(errs...)
}

// cutoff is kind's PurgeData before its purge: its cutoff for the
// activation at now and its retention.
func cutoff(kind store.RecordKind, now time.Time, keep time.Duration) PurgeData {
	return PurgeData{Kind: kind, Cutoff: now.Add(-keep).UTC(), RetentionDays: int(keep / (24 * time.Hour))}
}

// mergeSorted is the sorted union of a and b.
func mergeSorted(a, b []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(a), b...))))
}

// holds reads the holds in force at now: the set of held subjects, and
// adds their ids to ids.
func (p *Purger) holds(ctx context.Context, now time.Time, ids map[string]bool) (store.HoldSet, error) {
	hs, err := p.st.ListHolds(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: list holds: %w", err)
	}
	held := store.HoldSet{}
	for _, h := range hs {
		if h.Active(now) {
			held[h.Subject] = true
			ids[h.ID] = true
		}
	}
	return held, nil
}

// purgeKind purges one kind in batches and, when it deleted records,
// writes its AuditPurge entry. The holds are read again before every
// batch, so a hold placed while a long purge runs protects its subject
// from the next batch on, not only from the next run. The returned data
// has Purged and Held set, whatever the error.
func (p *Purger) purgeKind(ctx context.Context, data PurgeData, now time.Time) (PurgeData, error) {
	purged, kept := 0, 0
	data.Purged, data.Held = &purged, &kept
	ids := map[string]bool{}
	held, err := p.holds(ctx, now, ids)
	if err != nil {
		return data, err
	}
	b := store.PurgeBatch{Kind: data.Kind, Before: data.Cutoff, Limit: p.p.BatchSize, Held: held}
	for {
		res, err := p.st.Purge(ctx, b)
		if err != nil {
			return data, fmt.Errorf("retention: purge %s: %w", data.Kind, err)
		}
		purged += res.Purged
		kept += res.Held
		if res.Next == "" {
			break
		}
		b.Cursor = res.Next
		if b.Held, err = p.holds(ctx, now, ids); err != nil {
			return data, err
		}
	}
	data.Holds = slices.Sorted(maps.Keys(ids))
	if purged == 0 {
		return data, nil
	}
	data.ScheduledAt = now.UTC()
	if err := p.audit(ctx, AuditID(data.Kind, now, "done"), AuditPurge, string(data.Kind), data); err != nil {
		return data, err
	}
	data.ScheduledAt = time.Time{}
	return data, nil
}

// audit appends one entry, stamped with the clock's now.
func (p *Purger) audit(ctx context.Context, id, kind, subject string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("retention: audit %s: %w", id, err)
	}
	_, err = p.st.AppendAudit(ctx, store.AuditEntry{ID: id, At: p.now(), Kind: kind, Subject: subject, Data: raw})
	if err != nil {
		return fmt.Errorf("retention: audit %s: %w", id, err)
	}
	return nil
}
