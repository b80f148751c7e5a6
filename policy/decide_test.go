package policy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// The fixtures every table shares: one company, its notices and people.
// A case changes what it needs in a copy (see withPeople and friends).

var (
	// now is 10:15 in Beijing.
	now = time.Date(2026, time.November, 23, 2, 15, 0, 0, time.UTC)
	// evTime is the events' CreateTime, a minute before now.
	evTime = time.Date(2026, time.November, 23, 2, 14, 0, 0, time.UTC)
	// cst is the documented default of Settings.Location, built here
	// independently of the package's.
	cst = time.FixedZone("CST", 8*3600)
	// receivedAt is when wecomply accepted the callback.
	receivedAt = time.Date(2026, time.November, 23, 2, 14, 1, 0, time.UTC)
)

// archive (v2) is owed by the sales department (2) and its sub-departments
// and by the archive permit list; due in 7 days; in Chinese and English.
var archive = Notice{
	ID: "archive", Version: 2, Title: "会话存档告知", Template: "notice_card",
	Languages: []string{"zh-CN", "en"},
	Summary:   "本企业对会话内容存档", URL: "https://example.com/archive",
	Audience: Audience{Departments: []int64{2}, PermitList: true},
	DueDays:  7,
}

// handbook (v1) is owed by tag 7 and by laoliu by name; no due date; in
// English only.
var handbook = Notice{
	ID: "handbook", Version: 1, Title: "Employee handbook", Template: "notice_card",
	Languages: []string{"en"},
	Audience:  Audience{Tags: []int64{7}, Users: []string{"laoliu"}},
}

// atVersion returns n at version v.
func atVersion(n Notice, v int) Notice { n.Version = v; return n }

var settings = Settings{
	AckWords:         []string{"确认", "ACK"},
	Officers:         []string{"officer2", "officer1", "officer2"},
	ConsentGrace:     72 * time.Hour,
	DefaultLanguage:  "zh-CN",
	Company:          "示例科技",
	WelcomeTemplate:  "welcome",
	ConsentPolicy:    "请勿在企业微信中讨论交易细节。",
	ConsentPolicyURL: "https://example.com/policy/archive",
}

// The people. Departments: 1 the company, 2 sales, 21 sales east (in 2),
// 3 engineering.
func zhangsan() *Person {
	return &Person{UserID: "zhangsan", Name: "张三", Departments: []int64{21}, DepartmentPath: []int64{1, 2, 21}, Active: true}
}

func lisi() *Person {
	return &Person{UserID: "lisi", Name: "李四", Departments: []int64{3}, DepartmentPath: []int64{1, 3}, Tags: []int64{7}, Active: true, Language: "en"}
}

func wangwu() *Person {
	return &Person{UserID: "wangwu", Name: "王五", Departments: []int64{3}, DepartmentPath: []int64{1, 3}, Active: true}
}

// laoliu is in both audiences: sales and handbook's users.
func laoliu() *Person {
	return &Person{UserID: "laoliu", Name: "老六", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Active: true}
}

// with returns p changed by f.
func with(p *Person, f func(*Person)) *Person { f(p); return p }

// baseState is the company with nobody in People.
func baseState() State {
	return State{
		Notices:    []Notice{handbook, archive},
		Settings:   settings,
		ReceivedAt: receivedAt,
		DedupKey:   "dedup-1",
	}
}

// stateWith is baseState with people.
func stateWith(people map[string]PersonChange) State {
	st := baseState()
	st.People = people
	return st
}

// same is a person unchanged by the event (Before and After alike).
func same(p *Person, obligations ...Obligation) PersonChange {
	return PersonChange{Before: p, After: p, Obligations: obligations}
}

// ob is an obligation of user for notice id version v in status s,
// created a month ago and due a week after.
func ob(user, id string, v int, s ObligationStatus) Obligation {
	created := time.Date(2026, time.October, 20, 1, 0, 0, 0, time.UTC)
	o := Obligation{
		UserID: user, NoticeID: id, Version: v, Status: s, Reason: ReasonPublished,
		CreatedAt: created, DueAt: created.AddDate(0, 0, 7),
	}
	if s == Acknowledged {
		o.AcknowledgedAt = time.Date(2026, time.October, 21, 1, 0, 0, 0, time.UTC)
		o.ClosedReason = ReasonCardClicked
	}
	return o
}

// closed is o closed as status for reason at at, as the store closes it.
func closed(o Obligation, status ObligationStatus, reason Reason, at time.Time) Obligation {
	o.Status, o.ClosedReason, o.ClosedAt = status, reason, at
	return o
}

// The expected actions.

// create is the CreateObligation Decide makes for user and n at now.
func create(user string, n Notice, reason Reason) CreateObligation {
	o := Obligation{UserID: user, NoticeID: n.ID, Version: n.Version, Status: Pending, Reason: reason, CreatedAt: now}
	if n.DueDays > 0 {
		o.DueAt = now.Add(time.Duration(n.DueDays) * 24 * time.Hour)
	}
	return CreateObligation{Obligation: o}
}

// reopen is create for a cancelled obligation.
func reopen(user string, n Notice, reason Reason) CreateObligation {
	c := create(user, n, reason)
	c.Reopen, c.Obligation.Reopened = true, true
	return c
}

func closeOb(user, id string, v int, s ObligationStatus, reason Reason) CloseObligation {
	return CloseObligation{UserID: user, NoticeID: id, Version: v, Status: s, Reason: reason, At: now}
}

func card(n Notice, lang string, reason Reason, users ...string) SendCard {
	return SendCard{Notice: n, UserIDs: users, Lang: lang, Reason: reason}
}

// decideCase is one row of a Decide table.
type decideCase struct {
	name string
	ev   Event
	st   State
	now  time.Time // zero: now
	want []Action
}

// allCases are every table's rows, by table, for the property tests.
func allCases() map[string][]decideCase {
	return map[string][]decideCase{
		"membership": membershipCases(),
		"published":  publishedCases(),
		"click":      clickCases(),
		"reply":      replyCases(),
		"enter":      enterCases(),
		"customer":   customerCases(),
		"consent":    consentCases(),
		"other":      otherCases(),
	}
}

// runCases runs a table.
func runCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.now
			if at.IsZero() {
				at = now
			}
			got := Decide(tc.ev, tc.st, at)
			diffActions(t, got, tc.want)
		})
	}
}

// diffActions fails t, showing every differing action, unless got and
// want are equal.
func diffActions(t *testing.T, got, want []Action) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 || reflect.DeepEqual(got, want) {
		return
	}
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if i < len(got) {
			g = fmt.Sprintf("%#v", got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%#v", want[i])
		}
		if i < len(got) && i < len(want) && reflect.DeepEqual(got[i], want[i]) {
			fmt.Fprintf(&b, "  [%d] ok   %T\n", i, got[i])
			continue
		}
		fmt.Fprintf(&b, "  [%d] got  %s\n      want %s\n", i, g, w)
	}
	t.Errorf("Decide: %d actions, want %d:\n%s", len(got), len(want), b.String())
}

// TestDecideOther: events Decide has no rule for.
func TestDecideOther(t *testing.T) { runCases(t, otherCases()) }

func otherCases() []decideCase {
	// Everyone is here and owes something, so that a rule firing by
	// mistake would show.
	st := stateWith(map[string]PersonChange{
		"zhangsan": same(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
		"sys":      same(wangwu()),
	})
	st.Consent = &Consent{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentUnknown}
	member := wecom.Header{ToUserName: "ww1", FromUserName: "zhangsan", CreateTime: evTime.Unix(), AgentID: "1000002"}
	sys := wecom.Header{ToUserName: "ww1", FromUserName: "sys", CreateTime: evTime.Unix(), MsgType: "event"}
	hdr := func(h wecom.Header, msgType, event, change string) wecom.Header {
		h.MsgType, h.Event, h.ChangeType = msgType, event, change
		return h
	}
	return []decideCase{
		{
			// A nil event decides nothing.
			name: "nil event",
			ev:   nil,
			st:   st,
		},
		{
			// Media messages are not acknowledgements.
			name: "image message",
			ev:   &wecom.ImageMessage{Header: hdr(member, "image", "", ""), MsgID: "1", MediaID: "m"},
			st:   st,
		},
		{
			// A menu click is not a card click, even with a button key.
			name: "menu click with an ack key",
			ev:   &wecom.MenuEvent{Header: hdr(member, "event", "click", ""), EventKey: archive.ButtonKey()},
			st:   st,
		},
		{
			// Departments: the people they move come as PeopleChanged
			// once the tree is reconciled, not with the party event.
			name: "update_party",
			ev:   &wecom.PartyChange{Header: hdr(sys, "event", "change_contact", "update_party"), ID: "21"},
			st:   st,
		},
		{
			// A change_contact event with an unknown ChangeType.
			name: "unknown user change",
			ev:   &wecom.UserChange{Header: hdr(sys, "event", "change_contact", "suspend_user"), UserID: "zhangsan"},
			st:   st,
		},
		{
			// Customer groups: nothing yet (archive consent is per chat,
			// and asked by room only when a room is archived).
			name: "external chat update",
			ev:   &wecom.ExternalChatChange{Header: hdr(sys, "event", "change_external_chat", "update"), ChatID: "wr1", UpdateDetail: "add_member"},
			st:   st,
		},
		{
			// Customer tags.
			name: "external tag shuffle",
			ev:   &wecom.ExternalTagChange{Header: hdr(sys, "event", "change_external_tag", "shuffle")},
			st:   st,
		},
		{
			// Anything WeCom may add later.
			name: "raw event",
			ev:   &wecom.RawEvent{Header: hdr(sys, "event", "batch_job_result", ""), Plaintext: []byte("<xml/>")},
			st:   st,
		},
	}
}

// TestDecideOrder: the documented order of action kinds, and within each
// kind.
func TestDecideOrder(t *testing.T) {
	want := []Action{
		RenamePerson{From: "a", To: "b"},
		RenamePerson{From: "b", To: "a"},
		CloseObligation{UserID: "z", NoticeID: "archive", Version: 1},
		CloseObligation{UserID: "a", NoticeID: "archive", Version: 2},
		CloseObligation{UserID: "b", NoticeID: "archive", Version: 2},
		CloseObligation{UserID: "a", NoticeID: "handbook", Version: 1},
		CreateObligation{Obligation: Obligation{UserID: "b", NoticeID: "archive", Version: 2}},
		CreateObligation{Obligation: Obligation{UserID: "a", NoticeID: "handbook", Version: 1}},
		Acknowledge{Attestation: Attestation{UserID: "a", NoticeID: "archive", Version: 2}},
		RecordConsent{Consent: Consent{UserID: "a", ExternalUserID: "y"}},
		RecordConsent{Consent: Consent{UserID: "b", ExternalUserID: "x"}},
		RecordArchiveWaiting{At: evTime},
		RecordArchiveWaiting{At: now},
		CheckConsent{UserID: "a", ExternalUserID: "x"},
		SendWelcome{UserID: "a", ExternalUserID: "x"},
		UpdateCard{UserID: "a", Notice: archive},
		UpdateCard{UserID: "b", Notice: handbook},
		SendCard{Notice: atVersion(archive, 1), Lang: "zh-CN"},
		SendCard{Notice: archive, Lang: "en", Reason: ReasonPublished},
		SendCard{Notice: archive, Lang: "zh-CN", Reason: ReasonNewVersion},
		SendCard{Notice: archive, Lang: "zh-CN", Reason: ReasonPublished},
		SendText{Key: "a"},
		SendText{Key: "b"},
		Alert{Key: "a"},
		Alert{Key: "b"},
	}
	for seed := range 20 {
		got := slices.Clone(want)
		// A deterministic shuffle per seed.
		for i := range got {
			j := (i*7 + seed*13) % len(got)
			got[i], got[j] = got[j], got[i]
		}
		sortActions(got)
		diffActions(t, got, want)
	}
}

// TestDecideDeterministic: every table row, decided again and again,
// gives the same actions (whatever the map iteration order), sorted in
// the documented order, and leaves its state as it was.
func TestDecideDeterministic(t *testing.T) {
	for table, cases := range allCases() {
		for _, tc := range cases {
			t.Run(table+"/"+tc.name, func(t *testing.T) {
				at := cmpOr(tc.now, now)
				before := cloneState(tc.st)
				first := Decide(tc.ev, tc.st, at)
				if !slices.IsSortedFunc(first, compareActions) {
					t.Errorf("actions are not in the documented order: %#v", first)
				}
				for range 10 {
					diffActions(t, Decide(tc.ev, tc.st, at), first)
				}
				if !reflect.DeepEqual(tc.st, before) {
					t.Errorf("Decide changed its state:\n got  %#v\n want %#v", tc.st, before)
				}
			})
		}
	}
}

func cmpOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// cloneState copies st deeply enough to see Decide change it.
func cloneState(st State) State {
	c := st
	c.Notices = nil
	for _, n := range st.Notices {
		n.Languages = slices.Clone(n.Languages)
		n.Audience.Departments = slices.Clone(n.Audience.Departments)
		n.Audience.Tags = slices.Clone(n.Audience.Tags)
		n.Audience.Users = slices.Clone(n.Audience.Users)
		n.ComplianceOwners = slices.Clone(n.ComplianceOwners)
		c.Notices = append(c.Notices, n)
	}
	c.Settings.AckWords = slices.Clone(st.Settings.AckWords)
	c.Settings.Officers = slices.Clone(st.Settings.Officers)
	clonePerson := func(p *Person) *Person {
		if p == nil {
			return nil
		}
		q := *p
		q.Departments = slices.Clone(p.Departments)
		q.DepartmentPath = slices.Clone(p.DepartmentPath)
		q.Tags = slices.Clone(p.Tags)
		q.DirectLeaders = slices.Clone(p.DirectLeaders)
		return &q
	}
	if st.People != nil {
		c.People = make(map[string]PersonChange, len(st.People))
		for id, pc := range st.People {
			c.People[id] = PersonChange{Before: clonePerson(pc.Before), After: clonePerson(pc.After),
				Obligations: slices.Clone(pc.Obligations), Attestations: slices.Clone(pc.Attestations)}
		}
	}
	if st.Consent != nil {
		cc := *st.Consent
		c.Consent = &cc
	}
	return c
}

// zeroEvents returns one zero-valued event of every kind Decide may get,
// as Decode returns them and as wecomply makes them, plus nil pointers
// of each and zero events with only their header's kind set.
func zeroEvents() map[string]Event {
	evs := map[string]Event{
		"TextMessage":           &wecom.TextMessage{},
		"ImageMessage":          &wecom.ImageMessage{},
		"VoiceMessage":          &wecom.VoiceMessage{},
		"VideoMessage":          &wecom.VideoMessage{},
		"LocationMessage":       &wecom.LocationMessage{},
		"LinkMessage":           &wecom.LinkMessage{},
		"EnterAgent":            &wecom.EnterAgent{},
		"MenuEvent":             &wecom.MenuEvent{},
		"TemplateCardEvent":     &wecom.TemplateCardEvent{},
		"MsgAuditNotify":        &wecom.MsgAuditNotify{},
		"UserChange":            &wecom.UserChange{},
		"PartyChange":           &wecom.PartyChange{},
		"TagChange":             &wecom.TagChange{},
		"ExternalContactChange": &wecom.ExternalContactChange{},
		"ExternalChatChange":    &wecom.ExternalChatChange{},
		"ExternalTagChange":     &wecom.ExternalTagChange{},
		"RawEvent":              &wecom.RawEvent{},
		"NoticePublished":       NoticePublished{},
		"PeopleChanged":         PeopleChanged{},
		"ConsentChecked":        ConsentChecked{},
		"*NoticePublished":      &NoticePublished{},
		"*PeopleChanged":        &PeopleChanged{},
		"*ConsentChecked":       &ConsentChecked{},

		"nil TextMessage":           (*wecom.TextMessage)(nil),
		"nil EnterAgent":            (*wecom.EnterAgent)(nil),
		"nil TemplateCardEvent":     (*wecom.TemplateCardEvent)(nil),
		"nil MsgAuditNotify":        (*wecom.MsgAuditNotify)(nil),
		"nil UserChange":            (*wecom.UserChange)(nil),
		"nil TagChange":             (*wecom.TagChange)(nil),
		"nil ExternalContactChange": (*wecom.ExternalContactChange)(nil),
		"nil NoticePublished":       (*NoticePublished)(nil),
		"nil PeopleChanged":         (*PeopleChanged)(nil),
		"nil ConsentChecked":        (*ConsentChecked)(nil),
		"nil Event":                 nil,
	}
	kinds := map[string]wecom.Header{
		"create_user":   {MsgType: "event", Event: "change_contact", ChangeType: "create_user"},
		"update_user":   {MsgType: "event", Event: "change_contact", ChangeType: "update_user"},
		"delete_user":   {MsgType: "event", Event: "change_contact", ChangeType: "delete_user"},
		"update_tag":    {MsgType: "event", Event: "change_contact", ChangeType: "update_tag"},
		"card":          {MsgType: "event", Event: "template_card_event"},
		"card menu":     {MsgType: "event", Event: "template_card_menu_event"},
		"enter_agent":   {MsgType: "event", Event: "enter_agent"},
		"text":          {MsgType: "text"},
		"msgaudit":      {MsgType: "event", Event: "msgaudit_notify"},
		"add_external":  {MsgType: "event", Event: "change_external_contact", ChangeType: "add_external_contact"},
		"del_external":  {MsgType: "event", Event: "change_external_contact", ChangeType: "del_external_contact"},
		"approved":      {MsgType: "event", Event: "change_external_contact", ChangeType: "msg_audit_approved"},
		"transfer_fail": {MsgType: "event", Event: "change_external_contact", ChangeType: "transfer_fail"},
	}
	for name, h := range kinds {
		evs["header only "+name+" (user)"] = &wecom.UserChange{Header: h}
		evs["header only "+name+" (tag)"] = &wecom.TagChange{Header: h}
		evs["header only "+name+" (card)"] = &wecom.TemplateCardEvent{Header: h}
		evs["header only "+name+" (text)"] = &wecom.TextMessage{Header: h}
		evs["header only "+name+" (enter)"] = &wecom.EnterAgent{Header: h}
		evs["header only "+name+" (external)"] = &wecom.ExternalContactChange{Header: h}
	}
	return evs
}

// oddStates are states a careless caller could pass: empty, people with
// nothing known, obligations of unknown notices, notices without
// languages or ID, a nil consent with a zero grace.
func oddStates() map[string]State {
	odd := stateWith(map[string]PersonChange{
		"":         {},
		"nobody":   {Obligations: []Obligation{{}, ob("nobody", "gone", 1, Overdue)}},
		"zhangsan": {After: zhangsan(), Obligations: []Obligation{{Status: "weird"}, ob("zhangsan", "archive", 0, Pending)}},
		"sys":      {Before: wangwu()},
	})
	odd.Notices = append(odd.Notices, Notice{}, Notice{ID: "x", Version: -1, Audience: Audience{Everyone: true}})
	odd.Consent = &Consent{}
	full := stateWith(map[string]PersonChange{"zhangsan": same(zhangsan(), ob("zhangsan", "archive", 2, Pending))})
	return map[string]State{
		"zero":  {},
		"odd":   odd,
		"full":  full,
		"empty": baseState(),
	}
}

// TestDecideNeverPanics: Decide survives every event kind, zero-valued
// or nil, against every odd state, and decides deterministically.
func TestDecideNeverPanics(t *testing.T) {
	for evName, ev := range zeroEvents() {
		for stName, st := range oddStates() {
			t.Run(evName+"/"+stName, func(t *testing.T) {
				var first []Action
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("Decide panicked: %v", r)
						}
					}()
					first = Decide(ev, st, now)
				}()
				diffActions(t, Decide(ev, st, now), first)
				for _, a := range first {
					if a.ActionReason() == "" {
						t.Errorf("%T has no reason", a)
					}
				}
			})
		}
	}
}

// TestDecideReasons: every action Decide makes in the tables carries a
// known reason.
func TestDecideReasons(t *testing.T) {
	known := map[Reason]bool{}
	for _, r := range []Reason{
		ReasonNewMember, ReasonJoinedAudience, ReasonLeftAudience, ReasonMemberDeleted, ReasonNewVersion,
		ReasonPublished, ReasonCardClicked, ReasonReplyAck, ReasonAlreadyAcked, ReasonStaleVersion,
		ReasonUnknownCard, ReasonAmbiguousReply, ReasonNothingOpen, ReasonOpenReminder, ReasonCustomerAdded,
		ReasonConsentAgreed, ReasonConsentDisagreed, ReasonConsentMissing, ReasonConsentChecked,
		ReasonContactDeleted, ReasonTransferFailed, ReasonArchiveWaiting, ReasonUserRenamed,
	} {
		known[r] = true
	}
	for table, cases := range allCases() {
		for _, tc := range cases {
			for _, a := range Decide(tc.ev, tc.st, cmpOr(tc.now, now)) {
				if !known[a.ActionReason()] {
					t.Errorf("%s/%s: %T has reason %q", table, tc.name, a, a.ActionReason())
				}
			}
		}
	}
}
