package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	submitted  prometheus.Counter
	sends      *prometheus.CounterVec
	recipients *prometheus.CounterVec
	postponed  *prometheus.CounterVec
	cards      *prometheus.CounterVec
	welcomes   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		submitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wecomply_notify_submitted_recipients_total",
			Help: "Recipients of submitted notices (after dropping those who already had the same content).",
		}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_notify_sends_total",
			Help: "message/send calls by outcome: ok, retry (transient error, retried with backoff), wait_window (45009/45033, or transient errors after the quick retries), all_invalid (81013), failed (given up: permanent error or deadline).",
		}, []string{"outcome"}),
		recipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_notify_recipients_total",
			Help: "Recipient results recorded, by status: sent, invalid, unlicensed, failed.",
		}, []string{"status"}),
		postponed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_notify_postponed_total",
			Help: "Sends postponed to respect WeCom's limits, by reason: member_limit, daily_quota.",
		}, []string{"reason"}),
		cards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_notify_card_updates_total",
			Help: "update_template_card calls by outcome: ok, retry, failed.",
		}, []string{"outcome"}),
		welcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_notify_welcomes_total",
			Help: "Welcome messages to new customers by outcome: sent, skipped (already chatting), failed, retry.",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.submitted, m.sends, m.recipients, m.postponed, m.cards, m.welcomes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notify: register metrics: %w", err)
		}
	}
	return m, nil
}
