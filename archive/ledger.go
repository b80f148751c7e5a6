package archive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// MainStore is what StoreLedger reads of wecomply's main store.
type MainStore interface {
	GetPerson(ctx context.Context, userID string) (policy.Person, error)
	GetConsent(ctx context.Context, userID, externalUserID string) (policy.Consent, error)
}

var _ MainStore = store.Store(nil)

// StoreLedger is the production Ledger: the permit list and the
// (employee, customer) consents of the main store (kept by policy from
// msg_audit_approved, check_single_agree, …), and the agree / disagree
// records the archive itself keeps as events. Of a stored consent and a
// stream record the later one wins (on a tie, disagreement). A group's
// consent comes only from the stream's records in that group (the main
// store keeps no check_room_agree answers): without one an external
// member's group messages are withheld.
type StoreLedger struct {
	Main    MainStore
	Archive Store
}

var _ Ledger = (*StoreLedger)(nil)

// Permitted implements Ledger: the person's InPermitList; an unknown
// person is not permitted.
func (l *StoreLedger) Permitted(ctx context.Context, userID string) (bool, error) {
	p, err := l.Main.GetPerson(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("archive: ledger: person %s: %w", userID, err)
	}
	return p.InPermitList, nil
}

type datedAnswer struct {
	ConsentAnswer
	at time.Time
}

// later returns the later of a and b (b on a tie if it disagrees).
func later(a, b datedAnswer) datedAnswer {
	switch {
	case !a.Known:
		return b
	case !b.Known:
		return a
	case b.at.After(a.at), b.at.Equal(a.at) && !b.Agreed:
		return b
	}
	return a
}

// Consent implements Ledger.
func (l *StoreLedger) Consent(ctx context.Context, userID, externalID string) (ConsentAnswer, error) {
	var best datedAnswer
	c, err := l.Main.GetConsent(ctx, userID, externalID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return ConsentAnswer{}, fmt.Errorf("archive: ledger: consent %s/%s: %w", userID, externalID, err)
	case c.Status == policy.ConsentAgreed || c.Status == policy.ConsentDisagreed:
		best = datedAnswer{ConsentAnswer{Known: true, Agreed: c.Status == policy.ConsentAgreed, Source: c.Source}, c.ChangedAt}
	}
	s, err := l.streamAnswer(ctx, Query{Customer: externalID}, func(m Message) bool {
		return m.RoomID == "" && (m.From == userID || slices.Contains(m.ToList, userID))
	})
	if err != nil {
		return ConsentAnswer{}, err
	}
	return later(best, s).ConsentAnswer, nil
}

// RoomConsent implements Ledger.
func (l *StoreLedger) RoomConsent(ctx context.Context, roomID, externalID string) (ConsentAnswer, error) {
	s, err := l.streamAnswer(ctx, Query{Room: roomID, Customer: externalID}, func(m Message) bool { return true })
	if err != nil {
		return ConsentAnswer{}, err
	}
	return s.ConsentAnswer, nil
}

// streamScan bounds how many of a customer's agree (or disagree) records
// streamAnswer reads to find the one of a conversation.
const streamScan = 100

// streamAnswer is the newest agree / disagree record q selects that ok
// accepts.
func (l *StoreLedger) streamAnswer(ctx context.Context, q Query, ok func(Message) bool) (datedAnswer, error) {
	var best datedAnswer
	for _, typ := range []string{"agree", "disagree"} {
		q.Type, q.Limit = typ, streamScan
		msgs, _, err := l.Archive.Search(ctx, q)
		if err != nil {
			return datedAnswer{}, fmt.Errorf("archive: ledger: %s records: %w", typ, err)
		}
		for _, m := range msgs { // newest first
			if ok(m) {
				best = later(best, datedAnswer{ConsentAnswer{Known: true, Agreed: typ == "agree", Source: SourceStream}, m.Time})
				break
			}
		}
	}
	return best, nil
}
