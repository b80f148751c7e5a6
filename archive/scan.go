package archive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/policy/rules"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// AlertSink raises the supervision alerts of scanned messages. Raising is
// idempotent on the alert's ID (store.AlertID): the puller raises the
// alerts of a page before it commits the page, so a crash between the two
// loses no hit, and the page pulled again raises nothing new.
type AlertSink interface {
	RaiseAlerts(ctx context.Context, alerts []store.Alert) error
}

// People looks up the senders of scanned messages, for the rules'
// department and tag scopes (store.People has it).
type People interface {
	GetPeople(ctx context.Context, userIDs []string) ([]policy.Person, error)
}

// Scanner scans decrypted messages with the supervision rules and raises
// an alert per hit.
type Scanner struct {
	// Rules returns the rule set in force (serve's, reloaded as the
	// file changes); nil, or a nil set, scans nothing.
	Rules func() *rules.Set
	Sink  AlertSink
	// People may be nil: then every sender has no departments or tags.
	People People
	// Clock may be nil (time.Now): when alerts are raised.
	Clock func() time.Time
}

// ScanItem is one message to scan: its stored form and its text.
type ScanItem struct {
	Message Message
	Text    string
}

// scannable reports whether a stored message is one to scan, if it has
// text: a sent message whose content is kept. The rescan asks before it
// opens the content, the pull after.
func scannable(m Message) bool {
	return m.Withheld == "" && m.Action == wecom.ActionSend
}

// ScanResult counts what one Scan did.
type ScanResult struct {
	Scanned int `json:"scanned"`
	Hits    int `json:"hits"`
}

// Scan scans items with the current rules and raises one alert per hit
// (per message and rule: the first match of a rule in a message is its
// span). It does nothing without rules.
func (s *Scanner) Scan(ctx context.Context, items []ScanItem) (ScanResult, error) {
	var res ScanResult
	if s == nil || s.Rules == nil || len(items) == 0 {
		return res, nil
	}
	set := s.Rules()
	if set == nil {
		return res, nil
	}
	if s.Sink == nil {
		return res, errors.New("archive: scanner has rules but no alert sink")
	}
	people, err := s.people(ctx, items)
	if err != nil {
		return res, err
	}
	now := clockNow(s.Clock).UTC()
	var alerts []store.Alert
	for _, it := range items {
		m := it.Message
		msg := rules.Message{Text: it.Text, MsgType: m.Type, Chat: rules.Internal, Direction: rules.Outbound}
		if m.External {
			msg.Chat = rules.External
		}
		if wecom.IsExternalID(m.From) {
			msg.Direction = rules.Inbound
		} else if p, ok := people[m.From]; ok {
			msg.Departments = p.DepartmentPath
			if len(msg.Departments) == 0 {
				msg.Departments = p.Departments
			}
			msg.Tags = p.Tags
		}
		res.Scanned++
		seen := map[string]bool{}
		for _, h := range set.Scan(msg) {
			if seen[h.RuleID] {
				continue
			}
			seen[h.RuleID] = true
			res.Hits++
			alerts = append(alerts, store.Alert{
				ID: store.AlertID(m.MsgID, h.RuleID, h.RuleVersion), RuleID: h.RuleID, RuleVersion: h.RuleVersion,
				Kind: string(h.Kind), Detector: string(h.Detector), Severity: string(h.Severity), Action: string(h.Action),
				MsgID: m.MsgID, ConversationID: m.Conversation, Sender: m.From, MsgTime: msgTime(m),
				Start: h.Start, End: h.End, State: store.AlertOpen, RaisedAt: now,
			})
		}
	}
	if len(alerts) == 0 {
		return res, nil
	}
	if err := s.Sink.RaiseAlerts(ctx, alerts); err != nil {
		return res, fmt.Errorf("archive: raise %d alerts: %w", len(alerts), err)
	}
	return res, nil
}

// msgTime is when m was sent, or stored if WeCom gave no time.
func msgTime(m Message) time.Time {
	if m.Time.Unix() > 0 {
		return m.Time
	}
	return m.StoredAt
}

// people reads the internal senders of items.
func (s *Scanner) people(ctx context.Context, items []ScanItem) (map[string]policy.Person, error) {
	out := map[string]policy.Person{}
	if s.People == nil {
		return out, nil
	}
	var ids []string
	for _, it := range items {
		if from := it.Message.From; from != "" && !wecom.IsExternalID(from) {
			ids = append(ids, from)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	ps, err := s.People.GetPeople(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("archive: read senders for rule scopes: %w", err)
	}
	for _, p := range ps {
		out[p.UserID] = p
	}
	return out, nil
}
