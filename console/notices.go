package console

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
)

// notices lists the configured notice versions with their coverage.
func (s *Server) notices(w http.ResponseWriter, r *http.Request, sess *session) {
	type row struct {
		policy.Notice
		Counts map[string]int
	}
	var rows []row
	for _, n := range s.o.Notices {
		c, err := s.o.Store.CountObligations(r.Context(), n.ID, n.Version)
		if err != nil {
			s.internal(w, r, sess, "count obligations", err)
			return
		}
		m := map[string]int{}
		for k, v := range c {
			m[string(k)] = v
		}
		rows = append(rows, row{Notice: n, Counts: m})
	}
	s.render(w, r, sess, "notices", map[string]any{"Notices": rows})
}

// renderedText is one exact text of a notice version: its language,
// the due date it was rendered for, its content hash and its parts.
type renderedText struct {
	Lang  string
	Due   time.Time
	Hash  string
	Parts []part
	Text  string
	Err   string
	Sent  int // deliveries recorded with this hash
}

type part struct{ Name, Text string }

// notice shows a version: the exact texts people were sent (one per
// language and due date), each with its content hash and how many
// deliveries carry it; the diff from the previous configured version;
// and its send results.
func (s *Server) notice(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	id := r.PathValue("id")
	version, err := strconv.Atoi(r.PathValue("version"))
	i := slices.IndexFunc(s.o.Notices, func(n policy.Notice) bool { return n.ID == id && n.Version == version })
	if err != nil || i < 0 {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_notice")
		return
	}
	n := s.o.Notices[i]
	results, err := s.o.Store.ListSendResults(ctx, n.Key())
	if err != nil {
		s.internal(w, r, sess, "send results", err)
		return
	}
	dues, err := s.dueTimes(r, n)
	if err != nil {
		s.internal(w, r, sess, "due dates", err)
		return
	}
	texts := s.texts(n, dues)
	byHash := map[string]*renderedText{}
	for i := range texts {
		byHash[texts[i].Hash] = &texts[i]
	}
	byStatus := map[store.DeliveryStatus]int{}
	unknown := 0
	for _, res := range results {
		byStatus[res.Status]++
		if t, ok := byHash[res.ContentHash]; ok {
			t.Sent++
		} else if res.ContentHash != "" {
			unknown++
		}
	}
	// The previous version, when config still has it: the diff of the
	// texts with no due date, in the first language.
	var prev *policy.Notice
	for _, o := range s.o.Notices {
		if o.ID == n.ID && o.Version < n.Version && (prev == nil || o.Version > prev.Version) {
			prev = &o
		}
	}
	var diff string
	if prev != nil {
		a, b := s.texts(*prev, []time.Time{{}}), s.texts(n, []time.Time{{}})
		if len(a) > 0 && len(b) > 0 {
			diff, _ = difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(a[0].Text), B: difflib.SplitLines(b[0].Text),
				FromFile: prev.Key() + " " + a[0].Lang, ToFile: n.Key() + " " + b[0].Lang, Context: 3})
		}
	}
	if err := s.auditView(r, sess, "notice", n.Key(), map[string]string{"notice": n.Key()}); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	if len(results) > 500 {
		results = results[:500]
	}
	texts = slices.DeleteFunc(texts, func(t renderedText) bool { return t.Sent == 0 && !t.Due.IsZero() })
	s.render(w, r, sess, "notice", map[string]any{"Notice": n, "Texts": texts, "Prev": prev, "Diff": diff,
		"Results": results, "ByStatus": byStatus, "Unknown": unknown})
}

// dueTimes are the distinct due times of n's obligations, to a quarter
// of an hour (every zone's midnight falls on one, so the due day a card
// shows is the same for all in a bucket), and the zero time.
func (s *Server) dueTimes(r *http.Request, n policy.Notice) ([]time.Time, error) {
	seen := map[time.Time]bool{{}: true}
	out := []time.Time{{}}
	cursor, read := "", 0
	for {
		items, next, err := s.o.Store.ListObligations(r.Context(), store.ObligationFilter{NoticeID: n.ID, Version: n.Version}, store.Page{Cursor: cursor, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			d := o.DueAt.Truncate(15 * time.Minute)
			if !seen[d] {
				seen[d] = true
				out = append(out, o.DueAt)
			}
		}
		read += len(items)
		if next == "" || read >= scanCap {
			return out, nil
		}
		cursor = next
	}
}

// texts renders n in each of its languages for each due time, one text
// per content hash.
func (s *Server) texts(n policy.Notice, dues []time.Time) []renderedText {
	if s.o.Render == nil {
		return nil
	}
	langs := n.Languages
	if len(langs) == 0 {
		langs = templates.Languages
	}
	var out []renderedText
	seen := map[string]bool{}
	for _, lang := range langs {
		for _, due := range dues {
			rt, err := s.o.Render(n, lang, due)
			if err != nil {
				out = append(out, renderedText{Lang: lang, Due: due, Err: err.Error()})
				break
			}
			h := rt.Hash()
			if seen[h] {
				continue
			}
			seen[h] = true
			t := renderedText{Lang: lang, Due: due, Hash: h}
			var all strings.Builder
			for _, k := range slices.Sorted(maps.Keys(rt.Parts)) {
				t.Parts = append(t.Parts, part{Name: k, Text: rt.Parts[k]})
				all.WriteString("[" + k + "]\n" + rt.Parts[k] + "\n")
			}
			t.Text = all.String()
			out = append(out, t)
		}
	}
	return out
}
