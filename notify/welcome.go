package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
)

// Welcome is the disclosure welcome message to a customer an employee has
// just added, sent with the add event's welcome code before Deadline
// (WeCom: 20 s after the event).
type Welcome struct {
	UserID         string // the employee
	ExternalUserID string // the customer
	Code           string
	Template       string
	Lang           string
	Data           any
	Deadline       time.Time
}

// WelcomeKey is the notice key under which a welcome's result is kept
// (its UserID is the customer's external id).
func WelcomeKey(userID string) string { return "welcome:" + userID }

// SendWelcome sends w at once — it cannot wait for a queue, the code
// expires in 20 s — retrying what may succeed before the deadline: 41096
// (another app is sending the welcome right now: allowed to retry) and
// transient errors. 41051 (the customer is already chatting: no welcome
// needed, do not retry) and a code already used by an earlier attempt are
// not failures. The result is recorded and returned; a welcome already
// sent for this pair is not sent again.
func (nf *Notifier) SendWelcome(ctx context.Context, w Welcome) (store.RecipientResult, error) {
	key := WelcomeKey(w.UserID)
	if prev, err := nf.st.SendResult(ctx, key, w.ExternalUserID); err == nil && prev.Status == store.StatusSent {
		return prev, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.RecipientResult{}, fmt.Errorf("notify: welcome %s→%s: %w", w.UserID, w.ExternalUserID, err)
	}
	r, err := nf.tmpl.Render(w.Template, w.Lang, nf.templateData(w.Data))
	if err != nil {
		return store.RecipientResult{}, &InvalidError{Key: key, Err: err}
	}
	if r.Kind != templates.KindWelcome {
		return store.RecipientResult{}, &InvalidError{Key: key, Err: fmt.Errorf("template %s makes a %s, not a welcome message", w.Template, r.Kind)}
	}
	res := store.RecipientResult{NoticeKey: key, UserID: w.ExternalUserID, UnitID: w.Code[:min(len(w.Code), 8)], ContentHash: r.Hash()}
	wait := 200 * time.Millisecond
	for {
		// The deadline is on the notifier's clock; the context's
		// deadline is on the wall clock: give the call what is left.
		callCtx, cancel := context.WithTimeout(ctx, w.Deadline.Sub(nf.cfg.Now()))
		err = nf.api.SendWelcomeMessage(callCtx, wecom.WelcomeMessage{WelcomeCode: w.Code, Text: r.Parts["content"]})
		cancel()
		var apiErr *wecom.APIError
		isCode := func(c int) bool { return errors.As(err, &apiErr) && apiErr.Code == c }
		switch {
		case err == nil:
			res.Status = store.StatusSent
		case isCode(wecom.CodeCustomerAlreadyChatting):
			// Also what a reused code answers: after an attempt whose
			// answer was lost, the welcome most likely went out.
			res.Status, res.Error = store.StatusSkipped, err.Error()
		case nf.cfg.Now().Add(wait).Before(w.Deadline) && ctx.Err() == nil &&
			(isCode(wecom.CodeWelcomeBeingSent) || wecom.Classify(err) == wecom.ActionRetry || wecom.Classify(err) == wecom.ActionRefreshToken):
			nf.m.welcomes.WithLabelValues("retry").Inc()
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, 2*time.Second)
			continue
		default:
			res.Status, res.Error = store.StatusFailed, err.Error()
		}
		break
	}
	res.At = nf.cfg.Now().UTC()
	nf.m.welcomes.WithLabelValues(string(res.Status)).Inc()
	if perr := nf.st.PutSendResults(ctx, []store.RecipientResult{res}); perr != nil {
		return res, fmt.Errorf("notify: record welcome %s→%s: %w", w.UserID, w.ExternalUserID, perr)
	}
	return res, nil
}
