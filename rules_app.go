package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/intercept"
	"github.com/wecomply/wecomply/policy/rules"
)

// rulesParts hold the supervision rule set in force ([rules] file) and
// keep it in step with the file. Scanning the archive with it is wired
// separately; until then the server loads, reloads and reports.
type rulesParts struct {
	holder *rules.Holder
	every  time.Duration
	// reloads counts reload attempts by result: changed, unchanged,
	// error (the old rules stay).
	reloads *prometheus.CounterVec
	// count is how many rules are in force.
	count prometheus.Gauge
}

// newRules loads cfg's rule file; nil when none is configured. A file
// that does not parse stops the start: there are no old rules to keep.
func newRules(cfg *config.Config, reg prometheus.Registerer) (*rulesParts, error) {
	if cfg.Rules.File == "" {
		return nil, nil
	}
	h, err := rules.NewHolder(cfg.Rules.File)
	if err != nil {
		return nil, err
	}
	r := &rulesParts{
		holder: h,
		every:  cfg.Rules.PollInterval,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wecomply_rules_reloads_total",
			Help: "Reloads of the supervision rule file, by result (changed, unchanged, error: the old rules stay in force).",
		}, []string{"result"}),
		count: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wecomply_rules_loaded",
			Help: "Supervision rules in force.",
		}),
	}
	if err := reg.Register(r.reloads); err != nil {
		return nil, err
	}
	if err := reg.Register(r.count); err != nil {
		return nil, err
	}
	r.count.Set(float64(len(h.Set().Rules())))
	return r, nil
}

// run reloads on SIGHUP and polls the files until ctx ends.
func (r *rulesParts) run(ctx context.Context, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(r.every)
	defer t.Stop()
	r.holder.Watch(ctx, t.C, hup, func(ev rules.Reloaded) { r.report(log, ev) })
}

// report logs and counts one reload attempt.
func (r *rulesParts) report(log *slog.Logger, ev rules.Reloaded) {
	file := r.holder.Path()
	switch {
	case ev.Err != nil:
		r.reloads.WithLabelValues("error").Inc()
		log.Error("rules: the rule file does not load; the rules in force stay", "file", file, "forced", ev.Forced,
			"err", ev.Err, "version", ev.Set.Version())
	case ev.Changed:
		r.reloads.WithLabelValues("changed").Inc()
		r.count.Set(float64(len(ev.Set.Rules())))
		log.Info("rules: reloaded", "file", file, "forced", ev.Forced, "rules", len(ev.Set.Rules()), "version", ev.Set.Version())
	default:
		r.reloads.WithLabelValues("unchanged").Inc()
		log.Info("rules: reloaded, no rule changed", "file", file, "forced", ev.Forced, "version", ev.Set.Version())
	}
}

// InterceptRules are the rules in force that WeCom should block before
// they are sent: the lexicon rules with block = true, each as one
// sensitive-word rule over the departments of its scope (the whole
// company, root department 1, when the scope names none). It makes the
// rule set the intercept sync's source (intercept.Source).
func (r *rulesParts) InterceptRules(context.Context) ([]intercept.Desired, error) {
	set := r.holder.Set()
	var out []intercept.Desired
	for _, b := range set.Blocked() {
		rule, _ := set.Rule(b.RuleID)
		deps := rule.Scope.Departments
		if len(deps) == 0 {
			deps = []int64{rootDepartment}
		}
		out = append(out, intercept.Desired{RuleID: b.RuleID, Words: b.Terms, Departments: deps})
	}
	return out, nil
}

// rootDepartment is the id of a WeCom company's root department, which
// holds every member.
const rootDepartment = 1
