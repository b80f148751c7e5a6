package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// KindCard is the job that updates one person's card in place.
const KindCard = store.JobPrefix + "notify.card"

// CardUpdate changes the card a person clicked: the button greys out and
// says ReplaceName ("已确认 …"). ResponseCode is the click's: valid 72 h,
// usable once.
type CardUpdate struct {
	// Key identifies the update (recorded once per key), e.g. the click
	// event's dedup key.
	Key          string
	UserID       string
	ResponseCode string
	ReplaceName  string
}

type cardJob struct {
	CardUpdate
	Deadline time.Time `json:"deadline"`
}

// UpdateCard records a card update; a worker makes it, retrying what
// WeCom says is transient.
func (nf *Notifier) UpdateCard(ctx context.Context, u CardUpdate) error {
	if u.Key == "" || u.UserID == "" || u.ResponseCode == "" || u.ReplaceName == "" {
		return &InvalidError{Key: u.Key, Err: errors.New("card update needs a key, a user, a response code and a text")}
	}
	payload, err := json.Marshal(cardJob{CardUpdate: u, Deadline: nf.cfg.Now().Add(time.Hour)})
	if err != nil {
		return fmt.Errorf("notify: card update %s: %w", u.Key, err)
	}
	if _, err := nf.st.Enqueue(ctx, store.Event{
		DedupKey:   "notify-card:" + u.Key,
		Kind:       KindCard,
		Receiver:   "notify",
		ReceivedAt: nf.cfg.Now().UTC(),
		Payload:    payload,
	}); err != nil {
		return fmt.Errorf("notify: card update %s: %w", u.Key, err)
	}
	return nil
}

// card makes a recorded card update.
func (nf *Notifier) card(ctx context.Context, d store.Delivery) error {
	var j cardJob
	if err := json.Unmarshal(d.Payload, &j); err != nil {
		return fmt.Errorf("notify: card update: %w", err)
	}
	log := nf.log.With("card_update", j.Key, "user", j.UserID, "attempts", d.Attempts)
	_, err := nf.api.UpdateTemplateCard(ctx, wecom.CardUpdate{UserIDs: []string{j.UserID}, ResponseCode: j.ResponseCode, ReplaceName: j.ReplaceName})
	var apiErr *wecom.APIError
	switch {
	case err == nil:
		nf.m.cards.WithLabelValues("ok").Inc()
		return nil
	case errors.As(err, &apiErr) && apiErr.Code == wecom.CodeInvalidResponseCode && d.Attempts > 0:
		// The code is single-use: after an attempt whose answer was lost,
		// "invalid code" most likely means that attempt went through.
		log.Info("card update: response code already used; an earlier attempt most likely updated the card")
		nf.m.cards.WithLabelValues("ok").Inc()
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("notify: card update %s: %w", j.Key, err)
	}
	switch wecom.Classify(err) {
	case wecom.ActionRetry, wecom.ActionRefreshToken, wecom.ActionWaitWindow:
		if nf.cfg.Now().Before(j.Deadline) {
			nf.m.cards.WithLabelValues("retry").Inc()
			if d.Attempts < nf.cfg.BusyRetries {
				return fmt.Errorf("notify: card update %s: %w", j.Key, err)
			}
			return &WaitError{After: nf.cfg.WindowWait, Reason: err.Error()}
		}
	}
	// A card that stays clickable is harmless (a second click is a no-op
	// for policy); not worth more than the log and the metric.
	log.Warn("card update failed for good", "err", err)
	nf.m.cards.WithLabelValues("failed").Inc()
	return nil
}
