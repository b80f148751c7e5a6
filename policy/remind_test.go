package policy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The reminder run's fixtures: the archive notice at version 3, due in 7
// days, reminded every 2 days at most 3 times, escalated after 2, to the
// owners owner1 (Chinese) and owner2 (English); cards created on Monday
// 23 November 2026 at 10:00 in Beijing.

var remindNotice = Notice{
	ID: "archive", Version: 3, Title: "会话存档告知", Template: "ack_card",
	Languages: []string{"zh-CN", "en"}, Summary: "本企业对会话内容存档", URL: "https://example.com/archive",
	Audience: Audience{Departments: []int64{2}},
	DueDays:  7, RemindEveryDays: 2, MaxReminders: 3, EscalateAfter: 2,
	ComplianceOwners: []string{"owner2", "owner1"},
}

// monday is when the cards went out.
var monday = beijing("2026-11-23", 10, 0, 0)

// day is monday plus n days, at hh:mm in Beijing.
func day(n, hh, mm int) time.Time {
	return monday.AddDate(0, 0, n).Add(time.Duration(hh-10)*time.Hour + time.Duration(mm)*time.Minute)
}

// remindPeople: zhangsan (Chinese) and lisi (English) report to boss
// (Chinese) and lisi also to boss2 (English); wangwu has no leader;
// zhaoliu has left (inactive).
func remindPeople() map[string]Person {
	return map[string]Person{
		"zhangsan": {UserID: "zhangsan", Name: "张三", Active: true, DirectLeaders: []string{"boss"}},
		"lisi":     {UserID: "lisi", Name: "李四", Active: true, Language: "en", DirectLeaders: []string{"boss2", "boss"}},
		"wangwu":   {UserID: "wangwu", Name: "王五", Active: true},
		"zhaoliu":  {UserID: "zhaoliu", Name: "赵六", Active: false, DirectLeaders: []string{"boss"}},
		"boss":     {UserID: "boss", Name: "老板", Active: true},
		"boss2":    {UserID: "boss2", Name: "Boss Two", Active: true, Language: "en"},
		"owner1":   {UserID: "owner1", Name: "王芳", Active: true},
		"owner2":   {UserID: "owner2", Name: "Owner Two", Active: true, Language: "en"},
	}
}

// pending is user's open obligation of remindNotice, created monday,
// changed by fs.
func pending(user string, fs ...func(*Obligation)) Obligation {
	o := Obligation{UserID: user, NoticeID: "archive", Version: 3, Status: Pending, Reason: ReasonPublished,
		CreatedAt: monday, DueAt: monday.AddDate(0, 0, 7)}
	for _, f := range fs {
		f(&o)
	}
	return o
}

// reminded: n reminders, the last at t.
func reminded(n int, t time.Time) func(*Obligation) {
	return func(o *Obligation) { o.Reminders, o.LastRemindedAt = n, t }
}

func status(s ObligationStatus) func(*Obligation) { return func(o *Obligation) { o.Status = s } }

func escalatedAt(t time.Time) func(*Obligation) { return func(o *Obligation) { o.EscalatedAt = t } }

func noDueDate(o *Obligation) { o.DueAt = time.Time{} }

// acked: acknowledged at t in round r.
func acked(t time.Time, r int) func(*Obligation) {
	return func(o *Obligation) {
		o.Status, o.AcknowledgedAt, o.ClosedReason, o.ClosedAt, o.Round = Acknowledged, t, ReasonCardClicked, t, r
	}
}

// The expected actions.

func remindCard(at time.Time, lang string, users ...string) SendReminder {
	return SendReminder{Notice: remindNotice, Key: "archive:v3:remind:" + at.In(cst).Format(time.DateOnly),
		Template: RemindTemplate, Lang: lang, UserIDs: users, Reason: ReasonReminder}
}

func markReminded(at time.Time, users ...string) MarkReminded {
	return MarkReminded{NoticeID: "archive", Version: 3, UserIDs: users, At: at, Reason: ReasonReminder}
}

func markOverdue(at time.Time, users ...string) MarkOverdue {
	return MarkOverdue{NoticeID: "archive", Version: 3, UserIDs: users, At: at, Reason: ReasonOverdue}
}

func markEscalated(at time.Time, users ...string) MarkEscalated {
	return MarkEscalated{NoticeID: "archive", Version: 3, UserIDs: users, At: at, Reason: ReasonEscalation}
}

// item is a person in an escalation list, due remindNotice's due date.
func item(user, name string) map[string]any {
	return map[string]any{"Name": name, "UserID": user, "Due": "2026-11-30"}
}

// escalation is a one-part escalation message.
func escalation(at time.Time, to, tmpl, lang string, recipients []string, items ...map[string]any) SendText {
	return SendText{
		Key:      "archive:v3:escalation:" + at.In(cst).Format(time.DateOnly) + ":" + to + ":1",
		Template: tmpl, Lang: lang,
		Data: map[string]any{"Title": "会话存档告知", "Version": 3, "Items": items,
			"Part": 1, "Parts": 1, "Total": len(items)},
		UserIDs: recipients, Reason: ReasonEscalation,
	}
}

// remindCase is one row of the Remind table.
type remindCase struct {
	name        string
	notices     []Notice // nil: remindNotice
	obligations []Obligation
	cal         *Calendar // nil: the office calendar
	now         time.Time
	want        []Action
}

func remindCases(t *testing.T) []remindCase {
	office := officeCalendar(t)
	midweekHoliday := office
	midweekHoliday.Holidays = append(slices.Clone(office.Holidays), "2026-11-25")
	noCap := remindNotice
	noCap.MaxReminders = 0
	noReminders := remindNotice
	noReminders.RemindEveryDays = 0
	noOwners := remindNotice
	noOwners.ComplianceOwners = nil
	yearly := remindNotice
	yearly.ReattestDays = 365
	yearlyNoDue := yearly
	yearlyNoDue.DueDays = 0
	v4 := remindNotice
	v4.Version = 4
	lastYear := monday.AddDate(0, 0, -365)
	escalationDay := day(9, 10, 0) // Wednesday 2 December: past the due date, two days after the second reminder

	return []remindCase{
		// The cadence: the card went out on Monday at 10:00; every 2 days.
		{
			// Day 0, an hour later: nothing yet.
			name:        "day 0: just the card",
			obligations: []Obligation{pending("zhangsan")},
			now:         day(0, 11, 0),
		},
		{
			// Day 2 at 10:00: two days since the card, the first
			// reminder, then counted.
			name:        "day 2: the first reminder",
			obligations: []Obligation{pending("zhangsan")},
			now:         day(2, 10, 0),
			want:        []Action{remindCard(day(2, 10, 0), "zh-CN", "zhangsan"), markReminded(day(2, 10, 0), "zhangsan")},
		},
		{
			// Day 2 at 09:00, an hour short of two days: not yet, though
			// it is working time.
			name:        "day 2 an hour early: nothing",
			obligations: []Obligation{pending("zhangsan")},
			now:         day(2, 9, 0),
		},
		{
			// A cron that fires a little before the hour still reminds:
			// the cadence has a few minutes' slack, not an hour's.
			name:        "day 2 two minutes early: the reminder",
			obligations: []Obligation{pending("zhangsan")},
			now:         day(2, 9, 58),
			want:        []Action{remindCard(day(2, 9, 58), "zh-CN", "zhangsan"), markReminded(day(2, 9, 58), "zhangsan")},
		},
		{
			// Day 2 at 11:00, the cron again: reminded at 10:00, nothing.
			name:        "day 2 again an hour later: nothing",
			obligations: []Obligation{pending("zhangsan", reminded(1, day(2, 10, 0)))},
			now:         day(2, 11, 0),
		},
		{
			// Day 3: one day since the first reminder, nothing.
			name:        "day 3: nothing",
			obligations: []Obligation{pending("zhangsan", reminded(1, day(2, 10, 0)))},
			now:         day(3, 10, 0),
		},
		{
			// Day 4: two days since the first reminder, the second.
			name:        "day 4: the second reminder",
			obligations: []Obligation{pending("zhangsan", reminded(1, day(2, 10, 0)))},
			now:         day(4, 10, 0),
			want:        []Action{remindCard(day(4, 10, 0), "zh-CN", "zhangsan"), markReminded(day(4, 10, 0), "zhangsan")},
		},
		{
			// An overdue obligation is open: still reminded.
			name:        "overdue is reminded",
			obligations: []Obligation{pending("zhangsan", status(Overdue), reminded(1, day(6, 10, 0)))},
			now:         day(8, 10, 0),
			want:        []Action{remindCard(day(8, 10, 0), "zh-CN", "zhangsan"), markReminded(day(8, 10, 0), "zhangsan")},
		},

		// The cap.
		{
			// Three reminders, max_reminders 3: no more (and not yet due,
			// so no escalation either: see below).
			name:        "cap reached",
			obligations: []Obligation{pending("zhangsan", reminded(3, day(4, 10, 0)), noDueDate, escalatedAt(day(4, 10, 0)))},
			now:         day(8, 10, 0),
		},
		{
			// max_reminders 0: no limit, at the cadence.
			name:        "no cap",
			notices:     []Notice{noCap},
			obligations: []Obligation{pending("zhangsan", reminded(10, day(4, 10, 0)), noDueDate, escalatedAt(day(4, 10, 0)))},
			now:         day(8, 10, 0),
			want: []Action{
				func() SendReminder { r := remindCard(day(8, 10, 0), "zh-CN", "zhangsan"); r.Notice = noCap; return r }(),
				markReminded(day(8, 10, 0), "zhangsan"),
			},
		},
		{
			// remind_every_days 0: no reminders at all.
			name:        "no cadence",
			notices:     []Notice{noReminders},
			obligations: []Obligation{pending("zhangsan")},
			now:         day(4, 10, 0),
		},

		// Quiet hours: reminders, escalations and overdue marks wait.
		{
			// Saturday 28 November (day 5): a weekend, though a reminder
			// and the overdue mark would be due.
			name:        "Saturday: nothing",
			obligations: []Obligation{pending("zhangsan", reminded(1, day(2, 10, 0)), func(o *Obligation) { o.DueAt = day(5, 9, 0) })},
			now:         day(5, 10, 0),
		},
		{
			// Wednesday at 20:00: after the working hours.
			name:        "20:00: nothing",
			obligations: []Obligation{pending("zhangsan")},
			now:         day(2, 20, 0),
		},
		{
			// Wednesday 25 November declared a holiday.
			name:        "a holiday: nothing",
			obligations: []Obligation{pending("zhangsan")},
			cal:         &midweekHoliday,
			now:         day(2, 10, 0),
		},
		{
			// The morning after the holiday: the reminder, at 09:00.
			name:        "the next working morning: the reminder",
			obligations: []Obligation{pending("zhangsan")},
			cal:         &midweekHoliday,
			now:         day(3, 9, 0),
			want:        []Action{remindCard(day(3, 9, 0), "zh-CN", "zhangsan"), markReminded(day(3, 9, 0), "zhangsan")},
		},
		{
			// Reminded on Thursday (day 3) at 10:00, due again on
			// Saturday: the weekend passes, Monday (day 7) at 09:00 it
			// goes, with the overdue mark (due on day 7 at 09:00).
			name:        "after the weekend: the reminder on Monday morning",
			obligations: []Obligation{pending("zhangsan", reminded(1, day(3, 10, 0)), func(o *Obligation) { o.DueAt = day(7, 9, 0) })},
			now:         day(7, 9, 0),
			want: []Action{
				markOverdue(day(7, 9, 0), "zhangsan"),
				remindCard(day(7, 9, 0), "zh-CN", "zhangsan"),
				markReminded(day(7, 9, 0), "zhangsan"),
			},
		},

		// Overdue.
		{
			// Due on day 7 at 10:00: at 10:00 it is overdue; lisi, already
			// overdue, is not marked again; wangwu, due later, is not.
			name: "overdue marking",
			obligations: []Obligation{
				pending("zhangsan", reminded(3, day(6, 10, 0)), escalatedAt(day(6, 10, 0))),
				pending("lisi", status(Overdue), reminded(3, day(6, 10, 0)), escalatedAt(day(6, 10, 0))),
				pending("wangwu", reminded(3, day(6, 10, 0)), func(o *Obligation) { o.DueAt = day(8, 10, 0) }),
			},
			now:  day(7, 10, 0),
			want: []Action{markOverdue(day(7, 10, 0), "zhangsan")},
		},
		{
			// No due date: never overdue.
			name:        "no due date: never overdue",
			obligations: []Obligation{pending("zhangsan", noDueDate, reminded(3, day(6, 10, 0)), escalatedAt(day(6, 10, 0)))},
			now:         day(30, 10, 0),
		},

		// Escalation after 2 reminders.
		{
			// Reminded on days 2 and 4... then on day 7 overdue, and on day
			// 9, a cadence after the second reminder: boss hears of
			// zhangsan and lisi, boss2 (English) of lisi, the owners of
			// both in their languages; wangwu has no leader, only the
			// owners hear of him. The third reminder goes too.
			name: "escalation after N",
			obligations: []Obligation{
				pending("lisi", status(Overdue), reminded(2, day(7, 10, 0))),
				pending("wangwu", status(Overdue), reminded(2, day(7, 10, 0))),
				pending("zhangsan", status(Overdue), reminded(2, day(7, 10, 0))),
			},
			now: escalationDay,
			want: []Action{
				remindCard(escalationDay, "en", "lisi"),
				remindCard(escalationDay, "zh-CN", "wangwu", "zhangsan"),
				escalation(escalationDay, "leader:boss", EscalationLeaderTemplate, "zh-CN", []string{"boss"}, item("lisi", "李四"), item("zhangsan", "张三")),
				escalation(escalationDay, "leader:boss2", EscalationLeaderTemplate, "en", []string{"boss2"}, item("lisi", "李四")),
				escalation(escalationDay, "owners:en", EscalationOwnerTemplate, "en", []string{"owner2"}, item("lisi", "李四"), item("wangwu", "王五"), item("zhangsan", "张三")),
				escalation(escalationDay, "owners:zh-CN", EscalationOwnerTemplate, "zh-CN", []string{"owner1"}, item("lisi", "李四"), item("wangwu", "王五"), item("zhangsan", "张三")),
				markReminded(escalationDay, "lisi", "wangwu", "zhangsan"),
				markEscalated(escalationDay, "lisi", "wangwu", "zhangsan"),
			},
		},
		{
			// Escalated before: never again (the third and last reminder
			// was sent too: nothing left).
			name:        "escalated once only",
			obligations: []Obligation{pending("zhangsan", status(Overdue), reminded(3, day(9, 10, 0)), escalatedAt(escalationDay))},
			now:         day(11, 10, 0),
		},
		{
			// The second reminder an hour ago: the person gets a cadence
			// to answer it before their leader hears.
			name:        "escalation waits a cadence after the Nth reminder",
			obligations: []Obligation{pending("zhangsan", status(Overdue), reminded(2, day(8, 10, 0)))},
			now:         day(8, 11, 0),
		},
		{
			// Reminded twice but due only on day 10: no escalation before
			// the due date; the third reminder goes.
			name:        "escalation waits for the due date",
			obligations: []Obligation{pending("zhangsan", reminded(2, day(4, 10, 0)), func(o *Obligation) { o.DueAt = day(10, 10, 0) })},
			now:         day(8, 10, 0),
			want:        []Action{remindCard(day(8, 10, 0), "zh-CN", "zhangsan"), markReminded(day(8, 10, 0), "zhangsan")},
		},
		{
			// No due date: after N reminders and a cadence, escalated
			// (they are late by the reminders' measure).
			name:        "escalation without a due date",
			obligations: []Obligation{pending("zhangsan", noDueDate, reminded(3, day(4, 10, 0)))},
			now:         day(8, 10, 0),
			want: []Action{
				escalation(day(8, 10, 0), "leader:boss", EscalationLeaderTemplate, "zh-CN", []string{"boss"}, map[string]any{"Name": "张三", "UserID": "zhangsan", "Due": ""}),
				escalation(day(8, 10, 0), "owners:en", EscalationOwnerTemplate, "en", []string{"owner2"}, map[string]any{"Name": "张三", "UserID": "zhangsan", "Due": ""}),
				escalation(day(8, 10, 0), "owners:zh-CN", EscalationOwnerTemplate, "zh-CN", []string{"owner1"}, map[string]any{"Name": "张三", "UserID": "zhangsan", "Due": ""}),
				markEscalated(day(8, 10, 0), "zhangsan"),
			},
		},
		{
			// wangwu has no leader and the notice no owners: nobody to
			// tell, so not marked escalated (owners configured later
			// will hear of him).
			name:        "no leaders and no owners",
			notices:     []Notice{noOwners},
			obligations: []Obligation{pending("wangwu", status(Overdue), reminded(3, day(7, 10, 0)))},
			now:         escalationDay,
		},
		{
			// zhangsan's leader only, no owners.
			name:        "a leader and no owners",
			notices:     []Notice{noOwners},
			obligations: []Obligation{pending("zhangsan", status(Overdue), reminded(3, day(7, 10, 0)))},
			now:         escalationDay,
			want: []Action{
				func() SendText {
					e := escalation(escalationDay, "leader:boss", EscalationLeaderTemplate, "zh-CN", []string{"boss"}, item("zhangsan", "张三"))
					return e
				}(),
				markEscalated(escalationDay, "zhangsan"),
			},
		},
		{
			// Someone unknown to the store: the default language, no
			// leaders, named by their UserID.
			name:        "an unknown person",
			obligations: []Obligation{pending("newbie", status(Overdue), reminded(2, day(7, 10, 0)))},
			now:         escalationDay,
			want: []Action{
				remindCard(escalationDay, "zh-CN", "newbie"),
				escalation(escalationDay, "owners:en", EscalationOwnerTemplate, "en", []string{"owner2"}, item("newbie", "newbie")),
				escalation(escalationDay, "owners:zh-CN", EscalationOwnerTemplate, "zh-CN", []string{"owner1"}, item("newbie", "newbie")),
				markReminded(escalationDay, "newbie"),
				markEscalated(escalationDay, "newbie"),
			},
		},
		{
			// zhaoliu left (inactive): the overdue mark, nothing sent.
			name:        "an inactive person",
			obligations: []Obligation{pending("zhaoliu", reminded(2, day(4, 10, 0)))},
			now:         escalationDay,
			want:        []Action{markOverdue(escalationDay, "zhaoliu")},
		},

		// Languages.
		{
			// zhangsan reads Chinese, lisi English: one reminder per
			// language, one mark.
			name:        "languages",
			obligations: []Obligation{pending("zhangsan"), pending("lisi"), pending("wangwu")},
			now:         day(2, 10, 0),
			want: []Action{
				remindCard(day(2, 10, 0), "en", "lisi"),
				remindCard(day(2, 10, 0), "zh-CN", "wangwu", "zhangsan"),
				markReminded(day(2, 10, 0), "lisi", "wangwu", "zhangsan"),
			},
		},

		// Re-attestation every 365 days.
		{
			// Acknowledged a year ago in round 0: reopened in round 1,
			// due in 7 days, and the card sent again.
			name:        "re-attestation after N days",
			notices:     []Notice{yearly},
			obligations: []Obligation{pending("zhangsan", acked(lastYear, 0)), pending("lisi", acked(lastYear, 0))},
			now:         monday,
			want: []Action{
				Reattest{NoticeID: "archive", Version: 3, Round: 1, UserIDs: []string{"lisi", "zhangsan"}, At: monday,
					DueAt: monday.AddDate(0, 0, 7), Reason: ReasonReattest},
				reattestCard(yearly, "en", monday, "lisi"),
				reattestCard(yearly, "zh-CN", monday, "zhangsan"),
			},
		},
		{
			// A day short of a year: nothing.
			name:        "re-attestation not yet",
			notices:     []Notice{yearly},
			obligations: []Obligation{pending("zhangsan", acked(lastYear.AddDate(0, 0, 1), 0))},
			now:         monday,
		},
		{
			// Round 1 acknowledged a year ago: round 2; no due date.
			name:        "re-attestation of round 1",
			notices:     []Notice{yearlyNoDue},
			obligations: []Obligation{pending("zhangsan", acked(lastYear, 1))},
			now:         monday,
			want: []Action{
				Reattest{NoticeID: "archive", Version: 3, Round: 2, UserIDs: []string{"zhangsan"}, At: monday, Reason: ReasonReattest},
				reattestCard(yearlyNoDue, "zh-CN", monday, "zhangsan"),
			},
		},
		{
			// No reattest_days: an old acknowledgement stays.
			name:        "no re-attestation",
			obligations: []Obligation{pending("zhangsan", acked(lastYear.AddDate(-5, 0, 0), 0))},
			now:         monday,
		},
		{
			// The same run made again after a crash between reopening and
			// sending: the round reopened at this very now gets its card
			// again (notify drops it if it went out).
			name:    "re-attestation card after a crash",
			notices: []Notice{yearly},
			obligations: []Obligation{pending("zhangsan", func(o *Obligation) {
				o.Reason, o.Round, o.CreatedAt, o.DueAt = ReasonReattest, 1, monday, monday.AddDate(0, 0, 7)
			})},
			now:  monday,
			want: []Action{reattestCard(yearly, "zh-CN", monday, "zhangsan")},
		},
		{
			// An hour later it is an ordinary open obligation.
			name:    "re-attestation card not resent later",
			notices: []Notice{yearly},
			obligations: []Obligation{pending("zhangsan", func(o *Obligation) {
				o.Reason, o.Round, o.CreatedAt, o.DueAt = ReasonReattest, 1, monday, monday.AddDate(0, 0, 7)
			})},
			now: monday.Add(time.Hour),
		},

		// Versions.
		{
			// Obligations of a version other than the current one are not
			// the run's (a newer version superseded them).
			name:        "another version",
			notices:     []Notice{v4},
			obligations: []Obligation{pending("zhangsan")},
			now:         day(2, 10, 0),
		},
		{
			// Two notices: sorted by notice, each its own key.
			name: "two notices",
			notices: []Notice{remindNotice, {ID: "handbook", Version: 1, Title: "Handbook", Languages: []string{"en"},
				RemindEveryDays: 1}},
			obligations: []Obligation{pending("zhangsan"), {UserID: "zhangsan", NoticeID: "handbook", Version: 1, Status: Pending, CreatedAt: monday}},
			now:         day(2, 10, 0),
			want: []Action{
				remindCard(day(2, 10, 0), "zh-CN", "zhangsan"),
				SendReminder{Notice: Notice{ID: "handbook", Version: 1, Title: "Handbook", Languages: []string{"en"}, RemindEveryDays: 1},
					Key: "handbook:v1:remind:2026-11-25", Template: RemindTemplate, Lang: "en", UserIDs: []string{"zhangsan"}, Reason: ReasonReminder},
				markReminded(day(2, 10, 0), "zhangsan"),
				MarkReminded{NoticeID: "handbook", Version: 1, UserIDs: []string{"zhangsan"}, At: day(2, 10, 0), Reason: ReasonReminder},
			},
		},
	}
}

func TestRemind(t *testing.T) {
	for _, tc := range remindCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.run(t, tc.obligations)
			diffRemind(t, got, tc.want)
		})
	}
}

// run calls Remind for the case on obligations.
func (tc remindCase) run(t *testing.T, obligations []Obligation) []Action {
	t.Helper()
	notices := tc.notices
	if notices == nil {
		notices = []Notice{remindNotice}
	}
	cal := officeCalendar(t)
	if tc.cal != nil {
		cal = *tc.cal
	}
	return Remind(notices, obligations, remindPeople(), cal, settings, tc.now)
}

// diffRemind is diffActions for Remind.
func diffRemind(t *testing.T, got, want []Action) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 || reflect.DeepEqual(got, want) {
		return
	}
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if i < len(got) {
			g = fmt.Sprintf("%T %+v", got[i], got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%T %+v", want[i], want[i])
		}
		if i < len(got) && i < len(want) && reflect.DeepEqual(got[i], want[i]) {
			fmt.Fprintf(&b, "  [%d] ok   %T\n", i, got[i])
			continue
		}
		fmt.Fprintf(&b, "  [%d] got  %s\n      want %s\n", i, g, w)
	}
	t.Errorf("Remind: %d actions, want %d:\n%s", len(got), len(want), b.String())
}

// TestRemindActionable: the caller may pass only the obligations
// Actionable picks, and Remind decides the same.
func TestRemindActionable(t *testing.T) {
	for _, tc := range remindCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			notices := tc.notices
			if notices == nil {
				notices = []Notice{remindNotice}
			}
			var some []Obligation
			for _, o := range tc.obligations {
				for _, n := range notices {
					if Actionable(n, o, tc.now) {
						some = append(some, o)
					}
				}
			}
			diffRemind(t, tc.run(t, some), tc.want)
		})
	}
}

// TestRemindIsDeterministic: the order of the obligations given does not
// matter, and Remind leaves them as they were.
func TestRemindIsDeterministic(t *testing.T) {
	for _, tc := range remindCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			rev := slices.Clone(tc.obligations)
			slices.Reverse(rev)
			before := slices.Clone(rev)
			diffRemind(t, tc.run(t, rev), tc.want)
			if !reflect.DeepEqual(rev, before) {
				t.Error("Remind changed its argument")
			}
		})
	}
}

// TestEscalationSplit: 200 overdue reports of one leader, with long
// names, are told in several messages, each within the budget, all of
// them once, in order, with keys of their own.
func TestEscalationSplit(t *testing.T) {
	people := remindPeople()
	// The worst case: a title, names and UserIDs longer than any field
	// allows, in Chinese (3 bytes a character).
	n := remindNotice
	n.Title = strings.Repeat("会话存档告知", 100)
	var obligations []Obligation
	for i := range 200 {
		u := fmt.Sprintf("employee%03d", i) + strings.Repeat("x", 100)
		people[u] = Person{UserID: u, Name: strings.Repeat("长", 40) + fmt.Sprint(i), Active: true, DirectLeaders: []string{"boss"}}
		obligations = append(obligations, pending(u, status(Overdue), reminded(2, day(7, 10, 0))))
	}
	acts := Remind([]Notice{n}, obligations, people, officeCalendar(t), settings, day(9, 10, 0))
	var texts []Action
	for _, a := range acts {
		if _, ok := a.(SendText); ok {
			texts = append(texts, a)
		}
	}
	renderMarkdown(t, texts) // every message within WeCom's 2,048 bytes
	byRecipient := map[string][]SendText{}
	for _, a := range acts {
		if st, ok := a.(SendText); ok {
			byRecipient[strings.Join(st.UserIDs, ",")] = append(byRecipient[strings.Join(st.UserIDs, ",")], st)
		}
	}
	for _, to := range []string{"boss", "owner1", "owner2"} {
		msgs := byRecipient[to]
		if len(msgs) < 2 {
			t.Fatalf("%s: %d messages, want the list split", to, len(msgs))
		}
		var listed []string
		keys := map[string]bool{}
		for i, m := range msgs {
			d := m.Data
			if d["Part"] != i+1 || d["Parts"] != len(msgs) || d["Total"] != 200 {
				t.Errorf("%s message %d: part %v of %v, total %v", to, i, d["Part"], d["Parts"], d["Total"])
			}
			size := 0
			for _, it := range d["Items"].([]map[string]any) {
				listed = append(listed, it["UserID"].(string))
				size += len(it["Name"].(string)) + len(it["UserID"].(string)) + len(it["Due"].(string)) + escalationItemOverhead
			}
			if budget := MessageLimit - escalationReserve - 2*len(d["Title"].(string)); size > budget {
				t.Errorf("%s message %d: %d bytes of items, budget %d", to, i, size, budget)
			}
			if keys[m.Key] {
				t.Errorf("key %s twice", m.Key)
			}
			keys[m.Key] = true
		}
		if len(listed) != 200 || !slices.IsSorted(listed) || len(slices.Compact(listed)) != 200 {
			t.Errorf("%s: %d listed, want the 200 once each, in order", to, len(listed))
		}
	}
}

// TestObligationUpdates: the marks change what they must, once.
func TestObligationUpdates(t *testing.T) {
	at := day(2, 10, 0)
	later := day(4, 10, 0)
	tests := []struct {
		name string
		u    ObligationUpdate
		in   Obligation
		want Obligation
	}{
		{"overdue: pending moves", MarkOverdue{At: at}, pending("a"), pending("a", status(Overdue))},
		{"overdue: acknowledged stays", MarkOverdue{At: at}, pending("a", acked(at, 0)), pending("a", acked(at, 0))},
		{"reminded: counted", MarkReminded{At: at}, pending("a"), pending("a", reminded(1, at))},
		// The same run applied again (a crash after the mark): once.
		{"reminded: counted once", MarkReminded{At: at}, pending("a", reminded(1, at)), pending("a", reminded(1, at))},
		{"reminded: a later run counts", MarkReminded{At: later}, pending("a", reminded(1, at)), pending("a", reminded(2, later))},
		// Acknowledged meanwhile: not counted.
		{"reminded: closed stays", MarkReminded{At: at}, pending("a", acked(at, 0)), pending("a", acked(at, 0))},
		{"escalated: recorded", MarkEscalated{At: at}, pending("a"), pending("a", escalatedAt(at))},
		{"escalated: once", MarkEscalated{At: later}, pending("a", escalatedAt(at)), pending("a", escalatedAt(at))},
		{
			// Round 0 acknowledged: reopened in round 1, fresh; the
			// attestation (stored apart) is untouched.
			"reattest: reopened",
			Reattest{Round: 1, At: later, DueAt: later.AddDate(0, 0, 7)},
			pending("a", reminded(2, at), escalatedAt(at), acked(at, 0)),
			Obligation{UserID: "a", NoticeID: "archive", Version: 3, Status: Pending, Reason: ReasonReattest,
				CreatedAt: later, DueAt: later.AddDate(0, 0, 7), Round: 1},
		},
		// Applied again: already in round 1 (open or acknowledged again).
		{"reattest: once", Reattest{Round: 1, At: later}, pending("a", acked(later, 1)), pending("a", acked(later, 1))},
		{"reattest: open stays", Reattest{Round: 1, At: later}, pending("a"), pending("a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.Update(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// reattestCard is the re-attestation card Remind sends at at: under the
// day's re-attestation key.
func reattestCard(n Notice, lang string, at time.Time, users ...string) SendCard {
	c := card(n, lang, ReasonReattest, users...)
	c.Key = ReattestKey(n, formatDay(at, settings))
	return c
}
