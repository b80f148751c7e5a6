package processor

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	actions *prometheus.CounterVec
	welcome prometheus.Histogram
	alerts  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_policy_actions_total",
			Help: "Actions policy decided and the processor applied, by action and reason.",
		}, []string{"action", "reason"}),
		welcome: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wecomply_welcome_send_seconds",
			Help:    "Time to send a welcome message once its event is being processed (the code expires 20 s after the event).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_supervision_alerts_raised_total",
			Help: "Supervision alerts raised (each message and rule version once), by severity.",
		}, []string{"severity"}),
	}
	for _, c := range []prometheus.Collector{m.actions, m.welcome, m.alerts} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("processor: register metrics: %w", err)
		}
	}
	return m, nil
}
