// Package redis implements store.Store on Redis (go-redis v9), for any
// number of wecomply replicas sharing one Redis, Redis Cluster or managed
// Redis (7.0 or later: XAUTOCLAIM with its deleted-ids reply).
//
// Keys are "wecomply:{NAMESPACE}:…", NAMESPACE being the corp id: the hash
// tag puts every key of one corp in one Redis Cluster slot, so the Lua
// scripts that touch several of them run on a cluster too.
//
//	…:events            stream of queue entries; consumer group "workers"
//	…:scheduled         zset  of entries enqueued with a NotBefore to come,
//	                    scored by not-before ms; the claim script moves
//	                    them into events when due
//	…:scheduled:seq     counter that keeps scheduled members unique
//	…:dead              stream of dead letters
//	…:deadidx           hash  entry id → the dead letter's id in dead
//	…:attempts          hash  entry id → failed attempts
//	…:lasterr           hash  entry id → last error
//	…:returned          hash  entry id → not-before ms (given back by Fail/Release/Postpone)
//	…:dedup:KEY         string, expires after DedupTTL
//	…:log               hash  dedup key → LogEntry JSON
//	…:log:all           zset  of log members scored by received_at µs
//	…:log:kind:KIND     zset, the same for one kind
//	…:log:seq           counter that orders log entries with equal received_at
//	…:lease:NAME        string holder, expires with the lease
//	…:token:APP         string "expires-at ms|token", expires with the token
//	…:booked:UNIT       string, a booked send unit; expires after MarkerTTL
//	…:sends:SCOPE:USER  zset  of a member's sends, scored by ms; expires when
//	                    the longest window no longer needs them
//	…:quota:SCOPE:DAY   counter of a day's person-times (DAY yyyymmdd);
//	                    expires a day after the day
//	…:results:NOTICE    hash  user id → RecipientResult JSON
//	…:resultsat         zset  of (notice, user) tuples scored by the
//	                    result's At µs: what retention walks (see
//	                    PutSendResults for results written before it)
//
// and the compliance records, whose keys and index members are tuples
// encoded by store/internal/index, so that byte order (ZRANGE … BYLEX) is
// listing order; KEY is a record's primary key:
//
//	…:obl               hash  KEY (notice, version, user) → Obligation JSON
//	…:obl:idx           zset  of KEY, all scores 0: by (notice, version, user)
//	…:obl:user          zset  of (user) ‖ KEY: one person's obligations
//	…:obl:status        zset  of (status) ‖ KEY: one status (within a notice)
//	…:obl:count:NOTICE:VERSION  hash status → count of the notice version
//	…:obl:due:NOTICE:VERSION    zset  of due entries (index.DueScan), all
//	                    scores 0: the notice version's obligations by
//	                    when the reminder run may act on them (due.go)
//	…:obl:duefor        hash  due index key → the cadence it is built for,
//	                    "cadence|token" while it is built, "" when stale
//	…:att               hash  KEY (notice, version, user[, round]) → Attestation
//	                    JSON; round 0's KEY has no round field
//	…:att:idx           zset  of KEY
//	…:att:user          zset  of (user) ‖ KEY
//	…:consent           hash  KEY (user, external user) → Consent JSON
//	…:consent:status    hash  KEY → (status), what the status index holds
//	…:consent:idx       zset  of KEY
//	…:consent:bystatus  zset  of (status) ‖ KEY
//	…:people            hash  user id → Person JSON
//	…:people:idx        zset  of user ids
//	…:claims:CLAIMKEY   hash  user id → owner
//	…:claimsat          zset  of (claim key, user) tuples scored by the
//	                    claim's time µs: what retention walks
//	…:audit             zset  of AuditEntry JSON scored by Seq
//	…:audit:head        string "SEQ HASH" of the last entry appended
//	…:audit:ids         hash  entry id → Seq
//	…:jobrun            hash  KEY (job, scheduled µs) → JobRun JSON; the
//	                    last 1,000 runs of each job
//	…:jobrun:idx        zset  of KEY, all scores 0: each job's runs, in
//	                    time order (KEY starts with the job)
//	…:replsync          counter, incremented before each WAIT (replicas mode)
//
// SCOPE and NOTICE are escaped with "%" and ":" as %25 and %3A, so that
// they end at the next ":".
//
// Durability is Options.Durability's (store.redis_durability): by default
// ("fsync") Open requires a server that fsyncs its append-only file
// before it answers, so an event Enqueue accepted survives a crash of
// Redis; "replicas" makes Enqueue wait until replicas have the event
// (one WAIT per pipeline batch, after an INCR of …:replsync that makes
// the WAIT cover duplicates found too); "everysec" accepts about a
// second of loss; "trust" checks nothing. See durability.go.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

var _ store.Store = (*Store)(nil)

// group is the consumer group every replica's workers share.
const group = "workers"

// Options configure a Redis store.
type Options struct {
	// URL is the server, redis://[[user]:password@]host:port/db (or
	// rediss:// for TLS); see goredis.ParseURL. Its password never
	// appears in errors or logs.
	URL string
	// Namespace separates corps sharing a Redis; the corp id. Required.
	Namespace string
	// Queue are the queue settings (lease, max attempts, dedup TTL).
	Queue store.QueueOptions
	// Logger receives Open's warnings and what a background read cannot
	// return. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock that cached tokens' expiry times are read on (the
	// caller's: they are its times). Leases, deliveries and the other
	// expiries run on Redis's clock. Default time.Now.
	Now func() time.Time
	// Durability is what a nil error from Enqueue promises if Redis dies
	// (store.redis_durability); "" is DurabilityFsync, which Open checks
	// the server for.
	Durability Durability
	// MinReplicas is how many replicas must acknowledge an enqueued event
	// with DurabilityReplicas (store.redis_min_replicas); 1 or more.
	MinReplicas int
	// ReplicaTimeout bounds the wait for them (store.redis_replica_timeout;
	// default 1s, at most maxReplicaTimeout).
	ReplicaTimeout time.Duration
	// PoolSize is the most connections the client keeps, unless the URL
	// sets pool_size: as many as there are goroutines waiting on Redis at
	// once (every worker), or the workers queue for a connection. 0:
	// go-redis's default, 10 per CPU.
	PoolSize int
}

// Pipelining: a few senders, each sending what is waiting as one pipeline.
const (
	pipelineSenders  = 4
	pipelineMaxBatch = 128
	pipelineTimeout  = 10 * time.Second
)

// Store is a store.Store on Redis. Create it with Open.
type Store struct {
	client  *goredis.Client
	pipe    *pipeliner // Enqueue, Ack and AppendEventLog go through it
	q       store.QueueOptions
	k       keys
	log     *slog.Logger
	secrets []string // what redact removes from error texts
	now     func() time.Time
	poll    time.Duration
	// lastReclaim is when (UnixNano) a Claim last ran the claim script;
	// the next run is due s.poll later (see Claim).
	lastReclaim atomic.Int64
	// consumers are the consumer names Claim was called with (a set).
	consumers sync.Map

	closed  atomic.Bool
	done    chan struct{}  // closed by Close
	mu      sync.Mutex     // orders readers.Add before Close's readers.Wait
	readers sync.WaitGroup // blocking reads in flight

	// due is the schedule of the due index (IndexDue), nil before the
	// first call.
	due atomic.Pointer[index.Schedule]

	audit *auditAppender // AppendAudit goes through it
	// auditConflicts counts audit transactions that another replica beat
	// to the head (they were tried again).
	auditConflicts atomic.Int64
}

type keys struct {
	prefix, events, dead, attempts, lastErr, returned, log, logAll, logSeq string
	scheduled, scheduledSeq                                                string
	resultsAt                                                              string

	obl, oblIdx, oblUser, oblStatus, oblDueFor          string
	att, attIdx, attUser                                string
	consent, consentStatus, consentIdx, consentByStatus string
	people, peopleIdx                                   string
	audit, auditHead, auditIDs                          string
	jobRun, jobRunIdx                                   string
	replSync                                            string
	intercept                                           string // intercept.go
}

func newKeys(namespace string) keys {
	p := "wecomply:{" + namespace + "}:"
	return keys{
		prefix:       p,
		events:       p + "events",
		dead:         p + "dead",
		attempts:     p + "attempts",
		lastErr:      p + "lasterr",
		returned:     p + "returned",
		log:          p + "log",
		logAll:       p + "log:all",
		logSeq:       p + "log:seq",
		scheduled:    p + "scheduled",
		scheduledSeq: p + "scheduled:seq",
		// Not "results:…": that is a notice's hash, and a notice key
		// may be anything.
		resultsAt: p + "resultsat",

		obl:             p + "obl",
		oblIdx:          p + "obl:idx",
		oblUser:         p + "obl:user",
		oblStatus:       p + "obl:status",
		oblDueFor:       p + "obl:duefor",
		att:             p + "att",
		attIdx:          p + "att:idx",
		attUser:         p + "att:user",
		consent:         p + "consent",
		consentStatus:   p + "consent:status",
		consentIdx:      p + "consent:idx",
		consentByStatus: p + "consent:bystatus",
		people:          p + "people",
		peopleIdx:       p + "people:idx",
		audit:           p + "audit",
		auditHead:       p + "audit:head",
		auditIDs:        p + "audit:ids",
		jobRun:          p + "jobrun",
		jobRunIdx:       p + "jobrun:idx",
		replSync:        p + "replsync",
		intercept:       p + "intercept",
	}
}

// oblDue is a notice version's due index (see due.go).
func (k keys) oblDue(noticeID string, version int) string {
	return k.prefix + "obl:due:" + escapeScope(noticeID) + ":" + strconv.Itoa(version)
}

// oblCount is the counters of a notice version's obligations by status.
func (k keys) oblCount(noticeID string, version int) string {
	return k.prefix + "obl:count:" + escapeScope(noticeID) + ":" + strconv.Itoa(version)
}

// claims is a claim key's claimed users (the claim key is the key's last
// part, so it needs no escaping).
func (k keys) claims(key string) string { return k.prefix + "claims:" + key }

func (k keys) dedup(key string) string      { return k.prefix + "dedup:" + key }
func (k keys) logKind(kind string) string   { return k.prefix + "log:kind:" + kind }
func (k keys) lease(name string) string     { return k.prefix + "lease:" + name }
func (k keys) token(app string) string      { return k.prefix + "token:" + app }
func (k keys) booked(unit string) string    { return k.prefix + "booked:" + unit }
func (k keys) results(notice string) string { return k.prefix + "results:" + notice }

func (k keys) sends(scope, member string) string {
	return k.prefix + "sends:" + escapeScope(scope) + ":" + member
}

func (k keys) quota(scope, day string) string {
	return k.prefix + "quota:" + escapeScope(scope) + ":" + day
}

var scopeEscaper = strings.NewReplacer("%", "%25", ":", "%3A")

// escapeScope makes scope free of ":", so that a key's scope part ends at
// the next one whatever the scope and member contain.
func escapeScope(scope string) string { return scopeEscaper.Replace(scope) }

// queue returns the KEYS of the queue scripts (see scripts.go).
func (k keys) queue() []string {
	return []string{k.events, k.attempts, k.lastErr, k.returned, k.dead, k.scheduled, k.deadIndex()}
}

// Open connects to Redis, checks it answers and persists as
// opts.Durability needs (see Durability), and creates the consumer group
// if needed.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Namespace == "" || strings.ContainsAny(opts.Namespace, "{}") {
		return nil, fmt.Errorf("redis: open: namespace %q: want the corp id, not empty and without braces", opts.Namespace)
	}
	if err := checkDurabilityOptions(&opts); err != nil {
		return nil, fmt.Errorf("redis: open: %w", err)
	}
	secrets := urlSecrets(opts.URL)
	ro, err := goredis.ParseURL(opts.URL)
	if err != nil {
		// The parser's error may quote the whole URL: keep only a
		// redacted text, and no chain to the original.
		return nil, fmt.Errorf("redis: open: invalid URL %s: %s", RedactURL(opts.URL), redactText(err.Error(), secrets))
	}
	if ro.Password != "" {
		secrets = append(secrets, ro.Password)
	}
	// A ctx deadline then bounds each command's socket I/O. (Cancellation
	// without a deadline does not interrupt a command in flight; Claim
	// handles that for its blocking read, see blockingRead.)
	ro.ContextTimeoutEnabled = true
	if opts.PoolSize > 0 && !urlSetsPoolSize(opts.URL) {
		ro.PoolSize = opts.PoolSize
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	q := opts.Queue.WithDefaults()
	s := &Store{
		client:  goredis.NewClient(ro),
		q:       q,
		k:       newKeys(opts.Namespace),
		log:     logger.With("store", "redis", "addr", ro.Addr, "db", ro.DB, "namespace", opts.Namespace),
		secrets: secrets,
		now:     opts.Now,
		poll:    min(max(q.Lease/4, 50*time.Millisecond), time.Second),
		done:    make(chan struct{}),
	}
	if err := s.client.Ping(ctx).Err(); err != nil {
		_ = s.client.Close()
		return nil, fmt.Errorf("redis: open: ping %s: %w", ro.Addr, s.redact(err))
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.client.Close()
		return nil, fmt.Errorf("redis: open: %w", err)
	}
	err = s.client.XGroupCreateMkStream(ctx, s.k.events, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		_ = s.client.Close()
		return nil, fmt.Errorf("redis: open: create consumer group: %w", s.redact(err))
	}
	if err := s.checkPersistence(ctx, opts.Durability); err != nil {
		_ = s.client.Close()
		return nil, fmt.Errorf("redis: open: %w", err)
	}
	var wait *replicaWait
	if opts.Durability == DurabilityReplicas {
		wait = &replicaWait{replicas: opts.MinReplicas, timeout: opts.ReplicaTimeout, syncKey: s.k.replSync}
	}
	s.pipe = newPipeliner(s.client, pipelineSenders, pipelineMaxBatch, pipelineTimeout, wait)
	s.audit = newAuditAppender(s, auditMaxBatch)
	return s, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("redis: ping: %w", store.ErrClosed)
	}
	if err := s.client.Ping(ctx).Err(); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Close waits for blocking reads in flight (at most about a second) and
// closes the client. Calls after Close return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed.CompareAndSwap(false, true) {
		s.mu.Unlock()
		return fmt.Errorf("redis: close: %w", store.ErrClosed)
	}
	close(s.done)
	s.mu.Unlock()
	s.readers.Wait()
	s.pipe.stop()
	s.audit.stop()
	s.forgetConsumers()
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", s.redact(err))
	}
	return nil
}

// forgetConsumers removes from the consumer group the consumers this
// store claimed for that hold nothing, so that the group's consumer list
// does not grow by a process's workers at every restart. A consumer that
// still holds entries stays: deleting it would drop them from the pending
// list, and its entries come back to others when their leases end.
func (s *Store) forgetConsumers() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.consumers.Range(func(name, _ any) bool {
		consumer := name.(string)
		p, err := s.client.XPendingExt(ctx, &goredis.XPendingExtArgs{
			Stream: s.k.events, Group: group, Start: "-", End: "+", Count: 1, Consumer: consumer,
		}).Result()
		if err == nil && len(p) == 0 {
			err = s.client.XGroupDelConsumer(ctx, s.k.events, group, consumer).Err()
		}
		if err != nil {
			s.log.Debug("forget consumer at close", "consumer", consumer, "err", s.redact(err))
		}
		return ctx.Err() == nil
	})
}

// check returns ErrClosed after Close.
func (s *Store) check(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("redis: %s: %w", op, store.ErrClosed)
	}
	return nil
}

// wrap names the operation, turns the client's "closed" into ErrClosed and
// removes secrets.
func (s *Store) wrap(op string, err error) error {
	if errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis: %s: %w", op, store.ErrClosed)
	}
	return fmt.Errorf("redis: %s: %w", op, s.redact(err))
}

// redactedError is an error whose text had secrets removed. It unwraps to
// the original so errors.Is still sees context.Canceled and the like.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with the URL's secrets removed from its text.
func (s *Store) redact(err error) error {
	msg := err.Error()
	if clean := redactText(msg, s.secrets); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

func redactText(text string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			text = strings.ReplaceAll(text, sec, "xxxxx")
		}
	}
	return text
}

// urlSecrets returns the password of a Redis URL, and, for a URL too
// malformed to parse, its whole user information.
func urlSecrets(raw string) []string {
	var out []string
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			userinfo := rest[:at]
			if _, pass, ok := strings.Cut(userinfo, ":"); ok {
				out = append(out, pass)
			}
			out = append(out, userinfo)
		}
	}
	return out
}

// RedactURL returns raw with its user information's password replaced by
// "xxxxx", safe to log.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(unparsable URL)"
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "xxxxx" + rest[at:]
	}
	return scheme + "://" + rest
}

// urlSetsPoolSize reports whether a Redis URL's query sets pool_size.
func urlSetsPoolSize(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has("pool_size")
}
