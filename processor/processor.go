// Package processor turns events into what the company owes: it loads
// the state policy needs, asks policy.Decide, and applies the actions —
// obligations and attestations in the store, cards and texts through
// notify, welcome messages, consent checks — each exactly once in effect,
// recording every one in the audit log.
//
// It sits where ARCHITECTURE.md draws "workers → policy.Decide → actions":
// above policy (pure), store and notify, below main, which wires it as the
// worker pool's event processor and registers its jobs.
package processor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/worker"
)

// Store is what the processor needs of the store.
type Store interface {
	store.Queue
	store.EventLog
	store.Obligations
	store.Attestations
	store.Consents
	store.People
	store.Audit
	store.SendResults
	store.Alerts
}

// Notifier is what the processor needs of notify.
type Notifier interface {
	Submit(ctx context.Context, n notify.Notice) (notify.Submitted, error)
	UpdateCard(ctx context.Context, u notify.CardUpdate) error
	SendWelcome(ctx context.Context, w notify.Welcome) (store.RecipientResult, error)
}

// Archive is told that new archived messages are waiting (the puller is a
// later issue).
type Archive interface {
	Waiting(ctx context.Context, at time.Time) error
}

// Job kinds.
const (
	KindPublish      = store.JobPrefix + "policy.publish"
	KindConsentCheck = store.JobPrefix + "policy.consent_check"
)

// Config is the processor's share of the configuration.
type Config struct {
	Notices  []policy.Notice
	Settings policy.Settings
	// Calendar is when reminders and escalations may go out (the zero
	// Calendar: any time).
	Calendar policy.Calendar
	Now      func() time.Time
	// Sleep waits d, or until ctx ends (then it returns ctx's error): the
	// pacing of WeCom calls in jobs. Default a timer.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
	// Alerts are the supervision alerts' settings (alerts.go).
	Alerts AlertConfig
}

// Processor is the worker pool's event processor.
type Processor struct {
	st      Store
	notify  Notifier
	dir     *directory
	archive Archive
	cfg     Config
	log     *slog.Logger
	m       *metrics
}

// New builds a Processor. dir may be nil (no WeCom API: people are known
// from callbacks only); archive may be nil.
func New(st Store, n Notifier, dir Directory, archive Archive, cfg Config, reg prometheus.Registerer) (*Processor, error) {
	if st == nil || n == nil {
		return nil, errors.New("processor: store and notifier are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Settings.Location == nil {
		cfg.Settings.Location = time.FixedZone("CST", 8*3600)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Processor{st: st, notify: n, dir: &directory{api: dir, now: cfg.Now}, archive: archive, cfg: cfg, log: cfg.Logger, m: m}, nil
}

// sleep waits d or until ctx ends: Config.Sleep's default.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Register hands the processor's jobs to mux.
func (p *Processor) Register(mux *worker.Mux) {
	mux.HandleJob(KindPublish, worker.HandlerFunc(p.publish))
	mux.HandleJob(KindPublishChunk, worker.HandlerFunc(p.publishChunk))
	mux.HandleJob(KindConsentCheck, worker.HandlerFunc(p.consentCheck))
	mux.HandleJob(KindReconcilePerson, worker.HandlerFunc(p.reconcilePerson))
}

// Process handles one WeCom event: it is logged in the event log, then
// decided and applied. Everything it does is idempotent, so an event
// processed again after a crash changes nothing twice; and it is decided
// at the time it was accepted (d.ReceivedAt), not at the time it happens
// to be processed, so that processed again, however much later, it
// decides the same (see policy.Decide).
//
// The event log's entry is written while the event is decided and
// applied (each a store write an fsync away; nothing the decision reads
// depends on the log), and Process returns only once it is durable: an
// event whose entry could not be written is not done, and comes back.
func (p *Processor) Process(ctx context.Context, d store.Delivery, ev wecom.Event) (err error) {
	logged := make(chan error, 1)
	go func() { logged <- p.st.AppendEventLog(ctx, worker.Entry(d, ev)) }()
	defer func() {
		if lerr := <-logged; lerr != nil && err == nil {
			err = lerr
		}
	}()
	if c, ok := ev.(*wecom.TemplateCardEvent); ok && strings.HasPrefix(c.EventKey, AlertKeyPrefix) {
		return p.alertClick(ctx, d, c) // a supervision alert's review card, not a notice's
	}
	st, people, err := p.state(ctx, d, ev)
	if err != nil {
		return fmt.Errorf("load state for %s: %w", ev.Kind(), err)
	}
	acts := policy.Decide(ev, st, p.decisionTime(d))
	if err := p.apply(ctx, d.DedupKey, ev, st, acts); err != nil {
		return err
	}
	return p.savePeople(ctx, people)
}

// decisionTime is the time a queue entry is decided at: when it was
// accepted, which is the same on every delivery, so that an event decided
// again after a crash, or delivered again, decides the same (see
// policy.Decide); the processor's now only for an entry without one.
func (p *Processor) decisionTime(d store.Delivery) time.Time {
	if d.ReceivedAt.IsZero() {
		return p.cfg.Now()
	}
	return d.ReceivedAt
}

// state loads what Decide needs for ev. people are the records to store
// once the actions are applied (After of each changed person).
func (p *Processor) state(ctx context.Context, d store.Delivery, ev wecom.Event) (policy.State, map[string]policy.PersonChange, error) {
	st := policy.State{Notices: p.cfg.Notices, Settings: p.cfg.Settings, People: map[string]policy.PersonChange{},
		ReceivedAt: d.ReceivedAt, DedupKey: d.DedupKey}
	var changed map[string]policy.PersonChange
	switch e := ev.(type) {
	case *wecom.UserChange:
		before, err := storedPerson(ctx, p.st, e.UserID)
		if err != nil {
			return st, nil, err
		}
		var after *policy.Person
		switch e.ChangeType {
		case "delete_user":
		default:
			id := e.UserID
			if e.NewUserID != "" {
				id = e.NewUserID
			}
			if after, err = p.dir.person(ctx, id, before); err != nil {
				return st, nil, err
			}
			applyChange(after, e)
			after.DepartmentPath = p.dir.path(ctx, after.Departments)
		}
		if err := p.addPerson(ctx, &st, e.UserID, before, after); err != nil {
			return st, nil, err
		}
		changed = st.People
	case *wecom.TagChange:
		tag, err := strconv.ParseInt(strings.TrimSpace(e.TagID), 10, 64)
		if err != nil {
			return st, nil, nil // a tag we cannot name: nothing to decide
		}
		for _, u := range e.AddedUsers() {
			if err := p.tagChange(ctx, &st, u, tag, true); err != nil {
				return st, nil, err
			}
		}
		for _, u := range e.RemovedUsers() {
			if err := p.tagChange(ctx, &st, u, tag, false); err != nil {
				return st, nil, err
			}
		}
		changed = st.People
	case *wecom.TemplateCardEvent, *wecom.TextMessage, *wecom.EnterAgent:
		// The reads are independent: made at once, each a round trip to
		// the store.
		user := ev.Head().FromUserName
		var pc policy.PersonChange
		var person *policy.Person
		loads := []func(ctx context.Context) (err error){
			func(ctx context.Context) (err error) { person, err = storedPerson(ctx, p.st, user); return err },
			func(ctx context.Context) (err error) { pc.Obligations, err = p.obligationsOf(ctx, user); return err },
		}
		if _, enter := ev.(*wecom.EnterAgent); !enter {
			// A click or a reply that acknowledged before is recognised
			// by its attestation.
			loads = append(loads, func(ctx context.Context) (err error) {
				pc.Attestations, err = p.attestationsOf(ctx, user)
				return err
			})
		}
		if c, ok := ev.(*wecom.TemplateCardEvent); ok {
			if key, ok := strings.CutPrefix(c.EventKey, "ack:"); ok {
				loads = append(loads, func(ctx context.Context) error {
					r, err := p.st.SendResult(ctx, key, user)
					if err == nil {
						st.ContentHash = r.ContentHash
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					return nil
				})
			}
		}
		if err := all(ctx, loads...); err != nil {
			return st, nil, err
		}
		if t, ok := ev.(*wecom.TextMessage); ok && policy.IsAckWord(t.Content, p.cfg.Settings.AckWords) {
			cards, err := p.sentCards(ctx, user, pc.Obligations)
			if err != nil {
				return st, nil, err
			}
			st.Cards = cards
		}
		if person == nil {
			person = &policy.Person{UserID: user, Active: true}
		}
		pc.Before, pc.After = person, person
		st.People[user] = pc
	case *wecom.ExternalContactChange:
		var person *policy.Person
		err := all(ctx, func(ctx context.Context) error {
			c, err := p.st.GetConsent(ctx, e.UserID, e.ExternalUserID)
			switch {
			case err == nil:
				st.Consent = &c
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			return nil
		}, func(ctx context.Context) (err error) {
			person, err = storedPerson(ctx, p.st, e.UserID)
			return err
		})
		if err != nil {
			return st, nil, err
		}
		if person == nil || person.Name == "" {
			// Unknown, or known from the member list without a name (the
			// welcome message names the employee).
			if person, err = p.dir.person(ctx, e.UserID, person); err != nil {
				return st, nil, err
			}
		} else if in, known := p.dir.inPermitList(ctx, e.UserID); known {
			person.InPermitList = in
		}
		st.People[e.UserID] = policy.PersonChange{Before: person, After: person}
		if e.ChangeType != "edit_external_contact" {
			st.CustomerName = p.dir.customerName(ctx, e.ExternalUserID)
		}
	}
	return st, changed, nil
}

// sentCards are the cards user was sent for their open obligations (what
// a reply acknowledges, and the card it greys out): the last reminder
// card when there is one that can still be updated (its own
// response_code: the first card's has expired after 72 h by the time
// reminders go out), else the notice's own card.
func (p *Processor) sentCards(ctx context.Context, user string, obligations []policy.Obligation) (map[string]policy.SentCard, error) {
	cards := map[string]policy.SentCard{}
	for _, o := range obligations {
		key := policy.Notice{ID: o.NoticeID, Version: o.Version}.Key()
		if _, done := cards[key]; done || !o.Status.Open() {
			continue
		}
		if rk, ok := policy.LastReminderKey(o, p.cfg.Settings); ok {
			r, err := p.st.SendResult(ctx, rk, user)
			switch {
			case err == nil && r.Status == store.StatusSent && r.ResponseCode != "":
				cards[key] = policy.SentCard{ContentHash: r.ContentHash, ResponseCode: r.ResponseCode}
				continue
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("reminder card of %s sent to %s: %w", key, user, err)
			}
		}
		r, err := p.st.SendResult(ctx, key, user)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("card of %s sent to %s: %w", key, user, err)
		}
		code := r.ResponseCode
		if r.Status != store.StatusSent {
			code = ""
		}
		cards[key] = policy.SentCard{ContentHash: r.ContentHash, ResponseCode: code}
	}
	return cards, nil
}

// addPerson puts a person's change and obligations into st.
func (p *Processor) addPerson(ctx context.Context, st *policy.State, userID string, before, after *policy.Person) error {
	obs, err := p.obligationsOf(ctx, userID)
	if err != nil {
		return err
	}
	st.People[userID] = policy.PersonChange{Before: before, After: after, Obligations: obs}
	return nil
}

// tagChange adds a person whose tags changed.
func (p *Processor) tagChange(ctx context.Context, st *policy.State, userID string, tag int64, added bool) error {
	before, err := storedPerson(ctx, p.st, userID)
	if err != nil {
		return err
	}
	var after policy.Person
	if before != nil {
		after = *before
	} else {
		b, err := p.dir.person(ctx, userID, nil)
		if err != nil {
			return err
		}
		after = *b
	}
	after.Tags = slices.DeleteFunc(slices.Clone(after.Tags), func(t int64) bool { return t == tag })
	if added {
		after.Tags = append(after.Tags, tag)
		slices.Sort(after.Tags)
	}
	return p.addPerson(ctx, st, userID, before, &after)
}

// obligationsOf lists every obligation of a person.
func (p *Processor) obligationsOf(ctx context.Context, userID string) ([]policy.Obligation, error) {
	return store.Collect(ctx, pageSize, func(ctx context.Context, page store.Page) ([]policy.Obligation, string, error) {
		return p.st.ListObligations(ctx, store.ObligationFilter{UserID: userID}, page)
	})
}

// attestationsOf lists every attestation of a person.
func (p *Processor) attestationsOf(ctx context.Context, userID string) ([]policy.Attestation, error) {
	return store.Collect(ctx, pageSize, func(ctx context.Context, page store.Page) ([]policy.Attestation, string, error) {
		return p.st.ListAttestations(ctx, store.AttestationFilter{UserID: userID}, page)
	})
}

// pageSize is how many items the processor asks the store for at a time.
const pageSize = 1000

// parallel calls fn(ctx, i) for every i in [0, n), at most workers at a
// time, and returns the first error: after it no new call starts and the
// ctx the calls in flight were given is cancelled. It also returns the
// error of ctx when that ends first.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		once  sync.Once
		first error
	)
	run := func() {
		for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
		}
	}
	// The caller is one of the workers: its stack has already grown to
	// what the calls need, where a new goroutine's would grow (a copy
	// each time) on every event.
	for range min(workers, n) - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// all calls every fn at once and returns the first error.
func all(ctx context.Context, fns ...func(ctx context.Context) error) error {
	return parallel(ctx, len(fns), len(fns), func(ctx context.Context, i int) error { return fns[i](ctx) })
}

// savePeople stores each changed person as they are after the event.
func (p *Processor) savePeople(ctx context.Context, people map[string]policy.PersonChange) error {
	for id, c := range people {
		var err error
		if c.After == nil {
			err = p.st.DeletePerson(ctx, id)
		} else {
			err = p.st.PutPerson(ctx, *c.After)
			if err == nil && c.After.UserID != id {
				err = p.st.DeletePerson(ctx, id) // renamed
			}
		}
		if err != nil {
			return fmt.Errorf("store person %s: %w", id, err)
		}
	}
	return nil
}

// apply carries out acts, each once in effect however often it runs, and
// records them in the audit log — before carrying them out, so that no
// action can take effect without its entry, even if the process dies
// half-way and the event, decided again on the changed state, comes to
// other actions. An entry's id is its origin (the event's dedup key, or
// a job's), its position and a digest of its content, so the same
// decision run again writes nothing new. A run of actions of one kind
// and reason (a publish makes thousands) shares an entry, up to
// auditGroup of them. A group's entry is appended while the group before
// it is carried out: an entry may thus precede an action that a failure
// cut off, as one always could (entry, then the failure), and the event
// processed again decides and records the same.
//
// st.ReceivedAt is the time the actions were decided at (now if zero):
// the jobs they enqueue are decided at it too.
func (p *Processor) apply(ctx context.Context, origin string, ev policy.Event, st policy.State, acts []policy.Action) error {
	now := p.cfg.Now()
	decided := st.ReceivedAt
	if decided.IsZero() {
		decided = now
	}
	type group struct {
		acts  []policy.Action
		entry store.AuditEntry
	}
	var groups []group
	for start := 0; start < len(acts); {
		end := start + 1
		for end < len(acts) && end-start < auditGroup && actionName(acts[end]) == actionName(acts[start]) &&
			acts[end].ActionReason() == acts[start].ActionReason() {
			end++
		}
		g := acts[start:end]
		details := make([]policy.Action, len(g))
		subjects := make([]string, len(g))
		for i, a := range g {
			details[i], subjects[i] = redact(a), subjectOf(a)
		}
		var detail any = details
		if len(details) == 1 {
			detail = details[0]
		}
		subject := strings.Join(sortedSet(subjects), ",")
		if len(subject) > 200 {
			subject = fmt.Sprintf("%d people", len(subjects))
		}
		data, err := json.Marshal(auditData{Event: ev.Kind(), Origin: origin, Action: actionName(g[0]),
			Reason: g[0].ActionReason(), Count: len(g), Detail: detail})
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		groups = append(groups, group{acts: g, entry: store.AuditEntry{
			ID: origin + "#" + strconv.Itoa(start) + ":" + hex.EncodeToString(sum[:8]), At: now.UTC(),
			Kind: auditKind(g[0]), Subject: subject, Data: data,
		}})
		start = end
	}
	audit := func(e store.AuditEntry) error {
		if _, err := p.st.AppendAudit(ctx, e); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		return nil
	}
	if len(groups) == 0 {
		return nil
	}
	if err := audit(groups[0].entry); err != nil {
		return err
	}
	for i, g := range groups {
		// The next group's entry is appended while this group is carried
		// out (after this group's entry, so the log keeps their order,
		// and before any of the next group's actions): a round trip to
		// the store saved per group.
		var next chan error
		if i+1 < len(groups) {
			next = make(chan error, 1)
			go func() { next <- audit(groups[i+1].entry) }()
		}
		err := p.applyGroup(ctx, origin, decided, g.acts)
		if next != nil {
			if aerr := <-next; err == nil {
				err = aerr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyGroup carries out one audit entry's actions, in order.
func (p *Processor) applyGroup(ctx context.Context, origin string, decided time.Time, acts []policy.Action) error {
	for _, a := range acts {
		if err := p.applyOne(ctx, origin, decided, a); err != nil {
			return fmt.Errorf("apply %T (%s): %w", a, a.ActionReason(), err)
		}
		p.m.actions.WithLabelValues(actionName(a), string(a.ActionReason())).Inc()
	}
	return nil
}

// auditKind is the audit entry kind of an action: an attestation, a
// delivery (a message), or a decision (everything recorded).
func auditKind(a policy.Action) string {
	switch a.(type) {
	case policy.Acknowledge:
		return "attestation"
	case policy.SendCard, policy.UpdateCard, policy.SendText, policy.Alert, policy.SendWelcome, policy.SendReminder:
		return "delivery"
	default:
		return "decision"
	}
}

// subjectOf is whom or what an action is about.
func subjectOf(a policy.Action) string {
	switch a := a.(type) {
	case policy.CreateObligation:
		return a.Obligation.UserID
	case policy.CloseObligation:
		return a.UserID
	case policy.Acknowledge:
		return a.Attestation.UserID
	case policy.SendCard:
		return a.Notice.Key()
	case policy.UpdateCard:
		return a.UserID
	case policy.SendText:
		return a.Key
	case policy.Alert:
		return a.Key
	case policy.SendWelcome:
		return a.UserID
	case policy.CheckConsent:
		return a.UserID
	case policy.RecordConsent:
		return a.Consent.UserID
	case policy.RenamePerson:
		return a.From
	case policy.RecordArchiveWaiting:
		return "archive"
	case policy.SendReminder:
		return a.Key
	case policy.ObligationUpdate:
		id, version, _ := a.Obligations()
		return policy.Notice{ID: id, Version: version}.Key()
	}
	return ""
}

// auditGroup is the most actions one audit entry records.
const auditGroup = 100

// auditData is what an audit entry of an action holds.
type auditData struct {
	Event  string        `json:"event"`
	Origin string        `json:"origin"`
	Action string        `json:"action"`
	Reason policy.Reason `json:"reason"`
	Count  int           `json:"count"`
	Detail any           `json:"detail"` // the action, or the list of them
}

// redact blanks the single-use codes an action carries (a welcome code, a
// card's response code): they are credentials, and the audit log is kept
// for years.
func redact(a policy.Action) policy.Action {
	switch a := a.(type) {
	case policy.SendWelcome:
		a.WelcomeCode = "[redacted]"
		return a
	case policy.UpdateCard:
		a.ResponseCode = "[redacted]"
		return a
	}
	return a
}

// actionName is an action's type name, e.g. "CreateObligation".
func actionName(a policy.Action) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", a), "policy.")
}
