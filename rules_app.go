package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/intercept"
	"github.com/wecomply/wecomply/policy/rules"
	"github.com/wecomply/wecomply/store"
)

// ruleParts are the supervision rules in force: the [rules] file loaded
// into a Holder, reloaded on SIGHUP and when it changes (watch). The
// archive scans with them, the processor reviews their alerts, and their
// blocking lexicons are the intercept sync's source.
type ruleParts struct {
	holder *ruleHolder
	poll   time.Duration
	log    *slog.Logger
	// reloads counts reload attempts by result: changed, unchanged,
	// error (the old rules stay).
	reloads *prometheus.CounterVec
	// count is how many rules are in force.
	count prometheus.Gauge
}

// newRules loads [rules] file; nil when none is configured. A file that
// does not parse stops the start (with the line at fault): there are no
// old rules to keep. Later, a bad edit keeps the rules in force. reg may
// be nil (a command that does not serve metrics).
func newRules(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*ruleParts, error) {
	if cfg.Rules.File == "" {
		return nil, nil
	}
	h, err := newRuleHolder(cfg.Rules.File, checkBlocking)
	if err != nil {
		return nil, err
	}
	r := &ruleParts{holder: h, poll: cfg.Rules.PollInterval, log: log.With("component", "rules"),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_rules_reloads_total",
			Help: "Reloads of the supervision rule file, by result (changed, unchanged, error: the old rules stay in force).",
		}, []string{"result"}),
		count: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wecomply_rules_loaded",
			Help: "Supervision rules in force.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.reloads, r.count} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	r.count.Set(float64(len(h.Set().Rules())))
	r.log.Info("supervision rules loaded", "file", cfg.Rules.File, "rules", len(h.Set().Rules()), "version", h.Set().Version())
	return r, nil
}

// set is the rule set in force (nil-safe, for a nil *ruleParts).
func (r *ruleParts) set() func() *rules.Set {
	if r == nil {
		return nil
	}
	return r.holder.Set
}

// watch reloads the rules on SIGHUP and on every change seen at each
// poll, until ctx ends.
func (r *ruleParts) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	r.holder.Watch(ctx, tick.C, hup, r.report)
}

// report logs and counts one reload attempt.
func (r *ruleParts) report(x rulesReloaded) {
	file := r.holder.Path()
	switch {
	case x.Err != nil:
		r.reloads.WithLabelValues("error").Inc()
		r.log.Error("supervision rules not reloaded; the rules in force stay", "file", file, "forced", x.Forced,
			"err", x.Err, "version", x.Set.Version())
	case x.Changed:
		r.reloads.WithLabelValues("changed").Inc()
		r.count.Set(float64(len(x.Set.Rules())))
		r.log.Info("supervision rules reloaded", "file", file, "forced", x.Forced, "rules", len(x.Set.Rules()), "version", x.Set.Version())
	default:
		r.reloads.WithLabelValues("unchanged").Inc()
	}
}

// storeAlertSink raises alerts in the store (audited) when there is no
// processor to act on them (wecom.secret unset): they wait in the queue
// of /api/v1/alerts.
type storeAlertSink struct{ st store.Store }

func (s storeAlertSink) RaiseAlerts(ctx context.Context, alerts []store.Alert) error {
	_, err := store.RaiseAudited(ctx, s.st, alerts)
	return err
}

// scanner is the archive's scanner over the rules in force, raising
// through sink.
func (r *ruleParts) scanner(sink archive.AlertSink, st store.Store, now func() time.Time) *archive.Scanner {
	return &archive.Scanner{Rules: r.holder.Set, Sink: sink, People: st, Clock: now}
}

// InterceptRules are the rules in force that WeCom should block before
// they are sent: the lexicon rules with block = true, each as one
// sensitive-word rule over the departments of its scope (the whole
// company, root department 1, when the scope names none). It makes the
// rule set the intercept sync's source (intercept.Source).
func (r *ruleParts) InterceptRules(context.Context) ([]intercept.Desired, error) {
	return interceptRules(r.holder.Set()), nil
}

// checkBlocking refuses a rule set whose blocking rules WeCom would not
// take as intercept rules (more than 300 terms, a term of more than 32
// characters, …): at start and at reload, so that the rules in force
// stay the ones the sync can push, and in `rules test`.
func checkBlocking(set *rules.Set) error {
	if err := intercept.Validate(interceptRules(set)); err != nil {
		return fmt.Errorf("blocking rules WeCom would not take: %w", err)
	}
	return nil
}

// interceptRules are set's blocking rules as WeCom's intercept rules.
func interceptRules(set *rules.Set) []intercept.Desired {
	var out []intercept.Desired
	for _, b := range set.Blocked() {
		deps := b.Departments
		if len(deps) == 0 {
			deps = []int64{rootDepartment}
		}
		out = append(out, intercept.Desired{RuleID: b.RuleID, Words: b.Terms, Departments: deps})
	}
	return out
}

// rootDepartment is the id of a WeCom company's root department, which
// holds every member.
const rootDepartment = 1
