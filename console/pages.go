package console

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// pageSize is the rows of a listing page.
const pageSize = 50

// scanCap bounds what one dashboard figure reads: a figure over more
// records counts the first scanCap of them only (it does not say so).
const scanCap = 20000

// noticeStat is one notice version's coverage.
type noticeStat struct {
	Notice                              policy.Notice
	Acked, Open, Overdue, Closed, Total int
	Chart                               chart
	Sent, Failed                        int
}

type deptStat struct {
	Name  string
	Count int
}

type jobStat struct {
	Job  string
	Runs []store.JobRun
}

// dashboard: coverage per notice and its trend, overdue by department,
// consent coverage, delivery failures, job runs.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	now := s.o.Now()
	var stats []noticeStat
	for _, n := range s.o.Notices {
		counts, err := s.o.Store.CountObligations(ctx, n.ID, n.Version)
		if err != nil {
			s.internal(w, r, sess, "count obligations", err)
			return
		}
		st := noticeStat{Notice: n, Acked: counts[policy.Acknowledged], Open: counts[policy.Pending], Overdue: counts[policy.Overdue],
			Closed: counts[policy.Superseded] + counts[policy.Cancelled]}
		st.Total = st.Acked + st.Open + st.Overdue
		days, err := s.ackTrend(r, n, now, 14)
		if err != nil {
			s.internal(w, r, sess, "acknowledgement trend", err)
			return
		}
		st.Chart = trendChart(days, st.Total)
		results, err := s.o.Store.ListSendResults(ctx, n.Key())
		if err != nil {
			s.internal(w, r, sess, "send results", err)
			return
		}
		for _, res := range results {
			if res.Status == store.StatusSent {
				st.Sent++
			} else if res.Status != store.StatusSkipped {
				st.Failed++
			}
		}
		stats = append(stats, st)
	}
	depts, err := s.overdueByDepartment(r)
	if err != nil {
		s.internal(w, r, sess, "overdue by department", err)
		return
	}
	consent, err := s.consentCounts(r)
	if err != nil {
		s.internal(w, r, sess, "consents", err)
		return
	}
	var jobs []jobStat
	for _, j := range s.o.Jobs {
		runs, err := s.o.Store.ListJobRuns(ctx, j, 5)
		if err != nil {
			s.internal(w, r, sess, "job runs", err)
			return
		}
		jobs = append(jobs, jobStat{Job: j, Runs: runs})
	}
	month, err := s.transfersThisMonth(r, now)
	if err != nil {
		s.internal(w, r, sess, "transfers this month", err)
		return
	}
	bars := make([]bar, len(depts))
	for i, d := range depts {
		bars[i] = bar{Label: d.Name, Value: d.Count}
	}
	s.render(w, r, sess, "dashboard", map[string]any{
		"Notices": stats, "Depts": barChart(bars), "Consent": consent,
		"ConsentChart": s.consentChart(r, consent), "NoOverdue": len(depts) == 0,
		"Jobs": jobs, "TransfersOn": s.o.Transfers != nil, "TransfersMonth": month,
	})
}

// transfersThisMonth counts the register's transfers made since the
// start of now's month in the console's zone (0 without a register).
func (s *Server) transfersThisMonth(r *http.Request, now time.Time) (int, error) {
	if s.o.Transfers == nil {
		return 0, nil
	}
	ts, err := s.o.Transfers.ListTransfers(r.Context())
	if err != nil {
		return 0, err
	}
	y, m, _ := now.In(s.o.Location).Date()
	start := time.Date(y, m, 1, 0, 0, 0, 0, s.o.Location)
	n := 0
	for _, t := range ts {
		if !t.At.Before(start) {
			n++
		}
	}
	return n, nil
}

// consentChart draws the consents by status, labelled in the page's
// language.
func (s *Server) consentChart(r *http.Request, counts map[policy.ConsentStatus]int) chart {
	lang := s.lang(r)
	var bars []bar
	for _, st := range []policy.ConsentStatus{policy.ConsentAgreed, policy.ConsentDisagreed, policy.ConsentUnknown} {
		bars = append(bars, bar{Label: text(lang, "consent_"+string(st)), Value: counts[st]})
	}
	return barChart(bars)
}

// ackTrend counts, for each of the last days days (in the console's
// zone), the acknowledgements of n made up to the end of that day.
func (s *Server) ackTrend(r *http.Request, n policy.Notice, now time.Time, days int) ([]dayCount, error) {
	loc := s.o.Location
	y, m, d := now.In(loc).Date()
	end := time.Date(y, m, d, 0, 0, 0, 0, loc).AddDate(0, 0, 1) // end of today
	out := make([]dayCount, days)
	for i := range out {
		out[i].Day = end.AddDate(0, 0, i-days)
	}
	cursor := ""
	read := 0
	for {
		items, next, err := s.o.Store.ListAttestations(r.Context(), store.AttestationFilter{NoticeID: n.ID, Version: n.Version}, store.Page{Cursor: cursor, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, a := range items {
			for i := range out {
				if a.ReceivedAt.Before(out[i].Day.AddDate(0, 0, 1)) {
					out[i].Count++
				}
			}
		}
		read += len(items)
		if next == "" || read >= scanCap {
			return out, nil
		}
		cursor = next
	}
}

// overdueByDepartment counts overdue obligations of the configured
// notices by the person's first department.
func (s *Server) overdueByDepartment(r *http.Request) ([]deptStat, error) {
	ctx := r.Context()
	byUser := map[string]int{}
	cursor := ""
	for {
		items, next, err := s.o.Store.ListObligations(ctx, store.ObligationFilter{Status: policy.Overdue}, store.Page{Cursor: cursor, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			byUser[o.UserID]++
		}
		if next == "" || len(byUser) >= scanCap {
			break
		}
		cursor = next
	}
	ids := make([]string, 0, len(byUser))
	for id := range byUser {
		ids = append(ids, id)
	}
	people, err := s.o.Store.GetPeople(ctx, ids)
	if err != nil {
		return nil, err
	}
	names := s.departmentNames(r)
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, p := range people {
		seen[p.UserID] = true
		name := "?"
		if len(p.Departments) > 0 {
			name = deptName(names, p.Departments[0])
		}
		counts[name] += byUser[p.UserID]
	}
	for id, n := range byUser {
		if !seen[id] {
			counts["?"] += n
		}
	}
	out := make([]deptStat, 0, len(counts))
	for name, n := range counts {
		out = append(out, deptStat{Name: name, Count: n})
	}
	slices.SortFunc(out, func(a, b deptStat) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Name, b.Name)) })
	return out, nil
}

func (s *Server) departmentNames(r *http.Request) map[int64]string {
	if s.o.Departments == nil {
		return nil
	}
	names, err := s.o.Departments.DepartmentNames(r.Context())
	if err != nil {
		s.o.Logger.Warn("console: department names", "err", err)
		return nil
	}
	return names
}

func deptName(names map[int64]string, id int64) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "#" + strconv.FormatInt(id, 10)
}

// consentCounts counts the current consents by status.
func (s *Server) consentCounts(r *http.Request) (map[policy.ConsentStatus]int, error) {
	out := map[policy.ConsentStatus]int{}
	cursor, read := "", 0
	for {
		items, next, err := s.o.Store.ListConsents(r.Context(), store.ConsentFilter{}, store.Page{Cursor: cursor, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, c := range items {
			if c.DeletedAt.IsZero() {
				out[c.Status]++
			}
		}
		read += len(items)
		if next == "" || read >= scanCap {
			return out, nil
		}
		cursor = next
	}
}

// ---- people ----

// people lists members a page at a time.
func (s *Server) people(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		http.Redirect(w, r, Prefix+"people/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	items, next, err := s.o.Store.ListPeople(r.Context(), store.Page{Cursor: q.Get("cursor"), Limit: pageSize})
	if s.listFailed(w, r, sess, "list people", err) {
		return
	}
	if err := s.auditView(r, sess, "people", "", map[string]string{"cursor": q.Get("cursor")}); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	names := s.departmentNames(r)
	type row struct {
		policy.Person
		Depts string
	}
	rows := make([]row, len(items))
	for i, p := range items {
		ds := make([]string, len(p.Departments))
		for j, d := range p.Departments {
			ds[j] = deptName(names, d)
		}
		rows[i] = row{Person: p, Depts: strings.Join(ds, ", ")}
	}
	s.render(w, r, sess, "people", map[string]any{"People": rows, "NextURL": nextURL(r, "cursor", next)})
}

// timelineItem is one thing that happened to a person.
type timelineItem struct {
	At     time.Time
	Kind   string // a message key
	Notice string
	Detail string
	Hash   string
}

// person shows a member's timeline: notices, acknowledgements, consents,
// deliveries; and their holds.
func (s *Server) person(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := s.o.Store.GetPerson(ctx, id)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(w, r, sess, "get person", err)
		return
	}
	if !known {
		p = policy.Person{UserID: id}
	}
	if p.Name == "" {
		p.Name = s.memberName(r, id)
	}
	obligations, _, err := s.o.Store.ListObligations(ctx, store.ObligationFilter{UserID: id}, store.Page{Limit: 1000})
	if err != nil {
		s.internal(w, r, sess, "obligations", err)
		return
	}
	atts, _, err := s.o.Store.ListAttestations(ctx, store.AttestationFilter{UserID: id}, store.Page{Limit: 1000})
	if err != nil {
		s.internal(w, r, sess, "attestations", err)
		return
	}
	consents, _, err := s.o.Store.ListConsents(ctx, store.ConsentFilter{UserID: id}, store.Page{Limit: 1000})
	if err != nil {
		s.internal(w, r, sess, "consents", err)
		return
	}
	if !known && len(obligations) == 0 && len(atts) == 0 && len(consents) == 0 {
		s.fail(w, r, sess, http.StatusNotFound, "err_no_person")
		return
	}
	if err := s.auditView(r, sess, "person", id, map[string]string{"user_id": id}); err != nil {
		s.internal(w, r, sess, "audit view", err)
		return
	}
	var items []timelineItem
	for _, o := range obligations {
		key := o.NoticeID + ":v" + strconv.Itoa(o.Version)
		items = append(items, timelineItem{At: o.CreatedAt, Kind: "tl_owed", Notice: key, Detail: string(o.Status)})
		if !o.ClosedAt.IsZero() && o.Status != policy.Acknowledged {
			items = append(items, timelineItem{At: o.ClosedAt, Kind: "tl_closed", Notice: key, Detail: string(o.Status) + " " + string(o.ClosedReason)})
		}
		if !o.LastRemindedAt.IsZero() {
			items = append(items, timelineItem{At: o.LastRemindedAt, Kind: "tl_reminded", Notice: key, Detail: strconv.Itoa(o.Reminders)})
		}
		if !o.EscalatedAt.IsZero() {
			items = append(items, timelineItem{At: o.EscalatedAt, Kind: "tl_escalated", Notice: key})
		}
		res, err := s.o.Store.SendResult(ctx, key, id)
		if err == nil {
			items = append(items, timelineItem{At: res.At, Kind: "tl_delivery", Notice: key, Detail: string(res.Status) + " " + res.Error, Hash: res.ContentHash})
		} else if !errors.Is(err, store.ErrNotFound) {
			s.internal(w, r, sess, "send result", err)
			return
		}
	}
	for _, a := range atts {
		items = append(items, timelineItem{At: a.ReceivedAt, Kind: "tl_acked", Notice: a.NoticeID + ":v" + strconv.Itoa(a.Version), Detail: string(a.Channel), Hash: a.ContentHash})
	}
	for _, c := range consents {
		at := cmpTime(c.ChangedAt, c.AddedAt, c.CheckedAt)
		items = append(items, timelineItem{At: at, Kind: "tl_consent", Detail: c.ExternalUserID + ": " + string(c.Status)})
		if !c.DeletedAt.IsZero() {
			items = append(items, timelineItem{At: c.DeletedAt, Kind: "tl_consent_ended", Detail: c.ExternalUserID + " " + c.DeleteReason})
		}
	}
	slices.SortStableFunc(items, func(a, b timelineItem) int { return b.At.Compare(a.At) })
	holds, err := s.o.Store.ListHolds(ctx)
	if err != nil {
		s.internal(w, r, sess, "holds", err)
		return
	}
	holds = slices.DeleteFunc(holds, func(h store.Hold) bool { return h.Subject != id })
	names := s.departmentNames(r)
	ds := make([]string, len(p.Departments))
	for j, d := range p.Departments {
		ds[j] = deptName(names, d)
	}
	s.render(w, r, sess, "person", map[string]any{"Person": p, "Known": known, "Depts": strings.Join(ds, ", "),
		"Items": items, "Holds": holds, "Obligations": obligations, "CSRF": sess.CSRF})
}

// cmpTime is the first non-zero time.
func cmpTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// memberName asks WeCom for a member's name when the store has none
// (members reconciled from user/list_id have none); "" if it cannot.
func (s *Server) memberName(r *http.Request, userID string) string {
	u, ok := s.o.SignIn.(userGetter)
	if !ok {
		return ""
	}
	m, err := u.GetUser(r.Context(), userID)
	if err != nil {
		return ""
	}
	return m.Name
}
