package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/policy"
)

// AlertState is where an alert stands in review.
type AlertState string

// The alert states. An alert is raised open; an officer decides it
// (confirmed or false_positive); one left open too long is escalated,
// and an officer decides it from there.
const (
	AlertOpen          AlertState = "open"
	AlertConfirmed     AlertState = "confirmed"
	AlertFalsePositive AlertState = "false_positive"
	AlertEscalated     AlertState = "escalated"
)

// AlertStates are the states, in the order listings show them.
var AlertStates = []AlertState{AlertOpen, AlertEscalated, AlertConfirmed, AlertFalsePositive}

// Valid reports whether s is one of AlertStates.
func (s AlertState) Valid() bool {
	switch s {
	case AlertOpen, AlertConfirmed, AlertFalsePositive, AlertEscalated:
		return true
	}
	return false
}

// Closed reports whether s is a final decision.
func (s AlertState) Closed() bool { return s == AlertConfirmed || s == AlertFalsePositive }

// ErrAlertDecided: the alert was already decided otherwise (confirmed and
// now false_positive, or the reverse). A decision is final; deciding an
// alert again the same way is a no-op, not this error.
var ErrAlertDecided = errors.New("store: alert already decided")

// Alert is one hit of one supervision rule on one archived message. It
// names the message (MsgID, ConversationID, MsgTime) and the matched span
// as byte offsets into the message's text, never the text itself: chat
// content and personal data stay encrypted in the archive, which is read
// when the alert is shown.
type Alert struct {
	// ID is AlertID(MsgID, RuleID, RuleVersion): raising is idempotent.
	ID          string `json:"id"`
	RuleID      string `json:"rule_id"`
	RuleVersion string `json:"rule_version"`
	Kind        string `json:"kind"` // the rule's kind: lexicon, regex, pii
	Detector    string `json:"detector,omitempty"`
	Severity    string `json:"severity"`
	Action      string `json:"action"`

	MsgID          string    `json:"msgid"`
	ConversationID string    `json:"conversation_id"`
	Sender         string    `json:"sender"`
	MsgTime        time.Time `json:"msgtime"`
	// Start and End are byte offsets of the match in the message's text.
	Start int `json:"start"`
	End   int `json:"end"`

	State     AlertState `json:"state"`
	RaisedAt  time.Time  `json:"raised_at"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt time.Time  `json:"decided_at,omitzero"`
	Note      string     `json:"note,omitempty"`
	// EscalatedAt is when the alert was escalated, if it was.
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
}

// AlertID is the id of the alert of rule ruleID at ruleVersion on message
// msgID: the first 16 bytes of the SHA-256 of the three, length-prefixed,
// in hex.
func AlertID(msgID, ruleID, ruleVersion string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{msgID, ruleID, ruleVersion} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Alert field limits, checked by CheckAlert.
const (
	MaxAlertFieldLen = 256
	MaxAlertNoteLen  = 2048
)

// AlertError is an alert or decision that the store refuses; Field is
// the JSON member at fault.
type AlertError struct {
	Field   string
	Problem string
}

func (e *AlertError) Error() string { return "alert: " + e.Field + " " + e.Problem }

// CheckAlert checks what RaiseAlerts stores: the identifying fields
// non-empty UTF-8 within MaxAlertFieldLen, ID matching AlertID, a span
// with 0 <= Start <= End, state open, and RaisedAt and MsgTime set.
func CheckAlert(a Alert) error {
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"msgid", a.MsgID, true}, {"rule_id", a.RuleID, true}, {"rule_version", a.RuleVersion, true},
		{"severity", a.Severity, true}, {"action", a.Action, true}, {"kind", a.Kind, false},
		{"detector", a.Detector, false}, {"conversation_id", a.ConversationID, false}, {"sender", a.Sender, false},
	} {
		switch {
		case f.v == "" && f.required:
			return &AlertError{Field: f.name, Problem: "is required"}
		case len(f.v) > MaxAlertFieldLen:
			return &AlertError{Field: f.name, Problem: fmt.Sprintf("is longer than %d bytes", MaxAlertFieldLen)}
		case !utf8.ValidString(f.v):
			return &AlertError{Field: f.name, Problem: "is not UTF-8"}
		}
	}
	switch {
	case a.ID != AlertID(a.MsgID, a.RuleID, a.RuleVersion):
		return &AlertError{Field: "id", Problem: "is not AlertID(msgid, rule_id, rule_version)"}
	case a.Start < 0 || a.End < a.Start:
		return &AlertError{Field: "start", Problem: fmt.Sprintf("and end (%d, %d) are not a span", a.Start, a.End)}
	case a.State != AlertOpen:
		return &AlertError{Field: "state", Problem: "must be open when raised"}
	case a.RaisedAt.IsZero():
		return &AlertError{Field: "raised_at", Problem: "is required"}
	case a.MsgTime.IsZero():
		return &AlertError{Field: "msgtime", Problem: "is required"}
	}
	return nil
}

// AlertDecision moves an alert to State: confirmed or false_positive (an
// officer's decision) or escalated (the escalation run's).
type AlertDecision struct {
	ID    string
	State AlertState
	Actor string
	At    time.Time
	Note  string
}

// DecideAlertState applies d to a and returns the alert as it is to be
// stored, and whether anything changed. The rules, which every backend
// follows:
//
//   - open → confirmed, false_positive or escalated;
//   - escalated → confirmed or false_positive;
//   - an alert already in d.State stays as it is (changed false, no
//     error): a click retried by WeCom, or an escalation run that
//     overlapped another, is a no-op, and the first decision's who, when
//     and note stand;
//   - a closed alert asked for the other final state, or for escalated,
//     is ErrAlertDecided.
//
// An officer's decision needs an Actor; every decision needs a time.
func DecideAlertState(a Alert, d AlertDecision) (Alert, bool, error) {
	switch {
	case d.State != AlertConfirmed && d.State != AlertFalsePositive && d.State != AlertEscalated:
		return a, false, &AlertError{Field: "decision", Problem: fmt.Sprintf("is %q, not confirmed or false_positive", d.State)}
	case d.Actor == "" && d.State != AlertEscalated:
		return a, false, &AlertError{Field: "actor", Problem: "is required"}
	case len(d.Actor) > MaxAlertFieldLen || !utf8.ValidString(d.Actor):
		return a, false, &AlertError{Field: "actor", Problem: fmt.Sprintf("must be UTF-8 of at most %d bytes", MaxAlertFieldLen)}
	case len(d.Note) > MaxAlertNoteLen || !utf8.ValidString(d.Note):
		return a, false, &AlertError{Field: "note", Problem: fmt.Sprintf("must be UTF-8 of at most %d bytes", MaxAlertNoteLen)}
	case d.At.IsZero():
		return a, false, &AlertError{Field: "decided_at", Problem: "is required"}
	}
	if a.State == d.State {
		return a, false, nil
	}
	if a.State.Closed() {
		return a, false, fmt.Errorf("alert %s is %s, cannot become %s: %w", a.ID, a.State, d.State, ErrAlertDecided)
	}
	if d.State == AlertEscalated {
		a.State, a.EscalatedAt = AlertEscalated, d.At.UTC()
		return a, true, nil
	}
	a.State, a.DecidedBy, a.DecidedAt, a.Note = d.State, d.Actor, d.At.UTC(), d.Note
	return a, true, nil
}

// Alerts keeps the supervision alerts.
type Alerts interface {
	// RaiseAlerts stores each alert (checked with CheckAlert) whose ID is
	// not stored yet, atomically with its index, and returns those it
	// stored: raising the same hits again (a re-pull, a rescan) returns
	// none and changes nothing.
	RaiseAlerts(ctx context.Context, alerts []Alert) (raised []Alert, err error)
	// GetAlert returns one alert, or ErrNotFound.
	GetAlert(ctx context.Context, id string) (Alert, error)
	// ListAlerts returns the alerts in state, oldest RaisedAt first (ties
	// by ID), a page at a time; next is "" after the last page.
	// ErrInvalidCursor for a cursor it did not hand out.
	ListAlerts(ctx context.Context, state AlertState, p Page) (items []Alert, next string, err error)
	// DecideAlert applies d to the alert d.ID (DecideAlertState) atomically
	// and returns the alert as stored and whether it changed. ErrNotFound
	// if there is none; ErrAlertDecided if it was decided otherwise; an
	// *AlertError for a bad decision.
	DecideAlert(ctx context.Context, d AlertDecision) (a Alert, changed bool, err error)
}

// AlertAuditKind is the audit log kind of every alert state change.
const AlertAuditKind = "alert"

// alertAudit is the audit entry's data: ids and the state, never content.
type alertAudit struct {
	State       AlertState `json:"state"`
	Actor       string     `json:"actor,omitempty"`
	RuleID      string     `json:"rule_id"`
	RuleVersion string     `json:"rule_version"`
	MsgID       string     `json:"msgid"`
	Severity    string     `json:"severity"`
}

// AuditAlert appends a's current state to the audit log with who and
// when: one entry per (alert, state), so that a caller that crashed
// between the store's change and the audit and runs again (raising and
// deciding are idempotent) appends the entry it owes and never two.
func AuditAlert(ctx context.Context, log Audit, a Alert, actor string, at time.Time) error {
	data, err := json.Marshal(alertAudit{State: a.State, Actor: actor, RuleID: a.RuleID,
		RuleVersion: a.RuleVersion, MsgID: a.MsgID, Severity: a.Severity})
	if err != nil {
		return err
	}
	_, err = log.AppendAudit(ctx, AuditEntry{
		ID: "alert:" + a.ID + ":" + string(a.State), At: at, Kind: AlertAuditKind, Subject: a.ID, Data: data,
	})
	if err != nil {
		return fmt.Errorf("audit alert %s: %w", a.ID, err)
	}
	return nil
}

// AlertStore is what RaiseAudited and DecideAudited need.
type AlertStore interface {
	Alerts
	Audit
}

// RaiseAudited raises alerts and audits each alert raised (its raise
// time, actor "wecomply").
func RaiseAudited(ctx context.Context, s AlertStore, alerts []Alert) ([]Alert, error) {
	raised, err := s.RaiseAlerts(ctx, alerts)
	if err != nil {
		return nil, err
	}
	for _, a := range raised {
		if err := AuditAlert(ctx, s, a, "wecomply", a.RaisedAt); err != nil {
			return raised, err
		}
	}
	return raised, nil
}

// DecideAudited decides an alert and audits the change. A decision that
// changes nothing (the same decision again) is audited too, idempotently,
// in case the first call stopped between the two.
func DecideAudited(ctx context.Context, s AlertStore, d AlertDecision) (Alert, bool, error) {
	a, changed, err := s.DecideAlert(ctx, d)
	if err != nil {
		return a, false, err
	}
	actor, at := a.DecidedBy, a.DecidedAt
	if a.State == AlertEscalated {
		actor, at = cmp.Or(d.Actor, "wecomply"), a.EscalatedAt
	}
	if err := AuditAlert(ctx, s, a, actor, at); err != nil {
		return a, changed, err
	}
	return a, changed, nil
}

// CountOpenAlerts reads every open and escalated alert and counts them
// at now, as the digest shows them.
func CountOpenAlerts(ctx context.Context, s Alerts, now time.Time) (policy.DigestAlerts, error) {
	c := policy.DigestAlerts{BySeverity: map[string]int{}}
	for _, state := range []AlertState{AlertOpen, AlertEscalated} {
		err := EachAlert(ctx, s, state, func(a Alert) bool {
			if state == AlertOpen {
				c.Open++
			} else {
				c.Escalated++
			}
			c.BySeverity[a.Severity]++
			age, i := now.Sub(a.RaisedAt), 0
			for i < len(policy.DigestAlertAges) && age >= policy.DigestAlertAges[i] {
				i++
			}
			c.Ages[i]++
			return true
		})
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// OverdueAlerts returns the open alerts raised before before, oldest
// first, at most limit.
func OverdueAlerts(ctx context.Context, s Alerts, before time.Time, limit int) ([]Alert, error) {
	var out []Alert
	err := EachAlert(ctx, s, AlertOpen, func(a Alert) bool {
		if !a.RaisedAt.Before(before) || len(out) >= limit {
			return false
		}
		out = append(out, a)
		return true
	})
	return out, err
}

// EachAlert calls fn with every alert in state, oldest first, until fn
// returns false.
func EachAlert(ctx context.Context, s Alerts, state AlertState, fn func(Alert) bool) error {
	err := Each(ctx, 1000, func(ctx context.Context, p Page) ([]Alert, string, error) {
		return s.ListAlerts(ctx, state, p)
	}, func(a Alert) error {
		if !fn(a) {
			return errStopEach
		}
		return nil
	})
	if errors.Is(err, errStopEach) {
		return nil
	}
	return err
}

// errStopEach ends an Each early without an error to report.
var errStopEach = errors.New("store: stop")

// AlertIndexKey is an alert's place in its state's listing: RaisedAt in
// Unix milliseconds, 16 hex digits, "|", the ID. Both backends order by
// it.
func AlertIndexKey(a Alert) string {
	return fmt.Sprintf("%016x|%s", uint64(a.RaisedAt.UnixMilli()), a.ID)
}

// AlertCursor encodes the index key of a listing's last item.
func AlertCursor(state AlertState, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(state) + "/" + key))
}

// ParseAlertCursor returns the index key a cursor of state's listing
// holds ("" for none), or ErrInvalidCursor.
func ParseAlertCursor(state AlertState, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	prefix := string(state) + "/"
	if err != nil || len(raw) < len(prefix)+18 || string(raw[:len(prefix)]) != prefix {
		return "", ErrInvalidCursor
	}
	key := string(raw[len(prefix):])
	if _, err := strconv.ParseUint(key[:16], 16, 64); err != nil || key[16] != '|' {
		return "", ErrInvalidCursor
	}
	return key, nil
}
