package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// PolicyStore is what the policy API reads.
type PolicyStore interface {
	store.Obligations
	store.Attestations
	store.Consents
	store.People
	store.Audit
}

type policyAPI struct {
	st      PolicyStore
	notices []policy.Notice
	loc     *time.Location  // of the officer exports; nil: defaultLocation
	depts   DepartmentNamer // nil: department ids
	logger  *slog.Logger
}

// version reads ?version= (0 when absent).
func version(c *gin.Context) (int, bool) {
	s, ok := c.GetQuery("version")
	if !ok {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		badRequest(c, "version", "must be a positive integer")
		return 0, false
	}
	return n, true
}

// notices serves GET /api/v1/notices?limit=&cursor=: each configured
// notice, in the configuration's order, with its coverage — how many owe
// it (its audience so far), how many have acknowledged, are pending or
// overdue.
func (a *policyAPI) listNotices(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	// The key of a notice is its place in the configuration.
	places := make([]int, len(a.notices))
	for i := range places {
		places[i] = i
	}
	onPage, next, err := pageOf("notices", places, func(i int) string { return fmt.Sprintf("%08d", i) }, p)
	if err != nil {
		writeError(c, a.logger, "list notices", err)
		return
	}
	out := make([]noticeView, 0, len(onPage))
	for _, i := range onPage {
		n := a.notices[i]
		counts, err := a.st.CountObligations(c.Request.Context(), n.ID, n.Version)
		if err != nil {
			writeError(c, a.logger, "count obligations", err)
			return
		}
		cov := coverageView{Acknowledged: counts[policy.Acknowledged], Pending: counts[policy.Pending],
			Overdue: counts[policy.Overdue], Superseded: counts[policy.Superseded], Cancelled: counts[policy.Cancelled]}
		cov.Audience = cov.Pending + cov.Overdue + cov.Acknowledged
		if cov.Audience > 0 {
			cov.Ratio = float64(cov.Acknowledged) / float64(cov.Audience)
		}
		out = append(out, noticeView{ID: n.ID, Version: n.Version, Key: n.Key(), Title: n.Title, Template: n.Template,
			Languages: nonNil(n.Languages), Audience: viewAudience(n.Audience), DueDays: n.DueDays,
			ReattestDays: n.ReattestDays, Coverage: cov})
	}
	writePage(c, "notices", out, next)
}

var obligationStatuses = []policy.ObligationStatus{policy.Pending, policy.Acknowledged, policy.Overdue, policy.Superseded, policy.Cancelled}

// obligations serves GET /api/v1/obligations?notice=&version=&status=&user=,
// as JSON or, with format=csv, as a CSV export of every matching
// obligation (all pages; see export.go for its views).
func (a *policyAPI) listObligations(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	v, ok := version(c)
	if !ok {
		return
	}
	f := store.ObligationFilter{NoticeID: c.Query("notice"), Version: v, UserID: c.Query("user"), Status: policy.ObligationStatus(c.Query("status"))}
	if f.Status != "" && !slices.Contains(obligationStatuses, f.Status) {
		badRequest(c, "status", "must be one of pending, acknowledged, overdue, superseded, cancelled")
		return
	}
	switch c.DefaultQuery("format", "json") {
	case "json":
	case "csv":
		a.obligationsCSV(c, f)
		return
	default:
		badRequest(c, "format", "must be json or csv")
		return
	}
	items, next, err := a.st.ListObligations(c.Request.Context(), f, p)
	if err != nil {
		writeError(c, a.logger, "list obligations", err)
		return
	}
	writePage(c, "obligations", items, next)
}

// attestations serves GET /api/v1/attestations?notice=&version=&user=,
// as JSON or, with format=csv, as a CSV export of every matching
// attestation (all pages; see export.go for its views).
func (a *policyAPI) listAttestations(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	v, ok := version(c)
	if !ok {
		return
	}
	f := store.AttestationFilter{NoticeID: c.Query("notice"), Version: v, UserID: c.Query("user")}
	ctx := c.Request.Context()
	switch c.DefaultQuery("format", "json") {
	case "json":
		items, next, err := a.st.ListAttestations(ctx, f, p)
		if err != nil {
			writeError(c, a.logger, "list attestations", err)
			return
		}
		writePage(c, "attestations", items, next)
	case "csv":
		a.attestationsCSV(c, f)
	default:
		badRequest(c, "format", "must be json or csv")
	}
}

// csvSafe keeps spreadsheet programs from running a cell as a formula.
func csvSafe(cells ...string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}

// person serves GET /api/v1/people/:userid: what wecomply knows of a
// member, what they owe, what they acknowledged, their customers' consent.
func (a *policyAPI) getPerson(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("userid")
	person, err := a.st.GetPerson(ctx, id)
	var known *personView
	switch {
	case err == nil:
		v := viewPerson(person)
		known = &v
	case !errors.Is(err, store.ErrNotFound):
		writeError(c, a.logger, "get person", err)
		return
	}
	obs, _, err := a.st.ListObligations(ctx, store.ObligationFilter{UserID: id}, store.Page{Limit: maxPage})
	if err != nil {
		writeError(c, a.logger, "list obligations", err)
		return
	}
	ats, _, err := a.st.ListAttestations(ctx, store.AttestationFilter{UserID: id}, store.Page{Limit: maxPage})
	if err != nil {
		writeError(c, a.logger, "list attestations", err)
		return
	}
	cons, _, err := a.st.ListConsents(ctx, store.ConsentFilter{UserID: id}, store.Page{Limit: maxPage})
	if err != nil {
		writeError(c, a.logger, "list consents", err)
		return
	}
	if known == nil && len(obs) == 0 && len(ats) == 0 && len(cons) == 0 {
		c.JSON(http.StatusNotFound, gin.H{"error": "no person " + strconv.Quote(id) + " is known"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"user_id": id, "person": known, "obligations": nonNil(obs), "attestations": nonNil(ats), "consents": nonNil(cons)})
}

var consentStatuses = []policy.ConsentStatus{policy.ConsentUnknown, policy.ConsentAgreed, policy.ConsentDisagreed}

// consents serves GET /api/v1/consents?status=&user=.
func (a *policyAPI) listConsents(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	f := store.ConsentFilter{Status: policy.ConsentStatus(c.Query("status")), UserID: c.Query("user")}
	if f.Status != "" && !slices.Contains(consentStatuses, f.Status) {
		badRequest(c, "status", "must be one of unknown, agreed, disagreed")
		return
	}
	items, next, err := a.st.ListConsents(c.Request.Context(), f, p)
	if err != nil {
		writeError(c, a.logger, "list consents", err)
		return
	}
	writePage(c, "consents", items, next)
}

// verifyAudit serves GET /api/v1/audit/verify: 200 when the chain holds,
// 409 with the first bad entry when it does not.
func (a *policyAPI) verifyAudit(c *gin.Context) {
	r, err := a.st.VerifyAudit(c.Request.Context())
	if err != nil {
		writeError(c, a.logger, "verify audit log", err)
		return
	}
	status := http.StatusOK
	if !r.OK {
		status = http.StatusConflict
	}
	c.JSON(status, r)
}

// listAudit serves GET /api/v1/audit?limit=&cursor=: entries in order,
// oldest first. (?after=SEQ starts after entry SEQ instead of at a
// cursor.)
func (a *policyAPI) listAudit(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	var after uint64
	if s, set := c.GetQuery("after"); set {
		if p.Cursor != "" {
			badRequest(c, "after", "give after or cursor, not both")
			return
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			badRequest(c, "after", "must be a sequence number")
			return
		}
		after = n
	}
	if p.Cursor != "" {
		key, err := parseHandlerCursor("audit", p.Cursor)
		if err == nil {
			after, err = strconv.ParseUint(key, 10, 64)
		}
		if err != nil {
			writeError(c, a.logger, "list audit log", store.ErrInvalidCursor)
			return
		}
	}
	items, err := a.st.ListAudit(c.Request.Context(), after, p.Limit+1)
	if err != nil {
		writeError(c, a.logger, "list audit log", err)
		return
	}
	var next string
	if len(items) > p.Limit {
		items = items[:p.Limit]
		next = handlerCursor("audit", strconv.FormatUint(items[p.Limit-1].Seq, 10))
	}
	writePage(c, "entries", items, next)
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
