package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/console"
	"github.com/wecomply/wecomply/jobs"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/processor"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
)

// consoleDeps is what the console is built from.
type consoleDeps struct {
	cfg     *config.Config
	store   store.Store
	client  *wecom.Client
	proc    *processor.Processor // nil without wecom.secret: notice texts are not shown
	archive *archiveParts        // nil when the archive is off
	jobs    *jobs.Scheduler
	// departments names departments, the same cache as the admin API's
	// officer exports; nil: department ids.
	departments console.Departments
	log         *slog.Logger
	now         func() time.Time
	// evidence makes evidence packs; nil until the evidence maker is
	// wired (the download buttons are hidden then).
	evidence console.EvidenceMaker
	// transfers is the transfer register and its exports; nil with no
	// evidence maker (the console says the register is off).
	transfers console.Transfers
}

// newConsole builds the officers' console (console.enabled).
func newConsole(d consoleDeps) (*console.Server, error) {
	cfg := d.cfg
	o := console.Options{
		Store:        d.store,
		SignIn:       d.client,
		Evidence:     d.evidence,
		Transfers:    d.transfers,
		Departments:  d.departments,
		Notices:      processorConfig(cfg, d.log).Notices,
		CorpID:       cfg.WeCom.CorpID,
		AgentID:      cfg.WeCom.AgentID,
		BaseURL:      cfg.Console.BaseURL,
		OAuthBaseURL: cfg.Console.OAuthBaseURL,
		LoginBaseURL: cfg.Console.LoginBaseURL,
		Roles:        console.Roles{Viewers: cfg.Console.Viewers, Officers: cfg.Console.Officers, Admins: cfg.Console.Admins},
		SessionIdle:  cfg.Console.SessionIdle,
		Location:     cfg.Console.Location(),
		Now:          d.now,
		Logger:       d.log.With("component", "console"),
	}
	if d.archive != nil {
		o.Archive = d.archive.reader
	}
	if d.jobs != nil {
		for _, j := range d.jobs.Jobs() {
			if !j.Off {
				o.Jobs = append(o.Jobs, j.Name)
			}
		}
	}
	if d.proc != nil {
		tmpl, err := templates.Load()
		if err != nil {
			return nil, err
		}
		proc, disc := d.proc, disclosure(d.cfg.Disclosure)
		o.Render = func(n policy.Notice, lang string, due time.Time) (templates.Rendered, error) {
			// As the notifier renders it: the card's data plus the
			// configured disclosure, or the hash would not match.
			data := proc.CardData(n, lang, due)
			data["Disclosure"] = disc
			return tmpl.Render(n.Template, lang, data)
		}
	}
	return console.New(o)
}

// withConsole serves the console under console.Prefix and the rest as
// before.
func withConsole(con http.Handler, rest http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, con)
	mux.Handle("GET /console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	mux.Handle("/", rest)
	return mux
}
