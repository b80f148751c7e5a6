package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
)

const evidenceUsage = `usage:
  wecomply evidence verify PACK [-pubkey FILE]
      check an evidence pack offline: its signature, every file's SHA-256, the
      texts' content hashes, the audit chain segment's links to its head.
      -pubkey is the company's public key (PEM or base64, as served at
      /.well-known/wecomply-evidence.pub). Without it the key inside the pack is
      used: that proves the pack is whole, not who made it (anyone can re-sign
      a pack with a key of their own). Exit 0: every check holds; exit 1: the
      first bad file or link is named.
  wecomply evidence pack -config FILE (-person USERID | -notice ID -version N) -out FILE [-actor NAME]
      make a person's or a notice version's pack from the configured store
      (audited, as made by -actor, default "cli:$USER").
  wecomply evidence transfer -config FILE -destination D -purpose P -legal-basis B
                             -approver A -out FILE [-notice ID [-version N]]
                             [-messages-from T -messages-to T] [-actor NAME]
      a pseudonymised export for cross-border transfer (obligations,
      attestations, consents; with -messages-from/-to the session archive's
      message metadata, never content), recorded in the transfer register
      before it is written.
  wecomply evidence transfers -config FILE [-json]
      the transfer register, newest first.
`

// evidenceCmd is `wecomply evidence verify|pack|transfer|transfers`.
func evidenceCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: evidence takes verify, pack, transfer or transfers\n\n%s", errUsage, evidenceUsage)
	}
	switch args[0] {
	case "verify":
		return evidenceVerifyCmd(args[1:], stdout, stderr)
	case "pack":
		return evidencePackCmd(ctx, args[1:], stdout, stderr, environ)
	case "transfer":
		return evidenceTransferCmd(ctx, args[1:], stdout, stderr, environ)
	case "transfers":
		return evidenceTransfersCmd(ctx, args[1:], stdout, stderr, environ)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, evidenceUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown evidence subcommand %q\n\n%s", errUsage, args[0], evidenceUsage)
}

// parseInterspersed parses flags given before and after positional
// arguments (verify PACK -pubkey F), returning the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func evidenceVerifyCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evidence verify", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, evidenceUsage) }
	keyFile := fs.String("pubkey", "", "the company's public key, PEM or base64 (default: the pack's own key, which proves integrity, not origin)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: evidence verify takes one PACK", errUsage)
	}
	var pub ed25519.PublicKey
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if pub, err = evidence.ParsePublicKey(b); err != nil {
			return fmt.Errorf("%s: %w", *keyFile, err)
		}
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := evidence.VerifyReport(f, st.Size(), pub)
	if err != nil {
		fmt.Fprintf(stdout, "%s: BAD: %v\n", pos[0], err)
		return fmt.Errorf("the evidence pack does not verify")
	}
	m := rep.Manifest
	key := "the key given (" + *keyFile + ")"
	if rep.OwnKey {
		key = "the pack's own key — this proves the pack is whole, NOT who made it: pass -pubkey with the company's published key"
	}
	subject := "person " + m.Subject.UserID
	if m.Subject.Kind == "notice" {
		subject = fmt.Sprintf("notice %s version %d", m.Subject.NoticeID, m.Subject.Version)
	}
	fmt.Fprintf(stdout, `%s: ok — evidence of %s, made %s by %s
  signature: manifest.json signed by %s, key %s
  files:     %d, each matching its SHA-256 and size in the manifest
  texts:     %d, each hashing to the content hash it is named by (%d not recoverable, listed in the manifest)
  records:   %d attestations and deliveries, each naming a text the pack holds or lists
  audit:     entries %d to %d linked by prev_hash (%d about the subject, their hashes recomputed);
             head %s — compare it with the head "wecomply audit verify" reports
`, pos[0], subject, m.MadeAt.Format(time.RFC3339), m.MadeBy, key, m.PublicKey, rep.Files, rep.Texts, len(m.TextsMissing),
		rep.Records, m.Audit.FirstSeq, m.Audit.HeadSeq, rep.Recomputed, m.Audit.HeadHash)
	return nil
}

// openEvidence opens the configured store (and, with messages, the
// session archive's) and builds the Maker on it. Closing the returned
// io.Closer closes both.
func openEvidence(ctx context.Context, path string, stderr io.Writer, environ []string, messages bool) (_ *evidence.Maker, _ io.Closer, err error) {
	st, cfg, err := openConfiguredStore(ctx, path, stderr, environ)
	if err != nil {
		return nil, nil, err
	}
	closers := closeAll{st}
	defer func() {
		if err != nil {
			closers.Close()
		}
	}()
	var msgs evidence.Messages
	if messages {
		if !cfg.Archive.Enabled {
			return nil, nil, errors.New("-messages-from: the session archive is not enabled ([archive] enabled)")
		}
		var ast archive.Store
		if ast, err = openArchiveStore(ctx, cfg, time.Now); err != nil {
			return nil, nil, err
		}
		msgs, closers = ast, append(closers, ast)
	}
	m, err := newEvidenceMaker(cfg, st, msgs, newLogger(cfg.Log, stderr), time.Now)
	if err != nil {
		return nil, nil, err
	}
	return m, closers, nil
}

// closeAll closes each in turn, returning the first error.
type closeAll []io.Closer

func (cs closeAll) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// newEvidenceMaker builds the evidence Maker from the config: the store,
// the notices and what their cards were rendered with (as the processor
// renders them), the signing and pseudonym keys; msgs (the archive's
// store) may be nil.
func newEvidenceMaker(cfg *config.Config, st store.Store, msgs evidence.Messages, log *slog.Logger, now func() time.Time) (*evidence.Maker, error) {
	key, err := cfg.Evidence.Key()
	if err != nil {
		return nil, fmt.Errorf("evidence.signing_key: %w", err)
	}
	if key == nil {
		return nil, fmt.Errorf("evidence.signing_key is not set (or %s): no pack can be signed; wecomply keygen prints a key", config.EnvEvidenceSigningKey)
	}
	pseudo, err := cfg.Transfer.Key()
	if err != nil {
		return nil, fmt.Errorf("transfer.pseudonym_key: %w", err)
	}
	tmpl, err := templates.Load()
	if err != nil {
		return nil, err
	}
	pc := processorConfig(cfg, log)
	return evidence.New(evidence.Config{Store: st, Templates: tmpl, Notices: pc.Notices, Company: pc.Settings.Company,
		Location: pc.Settings.Location, SigningKey: key, PseudonymKey: pseudo, Messages: msgs, Now: now,
		// Cards carry the configured disclosure (the notifier adds it to
		// every template's data); without it no card text would hash to
		// what was sent.
		CardData: map[string]any{"Disclosure": disclosure(cfg.Disclosure)}})
}

// cliActor is who a command acts as: -actor, or "cli:$USER".
func cliActor(actor string, environ []string) string {
	if actor != "" {
		return actor
	}
	if u := envValue(environ, "USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// writeOut writes what fn produces to path, atomically: a failure leaves
// no partial file.
func writeOut(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func evidencePackCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("evidence pack", stderr)
	path := fs.String("config", "", "config file of the server whose store to read")
	person := fs.String("person", "", "the UserID of the person")
	notice := fs.String("notice", "", "the notice id")
	version := fs.Int("version", 0, "the notice version")
	out := fs.String("out", "", "the pack to write (a zip)")
	actor := fs.String("actor", "", `who makes the pack, for the audit log (default "cli:$USER")`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || *out == "" || fs.NArg() > 0 || (*person == "") == (*notice == "") || (*notice != "" && *version < 1) {
		return fmt.Errorf("%w: evidence pack takes -config FILE, -person ID or -notice ID -version N, and -out FILE", errUsage)
	}
	m, st, err := openEvidence(ctx, *path, stderr, environ, false)
	if err != nil {
		return err
	}
	defer st.Close()
	who := cliActor(*actor, environ)
	if err := writeOut(*out, func(w io.Writer) error {
		if *person != "" {
			return m.PersonPack(ctx, who, *person, w)
		}
		return m.NoticePack(ctx, who, *notice, *version, w)
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (signed; public key %s)\ncheck it with: wecomply evidence verify %s -pubkey KEY\n",
		*out, base64.StdEncoding.EncodeToString(m.PublicKey()), *out)
	return nil
}

func evidenceTransferCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("evidence transfer", stderr)
	path := fs.String("config", "", "config file of the server whose store to read")
	var req evidence.TransferRequest
	fs.StringVar(&req.Destination, "destination", "", "who receives it, and where")
	fs.StringVar(&req.Purpose, "purpose", "", "why it is sent")
	fs.StringVar(&req.LegalBasis, "legal-basis", "", "the legal ground for the transfer")
	fs.StringVar(&req.Approver, "approver", "", "who approved the transfer")
	fs.StringVar(&req.NoticeID, "notice", "", "only this notice's obligations and attestations")
	fs.IntVar(&req.Version, "version", 0, "only this version of -notice")
	msgFrom := fs.String("messages-from", "", "add the session archive's message metadata from this time (RFC 3339)")
	msgTo := fs.String("messages-to", "", "… up to this time (RFC 3339, exclusive)")
	actor := fs.String("actor", "", `who makes the export (default "cli:$USER")`)
	out := fs.String("out", "", "the export to write (JSON)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: evidence transfer takes -config FILE, -out FILE and the register's fields", errUsage)
	}
	req.Actor = cliActor(*actor, environ)
	for _, f := range []struct {
		flag, v string
		t       *time.Time
	}{{"-messages-from", *msgFrom, &req.MessagesFrom}, {"-messages-to", *msgTo, &req.MessagesTo}} {
		if f.v == "" {
			continue
		}
		var err error
		if *f.t, err = time.Parse(time.RFC3339, f.v); err != nil {
			return fmt.Errorf("%w: %s: want an RFC 3339 time such as 2026-12-01T00:00:00+08:00, got %q", errUsage, f.flag, f.v)
		}
	}
	m, st, err := openEvidence(ctx, *path, stderr, environ, !req.MessagesFrom.IsZero() || !req.MessagesTo.IsZero())
	if err != nil {
		return err
	}
	defer st.Close()
	var t evidence.Transfer
	if err := writeOut(*out, func(w io.Writer) error {
		var err error
		t, err = m.PseudonymisedExport(ctx, req, w)
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d records, sha256 %s; on the transfer register as %s\n", *out, t.Records, t.SHA256, t.ID)
	return nil
}

func evidenceTransfersCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("evidence transfers", stderr)
	path := fs.String("config", "", "config file of the server whose store to read")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: evidence transfers takes -config FILE", errUsage)
	}
	m, st, err := openEvidence(ctx, *path, stderr, environ, false)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := m.ListTransfers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"transfers": ts}); err != nil {
			return err
		}
		_, err := stdout.Write(b.Bytes())
		return err
	}
	for _, t := range ts {
		fmt.Fprintf(stdout, "%s  %s → %s\n  purpose: %s; legal basis: %s; approved by %s; made by %s\n  %d records, sha256 %s\n",
			t.At.Format(time.RFC3339), t.ID, t.Destination, oneLine(t.Purpose, 200), oneLine(t.LegalBasis, 200), t.Approver, t.Actor, t.Records, t.SHA256)
	}
	if len(ts) == 0 {
		fmt.Fprintln(stdout, "no transfers on the register")
	}
	return nil
}

// printEvidenceKeys prints a fresh evidence signing key (its seed), its
// public key, and a fresh pseudonym key, for keygen.
func printEvidenceKeys(w io.Writer, random io.Reader) error {
	seed := make([]byte, ed25519.SeedSize+32)
	if _, err := io.ReadFull(random, seed); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	sign, pseudo := seed[:ed25519.SeedSize], seed[ed25519.SeedSize:]
	pub := ed25519.NewKeyFromSeed(sign).Public().(ed25519.PublicKey)
	fmt.Fprintf(w, `
Evidence packs are signed with this key (prefer %s); examiners get its
public key from /.well-known/wecomply-evidence.pub:

[evidence]
signing_key = %q
# public key: %s

Pseudonymised exports use this key; it never leaves (prefer %s):

[transfer]
pseudonym_key = %q
`, config.EnvEvidenceSigningKey, base64.StdEncoding.EncodeToString(sign), base64.StdEncoding.EncodeToString(pub),
		config.EnvTransferPseudonymKey, base64.StdEncoding.EncodeToString(pseudo))
	return nil
}
