// Command wecomply is a WeCom (企业微信) compliance bot and callback
// middleware: it receives WeCom callbacks, keeps every event durably and
// acts on it. See README.md and `wecomply help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// The zone database, so that configured zones (Asia/Shanghai) load on
	// hosts without one (minimal containers).
	_ "time/tzdata"

	"github.com/gin-gonic/gin"
)

const usage = `wecomply — WeCom compliance bot and callback middleware

Usage:
  wecomply sandbox  [-listen ADDR] [-data DIR] [-keep] [-lang zh-CN|en]
                                          the server with a fake WeCom and a demo
                                          company built in, and a page to play with
  wecomply serve    -config FILE          run the server (callbacks, workers)
  wecomply check    -config FILE          validate a config: every problem, with its key
  wecomply keygen                         print a fresh Token and EncodingAESKey (and
                                          evidence signing and pseudonym keys)
  wecomply audit verify -config FILE      check the audit log's hash chain: every entry
                                          unedited, none removed or reordered
  wecomply dead-letters list  -config FILE [-ids]
  wecomply dead-letters retry -config FILE [-actor NAME] ID…
  wecomply dead-letters drop  -config FILE [-actor NAME] ID…
                                          events that failed max_attempts times: list
                                          them, queue them again, or delete them; each
                                          retry and drop is audited (embedded store:
                                          with the server stopped, or use the API)
  wecomply archive status           -config FILE [-json]
  wecomply archive export           -config FILE -out DIR [-user ID] [-customer ID]
                                    [-room ID] [-type T] [-from T] [-to T] [-q WORDS]
  wecomply archive retry-quarantine -config FILE
  wecomply archive rotate-key       -config FILE -new-key-id ID
                                          the session archive: cursor, lag, quarantine;
                                          an export with a manifest of SHA-256s (audited);
                                          decrypt quarantined records after a key was
                                          added; rewrap every data key under a new
                                          master key (from WECOMPLY_ARCHIVE_NEW_MASTER_KEY)
  wecomply evidence verify PACK [-pubkey FILE]
  wecomply evidence pack     -config FILE (-person ID | -notice ID -version N) -out FILE
  wecomply evidence transfer -config FILE -destination D -purpose P -legal-basis B
                             -approver A -out FILE [-notice ID [-version N]]
  wecomply evidence transfers -config FILE [-json]
                                          evidence packs an examiner checks offline
                                          (without -pubkey a pack's own key proves it
                                          whole, not who made it); pseudonymised
                                          exports, each on the transfer register
                                          (wecomply evidence help)
  wecomply rules test FILE                check a supervision rule file and run every
                                          rule's samples: exit 1 names each failing
                                          sample, exit 2 a file that does not parse
  wecomply rules rescan -config FILE -from T -to T [-actor NAME]
                                          scan the archived messages of a time range
                                          again with the rules in force (idempotent per
                                          message and rule version); prints counts
  wecomply simulate -config FILE EVENT [flags]
                                          sign, encrypt and POST a sample event to a
                                          running server, as WeCom would
                                          (wecomply simulate -h lists events and flags)
  wecomply help                           this text
`

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

// exitError is a failure with its own exit status (not 1), printed
// without the usage text.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	// Gin's debug mode prints every route to stdout; wecomply logs with slog.
	// This is Gin's package-level switch, set once here.
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit status: 0 success, 1
// failure, 2 a usage mistake.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serveCmd(ctx, rest, stderr, environ)
	case "check":
		err = checkCmd(rest, stdout, stderr, environ)
	case "keygen":
		err = keygenCmd(rest, stdout, stderr)
	case "simulate":
		err = simulateCmd(ctx, rest, stdout, stderr, environ)
	case "audit":
		err = auditCmd(ctx, rest, stdout, stderr, environ)
	case "dead-letters":
		err = deadLettersCmd(ctx, rest, stdout, stderr, environ)
	case "evidence":
		err = evidenceCmd(ctx, rest, stdout, stderr, environ)
	case "archive":
		err = archiveCmd(ctx, rest, stdout, stderr, environ, nil)
	case "rules":
		err = rulesCmd(ctx, rest, stdout, stderr, environ)
	case "sandbox":
		err = sandboxCmd(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	var exit *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		fmt.Fprintf(stderr, "wecomply: %v\n", exit.err)
		return exit.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "wecomply: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "wecomply: %v\n", err)
		return 1
	}
}

// newFlagSet returns a flag set that reports errors through run.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wecomply "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning flag mistakes into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
