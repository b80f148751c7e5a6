// Package handlers holds wecomply's HTTP surface: the WeCom callback
// receivers, the admin API, health and metrics. Handlers do the minimum
// on the request path and leave slow work to the workers.
package handlers

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// openAPI is the OpenAPI 3 description of /api/v1, served at
// /api/v1/openapi.json. TestOpenAPIMatchesRoutes holds it to the routes,
// and every answer of the routes to its schemas.
//
//go:embed openapi.json
var openAPI []byte

// Receiver is one configured WeCom callback receiver.
type Receiver struct {
	Name   string // label for logs and metrics
	Path   string // URL path
	Cipher *wecom.Cipher
}

// Store is what the handlers need of the store.
type Store interface {
	store.Queue
	store.EventLog
	store.SendResults
	PolicyStore
	JobRunLister
	store.Holds
	store.Alerts
	Ping(ctx context.Context) error
}

// Options are the dependencies and settings of the HTTP surface.
type Options struct {
	Receivers []Receiver
	Store     Store
	// Notify records ad-hoc notices (POST /api/v1/sends); nil disables
	// the sends API.
	Notify Submitter
	// Notices are the configured notices (GET /api/v1/notices).
	Notices []policy.Notice
	// Jobs lists the configured cron jobs (GET /api/v1/jobs); nil lists
	// none.
	Jobs JobLister
	// Archive serves /api/v1/archive/…; nil (the archive is off) answers
	// those routes 404.
	Archive ArchiveReader
	// Location is the time zone of the officer CSV exports
	// (cfg.Console.Location()); nil is Asia/Shanghai.
	Location *time.Location
	// Departments names departments in the officer CSV exports; nil
	// shows their ids.
	Departments DepartmentNamer
	// AlertContext is how many messages around a hit GET
	// /api/v1/alerts/:id reads from Archive.
	AlertContext AlertContext
	// AdminTokens are the bearer tokens accepted by /api/v1; none locks it.
	AdminTokens []string
	// TimestampWindow is how far a callback timestamp may be from Now.
	TimestampWindow time.Duration
	// MaxBodyBytes bounds a callback body (413 beyond).
	MaxBodyBytes int64
	// EnqueueTimeout bounds the wait for the store on the callback path;
	// WeCom gives up after 5 s.
	EnqueueTimeout time.Duration
	// EvidenceKey, when set, is served at
	// /.well-known/wecomply-evidence.pub (the PEM of the key evidence packs
	// are signed with, for examiners); nil answers that route 404.
	EvidenceKey []byte
	// BaselineRoute adds Path+"/baseline" per receiver: verify, decrypt
	// and decode, persist nothing. For load tests only.
	BaselineRoute bool
	// Arrived, if set, is called for every callback that passed its
	// signature and decrypts, before it is enqueued: the worker pool
	// yields the store to callbacks while they arrive (worker.Config.Yield).
	// Only WeCom's own callbacks count: a forged one cannot slow the
	// workers down.
	Arrived    func()
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// EvidenceKeyPath is where the evidence packs' public key is served.
const EvidenceKeyPath = "/.well-known/wecomply-evidence.pub"

// New builds the Gin engine with every route.
func New(o Options) (*gin.Engine, error) {
	if o.Store == nil || o.Logger == nil || o.Registerer == nil || o.Gatherer == nil {
		return nil, errors.New("handlers: Store, Logger, Registerer and Gatherer are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.EnqueueTimeout <= 0 {
		o.EnqueueTimeout = 3 * time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	m, err := newMetrics(o.Registerer, o.Store)
	if err != nil {
		return nil, err
	}

	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = true
	seen := map[string]bool{}
	for _, rc := range o.Receivers {
		if rc.Cipher == nil || seen[rc.Path] {
			return nil, fmt.Errorf("handlers: receiver %q: missing cipher or duplicate path", rc.Path)
		}
		seen[rc.Path] = true
		cb := newCallback(rc, &o, m, false)
		r.GET(rc.Path, cb.verifyURL)
		r.POST(rc.Path, cb.receive)
		if o.BaselineRoute {
			brc := rc
			brc.Name = rc.Name + "/baseline"
			base := newCallback(brc, &o, m, true)
			r.POST(rc.Path+"/baseline", base.receive)
		}
	}

	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := o.Store.Ping(ctx); err != nil {
			o.Logger.Warn("readiness: store unreachable", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "store": "unreachable"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok", "store": "ok"})
	})
	if o.EvidenceKey != nil {
		r.GET(EvidenceKeyPath, func(c *gin.Context) {
			c.Data(http.StatusOK, "application/x-pem-file", o.EvidenceKey)
		})
	}
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})))

	// The API's description is public: it holds no data, and a client
	// reads it before it has a token.
	r.GET("/api/v1/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })
	api := r.Group("/api/v1", bearer(o.AdminTokens))
	ev := &eventsAPI{log: o.Store, logger: o.Logger}
	api.GET("/events", ev.list)
	pol := &policyAPI{st: o.Store, notices: o.Notices, loc: o.Location, depts: o.Departments, logger: o.Logger}
	api.GET("/notices", pol.listNotices)
	api.GET("/obligations", pol.listObligations)
	api.GET("/attestations", pol.listAttestations)
	api.GET("/people/:userid", pol.getPerson)
	api.GET("/consents", pol.listConsents)
	api.GET("/audit", pol.listAudit)
	api.GET("/audit/verify", pol.verifyAudit)
	jobs := &jobsAPI{jobs: o.Jobs, runs: o.Store, logger: o.Logger}
	api.GET("/jobs", jobs.list)
	holds := newHoldsAPI(o.Store, o.Now, o.Logger)
	api.GET("/holds", holds.list)
	api.POST("/holds", holds.create)
	api.DELETE("/holds/:id", holds.release)
	alerts := &alertsAPI{st: o.Store, archive: o.Archive, context: o.AlertContext, now: o.Now, logger: o.Logger}
	api.GET("/alerts", alerts.list)
	api.GET("/alerts/:id", alerts.get)
	api.POST("/alerts/:id/decision", alerts.decide)
	dead := &deadLettersAPI{st: o.Store, now: o.Now, logger: o.Logger}
	if o.Archive != nil {
		arch := &archiveAPI{ar: o.Archive, opts: &o}
		api.GET("/archive/status", arch.status)
		api.GET("/archive/messages", arch.messages)
		api.GET("/archive/conversations/:id", arch.conversation)
		api.GET("/archive/media", arch.media)
	}
	api.GET("/dead-letters", dead.list)
	api.GET("/dead-letters/:id", dead.get)
	api.POST("/dead-letters/:id/retry", dead.retry)
	api.DELETE("/dead-letters/:id", dead.drop)
	if o.Notify != nil {
		sends := &sendsAPI{notify: o.Notify, results: o.Store, logger: o.Logger}
		api.POST("/sends", sends.submit)
		api.GET("/sends/:key", sends.list)
	}
	return r, nil
}
