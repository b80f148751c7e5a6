package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// applyOne carries out one action, decided at decided.
func (p *Processor) applyOne(ctx context.Context, origin string, decided time.Time, a policy.Action) (err error) {
	switch a := a.(type) {
	case policy.CreateObligation:
		created, err := p.st.CreateObligation(ctx, a.Obligation)
		if err == nil && !created && a.Reopen {
			// Owed again after it was cancelled (they left the audience and
			// came back): the cancelled record becomes the open one.
			o := a.Obligation
			err = p.st.UpdateObligation(ctx, o.UserID, o.NoticeID, o.Version, func(cur policy.Obligation) (policy.Obligation, error) {
				if cur.Status != policy.Cancelled {
					return cur, nil
				}
				return o, nil
			})
		}
		return err
	case policy.CloseObligation:
		_, err = p.st.CloseObligation(ctx, a.UserID, a.NoticeID, a.Version, a.Status, a.Reason, a.At)
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	case policy.Acknowledge:
		_, err = p.st.Attest(ctx, a.Attestation)
		return err
	case policy.SendCard:
		return p.sendCard(ctx, a)
	case policy.UpdateCard:
		err = p.notify.UpdateCard(ctx, notify.CardUpdate{Key: origin + ":" + a.UserID, UserID: a.UserID,
			ResponseCode: a.ResponseCode, ReplaceName: a.Text})
		return err
	case policy.SendText:
		_, err = p.notify.Submit(ctx, notify.Notice{Key: a.Key, Template: a.Template, Lang: a.Lang, Data: a.Data, To: a.UserIDs, Uncounted: true})
		return err
	case policy.Alert:
		_, err = p.notify.Submit(ctx, notify.Notice{Key: a.Key, Template: a.Template, Lang: a.Lang, Data: a.Data, To: a.UserIDs, Uncounted: true})
		return err
	case policy.SendWelcome:
		start := p.cfg.Now()
		res, err := p.notify.SendWelcome(ctx, notify.Welcome{UserID: a.UserID, ExternalUserID: a.ExternalUserID, Code: a.WelcomeCode,
			Template: a.Template, Lang: a.Lang, Data: a.Data, Deadline: a.Deadline})
		var invalid *notify.InvalidError
		if errors.As(err, &invalid) {
			p.log.Error("welcome message not sent: the template is wrong", "err", err)
			return nil // retrying cannot fix a template
		}
		if err == nil {
			p.m.welcome.Observe(p.cfg.Now().Sub(start).Seconds())
			level := slog.LevelInfo
			if res.Status == store.StatusFailed {
				// The customer was not told: a disclosure gap to look at.
				level = slog.LevelWarn
			}
			p.log.Log(ctx, level, "welcome message", "user", a.UserID, "external_user", a.ExternalUserID,
				"status", res.Status, "error", res.Error)
		}
		return err
	case policy.CheckConsent:
		// Received when it was decided: the check is decided at that time
		// too, however late or often it runs.
		_, err = p.st.Enqueue(ctx, store.Event{DedupKey: "consent-check:" + origin + ":" + a.UserID + ":" + a.ExternalUserID,
			Kind: KindConsentCheck, Receiver: "policy", ReceivedAt: decided.UTC(),
			Payload: mustJSON(consentJob{UserID: a.UserID, ExternalUserID: a.ExternalUserID})})
		return err
	case policy.RecordConsent:
		return p.st.PutConsent(ctx, a.Consent)
	case policy.RecordArchiveWaiting:
		if p.archive != nil {
			err = p.archive.Waiting(ctx, a.At)
		}
		return err
	case policy.RenamePerson:
		return nil // savePeople moves the person's record
	case policy.SendReminder:
		return p.sendReminder(ctx, a)
	case policy.ObligationUpdate:
		return p.updateObligations(ctx, a)
	default:
		return fmt.Errorf("unknown action %T", a)
	}
}

// sendCard submits a notice version's card to people, grouped by the due
// date each owes it by (it is part of the card's text, so each group is
// its own content; a person's due date comes from their obligation, so
// the same card is rendered again after a crash and notify sends it once).
func (p *Processor) sendCard(ctx context.Context, a policy.SendCard) error {
	n := a.Notice
	byDue := map[string][]string{}
	for _, u := range a.UserIDs {
		o, err := p.st.GetObligation(ctx, u, n.ID, n.Version)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue // the obligation is gone (cancelled meanwhile): no card
			}
			return err
		}
		if !o.Status.Open() {
			continue
		}
		due := policy.DueDay(p.cfg.Settings, o.DueAt, a.Lang)
		byDue[due] = append(byDue[due], u)
	}
	for _, due := range slices.Sorted(maps.Keys(byDue)) {
		data := policy.CardData(p.cfg.Settings, n, due)
		key := a.Key
		if key == "" {
			key = n.Key()
		}
		if _, err := p.notify.Submit(ctx, notify.Notice{Key: key, Template: n.Template, Lang: a.Lang, Data: data,
			To: byDue[due], ButtonKey: n.ButtonKey()}); err != nil {
			return err
		}
	}
	return nil
}

// consentJob is the payload of a consent check.
type consentJob struct {
	UserID         string `json:"user_id"`
	ExternalUserID string `json:"external_user_id"`
}

// consentCheck asks WeCom for a pair's consent and decides on the answer.
func (p *Processor) consentCheck(ctx context.Context, d store.Delivery) error {
	var j consentJob
	if err := json.Unmarshal(d.Payload, &j); err != nil {
		return fmt.Errorf("consent check: %w", err)
	}
	if p.dir.api == nil {
		return nil
	}
	infos, err := p.dir.api.CheckSingleAgree(ctx, []wecom.AgreeQuery{{UserID: j.UserID, ExternalOpenID: j.ExternalUserID}})
	if err != nil {
		return fmt.Errorf("check_single_agree: %w", err)
	}
	ev := consentAnswer(j.UserID, j.ExternalUserID, infos)
	return p.consentChecked(ctx, d.DedupKey, ev, p.decisionTime(d))
}

// consentAnswer is what check_single_agree's infos say of one pair:
// ConsentUnknown when they hold no answer for it.
func consentAnswer(userID, externalUserID string, infos []wecom.AgreeInfo) policy.ConsentChecked {
	ev := policy.ConsentChecked{UserID: userID, ExternalUserID: externalUserID, Status: policy.ConsentUnknown}
	for _, in := range infos {
		if in.ExternalOpenID != externalUserID || (in.UserID != "" && !strings.EqualFold(in.UserID, userID)) {
			continue
		}
		ev.ChangedAt = in.ChangedAt
		switch in.Status {
		case wecom.AgreeStatusAgree:
			ev.Status = policy.ConsentAgreed
		case wecom.AgreeStatusDisagree:
			ev.Status = policy.ConsentDisagreed
		}
	}
	return ev
}

// consentChecked decides on a pair's check_single_agree answer at now and
// applies the actions under origin (an event's or a job's dedup key).
func (p *Processor) consentChecked(ctx context.Context, origin string, ev policy.ConsentChecked, now time.Time) error {
	st := policy.State{Notices: p.cfg.Notices, Settings: p.cfg.Settings, People: map[string]policy.PersonChange{},
		ReceivedAt: now, DedupKey: origin}
	c, err := p.st.GetConsent(ctx, ev.UserID, ev.ExternalUserID)
	switch {
	case err == nil:
		st.Consent = &c
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	person, err := storedPerson(ctx, p.st, ev.UserID)
	if err != nil {
		return err
	}
	st.People[ev.UserID] = policy.PersonChange{Before: person, After: person}
	acts := policy.Decide(ev, st, now)
	if slices.ContainsFunc(acts, tellsPeople) {
		// Texts name the employee and the customer: ask WeCom for the
		// names only then (most checks just record the answer).
		if person == nil || person.Name == "" {
			if person, err = p.dir.person(ctx, ev.UserID, person); err != nil {
				return err
			}
			st.People[ev.UserID] = policy.PersonChange{Before: person, After: person}
		}
		st.CustomerName = p.dir.customerName(ctx, ev.ExternalUserID)
		acts = policy.Decide(ev, st, now)
	}
	return p.apply(ctx, origin, ev, st, acts)
}

// tellsPeople reports whether a is a text or an alert.
func tellsPeople(a policy.Action) bool {
	switch a.(type) {
	case policy.SendText, policy.Alert:
		return true
	}
	return false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return b
}
