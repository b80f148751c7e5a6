package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/console"
	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/handlers"
	"github.com/wecomply/wecomply/intercept"
	"github.com/wecomply/wecomply/jobs"
	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/processor"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/worker"
)

func serveCmd(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "config file (TOML; see config.example.toml)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: serve takes -config FILE and nothing else", errUsage)
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn("config: "+w.Reason, "key", w.Key)
	}
	// go-redis reports dial and pool trouble through its own package-level
	// logger, in plain text on stderr. Route it into the JSON log, once,
	// here (tests build apps without touching that global).
	goredis.SetLogger(printfLogger{log.With("component", "go-redis")})
	// The collector's target is the process's too: set here, not in
	// newApp (see server.gc_percent).
	if applyGCPercent(cfg.Server.GCPercent, environ) {
		log.Info("go runtime: garbage collector target set", "gc_percent", cfg.Server.GCPercent)
	} else {
		log.Info("go runtime: GOGC is set in the environment; server.gc_percent is not applied")
	}
	a, err := newApp(ctx, cfg, log, appOptions{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		a.close()
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	if cfg.Server.DebugListen != "" {
		dln, err := net.Listen("tcp", cfg.Server.DebugListen)
		if err != nil {
			ln.Close()
			a.close()
			return fmt.Errorf("listen on %s (server.debug_listen): %w", cfg.Server.DebugListen, err)
		}
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = dsrv.Serve(dln) }()
		defer dsrv.Close()
		log.Info("profiler serving", "addr", dln.Addr().String())
	}
	return a.run(ctx, ln)
}

// debugHandler serves Go's profiler, and nothing else, on the debug
// listener (never on the callback and admin one).
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// printfLogger adapts slog to go-redis's Printf-style logger.
type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// app is one wecomply server: HTTP surface, workers and store, wired.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	store   store.Store
	handler http.Handler
	pool    *worker.Pool
	jobs    *jobs.Scheduler
	reg     *prometheus.Registry
	// archive is the session archive; nil when archive.enabled is off.
	archive *archiveParts
	// rules are the supervision rules; nil when [rules] file is unset.
	rules *ruleParts
	// arrivals tells the workers and the embedded store whether
	// callbacks are arriving fast.
	arrivals *arrivals
}

// arrivals counts callbacks in windows of arrivalWindow, so that the
// worker pool and the embedded store's committer can give callbacks the
// store first while they arrive fast enough to need it. At a few hundred
// a second the workers yielding would only grow a backlog: the callback
// path has room to spare.
type arrivals struct {
	now func() int64 // ns, monotonic

	mu     sync.Mutex
	window int64 // the number of the last window a callback came in
	count  int64 // callbacks in it
	prev   int64 // callbacks in the window before it
	// burst: every window since burstFrom, up to the last, counted
	// arrivalBurst callbacks or more.
	burst     bool
	burstFrom int64
}

const (
	// arrivalWindow is how long a window is.
	arrivalWindow = 100 * time.Millisecond
	// arrivalBurst: callbacks are arriving fast (1,000 a second) when the
	// window under way or the one before it counted this many.
	arrivalBurst = 100
	// arrivalMaxYield bounds how long the workers yield to one burst:
	// after it, they all work until the burst ends, so that a burst of
	// minutes does not hold every queued event (a consent request, a
	// welcome message whose code lives 20 s) back for its whole length.
	// Callbacks are then slower, not lost: the path still answers well
	// within WeCom's 5 s with all workers busy (bench/wrk.sh).
	arrivalMaxYield = 30 * time.Second
)

func newArrivals() *arrivals {
	start := time.Now()
	return &arrivals{now: func() int64 { return time.Since(start).Nanoseconds() }}
}

// mark counts one callback.
func (a *arrivals) mark() {
	w := a.now() / arrivalWindow.Nanoseconds()
	a.mu.Lock()
	defer a.mu.Unlock()
	if w != a.window {
		next := w == a.window+1
		if !next || a.count < arrivalBurst {
			a.burst = false
		}
		a.prev = 0
		if next {
			a.prev = a.count
		}
		a.window, a.count = w, 0
	}
	a.count++
	if a.count >= arrivalBurst && !a.burst {
		a.burst, a.burstFrom = true, w
	}
}

// fast reports whether callbacks are arriving at arrivalBurst a window.
func (a *arrivals) fast() bool {
	w := a.now() / arrivalWindow.Nanoseconds()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fastLocked(w)
}

func (a *arrivals) fastLocked(w int64) bool {
	switch a.window {
	case w:
		return a.count >= arrivalBurst || a.prev >= arrivalBurst
	case w - 1:
		return a.count >= arrivalBurst
	}
	return false
}

// yield reports whether the workers should yield to callbacks: they are
// arriving fast, and have not done so for arrivalMaxYield on end.
func (a *arrivals) yield() bool {
	w := a.now() / arrivalWindow.Nanoseconds()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.fastLocked(w) {
		return false
	}
	return !a.burst || (w-a.burstFrom)*arrivalWindow.Nanoseconds() < arrivalMaxYield.Nanoseconds()
}

// appOptions are what a caller sets on an app besides its config; the
// zero value is production's.
type appOptions struct {
	// Now is the app's clock (nil: time.Now); tests set it. See newApp.
	Now func() time.Time
	// ArchiveSource is where the archive is pulled from when
	// archive.enabled is on (nil: the SDK; the sandbox and tests give
	// the fake).
	ArchiveSource wecom.ArchiveSource
	// Evidence makes the console's evidence packs (nil: no download
	// buttons).
	Evidence console.EvidenceMaker
	// InterceptRules gives the sensitive-word rules to keep in step with
	// WeCom (the lexicon rules with block = true). nil: no intercept sync.
	// With it (and wecom.secret), the reconcile job syncs them after the
	// members and consents (intercept.Syncer).
	InterceptRules intercept.Source
}

// newApp builds the app. opts.Now is the one "now" of every part that
// reasons about days and hours: the embedded store (leases, retries,
// scheduled entries, expiries), the Redis store (cached tokens' expiry),
// the WeCom client (token expiry), the notifier, the processor, the
// handlers (an event's ReceivedAt, the callback timestamp window) and
// the scheduler (run records, catch-up, next activations). Real time
// stays where only elapsed time counts: Redis keeps leases and idle
// deliveries on its own clock (TIME), the cron fires on the wall clock,
// and the group commit, timeouts and backoffs are timers.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger, opts appOptions) (_ *app, err error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	receivers := make([]handlers.Receiver, 0, len(cfg.WeCom.Callbacks))
	for i, cb := range cfg.WeCom.Callbacks {
		c, err := wecom.NewCipher(cb.Token.Reveal(), cb.EncodingAESKey.Reveal(), cb.ReceiveID)
		if err != nil {
			return nil, fmt.Errorf("wecom.callback[%d]: %w", i, err)
		}
		receivers = append(receivers, handlers.Receiver{Name: cb.Name, Path: cb.Path, Cipher: c})
	}

	arr := newArrivals()
	st, err := openStore(ctx, cfg, log, now, arr.fast)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: st, reg: reg, arrivals: arr}
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	if a.rules, err = newRules(cfg, log, reg); err != nil {
		return nil, fmt.Errorf("rules.file: %w", err)
	}

	var procArchive processor.Archive
	var archiveAPI handlers.ArchiveReader
	if cfg.Archive.Enabled {
		if a.archive, err = newArchive(ctx, cfg, st, opts.ArchiveSource, log, reg, now); err != nil {
			return nil, err
		}
		procArchive, archiveAPI = a.archive, a.archive
	}

	tokens := make([]string, len(cfg.Admin.Tokens))
	for i, t := range cfg.Admin.Tokens {
		tokens[i] = t.Reveal()
	}
	// Without the app's secret nothing can be sent: callbacks are still
	// received and logged, and policy waits for a secret.
	var submitter handlers.Submitter
	var departments handlers.DepartmentNamer // nil without a client: department ids
	var events worker.Processor = worker.EventLogger{Log: st}
	var register []func(*worker.Mux)
	deps := jobDeps{cfg: cfg, store: st, archive: a.archive, log: log, now: now}
	var client *wecom.Client
	if cfg.WeCom.Secret == "" {
		log.Warn("wecom.secret is not set: notices and the compliance policy are disabled (callbacks are still received and logged)")
	} else {
		if client, err = newClient(cfg, st, log, now); err != nil {
			return nil, err
		}
		notifier, err := newNotifier(cfg, st, client, log, reg, now)
		if err != nil {
			return nil, err
		}
		pcfg := processorConfig(cfg, log)
		pcfg.Now = now
		pcfg.Alerts = processor.AlertConfig{Rules: a.rules.set(), EscalateAfter: cfg.Rules.EscalateAfter}
		proc, err := processor.New(st, notifier, client, procArchive, pcfg, reg)
		if err != nil {
			return nil, err
		}
		if err := proc.Publish(ctx); err != nil {
			return nil, err
		}
		submitter, events = notifier, proc
		departments = &departmentNames{client: client, now: now}
		deps.proc = proc
		if opts.InterceptRules == nil && a.rules != nil {
			opts.InterceptRules = a.rules
		}
		if opts.InterceptRules != nil {
			syncer, err := intercept.New(client, st, intercept.Config{Now: now})
			if err != nil {
				return nil, err
			}
			deps.intercept = syncer.Run(opts.InterceptRules, log)
		}
		register = append(register, func(mux *worker.Mux) { mux.HandleJobs(notifier.Jobs()) }, proc.Register)
	}
	if a.archive != nil && a.rules != nil {
		var sink archive.AlertSink = storeAlertSink{st}
		if deps.proc != nil {
			sink = deps.proc // raises, then sends the officers' cards
		}
		a.archive.puller.Scanner = a.rules.scanner(sink, st, now)
	}
	mux := worker.NewMux(events)
	for _, r := range register {
		r(mux)
	}

	if a.jobs, err = newScheduler(deps, reg); err != nil {
		return nil, err
	}

	var evidenceKey []byte
	if k, _ := cfg.Evidence.Key(); k != nil { // config.Load rejected a bad key
		evidenceKey = evidence.PublicKeyPEM(k.Public().(ed25519.PublicKey))
	}
	engine, err := handlers.New(handlers.Options{
		Receivers:       receivers,
		Store:           st,
		Notify:          submitter,
		Notices:         processorConfig(cfg, log).Notices,
		Jobs:            jobLister{a.jobs},
		Archive:         archiveAPI,
		Location:        cfg.Console.Location(),
		Departments:     departments,
		AlertContext:    handlers.AlertContext{Before: cfg.Rules.ContextBefore, After: cfg.Rules.ContextAfter},
		AdminTokens:     tokens,
		TimestampWindow: cfg.WeCom.TimestampWindow,
		MaxBodyBytes:    cfg.Server.MaxBodyBytes,
		BaselineRoute:   cfg.Server.BaselineRoute,
		Arrived:         a.arrivals.mark,
		EvidenceKey:     evidenceKey,
		Now:             now,
		Logger:          log,
		Registerer:      reg,
		Gatherer:        reg,
	})
	if err != nil {
		return nil, err
	}
	a.handler = engine
	if cfg.Console.Enabled {
		ev := opts.Evidence
		var transfers console.Transfers
		if ev == nil && evidenceKey != nil {
			var msgs evidence.Messages
			if a.archive != nil {
				msgs = a.archive.store
			}
			m, err := newEvidenceMaker(cfg, st, msgs, log, now)
			if err != nil {
				return nil, fmt.Errorf("console: evidence packs: %w", err)
			}
			ev, transfers = m, m
		}
		con, err := newConsole(consoleDeps{cfg: cfg, store: st, client: client, proc: deps.proc, archive: a.archive,
			jobs: a.jobs, departments: departments, log: log, now: now, evidence: ev, transfers: transfers})
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		a.handler = withConsole(con, engine)
	}

	a.pool, err = worker.New(st, mux, worker.Config{
		Count:        cfg.Workers.Count,
		Batch:        cfg.Workers.ClaimBatch,
		Lease:        cfg.Store.Lease,
		EventTimeout: cfg.Store.Lease * 2 / 3,
		Backoff:      cfg.Workers.RetryBackoff,
		MaxBackoff:   cfg.Workers.RetryMaxBackoff,
		Yield:        a.arrivals.yield,
		YieldCount:   cfg.Workers.CountWhileReceiving,
	}, log, reg)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// processHolder names this process among replicas (hostname-pid, as the
// jobs and the workers name theirs): the WeCom token lock's and the
// archive lease's holder.
func processHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// newClient builds the WeCom API client: one access token per configured
// secret, cached in the store for every replica.
func newClient(cfg *config.Config, st store.Store, log *slog.Logger, now func() time.Time) (*wecom.Client, error) {
	secrets := map[string]string{}
	for app, s := range map[string]config.Secret{
		wecom.AppMessages: cfg.WeCom.Secret, wecom.AppContacts: cfg.WeCom.ContactsSecret,
		wecom.AppCustomer: cfg.WeCom.CustomerSecret, wecom.AppArchive: cfg.WeCom.ArchiveSecret,
	} {
		if s != "" {
			secrets[app] = s.Reveal()
		}
	}
	// Every worker may call WeCom at once: keep a connection per worker
	// (and the jobs') open between calls rather than net/http's default of
	// two, past which each call dials (and handshakes TLS) again.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.Workers.Count + 16
	return wecom.NewClient(wecom.ClientConfig{
		CorpID:     cfg.WeCom.CorpID,
		AgentID:    cfg.WeCom.AgentID,
		Secrets:    secrets,
		BaseURL:    cfg.WeCom.APIBaseURL,
		HTTPClient: &http.Client{Timeout: cfg.WeCom.APITimeout, Transport: transport},
		Tokens:     st,
		Holder:     processHolder(),
		Now:        now,
		Logger:     log,
	})
}

// newNotifier builds the notifier that sends through client, on the
// clock now.
func newNotifier(cfg *config.Config, st store.Store, client *wecom.Client, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*notify.Notifier, error) {
	tmpl, err := templates.Load()
	if err != nil {
		return nil, err
	}
	for i, n := range cfg.Notices {
		if k := tmpl.Kind(n.Template); k != templates.KindButtonCard {
			return nil, fmt.Errorf("notices[%d].template: %q is not a button card template (got %q)", i, n.Template, k)
		}
	}
	if w := cfg.Policy.WelcomeTemplate; w != "" && tmpl.Kind(w) != templates.KindWelcome {
		return nil, fmt.Errorf("policy.welcome_template: %q is not a welcome message template", w)
	}
	ncfg := notifyConfig(cfg, log)
	ncfg.Now = now
	return notify.New(st, client, tmpl, ncfg, reg)
}

// processorConfig is the compliance policy's share of the config.
func processorConfig(cfg *config.Config, log *slog.Logger) processor.Config {
	notices := make([]policy.Notice, len(cfg.Notices))
	for i, n := range cfg.Notices {
		notices[i] = policy.Notice{
			ID: n.ID, Version: n.Version, Title: n.Title, Template: n.Template, Languages: n.Languages,
			Summary: n.Summary, URL: n.URL, DueDays: n.DueDays, ReattestDays: n.ReattestDays,
			RemindEveryDays: n.RemindEveryDays, MaxReminders: n.MaxReminders, EscalateAfter: n.EscalateAfter,
			ComplianceOwners: n.Owners,
			Audience: policy.Audience{Everyone: n.Audience.Everyone, Departments: n.Audience.Departments,
				Tags: n.Audience.Tags, Users: n.Audience.Users, PermitList: n.Audience.PermitList},
		}
	}
	// config.Load validated the calendar with these same parsers.
	days, _ := cfg.Calendar.Weekdays()
	start, end, _ := cfg.Calendar.Hours()
	cal := policy.Calendar{Location: jobsLocation(cfg), WorkingDays: days, Start: start, End: end,
		Holidays: cfg.Calendar.Holidays, ExtraWorkdays: cfg.Calendar.ExtraWorkdays}
	return processor.Config{
		Notices:  notices,
		Calendar: cal,
		Settings: policy.Settings{
			AckWords: cfg.Policy.AckWords, Officers: cfg.Policy.Officers, ConsentGrace: cfg.Policy.ConsentGrace,
			DefaultLanguage: cfg.Notify.DefaultLanguage, Company: cfg.Policy.Company, WelcomeTemplate: cfg.Policy.WelcomeTemplate,
			Location: notifyConfig(cfg, log).Location, ConsentPolicy: cfg.Policy.ConsentPolicy, ConsentPolicyURL: cfg.Policy.ConsentPolicyURL,
		},
		Logger: log,
	}
}

// notifyConfig is notify's share of the config.
func notifyConfig(cfg *config.Config, log *slog.Logger) notify.Config {
	loc := zone(cfg.Notify.TimeZone)
	return notify.Config{
		Scope: wecom.AppMessages,
		MemberWindows: []store.RateWindow{
			{Period: time.Minute, Limit: cfg.Notify.MemberPerMinute},
			{Period: time.Hour, Limit: cfg.Notify.MemberPerHour},
		},
		DailyQuota:             cfg.Notify.DailyQuota,
		Location:               loc,
		DuplicateCheckInterval: cfg.Notify.DuplicateCheckInterval,
		SendDeadline:           cfg.Notify.SendDeadline,
		CardBatch:              cfg.Notify.CardBatch,
		Disclosure:             disclosure(cfg.Disclosure),
		Logger:                 log,
	}
}

// disclosure is [disclosure] as the templates show it; nil when the
// section is not set (the texts then say nothing of it, and check warns).
func disclosure(d config.Disclosure) *templates.Disclosure {
	if !d.Set() {
		return nil
	}
	return &templates.Disclosure{Controller: d.Controller, Contact: d.Contact, Purpose: d.Purpose,
		Retention: d.Retention, RightsURL: d.RightsURL}
}

// openStore opens the configured store on the clock now (Redis keeps
// its leases and deliveries on its own clock).
// busy, if not nil, tells the embedded store that callbacks are
// arriving fast (embedded.Options.Busy).
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time, busy func() bool) (store.Store, error) {
	q := store.QueueOptions{Lease: cfg.Store.Lease, MaxAttempts: cfg.Store.MaxAttempts, DedupTTL: cfg.Store.DedupTTL}
	switch cfg.Store.Backend {
	case "redis":
		return redisstore.Open(ctx, redisstore.Options{
			URL:            cfg.Store.RedisURL.Reveal(),
			Namespace:      cfg.WeCom.CorpID,
			Queue:          q,
			Logger:         log,
			Durability:     redisstore.Durability(cfg.Store.RedisDurability),
			MinReplicas:    cfg.Store.RedisMinReplicas,
			ReplicaTimeout: cfg.Store.RedisReplicaTimeout,
			// Each worker's reads and writes, its event log entry and ack
			// written beside them, the callbacks and the jobs.
			PoolSize: 2 * cfg.Workers.Count,
			Now:      now,
		})
	default:
		return embedded.Open(cfg.Store.Path, embedded.Options{
			Queue:      q,
			BatchDelay: cfg.Store.BatchDelay,
			Busy:       busy,
			Now:        now,
			Logger:     log,
		})
	}
}

// run serves on ln until ctx ends, then shuts down gracefully: stop
// accepting and finish in-flight requests, let the workers finish the
// event in hand and give back what they claimed, close the store.
func (a *app) run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       a.cfg.Server.ReadTimeout,
		WriteTimeout:      a.cfg.Server.WriteTimeout,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		a.pool.Run(workCtx)
	}()
	a.jobs.Start(workCtx)
	if a.rules != nil {
		go a.rules.watch(workCtx)
	}
	archiveDone := make(chan struct{})
	if a.archive != nil {
		go func() {
			defer close(archiveDone)
			a.archive.run(workCtx, a.store, processHolder(), a.cfg.Jobs.Lease)
		}()
	} else {
		close(archiveDone)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	urls := make([]string, 0, len(a.cfg.WeCom.Callbacks))
	for _, cb := range a.cfg.WeCom.Callbacks {
		urls = append(urls, "http://"+ln.Addr().String()+cb.Path)
	}
	a.log.Info("serving", "addr", ln.Addr().String(), "callbacks", strings.Join(urls, " "),
		"store", a.cfg.Store.Backend, "workers", a.cfg.Workers.Count)

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout)
	defer cancel()
	jobsDone := a.jobs.Stop() // first: no new runs while the rest stops
	if serr := srv.Shutdown(sctx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		a.log.Warn("http shutdown", "err", serr)
	}
	select {
	case <-jobsDone.Done():
	case <-sctx.Done():
		a.log.Warn("jobs did not finish within the shutdown timeout; their leases will expire and another replica (or the next start) takes their runs over")
	}
	stopWork()
	select {
	case <-workDone:
	case <-sctx.Done():
		a.log.Warn("workers did not finish within the shutdown timeout; their leases will bring the events back")
	}
	select {
	case <-archiveDone:
	case <-sctx.Done():
		a.log.Warn("the archive puller did not stop within the shutdown timeout; a page it was storing is stored whole or not at all")
	}
	a.close()
	a.log.Info("stopped")
	return err
}

func (a *app) close() {
	if a.archive != nil {
		a.archive.close()
	}
	if err := a.store.Close(); err != nil {
		a.log.Warn("close store", "err", err)
	}
}

// jobDeps are what the cron jobs are built from. proc is nil when
// wecom.secret is not set; now nil is time.Now.
type jobDeps struct {
	cfg     *config.Config
	store   store.Store
	archive *archiveParts // nil when archive.enabled is off
	proc    *processor.Processor
	// intercept is the intercept sync's run, nil when no desired rules
	// are configured (appOptions.InterceptRules).
	intercept jobs.Func
	log       *slog.Logger
	now       func() time.Time
}

// newScheduler builds the cron with every job of registerJobs.
func newScheduler(d jobDeps, reg prometheus.Registerer) (*jobs.Scheduler, error) {
	s, err := jobs.New(d.store, jobs.Config{
		Location: zone(d.cfg.Jobs.TimeZone),
		Lease:    d.cfg.Jobs.Lease,
		Timeout:  d.cfg.Jobs.Timeout,
		Now:      d.now,
		Logger:   d.log, // Holder: jobs' default, hostname-pid
	}, reg)
	if err != nil {
		return nil, err
	}
	if err := registerJobs(s, d); err != nil {
		return nil, err
	}
	return s, nil
}

// jobsLocation is the zone of the cron specs and of the working calendar.
func jobsLocation(cfg *config.Config) *time.Location { return zone(cfg.Jobs.TimeZone) }

// zone is a configured time zone. config.Load has loaded it already, and
// the binary embeds the zone database (time/tzdata), so it cannot fail
// but by a bug.
func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("time zone %q passed config validation but does not load: %v", name, err))
	}
	return loc
}

// registerJobs adds the cron jobs to s, each on its spec from [jobs] (""
// adds it off). Retention needs the store alone; the jobs that act on
// obligations, send or call WeCom need the processor, which exists when
// wecom.secret is set.
func registerJobs(s *jobs.Scheduler, d jobDeps) error {
	if err := s.Add(retentionJob(d)); err != nil {
		return err
	}
	if d.proc != nil {
		for _, j := range []jobs.Job{
			{Name: "reminders", Spec: d.cfg.Jobs.Reminders, Run: d.proc.Remind},
			{Name: "digest", Spec: d.cfg.Jobs.Digest, Run: digestSinceLast(s, d.proc)}, // to the compliance officers and owners
			{Name: "reconcile", Spec: d.cfg.Jobs.Reconcile, Run: reconcileJob(d)},
			// Supervision alerts left open: on the reminders' schedule.
			{Name: "alert_escalation", Spec: d.cfg.Jobs.Reminders, Run: d.proc.EscalateAlerts},
		} {
			if err := s.Add(j); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileJob is the reconcile job: the processor's reconciliation,
// then, when desired intercept rules are configured, the intercept sync
// (its counts are intercept_*). The sync runs even if reconciliation
// failed; both errors are returned.
func reconcileJob(d jobDeps) jobs.Func {
	if d.intercept == nil {
		return d.proc.Reconcile
	}
	return func(ctx context.Context, now time.Time) (map[string]int, error) {
		counts, err := d.proc.Reconcile(ctx, now)
		if counts == nil {
			counts = map[string]int{}
		}
		ic, ierr := d.intercept(ctx, now)
		maps.Copy(counts, ic)
		return counts, errors.Join(err, ierr)
	}
}

// digestSinceLast is the digest job: it reports on the window since the
// last digest made (the day before, when none was).
func digestSinceLast(s *jobs.Scheduler, proc *processor.Processor) jobs.Func {
	return func(ctx context.Context, now time.Time) (map[string]int, error) {
		last, ok, err := s.LastOK(ctx, "digest", now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return proc.Digest(ctx, now)
		}
		return proc.DigestSince(ctx, last, now)
	}
}

// departmentNames names departments for the admin API's officer exports
// and the console, one cache for both: WeCom's department/list, kept for
// ten minutes; on an error the last names stay in use.
type departmentNames struct {
	client *wecom.Client
	now    func() time.Time

	mu    sync.Mutex
	names map[int64]string
	at    time.Time
}

const departmentNamesTTL = 10 * time.Minute

func (d *departmentNames) DepartmentNames(ctx context.Context) (map[int64]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names != nil && d.now().Sub(d.at) < departmentNamesTTL {
		return d.names, nil
	}
	ds, err := d.client.ListDepartments(ctx, 0)
	if err != nil {
		if d.names != nil {
			return d.names, nil
		}
		return nil, err
	}
	names := make(map[int64]string, len(ds))
	for _, x := range ds {
		names[int64(x.ID)] = x.Name
	}
	d.names, d.at = names, d.now()
	return names, nil
}

// jobLister shows the scheduler's jobs to the admin API.
type jobLister struct{ s *jobs.Scheduler }

func (l jobLister) Jobs() []handlers.JobInfo {
	infos := l.s.Jobs()
	out := make([]handlers.JobInfo, len(infos))
	for i, j := range infos {
		out[i] = handlers.JobInfo{Name: j.Name, Spec: j.Spec, Off: j.Off, Next: j.Next}
	}
	return out
}

// applyGCPercent sets the garbage collector's target to pct, unless GOGC
// is set in environ: the runtime has then applied it already, and an
// operator's GOGC wins over the config file. (An empty GOGC is unset to
// the runtime, and so here.) It reports whether it set it.
func applyGCPercent(pct int, environ []string) bool {
	for _, kv := range environ {
		if strings.HasPrefix(kv, "GOGC=") && kv != "GOGC=" {
			return false
		}
	}
	debug.SetGCPercent(pct)
	return true
}
