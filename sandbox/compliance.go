package sandbox

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The compliance view reads only the server's admin API (/api/v1/notices,
// /obligations, /attestations, /consents, /people/:userid, /audit and
// /audit/verify), as an auditor's tool would: what it shows is what the
// server recorded, not what the page believes.

// Bounds of the compliance view.
const (
	auditShown  = 20       // latest audit entries shown
	listLimit   = 1000     // the admin API's largest page
	maxCSVBytes = 64 << 20 // an attestations export passed through
)

// noticeID matches a notice id as config accepts it.
var noticeID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// apiNotice is one entry of GET /api/v1/notices.
type apiNotice struct {
	ID        string   `json:"id"`
	Version   int      `json:"version"`
	Key       string   `json:"key"`
	Title     string   `json:"title"`
	Template  string   `json:"template"`
	Languages []string `json:"languages"`
	DueDays   int      `json:"due_days"`
	Audience  struct {
		Everyone    bool     `json:"everyone"`
		Departments []int64  `json:"departments"`
		Tags        []int64  `json:"tags"`
		Users       []string `json:"users"`
		PermitList  bool     `json:"permit_list"`
	} `json:"audience"`
	Coverage struct {
		Audience     int     `json:"audience"`
		Acknowledged int     `json:"acknowledged"`
		Pending      int     `json:"pending"`
		Overdue      int     `json:"overdue"`
		Superseded   int     `json:"superseded"`
		Cancelled    int     `json:"cancelled"`
		Ratio        float64 `json:"ratio"`
	} `json:"coverage"`
}

// apiObligation is an obligation as the admin API returns it.
type apiObligation struct {
	UserID         string    `json:"user_id"`
	NoticeID       string    `json:"notice_id"`
	Version        int       `json:"version"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason"`
	CreatedAt      time.Time `json:"created_at"`
	DueAt          time.Time `json:"due_at"`
	AcknowledgedAt time.Time `json:"acknowledged_at"`
	ClosedReason   string    `json:"closed_reason"`
	Name           string    `json:"-"`
}

// apiAttestation is an attestation as the admin API returns it.
type apiAttestation struct {
	UserID      string    `json:"user_id"`
	NoticeID    string    `json:"notice_id"`
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"`
	Channel     string    `json:"channel"`
	CreateTime  int64     `json:"create_time"`
	ReceivedAt  time.Time `json:"received_at"`
	TaskID      string    `json:"task_id"`
	Name        string    `json:"-"`
}

// apiConsent is a customer's answer as the admin API returns it.
type apiConsent struct {
	UserID         string    `json:"user_id"`
	ExternalUserID string    `json:"external_user_id"`
	Status         string    `json:"status"`
	Source         string    `json:"source"`
	ChangedAt      time.Time `json:"changed_at"`
	AddedAt        time.Time `json:"added_at"`
	CheckedAt      time.Time `json:"checked_at"`
	NotifiedAt     time.Time `json:"notified_at"`
	DeletedAt      time.Time `json:"deleted_at"`
	Name           string    `json:"-"`
	Customer       string    `json:"-"`
}

// apiAuditEntry is an audit log entry; Data is summarised, not shown.
type apiAuditEntry struct {
	Seq     uint64          `json:"seq"`
	At      time.Time       `json:"at"`
	Kind    string          `json:"kind"`
	Subject string          `json:"subject"`
	Data    json.RawMessage `json:"data"`
	Hash    string          `json:"hash"`
	// From Data: what the entry records.
	Event  string `json:"-"`
	Action string `json:"-"`
	Reason string `json:"-"`
	Count  int    `json:"-"`
}

// apiAuditReport is GET /api/v1/audit/verify's answer.
type apiAuditReport struct {
	Entries  uint64 `json:"entries"`
	OK       bool   `json:"ok"`
	FirstBad uint64 `json:"first_bad"`
	Problem  string `json:"problem"`
	Head     string `json:"head"`
}

// apiPerson is GET /api/v1/people/:userid's answer.
type apiPerson struct {
	Obligations  []apiObligation  `json:"obligations"`
	Attestations []apiAttestation `json:"attestations"`
	Consents     []apiConsent     `json:"consents"`
}

// noticeView is a notice with its coverage, for the page.
type noticeView struct {
	apiNotice
	Audience string
	Percent  int
}

// statusCount is how many obligations (or consents) have a status.
type statusCount struct {
	Status string
	Count  int
	On     bool
}

// complianceData is the compliance view.
type complianceData struct {
	Notices      []noticeView
	NoticesError string

	Status          string // the obligations filter
	Statuses        []statusCount
	Obligations     []apiObligation
	ObligationsMore bool
	ObligationsErr  string

	Attestations    []apiAttestation
	AttestationsErr string

	Consents    []consentGroup
	ConsentsErr string

	Verify    *apiAuditReport
	VerifyErr string
	Audit     []apiAuditEntry
	AuditErr  string
}

// consentGroup is the consents of one status.
type consentGroup struct {
	Status   string
	Consents []apiConsent
}

var obligationStatuses = []string{"pending", "overdue", "acknowledged", "superseded", "cancelled"}

// compliance shows what the server recorded: each notice's coverage,
// obligations, attestations, customers' consents and the audit log.
func (p *Page) compliance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := complianceData{Status: r.URL.Query().Get("status")}
	if !slices.Contains(obligationStatuses, d.Status) {
		d.Status = ""
	}

	notices, err := p.policyNotices(ctx)
	if err != nil {
		d.NoticesError = err.Error()
	}
	d.Notices = notices

	var obs struct {
		Obligations []apiObligation `json:"obligations"`
		Next        string          `json:"next_cursor"`
	}
	if err := p.api(ctx, http.MethodGet, "/api/v1/obligations?"+listQuery("status", d.Status).Encode(), nil, &obs); err != nil {
		d.ObligationsErr = err.Error()
	}
	counts := map[string]int{}
	for i := range obs.Obligations {
		o := &obs.Obligations[i]
		o.Name = p.name(o.UserID)
		counts[o.Status]++
	}
	d.Obligations, d.ObligationsMore = sortObligations(obs.Obligations), obs.Next != ""
	d.Statuses = append(d.Statuses, statusCount{Status: "", Count: len(obs.Obligations), On: d.Status == ""})
	for _, s := range obligationStatuses {
		d.Statuses = append(d.Statuses, statusCount{Status: s, Count: counts[s], On: d.Status == s})
	}

	var ats struct {
		Attestations []apiAttestation `json:"attestations"`
	}
	if err := p.api(ctx, http.MethodGet, "/api/v1/attestations?"+listQuery("", "").Encode(), nil, &ats); err != nil {
		d.AttestationsErr = err.Error()
	}
	for i := range ats.Attestations {
		ats.Attestations[i].Name = p.name(ats.Attestations[i].UserID)
	}
	slices.SortStableFunc(ats.Attestations, func(a, b apiAttestation) int { return b.ReceivedAt.Compare(a.ReceivedAt) })
	d.Attestations = ats.Attestations

	consents, err := p.consents(ctx, "")
	if err != nil {
		d.ConsentsErr = err.Error()
	}
	for _, s := range []string{"disagreed", "unknown", "agreed"} {
		g := consentGroup{Status: s}
		for _, c := range consents {
			if c.Status == s {
				g.Consents = append(g.Consents, c)
			}
		}
		d.Consents = append(d.Consents, g)
	}

	d.Verify, d.Audit, err = p.auditTail(ctx)
	if err != nil {
		if d.Verify == nil {
			d.VerifyErr = err.Error()
		} else {
			d.AuditErr = err.Error()
		}
	}
	p.render(w, r, http.StatusOK, "compliance", view{Title: "Compliance", Nav: "compliance", Refresh: true, Data: d})
}

// listQuery is the query of a list call: the largest page, and key=value
// if value is set.
func listQuery(key, value string) url.Values {
	q := url.Values{"limit": {strconv.Itoa(listLimit)}}
	if value != "" {
		q.Set(key, value)
	}
	return q
}

// sortObligations orders obligations by their latest change, newest
// first (an acknowledgement, else the obligation's creation), then by
// notice, version and person: what just happened comes first.
func sortObligations(obs []apiObligation) []apiObligation {
	changed := func(o apiObligation) time.Time {
		if o.AcknowledgedAt.After(o.CreatedAt) {
			return o.AcknowledgedAt
		}
		return o.CreatedAt
	}
	slices.SortStableFunc(obs, func(a, b apiObligation) int {
		return cmp.Or(changed(b).Compare(changed(a)), cmp.Compare(a.NoticeID, b.NoticeID),
			cmp.Compare(b.Version, a.Version), cmp.Compare(a.UserID, b.UserID))
	})
	return obs
}

// policyNotices reads GET /api/v1/notices.
func (p *Page) policyNotices(ctx context.Context) ([]noticeView, error) {
	var res struct {
		Notices []apiNotice `json:"notices"`
	}
	if err := p.api(ctx, http.MethodGet, "/api/v1/notices", nil, &res); err != nil {
		return nil, err
	}
	out := make([]noticeView, 0, len(res.Notices))
	for _, n := range res.Notices {
		out = append(out, noticeView{apiNotice: n, Audience: p.describeAudience(n), Percent: int(n.Coverage.Ratio*100 + 0.5)})
	}
	return out, nil
}

// describeAudience says who owes a notice, in the demo's names.
func (p *Page) describeAudience(n apiNotice) string {
	a := n.Audience
	return p.o.Org.describeAudience(a.Everyone, a.PermitList, a.Departments, a.Tags, a.Users)
}

// consents reads GET /api/v1/consents, of user's customers if user is
// set, with names filled in.
func (p *Page) consents(ctx context.Context, user string) ([]apiConsent, error) {
	var res struct {
		Consents []apiConsent `json:"consents"`
	}
	if err := p.api(ctx, http.MethodGet, "/api/v1/consents?"+listQuery("user", user).Encode(), nil, &res); err != nil {
		return nil, err
	}
	for i := range res.Consents {
		p.nameConsent(&res.Consents[i])
	}
	return res.Consents, nil
}

func (p *Page) nameConsent(c *apiConsent) {
	c.Name = p.name(c.UserID)
	c.Customer = c.ExternalUserID
	if cu, ok := p.o.Org.Customer(c.ExternalUserID); ok {
		c.Customer = cu.Contact.Name
	}
}

// auditTail verifies the audit chain (GET /api/v1/audit/verify: 200 when
// it holds, 409 when it does not) and reads its latest entries, newest
// first.
func (p *Page) auditTail(ctx context.Context) (*apiAuditReport, []apiAuditEntry, error) {
	var rep apiAuditReport
	err := p.api(ctx, http.MethodGet, "/api/v1/audit/verify", nil, &rep)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		// A broken chain is an answer, not a failure: its body says where.
		if jerr := json.Unmarshal([]byte(ae.Body), &rep); jerr != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	}
	after := uint64(0)
	if rep.Entries > auditShown {
		after = rep.Entries - auditShown
	}
	var res struct {
		Entries []apiAuditEntry `json:"entries"`
	}
	if err := p.api(ctx, http.MethodGet, fmt.Sprintf("/api/v1/audit?after=%d&limit=%d", after, auditShown), nil, &res); err != nil {
		return &rep, nil, err
	}
	for i := range res.Entries {
		e := &res.Entries[i]
		var sum struct {
			Event  string `json:"event"`
			Action string `json:"action"`
			Reason string `json:"reason"`
			Count  int    `json:"count"`
		}
		if json.Unmarshal(e.Data, &sum) == nil {
			e.Event, e.Action, e.Reason, e.Count = sum.Event, sum.Action, sum.Reason, sum.Count
		}
		e.Data = nil
	}
	slices.Reverse(res.Entries)
	return &rep, res.Entries, nil
}

// person reads GET /api/v1/people/:userid; a person the server knows
// nothing of yet is an empty record.
func (p *Page) person(ctx context.Context, userID string) (apiPerson, error) {
	var res apiPerson
	err := p.api(ctx, http.MethodGet, "/api/v1/people/"+url.PathEscape(userID), nil, &res)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return apiPerson{}, nil
	}
	if err != nil {
		return apiPerson{}, err
	}
	res.Obligations = sortObligations(res.Obligations)
	for i := range res.Consents {
		p.nameConsent(&res.Consents[i])
	}
	return res, nil
}

// attestationsCSV passes the server's CSV export of attestations
// (GET /api/v1/attestations?format=csv) through to the browser, adding
// the admin token the browser does not have. ?notice= and ?version=
// narrow it; ?view= and ?lang= choose the export's view and language.
func (p *Page) attestationsCSV(w http.ResponseWriter, r *http.Request) {
	q := url.Values{"format": {"csv"}}
	in := r.URL.Query()
	if n := in.Get("notice"); n != "" {
		if !noticeID.MatchString(n) {
			http.Error(w, "sandbox: notice must be a notice id", http.StatusBadRequest)
			return
		}
		q.Set("notice", n)
	}
	if v := in.Get("version"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			http.Error(w, "sandbox: version must be a positive integer", http.StatusBadRequest)
			return
		}
		q.Set("version", v)
	}
	// The officer's view (the server's default) or the engineer's, in
	// English or Chinese.
	for _, p := range []struct {
		name string
		ok   []string
	}{{"view", []string{"officer", "engineer"}}, {"lang", []string{"en", "zh-CN"}}} {
		if v := in.Get(p.name); v != "" {
			if !slices.Contains(p.ok, v) {
				http.Error(w, "sandbox: "+p.name+" must be one of "+strings.Join(p.ok, ", "), http.StatusBadRequest)
				return
			}
			q.Set(p.name, v)
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.o.AppURL+"/api/v1/attestations?"+q.Encode(), nil)
	if err != nil {
		http.Error(w, "sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Authorization", "Bearer "+p.o.AdminToken)
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Warn("sandbox: export attestations", "err", err)
		http.Error(w, "sandbox: the server did not answer: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		http.Error(w, fmt.Sprintf("sandbox: the server answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body))), http.StatusBadGateway)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="attestations.csv"`)
	if _, err := io.Copy(w, io.LimitReader(resp.Body, maxCSVBytes)); err != nil {
		p.log.Warn("sandbox: export attestations", "err", err)
	}
}
