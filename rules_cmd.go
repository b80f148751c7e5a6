package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/policy/rules"
	"github.com/wecomply/wecomply/processor"
)

// rulesCmd runs `wecomply rules test|rescan`.
func rulesCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	switch {
	case len(args) > 0 && args[0] == "test":
		return rulesTestCmd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "rescan":
		return rulesRescanCmd(ctx, args[1:], stdout, stderr, environ)
	}
	return fmt.Errorf("%w: rules takes the subcommand test or rescan", errUsage)
}

// rulesTestCmd is `wecomply rules test FILE`: it parses a supervision rule
// file and runs every rule's samples against that rule. Exit status 1
// names each failing sample; 2 is a file that cannot be read or does not
// parse, with the line at fault.
func rulesTestCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rules test", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: rules test takes one FILE", errUsage)
	}
	file := fs.Arg(0)
	set, err := loadRules(file)
	if problems := rules.ParseProblems(err); problems != nil {
		for _, p := range problems {
			fmt.Fprintf(stdout, "%s: %s\n", file, p)
		}
		return &exitError{code: 2, err: fmt.Errorf("%s does not parse: %d problem(s)", file, len(problems))}
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := checkBlocking(set); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", file, err)}
	}
	failures, err := set.CheckSamples()
	if err != nil {
		return err
	}
	samples := 0
	for _, r := range set.Rules() {
		samples += len(r.Match) + len(r.NoMatch)
	}
	for _, f := range failures {
		fmt.Fprintf(stdout, "FAIL %s: %s\n", file, f)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%s: %d of %d sample(s) failed", file, len(failures), samples)
	}
	fmt.Fprintf(stdout, "ok %s: %d rule(s), %d sample(s), version %s\n", file, len(set.Rules()), samples, set.Version())
	return nil
}

// rulesRescanCmd is `wecomply rules rescan -config FILE -from T -to T`:
// the archived messages of [from, to) scanned again with the rules of
// [rules] file as they are now. Alerts are idempotent per message and
// rule version, so a rescan after a rule changed raises only its new
// version's hits. With wecom.secret set, an alert of action "alert" or
// "notify_sender" is queued for the running server's workers to send, as
// a pulled hit is; without it the alerts wait in /api/v1/alerts.
func rulesRescanCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("rules rescan", stderr)
	path := fs.String("config", "", "config file of the server whose archive to rescan")
	from := fs.String("from", "", "from this msgtime on (RFC 3339 or YYYY-MM-DD, UTC); required")
	to := fs.String("to", "", "before this msgtime (RFC 3339 or YYYY-MM-DD, UTC); required")
	actor := fs.String("actor", envValue(environ, "USER"), "who rescans, for the audit log (default $USER)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || *from == "" || *to == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: rules rescan takes -config FILE -from T -to T", errUsage)
	}
	fromT, err := parseWhen("-from", *from)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	toT, err := parseWhen("-to", *to)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if !fromT.Before(toT) {
		return fmt.Errorf("%w: -from must be before -to", errUsage)
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	switch {
	case !cfg.Archive.Enabled:
		return errors.New("archive.enabled is off: there is no archive to rescan")
	case cfg.Rules.File == "":
		return errors.New("rules.file is not set: there are no rules to scan with")
	}
	log := newLogger(cfg.Log, stderr)
	rp, err := newRules(cfg, log, nil)
	if err != nil {
		return fmt.Errorf("rules.file: %w", err)
	}
	st, err := openStore(ctx, cfg, log, time.Now, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := newArchive(ctx, cfg, st, closedSource{}, log, nil, time.Now)
	if err != nil {
		return err
	}
	defer p.close()

	var sink archive.AlertSink = storeAlertSink{st}
	if cfg.WeCom.Secret != "" {
		client, err := newClient(cfg, st, log, time.Now)
		if err != nil {
			return err
		}
		reg := prometheus.NewRegistry()
		notifier, err := newNotifier(cfg, st, client, log, reg, time.Now)
		if err != nil {
			return err
		}
		pcfg := processorConfig(cfg, log)
		pcfg.Now = time.Now
		pcfg.Alerts = processor.AlertConfig{Rules: rp.set(), EscalateAfter: cfg.Rules.EscalateAfter}
		proc, err := processor.New(st, notifier, client, nil, pcfg, reg)
		if err != nil {
			return err
		}
		sink = proc
	}
	res, err := p.reader.Rescan(ctx, *actor, rp.scanner(sink, st, time.Now), fromT, toT)
	fmt.Fprintf(stdout, "rescanned %s to %s with rules version %s: %d message(s) read, %d scanned, %d unreadable, %d hit(s)\n",
		fromT.UTC().Format(time.RFC3339), toT.UTC().Format(time.RFC3339), rp.holder.Set().Version(), res.Read, res.Scanned, res.Unreadable, res.Hits)
	return err
}
