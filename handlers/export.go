package handlers

import (
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// CSV exports (?format=csv of /api/v1/attestations and
// /api/v1/obligations) come in two views:
//
//   - officer (the default): for a compliance officer opening it in
//     Excel. UTF-8 with a byte order mark (without it Excel reads UTF-8
//     as the local code page and garbles Chinese names), the person's
//     name and department names next to the user id, the notice's title,
//     and times in the console's time zone ([console] time_zone) as
//     "2006-01-02 15:04:05", the zone named in the column header, e.g.
//     "acknowledged_at (Asia/Shanghai)". ?lang=zh-CN gives Chinese
//     headers.
//   - engineer (?view=engineer): the records as stored, for programs:
//     ids, Unix seconds and RFC 3339 UTC times, no BOM.
//
// Either is every matching record (all pages); a cell that a spreadsheet
// would run as a formula is defused (csvSafe).

// DepartmentNamer names the company's departments (WeCom's
// department/list, through an adapter in main); the officer exports show
// a department's id when it has no name.
type DepartmentNamer interface {
	DepartmentNames(ctx context.Context) (map[int64]string, error)
}

// officerTime is how the officer exports write a time.
const officerTime = "2006-01-02 15:04:05"

// defaultLocation is the zone of the officer exports when Options has
// none: China Standard Time, as [console] time_zone defaults.
var defaultLocation = time.FixedZone("Asia/Shanghai", 8*3600)

// csvOptions are a CSV export's view and language, from the query.
type csvOptions struct {
	engineer bool
	zh       bool
}

// csvQuery reads ?view= and ?lang= of an export; it answers 400 itself
// when one is wrong.
func csvQuery(c *gin.Context) (csvOptions, bool) {
	var o csvOptions
	switch c.DefaultQuery("view", "officer") {
	case "officer":
	case "engineer":
		o.engineer = true
	default:
		badRequest(c, "view", "must be officer or engineer")
		return o, false
	}
	switch c.DefaultQuery("lang", "en") {
	case "en":
	case "zh-CN":
		o.zh = true
	default:
		badRequest(c, "lang", "must be en or zh-CN")
		return o, false
	}
	return o, true
}

// officer holds what the officer rows are made of: the zone, the
// department names, the notices' titles and the people of a page.
type officer struct {
	loc    *time.Location
	depts  map[int64]string
	titles map[string]string // by notice id and version ("id:vN"), and by id
	people map[string]policy.Person
}

func (a *policyAPI) newOfficer(ctx context.Context) *officer {
	o := &officer{loc: a.loc, titles: map[string]string{}, people: map[string]policy.Person{}}
	if o.loc == nil {
		o.loc = defaultLocation
	}
	for _, n := range a.notices {
		o.titles[n.Key()] = n.Title
		o.titles[n.ID] = n.Title
	}
	if a.depts != nil {
		names, err := a.depts.DepartmentNames(ctx)
		if err != nil {
			// The export goes on with department ids: all it loses.
			a.logger.WarnContext(ctx, "export: department names unavailable; showing ids", "err", err)
		}
		o.depts = names
	}
	return o
}

// load fetches the people of userIDs (a page's).
func (o *officer) load(ctx context.Context, st store.People, userIDs []string) error {
	ps, err := st.GetPeople(ctx, userIDs)
	if err != nil {
		return err
	}
	for _, p := range ps {
		o.people[p.UserID] = p
	}
	return nil
}

// header names a time column with the zone.
func (o *officer) header(name string) string { return name + " (" + o.loc.String() + ")" }

func (o *officer) time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(o.loc).Format(officerTime)
}

// person returns the person's name and department names ("; " between).
func (o *officer) person(userID string) (name, depts string) {
	p := o.people[userID]
	names := make([]string, len(p.Departments))
	for i, d := range p.Departments {
		if n := o.depts[d]; n != "" {
			names[i] = n
		} else {
			names[i] = strconv.FormatInt(d, 10)
		}
	}
	return p.Name, strings.Join(names, "; ")
}

func (o *officer) title(noticeID string, version int) string {
	if t, ok := o.titles[policy.Notice{ID: noticeID, Version: version}.Key()]; ok {
		return t
	}
	return o.titles[noticeID]
}

// columns picks the header row of a view and language: en and zh are
// the same columns.
func columns(zh bool, en, zhCN []string) []string {
	if zh {
		return zhCN
	}
	return en
}

// csvPage is one page of an export's rows, with the next page's cursor.
type csvPage func(ctx context.Context, p store.Page) (rows [][]string, next string, err error)

// writeCSV streams an export as filename: the BOM if asked, header, then
// every page's rows.
func writeCSV(c *gin.Context, filename string, bom bool, header []string, pages csvPage) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+filename+`"`)
	if bom {
		_, _ = c.Writer.WriteString("\uFEFF")
	}
	w := csv.NewWriter(c.Writer)
	_ = w.Write(header)
	err := store.Each(c.Request.Context(), maxPage, pages, func(r []string) error {
		_ = w.Write(csvSafe(r...))
		return nil
	})
	if err != nil {
		// Headers are gone; end the file with a line that says so
		// rather than a silently short export.
		_ = w.Write([]string{"# export failed: store unavailable"})
	}
	w.Flush()
}

// attestationsCSV serves GET /api/v1/attestations?format=csv.
func (a *policyAPI) attestationsCSV(c *gin.Context, f store.AttestationFilter) {
	o, ok := csvQuery(c)
	if !ok {
		return
	}
	if o.engineer {
		writeCSV(c, "attestations.csv", false,
			[]string{"user_id", "notice_id", "version", "content_hash", "channel", "create_time", "received_at", "task_id", "dedup_key"},
			func(ctx context.Context, p store.Page) ([][]string, string, error) {
				items, next, err := a.st.ListAttestations(ctx, f, p)
				rows := make([][]string, len(items))
				for i, t := range items {
					rows[i] = []string{t.UserID, t.NoticeID, strconv.Itoa(t.Version), t.ContentHash, string(t.Channel),
						strconv.FormatInt(t.CreateTime, 10), t.ReceivedAt.UTC().Format(time.RFC3339Nano), t.TaskID, t.DedupKey}
				}
				return rows, next, err
			})
		return
	}
	off := a.newOfficer(c.Request.Context())
	writeCSV(c, "attestations-officer.csv", true,
		columns(o.zh,
			[]string{"name", "user_id", "departments", "notice_title", "notice_id", "version", "channel",
				off.header("acknowledged_at"), "content_hash"},
			[]string{"姓名", "账号", "部门", "告知标题", "告知编号", "版本", "确认方式", off.header("确认时间"), "内容哈希"}),
		func(ctx context.Context, p store.Page) ([][]string, string, error) {
			items, next, err := a.st.ListAttestations(ctx, f, p)
			if err != nil {
				return nil, "", err
			}
			if err := off.load(ctx, a.st, userIDs(items, func(t policy.Attestation) string { return t.UserID })); err != nil {
				return nil, "", err
			}
			rows := make([][]string, len(items))
			for i, t := range items {
				name, depts := off.person(t.UserID)
				rows[i] = []string{name, t.UserID, depts, off.title(t.NoticeID, t.Version), t.NoticeID, strconv.Itoa(t.Version),
					channelText(t.Channel, o.zh), off.time(t.ReceivedAt), t.ContentHash}
			}
			return rows, next, nil
		})
}

// obligationsCSV serves GET /api/v1/obligations?format=csv.
func (a *policyAPI) obligationsCSV(c *gin.Context, f store.ObligationFilter) {
	o, ok := csvQuery(c)
	if !ok {
		return
	}
	if o.engineer {
		writeCSV(c, "obligations.csv", false,
			[]string{"user_id", "notice_id", "version", "status", "reason", "created_at", "due_at", "acknowledged_at",
				"closed_reason", "closed_at", "reminders", "round"},
			func(ctx context.Context, p store.Page) ([][]string, string, error) {
				items, next, err := a.st.ListObligations(ctx, f, p)
				rows := make([][]string, len(items))
				for i, b := range items {
					rows[i] = []string{b.UserID, b.NoticeID, strconv.Itoa(b.Version), string(b.Status), string(b.Reason),
						utc(b.CreatedAt), utc(b.DueAt), utc(b.AcknowledgedAt), string(b.ClosedReason), utc(b.ClosedAt),
						strconv.Itoa(b.Reminders), strconv.Itoa(b.Round)}
				}
				return rows, next, err
			})
		return
	}
	off := a.newOfficer(c.Request.Context())
	writeCSV(c, "obligations-officer.csv", true,
		columns(o.zh,
			[]string{"name", "user_id", "departments", "notice_title", "notice_id", "version", "status",
				off.header("created_at"), off.header("due_at"), off.header("acknowledged_at"), "reminders"},
			[]string{"姓名", "账号", "部门", "告知标题", "告知编号", "版本", "状态",
				off.header("发出时间"), off.header("截止时间"), off.header("确认时间"), "提醒次数"}),
		func(ctx context.Context, p store.Page) ([][]string, string, error) {
			items, next, err := a.st.ListObligations(ctx, f, p)
			if err != nil {
				return nil, "", err
			}
			if err := off.load(ctx, a.st, userIDs(items, func(b policy.Obligation) string { return b.UserID })); err != nil {
				return nil, "", err
			}
			rows := make([][]string, len(items))
			for i, b := range items {
				name, depts := off.person(b.UserID)
				rows[i] = []string{name, b.UserID, depts, off.title(b.NoticeID, b.Version), b.NoticeID, strconv.Itoa(b.Version),
					statusText(b.Status, o.zh), off.time(b.CreatedAt), off.time(b.DueAt), off.time(b.AcknowledgedAt),
					strconv.Itoa(b.Reminders)}
			}
			return rows, next, nil
		})
}

func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func userIDs[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

// channelText is how an acknowledgement came, for an officer.
func channelText(ch policy.Channel, zh bool) string {
	if !zh {
		return string(ch)
	}
	switch ch {
	case policy.ChannelCard:
		return "卡片按钮"
	case policy.ChannelReply:
		return "回复确认"
	}
	return string(ch)
}

// statusText is an obligation's status, for an officer.
func statusText(s policy.ObligationStatus, zh bool) string {
	if !zh {
		return string(s)
	}
	switch s {
	case policy.Pending:
		return "待确认"
	case policy.Acknowledged:
		return "已确认"
	case policy.Overdue:
		return "已逾期"
	case policy.Superseded:
		return "已被新版本取代"
	case policy.Cancelled:
		return "已取消"
	}
	return string(s)
}
