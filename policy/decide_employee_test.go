package policy

import (
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// userChange is a change_contact event about user.
func userChange(change, user string) *wecom.UserChange {
	return &wecom.UserChange{
		Header: wecom.Header{ToUserName: "ww1", FromUserName: "sys", CreateTime: evTime.Unix(), MsgType: "event", Event: "change_contact", ChangeType: change},
		UserID: user,
	}
}

// moved returns p in other departments (paths given).
func moved(p *Person, departments, path []int64) *Person {
	return with(p, func(p *Person) { p.Departments, p.DepartmentPath = departments, path })
}

func inactive(p *Person) *Person { return with(p, func(p *Person) { p.Active = false }) }

func permitted(p *Person) *Person { return with(p, func(p *Person) { p.InPermitList = true }) }

func TestDecideMembership(t *testing.T) { runCases(t, membershipCases()) }

func membershipCases() []decideCase {
	renamed := userChange("update_user", "zhangsan")
	renamed.NewUserID = "zhang.san"
	tagChange := &wecom.TagChange{
		Header: wecom.Header{ToUserName: "ww1", FromUserName: "sys", CreateTime: evTime.Unix(), MsgType: "event", Event: "change_contact", ChangeType: "update_tag"},
		TagID:  "7", AddUserItems: "zhaoliu,lisi", DelUserItems: "wangwu",
	}
	zhaoliu := func() *Person {
		return &Person{UserID: "zhaoliu", Name: "赵六", Departments: []int64{3}, DepartmentPath: []int64{1, 3}, Active: true, Language: "fr"}
	}
	withTag7 := func(p *Person) *Person { return with(p, func(p *Person) { p.Tags = []int64{7} }) }
	noTags := func(p *Person) *Person { return with(p, func(p *Person) { p.Tags = nil }) }
	outOfSales := func(p *Person) *Person { return moved(p, []int64{3}, []int64{1, 3}) }

	return []decideCase{
		{
			// A new member of sales east (21, in sales 2) owes archive:
			// a department audience includes its sub-departments. One
			// card, in the default language; due in 7 days.
			name: "create_user in a sub-department of an audience",
			ev:   userChange("create_user", "zhangsan"),
			st:   stateWith(map[string]PersonChange{"zhangsan": {After: zhangsan()}}),
			want: []Action{
				create("zhangsan", archive, ReasonNewMember),
				card(archive, "zh-CN", ReasonNewMember, "zhangsan"),
			},
		},
		{
			// In two audiences: owes both, one card each. handbook has
			// no Chinese text: its first language, English; no due date.
			name: "create_user in two audiences",
			ev:   userChange("create_user", "laoliu"),
			st:   stateWith(map[string]PersonChange{"laoliu": {After: laoliu()}}),
			want: []Action{
				create("laoliu", archive, ReasonNewMember),
				create("laoliu", handbook, ReasonNewMember),
				card(archive, "zh-CN", ReasonNewMember, "laoliu"),
				card(handbook, "en", ReasonNewMember, "laoliu"),
			},
		},
		{
			// Engineering, no tag: in no audience.
			name: "create_user in no audience",
			ev:   userChange("create_user", "wangwu"),
			st:   stateWith(map[string]PersonChange{"wangwu": {After: wangwu()}}),
		},
		{
			// Created disabled: inactive people are in no audience.
			name: "create_user inactive",
			ev:   userChange("create_user", "zhangsan"),
			st:   stateWith(map[string]PersonChange{"zhangsan": {After: inactive(zhangsan())}}),
		},
		{
			// Moved from engineering into sales east.
			name: "update_user moved into an audience",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: outOfSales(zhangsan()), After: zhangsan(),
			}}),
			want: []Action{
				create("zhangsan", archive, ReasonJoinedAudience),
				card(archive, "zh-CN", ReasonJoinedAudience, "zhangsan"),
			},
		},
		{
			// Moved within sales: already owes the current version.
			name: "update_user already owes",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: moved(zhangsan(), []int64{2}, []int64{1, 2}),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Pending)},
			}}),
		},
		{
			// Back in the audience, still owing the current version
			// (overdue): no new obligation, but the card again — this
			// event may be running again after a crash that came before
			// the card went out; notify sends one card per version.
			name: "update_user already owes overdue",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: outOfSales(zhangsan()), After: zhangsan(),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Overdue)},
			}}),
			want: []Action{card(archive, "zh-CN", ReasonPublished, "zhangsan")},
		},
		{
			// Already in the audience before and after (another field
			// changed), owing the current version: nothing, not even the
			// card again.
			name: "update_user stays in the audience",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: zhangsan(),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Pending)},
			}}),
		},
		{
			// Came back to sales having acknowledged the current version
			// before: nothing new.
			name: "update_user already acknowledged",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: outOfSales(zhangsan()), After: zhangsan(),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Acknowledged)},
			}}),
		},
		{
			// Left sales: the open obligation is cancelled; the
			// acknowledged one of v1 stays, evidence.
			name: "update_user left the audience",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: outOfSales(zhangsan()),
				Obligations: []Obligation{ob("zhangsan", "archive", 1, Acknowledged), ob("zhangsan", "archive", 2, Pending)},
			}}),
			want: []Action{closeOb("zhangsan", "archive", 2, Cancelled, ReasonLeftAudience)},
		},
		{
			// Left while overdue: overdue is open, so cancelled too.
			name: "update_user left the audience overdue",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: outOfSales(zhangsan()),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Overdue)},
			}}),
			want: []Action{closeOb("zhangsan", "archive", 2, Cancelled, ReasonLeftAudience)},
		},
		{
			// Disabled: out of every audience at once (left_audience: a
			// disabled member may come back).
			name: "update_user disabled",
			ev:   userChange("update_user", "laoliu"),
			st: stateWith(map[string]PersonChange{"laoliu": {
				Before: laoliu(), After: inactive(laoliu()),
				Obligations: []Obligation{ob("laoliu", "handbook", 1, Overdue), ob("laoliu", "archive", 2, Pending)},
			}}),
			want: []Action{
				closeOb("laoliu", "archive", 2, Cancelled, ReasonLeftAudience),
				closeOb("laoliu", "handbook", 1, Cancelled, ReasonLeftAudience),
			},
		},
		{
			// Back in sales after leaving it: the cancelled obligation is
			// reopened (not "already has one") and the card sent again.
			name: "update_user back in the audience after a cancellation",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: outOfSales(zhangsan()), After: zhangsan(),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Cancelled)},
			}}),
			want: []Action{
				reopen("zhangsan", archive, ReasonJoinedAudience),
				card(archive, "zh-CN", ReasonJoinedAudience, "zhangsan"),
			},
		},
		{
			// The same event decided again after the reopen was stored (a
			// crash before the card, or the event delivered again): the
			// same reopen and card — recognised by its time (now) and
			// reason — not a new obligation's.
			name: "update_user back in the audience decided again",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: outOfSales(zhangsan()), After: zhangsan(),
				Obligations: []Obligation{reopen("zhangsan", archive, ReasonJoinedAudience).Obligation},
			}}),
			want: []Action{
				reopen("zhangsan", archive, ReasonJoinedAudience),
				card(archive, "zh-CN", ReasonJoinedAudience, "zhangsan"),
			},
		},
		{
			// A new member decided again after the obligation was
			// created: the same creation and card.
			name: "create_user decided again",
			ev:   userChange("create_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				After: zhangsan(), Obligations: []Obligation{create("zhangsan", archive, ReasonNewMember).Obligation},
			}}),
			want: []Action{
				create("zhangsan", archive, ReasonNewMember),
				card(archive, "zh-CN", ReasonNewMember, "zhangsan"),
			},
		},
		{
			// Created by an earlier event (another time): not this
			// one's; already owed, and already in the audience: nothing.
			name: "update_user owes from another event",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: zhangsan(),
				Obligations: []Obligation{func() Obligation {
					o := create("zhangsan", archive, ReasonJoinedAudience).Obligation
					o.CreatedAt = now.Add(-time.Second)
					return o
				}()},
			}}),
		},
		{
			// Joining with an open obligation of an older version (state
			// that missed a publication): the old one is superseded.
			name: "update_user joined with an open older version",
			ev:   userChange("update_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: outOfSales(zhangsan()), After: zhangsan(),
				Obligations: []Obligation{ob("zhangsan", "archive", 1, Pending)},
			}}),
			want: []Action{
				closeOb("zhangsan", "archive", 1, Superseded, ReasonNewVersion),
				create("zhangsan", archive, ReasonJoinedAudience),
				card(archive, "zh-CN", ReasonJoinedAudience, "zhangsan"),
			},
		},
		{
			// A new UserID, nothing else changed: only the rename.
			name: "update_user renamed",
			ev:   renamed,
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: with(zhangsan(), func(p *Person) { p.UserID = "zhang.san" }),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Pending)},
			}}),
			want: []Action{RenamePerson{From: "zhangsan", To: "zhang.san", Reason: ReasonUserRenamed}},
		},
		{
			// Renamed and moved out of sales at once: the rename comes
			// first, so the cancellation names the new UserID.
			name: "update_user renamed and left the audience",
			ev:   renamed,
			st: stateWith(map[string]PersonChange{"zhangsan": {
				Before: zhangsan(), After: outOfSales(zhangsan()),
				Obligations: []Obligation{ob("zhangsan", "archive", 2, Pending)},
			}}),
			want: []Action{
				RenamePerson{From: "zhangsan", To: "zhang.san", Reason: ReasonUserRenamed},
				closeOb("zhang.san", "archive", 2, Cancelled, ReasonLeftAudience),
			},
		},
		{
			// Deleted: every open obligation is cancelled, whichever
			// notice (even one no longer published); acknowledged and
			// superseded ones stay.
			name: "delete_user",
			ev:   userChange("delete_user", "laoliu"),
			st: stateWith(map[string]PersonChange{"laoliu": {
				Before: laoliu(),
				Obligations: []Obligation{
					ob("laoliu", "archive", 1, Acknowledged), ob("laoliu", "archive", 2, Pending),
					ob("laoliu", "handbook", 1, Overdue), ob("laoliu", "retired", 3, Pending),
					ob("laoliu", "retired", 2, Superseded),
				},
			}}),
			want: []Action{
				closeOb("laoliu", "archive", 2, Cancelled, ReasonMemberDeleted),
				closeOb("laoliu", "handbook", 1, Cancelled, ReasonMemberDeleted),
				closeOb("laoliu", "retired", 3, Cancelled, ReasonMemberDeleted),
			},
		},
		{
			// Decided again after one close was stored: that one is
			// recognised (closed so at now) and closed again, the same
			// three closes; one cancelled at another time is not.
			name: "delete_user decided again",
			ev:   userChange("delete_user", "laoliu"),
			st: stateWith(map[string]PersonChange{"laoliu": {
				Before: laoliu(),
				Obligations: []Obligation{
					closed(ob("laoliu", "archive", 2, Pending), Cancelled, ReasonMemberDeleted, now),
					ob("laoliu", "handbook", 1, Overdue), ob("laoliu", "retired", 3, Pending),
					closed(ob("laoliu", "retired", 2, Pending), Cancelled, ReasonMemberDeleted, now.Add(-time.Hour)),
				},
			}}),
			want: []Action{
				closeOb("laoliu", "archive", 2, Cancelled, ReasonMemberDeleted),
				closeOb("laoliu", "handbook", 1, Cancelled, ReasonMemberDeleted),
				closeOb("laoliu", "retired", 3, Cancelled, ReasonMemberDeleted),
			},
		},
		{
			// delete_user names the person even when the caller knew
			// nothing else of them, and even if it left After filled.
			name: "delete_user unknown before and stale after",
			ev:   userChange("delete_user", "zhangsan"),
			st: stateWith(map[string]PersonChange{
				"zhangsan": {After: zhangsan(), Obligations: []Obligation{ob("zhangsan", "archive", 2, Pending)}},
			}),
			want: []Action{closeOb("zhangsan", "archive", 2, Cancelled, ReasonMemberDeleted)},
		},
		{
			// Reconciliation found someone gone (After nil): deleted.
			name: "people changed after nil",
			ev:   PeopleChanged{Source: "reconcile"},
			st: stateWith(map[string]PersonChange{"lisi": {
				Before: lisi(), Obligations: []Obligation{ob("lisi", "handbook", 1, Pending)},
			}}),
			want: []Action{closeOb("lisi", "handbook", 1, Cancelled, ReasonMemberDeleted)},
		},
		{
			// A tag change with two joining (one card, sorted) and one
			// leaving. zhaoliu reads French: handbook has only English.
			name: "update_tag",
			ev:   tagChange,
			st: stateWith(map[string]PersonChange{
				"zhaoliu": {Before: zhaoliu(), After: withTag7(zhaoliu())},
				"lisi":    {Before: noTags(lisi()), After: lisi()},
				"wangwu": {
					Before: withTag7(wangwu()), After: wangwu(),
					Obligations: []Obligation{ob("wangwu", "handbook", 1, Pending)},
				},
			}),
			want: []Action{
				closeOb("wangwu", "handbook", 1, Cancelled, ReasonLeftAudience),
				create("lisi", handbook, ReasonJoinedAudience),
				create("zhaoliu", handbook, ReasonJoinedAudience),
				card(handbook, "en", ReasonJoinedAudience, "lisi", "zhaoliu"),
			},
		},
		{
			// The permit list grew by three: one card per language.
			// zhaoliu's French is not one of archive's: the default
			// language, Chinese. lisi acknowledged handbook already.
			name: "people changed permit list",
			ev:   PeopleChanged{Source: "permit_list"},
			st: stateWith(map[string]PersonChange{
				"lisi":    {Before: lisi(), After: permitted(lisi()), Obligations: []Obligation{ob("lisi", "handbook", 1, Acknowledged)}},
				"wangwu":  {Before: wangwu(), After: permitted(wangwu())},
				"zhaoliu": {Before: zhaoliu(), After: permitted(zhaoliu())},
			}),
			want: []Action{
				create("lisi", archive, ReasonJoinedAudience),
				create("wangwu", archive, ReasonJoinedAudience),
				create("zhaoliu", archive, ReasonJoinedAudience),
				card(archive, "en", ReasonJoinedAudience, "lisi"),
				card(archive, "zh-CN", ReasonJoinedAudience, "wangwu", "zhaoliu"),
			},
		},
		{
			// In the audience before and after, yet owing nothing (an
			// event was missed): reconciliation heals it.
			name: "people changed heals a missing obligation",
			ev:   PeopleChanged{Source: "reconcile"},
			st:   stateWith(map[string]PersonChange{"zhangsan": same(zhangsan())}),
			want: []Action{
				create("zhangsan", archive, ReasonJoinedAudience),
				card(archive, "zh-CN", ReasonJoinedAudience, "zhangsan"),
			},
		},
		{
			// Nobody concerned.
			name: "people changed nobody",
			ev:   &PeopleChanged{Source: "reconcile"},
			st:   baseState(),
		},
	}
}

func TestDecidePublished(t *testing.T) { runCases(t, publishedCases()) }

func publishedCases() []decideCase {
	archive3 := atVersion(archive, 3)
	everyone := func(obligations map[string][]Obligation) map[string]PersonChange {
		people := map[string]PersonChange{
			"zhangsan": same(zhangsan()),
			"lisi":     same(lisi()),
			"wangwu":   same(wangwu()),
			"laoliu":   same(laoliu()),
			"sunba":    same(inactive(&Person{UserID: "sunba", Departments: []int64{2}, DepartmentPath: []int64{1, 2}, Tags: []int64{7}})),
		}
		for id, obs := range obligations {
			pc := people[id]
			pc.Obligations = obs
			people[id] = pc
		}
		return people
	}
	conduct := Notice{ID: "conduct", Version: 1, Title: "Code of conduct", Audience: Audience{Everyone: true}, DueDays: 30}
	return []decideCase{
		{
			// The first publication: its audience (tag 7: lisi; by name:
			// laoliu) owes it; sunba has tag 7 but is disabled.
			name: "first version",
			ev:   NoticePublished{Notice: handbook},
			st:   stateWith(everyone(nil)),
			want: []Action{
				create("laoliu", handbook, ReasonPublished),
				create("lisi", handbook, ReasonPublished),
				card(handbook, "en", ReasonPublished, "laoliu", "lisi"),
			},
		},
		{
			// The same, published as a pointer.
			name: "first version pointer event",
			ev:   &NoticePublished{Notice: handbook},
			st:   stateWith(everyone(nil)),
			want: []Action{
				create("laoliu", handbook, ReasonPublished),
				create("lisi", handbook, ReasonPublished),
				card(handbook, "en", ReasonPublished, "laoliu", "lisi"),
			},
		},
		{
			// v3 supersedes the open v2 of zhangsan.
			name: "new version supersedes an open one",
			ev:   NoticePublished{Notice: archive3},
			st:   stateWith(map[string]PersonChange{"zhangsan": same(zhangsan(), ob("zhangsan", "archive", 2, Pending))}),
			want: []Action{
				closeOb("zhangsan", "archive", 2, Superseded, ReasonNewVersion),
				create("zhangsan", archive3, ReasonNewVersion),
				card(archive3, "zh-CN", ReasonNewVersion, "zhangsan"),
			},
		},
		{
			// Decided again after the old one was superseded and the new
			// one created: the same three actions (before the fix: the
			// card only, another decision).
			name: "new version decided again",
			ev:   NoticePublished{Notice: archive3},
			st: stateWith(map[string]PersonChange{"zhangsan": same(zhangsan(),
				closed(ob("zhangsan", "archive", 2, Pending), Superseded, ReasonNewVersion, now),
				create("zhangsan", archive3, ReasonNewVersion).Obligation)}),
			want: []Action{
				closeOb("zhangsan", "archive", 2, Superseded, ReasonNewVersion),
				create("zhangsan", archive3, ReasonNewVersion),
				card(archive3, "zh-CN", ReasonNewVersion, "zhangsan"),
			},
		},
		{
			// Overdue v1 and pending v2 (a missed publication): both
			// superseded.
			name: "new version supersedes every open older one",
			ev:   NoticePublished{Notice: archive3},
			st: stateWith(map[string]PersonChange{"zhangsan": same(zhangsan(),
				ob("zhangsan", "archive", 1, Overdue), ob("zhangsan", "archive", 2, Pending))}),
			want: []Action{
				closeOb("zhangsan", "archive", 1, Superseded, ReasonNewVersion),
				closeOb("zhangsan", "archive", 2, Superseded, ReasonNewVersion),
				create("zhangsan", archive3, ReasonNewVersion),
				card(archive3, "zh-CN", ReasonNewVersion, "zhangsan"),
			},
		},
		{
			// laoliu acknowledged v2: that stays; v3 is owed anew.
			name: "new version leaves an acknowledged one",
			ev:   NoticePublished{Notice: archive3},
			st:   stateWith(map[string]PersonChange{"laoliu": same(laoliu(), ob("laoliu", "archive", 2, Acknowledged))}),
			want: []Action{
				create("laoliu", archive3, ReasonNewVersion),
				card(archive3, "zh-CN", ReasonNewVersion, "laoliu"),
			},
		},
		{
			// The audience changed with the version (now also the permit
			// list, which lisi is in): new to her, so "published".
			name: "new version to someone new to the notice",
			ev:   NoticePublished{Notice: archive3},
			st:   stateWith(map[string]PersonChange{"lisi": same(permitted(lisi()))}),
			want: []Action{
				create("lisi", archive3, ReasonPublished),
				card(archive3, "en", ReasonPublished, "lisi"),
			},
		},
		{
			// Out of the new version's audience with an open old one:
			// cancelled, not superseded.
			name: "new version out of the audience",
			ev:   NoticePublished{Notice: archive3},
			st:   stateWith(map[string]PersonChange{"wangwu": same(wangwu(), ob("wangwu", "archive", 2, Pending))}),
			want: []Action{closeOb("wangwu", "archive", 2, Cancelled, ReasonLeftAudience)},
		},
		{
			// Everyone at once: closes, then creations, then one card
			// per (language, reason), recipients sorted.
			name: "new version everyone",
			ev:   NoticePublished{Notice: archive3},
			st: stateWith(everyone(map[string][]Obligation{
				"zhangsan": {ob("zhangsan", "archive", 2, Pending)},
				"laoliu":   {ob("laoliu", "archive", 2, Acknowledged), ob("laoliu", "handbook", 1, Pending)},
				"wangwu":   {ob("wangwu", "archive", 2, Pending)},
				"sunba":    {ob("sunba", "archive", 2, Overdue)},
				"lisi":     {ob("lisi", "archive", 1, Acknowledged)},
			})),
			want: []Action{
				closeOb("sunba", "archive", 2, Cancelled, ReasonLeftAudience),
				closeOb("wangwu", "archive", 2, Cancelled, ReasonLeftAudience),
				closeOb("zhangsan", "archive", 2, Superseded, ReasonNewVersion),
				create("laoliu", archive3, ReasonNewVersion),
				create("zhangsan", archive3, ReasonNewVersion),
				card(archive3, "zh-CN", ReasonNewVersion, "laoliu", "zhangsan"),
			},
		},
		{
			// A restart publishes the same version again: who acknowledged
			// it gets nothing; who owes it gets no new obligation.
			name: "same version again",
			ev:   NoticePublished{Notice: archive},
			st: stateWith(map[string]PersonChange{
				"zhangsan": same(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
				"laoliu":   same(laoliu(), ob("laoliu", "archive", 1, Acknowledged), ob("laoliu", "archive", 2, Acknowledged)),
			}),
			// The publish ran before (a restart, or a crash mid-way): no
			// new obligations, but whoever still owes it is sent the card
			// again, in case the crash came before it went out; notify
			// sends one card per version.
			want: []Action{card(archive, "zh-CN", ReasonPublished, "zhangsan")},
		},
		{
			// In the audience with the current version cancelled (they
			// left and came back while events were missed): reopened.
			name: "same version again reopens a cancelled one",
			ev:   NoticePublished{Notice: archive},
			st:   stateWith(map[string]PersonChange{"zhangsan": same(zhangsan(), ob("zhangsan", "archive", 2, Cancelled))}),
			want: []Action{
				reopen("zhangsan", archive, ReasonJoinedAudience),
				card(archive, "zh-CN", ReasonJoinedAudience, "zhangsan"),
			},
		},
		{
			// A notice with no languages configured: each card in the
			// person's own language (or the default).
			name: "notice without languages",
			ev:   NoticePublished{Notice: conduct},
			st:   stateWith(map[string]PersonChange{"zhangsan": same(zhangsan()), "lisi": same(lisi())}),
			want: []Action{
				create("lisi", conduct, ReasonPublished),
				create("zhangsan", conduct, ReasonPublished),
				card(conduct, "en", ReasonPublished, "lisi"),
				card(conduct, "zh-CN", ReasonPublished, "zhangsan"),
			},
		},
		{
			// A notice without an ID is no notice.
			name: "notice without id",
			ev:   NoticePublished{Notice: Notice{Version: 1, Audience: Audience{Everyone: true}}},
			st:   stateWith(map[string]PersonChange{"zhangsan": same(zhangsan())}),
		},
	}
}

// cardClick is a click on key by user.
func cardClick(user, key string) *wecom.TemplateCardEvent {
	return &wecom.TemplateCardEvent{
		Header:   wecom.Header{ToUserName: "ww1", FromUserName: user, CreateTime: evTime.Unix(), MsgType: "event", Event: "template_card_event", AgentID: "1000002"},
		EventKey: key, TaskID: "task-1", CardType: "button_interaction", ResponseCode: "rc-1",
	}
}

// clickState is a state for a click by someone with obligations.
func clickState(p *Person, obligations ...Obligation) State {
	st := stateWith(map[string]PersonChange{p.UserID: same(p, obligations...)})
	st.ContentHash = "sha256:c0ffee"
	return st
}

// cardAck is the Acknowledge of a click on archive v2 by user.
func cardAck(user string) Acknowledge {
	return Acknowledge{
		Attestation: Attestation{
			UserID: user, NoticeID: "archive", Version: 2, ContentHash: "sha256:c0ffee",
			Channel: ChannelCard, CreateTime: evTime.Unix(), ReceivedAt: receivedAt,
			TaskID: "task-1", DedupKey: "dedup-1",
		},
		Reason: ReasonCardClicked,
	}
}

func updateCard(user, text string, reason Reason) UpdateCard {
	return UpdateCard{UserID: user, ResponseCode: "rc-1", Notice: archive, Text: text, Reason: reason}
}

func TestDecideClick(t *testing.T) { runCases(t, clickCases()) }

func clickCases() []decideCase {
	key := archive.ButtonKey() // ack:archive:v2
	inUTC := clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending))
	inUTC.Settings.Location = time.UTC
	noDedup := clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending))
	noDedup.DedupKey = ""
	menu := cardClick("zhangsan", key)
	menu.Event = "template_card_menu_event"
	ackedNoTime := ob("zhangsan", "archive", 2, Acknowledged)
	ackedNoTime.AcknowledgedAt = time.Time{}
	return []decideCase{
		{
			// The click acknowledges: the attestation with the evidence,
			// and the card greyed out with the time in Beijing.
			name: "open",
			ev:   cardClick("zhangsan", key),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
			want: []Action{cardAck("zhangsan"), updateCard("zhangsan", "已确认 2026-11-23 10:15", ReasonCardClicked)},
		},
		{
			// Overdue is still open.
			name: "overdue",
			ev:   cardClick("zhangsan", key),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Overdue)),
			want: []Action{cardAck("zhangsan"), updateCard("zhangsan", "已确认 2026-11-23 10:15", ReasonCardClicked)},
		},
		{
			// In English for an English reader.
			name: "open english",
			ev:   cardClick("lisi", key),
			st:   clickState(permitted(lisi()), ob("lisi", "archive", 2, Pending)),
			want: []Action{cardAck("lisi"), updateCard("lisi", "Acknowledged 2026-11-23 10:15", ReasonCardClicked)},
		},
		{
			// The company's zone is a setting.
			name: "open location utc",
			ev:   cardClick("zhangsan", key),
			st:   inUTC,
			want: []Action{cardAck("zhangsan"), updateCard("zhangsan", "已确认 2026-11-23 02:15", ReasonCardClicked)},
		},
		{
			// A caller without a dedup key: the event's own.
			name: "open without the caller's dedup key",
			ev:   cardClick("zhangsan", key),
			st:   noDedup,
			want: []Action{
				func() Acknowledge {
					a := cardAck("zhangsan")
					a.Attestation.DedupKey = cardClick("zhangsan", key).DedupKey()
					return a
				}(),
				updateCard("zhangsan", "已确认 2026-11-23 10:15", ReasonCardClicked),
			},
		},
		{
			// This very click acknowledged in an earlier run (its
			// attestation has the click's dedup key): decided again, the
			// same attestation and the same card text, not "already
			// acknowledged" (the same update, but another decision to
			// audit).
			name: "decided again after acknowledging",
			ev:   cardClick("zhangsan", key),
			st: func() State {
				acked := ob("zhangsan", "archive", 2, Acknowledged)
				acked.AcknowledgedAt, acked.ClosedAt = receivedAt, receivedAt
				st := clickState(zhangsan(), acked)
				pc := st.People["zhangsan"]
				pc.Attestations = []Attestation{cardAck("zhangsan").Attestation}
				st.People["zhangsan"] = pc
				return st
			}(),
			want: []Action{cardAck("zhangsan"), updateCard("zhangsan", "已确认 2026-11-23 10:15", ReasonCardClicked)},
		},
		{
			// A second click: no second attestation; the card says when
			// the first one was (2026-10-21 01:00 UTC).
			name: "double click",
			ev:   cardClick("zhangsan", key),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Acknowledged)),
			want: []Action{updateCard("zhangsan", "已确认 2026-10-21 09:00", ReasonAlreadyAcked)},
		},
		{
			// Acknowledged with no time recorded: no time shown.
			name: "double click without a time",
			ev:   cardClick("zhangsan", key),
			st:   clickState(zhangsan(), ackedNoTime),
			want: []Action{updateCard("zhangsan", "已确认", ReasonAlreadyAcked)},
		},
		{
			// A click on v1's card after v2 superseded it: no
			// attestation, the card says a newer version exists.
			name: "stale superseded",
			ev:   cardClick("zhangsan", "ack:archive:v1"),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 1, Superseded), ob("zhangsan", "archive", 2, Pending)),
			want: []Action{updateCard("zhangsan", "已有新版本", ReasonStaleVersion)},
		},
		{
			// v1 still open (v2's publication not processed yet): older
			// than the current version, so stale all the same.
			name: "stale open older version",
			ev:   cardClick("lisi", "ack:archive:v1"),
			st:   clickState(lisi(), ob("lisi", "archive", 1, Pending)),
			want: []Action{updateCard("lisi", "A newer version exists", ReasonStaleVersion)},
		},
		{
			// v1 acknowledged long ago, its card clicked again: it says
			// when (true of that card), not "stale".
			name: "old card acknowledged",
			ev:   cardClick("zhangsan", "ack:archive:v1"),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 1, Acknowledged), ob("zhangsan", "archive", 2, Pending)),
			want: []Action{updateCard("zhangsan", "已确认 2026-10-21 09:00", ReasonAlreadyAcked)},
		},
		{
			// Cancelled (they left the audience): they owe nothing.
			name: "cancelled",
			ev:   cardClick("zhangsan", key),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Cancelled)),
		},
		{
			// No obligation for that version.
			name: "no obligation",
			ev:   cardClick("zhangsan", key),
			st:   clickState(zhangsan(), ob("zhangsan", "handbook", 1, Pending)),
		},
		{
			// Not someone the caller knows.
			name: "unknown member",
			ev:   cardClick("nobody", key),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
		},
		{
			// A well-formed key of a notice that is not published.
			name: "unknown notice",
			ev:   cardClick("zhangsan", "ack:payroll:v1"),
			st:   clickState(zhangsan(), ob("zhangsan", "payroll", 1, Pending)),
		},
		{
			// Some other button.
			name: "unknown key",
			ev:   cardClick("zhangsan", "archive:v2"),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
		},
		{
			// A version that is no number.
			name: "unparsable version",
			ev:   cardClick("zhangsan", "ack:archive:v2x"),
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
		},
		{
			// The card's top-right menu is not its button.
			name: "template_card_menu_event",
			ev:   menu,
			st:   clickState(zhangsan(), ob("zhangsan", "archive", 2, Pending)),
		},
	}
}

// reply is a text message from user.
func reply(user, content string) *wecom.TextMessage {
	return &wecom.TextMessage{
		Header: wecom.Header{ToUserName: "ww1", FromUserName: user, CreateTime: evTime.Unix(), MsgType: "text", AgentID: "1000002"},
		MsgID:  "7000000000000000001", Content: content,
	}
}

// replyState is a state for a reply from p; its dedup key is the
// message's.
func replyState(p *Person, obligations ...Obligation) State {
	st := stateWith(map[string]PersonChange{p.UserID: same(p, obligations...)})
	st.DedupKey = "msg:7000000000000000001"
	return st
}

// replyAck is what a reply word acknowledging notice id version v makes.
func replyAck(user, id string, v int, title, lang string) []Action {
	return []Action{
		Acknowledge{
			Attestation: Attestation{
				UserID: user, NoticeID: id, Version: v, Channel: ChannelReply,
				CreateTime: evTime.Unix(), ReceivedAt: receivedAt, DedupKey: "msg:7000000000000000001",
			},
			Reason: ReasonReplyAck,
		},
		SendText{
			Key: "reply:msg:7000000000000000001", Template: "ack_confirm", Lang: lang,
			Data:    map[string]any{"Title": title, "Version": v, "At": "2026-11-23 10:15"},
			UserIDs: []string{user}, Reason: ReasonReplyAck,
		},
	}
}

// withCards is st with the member's cards as sent.
func withCards(st State, cards map[string]SentCard) State {
	st.Cards = cards
	return st
}

// replyAckCard is replyAck with the card the member was shown: the
// attestation carries its content hash, and card (when not nil) greys out
// its button.
func replyAckCard(user, id string, v int, title, lang, hash string, card *UpdateCard) []Action {
	acts := replyAck(user, id, v, title, lang)
	ack := acts[0].(Acknowledge)
	ack.Attestation.ContentHash = hash
	if card == nil {
		return []Action{ack, acts[1]}
	}
	return []Action{ack, *card, acts[1]}
}

// repliedBefore is the state of a reply that acknowledged p's archive v2
// in an earlier run.
func repliedBefore(p *Person) State {
	acked := ob(p.UserID, "archive", 2, Acknowledged)
	acked.AcknowledgedAt, acked.ClosedAt, acked.ClosedReason = receivedAt, receivedAt, ReasonReplyAck
	st := replyState(p, ob(p.UserID, "archive", 1, Acknowledged), acked)
	pc := st.People[p.UserID]
	pc.Attestations = []Attestation{replyAck(p.UserID, "archive", 2, "", "")[0].(Acknowledge).Attestation}
	st.People[p.UserID] = pc
	return st
}

// noDue is o without a due date.
func noDue(o Obligation) Obligation { o.DueAt = time.Time{}; return o }

func TestDecideReply(t *testing.T) { runCases(t, replyCases()) }

func replyCases() []decideCase {
	one := func(p *Person) State {
		return replyState(p, ob(p.UserID, "archive", 1, Acknowledged), ob(p.UserID, "archive", 2, Pending))
	}
	noWords := one(zhangsan())
	noWords.Settings.AckWords = nil
	sent := map[string]SentCard{"archive:v2": {ContentHash: "sha256:c0ffee", ResponseCode: "rc-send"},
		"archive:v1": {ContentHash: "sha256:01d", ResponseCode: "rc-old"}}
	greyed := &UpdateCard{UserID: "zhangsan", ResponseCode: "rc-send", Notice: archive, Text: "已确认 2026-11-23 10:15", Reason: ReasonReplyAck}
	return []decideCase{
		{
			// The card of the open obligation was sent: the reply
			// acknowledges with the content hash of what the member was
			// shown, and greys out that card's button as a click would.
			name: "one open, its card sent",
			ev:   reply("zhangsan", "确认"),
			st:   withCards(one(zhangsan()), sent),
			want: replyAckCard("zhangsan", "archive", 2, "会话存档告知", "zh-CN", "sha256:c0ffee", greyed),
		},
		{
			// The card in English for an English reader.
			name: "one open, its card sent in english",
			ev:   reply("lisi", "ack"),
			st:   withCards(replyState(permitted(lisi()), ob("lisi", "archive", 2, Pending)), sent),
			want: replyAckCard("lisi", "archive", 2, "会话存档告知", "en", "sha256:c0ffee",
				&UpdateCard{UserID: "lisi", ResponseCode: "rc-send", Notice: archive, Text: "Acknowledged 2026-11-23 10:15", Reason: ReasonReplyAck}),
		},
		{
			// A send that gave no response code: the hash, no update.
			name: "one open, its card sent without a response code",
			ev:   reply("zhangsan", "确认"),
			st:   withCards(one(zhangsan()), map[string]SentCard{"archive:v2": {ContentHash: "sha256:c0ffee"}}),
			want: replyAckCard("zhangsan", "archive", 2, "会话存档告知", "zh-CN", "sha256:c0ffee", nil),
		},
		{
			// Decided again: the attestation as recorded then, the same
			// card update (notify drops the second under the same key).
			name: "decided again with its card",
			ev:   reply("zhangsan", "确认"),
			st: func() State {
				st := withCards(repliedBefore(zhangsan()), sent)
				st.People["zhangsan"].Attestations[0].ContentHash = "sha256:c0ffee"
				return st
			}(),
			want: replyAckCard("zhangsan", "archive", 2, "会话存档告知", "zh-CN", "sha256:c0ffee", greyed),
		},
		{
			// One open obligation: the reply acknowledges it.
			name: "one open",
			ev:   reply("zhangsan", "确认"),
			st:   one(zhangsan()),
			want: replyAck("zhangsan", "archive", 2, "会话存档告知", "zh-CN"),
		},
		{
			// Case and spaces do not matter.
			name: "ack word with spaces and case",
			ev:   reply("lisi", " Ack "),
			st:   replyState(lisi(), ob("lisi", "handbook", 1, Overdue)),
			want: replyAck("lisi", "handbook", 1, "Employee handbook", "en"),
		},
		{
			// Nor does a full stop, full-width or not.
			name: "ack word with a full-width full stop",
			ev:   reply("zhangsan", "ACK。"),
			st:   one(zhangsan()),
			want: replyAck("zhangsan", "archive", 2, "会话存档告知", "zh-CN"),
		},
		{
			// Nor full-width spaces and exclamation marks.
			name: "ack word with full-width space and punctuation",
			ev:   reply("zhangsan", "\u3000确认！\n"),
			st:   one(zhangsan()),
			want: replyAck("zhangsan", "archive", 2, "会话存档告知", "zh-CN"),
		},
		{
			// The open obligation of a notice no longer published: its
			// ID stands for its title.
			name: "one open of an unpublished notice",
			ev:   reply("zhangsan", "确认"),
			st:   replyState(zhangsan(), ob("zhangsan", "retired", 4, Pending)),
			want: replyAck("zhangsan", "retired", 4, "retired", "zh-CN"),
		},
		{
			// Two open: which one is meant is unclear; list them, the
			// soonest due first, none due last.
			name: "two open",
			ev:   reply("laoliu", "确认"),
			st: replyState(laoliu(), noDue(ob("laoliu", "handbook", 1, Pending)),
				ob("laoliu", "archive", 2, Overdue), ob("laoliu", "archive", 1, Acknowledged)),
			want: []Action{SendText{
				Key: "reply:msg:7000000000000000001", Template: "ack_choose", Lang: "zh-CN",
				Data: map[string]any{"Items": []map[string]any{
					{"Title": "会话存档告知", "Version": 2, "Due": "2026-10-27"},
					{"Title": "Employee handbook", "Version": 1, "Due": ""},
				}},
				UserIDs: []string{"laoliu"}, Reason: ReasonAmbiguousReply,
			}},
		},
		{
			// This very reply acknowledged archive v2 in an earlier run
			// (its attestation has the reply's dedup key): decided again,
			// the same acknowledgement and the same text — not "nothing
			// open" under the same key.
			name: "decided again after acknowledging",
			ev:   reply("zhangsan", "确认"),
			st:   repliedBefore(zhangsan()),
			want: replyAck("zhangsan", "archive", 2, "会话存档告知", "zh-CN"),
		},
		{
			// … even when another obligation is open by now: this reply
			// acknowledged archive v2, not that one.
			name: "decided again with another open since",
			ev:   reply("zhangsan", "确认"),
			st: func() State {
				st := repliedBefore(zhangsan())
				pc := st.People["zhangsan"]
				pc.Obligations = append(pc.Obligations, ob("zhangsan", "handbook", 1, Pending))
				st.People["zhangsan"] = pc
				return st
			}(),
			want: replyAck("zhangsan", "archive", 2, "会话存档告知", "zh-CN"),
		},
		{
			// Acknowledged by another reply: this one finds nothing open.
			name: "acknowledged by another reply",
			ev:   reply("zhangsan", "确认"),
			st: func() State {
				st := repliedBefore(zhangsan())
				st.People["zhangsan"].Attestations[0].DedupKey = "msg:7000000000000000000"
				return st
			}(),
			want: []Action{SendText{
				Key: "reply:msg:7000000000000000001", Template: "nothing_open", Lang: "zh-CN",
				UserIDs: []string{"zhangsan"}, Reason: ReasonNothingOpen,
			}},
		},
		{
			// Nothing open: say so.
			name: "none open",
			ev:   reply("zhangsan", "确认"),
			st:   replyState(zhangsan(), ob("zhangsan", "archive", 2, Acknowledged)),
			want: []Action{SendText{
				Key: "reply:msg:7000000000000000001", Template: "nothing_open", Lang: "zh-CN",
				UserIDs: []string{"zhangsan"}, Reason: ReasonNothingOpen,
			}},
		},
		{
			// A member the caller knows nothing of owes nothing.
			name: "unknown member",
			ev:   reply("nobody", "ack"),
			st:   one(zhangsan()),
			want: []Action{SendText{
				Key: "reply:msg:7000000000000000001", Template: "nothing_open", Lang: "zh-CN",
				UserIDs: []string{"nobody"}, Reason: ReasonNothingOpen,
			}},
		},
		{
			// Any other text is not for us.
			name: "other text",
			ev:   reply("zhangsan", "hello"),
			st:   one(zhangsan()),
		},
		{
			// The word must be the whole message.
			name: "ack word inside a sentence",
			ev:   reply("zhangsan", "确认一下"),
			st:   one(zhangsan()),
		},
		{
			// An empty message (or only punctuation) is no word.
			name: "only punctuation",
			ev:   reply("zhangsan", " 。"),
			st:   one(zhangsan()),
		},
		{
			// No words configured: replies never acknowledge.
			name: "no ack words",
			ev:   reply("zhangsan", "确认"),
			st:   noWords,
		},
	}
}

func TestDecideEnter(t *testing.T) { runCases(t, enterCases()) }

func enterCases() []decideCase {
	enter := func(user string) *wecom.EnterAgent {
		return &wecom.EnterAgent{Header: wecom.Header{ToUserName: "ww1", FromUserName: user, CreateTime: evTime.Unix(), MsgType: "event", Event: "enter_agent", AgentID: "1000002"}}
	}
	// Due at 2026-10-26 18:00 UTC: the 27th in Beijing, the 26th in UTC.
	lateDue := ob("zhangsan", "archive", 2, Pending)
	lateDue.DueAt = time.Date(2026, time.October, 26, 18, 0, 0, 0, time.UTC)
	open := func(p *Person) State {
		return stateWith(map[string]PersonChange{p.UserID: same(p, lateDue, ob(p.UserID, "handbook", 1, Acknowledged))})
	}
	inUTC := open(zhangsan())
	inUTC.Settings.Location = time.UTC
	list := func(key, lang string) []Action {
		return []Action{SendText{
			Key: key, Template: "open_list", Lang: lang,
			Data:    map[string]any{"Items": []map[string]any{{"Title": "会话存档告知", "Version": 2, "Due": "2026-10-27"}}},
			UserIDs: []string{"zhangsan"}, Reason: ReasonOpenReminder,
		}}
	}
	lateEvening := time.Date(2026, time.November, 23, 16, 30, 0, 0, time.UTC) // 00:30 on the 24th in Beijing
	return []decideCase{
		{
			// Open obligations: listed, once a day (the key names the
			// day).
			name: "open",
			ev:   enter("zhangsan"),
			st:   open(zhangsan()),
			want: list("open-list:zhangsan:2026-11-23", "zh-CN"),
		},
		{
			// The day is Beijing's: after its midnight, a new key.
			name: "open after midnight in beijing",
			ev:   enter("zhangsan"),
			st:   open(zhangsan()),
			now:  lateEvening,
			want: list("open-list:zhangsan:2026-11-24", "zh-CN"),
		},
		{
			// Or the configured zone's.
			name: "open after midnight location utc",
			ev:   enter("zhangsan"),
			st:   inUTC,
			now:  lateEvening,
			want: []Action{SendText{
				Key: "open-list:zhangsan:2026-11-23", Template: "open_list", Lang: "zh-CN",
				Data:    map[string]any{"Items": []map[string]any{{"Title": "会话存档告知", "Version": 2, "Due": "2026-10-26"}}},
				UserIDs: []string{"zhangsan"}, Reason: ReasonOpenReminder,
			}},
		},
		{
			// Nothing open: nothing to say.
			name: "none open",
			ev:   enter("zhangsan"),
			st:   stateWith(map[string]PersonChange{"zhangsan": same(zhangsan(), ob("zhangsan", "archive", 2, Acknowledged))}),
		},
		{
			// Unknown to the caller.
			name: "unknown member",
			ev:   enter("nobody"),
			st:   open(zhangsan()),
		},
	}
}

// TestParseButtonKey: the keys a click may carry, and ButtonKey's round
// trip.
func TestParseButtonKey(t *testing.T) {
	for _, tc := range []struct {
		key     string
		id      string
		version int
		ok      bool
	}{
		{key: "ack:archive:v2", id: "archive", version: 2, ok: true},
		{key: "ack:archive:v12", id: "archive", version: 12, ok: true},
		// An ID with colons: the version is the last part.
		{key: "ack:hr:leave:v1", id: "hr:leave", version: 1, ok: true},
		{key: "ack:a:v1:v3", id: "a:v1", version: 3, ok: true},
		{key: ""},
		{key: "ack:"},
		{key: "archive:v2"},                          // no prefix
		{key: "ACK:archive:v2"},                      // the prefix is exact
		{key: "ack:archive"},                         // no version
		{key: "ack::v2"},                             // no ID
		{key: "ack:archive:v"},                       // empty version
		{key: "ack:archive:v0"},                      // versions start at 1
		{key: "ack:archive:v-1"},                     // negative
		{key: "ack:archive:v+1"},                     // not canonical
		{key: "ack:archive:v02"},                     // not canonical
		{key: "ack:archive:v2 "},                     // trailing space
		{key: "ack:archive:2"},                       // no v
		{key: "ack:archive:v9999999999999999999999"}, // overflows
	} {
		id, v, ok := parseButtonKey(tc.key)
		if id != tc.id || v != tc.version || ok != tc.ok {
			t.Errorf("parseButtonKey(%q) = %q, %d, %v; want %q, %d, %v", tc.key, id, v, ok, tc.id, tc.version, tc.ok)
		}
	}
	for _, n := range []Notice{archive, handbook, {ID: "hr:leave", Version: 7}} {
		id, v, ok := parseButtonKey(n.ButtonKey())
		if !ok || id != n.ID || v != n.Version {
			t.Errorf("parseButtonKey(%q) = %q, %d, %v; want %q, %d, true", n.ButtonKey(), id, v, ok, n.ID, n.Version)
		}
	}
}
