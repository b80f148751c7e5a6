package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/console/evidence"
)

// Transfers makes pseudonymised exports and lists the transfer register
// (the evidence Maker). PseudonymisedExport records the transfer before
// it writes a byte to w, and returns an error wrapping
// evidence.ErrNoPseudonymKey when no pseudonym key is configured.
// ListTransfers is newest first.
type Transfers interface {
	PseudonymisedExport(ctx context.Context, req evidence.TransferRequest, w io.Writer) (evidence.Transfer, error)
	ListTransfers(ctx context.Context) ([]evidence.Transfer, error)
}

var _ Transfers = (*evidence.Maker)(nil)

// transferForm is the export form as submitted, and its problems by
// field name (each a message key).
type transferForm struct {
	Destination, Purpose, LegalBasis, Approver string
	Notice                                     string // "", or "id:version" (version 0: every version)
	From, To                                   string // YYYY-MM-DD in the console's zone, "" for none
	Errors                                     map[string]string
}

// noticeOption is one choice of the form's notice select.
type noticeOption struct {
	Value, Label string
}

// transfers lists the transfer register, newest first, a page at a time
// (before: the Seq below which the page starts), with the export form
// for officers.
func (s *Server) transfers(w http.ResponseWriter, r *http.Request, sess *session) {
	s.transferPage(w, r, sess, http.StatusOK, transferForm{})
}

func (s *Server) transferPage(w http.ResponseWriter, r *http.Request, sess *session, status int, form transferForm) {
	q := r.URL.Query()
	data := map[string]any{"Off": s.o.Transfers == nil, "Form": form, "CSRF": sess.CSRF,
		"Notices": s.noticeOptions(), "Messages": s.o.Archive != nil}
	if s.o.Transfers == nil {
		s.renderStatus(w, r, sess, status, "transfers", data)
		return
	}
	var before uint64
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseUint(b, 10, 64)
		if err != nil || n == 0 {
			s.fail(w, r, sess, http.StatusBadRequest, "err_cursor")
			return
		}
		before = n
	}
	all, err := s.o.Transfers.ListTransfers(r.Context())
	if err != nil {
		s.internal(w, r, sess, "list transfers", err)
		return
	}
	var rows []evidence.Transfer
	next := ""
	for _, t := range all {
		if before != 0 && t.Seq >= before {
			continue
		}
		if len(rows) == pageSize {
			next = strconv.FormatUint(rows[len(rows)-1].Seq, 10)
			break
		}
		rows = append(rows, t)
	}
	if err := s.auditView(r, sess, "transfers", "", filterOf(q, "before")); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	data["Transfers"] = rows
	data["NextURL"] = nextURL(r, "before", next)
	s.renderStatus(w, r, sess, status, "transfers", data)
}

// noticeOptions are the configured notice versions, each notice also
// with "every version".
func (s *Server) noticeOptions() []noticeOption {
	var out []noticeOption
	seen := map[string]bool{}
	for _, n := range s.o.Notices {
		if !seen[n.ID] {
			seen[n.ID] = true
			out = append(out, noticeOption{Value: n.ID + ":0", Label: n.ID + " (*)"})
		}
		out = append(out, noticeOption{Value: n.ID + ":" + strconv.Itoa(n.Version), Label: n.Key() + " " + n.Title})
	}
	return out
}

// exportTransfer makes a pseudonymised export (officer) and sends it as
// a download; the transfer is on record before a byte leaves. A form
// with problems is shown again, each problem next to its field.
func (s *Server) exportTransfer(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.o.Transfers == nil {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_transfers")
		return
	}
	f := r.PostForm
	form := transferForm{Destination: strings.TrimSpace(f.Get("destination")), Purpose: strings.TrimSpace(f.Get("purpose")),
		LegalBasis: strings.TrimSpace(f.Get("legal_basis")), Approver: strings.TrimSpace(f.Get("approver")),
		Notice: f.Get("notice"), From: strings.TrimSpace(f.Get("from")), To: strings.TrimSpace(f.Get("to"))}
	req, problems := s.transferRequest(form)
	if len(problems) > 0 {
		form.Errors = problems
		s.transferPage(w, r, sess, http.StatusBadRequest, form)
		return
	}
	req.Actor = sess.UserID
	var buf bytes.Buffer
	t, err := s.o.Transfers.PseudonymisedExport(r.Context(), req, &buf)
	if errors.Is(err, evidence.ErrNoPseudonymKey) {
		s.fail(w, r, sess, http.StatusServiceUnavailable, "err_export_off")
		return
	}
	if err != nil {
		s.internal(w, r, sess, "pseudonymised export", err)
		return
	}
	s.o.Logger.Info("console: pseudonymised export", "transfer", t.ID, "records", t.Records, "by", sess.UserID)
	name := "transfer-" + t.At.In(s.o.Location).Format("20060102-150405") + "-" + t.SHA256[:12] + ".json"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.Map(safeFileRune, name)+`"`)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away; the transfer is on record
}

// transferRequest checks the form: the four register fields are
// required and at most evidence.TransferFieldMax characters; the notice is a
// configured one; the message window is two dates in the console's zone,
// both or neither, the first not after the second (the window ends with
// the second day).
func (s *Server) transferRequest(f transferForm) (evidence.TransferRequest, map[string]string) {
	problems := map[string]string{}
	req := evidence.TransferRequest{Destination: f.Destination, Purpose: f.Purpose, LegalBasis: f.LegalBasis, Approver: f.Approver}
	for _, x := range []struct{ name, v string }{{"destination", f.Destination}, {"purpose", f.Purpose},
		{"legal_basis", f.LegalBasis}, {"approver", f.Approver}} {
		switch {
		case x.v == "":
			problems[x.name] = "tr_err_required"
		case utf8.RuneCountInString(x.v) > evidence.TransferFieldMax:
			problems[x.name] = "tr_err_long"
		}
	}
	if f.Notice != "" {
		ok := false
		for _, o := range s.noticeOptions() {
			if o.Value == f.Notice {
				ok = true
			}
		}
		id, v, _ := strings.Cut(f.Notice, ":")
		version, err := strconv.Atoi(v)
		if !ok || err != nil {
			problems["notice"] = "tr_err_notice"
		} else {
			req.NoticeID, req.Version = id, version
		}
	}
	if f.From != "" || f.To != "" {
		from, errFrom := time.ParseInLocation(time.DateOnly, f.From, s.o.Location)
		to, errTo := time.ParseInLocation(time.DateOnly, f.To, s.o.Location)
		switch {
		case s.o.Archive == nil:
			problems["from"] = "tr_err_no_archive"
		case errFrom != nil:
			problems["from"] = "tr_err_date"
		case errTo != nil:
			problems["to"] = "tr_err_date"
		case to.Before(from):
			problems["to"] = "tr_err_window"
		default:
			req.MessagesFrom, req.MessagesTo = from, to.AddDate(0, 0, 1)
		}
	}
	return req, problems
}
