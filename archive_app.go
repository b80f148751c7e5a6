package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/archive"
	archembedded "github.com/wecomply/wecomply/archive/embedded"
	"github.com/wecomply/wecomply/blob"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// archiveParts is the session archive, wired: its backend, its keys, the
// puller (one per replica, pulling only while it holds the lease) and the
// reader that searches and exports for people.
type archiveParts struct {
	store archive.Store
	// media downloads media content; nil when archive.media is off.
	media         *archive.MediaFetcher
	mediaInterval time.Duration
	keys          *archive.Keys
	index         archive.IndexKey
	source        wecom.ArchiveSource
	puller        *archive.Puller
	reader        *archive.Archive
	log           *slog.Logger
}

// archiveLease is the lease name the puller holds among replicas.
const archiveLease = "archive.puller"

// openArchiveStore opens the configured archive backend.
func openArchiveStore(ctx context.Context, cfg *config.Config, now func() time.Time) (archive.Store, error) {
	a := cfg.Archive
	switch a.Backend {
	case "postgres":
		return openPostgresArchive(ctx, a.PostgresURL.Reveal(), now)
	default:
		if dir := filepath.Dir(a.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("archive.path: %w", err)
			}
		}
		st, err := archembedded.Open(a.Path, archembedded.Options{Now: now})
		if err != nil {
			return nil, fmt.Errorf("archive (embedded %s): %w", a.Path, err)
		}
		return st, nil
	}
}

// archiveKeys builds the sealing keys: the current master first, then the
// retired ones (by id, for a stable order).
func archiveKeys(cfg *config.Config, st archive.Store, now func() time.Time) (*archive.Keys, archive.IndexKey, error) {
	a := cfg.Archive
	raw, err := config.Key32(a.MasterKey)
	if err != nil {
		return nil, archive.IndexKey{}, fmt.Errorf("archive.master_key: %w", err)
	}
	cur, err := archive.NewMasterKey(a.MasterKeyID, raw)
	if err != nil {
		return nil, archive.IndexKey{}, fmt.Errorf("archive.master_key: %w", err)
	}
	masters := []archive.MasterKey{cur}
	ids := make([]string, 0, len(a.OldMasterKeys))
	for id := range a.OldMasterKeys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		raw, err := config.Key32(a.OldMasterKeys[id])
		if err != nil {
			return nil, archive.IndexKey{}, fmt.Errorf("archive.old_master_keys.%s: %w", id, err)
		}
		m, err := archive.NewMasterKey(id, raw)
		if err != nil {
			return nil, archive.IndexKey{}, fmt.Errorf("archive.old_master_keys.%s: %w", id, err)
		}
		masters = append(masters, m)
	}
	keys, err := archive.NewKeys(st, archive.KeysConfig{Masters: masters, Clock: now})
	if err != nil {
		return nil, archive.IndexKey{}, err
	}
	rawIdx, err := config.Key32(a.IndexKey)
	if err != nil {
		return nil, archive.IndexKey{}, fmt.Errorf("archive.index_key: %w", err)
	}
	idx, err := archive.NewIndexKey(rawIdx)
	if err != nil {
		return nil, archive.IndexKey{}, fmt.Errorf("archive.index_key: %w", err)
	}
	return keys, idx, nil
}

// sdkSource is the real archive source: the SDK (a binary built with
// -tags msgaudit), signed in with the archive secret, one client per key
// version.
func sdkSource(cfg *config.Config) (wecom.ArchiveSource, error) {
	a := cfg.Archive
	pems := make(map[uint32][]byte, len(a.PrivateKeys))
	for _, k := range a.PrivateKeys {
		pem, err := k.PrivateKeyPEM()
		if err != nil {
			return nil, err
		}
		pems[k.Version] = pem
	}
	src, err := wecom.NewSDKSource(wecom.SDKConfig{
		CorpID: cfg.WeCom.CorpID, Secret: cfg.WeCom.ArchiveSecret.Reveal(), PrivateKeys: pems,
		Proxy: a.Proxy, ProxyPassword: a.ProxyPassword.Reveal(), Timeout: a.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("archive source: %w", err)
	}
	return src, nil
}

// newArchive wires the archive over st (the main store: permit list,
// consents, leases, audit log). source nil means the SDK.
func newArchive(ctx context.Context, cfg *config.Config, st store.Store, source wecom.ArchiveSource, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (_ *archiveParts, err error) {
	ast, err := openArchiveStore(ctx, cfg, now)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ast.Close()
		}
	}()
	keys, idx, err := archiveKeys(cfg, ast, now)
	if err != nil {
		return nil, err
	}
	if source == nil {
		if source, err = sdkSource(cfg); err != nil {
			return nil, err
		}
	}
	log = log.With("component", "archive")
	// WeCom's permit list (with the archive secret) says whose internal
	// chats are kept.
	client, err := newClient(cfg, st, log, now)
	if err != nil {
		return nil, err
	}
	permits := &archive.PermitList{Clock: now, Fetch: func(ctx context.Context) ([]string, error) {
		return client.PermitUsers(ctx, 0)
	}}
	p := &archiveParts{store: ast, keys: keys, index: idx, source: source, log: log}
	p.puller = &archive.Puller{
		Source: source, Store: ast, Keys: keys, Index: idx,
		Ledger: &archive.StoreLedger{Main: st, Archive: ast, Permits: permits,
			Rooms: &archive.RoomAgreements{Clock: now, Fetch: client.CheckRoomAgree}},
		Alerts:          newArchiveAlerter(st, log, reg, now),
		Log:             log,
		Clock:           now,
		Limit:           cfg.Archive.BatchLimit,
		Interval:        cfg.Archive.PollInterval,
		HorizonFraction: cfg.Archive.HorizonAlert,
	}
	p.reader = &archive.Archive{Store: ast, Keys: keys, Index: idx, Audit: archive.StoreAuditor{Audit: st}, Clock: now}
	if m := cfg.Archive.Media; m.Enabled {
		blobs, err := openBlobs(ctx, m)
		if err != nil {
			return nil, err
		}
		p.reader.Blobs = blobs
		p.media = &archive.MediaFetcher{Source: source, Store: ast, Keys: keys, Blobs: blobs,
			Alerts: p.puller.Alerts, Log: log, Clock: now, MaxSize: int64(m.MaxSizeMB) << 20}
		p.mediaInterval = m.Interval
	}
	if reg != nil {
		reg.MustRegister(&archiveCollector{p: p})
	}
	return p, nil
}

// Waiting implements processor.Archive: a msgaudit_notify wakes the
// puller (coalesced; a replica without the lease ignores it — the
// holder's timer and its own wakes cover it).
func (p *archiveParts) Waiting(context.Context, time.Time) error {
	p.puller.Wake()
	return nil
}

// Status implements handlers.ArchiveReader.
func (p *archiveParts) Status(ctx context.Context) (archive.Status, error) {
	return p.puller.Status(ctx)
}

// Search implements handlers.ArchiveReader.
func (p *archiveParts) Search(ctx context.Context, actor string, q archive.SearchQuery) ([]archive.Result, string, error) {
	return p.reader.Search(ctx, actor, q)
}

func (p *archiveParts) close() {
	if err := p.source.Close(); err != nil {
		p.log.Warn("close archive source", "err", err)
	}
	if c, ok := p.reader.Blobs.(io.Closer); ok {
		if err := c.Close(); err != nil {
			p.log.Warn("close archive media store", "err", err)
		}
	}
	if err := p.store.Close(); err != nil {
		p.log.Warn("close archive store", "err", err)
	}
}

// run pulls while this replica holds the archive lease: one puller among
// replicas (two that race would lose nothing — a commit refuses a moved
// cursor — but would pull everything twice). The lease is renewed at a
// third of its time; when it is lost, the pull stops.
func (p *archiveParts) run(ctx context.Context, leases store.Leases, holder string, ttl time.Duration) {
	tick := time.NewTicker(max(ttl/3, 10*time.Millisecond))
	defer tick.Stop()
	var pulling *pullRun
	defer func() {
		pulling.stop()
		// A fresh context: ctx is done, and the next holder should not
		// wait for the lease to run out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := leases.ReleaseLease(rctx, archiveLease, holder); err != nil {
			p.log.Warn("release the archive lease", "err", err)
		}
	}()
	for {
		held, err := leases.AcquireLease(ctx, archiveLease, holder, ttl)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("archive lease", "err", err)
		}
		switch {
		case held && pulling == nil:
			pulling = p.startPulling(ctx)
			p.log.Info("archive puller started (this replica holds the lease)")
		case !held && pulling != nil:
			pulling.stop()
			pulling = nil
			p.log.Info("archive puller stopped: another replica holds the lease")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pullRun is one run of the puller, stopped when the lease is lost.
type pullRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (p *archiveParts) startPulling(ctx context.Context) *pullRun {
	pctx, cancel := context.WithCancel(ctx)
	r := &pullRun{cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.puller.Run(pctx); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Error("archive puller stopped", "err", err)
		}
	})
	if p.media != nil {
		wg.Go(func() { p.fetchMedia(pctx) })
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	return r
}

// mediaPage is how many downloads one FetchPending call takes on.
const mediaPage = 100

// fetchMedia downloads pending media every mediaInterval, page after page
// while there are more, under the same lease as the puller (two fetchers
// would download the same files).
func (p *archiveParts) fetchMedia(ctx context.Context) {
	t := time.NewTicker(p.mediaInterval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			done, failed, err := p.media.FetchPending(ctx, mediaPage)
			if err != nil {
				if ctx.Err() == nil {
					p.log.Error("archive media", "err", err)
				}
				break
			}
			if done+failed < mediaPage {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Media implements handlers.ArchiveReader: one media file's content,
// audited.
func (p *archiveParts) Media(ctx context.Context, actor, msgID, sdkFileID string, w io.Writer) error {
	return p.reader.Media(ctx, actor, msgID, sdkFileID, w)
}

// openBlobs opens the media blob store.
func openBlobs(ctx context.Context, m config.ArchiveMedia) (blob.Store, error) {
	if m.Store == "s3" {
		s, err := blob.NewS3(ctx, blob.S3Config{Endpoint: m.S3.Endpoint, Bucket: m.S3.Bucket, AccessKey: m.S3.AccessKey,
			SecretKey: m.S3.SecretKey.Reveal(), Region: m.S3.Region, TLS: m.S3.TLS, CreateBucket: m.S3.CreateBucket})
		if err != nil {
			return nil, fmt.Errorf("archive.media.s3: %w", err)
		}
		return s, nil
	}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("archive.media.dir: %w", err)
	}
	d, err := blob.OpenDir(m.Dir)
	if err != nil {
		return nil, fmt.Errorf("archive.media.dir: %w", err)
	}
	return d, nil
}

// stop cancels the run and waits for it; a nil run is not running.
func (r *pullRun) stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

// archiveAlerter raises the puller's alerts: an error in the log, a
// counter by kind, and an entry in the audit log (what officers review).
// detail never holds chat content or secrets (archive.Alerter).
type archiveAlerter struct {
	audit   store.Audit
	log     *slog.Logger
	now     func() time.Time
	counter *prometheus.CounterVec
}

func newArchiveAlerter(audit store.Audit, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *archiveAlerter {
	a := &archiveAlerter{audit: audit, log: log, now: now,
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_archive_alerts_total",
			Help: "Archive alerts raised, by kind (quarantine, gap, horizon, ip_not_allowed, expired, …).",
		}, []string{"kind"})}
	if reg != nil {
		reg.MustRegister(a.counter)
	}
	return a
}

// AuditArchiveAlert is the audit entry kind of an archive alert.
const AuditArchiveAlert = "archive.alert"

func (a *archiveAlerter) Alert(ctx context.Context, kind, detail string) {
	a.counter.WithLabelValues(kind).Inc()
	a.log.ErrorContext(ctx, "archive alert", "kind", kind, "detail", detail)
	data, _ := json.Marshal(map[string]string{"kind": kind, "detail": detail})
	if _, err := a.audit.AppendAudit(ctx, store.AuditEntry{
		ID: "archive-alert-" + randomHex(16), Kind: AuditArchiveAlert, Subject: kind, At: a.now(), Data: data,
	}); err != nil {
		a.log.WarnContext(ctx, "audit an archive alert", "kind", kind, "err", err)
	}
}

// archiveCollector exports the archive's status at each scrape.
type archiveCollector struct{ p *archiveParts }

var (
	archiveLagDesc = prometheus.NewDesc("wecomply_archive_lag_seconds",
		"How far the archive puller is behind the newest record it saw (0 when caught up).", nil, nil)
	archiveMessagesDesc = prometheus.NewDesc("wecomply_archive_messages_stored",
		"Archived messages in the archive store (content kept or withheld).", nil, nil)
	archiveWithheldDesc = prometheus.NewDesc("wecomply_archive_messages_withheld",
		"Archived messages kept without content (no consent, not on the permit list).", nil, nil)
	archiveQuarantineDesc = prometheus.NewDesc("wecomply_archive_quarantined",
		"Records that could not be decrypted or decoded, waiting for a retry.", nil, nil)
	archiveGapsDesc = prometheus.NewDesc("wecomply_archive_gaps",
		"Jumps in seq the puller saw.", nil, nil)
)

func (c *archiveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{archiveLagDesc, archiveMessagesDesc, archiveWithheldDesc, archiveQuarantineDesc, archiveGapsDesc} {
		ch <- d
	}
}

func (c *archiveCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.p.Status(ctx)
	if err != nil {
		c.p.log.Warn("archive status for metrics", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(archiveLagDesc, prometheus.GaugeValue, s.LagSeconds)
	ch <- prometheus.MustNewConstMetric(archiveMessagesDesc, prometheus.GaugeValue, float64(s.Messages))
	ch <- prometheus.MustNewConstMetric(archiveWithheldDesc, prometheus.GaugeValue, float64(s.Withheld))
	ch <- prometheus.MustNewConstMetric(archiveQuarantineDesc, prometheus.GaugeValue, float64(s.Quarantined))
	ch <- prometheus.MustNewConstMetric(archiveGapsDesc, prometheus.GaugeValue, float64(s.Gaps))
}

// holdKeep is the purge's keep function: a message survives while an
// active legal hold names one of its parties or its room.
func holdKeep(holds []store.Hold, now time.Time) func(archive.Message) bool {
	held := store.HoldSet{}
	for _, h := range holds {
		if h.Active(now) {
			held[h.Subject] = true
		}
	}
	if len(held) == 0 {
		return nil
	}
	return func(m archive.Message) bool {
		return held.Has(m.From, m.RoomID, m.MsgID) || held.Has(m.ToList...)
	}
}

// purgeArchive deletes the archive's days older than retention.archive_days
// (0: never), shredding their keys unless a hold keeps a message.
func purgeArchive(ctx context.Context, p *archiveParts, holds store.Holds, days int, now time.Time) (deleted, shredded int, err error) {
	if days <= 0 {
		return 0, 0, nil
	}
	cutoff := archive.KeyDay(now.Add(-config.Period(days)))
	list, err := p.store.Days(ctx)
	if err != nil {
		return 0, 0, err
	}
	hs, err := holds.ListHolds(ctx)
	if err != nil {
		return 0, 0, err
	}
	keep := holdKeep(hs, now)
	for _, day := range list {
		if strings.Compare(day, cutoff) >= 0 {
			break
		}
		n, shred, err := p.reader.PurgeDay(ctx, "retention", day, keep)
		if err != nil {
			return deleted, shredded, fmt.Errorf("purge archive day %s: %w", day, err)
		}
		deleted += n
		if shred {
			shredded++
		}
	}
	return deleted, shredded, nil
}
