package console

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// obligations lists obligations, filtered, a page at a time.
func (s *Server) obligations(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := store.ObligationFilter{NoticeID: q.Get("notice"), Status: policy.ObligationStatus(q.Get("status")), UserID: strings.TrimSpace(q.Get("user"))}
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, sess, http.StatusBadRequest, "err_version")
			return
		}
		f.Version = n
	}
	items, next, err := s.o.Store.ListObligations(r.Context(), f, store.Page{Cursor: q.Get("cursor"), Limit: pageSize})
	if s.listFailed(w, r, sess, "list obligations", err) {
		return
	}
	if err := s.auditView(r, sess, "obligations", f.UserID, filterOf(q, "notice", "version", "status", "user", "cursor")); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	s.render(w, r, sess, "obligations", map[string]any{"Items": items, "NextURL": nextURL(r, "cursor", next), "Filter": f, "Version": q.Get("version"),
		"Statuses": []policy.ObligationStatus{policy.Pending, policy.Overdue, policy.Acknowledged, policy.Superseded, policy.Cancelled}})
}

// consents lists customers' archiving consents, filtered, a page at a
// time.
func (s *Server) consents(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := store.ConsentFilter{Status: policy.ConsentStatus(q.Get("status")), UserID: strings.TrimSpace(q.Get("user"))}
	items, next, err := s.o.Store.ListConsents(r.Context(), f, store.Page{Cursor: q.Get("cursor"), Limit: pageSize})
	if s.listFailed(w, r, sess, "list consents", err) {
		return
	}
	if err := s.auditView(r, sess, "consents", f.UserID, filterOf(q, "status", "user", "cursor")); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	s.render(w, r, sess, "consents", map[string]any{"Items": items, "NextURL": nextURL(r, "cursor", next), "Filter": f,
		"Statuses": []policy.ConsentStatus{policy.ConsentAgreed, policy.ConsentDisagreed, policy.ConsentUnknown}})
}

// deadLetters lists the events that exhausted their retries.
func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	items, next, err := s.o.Store.ListDeadLetters(r.Context(), store.Page{Cursor: q.Get("cursor"), Limit: pageSize})
	if s.listFailed(w, r, sess, "list dead letters", err) {
		return
	}
	if err := s.auditView(r, sess, "deadletters", "", filterOf(q, "cursor")); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	s.render(w, r, sess, "deadletters", map[string]any{"Items": items, "NextURL": nextURL(r, "cursor", next), "CSRF": sess.CSRF, "Done": q.Get("retried")})
}

// retryDeadLetter queues a dead letter again (officer), audited first.
func (s *Server) retryDeadLetter(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	_, _, err := store.DoDeadLetter(r.Context(), s.o.Store, id, store.DeadLetterOp{Action: store.DeadLetterRetry, Via: "console", Actor: sess.UserID, At: s.o.Now()})
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_dead_letter")
		return
	}
	if err != nil {
		s.internal(w, r, sess, "retry dead letter", err)
		return
	}
	http.Redirect(w, r, Prefix+"deadletters?retried="+url.QueryEscape(id), http.StatusSeeOther)
}

// auditPage is the entries of the audit log a page shows, newest first.
const auditScan = 5000

// audit shows the audit log newest first, a page at a time (before =
// the Seq to go below), filtered by kind and subject.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	q := r.URL.Query()
	kind, subject := strings.TrimSpace(q.Get("kind")), strings.TrimSpace(q.Get("subject"))
	before := uint64(0)
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseUint(b, 10, 64)
		if err != nil || n == 0 {
			s.fail(w, r, sess, http.StatusBadRequest, "err_cursor")
			return
		}
		before = n
	}
	if before == 0 {
		last, err := lastAuditSeq(r, s.o.Store)
		if err != nil {
			s.internal(w, r, sess, "audit head", err)
			return
		}
		before = last + 1
	}
	var out []store.AuditEntry
	scanned := 0
	hi := before // the entries below hi are still to look at
	for hi > 1 && len(out) < pageSize && scanned < auditScan {
		lo := uint64(1)
		if hi > 201 {
			lo = hi - 200
		}
		batch, err := s.o.Store.ListAudit(ctx, lo-1, int(hi-lo))
		if err != nil {
			s.internal(w, r, sess, "list audit", err)
			return
		}
		scanned += len(batch)
		for i := len(batch) - 1; i >= 0; i-- {
			e := batch[i]
			hi = e.Seq
			if (kind == "" || strings.HasPrefix(e.Kind, kind)) && (subject == "" || e.Subject == subject) {
				out = append(out, e)
				if len(out) == pageSize {
					break
				}
			}
		}
		if len(out) < pageSize {
			hi = lo
		}
	}
	if err := s.auditView(r, sess, "audit", subject, filterOf(q, "kind", "subject", "before")); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	next := ""
	if hi > 1 {
		next = strconv.FormatUint(hi, 10)
	}
	s.render(w, r, sess, "audit", map[string]any{"Entries": out, "Kind": kind, "Subject": subject, "NextURL": nextURL(r, "before", next)})
}

// lastAuditSeq finds the newest entry's Seq with O(log n) reads of one
// entry (ListAudit reads forwards only).
func lastAuditSeq(r *http.Request, st store.Audit) (uint64, error) {
	exists := func(seq uint64) (bool, error) {
		e, err := st.ListAudit(r.Context(), seq-1, 1)
		return len(e) == 1, err
	}
	hi := uint64(1)
	for {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		hi *= 2
	}
	lo := hi / 2 // exists (or 0)
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// verifyAudit walks the whole chain and shows the report.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, sess *session) {
	rep, err := s.o.Store.VerifyAudit(r.Context())
	if err != nil {
		s.internal(w, r, sess, "verify audit", err)
		return
	}
	s.render(w, r, sess, "verify", map[string]any{"Report": rep, "At": s.o.Now()})
}

// archiveSearch searches the session archive (the archive audits it).
func (s *Server) archiveSearch(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	data := map[string]any{"On": s.o.Archive != nil, "Q": q.Get("q"), "User": q.Get("user"), "Customer": q.Get("customer"),
		"From": q.Get("from"), "To": q.Get("to")}
	if s.o.Archive == nil || !q.Has("go") {
		s.render(w, r, sess, "archive", data)
		return
	}
	sq := archive.SearchQuery{Text: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"), Limit: pageSize}
	sq.User, sq.Customer = strings.TrimSpace(q.Get("user")), strings.TrimSpace(q.Get("customer"))
	var bad string
	if sq.From, bad = s.day(q.Get("from"), "from"); bad == "" {
		var to time.Time
		if to, bad = s.day(q.Get("to"), "to"); bad == "" && !to.IsZero() {
			sq.To = to.AddDate(0, 0, 1) // the whole day
		}
	}
	if bad != "" {
		data["Error"] = bad
		s.render(w, r, sess, "archive", data)
		return
	}
	res, next, err := s.o.Archive.Search(r.Context(), sess.UserID, sq)
	if errors.Is(err, archive.ErrQueryText) {
		data["Error"] = "q"
		s.render(w, r, sess, "archive", data)
		return
	}
	if err != nil {
		s.internal(w, r, sess, "archive search", err)
		return
	}
	data["Results"], data["NextURL"] = res, nextURL(r, "cursor", next)
	s.render(w, r, sess, "archive", data)
}

// day parses a YYYY-MM-DD date in the console's zone ("" is zero).
func (s *Server) day(v, field string) (time.Time, string) {
	if v == "" {
		return time.Time{}, ""
	}
	t, err := time.ParseInLocation("2006-01-02", v, s.o.Location)
	if err != nil {
		return time.Time{}, field
	}
	return t, ""
}

// conversation shows one chat, oldest first.
func (s *Server) conversation(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	c := q.Get("c")
	if s.o.Archive == nil || c == "" {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_conversation")
		return
	}
	sq := archive.SearchQuery{Ascending: true, Cursor: q.Get("cursor"), Limit: 200}
	sq.Conversation = c
	res, next, err := s.o.Archive.Search(r.Context(), sess.UserID, sq)
	if err != nil {
		s.internal(w, r, sess, "archive conversation", err)
		return
	}
	s.render(w, r, sess, "conversation", map[string]any{"Conversation": c, "Results": res, "NextURL": nextURL(r, "cursor", next)})
}

// personPack and noticePack download an evidence pack (officer). The
// pack is built in memory first, so a failure is an error page, not a
// truncated zip.
func (s *Server) personPack(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	s.pack(w, r, sess, "evidence-person-"+id+".zip", func(b *bytes.Buffer) error {
		return s.o.Evidence.PersonPack(r.Context(), sess.UserID, id, b)
	})
}

func (s *Server) noticePack(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	version, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || version < 1 {
		s.fail(w, r, sess, http.StatusBadRequest, "err_version")
		return
	}
	s.pack(w, r, sess, "evidence-notice-"+id+"-v"+strconv.Itoa(version)+".zip", func(b *bytes.Buffer) error {
		return s.o.Evidence.NoticePack(r.Context(), sess.UserID, id, version, b)
	})
}

func (s *Server) pack(w http.ResponseWriter, r *http.Request, sess *session, name string, make func(*bytes.Buffer) error) {
	if s.o.Evidence == nil {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_evidence")
		return
	}
	var b bytes.Buffer
	if err := make(&b); err != nil {
		s.internal(w, r, sess, "evidence pack", err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.Map(safeFileRune, name)+`"`)
	w.Write(b.Bytes()) //nolint:errcheck // the client went away
}

func safeFileRune(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
		return r
	}
	return '_'
}

// filterOf keeps the named query values that are set, for the audit log.
func filterOf(q map[string][]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v := q[k]; len(v) > 0 && v[0] != "" {
			out[k] = v[0]
		}
	}
	return out
}

// maxExport bounds the entries one audit export writes.
const maxExport = 1_000_000

// auditExport downloads the audit log, oldest first, filtered like the
// page, as CSV for Excel (UTF-8 with a BOM; times in the console's zone
// with their offset, and UTC beside them, so no one guesses the zone).
// Officers only; the export itself is audited first.
func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	q := r.URL.Query()
	kind, subject := strings.TrimSpace(q.Get("kind")), strings.TrimSpace(q.Get("subject"))
	if err := s.auditView(r, sess, "audit_export", subject, filterOf(q, "kind", "subject")); err != nil {
		s.internal(w, r, sess, "audit export", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="wecomply-audit-`+s.o.Now().In(s.o.Location).Format("20060102-150405")+`.csv"`)
	cw := csv.NewWriter(w)
	io.WriteString(w, "\ufeff") //nolint:errcheck // a failed write shows in cw.Error
	zoneCol := "time (" + s.zone + ")"
	cw.Write([]string{"seq", zoneCol, "time (UTC)", "kind", "subject", "data", "hash", "prev_hash"}) //nolint:errcheck // see cw.Error
	after, written := uint64(0), 0
	for written < maxExport {
		batch, err := s.o.Store.ListAudit(ctx, after, 1000)
		if err != nil {
			s.o.Logger.Error("console: audit export", "err", err, "user", sess.UserID)
			return // the download is cut short; the browser shows it failed
		}
		for _, e := range batch {
			after = e.Seq
			if (kind != "" && !strings.HasPrefix(e.Kind, kind)) || (subject != "" && e.Subject != subject) {
				continue
			}
			cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.At.In(s.o.Location).Format("2006-01-02 15:04:05 -07:00"), //nolint:errcheck // see cw.Error
				e.At.UTC().Format(time.RFC3339Nano), e.Kind, e.Subject, string(e.Data), e.Hash, e.PrevHash})
			written++
		}
		if len(batch) < 1000 {
			break
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.o.Logger.Warn("console: audit export write", "err", err)
	}
}
