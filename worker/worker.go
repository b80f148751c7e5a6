// Package worker runs the goroutines that take entries off the store's
// queue and hand them to a Handler: accepted callbacks, decoded, to the
// event Processor, and wecomply's own jobs (kinds store.JobPrefix…, such
// as a notice to send) to the job's handler; see Mux. The callback handler
// only verifies, decrypts and enqueues; everything slow happens here,
// where a failure is retried with backoff and never reaches WeCom.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// Handler acts on one queue entry. It must be idempotent: an entry may be
// handled again after a crash, a lease expiry or a failed Ack. A nil
// error acks the entry; an error with a RetryAfter() time.Duration method
// postpones it that long without counting an attempt; any other error is
// retried with backoff and, after the store's max attempts,
// dead-lettered.
type Handler interface {
	Handle(ctx context.Context, d store.Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d store.Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d store.Delivery) error { return f(ctx, d) }

// Processor acts on one WeCom event. Like a Handler it must be
// idempotent.
type Processor interface {
	Process(ctx context.Context, d store.Delivery, ev wecom.Event) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, d store.Delivery, ev wecom.Event) error

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, d store.Delivery, ev wecom.Event) error {
	return f(ctx, d, ev)
}

// A Handler's error with a RetryAfter method (found with errors.As)
// asks for its entry to be handed out again after that long, without
// counting a failed attempt: for waits that are not failures (a rate-limit
// window, a send scheduled for later). The package that returns it
// declares its own type; the pool needs nothing more of it.
type retryAfter interface {
	RetryAfter() time.Duration
}

// Mux routes queue entries: a job to the Handler registered for its kind,
// anything else, decoded, to the event Processor.
type Mux struct {
	events Processor
	jobs   map[string]Handler
}

// NewMux returns a Mux that hands WeCom events to events.
func NewMux(events Processor) *Mux {
	return &Mux{events: events, jobs: map[string]Handler{}}
}

// HandleJob registers h for the job kind (which must start with
// store.JobPrefix).
func (m *Mux) HandleJob(kind string, h Handler) {
	if !strings.HasPrefix(kind, store.JobPrefix) {
		panic(fmt.Sprintf("worker: job kind %q does not start with %q", kind, store.JobPrefix))
	}
	m.jobs[kind] = h
}

// HandleJobs registers each handler of jobs for its kind, as a package
// that runs jobs lists them (notify's Jobs).
func (m *Mux) HandleJobs(jobs map[string]func(ctx context.Context, d store.Delivery) error) {
	for kind, h := range jobs {
		m.HandleJob(kind, HandlerFunc(h))
	}
}

// Handle routes d.
func (m *Mux) Handle(ctx context.Context, d store.Delivery) error {
	if strings.HasPrefix(d.Kind, store.JobPrefix) {
		h, ok := m.jobs[d.Kind]
		if !ok {
			return fmt.Errorf("no handler for job kind %q (a newer wecomply enqueued it?)", d.Kind)
		}
		return h.Handle(ctx, d)
	}
	ev, err := wecom.Decode(d.Payload)
	if err != nil {
		return fmt.Errorf("decode queued event: %w", err)
	}
	return m.events.Process(ctx, d, ev)
}

// Config tunes a Pool.
type Config struct {
	// Count workers process events, each one at a time; Batch bounds how
	// many entries one Claim takes for the workers that are free.
	Count, Batch int
	// Lease is the store's lease (store.QueueOptions.Lease): every entry
	// the pool holds and has not settled is extended every Lease/3, so that
	// no other worker takes it over however long it takes. Zero:
	// store.DefaultQueueOptions.Lease.
	Lease time.Duration
	// EventTimeout bounds the processing of one event.
	EventTimeout time.Duration
	// Backoff is the wait before the first retry of a failed event; it
	// doubles per attempt up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// ClaimWait is how long one Claim call waits for work.
	ClaimWait time.Duration
	// Consumer names this process to the queue. Defaults to
	// hostname-pid.
	Consumer string
	// Yield, if set, reports whether callbacks are arriving now; while
	// it does, the pool processes at most YieldCount events at once,
	// so that the callbacks have the store (and its fsyncs) first: a
	// callback has a deadline (WeCom gives up after 5 s and retries), a
	// queued event does not. Zero YieldCount: no limit.
	Yield      func() bool
	YieldCount int
}

// Pool processes queued events until its context ends.
type Pool struct {
	queue   store.Queue
	handler Handler
	cfg     Config
	log     *slog.Logger
	metrics *metrics
}

type metrics struct {
	processed *prometheus.CounterVec
	duration  prometheus.Histogram
	dead      prometheus.Counter
	lost      prometheus.Counter
}

// New builds a Pool that hands every entry to h (usually a Mux). Its
// metrics are registered with reg.
func New(q store.Queue, h Handler, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Pool, error) {
	if cfg.Count <= 0 || cfg.Batch <= 0 {
		return nil, fmt.Errorf("worker: count and batch must be positive, got %d and %d", cfg.Count, cfg.Batch)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = store.DefaultQueueOptions.Lease
	}
	if cfg.EventTimeout <= 0 {
		cfg.EventTimeout = 20 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = cfg.Backoff
	}
	if cfg.ClaimWait <= 0 {
		cfg.ClaimWait = time.Second
	}
	if cfg.Consumer == "" {
		host, _ := os.Hostname()
		cfg.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_events_processed_total",
			Help: "Queue entries handled by the workers, by kind and outcome (ok, retry, later, dead).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wecomply_event_processing_seconds",
			Help:    "Time to process one queued event.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wecomply_dead_letters_total",
			Help: "Events moved to the dead letters by this process after their last failed attempt.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wecomply_claims_lost_total",
			Help: "Claimed entries this process could not extend (the store was unreachable for a lease, or the process stalled): another worker may have taken them over.",
		}),
	}
	for _, c := range []prometheus.Collector{m.processed, m.duration, m.dead, m.lost} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("worker: register metrics: %w", err)
		}
	}
	return &Pool{queue: q, handler: h, cfg: cfg, log: log, metrics: m}, nil
}

// Run claims and processes events until ctx ends. Then it stops claiming,
// finishes the events in hand, gives back the ones it claimed but did not
// hand to a worker (so another replica takes them at once) and returns.
//
// One claimer claims for all Count workers, and only as many entries as
// there are workers waiting for one (up to Batch): an entry is claimed
// when a worker is free to start it, so no entry waits in one worker's
// batch while another worker idles (a welcome message's code lives 20 s).
// While an entry is held, a heartbeat extends its lease.
//
// A worker whose handler succeeded hands the entry's Ack to the ackers
// and takes its next entry at once: the Ack (a store write, an fsync
// away) is off the path of the next event. Run returns only once every
// Ack it handed over has returned. An entry whose Ack is lost (the
// process dies first) comes back when its lease ends, and its handler,
// being idempotent, changes nothing twice — as when an inline Ack fails.
func (p *Pool) Run(ctx context.Context) {
	work := make(chan store.Delivery)
	idle := make(chan struct{}, p.cfg.Count) // one token per worker waiting on work
	h := newHeld()
	stop := p.heartbeat(ctx, h)
	defer stop()
	acks := make(chan store.Delivery, p.cfg.Count)
	var ackers sync.WaitGroup
	for range p.cfg.Count {
		ackers.Go(func() {
			for d := range acks {
				p.ack(ctx, d)
			}
		})
	}
	var wg sync.WaitGroup
	for range p.cfg.Count {
		wg.Go(func() {
			for {
				idle <- struct{}{}
				d, ok := <-work
				if !ok {
					return
				}
				p.handle(ctx, h, d, acks)
			}
		})
	}
	p.claim(ctx, work, idle, h)
	close(work)
	wg.Wait()
	close(acks)
	ackers.Wait()
}

// ack acks a processed entry, within the event timeout even if ctx has
// ended (shutdown).
func (p *Pool) ack(ctx context.Context, d store.Delivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.EventTimeout)
	defer cancel()
	if err := p.queue.Ack(ctx, d.Receipt); err != nil && !errors.Is(err, store.ErrNotFound) {
		// The event was processed; it will come back when its lease
		// ends and the processor, being idempotent, will not repeat it.
		p.log.Error("ack event", "kind", d.Kind, "dedup_key", d.DedupKey, "queue_id", d.ID, "err", err)
	}
	p.metrics.processed.WithLabelValues(d.Kind, "ok").Inc()
}

// claim claims entries for the workers waiting on work until ctx ends.
func (p *Pool) claim(ctx context.Context, work chan<- store.Delivery, idle chan struct{}, h *held) {
	errWait := 100 * time.Millisecond
	for {
		// Wait for a free worker, then count the others free now.
		select {
		case <-ctx.Done():
			return
		case <-idle:
		}
		free := 1
	count:
		for free < p.cfg.Batch {
			select {
			case <-idle:
				free++
			default:
				break count
			}
		}
		n := p.yield(ctx, free, h)
		if n == 0 { // ctx ended
			return
		}
		ds, err := p.queue.Claim(ctx, p.cfg.Consumer, n, p.cfg.ClaimWait)
		for range free - len(ds) {
			idle <- struct{}{} // those workers still wait
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Error("claim events", "consumer", p.cfg.Consumer, "err", err)
			sleep(ctx, errWait)
			errWait = min(2*errWait, 5*time.Second)
			continue
		}
		errWait = 100 * time.Millisecond
		h.add(ds)
		for i, d := range ds {
			select {
			case work <- d: // a worker that gave a token takes it
			case <-ctx.Done():
				for _, d := range ds[i:] {
					h.drop(d.Receipt)
				}
				p.release(ds[i:])
				return
			}
		}
	}
}

// yieldPoll is how often a pool that yields to callbacks looks again.
const yieldPoll = 2 * time.Millisecond

// yield returns how many of the free workers may take an event now: all
// of them, or while callbacks arrive (Config.Yield) no more than leaves
// YieldCount events in hand, waiting until one may. 0: ctx ended.
func (p *Pool) yield(ctx context.Context, free int, h *held) int {
	if p.cfg.Yield == nil || p.cfg.YieldCount <= 0 || p.cfg.YieldCount >= p.cfg.Count {
		return free
	}
	for p.cfg.Yield() {
		if room := p.cfg.YieldCount - h.len(); room > 0 {
			return min(free, room)
		}
		sleep(ctx, yieldPoll)
		if ctx.Err() != nil {
			return 0
		}
	}
	return free
}

// held is the receipts of the entries the pool holds whose handler has
// not returned yet: the heartbeat extends their leases.
type held struct {
	mu sync.Mutex
	rs map[store.Receipt]bool
}

func newHeld() *held { return &held{rs: map[store.Receipt]bool{}} }

func (h *held) add(ds []store.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range ds {
		h.rs[d.Receipt] = true
	}
}

// drop removes r and reports whether it was held.
func (h *held) drop(r store.Receipt) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := h.rs[r]
	delete(h.rs, r)
	return ok
}

func (h *held) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rs)
}

func (h *held) list() []store.Receipt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Collect(maps.Keys(h.rs))
}

// heartbeat extends the lease of every entry h holds every Lease/3,
// until stop is called. It runs on after ctx ends (shutdown), like the
// events in hand, until Run has settled or given back everything.
func (p *Pool) heartbeat(ctx context.Context, h *held) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(p.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, r := range h.list() {
				err := p.queue.Extend(ctx, r)
				switch {
				case err == nil:
				case errors.Is(err, store.ErrNotFound):
					// Taken over, or dropped and settled meanwhile: either
					// way not ours to extend any more; lost in the first case.
					if h.drop(r) {
						p.metrics.lost.Inc()
					}
				case ctx.Err() == nil:
					p.log.Warn("extend a claimed entry's lease; it may be taken over", "queue_id", r.ID, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// handle processes one delivery and settles it: a success by handing it
// to acks, a failure with Fail or Postpone. Work already started finishes
// even if ctx ends (shutdown), within the event timeout.
func (p *Pool) handle(ctx context.Context, h *held, d store.Delivery, acks chan<- store.Delivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.EventTimeout)
	defer cancel()
	log := p.log.With("kind", d.Kind, "dedup_key", d.DedupKey, "queue_id", d.ID, "attempts", d.Attempts)
	start := time.Now()
	err := p.process(ctx, d)
	p.metrics.duration.Observe(time.Since(start).Seconds())
	// The heartbeat extends it no more: settling it takes a moment of the
	// lease it has left. Were it extended until settled, an Extend meeting
	// it just acked would count a lost claim that nobody took.
	h.drop(d.Receipt)
	if err == nil {
		acks <- d // counted processed once acked
		return
	}
	var later retryAfter
	if errors.As(err, &later) {
		after := later.RetryAfter()
		if perr := p.queue.Postpone(ctx, d.Receipt, after); perr != nil {
			log.Error("postpone; the lease will bring it back", "reason", err, "err", perr)
		} else {
			log.Debug("postponed", "reason", err, "after", after)
		}
		p.metrics.processed.WithLabelValues(d.Kind, "later").Inc()
		return
	}
	retryAfter := jitter(backoff(p.cfg.Backoff, p.cfg.MaxBackoff, d.Attempts))
	dead, ferr := p.queue.Fail(ctx, d.Receipt, err.Error(), retryAfter)
	switch {
	case ferr != nil:
		log.Error("process event; recording the failure failed too, the lease will bring it back", "err", err, "fail_err", ferr)
		p.metrics.processed.WithLabelValues(d.Kind, "retry").Inc()
	case dead:
		log.Error("process event: giving up, moved to dead letters", "err", err)
		p.metrics.processed.WithLabelValues(d.Kind, "dead").Inc()
		p.metrics.dead.Inc()
	default:
		log.Warn("process event: will retry", "err", err, "retry_after", retryAfter)
		p.metrics.processed.WithLabelValues(d.Kind, "retry").Inc()
	}
}

func (p *Pool) process(ctx context.Context, d store.Delivery) (err error) {
	defer func() {
		// A panicking handler must not take the worker down with it;
		// the event is retried and, if it keeps panicking, dead-lettered.
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return p.handler.Handle(ctx, d)
}

func (p *Pool) release(ds []store.Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, d := range ds {
		if err := p.queue.Release(ctx, d.Receipt); err != nil && !errors.Is(err, store.ErrNotFound) {
			p.log.Warn("release event at shutdown; its lease will bring it back", "queue_id", d.ID, "err", err)
		}
	}
}

// backoff is base·2^attempts, capped at max.
func backoff(base, max time.Duration, attempts int) time.Duration {
	d := base
	for range attempts {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}

// jitter spreads d by up to ±20% so that retries of many events that
// failed together do not come back together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - d/5 + rand.N(2*d/5+1)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
