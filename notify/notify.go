// Package notify delivers wecomply's notices as WeCom app messages, so
// that none is lost and none arrives twice, within WeCom's limits.
//
// A notice goes through small stages, each a queue job so that a crash at
// any point resumes where it stopped:
//
//	Submit   render the template (a bad notice fails here, to the caller),
//	         hash the exact content, drop recipients who already got this
//	         content, and record the notice (a "plan" job)
//	plan     split the recipients into sends of at most 1,000 (a card whose
//	         buttons are answered: of Config.CardBatch) and record each
//	         send, with the exact request body it will use ("send" jobs)
//	send     book the send against the per-member and per-app limits
//	         (postponed, never dropped, when a limit is reached), send the
//	         recorded body with enable_duplicate_check, retry what WeCom
//	         says is transient, and record every recipient's result
//
// A send is recorded before it is sent and its results after; if the
// process dies in between, the send is made again with the very same
// body, and WeCom's duplicate check (the send deadline never exceeds its
// window) drops it if the first one got through.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
)

// Job kinds: the queue entries notify's stages are (see Jobs).
const (
	KindPlan = store.JobPrefix + "notify.plan"
	KindSend = store.JobPrefix + "notify.send"
)

// MaxRecipients is the most recipients one message/send takes.
const MaxRecipients = 1000

// API is what notify needs of the WeCom client.
type API interface {
	MessageBody(m wecom.Message) ([]byte, error)
	SendMessageBody(ctx context.Context, body []byte) (*wecom.SendResult, error)
	UpdateTemplateCard(ctx context.Context, u wecom.CardUpdate) (invalidUsers []string, err error)
	SendWelcomeMessage(ctx context.Context, w wecom.WelcomeMessage) error
}

// Store is what notify needs of the store.
type Store interface {
	Enqueue(ctx context.Context, e store.Event) (bool, error)
	store.SendLimits
	store.SendResults
	store.RecipientClaims
}

// Config tunes a Notifier.
type Config struct {
	// Scope names the sending app for the rate limits (one per WeCom app).
	Scope string
	// MemberWindows are WeCom's per-member limits (30 a minute, 1,000 an
	// hour).
	MemberWindows []store.RateWindow
	// DailyQuota limits the app's person-times a day in Location; 0: none.
	DailyQuota int
	Location   *time.Location
	// DuplicateCheckInterval is sent with every message
	// (duplicate_check_interval); SendDeadline (from Submit) must not
	// exceed it.
	DuplicateCheckInterval time.Duration
	SendDeadline           time.Duration
	// BusyRetries is how often a send is retried at once (with backoff)
	// on a transient error — errcode -1 (WeCom: at most 3), a network
	// error, HTTP 5xx — before it waits WindowWait between tries. Keep it
	// below the store's max attempts.
	BusyRetries int
	// WindowWait is how long a send waits after 45009/45033 (the
	// frequency limit's window).
	WindowWait time.Duration
	// CardBatch is the most recipients of one message/send of a card
	// whose send returns a response_code
	// (wecom.TemplateCard.NeedsResponseCode), 1 to MaxRecipients; 0: 1.
	// WeCom gives one single-use response_code per send, and a reply
	// acknowledging a card has no code of its own: with 1, every
	// person's card has its own code and a reply greys exactly that card
	// out; with more, only the first reply of a batch can (a click always
	// brings a fresh code). Other notices go out in batches of
	// MaxRecipients.
	CardBatch int
	// Disclosure is what notices about personal data say of its handling
	// (config's [disclosure]): every template gets it as .Disclosure
	// unless the notice's data sets that key; nil when not configured.
	Disclosure *templates.Disclosure
	Now        func() time.Time
	Logger     *slog.Logger
}

// Notifier submits and delivers notices.
type Notifier struct {
	st   Store
	api  API
	tmpl *templates.Set
	cfg  Config
	log  *slog.Logger
	m    *metrics
}

// New returns a Notifier. Register its jobs with the worker Mux.
func New(st Store, api API, tmpl *templates.Set, cfg Config, reg prometheus.Registerer) (*Notifier, error) {
	if st == nil || api == nil || tmpl == nil {
		return nil, errors.New("notify: store, API and templates are required")
	}
	if cfg.Scope == "" {
		cfg.Scope = wecom.AppMessages
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.DuplicateCheckInterval <= 0 {
		cfg.DuplicateCheckInterval = 4 * time.Hour
	}
	if cfg.SendDeadline <= 0 || cfg.SendDeadline > cfg.DuplicateCheckInterval {
		cfg.SendDeadline = cfg.DuplicateCheckInterval
	}
	switch {
	case cfg.CardBatch == 0:
		cfg.CardBatch = 1
	case cfg.CardBatch < 0 || cfg.CardBatch > MaxRecipients:
		return nil, fmt.Errorf("notify: CardBatch must be between 1 and %d, got %d", MaxRecipients, cfg.CardBatch)
	}
	if cfg.BusyRetries <= 0 {
		cfg.BusyRetries = 3
	}
	if cfg.WindowWait <= 0 {
		cfg.WindowWait = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Notifier{st: st, api: api, tmpl: tmpl, cfg: cfg, log: cfg.Logger, m: m}, nil
}

// Jobs returns the handler of each of notify's job kinds, for whatever
// runs the queue to register. A handler's nil error means the entry is
// done; a *WaitError means "hand it out again after RetryAfter, this was
// no failure"; any other error is a failed attempt, to retry with backoff.
func (n *Notifier) Jobs() map[string]func(ctx context.Context, d store.Delivery) error {
	return map[string]func(context.Context, store.Delivery) error{
		KindPlan: n.plan,
		KindSend: n.send,
		KindCard: n.card,
	}
}

// WaitError is a job's answer when its entry must wait before it is
// tried again, and the wait is no failure (a rate-limit window, a quota
// that resets tomorrow): it counts no attempt.
type WaitError struct {
	After  time.Duration
	Reason string
}

func (e *WaitError) Error() string { return fmt.Sprintf("wait %s: %s", e.After, e.Reason) }

// RetryAfter is how long the entry waits; the worker pool postpones it
// that long.
func (e *WaitError) RetryAfter() time.Duration { return e.After }

// Notice is a message to deliver to some people.
type Notice struct {
	// Key identifies the notice: submitting the same Key and content again
	// is a no-op for everyone who got it. A new version of a text gets a
	// new Key (e.g. "archive-notice:v3").
	Key string
	// Template and Lang choose the text (templates.Catalog); Data fills it.
	Template string
	Lang     string
	Data     any
	// To are the recipients' UserIDs.
	To []string
	// Deadline bounds the attempts to deliver; zero: the configured send
	// deadline from now.
	Deadline time.Time
	// ButtonKey is the key of a button card's button (the EventKey its
	// click sends); "" is AckKey.
	ButtonKey string
	// Uncounted says the caller needs no Skipped count: for a notice to
	// one person, whether they already got this content is then checked
	// by its send rather than by Submit (one store read fewer before
	// Submit returns), and Submitted counts them as a recipient.
	Uncounted bool
}

// InvalidError is Submit's answer to a notice that cannot be sent as it
// is: an unknown template or language, a missing value, a text too long
// for WeCom, no recipients. Other errors mean the store failed.
type InvalidError struct {
	Key string
	Err error
}

func (e *InvalidError) Error() string { return "notify: notice " + e.Key + ": " + e.Err.Error() }

func (e *InvalidError) Unwrap() error { return e.Err }

// Submitted says what Submit recorded.
type Submitted struct {
	ContentHash string
	// Recipients is how many will be sent the notice; Skipped how many
	// already got this very content.
	Recipients, Skipped int
	// Duplicate: the same notice was submitted moments ago; nothing new.
	Duplicate bool
}

// planJob is the payload of a plan job: everything needed to make the
// sends, fixed at Submit so that the plan is the same however often it
// runs.
type planJob struct {
	Key         string          `json:"key"`
	ContentHash string          `json:"content_hash"`
	Message     json.RawMessage `json:"message"` // wecom.Message without recipients
	To          []string        `json:"to"`
	Deadline    time.Time       `json:"deadline"`
	// Batch is the most recipients a send takes, fixed at Submit (a
	// config changed before the plan runs again changes no send); 0, in
	// a plan recorded before it existed: MaxRecipients.
	Batch int `json:"batch,omitempty"`
}

// sendJob is the payload of a send job: one message/send call.
type sendJob struct {
	UnitID      string          `json:"unit_id"`
	Key         string          `json:"key"`
	ContentHash string          `json:"content_hash"`
	To          []string        `json:"to"`
	Body        json.RawMessage `json:"body"` // sent byte for byte, every time
	Deadline    time.Time       `json:"deadline"`
	// Claim, when set, is the plan the send stands for (a notice of one
	// recipient, sent without a plan job): the send claims its recipient
	// for that plan first, as plan does, and sends nothing if another
	// plan of the notice has them.
	Claim string `json:"claim,omitempty"`
}

// Submit renders n and records it for delivery. It returns once the
// notice is durable; delivery happens in the workers. A template error,
// a missing value or an invalid message is returned here.
func (nf *Notifier) Submit(ctx context.Context, n Notice) (Submitted, error) {
	invalid := func(err error) (Submitted, error) {
		return Submitted{}, &InvalidError{Key: n.Key, Err: err}
	}
	if !validKey(n.Key) {
		return invalid(errors.New("notice key must be 1 to 200 characters of A-Z a-z 0-9 . _ : @ -"))
	}
	r, err := nf.tmpl.Render(n.Template, n.Lang, nf.templateData(n.Data))
	if err != nil {
		return invalid(err)
	}
	buttonKey := n.ButtonKey
	if buttonKey == "" {
		buttonKey = AckKey
	}
	msg, err := message(r, buttonKey)
	if err != nil {
		return invalid(err)
	}
	// Validate the message as WeCom will see it, with a stand-in recipient
	// and task_id.
	probe := msg
	probe.ToUser = []string{"probe"}
	if probe.TemplateCard != nil {
		card := *probe.TemplateCard
		card.TaskID = taskID(n.Key)
		probe.TemplateCard = &card
	}
	if _, err := nf.api.MessageBody(probe); err != nil {
		return invalid(err)
	}
	hash := r.Hash()
	to := slices.Compact(slices.Sorted(slices.Values(n.To)))
	to = slices.DeleteFunc(to, func(u string) bool { return u == "" })
	if len(to) == 0 {
		return invalid(errors.New("no recipients"))
	}
	// Dedup: someone who got exactly this content for this notice does not
	// get it again. Only the recipients' results are read: a card to one
	// new member reads one result, not the notice's audience. An
	// uncounted one-person notice leaves the check to its send.
	var prior []store.RecipientResult
	if !n.Uncounted || len(to) != 1 {
		if prior, err = nf.st.GetSendResults(ctx, n.Key, to); err != nil {
			return Submitted{}, fmt.Errorf("notify: submit %s: %w", n.Key, err)
		}
	}
	got := make(map[string]bool, len(prior))
	for _, res := range prior {
		if res.ContentHash == hash && res.Status == store.StatusSent {
			got[res.UserID] = true
		}
	}
	fresh := slices.DeleteFunc(to, func(u string) bool { return got[u] })
	out := Submitted{ContentHash: hash, Recipients: len(fresh), Skipped: len(to) - len(fresh)}
	if len(fresh) == 0 {
		return out, nil
	}
	deadline := n.Deadline
	if max := nf.cfg.Now().Add(nf.cfg.SendDeadline); deadline.IsZero() || deadline.After(max) {
		deadline = max
	}
	owner := "notify:" + n.Key + ":" + hash + ":" + digest(fresh)
	var e store.Event
	if len(fresh) == 1 {
		// One recipient: one send, enqueued at once rather than by a
		// plan job (a round of the queue saved per reply); it claims its
		// recipient itself (sendJob.Claim).
		e, err = nf.sendEvent(planJob{Key: n.Key, ContentHash: hash, To: fresh, Deadline: deadline}, msg, "0", fresh, owner)
	} else {
		var base []byte
		if base, err = json.Marshal(msg); err == nil {
			e, err = planEvent(planJob{Key: n.Key, ContentHash: hash, Message: base, To: fresh, Deadline: deadline,
				Batch: nf.batch(msg)}, owner, nf.cfg.Now())
		}
	}
	if err != nil {
		return Submitted{}, fmt.Errorf("notify: submit %s: %w", n.Key, err)
	}
	added, err := nf.st.Enqueue(ctx, e)
	if err != nil {
		return Submitted{}, fmt.Errorf("notify: submit %s: %w", n.Key, err)
	}
	out.Duplicate = !added
	nf.m.submitted.Add(float64(len(fresh)))
	return out, nil
}

// plan turns a plan job into send jobs of at most its Batch each. Unit
// ids and bodies depend only on the plan (its Batch included, not the
// config of the moment), so a plan that runs again after a crash records
// the very same sends (and the queue drops them as duplicates).
func (nf *Notifier) plan(ctx context.Context, d store.Delivery) error {
	var p planJob
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return fmt.Errorf("notify: plan: %w", err)
	}
	var base wecom.Message
	if err := json.Unmarshal(p.Message, &base); err != nil {
		return fmt.Errorf("notify: plan %s: %w", p.Key, err)
	}
	// Two plans of one notice may name the same person (a notice
	// submitted again while the first was still being sent): each person
	// is planned by one of them only. Running this plan again gets the
	// same answer. Retention purges the claims once no plan of the key
	// can send any more ([retention] recipient_claims_days).
	to, err := nf.st.ClaimRecipients(ctx, p.Key+":"+p.ContentHash, d.DedupKey, p.To, nf.cfg.Now())
	if err != nil {
		return fmt.Errorf("notify: plan %s: %w", p.Key, err)
	}
	slices.Sort(to)
	batch := p.Batch
	if batch <= 0 || batch > MaxRecipients {
		batch = MaxRecipients
	}
	for i, to := range chunks(to, batch) {
		// A plan recorded with its batch names its sends "b<batch>-<i>":
		// never the unit of a one-person send from Submit ("0"), which
		// would make the queue drop one of the two as a duplicate of the
		// other (and a plan's send to one person is common with sends of
		// one). A plan recorded before Batch existed names them as then.
		part := strconv.Itoa(i)
		if p.Batch > 0 {
			part = "b" + strconv.Itoa(batch) + "-" + part
		}
		e, err := nf.sendEvent(p, base, part, to, "")
		if err != nil {
			return fmt.Errorf("notify: plan %s: %w", p.Key, err)
		}
		if _, err := nf.st.Enqueue(ctx, e); err != nil {
			return fmt.Errorf("notify: plan %s: %w", p.Key, err)
		}
	}
	return nil
}

// batch is the most recipients of one send of m: Config.CardBatch for a
// card answered by its recipients (wecom.TemplateCard.NeedsResponseCode),
// MaxRecipients for any other message.
func (nf *Notifier) batch(m wecom.Message) int {
	if c := m.TemplateCard; c != nil && c.NeedsResponseCode() {
		return nf.cfg.CardBatch
	}
	return MaxRecipients
}

// planEvent is the queue entry of a plan job.
func planEvent(p planJob, dedupKey string, now time.Time) (store.Event, error) {
	payload, err := json.Marshal(p)
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{DedupKey: dedupKey, Kind: KindPlan, Receiver: "notify", ReceivedAt: now.UTC(), Payload: payload}, nil
}

// sendEvent is the queue entry of p's send part, to to, of the message
// base; claim is sendJob.Claim. Its unit id and body depend only on
// these, so the same send planned again is the same entry (the queue
// drops it as a duplicate).
func (nf *Notifier) sendEvent(p planJob, base wecom.Message, part string, to []string, claim string) (store.Event, error) {
	unitID := p.Key + ":" + p.ContentHash[:16] + ":" + part + ":" + digest(to)[:8]
	m := base
	m.ToUser = to
	m.EnableDuplicateCheck = true
	m.DuplicateCheckInterval = int(nf.cfg.DuplicateCheckInterval / time.Second)
	if m.TemplateCard != nil {
		card := *m.TemplateCard
		card.TaskID = taskID(unitID)
		m.TemplateCard = &card
	}
	body, err := nf.api.MessageBody(m)
	if err != nil {
		return store.Event{}, err
	}
	payload, err := json.Marshal(sendJob{UnitID: unitID, Key: p.Key, ContentHash: p.ContentHash, To: to, Body: body,
		Deadline: p.Deadline, Claim: claim})
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{DedupKey: "notify-send:" + unitID, Kind: KindSend, Receiver: "notify",
		ReceivedAt: nf.cfg.Now().UTC(), Payload: payload}, nil
}

// send books, sends and records one unit.
func (nf *Notifier) send(ctx context.Context, d store.Delivery) error {
	var u sendJob
	if err := json.Unmarshal(d.Payload, &u); err != nil {
		return fmt.Errorf("notify: send: %w", err)
	}
	now := nf.cfg.Now()
	if u.Claim != "" {
		// Planned here (see Submit): claimed as plan claims, the same
		// answer however often it runs.
		to, err := nf.st.ClaimRecipients(ctx, u.Key+":"+u.ContentHash, u.Claim, u.To, now)
		if err != nil {
			return fmt.Errorf("notify: send %s: %w", u.UnitID, err)
		}
		if len(to) != len(u.To) {
			return nil // another plan of the notice has them
		}
		// Submit may have left it to the send to see who got this
		// content already (Notice.Uncounted).
		for _, user := range u.To {
			r, err := nf.st.SendResult(ctx, u.Key, user)
			switch {
			case err == nil && r.ContentHash == u.ContentHash && r.Status == store.StatusSent:
				return nil
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("notify: send %s: %w", u.UnitID, err)
			}
		}
	}
	log := nf.log.With("notice", u.Key, "unit", u.UnitID, "recipients", len(u.To), "attempts", d.Attempts)
	if now.After(u.Deadline) {
		log.Error("notice not delivered before its deadline")
		return nf.giveUp(ctx, u, "not delivered before the deadline "+u.Deadline.UTC().Format(time.RFC3339))
	}

	booked, err := nf.st.BookSend(ctx, store.SendBooking{
		UnitID:        u.UnitID,
		Scope:         nf.cfg.Scope,
		Members:       u.To,
		At:            now,
		MemberWindows: nf.cfg.MemberWindows,
		DailyQuota:    nf.cfg.DailyQuota,
		Location:      nf.cfg.Location,
		MarkerTTL:     nf.cfg.DuplicateCheckInterval + time.Hour,
	})
	if err != nil {
		return fmt.Errorf("notify: send %s: book: %w", u.UnitID, err)
	}
	if wait, reason := bookingWait(booked, now); wait > 0 {
		if now.Add(wait).After(u.Deadline) {
			return nf.giveUp(ctx, u, "WeCom's send limits leave no room before the deadline ("+reason+")")
		}
		nf.m.postponed.WithLabelValues(reason).Inc()
		log.Info("send postponed", "reason", reason, "after", wait)
		return &WaitError{After: wait, Reason: reason}
	}

	res, err := nf.api.SendMessageBody(ctx, u.Body)
	if err != nil {
		return nf.failed(ctx, d, u, err, log)
	}
	nf.m.sends.WithLabelValues("ok").Inc()
	return nf.record(ctx, u, res)
}

// failed decides what a failed send becomes. Nothing is lost while the
// deadline allows: a transient error (errcode -1, a network error, HTTP
// 5xx, a token that would not refresh) is retried with backoff at most
// BusyRetries times in a row (WeCom: "建议重试次数不超过 3 次"), and then
// waits WindowWait between tries, like a frequency limit (45009/45033),
// which never counts as an attempt. Only a permanent error, or the
// deadline, ends it: the failure is recorded for every recipient.
func (nf *Notifier) failed(ctx context.Context, d store.Delivery, u sendJob, err error, log *slog.Logger) error {
	if ctx.Err() != nil {
		// Our own time ran out (shutdown, or the job's timeout) mid-call:
		// the send may or may not have reached WeCom. Try again; the
		// duplicate check covers the case that it did.
		return fmt.Errorf("notify: send %s: %w", u.UnitID, err)
	}
	var apiErr *wecom.APIError
	if errors.As(err, &apiErr) && apiErr.Code == wecom.CodeAllRecipientsInvalid {
		log.Warn("no recipient of the send is valid", "err", err)
		nf.m.sends.WithLabelValues("all_invalid").Inc()
		return nf.record(ctx, u, &wecom.SendResult{InvalidUsers: u.To})
	}
	action := wecom.Classify(err)
	if action == wecom.ActionRetry || action == wecom.ActionRefreshToken {
		if d.Attempts < nf.cfg.BusyRetries {
			nf.m.sends.WithLabelValues("retry").Inc()
			return fmt.Errorf("notify: send %s: %w", u.UnitID, err) // counted, retried with backoff
		}
		action = wecom.ActionWaitWindow
	}
	if action == wecom.ActionWaitWindow && nf.cfg.Now().Add(nf.cfg.WindowWait).Before(u.Deadline) {
		nf.m.sends.WithLabelValues("wait_window").Inc()
		log.Warn("send waits before trying again", "err", err, "after", nf.cfg.WindowWait)
		return &WaitError{After: nf.cfg.WindowWait, Reason: err.Error()}
	}
	log.Error("notice send failed for good", "err", err)
	nf.m.sends.WithLabelValues("failed").Inc()
	return nf.giveUp(ctx, u, err.Error())
}

// record stores each recipient's result of a send WeCom accepted.
func (nf *Notifier) record(ctx context.Context, u sendJob, r *wecom.SendResult) error {
	invalid := lowerSet(r.InvalidUsers)
	unlicensed := lowerSet(r.UnlicensedUsers)
	at := nf.cfg.Now().UTC()
	results := make([]store.RecipientResult, 0, len(u.To))
	for _, user := range u.To {
		rr := store.RecipientResult{NoticeKey: u.Key, UserID: user, UnitID: u.UnitID, ContentHash: u.ContentHash, At: at,
			Status: store.StatusSent, MsgID: r.MsgID, ResponseCode: r.ResponseCode}
		switch {
		case invalid[lower(user)]:
			rr.Status, rr.MsgID, rr.ResponseCode = store.StatusInvalid, "", ""
		case unlicensed[lower(user)]:
			rr.Status, rr.MsgID, rr.ResponseCode = store.StatusUnlicensed, "", ""
		}
		nf.m.recipients.WithLabelValues(string(rr.Status)).Inc()
		results = append(results, rr)
	}
	if err := nf.st.PutSendResults(ctx, results); err != nil {
		return fmt.Errorf("notify: record %s: %w", u.UnitID, err)
	}
	return nil
}

// giveUp records a final failure for every recipient of u.
func (nf *Notifier) giveUp(ctx context.Context, u sendJob, cause string) error {
	at := nf.cfg.Now().UTC()
	results := make([]store.RecipientResult, 0, len(u.To))
	for _, user := range u.To {
		results = append(results, store.RecipientResult{NoticeKey: u.Key, UserID: user, UnitID: u.UnitID,
			ContentHash: u.ContentHash, Status: store.StatusFailed, Error: cause, At: at})
	}
	nf.m.recipients.WithLabelValues(string(store.StatusFailed)).Add(float64(len(u.To)))
	if err := nf.st.PutSendResults(ctx, results); err != nil {
		return fmt.Errorf("notify: record failure of %s: %w", u.UnitID, err)
	}
	return nil
}

// bookingWait is how long a send must wait, and why, when its booking was
// refused: until every blocked member may receive again (the whole send
// waits, so that what is sent stays exactly what was recorded), or until
// the daily quota resets.
func bookingWait(b store.SendBookingResult, now time.Time) (time.Duration, string) {
	if !b.QuotaResetAt.IsZero() {
		return max(b.QuotaResetAt.Sub(now), time.Second), "daily_quota"
	}
	var until time.Time
	for _, t := range b.Blocked {
		if t.After(until) {
			until = t
		}
	}
	if until.IsZero() {
		return 0, ""
	}
	return max(until.Sub(now), time.Second), "member_limit"
}

// chunks splits s into consecutive pieces of at most n.
func chunks(s []string, n int) [][]string {
	var out [][]string
	for len(s) > n {
		out = append(out, s[:n:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// digest is a short hash of a recipient list.
func digest(users []string) string {
	h := sha256.New()
	for _, u := range users {
		h.Write([]byte(u))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// taskID makes a card's task_id, unique per send as WeCom requires, from
// the send's unit id: [0-9A-Za-z_-@], at most 128 bytes.
func taskID(unitID string) string {
	sum := sha256.Sum256([]byte(unitID))
	return "wc-" + hex.EncodeToString(sum[:16])
}

// validKey reports whether a notice key is usable in a URL path and a
// queue dedup key as it is.
func validKey(k string) bool {
	if k == "" || len(k) > 200 {
		return false
	}
	for _, c := range []byte(k) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// lowerSet is the set of users WeCom named, lower-cased as WeCom returns
// them.
func lowerSet(users []string) map[string]bool {
	m := make(map[string]bool, len(users))
	for _, u := range users {
		m[lower(u)] = true
	}
	return m
}

// templateData is data with .Disclosure added (Config.Disclosure) when
// data is a map that does not set it; other data is used as it is.
func (nf *Notifier) templateData(data any) any {
	var m map[string]any
	switch d := data.(type) {
	case nil:
	case map[string]any:
		if _, ok := d["Disclosure"]; ok {
			return data
		}
		m = d
	default:
		return data
	}
	out := make(map[string]any, len(m)+1)
	maps.Copy(out, m)
	out["Disclosure"] = nf.cfg.Disclosure
	return out
}
