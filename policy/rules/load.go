package rules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load reads and parses the rule file at path. Its terms_file names are
// read from the rule file's directory. A bad file yields an error that
// wraps an *Error.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	s, err := ParseFS(data, os.DirFS(filepath.Dir(path)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Holder holds the rule set loaded from a file and reloads it when asked
// (SIGHUP) or when the files change (Check, polled). A file that does not
// parse leaves the rules in force as they were. Safe for concurrent use;
// scanners call Set for each message.
type Holder struct {
	path   string
	accept func(*Set) error
	cur    atomic.Pointer[Set]

	mu    sync.Mutex // serialises reloads
	stamp []fileStamp
}

// fileStamp is what Check compares to see that a file changed.
type fileStamp struct {
	path    string
	size    int64
	modTime time.Time
	missing bool
}

// NewHolder loads the rule file at path; it fails if the file does not
// parse (there are no old rules to keep yet). accept, if not nil, checks
// each set parsed beyond what the parser does (say, that WeCom would take
// its blocking rules): a set it refuses is treated as a file that does
// not parse.
func NewHolder(path string, accept func(*Set) error) (*Holder, error) {
	h := &Holder{path: path, accept: accept}
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
func (h *Holder) Set() *Set { return h.cur.Load() }

// Path is the rule file's path.
func (h *Holder) Path() string { return h.path }

// Reload loads the file now. On success the new rules are in force and
// changed says whether their version differs from the old one's; on
// failure the old rules stay and err says why (with the line, for a
// file that does not parse).
func (h *Holder) Reload() (changed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reload()
}

func (h *Holder) reload() (bool, error) {
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
func (h *Holder) load() (*Set, error) {
	s, err := Load(h.path)
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
// or modification time since the last load (or appeared or vanished).
// checked is false when nothing changed and nothing was loaded.
func (h *Holder) Check() (checked, changed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stamp != nil && slices.Equal(h.stat(h.cur.Load()), h.stamp) {
		return false, false, nil
	}
	changed, err = h.reload()
	return true, changed, err
}

// stat stamps the rule file and the terms files the set names.
func (h *Holder) stat(s *Set) []fileStamp {
	paths := []string{h.path}
	if s != nil {
		for _, r := range s.rules {
			if r.TermsFile != "" {
				paths = append(paths, filepath.Join(filepath.Dir(h.path), filepath.FromSlash(r.TermsFile)))
			}
		}
	}
	out := make([]fileStamp, len(paths))
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

// Reloaded is what Watch reports after each reload it tried.
type Reloaded struct {
	// Forced: a reload was asked for (SIGHUP), not a change seen.
	Forced  bool
	Changed bool
	// Err is why the file was not taken; the old rules stay in force.
	Err error
	// Set is the rules in force after the attempt.
	Set *Set
}

// Watch checks the files at every tick and reloads on every value from
// hup, until ctx ends. Each attempt is reported to report (from Watch's
// goroutine), which logs and counts it: Watch itself logs nothing.
func (h *Holder) Watch(ctx context.Context, ticks <-chan time.Time, hup <-chan os.Signal, report func(Reloaded)) {
	for {
		var r Reloaded
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			checked, changed, err := h.Check()
			if !checked {
				continue
			}
			r = Reloaded{Changed: changed, Err: err}
		case <-hup:
			changed, err := h.Reload()
			r = Reloaded{Forced: true, Changed: changed, Err: err}
		}
		r.Set = h.Set()
		report(r)
	}
}

// ParseProblems returns the problems of a rule file that did not parse,
// or nil if err is not one.
func ParseProblems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}
