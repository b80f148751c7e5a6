package archive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
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
	// Permits, when set, is WeCom's own permit list, the authority on who
	// is archived: the main store learns it only when the directory is
	// reconciled, so a fresh deployment would otherwise withhold every
	// internal message until then — for good, since withheld content is
	// never stored.
	Permits *PermitList
	// Rooms, when set, asks WeCom (check_room_agree) for a group's
	// answers, beside the group's agree / disagree records in the stream.
	Rooms *RoomAgreements
}

var _ Ledger = (*StoreLedger)(nil)

// Permitted implements Ledger: WeCom's permit list when Permits is set,
// else the person's InPermitList (an unknown person is not permitted).
func (l *StoreLedger) Permitted(ctx context.Context, userID string) (bool, error) {
	if l.Permits != nil {
		return l.Permits.Has(ctx, userID)
	}
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
	if l.Rooms != nil {
		r, err := l.Rooms.answer(ctx, roomID, externalID)
		if err != nil {
			return ConsentAnswer{}, err
		}
		s = later(s, r)
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

// PermitList is WeCom's archive permit list (msgaudit/get_permit_user_list),
// fetched at most once per TTL. A failed fetch is an error, never "not
// permitted": the puller then stores nothing of the page and tries again,
// rather than withhold content on a guess.
type PermitList struct {
	// Fetch returns every member on the list (wecom.Client.PermitUsers).
	Fetch func(ctx context.Context) ([]string, error)
	// TTL is how long a fetched list is used (DefaultPermitTTL if 0).
	TTL time.Duration
	// Clock may be nil (time.Now).
	Clock func() time.Time

	mu      sync.Mutex
	members map[string]bool
	fetched time.Time
}

// DefaultPermitTTL is how long a fetched permit list is used.
const DefaultPermitTTL = 10 * time.Minute

// stale reports whether an answer fetched at fetched is no longer used
// at now: ttl (DefaultPermitTTL if ≤ 0) has passed, or the clock went
// back before it.
func stale(fetched, now time.Time, ttl time.Duration) bool {
	if ttl <= 0 {
		ttl = DefaultPermitTTL
	}
	return now.Sub(fetched) >= ttl || now.Before(fetched)
}

// Has reports whether userID is on the list.
func (p *PermitList) Has(ctx context.Context, userID string) (bool, error) {
	now := clockNow(p.Clock)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.members == nil || stale(p.fetched, now, p.TTL) {
		ids, err := p.Fetch(ctx)
		if err != nil {
			return false, fmt.Errorf("archive: permit list: %w", err)
		}
		p.members = make(map[string]bool, len(ids))
		for _, id := range ids {
			p.members[id] = true
		}
		p.fetched = now
	}
	return p.members[userID], nil
}

// SourceCheckRoomAgree names answers from msgaudit/check_room_agree.
const SourceCheckRoomAgree = "check_room_agree"

// RoomAgreements are WeCom's answers for groups (msgaudit/check_room_agree,
// 1,500 calls a minute), fetched once per room per TTL. A transport
// failure is an error (the puller stores nothing of the page and tries
// again); an answer of WeCom's that refuses the room (an errcode) counts as
// no answer — its messages are withheld, not stalled.
type RoomAgreements struct {
	Fetch func(ctx context.Context, roomID string) ([]wecom.AgreeInfo, error)
	// TTL is how long a room's answers are used (DefaultPermitTTL if 0).
	TTL time.Duration
	// Clock may be nil (time.Now).
	Clock func() time.Time

	mu    sync.Mutex
	rooms map[string]roomAnswers
}

type roomAnswers struct {
	fetched time.Time
	by      map[string]wecom.AgreeInfo // external id → answer
}

// maxRooms bounds the rooms RoomAgreements remembers.
const maxRooms = 10_000

func (r *RoomAgreements) answer(ctx context.Context, roomID, externalID string) (datedAnswer, error) {
	now := clockNow(r.Clock)
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.rooms[roomID]
	if !ok || stale(a.fetched, now, r.TTL) {
		infos, err := r.Fetch(ctx, roomID)
		var apiErr *wecom.APIError
		switch {
		case errors.As(err, &apiErr):
			infos = nil
		case err != nil:
			return datedAnswer{}, fmt.Errorf("archive: check_room_agree %s: %w", roomID, err)
		}
		a = roomAnswers{fetched: now, by: make(map[string]wecom.AgreeInfo, len(infos))}
		for _, in := range infos {
			a.by[in.ExternalOpenID] = in
		}
		if r.rooms == nil || len(r.rooms) >= maxRooms {
			r.rooms = map[string]roomAnswers{}
		}
		r.rooms[roomID] = a
	}
	in, ok := a.by[externalID]
	if !ok || (in.Status != wecom.AgreeStatusAgree && in.Status != wecom.AgreeStatusDisagree) {
		return datedAnswer{}, nil
	}
	return datedAnswer{ConsentAnswer{Known: true, Agreed: in.Status == wecom.AgreeStatusAgree, Source: SourceCheckRoomAgree}, in.ChangedAt}, nil
}
