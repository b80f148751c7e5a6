package server

import (
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Config is what every load tool's wecomply config has: the listen
// address, the corp and its app secrets, the fake WeCom, one callback
// receiver, the store, the cron and an admin token. Policy (notices,
// officers, calendar) goes in Extra.
type Config struct {
	Listen  string
	CorpID  string
	AgentID int64
	// Secrets are the [wecom] secret keys ("secret", "contacts_secret", …)
	// and their values.
	Secrets           map[string]string
	APIURL            string
	Token, AESKey     string
	Backend, RedisURL string
	// Jobs are the [jobs] specs set; every other job is off, so that the
	// cron's start-up catch-up does not call WeCom behind what a tool
	// measures.
	Jobs  map[string]string
	Admin string
	// DebugListen is [server] debug_listen (pprof), "" off.
	DebugListen string
	// Extra is more TOML, appended as it is.
	Extra string
	// StoreExtra is more [store] keys, one per line.
	StoreExtra string
}

// TOML renders c, with the embedded store's file in dir.
func (c Config) TOML(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nlisten = %q\ndebug_listen = %q\n[log]\nlevel = \"warn\"\n[wecom]\ncorp_id = %q\nagent_id = %d\napi_base_url = %q\n",
		c.Listen, c.DebugListen, c.CorpID, c.AgentID, c.APIURL)
	for _, k := range slices.Sorted(maps.Keys(c.Secrets)) {
		fmt.Fprintf(&b, "%s = %q\n", k, c.Secrets[k])
	}
	fmt.Fprintf(&b, "[[wecom.callback]]\npath = \"/wecom/callback\"\ntoken = %q\nencoding_aes_key = %q\n", c.Token, c.AESKey)
	fmt.Fprintf(&b, "[store]\nbackend = %q\npath = %q\nredis_url = %q\n", c.Backend, filepath.Join(dir, "wecomply.db"), c.RedisURL)
	if c.StoreExtra != "" {
		b.WriteString(strings.TrimSpace(c.StoreExtra) + "\n")
	}
	b.WriteString("[jobs]\n")
	for _, job := range []string{"reminders", "digest", "reconcile", "retention"} {
		fmt.Fprintf(&b, "%s = %q\n", job, c.Jobs[job])
	}
	fmt.Fprintf(&b, "[admin]\ntokens = [%q]\n", c.Admin)
	b.WriteString(c.Extra)
	return b.String()
}

// Start writes c into dir, starts `bin serve` on it with its output to
// out, and waits until it is ready. It returns the process and the base
// URL; the caller kills it.
func Start(bin, dir string, c Config, out io.Writer) (*exec.Cmd, string, error) {
	if c.Listen == "" {
		addr, err := FreeAddr()
		if err != nil {
			return nil, "", err
		}
		c.Listen = addr
	}
	path := filepath.Join(dir, "wecomply.toml")
	if err := os.WriteFile(path, []byte(c.TOML(dir)), 0o600); err != nil {
		return nil, "", err
	}
	srv := exec.Command(bin, "serve", "-config", path)
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + c.Listen
	if err := WaitReady(base); err != nil {
		srv.Process.Kill()
		srv.Wait()
		return nil, "", err
	}
	return srv, base, nil
}
