package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/console"
	"github.com/wecomply/wecomply/sandbox"
	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// The sandbox's corp and app, as the fake WeCom knows them.
const (
	sandboxCorpID   = "wwsandbox0demo0corp"
	sandboxAgentID  = 1000002
	sandboxCallback = "/wecom/callback"
)

// sandboxOptions are the sandbox command's flags.
type sandboxOptions struct {
	Listen string
	Data   string // "" for a fresh temp dir
	Keep   bool
	Lang   string
	// NoticeVersion is the version of the demo notice to publish.
	NoticeVersion int
	// Now is the clock of the app, the fake WeCom and the page (nil:
	// time.Now); tests set it.
	Now func() time.Time
}

// maxNoticeVersion bounds -notice-version.
const maxNoticeVersion = 1000

// sandboxCmd runs the server on the embedded store with the fake WeCom
// built in and the demo organisation loaded, and serves the sandbox page
// beside it until ctx ends.
func sandboxCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox", stderr)
	var o sandboxOptions
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "address to serve on; keep it loopback: the sandbox page has no login")
	fs.StringVar(&o.Data, "data", "", "directory of the embedded store; an existing one keeps its state across runs (default: a fresh temp dir, removed at exit)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the fresh temp dir at exit")
	fs.StringVar(&o.Lang, "lang", "zh-CN", "default language of notices and of the demo values: zh-CN or en")
	fs.IntVar(&o.NoticeVersion, "notice-version", 1, "version of the demo notice (会话存档告知) to publish; with -data, a higher one than the last run supersedes it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: sandbox takes only flags, got %q", errUsage, fs.Arg(0))
	}
	if !slices.Contains(templates.Languages, o.Lang) {
		return fmt.Errorf("%w: -lang must be zh-CN or en, got %q", errUsage, o.Lang)
	}
	if o.NoticeVersion < 1 || o.NoticeVersion > maxNoticeVersion {
		return fmt.Errorf("%w: -notice-version must be 1 to %d, got %d", errUsage, maxNoticeVersion, o.NoticeVersion)
	}
	sb, err := startSandbox(ctx, o, stderr)
	if err != nil {
		return err
	}
	sb.printIntro(stdout)
	return sb.run(ctx)
}

// sandboxEnv is a running sandbox: the fake WeCom, the demo organisation
// and the app with the sandbox page mounted, listening.
type sandboxEnv struct {
	opts       sandboxOptions
	dir        string
	removeDir  bool
	fake       *wecomtest.Server
	archive    *wecomtest.ArchiveServer
	org        sandbox.Org
	app        *app
	ln         net.Listener
	base       string // http://host:port of the app
	adminToken string
	policy     sandbox.Policy
	log        *slog.Logger
}

// startSandbox builds everything and listens; run serves. On error
// nothing is left running or on disk (except a -data dir it created).
func startSandbox(ctx context.Context, o sandboxOptions, stderr io.Writer) (_ *sandboxEnv, err error) {
	sb := &sandboxEnv{opts: o, dir: o.Data}
	defer func() {
		if err != nil {
			sb.cleanup()
		}
	}()
	if sb.dir == "" {
		if sb.dir, err = os.MkdirTemp("", "wecomply-sandbox-"); err != nil {
			return nil, fmt.Errorf("sandbox: data dir: %w", err)
		}
		sb.removeDir = !o.Keep
	} else if err := os.MkdirAll(sb.dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: data dir: %w", err)
	}

	secrets := map[string]string{}
	for _, name := range []string{wecom.AppMessages, wecom.AppContacts, wecom.AppCustomer, wecom.AppArchive} {
		secrets[name] = randomHex(16)
	}
	sb.fake = wecomtest.NewServer(wecomtest.ServerConfig{
		CorpID: sandboxCorpID,
		Apps: map[string]wecomtest.AppConfig{
			wecom.AppMessages: {Secret: secrets[wecom.AppMessages], AgentID: sandboxAgentID},
			wecom.AppContacts: {Secret: secrets[wecom.AppContacts]},
			wecom.AppCustomer: {Secret: secrets[wecom.AppCustomer]},
			wecom.AppArchive:  {Secret: secrets[wecom.AppArchive]},
		},
		// Keep the fake's request log bounded on a long run.
		MaxRequests: 10000,
		Now:         o.Now,
	})
	sb.org = sandbox.Seed(sb.fake)

	token, key, err := wecom.GenerateKeys(rand.Reader)
	if err != nil {
		return nil, err
	}
	sb.adminToken = "sandbox-" + randomHex(16)
	cfg := config.Default()
	cfg.Server.Listen = o.Listen
	cfg.Log.Format = "text"
	cfg.WeCom.CorpID = sandboxCorpID
	cfg.WeCom.AgentID = sandboxAgentID
	cfg.WeCom.Secret = config.Secret(secrets[wecom.AppMessages])
	cfg.WeCom.ContactsSecret = config.Secret(secrets[wecom.AppContacts])
	cfg.WeCom.CustomerSecret = config.Secret(secrets[wecom.AppCustomer])
	cfg.WeCom.ArchiveSecret = config.Secret(secrets[wecom.AppArchive])
	cfg.WeCom.APIBaseURL = sb.fake.URL
	cfg.WeCom.Callbacks = []config.Callback{{Name: "app", Path: sandboxCallback,
		Token: config.Secret(token), EncodingAESKey: config.Secret(key), ReceiveID: sandboxCorpID}}
	cfg.Store.Backend = "embedded"
	cfg.Store.Path = filepath.Join(sb.dir, "wecomply.db")
	cfg.Notify.DefaultLanguage = o.Lang
	cfg.Admin.Tokens = []config.Secret{config.Secret(sb.adminToken)}
	// Fresh evidence and pseudonym keys per run: packs made in the
	// sandbox verify against the key it serves at
	// /.well-known/wecomply-evidence.pub.
	cfg.Evidence.SigningKey = config.Secret(base64.StdEncoding.EncodeToString(randomBytes(32)))
	cfg.Transfer.PseudonymKey = config.Secret(base64.StdEncoding.EncodeToString(randomBytes(32)))
	if o.NoticeVersion == 0 {
		o.NoticeVersion = 1
	}
	sb.policy = sb.org.DemoPolicy(o.Lang, o.NoticeVersion)
	applyPolicy(&cfg, sb.policy)
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, &config.Error{File: "sandbox", Problems: ps}
	}
	sb.log = newLogger(cfg.Log, stderr)

	source, err := sb.sandboxArchive(&cfg, secrets[wecom.AppArchive])
	if err != nil {
		return nil, err
	}
	// Listen first: the console's base URL (where the fake WeCom sends
	// the browser back after sign-in) is the address listened on.
	if sb.ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	sb.base = "http://" + dialable(sb.ln.Addr().String())
	sandboxConsole(&cfg, sb.base, sb.fake.URL, sb.policy)
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, &config.Error{File: "sandbox", Problems: ps}
	}
	if sb.app, err = newApp(ctx, &cfg, sb.log, appOptions{Now: o.Now, ArchiveSource: source}); err != nil {
		return nil, err
	}

	cipher, err := wecom.NewCipher(token, key, sandboxCorpID)
	if err != nil {
		return nil, err
	}
	page, err := sandbox.New(sandbox.Options{
		Fake: sb.fake, Org: sb.org,
		AppURL: sb.base, CallbackPath: sandboxCallback, Cipher: cipher, AdminToken: sb.adminToken,
		CorpID: sandboxCorpID, AgentID: sandboxAgentID, Lang: o.Lang, AckWords: cfg.Policy.AckWords,
		Now: o.Now, Logger: sb.log.With("component", "sandbox"),
	})
	if err != nil {
		return nil, err
	}
	sb.app.handler = withSandboxPage(page, sb.app.handler)
	return sb, nil
}

// sandboxConsole turns the officers' console on, signing in through the
// fake WeCom: the demo compliance officers (王芳, 陈静) are officers,
// the legal team (姜明) may view.
func sandboxConsole(cfg *config.Config, base, fakeURL string, p sandbox.Policy) {
	cfg.Console.Enabled = true
	cfg.Console.BaseURL = base
	cfg.Console.OAuthBaseURL = fakeURL
	cfg.Console.LoginBaseURL = fakeURL
	cfg.Console.Officers = slices.Clone(p.Officers)
	cfg.Console.Viewers = []string{"jiangming"}
}

// clock is the sandbox's clock: opts.Now, or the wall clock.
func (sb *sandboxEnv) clock() func() time.Time {
	if sb.opts.Now != nil {
		return sb.opts.Now
	}
	return time.Now
}

// sandboxArchive turns the session archive on over a fake WeCom archive
// with its own key pair, and fresh master and index keys. The fake's
// records live in memory, so the archive file starts afresh with each run
// (a cursor from an earlier run would point past the new fake's records).
func (sb *sandboxEnv) sandboxArchive(cfg *config.Config, secret string) (wecom.ArchiveSource, error) {
	now := sb.clock()
	sb.archive = wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: uint64(now().UnixNano()), Now: now, Secret: secret})
	key, err := wecomtest.GenerateArchiveKey()
	if err != nil {
		return nil, err
	}
	ver := sb.archive.UploadPublicKey(&key.PublicKey)
	path := filepath.Join(sb.dir, "archive.db")
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sandbox: archive: %w", err)
	}
	cfg.Archive.Enabled = true
	cfg.Archive.Path = path
	cfg.Archive.PollInterval = 30 * time.Second
	cfg.Archive.MasterKey = config.Secret(base64.StdEncoding.EncodeToString(randomBytes(32)))
	cfg.Archive.IndexKey = config.Secret(base64.StdEncoding.EncodeToString(randomBytes(32)))
	pem, err := wecomtest.ArchiveKeyPEM(key, true)
	if err != nil {
		return nil, err
	}
	cfg.Archive.PrivateKeys = []config.ArchivePrivateKey{{Version: ver, PEM: config.Secret(pem)}}
	return wecomtest.NewArchiveSource(sb.archive, secret, map[uint32]*rsa.PrivateKey{ver: key}), nil
}

// trickle adds a few demo messages to the fake archive every interval and
// wakes the puller, as a msgaudit_notify would, so the archive is alive.
func (sb *sandboxEnv) trickle(ctx context.Context, every time.Duration) {
	now := sb.clock()
	rnd := mrand.New(mrand.NewPCG(uint64(now().UnixNano()), 1))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := sb.org.ArchiveTrickle(sb.archive, now(), 3, rnd); err != nil {
			sb.log.Warn("sandbox: archive trickle", "err", err)
		}
		if a := sb.app; a != nil && a.archive != nil {
			a.archive.puller.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// applyPolicy puts the demo company's compliance policy into cfg: its
// [policy] and its one [[notices]], which the server publishes at
// start-up to everyone in its audience.
func applyPolicy(cfg *config.Config, p sandbox.Policy) {
	cfg.Policy.Company = p.Company
	cfg.Policy.Officers = slices.Clone(p.Officers)
	cfg.Policy.ConsentPolicy = p.ConsentPolicy
	cfg.Policy.ConsentPolicyURL = p.ConsentPolicyURL
	d := p.Disclosure
	cfg.Disclosure = config.Disclosure{Controller: d.Controller, Contact: d.Contact, Purpose: d.Purpose,
		Retention: d.Retention, RightsURL: d.RightsURL}
	cfg.Notices = []config.Notice{{
		ID: p.NoticeID, Version: p.Version, Title: p.Title, Template: "ack_card",
		Languages: []string{"zh-CN", "en"}, Summary: p.Summary, URL: p.URL, DueDays: p.DueDays,
		Owners:   slices.Clone(p.Officers),
		Audience: config.Audience{PermitList: p.PermitList, Departments: slices.Clone(p.Departments)},
	}}
}

// withSandboxPage serves the sandbox page under sandbox.Prefix, and the
// app for everything else; "/" leads to the page.
func withSandboxPage(page, appHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix, page)
	mux.Handle("GET /{$}", http.RedirectHandler(sandbox.Prefix, http.StatusFound))
	mux.Handle("/", appHandler)
	return mux
}

// printIntro tells the newcomer where everything is.
func (sb *sandboxEnv) printIntro(w io.Writer) {
	kept := "removed at exit; -keep keeps it"
	if !sb.removeDir {
		kept = "kept: run again with -data " + sb.dir + " to continue"
	}
	p := sb.policy
	fmt.Fprintf(w, `wecomply sandbox: the server on its embedded store, with a fake WeCom and a demo company
(%s: %d departments, %d people, %d customers) built in, and its compliance policy on:
the notice 《%s》 version %d (%s:v%d) is published to %s (%d people).

  Sandbox page:    %s%s
  Console:         %s%s   (sign in "as 王芳", a compliance officer, on the fake WeCom's page)
  Callback URL:    %s%s   (Token and EncodingAESKey generated for this run)
  Admin token:     %s
  Event log:       curl -H 'Authorization: Bearer %s' '%s/api/v1/events?limit=10'
  Session archive: curl -H 'Authorization: Bearer %s' '%s/api/v1/archive/messages?limit=10'
                   (a few demo chats every 20 s; a customer's chats are kept once they agree)
  Fake WeCom API:  %s/cgi-bin/   (corp %s, app AgentID %d)
  Data dir:        %s   (%s)

Try this first: open the sandbox page and follow its guide.
  The employee loop: open a salesperson's inbox, click the card's 「我已阅读并确认」 as them;
  the card turns 已确认 and the attestation appears under Compliance (or reply 确认 in the app chat).
  The customer loop: set a customer's answer to Disagree, then simulate the employee adding them;
  the customer gets the welcome message, the employee a card, the compliance officers an alert.
Ctrl-C stops the sandbox.

`, sb.org.CorpName, len(sb.org.Departments), len(sb.org.People), len(sb.org.Customers),
		p.Title, p.Version, p.NoticeID, p.Version, sb.org.DescribeAudience(p), len(sb.org.Audience(p)),
		sb.base, sandbox.Prefix, sb.base, console.Prefix, sb.base, sandboxCallback, sb.adminToken, sb.adminToken, sb.base,
		sb.adminToken, sb.base, sb.fake.URL, sandboxCorpID, sandboxAgentID, sb.dir, kept)
}

// run serves until ctx ends, shuts the app down gracefully (as serve
// does), then stops the fake and removes a temp data dir.
func (sb *sandboxEnv) run(ctx context.Context) error {
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	go sb.trickle(tctx, 20*time.Second)
	err := sb.app.run(ctx, sb.ln)
	sb.app, sb.ln = nil, nil // run closed them
	return errors.Join(err, sb.cleanup())
}

// cleanup releases whatever was started, in reverse order.
func (sb *sandboxEnv) cleanup() error {
	if sb.ln != nil {
		sb.ln.Close()
	}
	if sb.app != nil {
		sb.app.close()
	}
	if sb.fake != nil {
		sb.fake.Close()
	}
	if sb.removeDir {
		if err := os.RemoveAll(sb.dir); err != nil {
			return fmt.Errorf("sandbox: remove data dir: %w", err)
		}
	}
	return nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}
