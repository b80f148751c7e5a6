package processor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/policy/rules"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// Supervision alerts: the archive's scanner raises them through
// RaiseAlerts (archive.AlertSink); an alert of action "alert" sends the
// compliance officers a review card whose buttons (确认违规 / 误报) decide
// it in WeCom itself; "notify_sender" tells the sender; "digest_only" is
// only counted by the digest. EscalateAlerts escalates those left open.

// AlertKeyPrefix starts the button key of an alert's review card:
// "alert:" and the alert's ID; a click's EventKey adds ":" and the
// decision (notify.ReviewKey).
const AlertKeyPrefix = "alert:"

// AlertNoticeKey is the notify key of an alert's review card (and of its
// button).
func AlertNoticeKey(id string) string { return AlertKeyPrefix + id }

// AlertConfig is the processor's share of [rules].
type AlertConfig struct {
	// Rules returns the rule set in force, for a rule's description in
	// cards; nil: cards name the rule by its id.
	Rules func() *rules.Set
	// EscalateAfter is how long an alert may stay open before
	// EscalateAlerts escalates it (0: never).
	EscalateAfter time.Duration
	// ConsoleURL, when set, is linked from the card: the alert's id is
	// appended ("…/alerts/ID").
	ConsoleURL string
}

// RaiseAlerts raises alerts (store.RaiseAudited) and acts on each that is
// new, or was raised before and is still open (a page pulled again after
// a crash between raising and acting): a review card to the officers, or
// a notice to the sender. Both are notify notices keyed by the alert, so
// that acting twice sends nothing twice.
func (p *Processor) RaiseAlerts(ctx context.Context, alerts []store.Alert) error {
	raised, err := store.RaiseAudited(ctx, p.st, alerts)
	if err != nil {
		return err
	}
	fresh := make(map[string]bool, len(raised))
	for _, a := range raised {
		fresh[a.ID] = true
		p.m.alerts.WithLabelValues(a.Severity).Inc()
	}
	for _, a := range alerts {
		if a.Action != string(rules.Alert) && a.Action != string(rules.NotifySender) {
			continue
		}
		if !fresh[a.ID] {
			cur, err := p.st.GetAlert(ctx, a.ID)
			if err != nil {
				return fmt.Errorf("alert %s: %w", a.ID, err)
			}
			if cur.State != store.AlertOpen {
				continue
			}
			a = cur
		}
		if err := p.actOnAlert(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func (p *Processor) actOnAlert(ctx context.Context, a store.Alert) error {
	s := p.cfg.Settings
	at := a.MsgTime.In(s.Location).Format("2006-01-02 15:04")
	desc := ""
	if p.cfg.Alerts.Rules != nil {
		if set := p.cfg.Alerts.Rules(); set != nil {
			if r, ok := set.Rule(a.RuleID); ok {
				desc = r.Description
			}
		}
	}
	switch rules.Action(a.Action) {
	case rules.NotifySender:
		if a.Sender == "" || wecom.IsExternalID(a.Sender) {
			return nil // a customer is not ours to tell
		}
		person, err := storedPerson(ctx, p.st, a.Sender)
		if err != nil {
			return err
		}
		_, err = p.notify.Submit(ctx, notify.Notice{Key: "alert-sender:" + a.ID, Template: "alert_sender",
			Lang: policy.MessageLang(person, s), Data: map[string]any{"Rule": a.RuleID, "Description": desc, "At": at},
			To: []string{a.Sender}, Uncounted: true})
		return err
	case rules.Alert:
		officers := slices.Compact(slices.Sorted(slices.Values(s.Officers)))
		if len(officers) == 0 {
			p.log.WarnContext(ctx, "supervision alert raised but no compliance officers are configured ([policy] officers)", "alert", a.ID)
			return nil
		}
		sender := a.Sender
		if person, err := storedPerson(ctx, p.st, a.Sender); err != nil {
			return err
		} else if person != nil && person.Name != "" {
			sender = person.Name + "（" + a.Sender + "）"
		}
		url := ""
		if base := p.cfg.Alerts.ConsoleURL; base != "" {
			url = strings.TrimSuffix(base, "/") + "/alerts/" + a.ID
		}
		_, err := p.notify.Submit(ctx, notify.Notice{Key: AlertNoticeKey(a.ID), Template: "alert_review",
			Lang: policy.MessageLang(nil, s), ButtonKey: AlertNoticeKey(a.ID), To: officers,
			Data: map[string]any{"Company": s.Company, "Rule": a.RuleID, "Description": desc, "Severity": a.Severity,
				"Sender": sender, "Conversation": a.ConversationID, "At": at, "ID": a.ID, "URL": url}})
		var invalid *notify.InvalidError
		if errors.As(err, &invalid) {
			p.log.ErrorContext(ctx, "alert card not sent: the template is wrong", "alert", a.ID, "err", err)
			return nil // retrying cannot fix a template
		}
		return err
	}
	return nil
}

// parseAlertClick splits a review card's EventKey into the alert's ID
// and the decision.
func parseAlertClick(key string) (id string, state store.AlertState, ok bool) {
	rest, ok := strings.CutPrefix(key, AlertKeyPrefix)
	if !ok {
		return "", "", false
	}
	id, decision, ok := strings.Cut(rest, ":")
	state = store.AlertState(decision)
	if !ok || id == "" || (state != store.AlertConfirmed && state != store.AlertFalsePositive) {
		return "", "", false
	}
	return id, state, true
}

// alertClick decides an alert from a click on its review card, by the
// officer who clicked, at the time the click was accepted, and greys the
// card's buttons out with the decision and who made it. A click on an
// alert decided already (by another officer, on their card) changes
// nothing and shows that decision. A click by someone who is not an
// officer decides nothing.
func (p *Processor) alertClick(ctx context.Context, d store.Delivery, c *wecom.TemplateCardEvent) error {
	user := c.FromUserName
	log := p.log.With("event", d.DedupKey, "user", user, "key", c.EventKey)
	id, state, ok := parseAlertClick(c.EventKey)
	if !ok {
		log.WarnContext(ctx, "alert card click with a key that names no decision")
		return nil
	}
	if !slices.Contains(p.cfg.Settings.Officers, user) {
		log.WarnContext(ctx, "alert card clicked by someone who is not a compliance officer; nothing decided")
		return nil
	}
	a, _, err := store.DecideAudited(ctx, p.st, store.AlertDecision{ID: id, State: state, Actor: user, At: p.decisionTime(d)})
	var ae *store.AlertError
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.WarnContext(ctx, "alert card clicked for an alert that does not exist (purged?)")
		return nil
	case errors.Is(err, store.ErrAlertDecided):
		if a, err = p.st.GetAlert(ctx, id); err != nil {
			return err
		}
	case errors.As(err, &ae):
		log.WarnContext(ctx, "alert card click refused", "err", err)
		return nil
	case err != nil:
		return err
	}
	clicker, err := storedPerson(ctx, p.st, user)
	if err != nil {
		return err
	}
	return p.notify.UpdateCard(ctx, notify.CardUpdate{Key: d.DedupKey + ":" + user, UserID: user,
		ResponseCode: c.ResponseCode, ReplaceName: alertDecidedText(policy.MessageLang(clicker, p.cfg.Settings), a.State, p.displayName(ctx, a.DecidedBy))})
}

// displayName is a member's name for a card: as stored, else as WeCom
// has it, else their UserID (a name only makes the text friendlier; no
// failure to find it matters).
func (p *Processor) displayName(ctx context.Context, userID string) string {
	if person, err := storedPerson(ctx, p.st, userID); err == nil && person != nil && person.Name != "" {
		return person.Name
	}
	if person, err := p.dir.person(ctx, userID, nil); err == nil && person.Name != "" {
		return person.Name
	}
	return userID
}

// alertDecidedText is a decided review card's greyed-out button:
// 「已确认违规 · 王芳」 or 「误报 · 王芳」.
func alertDecidedText(lang string, state store.AlertState, name string) string {
	word := map[store.AlertState][2]string{
		store.AlertConfirmed:     {"已确认违规", "Confirmed violation"},
		store.AlertFalsePositive: {"误报", "False positive"},
	}[state]
	if word[0] == "" {
		return string(state)
	}
	if lang == "en" {
		return word[1] + " · " + name
	}
	return word[0] + " · " + name
}

// EscalateAlerts escalates every alert open longer than
// Alerts.EscalateAfter at now (store.DecideAudited, state escalated,
// at most 1,000 a run) and tells the officers' direct leaders and the
// notices' compliance owners (as overdue acknowledgements are escalated),
// one markdown message listing them (the first 20, and the count). It
// returns how many it escalated.
//
// now, the run's scheduled time, only sets the overdue cutoff; the
// escalations (and their audit entries) are dated by the clock: a run
// that catches up a missed activation at start-up would otherwise append
// audit entries dated before entries already in the chain.
func (p *Processor) EscalateAlerts(ctx context.Context, now time.Time) (map[string]int, error) {
	after := p.cfg.Alerts.EscalateAfter
	if after <= 0 {
		return map[string]int{"escalated": 0}, nil
	}
	overdue, err := store.OverdueAlerts(ctx, p.st, now.Add(-after), 1000)
	if err != nil {
		return nil, fmt.Errorf("escalate alerts: %w", err)
	}
	if len(overdue) == 0 {
		return map[string]int{"escalated": 0}, nil
	}
	// The leaders and owners are told first, the alerts escalated second:
	// a run cut off in between finds the same alerts open next time and
	// sends the same message under the same key (a no-op) before it
	// escalates them, so nobody escalated goes untold.
	items := make([]map[string]any, len(overdue))
	ids := make([]string, len(overdue))
	for i, a := range overdue {
		ids[i] = a.ID
		items[i] = map[string]any{"Rule": a.RuleID, "Severity": a.Severity, "Sender": a.Sender,
			"Raised": a.RaisedAt.In(p.cfg.Settings.Location).Format("2006-01-02 15:04"), "ID": a.ID}
	}
	to, err := p.alertEscalationRecipients(ctx)
	if err != nil {
		return nil, err
	}
	if len(to) > 0 {
		_, err = p.notify.Submit(ctx, notify.Notice{Key: "alert-escalation:" + shortDigest(ids),
			Template: "alert_escalation", Lang: policy.MessageLang(nil, p.cfg.Settings), To: to,
			Data: map[string]any{"Total": len(items), "After": after.String(), "Items": items[:min(len(items), 20)]}})
		if err != nil {
			return nil, fmt.Errorf("escalate alerts: notify: %w", err)
		}
	}
	escalated := 0
	at := p.cfg.Now()
	for _, a := range overdue {
		_, changed, err := store.DecideAudited(ctx, p.st, store.AlertDecision{ID: a.ID, State: store.AlertEscalated, Actor: "wecomply", At: at})
		switch {
		case errors.Is(err, store.ErrAlertDecided) || errors.Is(err, store.ErrNotFound):
			continue // decided meanwhile
		case err != nil:
			return nil, fmt.Errorf("escalate alert %s: %w", a.ID, err)
		case changed:
			escalated++
		}
	}
	return map[string]int{"escalated": escalated, "recipients": len(to)}, nil
}

// shortDigest is a short hex digest of ids.
func shortDigest(ids []string) string {
	h := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return hex.EncodeToString(h[:12])
}

// alertEscalationRecipients are the officers' direct leaders and every
// notice's compliance owners, once each.
func (p *Processor) alertEscalationRecipients(ctx context.Context) ([]string, error) {
	var to []string
	for _, o := range p.cfg.Settings.Officers {
		person, err := storedPerson(ctx, p.st, o)
		if err != nil {
			return nil, err
		}
		if person != nil {
			to = append(to, person.DirectLeaders...)
		}
	}
	for _, n := range p.cfg.Notices {
		to = append(to, n.ComplianceOwners...)
	}
	return slices.Compact(slices.Sorted(slices.Values(to))), nil
}
