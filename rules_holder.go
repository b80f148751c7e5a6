package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wecomply/wecomply/policy/rules"
)

// loadRules reads and parses the rule file at path. Its terms_file names
// are read from the rule file's directory. A bad file yields an error
// that wraps a *rules.Error.
func loadRules(path string) (*rules.Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	s, err := rules.ParseFS(data, os.DirFS(filepath.Dir(path)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ruleHolder holds the rule set loaded from a file and reloads it when
// asked (SIGHUP) or when the files change and settle (Check, polled). A
// file that does not parse leaves the rules in force as they were. Safe
// for concurrent use; scanners call Set for each message. It is here, not
// in policy/rules, because policy does no I/O.
type ruleHolder struct {
	path   string
	accept func(*rules.Set) error
	cur    atomic.Pointer[rules.Set]

	mu    sync.Mutex // serialises reloads
	stamp []ruleStamp
	// seen is the files' stamp at the last Check that found them changed
	// and left them, to see whether they settled (see Check).
	seen []ruleStamp
}

// ruleStamp is what Check compares to see that a file changed.
type ruleStamp struct {
	path    string
	size    int64
	modTime time.Time
	missing bool
}

// newRuleHolder loads the rule file at path; it fails if the file does not
// parse (there are no old rules to keep yet). accept, if not nil, checks
// each set parsed beyond what the parser does (say, that WeCom would take
// its blocking rules): a set it refuses is treated as a file that does
// not parse.
func newRuleHolder(path string, accept func(*rules.Set) error) (*ruleHolder, error) {
	h := &ruleHolder{path: path, accept: accept}
	stamp := h.stat(nil)
	s, err := h.load()
	if err != nil {
		return nil, err
	}
	h.cur.Store(s)
	h.stamp = h.stat(s)
	if !slices.Equal(stamp[:1], h.stamp[:1]) {
		h.stamp = nil // changed while loading: the next Check reloads
	}
	return h, nil
}

// Set returns the rules in force.
func (h *ruleHolder) Set() *rules.Set { return h.cur.Load() }

// Path is the rule file's path.
func (h *ruleHolder) Path() string { return h.path }

// Reload loads the file now. On success the new rules are in force and
// changed says whether their version differs from the old one's; on
// failure the old rules stay and err says why (with the line, for a
// file that does not parse).
func (h *ruleHolder) Reload() (changed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = nil
	return h.reload()
}

func (h *ruleHolder) reload() (bool, error) {
	old := h.cur.Load()
	stamp := h.stat(old)
	s, err := h.load()
	if err != nil {
		h.stamp = stamp // report a bad file once, not at every poll
		return false, err
	}
	h.stamp = h.stat(s)
	if !slices.Equal(stamp[:1], h.stamp[:1]) {
		h.stamp = nil
	}
	h.cur.Store(s)
	return s.Version() != old.Version(), nil
}

// load loads the file and lets accept check it.
func (h *ruleHolder) load() (*rules.Set, error) {
	s, err := loadRules(h.path)
	if err != nil {
		return nil, err
	}
	if h.accept != nil {
		if err := h.accept(s); err != nil {
			return nil, fmt.Errorf("%s: %w", h.path, err)
		}
	}
	return s, nil
}

// Check reloads if the rule file or a terms file it names changed size
// or modification time since the last load (or appeared or vanished),
// once the change has settled: the files must look the same at two
// Checks in a row. An editor that truncates the file and writes it again
// in place leaves it half-written for a moment, and a half-written rule
// file often parses (an empty one is a valid set of no rules): taken, it
// would turn supervision off until the next poll. So a change is taken
// one poll later than it is seen. Reload (SIGHUP) takes the files at
// once. checked is false when nothing was loaded.
func (h *ruleHolder) Check() (checked, changed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.stat(h.cur.Load())
	if h.stamp != nil && slices.Equal(now, h.stamp) {
		h.seen = nil
		return false, false, nil
	}
	if !slices.Equal(now, h.seen) {
		h.seen = now // changed, or still changing: look again next time
		return false, false, nil
	}
	h.seen = nil
	changed, err = h.reload()
	return true, changed, err
}

// stat stamps the rule file and the terms files the set names.
func (h *ruleHolder) stat(s *rules.Set) []ruleStamp {
	paths := []string{h.path}
	if s != nil {
		for _, r := range s.Rules() {
			if r.TermsFile != "" {
				paths = append(paths, filepath.Join(filepath.Dir(h.path), filepath.FromSlash(r.TermsFile)))
			}
		}
	}
	out := make([]ruleStamp, len(paths))
	for i, p := range paths {
		out[i].path = p
		fi, err := os.Stat(p)
		if err != nil {
			out[i].missing = true
			continue
		}
		out[i].size, out[i].modTime = fi.Size(), fi.ModTime()
	}
	return out
}

// rulesReloaded is what Watch reports after each reload it tried.
type rulesReloaded struct {
	// Forced: a reload was asked for (SIGHUP), not a change seen.
	Forced  bool
	Changed bool
	// Err is why the file was not taken; the old rules stay in force.
	Err error
	// Set is the rules in force after the attempt.
	Set *rules.Set
}

// Watch checks the files at every tick and reloads on every value from
// hup, until ctx ends. Each attempt is reported to report (from Watch's
// goroutine), which logs and counts it: Watch itself logs nothing.
func (h *ruleHolder) Watch(ctx context.Context, ticks <-chan time.Time, hup <-chan os.Signal, report func(rulesReloaded)) {
	for {
		var r rulesReloaded
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			checked, changed, err := h.Check()
			if !checked {
				continue
			}
			r = rulesReloaded{Changed: changed, Err: err}
		case <-hup:
			changed, err := h.Reload()
			r = rulesReloaded{Forced: true, Changed: changed, Err: err}
		}
		r.Set = h.Set()
		report(r)
	}
}
