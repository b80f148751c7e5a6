package handlers

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/store"
)

type metrics struct {
	callbacks *prometheus.CounterVec
	enqueue   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, q store.Queue) (*metrics, error) {
	m := &metrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_callbacks_total",
			Help: "WeCom callbacks received, by receiver, HTTP status and event kind (none when it was not decoded).",
		}, []string{"receiver", "status", "kind"}),
		enqueue: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wecomply_enqueue_duration_seconds",
			Help:    "Time to store an accepted callback durably (the part of the callback spent in the store).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs … 3.3s
		}),
	}
	collectors := []prometheus.Collector{m.callbacks, m.enqueue, queueCollector{q}}
	if l, ok := q.(ingressLog); ok {
		collectors = append(collectors, logCollector{l})
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("handlers: register metrics: %w", err)
		}
	}
	return m, nil
}

// queueCollector reports the queue's depth at scrape time.
type queueCollector struct{ q store.Queue }

var (
	queueDesc = prometheus.NewDesc("wecomply_queue_entries",
		"Events in the queue by state: ready (waiting), leased (with a worker) and dead (dead letters after their last failed attempt).",
		[]string{"state"}, nil)
	queueUpDesc = prometheus.NewDesc("wecomply_queue_stats_up",
		"1 if the queue could be counted at this scrape, 0 if the store did not answer.", nil, nil)
)

func (queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- queueUpDesc
}

func (qc queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := qc.q.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.Ready), "ready")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.Leased), "leased")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(st.Dead), "dead")
}

// ingressLog is a store with an ingress log of its own (the embedded
// store's).
type ingressLog interface {
	IngressLogStats() store.IngressLogStats
}

// logCollector reports the ingress log's flushes: how many callbacks
// share an fdatasync and how long the disk takes for one, which is what
// a callback's 200 waits for.
type logCollector struct{ l ingressLog }

var (
	logFlushesDesc = prometheus.NewDesc("wecomply_ingress_log_flushes_total",
		"Flushes of the embedded store's ingress log: a write and an fdatasync that make every entry enqueued meanwhile (callbacks, and the jobs the workers queue) durable together.", nil, nil)
	logRecordsDesc = prometheus.NewDesc("wecomply_ingress_log_records_total",
		"Entries made durable by those flushes (divided by the flushes: how many share an fdatasync).", nil, nil)
	logSecondsDesc = prometheus.NewDesc("wecomply_ingress_log_flush_seconds_total",
		"Time those flushes took, in all (divided by the flushes: the disk's time for one).", nil, nil)
)

func (logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logFlushesDesc
	ch <- logRecordsDesc
	ch <- logSecondsDesc
}

func (lc logCollector) Collect(ch chan<- prometheus.Metric) {
	st := lc.l.IngressLogStats()
	ch <- prometheus.MustNewConstMetric(logFlushesDesc, prometheus.CounterValue, float64(st.Flushes))
	ch <- prometheus.MustNewConstMetric(logRecordsDesc, prometheus.CounterValue, float64(st.Records))
	ch <- prometheus.MustNewConstMetric(logSecondsDesc, prometheus.CounterValue, st.FlushTime.Seconds())
}

// callbackCounters caches one receiver's children of the callbacks
// counter by status and kind: WithLabelValues would hash the labels and
// format the status on every callback.
type callbackCounters struct {
	vec *prometheus.CounterVec // curried with the receiver
	mu  sync.RWMutex
	m   map[counterKey]prometheus.Counter
}

type counterKey struct {
	status int
	kind   string
}

func newCallbackCounters(vec *prometheus.CounterVec, receiver string) *callbackCounters {
	return &callbackCounters{
		vec: vec.MustCurryWith(prometheus.Labels{"receiver": receiver}),
		m:   map[counterKey]prometheus.Counter{},
	}
}

// get returns the counter of a status and kind, creating it once.
func (c *callbackCounters) get(status int, kind string) prometheus.Counter {
	k := counterKey{status, kind}
	c.mu.RLock()
	ctr, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return ctr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctr, ok := c.m[k]; ok {
		return ctr
	}
	ctr = c.vec.WithLabelValues(strconv.Itoa(status), kind)
	c.m[k] = ctr
	return ctr
}
