package archive

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/wecomply/wecomply/wecom"
)

// What is kept. Internal conversations are kept when an internal party
// is on the permit list; a conversation with an external party only while
// the consent ledger says every external party agreed; otherwise only the
// facts (who, when, type) are kept, with the reason in Message.Withheld.
// Switch records and agree/disagree records are kept as events.

// Consent answers recorded in Message.Consent.
const (
	ConsentInternal = "internal" // no external party: the permit list decided
	ConsentUnknown  = "unknown"  // no answer is known
	ConsentEvent    = "event"    // a switch record
	// An external party's answer is "agreed:<source>" or
	// "disagreed:<source>" (ConsentAnswer.String), e.g.
	// "agreed:msg_audit_approved", "disagreed:stream".
)

// SourceStream is the source of an answer read from an agree / disagree
// record of the archive stream itself.
const SourceStream = "stream"

// ConsentAnswer is what the ledger knows about one external party's
// consent to archiving in one conversation.
type ConsentAnswer struct {
	// Known is false when there is no answer (then Agreed is false).
	Known  bool
	Agreed bool
	// Source names where the answer comes from: msg_audit_approved,
	// check_single_agree, check_room_agree, stream, …
	Source string
}

// String is the answer as Message.Consent records it: "unknown",
// "agreed:<source>" or "disagreed:<source>".
func (a ConsentAnswer) String() string {
	switch {
	case !a.Known:
		return ConsentUnknown
	case a.Agreed:
		return "agreed:" + a.Source
	default:
		return "disagreed:" + a.Source
	}
}

// Ledger is what the keep decision asks. Implementations read the
// permit list and the consent ledger (StoreLedger reads the main store
// and the archive's own agree / disagree records); the puller overlays
// the agree / disagree records of the batch it is deciding.
type Ledger interface {
	// Permitted reports whether the internal user is on the archive
	// permit list.
	Permitted(ctx context.Context, userID string) (bool, error)
	// Consent is the answer of externalID for the 1:1 chat with userID.
	Consent(ctx context.Context, userID, externalID string) (ConsentAnswer, error)
	// RoomConsent is the answer of externalID for the group roomID.
	RoomConsent(ctx context.Context, roomID, externalID string) (ConsentAnswer, error)
}

// Decision is what is kept of one message.
type Decision struct {
	// Withheld is "" when the content is kept, else WithheldNoConsent or
	// WithheldNotPermitted.
	Withheld string
	// Consent is the answer the decision used (Message.Consent).
	Consent string
}

// decider decides for one batch: it remembers the ledger's answers
// (a group's tolist names the same people message after message) and the
// agree / disagree records of the batch so far, which take precedence
// over the ledger for later messages of the batch.
type decider struct {
	ledger    Ledger
	permitted map[string]bool
	answers   map[consentKey]ConsentAnswer
	stream    map[consentKey]ConsentAnswer
}

// consentKey names one external party in one conversation: (room, ext)
// for a group, ("", user, ext) for a 1:1 chat.
type consentKey struct{ room, user, ext string }

func newDecider(l Ledger) *decider {
	return &decider{
		ledger:    l,
		permitted: map[string]bool{},
		answers:   map[consentKey]ConsentAnswer{},
		stream:    map[consentKey]ConsentAnswer{},
	}
}

// isRobot reports whether id is a robot's (wb…, path/91774): a robot is
// not a person and is never asked for consent.
func isRobot(id string) bool { return strings.HasPrefix(id, "wb") }

// parties splits a message's parties into internal and external ids
// (external: wo…/wm…, case-sensitive; robots, wb…, are neither), each
// once, sender first.
func parties(m wecom.ChatMessage) (internal, external []string) {
	seen := map[string]bool{}
	for _, id := range append([]string{m.From}, m.ToList...) {
		if id == "" || seen[id] || isRobot(id) {
			continue
		}
		seen[id] = true
		if wecom.IsExternalID(id) {
			external = append(external, id)
		} else {
			internal = append(internal, id)
		}
	}
	return internal, external
}

// observe records an agree / disagree record of the stream for the
// messages after it.
func (d *decider) observe(m wecom.ChatMessage) {
	if m.Agree == nil || m.Agree.UserID == "" {
		return
	}
	a := ConsentAnswer{Known: true, Agreed: m.Agree.Agreed, Source: SourceStream}
	if m.RoomID != "" {
		d.stream[consentKey{room: m.RoomID, ext: m.Agree.UserID}] = a
		return
	}
	for _, id := range append([]string{m.From}, m.ToList...) {
		if id != "" && id != m.Agree.UserID && !wecom.IsExternalID(id) {
			d.stream[consentKey{user: id, ext: m.Agree.UserID}] = a
		}
	}
}

// decide returns what is kept of m.
func (d *decider) decide(ctx context.Context, m wecom.ChatMessage) (Decision, error) {
	switch {
	case m.Action == wecom.ActionSwitch:
		return Decision{Consent: ConsentEvent}, nil
	case m.Agree != nil:
		// The consent record itself is the evidence: kept as an event.
		d.observe(m)
		return Decision{Consent: ConsentAnswer{Known: true, Agreed: m.Agree.Agreed, Source: SourceStream}.String()}, nil
	}
	internal, external := parties(m)
	if len(external) == 0 && (!m.External() || hasRobot(m)) {
		for _, u := range internal {
			ok, err := d.isPermitted(ctx, u)
			if err != nil {
				return Decision{}, err
			}
			if ok {
				return Decision{Consent: ConsentInternal}, nil
			}
		}
		return Decision{Withheld: WithheldNotPermitted, Consent: ConsentInternal}, nil
	}
	if len(external) == 0 || (m.RoomID == "" && len(internal) == 0) {
		// External by its msgid (another corp) with no id we can ask
		// about, or two external parties: no answer to go by.
		return Decision{Withheld: WithheldNoConsent, Consent: ConsentUnknown}, nil
	}
	var used ConsentAnswer
	for _, ext := range external {
		a, err := d.answer(ctx, m, internal, ext)
		if err != nil {
			return Decision{}, err
		}
		if !a.Agreed {
			return Decision{Withheld: WithheldNoConsent, Consent: a.String()}, nil
		}
		if used.Source == "" {
			used = a
		}
	}
	return Decision{Consent: used.String()}, nil
}

// hasRobot reports whether a robot takes part in m (which makes its msgid
// _external without any person outside).
func hasRobot(m wecom.ChatMessage) bool {
	return isRobot(m.From) || slices.ContainsFunc(m.ToList, isRobot)
}

func (d *decider) isPermitted(ctx context.Context, user string) (bool, error) {
	if ok, seen := d.permitted[user]; seen {
		return ok, nil
	}
	ok, err := d.ledger.Permitted(ctx, user)
	if err != nil {
		return false, fmt.Errorf("archive: permit list, user %s: %w", user, err)
	}
	d.permitted[user] = ok
	return ok, nil
}

// answer is ext's consent for m's conversation: a record of this batch
// first, then the ledger. In a 1:1 chat the internal party is the one
// the consent pairs ext with.
func (d *decider) answer(ctx context.Context, m wecom.ChatMessage, internal []string, ext string) (ConsentAnswer, error) {
	key := consentKey{room: m.RoomID, ext: ext}
	if m.RoomID == "" {
		key.user = internal[0]
	}
	if a, ok := d.stream[key]; ok {
		return a, nil
	}
	if a, ok := d.answers[key]; ok {
		return a, nil
	}
	var a ConsentAnswer
	var err error
	if m.RoomID != "" {
		a, err = d.ledger.RoomConsent(ctx, m.RoomID, ext)
	} else {
		a, err = d.ledger.Consent(ctx, key.user, ext)
	}
	if err != nil {
		return ConsentAnswer{}, fmt.Errorf("archive: consent of %s: %w", ext, err)
	}
	d.answers[key] = a
	return a, nil
}
