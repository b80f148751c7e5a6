package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/wecom"
)

// EnvArchiveNewMasterKey holds the new master key for `archive
// rotate-key` (never a flag: a key on a command line lands in the shell's
// history and in ps).
const EnvArchiveNewMasterKey = "WECOMPLY_ARCHIVE_NEW_MASTER_KEY"

// archiveCmd is `wecomply archive status|export|retry-quarantine|rotate-key
// -config FILE …`. Like dead-letters, it opens the configured stores
// directly (no admin token on a command line; it works while the server is
// down — on the embedded backend, only then: its file is locked while the
// server runs; use GET /api/v1/archive/… instead). source is the archive
// source retry-quarantine decrypts with; nil means the SDK.
func archiveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string, source wecom.ArchiveSource) error {
	var sub string
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "status", "export", "retry-quarantine", "rotate-key":
	default:
		return fmt.Errorf("%w: archive takes the subcommand status, export, retry-quarantine or rotate-key", errUsage)
	}
	fs := newFlagSet("archive "+sub, stderr)
	path := fs.String("config", "", "config file of the server whose archive to use")
	var (
		asJSON            bool
		out, actor, newID string
		q                 archive.SearchQuery
		from, to          string
	)
	switch sub {
	case "status":
		fs.BoolVar(&asJSON, "json", false, "print the status as JSON")
	case "export":
		fs.StringVar(&out, "out", "", "directory to write messages.jsonl and manifest.json into (created; must be empty)")
		fs.StringVar(&actor, "actor", envValue(environ, "USER"), "who exports, for the audit log (default $USER)")
		fs.StringVar(&q.User, "user", "", "an employee's UserID, as sender or receiver")
		fs.StringVar(&q.Customer, "customer", "", "a customer's external_userid, as sender or receiver")
		fs.StringVar(&q.Room, "room", "", "a group chat's roomid")
		fs.StringVar(&q.Conversation, "conversation", "", "a conversation id (room:… or single:…|…)")
		fs.StringVar(&q.Type, "type", "", "a msgtype (text, image, …)")
		fs.StringVar(&from, "from", "", "from this time on (RFC 3339 or YYYY-MM-DD, UTC)")
		fs.StringVar(&to, "to", "", "before this time (RFC 3339 or YYYY-MM-DD, UTC)")
		fs.StringVar(&q.Text, "q", "", "words that must all be in the text")
	case "rotate-key":
		fs.StringVar(&newID, "new-key-id", "", "id of the new master key (letters and digits); the key itself comes from "+EnvArchiveNewMasterKey)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: archive %s takes -config FILE and flags only", errUsage, sub)
	}
	var err error
	if q.From, err = parseWhen("-from", from); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if q.To, err = parseWhen("-to", to); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if sub == "export" && out == "" {
		return fmt.Errorf("%w: archive export takes -out DIR", errUsage)
	}
	var newKey []byte
	if sub == "rotate-key" {
		if newID == "" {
			return fmt.Errorf("%w: archive rotate-key takes -new-key-id ID (and the key in %s)", errUsage, EnvArchiveNewMasterKey)
		}
		if newKey, err = config.Key32(config.Secret(envValue(environ, EnvArchiveNewMasterKey))); err != nil {
			return fmt.Errorf("%s: %w", EnvArchiveNewMasterKey, err)
		}
	}

	// The new master key's variable is the command's, not the config's.
	cfgEnv := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, EnvArchiveNewMasterKey+"=") {
			cfgEnv = append(cfgEnv, kv)
		}
	}
	cfg, err := config.Load(*path, cfgEnv)
	if err != nil {
		return err
	}
	if cfg.Archive.MasterKey == "" || cfg.Archive.IndexKey == "" {
		return fmt.Errorf("archive.master_key and archive.index_key must be set (or %s, %s) to open the archive", config.EnvArchiveMasterKey, config.EnvArchiveIndexKey)
	}
	log := newLogger(cfg.Log, stderr)
	st, err := openStore(ctx, cfg, log, time.Now, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub != "retry-quarantine" && source == nil {
		source = closedSource{} // these never call the source
	}
	p, err := newArchive(ctx, cfg, st, source, log, nil, time.Now)
	if err != nil {
		return err
	}
	defer p.close()

	switch sub {
	case "status":
		s, err := p.Status(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(s)
		}
		printArchiveStatus(stdout, s, time.Now())
		return nil
	case "export":
		m, err := p.reader.Export(ctx, actor, q, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "exported %d message(s) to %s (manifest.json: file SHA-256 %s)\n", m.Count, out, m.FileSHA256)
		return nil
	case "retry-quarantine":
		resolved, remaining, err := p.puller.RetryQuarantine(ctx)
		fmt.Fprintf(stdout, "quarantine: %d decrypted and stored, %d still waiting\n", resolved, remaining)
		return err
	default: // rotate-key
		mk, err := archive.NewMasterKey(newID, newKey)
		if err != nil {
			return err
		}
		n, err := p.keys.RotateMaster(ctx, mk)
		if err != nil {
			return fmt.Errorf("rotate the master key: %w (keys rewrapped before the failure stay valid under either key: keep both configured and run it again)", err)
		}
		fmt.Fprintf(stdout, `rewrapped %d data key(s) under master key %q.
Now set archive.master_key_id = %q and archive.master_key (or %s) to the new key,
and keep the previous one in archive.old_master_keys until every replica runs with the new one.
`, n, newID, newID, config.EnvArchiveMasterKey)
		return nil
	}
}

// parseWhen reads a time flag: RFC 3339, or a UTC day.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is neither RFC 3339 (2026-12-05T08:00:00+08:00) nor a day (2026-12-05)", flag, s)
}

func printArchiveStatus(w io.Writer, s archive.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cursor\t%d\n", s.Cursor)
	fmt.Fprintf(tw, "messages\t%d (%d withheld: content not kept)\n", s.Messages, s.Withheld)
	fmt.Fprintf(tw, "quarantined\t%d\n", s.Quarantined)
	fmt.Fprintf(tw, "gaps\t%d\n", s.Gaps)
	if s.NewestMsgTime.IsZero() {
		fmt.Fprintf(tw, "newest message\tnone\n")
	} else {
		fmt.Fprintf(tw, "newest message\t%s (%s ago)\n", s.NewestMsgTime.UTC().Format(time.RFC3339), now.Sub(s.NewestMsgTime).Round(time.Second))
	}
	if !s.LastCommit.IsZero() {
		fmt.Fprintf(tw, "last stored\t%s\n", s.LastCommit.UTC().Format(time.RFC3339))
	}
	for _, g := range s.GapList {
		fmt.Fprintf(tw, "gap\tafter seq %d, before %d (seen %s)\n", g.After, g.Before, g.Detected.UTC().Format(time.RFC3339))
	}
	tw.Flush()
}

// closedSource is the source of archive commands that never pull.
type closedSource struct{}

func (closedSource) ChatData(context.Context, uint64, int) ([]wecom.ChatRecord, error) {
	return nil, fmt.Errorf("this command does not pull the archive")
}
func (closedSource) Decrypt(context.Context, wecom.ChatRecord) ([]byte, error) {
	return nil, fmt.Errorf("this command does not decrypt records")
}
func (closedSource) Media(context.Context, string, io.Writer) (int64, error) {
	return 0, fmt.Errorf("this command does not fetch media")
}
func (closedSource) Close() error { return nil }
