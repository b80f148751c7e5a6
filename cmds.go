package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/policy/rules"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// checkCmd validates a config file and prints every problem.
func checkCmd(args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("check", stderr)
	path := fs.String("config", "", "config file to check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: check takes -config FILE", errUsage)
	}
	cfg, err := config.Load(*path, environ)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", *path, len(cerr.Problems))
		for _, p := range cerr.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
		return fmt.Errorf("%s is not valid", *path)
	}
	if err != nil {
		return err
	}
	if cfg.Rules.File != "" {
		set, err := loadRules(cfg.Rules.File)
		if problems := rules.ParseProblems(err); problems != nil {
			fmt.Fprintf(stdout, "%s: rules.file %s: %d problem(s)\n", *path, cfg.Rules.File, len(problems))
			for _, p := range problems {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
			return fmt.Errorf("%s is not valid", *path)
		}
		if err == nil {
			err = checkBlocking(set) // as serve does: it would refuse the file
		}
		if err != nil {
			return fmt.Errorf("rules.file: %w", err)
		}
		fmt.Fprintf(stdout, "%s: rules.file %s: %d rule(s), version %s\n", *path, cfg.Rules.File, len(set.Rules()), set.Version())
	}
	fmt.Fprintf(stdout, "%s: ok (%d callback receiver(s), %s store, %d worker(s), listening on %s)\n",
		*path, len(cfg.WeCom.Callbacks), cfg.Store.Backend, cfg.Workers.Count, cfg.Server.Listen)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "  warning: %s\n", w)
	}
	return nil
}

// keygenCmd prints a fresh Token and EncodingAESKey from crypto/rand,
// and fresh evidence signing and pseudonym keys.
func keygenCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: keygen takes no arguments", errUsage)
	}
	token, key, err := wecom.GenerateKeys(rand.Reader)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Paste these into the WeCom admin console (the receiver's "Receive Messages" / API settings)
and into your config's [[wecom.callback]] (or WECOMPLY_WECOM_CALLBACK_<i>_TOKEN / _ENCODING_AES_KEY):

Token:          %s
EncodingAESKey: %s

token = %q
encoding_aes_key = %q
`, token, key, token, key)
	return printEvidenceKeys(stdout, rand.Reader)
}

// simulateCmd signs, encrypts and POSTs a sample event to a running server
// exactly as WeCom would.
func simulateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("simulate", stderr)
	path := fs.String("config", "", "config file of the server to send to (for its token, key and address)")
	target := fs.String("server", "", "base URL of the server (default: http://<server.listen>)")
	receiver := fs.String("receiver", "", "callback path to send to (default: the first [[wecom.callback]])")
	show := fs.Bool("print", false, "also print the plaintext event sent")
	var spec wecomtest.EventSpec
	specFlags(fs, &spec)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wecomply simulate -config FILE [-server URL] [-receiver PATH] EVENT [flags]\n\nEVENT is one of:\n  %s\n\nFlags (each applies to the kinds it names):\n",
			strings.Join(wecomtest.Kinds(), "\n  "))
		fs.PrintDefaults()
	}
	// Flags may come before and after EVENT.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: simulate needs an EVENT", errUsage)
	}
	spec.Kind = fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q after the event flags", errUsage, fs.Arg(0))
	}
	if *path == "" {
		return fmt.Errorf("%w: simulate needs -config FILE", errUsage)
	}

	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	cb := cfg.WeCom.Callbacks[0]
	if *receiver != "" {
		found := false
		for _, c := range cfg.WeCom.Callbacks {
			if c.Path == *receiver {
				cb, found = c, true
			}
		}
		if !found {
			return fmt.Errorf("%w: no [[wecom.callback]] has path %q", errUsage, *receiver)
		}
	}
	base := *target
	if base == "" {
		base = "http://" + dialable(cfg.Server.Listen)
	}
	spec.CorpID = cfg.WeCom.CorpID
	if spec.AgentID == "" && cfg.WeCom.AgentID > 0 {
		spec.AgentID = strconv.FormatInt(cfg.WeCom.AgentID, 10)
	}
	plain, err := wecomtest.BuildEvent(spec)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cipher, err := wecom.NewCipher(cb.Token.Reveal(), cb.EncodingAESKey.Reveal(), cb.ReceiveID)
	if err != nil {
		return err
	}
	s := &wecomtest.Sender{URL: strings.TrimRight(base, "/") + cb.Path, Cipher: cipher, AgentID: spec.AgentID}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if *show {
		fmt.Fprintf(stdout, "%s\n", plain)
	}
	status, body, err := s.Post(ctx, plain)
	if err != nil {
		return fmt.Errorf("post %s to %s: %w", spec.Kind, s.URL, err)
	}
	fmt.Fprintf(stdout, "POST %s %s → %d %s\n", s.URL, spec.Kind, status, http.StatusText(status))
	switch status {
	case http.StatusOK:
		fmt.Fprintln(stdout, "accepted: the server stored the event (see GET /api/v1/events)")
		return nil
	case http.StatusForbidden:
		return fmt.Errorf("refused (%s): does the server use this config's token, key and corp_id, and is its clock right?", strings.TrimSpace(string(body)))
	default:
		return fmt.Errorf("server answered %d: %s", status, strings.TrimSpace(string(body)))
	}
}

// dialable turns a listen address into one a client can dial: an
// unspecified host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// specFlags makes a flag of every field of EventSpec except Kind and
// CorpID (which come from the command line and the config): UserID
// becomes -user-id, ExternalUserID -external-user-id, and so on, with the
// field's usage tag as help.
func specFlags(fs *flag.FlagSet, spec *wecomtest.EventSpec) {
	v := reflect.ValueOf(spec).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "Kind" || f.Name == "CorpID" {
			continue
		}
		name, usage := kebab(f.Name), f.Tag.Get("usage")
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, "", usage)
		case *int64:
			fs.Int64Var(p, name, 0, usage)
		}
	}
}

// kebab turns a Go field name into a flag name: ExternalUserID →
// external-user-id, PicMd5Sums → pic-md5-sums.
func kebab(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		upper := unicode.IsUpper(r)
		if i > 0 && upper {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// auditCmd is `wecomply audit verify -config FILE`: it walks the audit
// log's hash chain in the configured store and reports the first entry
// that was edited, removed or moved (exit 1), or that the chain holds.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: audit takes the subcommand verify", errUsage)
	}
	fs := newFlagSet("audit verify", stderr)
	path := fs.String("config", "", "config file of the server whose store to check")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: audit verify takes -config FILE", errUsage)
	}
	st, _, err := openConfiguredStore(ctx, *path, stderr, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("verify the audit log: %w", err)
	}
	if !r.OK {
		fmt.Fprintf(stdout, "audit log BROKEN at entry %d of %d: %s\n", r.FirstBad, r.Entries, r.Problem)
		return fmt.Errorf("the audit log does not verify")
	}
	fmt.Fprintf(stdout, "audit log ok: %d entries, head %s\n", r.Entries, r.Head)
	return nil
}

// openConfiguredStore opens the store the config file at path names, for
// a command that works on it directly, and returns the config with it.
func openConfiguredStore(ctx context.Context, path string, stderr io.Writer, environ []string) (store.Store, *config.Config, error) {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg.Log, stderr), time.Now, nil)
	if err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

// deadLettersCmd is `wecomply dead-letters list|retry|drop -config FILE
// [ID…]`: it opens the configured store, as `audit verify` does, and
// lists the dead letters, or retries or drops each ID given, each retry
// and drop written to the audit log as the admin API writes it
// (store.DoDeadLetter, via "cli", with -actor). It talks to the store
// rather than to a running server so that it needs no admin token on a
// command line and works while the server is down (the reason letters
// pile up is often why it is); on the embedded store that means with the
// server stopped (its file is locked while it runs: use the API then).
// A retried event is processed by the server's workers when they run.
func deadLettersCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	var sub string
	if len(args) > 0 {
		sub = args[0]
	}
	var action store.DeadLetterAction
	switch sub {
	case "list":
	case "retry":
		action = store.DeadLetterRetry
	case "drop":
		action = store.DeadLetterDrop
	default:
		return fmt.Errorf("%w: dead-letters takes the subcommand list, retry or drop", errUsage)
	}
	fs := newFlagSet("dead-letters "+sub, stderr)
	path := fs.String("config", "", "config file of the server whose store to use")
	var idsOnly bool
	var actor string
	if action == "" {
		fs.BoolVar(&idsOnly, "ids", false, "print only the ids, one a line (for xargs … retry)")
	} else {
		fs.StringVar(&actor, "actor", envValue(environ, "USER"), "who is doing this, for the audit log (default $USER)")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch {
	case *path == "":
		return fmt.Errorf("%w: dead-letters %s takes -config FILE", errUsage, sub)
	case action == "" && fs.NArg() > 0:
		return fmt.Errorf("%w: dead-letters list takes no ids", errUsage)
	case action != "" && fs.NArg() == 0:
		return fmt.Errorf("%w: dead-letters %s takes the ids of the dead letters", errUsage, sub)
	}
	st, _, err := openConfiguredStore(ctx, *path, stderr, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	if action == "" {
		return listDeadLetters(ctx, st, stdout, idsOnly)
	}
	failed := 0
	for _, id := range fs.Args() {
		_, entryID, err := store.DoDeadLetter(ctx, st, id, store.DeadLetterOp{Action: action, Via: "cli", Actor: actor, At: time.Now()})
		switch {
		case errors.Is(err, store.ErrNotFound):
			fmt.Fprintf(stdout, "%s: no such dead letter (never was, or retried or dropped already)\n", id)
			failed++
		case err != nil:
			return fmt.Errorf("%s dead letter %s: %w", sub, id, err)
		case action == store.DeadLetterRetry:
			fmt.Fprintf(stdout, "%s: retried, queued as entry %s\n", id, entryID)
		default:
			fmt.Fprintf(stdout, "%s: dropped\n", id)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters not found", failed, fs.NArg())
	}
	return nil
}

// listDeadLetters prints every dead letter, oldest death first: a table
// without the payload, or only the ids.
func listDeadLetters(ctx context.Context, st store.Queue, stdout io.Writer, idsOnly bool) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if !idsOnly {
		fmt.Fprintln(tw, "ID\tDIED (UTC)\tKIND\tATTEMPTS\tDEDUP KEY\tLAST ERROR")
	}
	n := 0
	err := store.Each(ctx, store.MaxPageLimit, st.ListDeadLetters, func(d store.DeadLetter) error {
		n++
		if idsOnly {
			fmt.Fprintln(tw, d.ID)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.DiedAt.UTC().Format(time.DateTime), d.Kind, d.Attempts,
				d.DedupKey, oneLine(d.LastError, 120))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	if !idsOnly {
		fmt.Fprintf(tw, "%d dead letter(s)\n", n)
	}
	return tw.Flush()
}

// oneLine is s on one line, cut to at most max runes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

// envValue is the value of name in environ ("NAME=value" entries), ""
// if it is not set.
func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
