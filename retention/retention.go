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
	st Store
	p  Policy
}

// New returns a Purger of st following p.
func New(st Store, p Policy) *Purger {
	return &Purger{st: st, p: p}
}

// Audit entry kinds written by a purge.
const (
	// AuditPurgeStart is written before a kind is purged: the cutoff and
	// the holds in force, so that a run cut off midway (records deleted,
	// no summary yet) is still on record.
	AuditPurgeStart = "purge.start"
	// AuditPurge is written when a kind's purge is complete, with counts.
	AuditPurge = "purge"
)

// PurgeData is the Data of a purge's audit entries. It names kinds,
// times, counts and hold ids: no personal content, no subjects (a hold's
// subject is in the audit entry of its creation).
type PurgeData struct {
	Kind          store.RecordKind `json:"kind"`
	Cutoff        time.Time        `json:"cutoff"`
	RetentionDays int              `json:"retention_days"`
	Holds         []string         `json:"holds"`            // ids of the holds in force (during the run, for AuditPurge)
	Purged        *int             `json:"purged,omitempty"` // records deleted (AuditPurge only)
	Held          *int             `json:"held,omitempty"`   // records past the cutoff kept for a hold
}

// AuditID is the id of a purge's audit entry for one run (its activation
// time now) and kind. The id is the same when a run taken over by
// another replica runs again with the same now, so the audit log gets
// each entry once; a re-run's deletions are part of the same purge.
func AuditID(kind store.RecordKind, now time.Time, phase string) string {
	return "retention:" + string(kind) + ":" + now.UTC().Format(time.RFC3339Nano) + ":" + phase
}

// Run purges every kind with a retention, for the activation at now: a
// record is purged when its retention time is before now minus its
// kind's retention, unless a hold in force at now names one of its
// subjects. Run is idempotent: run again with the same now it deletes
// what is left (nothing, if the first run completed) and appends no
// audit entry twice. Counts are "<kind>.purged" and "<kind>.held".
//
// A taken-over run's AuditPurge entry is written by whichever run
// completes first: if an earlier run was cut off after deleting, its
// deletions are covered by the AuditPurgeStart entry (same cutoff, same
// holds) and the counts are what the completing run deleted.
func (p *Purger) Run(ctx context.Context, now time.Time) (map[string]int, error) {
	counts := map[string]int{}
	var errs []error
	for _, kind := range store.RecordKinds {
		keep := p.p.Keep[kind]
		if keep <= 0 {
			continue
		}
		purged, kept, err := p.purgeKind(ctx, kind, now, keep)
		counts[string(kind)+".purged"] = purged
		counts[string(kind)+".held"] = kept
		if err != nil {
			if ctx.Err() != nil {
				return counts, err
			}
			errs = append(errs, err) // the other kinds are still purged
		}
	}
	return counts, errors.Join(errs...)
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

// purgeKind purges one kind in batches. The holds are read again before
// every batch, so a hold placed while a long purge runs protects its
// subject from the next batch on, not only from the next run.
func (p *Purger) purgeKind(ctx context.Context, kind store.RecordKind, now time.Time, keep time.Duration) (purged, kept int, err error) {
	ids := map[string]bool{}
	held, err := p.holds(ctx, now, ids)
	if err != nil {
		return 0, 0, err
	}
	data := PurgeData{
		Kind:          kind,
		Cutoff:        now.Add(-keep).UTC(),
		RetentionDays: int(keep / (24 * time.Hour)),
		Holds:         slices.Sorted(maps.Keys(ids)),
	}
	if err := p.audit(ctx, AuditID(kind, now, "start"), AuditPurgeStart, now, data); err != nil {
		return 0, 0, err
	}
	b := store.PurgeBatch{Kind: kind, Before: data.Cutoff, Limit: p.p.BatchSize, Held: held}
	for {
		res, err := p.st.Purge(ctx, b)
		if err != nil {
			return purged, kept, fmt.Errorf("retention: purge %s: %w", kind, err)
		}
		purged += res.Purged
		kept += res.Held
		if res.Next == "" {
			break
		}
		b.Cursor = res.Next
		if b.Held, err = p.holds(ctx, now, ids); err != nil {
			return purged, kept, err
		}
	}
	data.Holds = slices.Sorted(maps.Keys(ids))
	data.Purged, data.Held = &purged, &kept
	if err := p.audit(ctx, AuditID(kind, now, "done"), AuditPurge, now, data); err != nil {
		return purged, kept, err
	}
	return purged, kept, nil
}

func (p *Purger) audit(ctx context.Context, id, kind string, now time.Time, data PurgeData) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("retention: audit %s: %w", id, err)
	}
	_, err = p.st.AppendAudit(ctx, store.AuditEntry{ID: id, At: now, Kind: kind, Subject: string(data.Kind), Data: raw})
	if err != nil {
		return fmt.Errorf("retention: audit %s: %w", id, err)
	}
	return nil
}
