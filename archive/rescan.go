package archive

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AuditRescan is the audit action of a rescan: who re-read which range.
const AuditRescan = "archive.rescan"

// RescanResult counts what Rescan did.
type RescanResult struct {
	// Read: messages in the range; Scanned: those with text whose content
	// could be opened; Unreadable: those whose content could not;
	// Hits: alerts raised or found raised already (per message and rule
	// version: a rescan with unchanged rules raises nothing new).
	Read       int `json:"read"`
	Scanned    int `json:"scanned"`
	Unreadable int `json:"unreadable"`
	Hits       int `json:"hits"`
}

// Rescan re-reads the archived messages with msgtime in [from, to),
// oldest first, and scans each stored message with text with s (the
// rules in force now), a page at a time. Alerts are idempotent per
// (message, rule, rule version): rescanning after a rule changed raises
// the hits of its new version only. The read is audited as actor's.
func (a *Archive) Rescan(ctx context.Context, actor string, s *Scanner, from, to time.Time) (RescanResult, error) {
	var res RescanResult
	if a.Store == nil || a.Keys == nil {
		return res, errors.New("archive: Archive needs Store and Keys")
	}
	if s == nil || s.Rules == nil || s.Rules() == nil {
		return res, errors.New("archive: rescan needs rules ([rules] file)")
	}
	q := Query{From: from, To: to, Ascending: true, Limit: 500}
	for {
		msgs, next, err := a.Store.Search(ctx, q)
		if err != nil {
			return res, fmt.Errorf("archive: rescan: %w", err)
		}
		var items []ScanItem
		for _, m := range msgs {
			res.Read++
			if !scannable(m) {
				continue
			}
			r := a.open(ctx, m)
			switch {
			case r.Unreadable != "":
				res.Unreadable++
			case r.Text != "":
				items = append(items, ScanItem{Message: m, Text: r.Text})
			}
		}
		sr, err := s.Scan(ctx, items)
		res.Scanned += sr.Scanned
		res.Hits += sr.Hits
		if err != nil {
			return res, err
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	err := a.audit(ctx, AuditRecord{Actor: actor, Action: AuditRescan, Filters: SearchFilters{From: from, To: to}, Count: res.Scanned})
	return res, err
}
