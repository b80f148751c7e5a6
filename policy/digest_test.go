package policy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/templates"
)

// The digest's fixtures: the run of Tuesday 24 November 2026 at 09:00 in
// Beijing, looking back to Monday 09:00; remindNotice (owners owner1,
// Chinese, and owner2, English) and settings (officers officer1 and
// officer2, Chinese by default).

var digestNow = beijing("2026-11-24", 9, 0, 0)

func digestInput() DigestInput {
	return DigestInput{
		Since:    digestNow.Add(-DigestWindow),
		Notices:  []Notice{remindNotice},
		Coverage: map[string]DigestCoverage{remindNotice.Key(): {Acknowledged: 3}},
		People:   remindPeople(),
	}
}

// digestSections returns a SendText's sections by kind.
func digestSections(t *testing.T, a Action) map[string]map[string]any {
	t.Helper()
	st, ok := a.(SendText)
	if !ok {
		t.Fatalf("%T, want SendText", a)
	}
	out := map[string]map[string]any{}
	for _, s := range st.Data["Sections"].([]map[string]any) {
		out[s["Kind"].(string)] = s
	}
	return out
}

// merged returns the sections of every part in lang, each kind's items
// in order, with the More of its last part.
func merged(t *testing.T, acts []Action, lang string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, a := range acts {
		if a.(SendText).Lang != lang {
			continue
		}
		for k, s := range digestSections(t, a) {
			m := out[k]
			if m == nil {
				m = map[string]any{"Items": []map[string]any{}}
				out[k] = m
			}
			m["Items"] = append(m["Items"].([]map[string]any), s["Items"].([]map[string]any)...)
			m["More"], m["MoreCount"], m["Total"] = s["More"], s["MoreCount"], s["Total"]
		}
	}
	return out
}

// items lists a field of a section's items.
func items(sec map[string]any, field string) []string {
	var out []string
	for _, it := range sec["Items"].([]map[string]any) {
		out = append(out, fmt.Sprint(it[field]))
	}
	return out
}

func TestDigestCoverageAdd(t *testing.T) {
	now := day(10, 9, 0) // after remindNotice's due date (day 7)
	tests := []struct {
		name          string
		o             Obligation
		want          DigestCoverage
		wantOverdue   bool
		dueNotReached bool
	}{
		{"acknowledged before now", pending("a", acked(day(1, 10, 0), 0)), DigestCoverage{Acknowledged: 1, Created: 1}, false, false},
		// A run made again later for the same now counts as the first did.
		{"acknowledged after now is open then", pending("a", acked(day(10, 9, 30), 0)), DigestCoverage{Open: 1, Overdue: 1, Created: 1}, true, false},
		{"pending past its due date is overdue", pending("a"), DigestCoverage{Open: 1, Overdue: 1, Created: 1}, true, false},
		{"marked overdue", pending("a", status(Overdue), noDueDate), DigestCoverage{Open: 1, Overdue: 1, Created: 1}, true, false},
		{"pending before its due date", pending("a"), DigestCoverage{Open: 1, Created: 1}, false, true},
		{"no due date", pending("a", noDueDate), DigestCoverage{Open: 1, Created: 1}, false, false},
		{"created after now", pending("a", func(o *Obligation) { o.CreatedAt = day(10, 9, 1) }), DigestCoverage{}, false, false},
		// Not counted, but the version was published.
		{"superseded", pending("a", status(Superseded)), DigestCoverage{Created: 1}, false, false},
		{"cancelled", pending("a", status(Cancelled)), DigestCoverage{Created: 1}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if tt.dueNotReached {
				at = day(2, 9, 0)
			}
			var c DigestCoverage
			if got := c.Add(tt.o, at); got != tt.wantOverdue || c != tt.want {
				t.Errorf("got %+v overdue %v, want %+v overdue %v", c, got, tt.want, tt.wantOverdue)
			}
			if c.Published() != (tt.want.Created > 0) {
				t.Errorf("Published() = %v with %+v", c.Published(), c)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	since := digestNow.Add(-DigestWindow)
	refusal := func(user, ext string, notified, changed time.Time) Consent {
		return Consent{UserID: user, ExternalUserID: ext, Status: ConsentDisagreed, NotifiedAt: notified, ChangedAt: changed}
	}
	failure := func(user, status string, at time.Time) FailedDelivery {
		return FailedDelivery{NoticeID: "archive", Version: 3, UserID: user, Status: status, At: at}
	}
	tests := []struct {
		name  string
		edit  func(*DigestInput)
		check func(t *testing.T, acts []Action)
	}{
		{
			// Nothing to act on: the heartbeat, to every officer and
			// owner once, in their language.
			name: "all clear",
			check: func(t *testing.T, acts []Action) {
				if len(acts) != 2 {
					t.Fatalf("%d actions, want 2 (en, zh-CN)", len(acts))
				}
				en, zh := acts[0].(SendText), acts[1].(SendText)
				if en.Key != "digest:2026-11-24:en:1" || zh.Key != "digest:2026-11-24:zh-CN:1" {
					t.Errorf("keys %s, %s", en.Key, zh.Key)
				}
				if !slices.Equal(en.UserIDs, []string{"owner2"}) || !slices.Equal(zh.UserIDs, []string{"officer1", "officer2", "owner1"}) {
					t.Errorf("recipients en %v, zh-CN %v", en.UserIDs, zh.UserIDs)
				}
				if en.Data["AllClear"] != true || en.Template != DigestTemplate || en.Reason != ReasonDigest {
					t.Errorf("got %+v", en)
				}
				if en.Data["Since"] != "2026-11-23 09:00" || en.Data["Until"] != "2026-11-24 09:00" || en.Data["Day"] != "2026-11-24" {
					t.Errorf("window %v – %v, day %v", en.Data["Since"], en.Data["Until"], en.Data["Day"])
				}
				cov := digestSections(t, zh)["coverage"]["Items"].([]map[string]any)[0]
				if cov["Acknowledged"] != 3 || cov["Total"] != 3 || cov["Percent"] != 100 {
					t.Errorf("coverage %v", cov)
				}
				if sec, ok := digestSections(t, zh)["dead_letters"]; ok {
					t.Errorf("a dead letters section without dead letters: %v", sec)
				}
				if sec, ok := digestSections(t, zh)["alerts"]; ok {
					t.Errorf("an alerts section without alerts: %v", sec)
				}
			},
		},
		{
			// Supervision alerts waiting for review are counted by
			// severity and age, and are not all clear.
			name: "alerts to review",
			edit: func(in *DigestInput) {
				in.Alerts = DigestAlerts{Open: 3, Escalated: 1, BySeverity: map[string]int{"high": 3, "critical": 1}, Ages: [4]int{1, 2, 0, 1}}
			},
			check: func(t *testing.T, acts []Action) {
				st := acts[0].(SendText)
				if st.Data["AllClear"] != false {
					t.Error("all clear with alerts to review")
				}
				sec := digestSections(t, st)["alerts"]
				item := sec["Items"].([]map[string]any)[0]
				if sec["Total"] != 4 || item["Open"] != 3 || item["Escalated"] != 1 || item["High"] != 3 || item["Critical"] != 1 ||
					item["Low"] != 0 || item["Day"] != 1 || item["ThreeDays"] != 2 || item["Older"] != 1 {
					t.Errorf("alerts section %v", sec)
				}
			},
		},
		{
			name: "overdue is not all clear",
			edit: func(in *DigestInput) {
				in.Coverage[remindNotice.Key()] = DigestCoverage{Acknowledged: 1, Open: 2, Overdue: 1}
				in.OverdueByDepartment = map[int64]int{2: 1}
			},
			check: func(t *testing.T, acts []Action) {
				st := acts[0].(SendText)
				if st.Data["AllClear"] != false {
					t.Error("all clear with one overdue")
				}
				cov := digestSections(t, st)["coverage"]["Items"].([]map[string]any)[0]
				if cov["Total"] != 3 || cov["Percent"] != 33 || cov["Open"] != 2 || cov["Overdue"] != 1 {
					t.Errorf("coverage %v", cov)
				}
			},
		},
		{
			// Nobody owed the notice at now (published after it, or its
			// publish job not run yet): said so, and not all clear.
			name: "a notice not yet published",
			edit: func(in *DigestInput) { in.Coverage[remindNotice.Key()] = DigestCoverage{} },
			check: func(t *testing.T, acts []Action) {
				st := acts[0].(SendText)
				if st.Data["AllClear"] != false {
					t.Error("all clear with a notice nobody owes yet")
				}
				cov := digestSections(t, st)["coverage"]["Items"].([]map[string]any)[0]
				if cov["Published"] != false || cov["Total"] != 0 {
					t.Errorf("coverage %v", cov)
				}
			},
		},
		{
			// Published, everyone's obligation since superseded or
			// cancelled: 0/0, all clear.
			name: "a published notice nobody owes any more",
			edit: func(in *DigestInput) { in.Coverage[remindNotice.Key()] = DigestCoverage{Created: 2} },
			check: func(t *testing.T, acts []Action) {
				st := acts[0].(SendText)
				cov := digestSections(t, st)["coverage"]["Items"].([]map[string]any)[0]
				if st.Data["AllClear"] != true || cov["Published"] != true || cov["Total"] != 0 {
					t.Errorf("all clear %v, coverage %v", st.Data["AllClear"], cov)
				}
			},
		},
		{
			// Largest first, names where known, ids otherwise, 0 the
			// unknown department; past 30 the rest is counted.
			name: "departments",
			edit: func(in *DigestInput) {
				in.OverdueByDepartment = map[int64]int{2: 5, 3: 9, 0: 2, 7: 5, 8: 0}
				in.DepartmentNames = map[int64]string{2: "销售部", 3: "研发部"}
				for i := range 40 {
					in.OverdueByDepartment[int64(100+i)] = 1
				}
			},
			check: func(t *testing.T, acts []Action) {
				if len(acts) < 3 {
					t.Errorf("%d messages, want the 30 departments split", len(acts))
				}
				sec := merged(t, acts, "zh-CN")["departments"]
				got := items(sec, "ID")
				if want := []string{"3", "7", "2", "0", "100"}; !slices.Equal(got[:5], want) {
					t.Errorf("order %v, want %v…", got[:5], want)
				}
				if n := len(got); n != 30 || sec["More"] != 14 || sec["MoreCount"] != 14 || sec["Total"] != 61 {
					t.Errorf("%d listed, more %v (%v), total %v", n, sec["More"], sec["MoreCount"], sec["Total"])
				}
				if names := items(sec, "Name"); names[0] != "研发部" || names[1] != "" {
					t.Errorf("names %v", names[:2])
				}
			},
		},
		{
			// (since, now], by when the refusal was recorded: told, else
			// answered.
			name: "refusals window",
			edit: func(in *DigestInput) {
				in.Refusals = []Consent{
					refusal("zhangsan", "wm-at-since", since, time.Time{}),
					refusal("zhangsan", "wm-in", since.Add(time.Second), time.Time{}),
					refusal("lisi", "wm-at-now", digestNow, time.Time{}),
					refusal("lisi", "wm-after-now", digestNow.Add(time.Second), time.Time{}),
					refusal("lisi", "wm-answered", time.Time{}, since.Add(time.Hour)),
					refusal("wangwu", "wm-told-long-ago", since.Add(-time.Hour), since.Add(time.Hour)),
					{UserID: "wangwu", ExternalUserID: "wm-agreed", Status: ConsentAgreed, ChangedAt: since.Add(time.Hour)},
				}
			},
			check: func(t *testing.T, acts []Action) {
				sec := merged(t, acts, "zh-CN")["refusals"]
				if got, want := items(sec, "Customer"), []string{"wm-in", "wm-answered", "wm-at-now"}; !slices.Equal(got, want) {
					t.Errorf("listed %v, want %v", got, want)
				}
				if got := items(sec, "Name"); got[0] != "张三" {
					t.Errorf("names %v", got)
				}
				if acts[1].(SendText).Data["AllClear"] != false {
					t.Error("all clear with refusals")
				}
			},
		},
		{
			// Failed deliveries of the window, counted per notice and
			// listed; another notice's are not this digest's.
			name: "failed deliveries",
			edit: func(in *DigestInput) {
				in.Failures = []FailedDelivery{
					failure("zhangsan", "failed", since.Add(time.Hour)),
					failure("ghost", "invalid", since.Add(2*time.Hour)),
					failure("lisi", "unlicensed", since.Add(-time.Hour)),
					{NoticeID: "other", Version: 1, UserID: "wangwu", Status: "failed", At: since.Add(time.Hour)},
				}
			},
			check: func(t *testing.T, acts []Action) {
				secs := digestSections(t, acts[0])
				if got, want := items(secs["failures"], "UserID"), []string{"zhangsan", "ghost"}; !slices.Equal(got, want) {
					t.Errorf("listed %v, want %v", got, want)
				}
				if got := items(secs["failures"], "Name"); !slices.Equal(got, []string{"张三", "ghost"}) {
					t.Errorf("names %v", got)
				}
				if f := secs["coverage"]["Items"].([]map[string]any)[0]["Failed"]; f != 2 {
					t.Errorf("coverage counts %v failed, want 2", f)
				}
			},
		},
		{
			// Dead letters waiting: counted, with the day the oldest
			// died, and not all clear.
			name: "dead letters",
			edit: func(in *DigestInput) {
				in.DeadLetters, in.OldestDeadLetter = 3, since.Add(-3*24*time.Hour)
			},
			check: func(t *testing.T, acts []Action) {
				st := acts[0].(SendText)
				sec := digestSections(t, st)["dead_letters"]
				if sec == nil || sec["Total"] != 3 || !slices.Equal(items(sec, "Count"), []string{"3"}) ||
					!slices.Equal(items(sec, "Oldest"), []string{"2026-11-20"}) {
					t.Errorf("dead letters section %v", sec)
				}
				if st.Data["AllClear"] != false {
					t.Error("all clear with dead letters")
				}
				for _, c := range renderMarkdown(t, acts) {
					if !strings.Contains(c, "/api/v1/dead-letters") || !strings.Contains(c, "2026-11-20") {
						t.Errorf("rendered without the dead letters: %s", c)
					}
				}
			},
		},
		{
			name: "short lists count the rest",
			edit: func(in *DigestInput) {
				for i := range 25 {
					in.Refusals = append(in.Refusals, refusal("zhangsan", fmt.Sprintf("wm%02d", i), since.Add(time.Minute), time.Time{}))
					in.Failures = append(in.Failures, failure(fmt.Sprintf("u%02d", i), "failed", since.Add(time.Minute)))
				}
			},
			check: func(t *testing.T, acts []Action) {
				secs := merged(t, acts, "zh-CN")
				for _, k := range []string{"refusals", "failures"} {
					if n := len(secs[k]["Items"].([]map[string]any)); n != 20 || secs[k]["More"] != 5 || secs[k]["Total"] != 25 {
						t.Errorf("%s: %d listed, %v more of %v", k, n, secs[k]["More"], secs[k]["Total"])
					}
				}
			},
		},
		{
			// Someone who left gets nothing; so does someone the day's
			// digest already reached at an earlier activation.
			name: "inactive and already sent",
			edit: func(in *DigestInput) {
				in.People["officer1"] = Person{UserID: "officer1", Active: false}
				in.AlreadySent = map[string]bool{"owner2": true}
			},
			check: func(t *testing.T, acts []Action) {
				if len(acts) != 1 || !slices.Equal(acts[0].(SendText).UserIDs, []string{"officer2", "owner1"}) {
					t.Errorf("got %+v", acts)
				}
			},
		},
		{
			name: "nobody to tell",
			edit: func(in *DigestInput) {
				in.AlreadySent = map[string]bool{"officer1": true, "officer2": true, "owner1": true, "owner2": true}
			},
			check: func(t *testing.T, acts []Action) {
				if acts != nil {
					t.Errorf("got %+v", acts)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := digestInput()
			if tt.edit != nil {
				tt.edit(&in)
			}
			acts := Digest(in, settings, digestNow)
			tt.check(t, acts)
			// Decided again for the same now: the very same messages.
			if again := Digest(in, settings, digestNow); !reflect.DeepEqual(acts, again) {
				t.Error("a second decision for the same now differs")
			}
			renderMarkdown(t, acts)
		})
	}
}

// renderMarkdown renders every text message through the real templates and
// checks it against WeCom's markdown limit, in UTF-8 bytes.
func renderMarkdown(t *testing.T, acts []Action) []string {
	t.Helper()
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range acts {
		st := a.(SendText)
		r, err := set.Render(st.Template, st.Lang, st.Data)
		if err != nil {
			t.Fatalf("%s: %v", st.Key, err)
		}
		c := r.Parts["content"]
		if len(c) > MessageLimit || !utf8.ValidString(c) {
			t.Errorf("%s: %d bytes, WeCom allows %d", st.Key, len(c), MessageLimit)
		}
		out = append(out, c)
	}
	return out
}

// TestDigestWorstCase: the largest digest — many notices with titles
// longer than any field allows, in Chinese (3 bytes a character), every
// count at seven digits, hundreds of departments and full lists of
// refusals and failures with long names — is split into parts of at
// most 2,048 bytes each through the real templates, in both languages,
// each part numbered, every notice listed once in order.
func TestDigestWorstCase(t *testing.T) {
	since := digestNow.Add(-DigestWindow)
	long := func(prefix string, n int) string { return prefix + strings.Repeat("长", n) }
	in := DigestInput{Since: since, Coverage: map[string]DigestCoverage{}, People: remindPeople(),
		OverdueByDepartment: map[int64]int{}, DepartmentNames: map[int64]string{},
		DeadLetters: 9999999, OldestDeadLetter: since.Add(-400 * 24 * time.Hour)}
	for i := range 60 {
		n := remindNotice
		n.ID, n.Version, n.Title = fmt.Sprintf("notice%02d", i), 9999999, long(fmt.Sprint(i), 200)
		in.Notices = append(in.Notices, n)
		in.Coverage[n.Key()] = DigestCoverage{Acknowledged: 9999999, Open: 9999999, Overdue: 9999999}
		for j := range 3 {
			user := fmt.Sprintf("%s%02d%02d", strings.Repeat("u", 60), i, j)
			in.People[user] = Person{UserID: user, Name: long("", 100), Active: true}
			in.Failures = append(in.Failures, FailedDelivery{NoticeID: n.ID, Version: n.Version, UserID: user,
				Status: "unlicensed", At: since.Add(time.Duration(i*3+j+1) * time.Second)})
			in.Refusals = append(in.Refusals, Consent{UserID: user, ExternalUserID: strings.Repeat("w", 100) + fmt.Sprint(i, j),
				Status: ConsentDisagreed, NotifiedAt: since.Add(time.Minute)})
		}
	}
	for i := range 500 {
		in.OverdueByDepartment[int64(1000000+i)] = 9999999
		if i%2 == 0 {
			in.DepartmentNames[int64(1000000+i)] = long("", 100)
		}
	}
	// All clear (the longest heading), with the notices only.
	clear := DigestInput{Since: since, Notices: in.Notices, Coverage: map[string]DigestCoverage{}, People: in.People}
	for k := range in.Coverage {
		clear.Coverage[k] = DigestCoverage{Acknowledged: 9999999}
	}
	for name, in := range map[string]DigestInput{"everything": in, "all clear": clear} {
		t.Run(name, func(t *testing.T) { checkWorstCase(t, in, name == "everything") })
	}
}

func checkWorstCase(t *testing.T, in DigestInput, full bool) {
	acts := Digest(in, settings, digestNow)
	byLang := map[string][]SendText{}
	for _, a := range acts {
		st := a.(SendText)
		byLang[st.Lang] = append(byLang[st.Lang], st)
	}
	for lang, msgs := range byLang {
		var parts []Action
		for _, m := range msgs {
			parts = append(parts, m)
		}
		contents := renderMarkdown(t, parts)
		var titles []string
		for i, m := range msgs {
			if m.Data["Part"] != i+1 || m.Data["Parts"] != len(msgs) || m.Key != fmt.Sprintf("digest:2026-11-24:%s:%d", lang, i+1) {
				t.Errorf("%s part %d: %v/%v, key %s", lang, i, m.Data["Part"], m.Data["Parts"], m.Key)
			}
			for _, s := range m.Data["Sections"].([]map[string]any) {
				if s["Kind"] == "coverage" {
					titles = append(titles, items(s, "Title")...)
				}
			}
		}
		if len(titles) != 60 || !strings.HasPrefix(titles[0], "0长") || !strings.HasPrefix(titles[59], "59长") {
			t.Errorf("%s: %d notices listed", lang, len(titles))
		}
		largest := 0
		for _, c := range contents {
			largest = max(largest, len(c))
		}
		// The split must not waste the budget either: the parts are
		// mostly full.
		if len(msgs) < 2 || (full && largest < MessageLimit*3/4) {
			t.Errorf("%s: %d parts, the largest %d bytes", lang, len(msgs), largest)
		}
		t.Logf("%s: %d parts, the largest %d bytes", lang, len(msgs), largest)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{strings.Repeat("长", 5), 10, "长长…"}, // 15 bytes; 2 characters and the mark fit in 10
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.max); got != tt.want || len(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("clip(%q, %d) = %q", tt.in, tt.max, got)
		}
	}
}

func TestDigestDeliveryKeys(t *testing.T) {
	got := DigestDeliveryKeys(remindNotice, digestNow.Add(-DigestWindow), digestNow, settings)
	want := []string{"archive:v3", "archive:v3:remind:2026-11-23", "archive:v3:reattest:2026-11-23",
		"archive:v3:remind:2026-11-24", "archive:v3:reattest:2026-11-24"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestDigestSplitRandom: random digests — any number of notices,
// departments, refusals and failures, fields of any length in ASCII,
// Chinese (3 bytes a character) and emoji (4) — render within 2,048
// bytes a part in both languages, and list every notice once, in order,
// and as many departments as the list allows.
func TestDigestSplitRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ9_长存档告知部门😀")
	text := func(max int) string {
		r := make([]rune, rng.IntN(max+1))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	since := digestNow.Add(-DigestWindow)
	for iter := range 200 {
		in := DigestInput{Since: since, Coverage: map[string]DigestCoverage{}, People: remindPeople(),
			OverdueByDepartment: map[int64]int{}, DepartmentNames: map[int64]string{}}
		notices := rng.IntN(40)
		for i := range notices {
			n := remindNotice
			n.ID, n.Version, n.Title = fmt.Sprintf("n%03d", i), 1+rng.IntN(9999999), text(150)
			in.Notices = append(in.Notices, n)
			in.Coverage[n.Key()] = DigestCoverage{Acknowledged: rng.IntN(9999999), Open: rng.IntN(9999999), Overdue: rng.IntN(9999999)}
			for range rng.IntN(3) {
				user := text(80)
				in.People[user] = Person{UserID: user, Name: text(80), Active: true}
				in.Failures = append(in.Failures, FailedDelivery{NoticeID: n.ID, Version: n.Version, UserID: user,
					Status: []string{"failed", "invalid", "unlicensed"}[rng.IntN(3)], At: since.Add(time.Duration(1+rng.IntN(86400)) * time.Second)})
				in.Refusals = append(in.Refusals, Consent{UserID: user, ExternalUserID: text(80), Status: ConsentDisagreed,
					NotifiedAt: since.Add(time.Duration(1+rng.IntN(86400)) * time.Second)})
			}
		}
		depts := rng.IntN(60)
		for range depts {
			id := int64(rng.Uint32())
			in.OverdueByDepartment[id] = 1 + rng.IntN(9999999)
			if rng.IntN(2) == 0 {
				in.DepartmentNames[id] = text(80)
			}
		}
		acts := Digest(in, settings, digestNow)
		renderMarkdown(t, acts)
		for _, lang := range []string{"en", "zh-CN"} {
			secs := merged(t, acts, lang)
			if secs["coverage"] == nil && notices == 0 {
				continue // no notice, no owners: the officers read Chinese
			}
			if got := len(secs["coverage"]["Items"].([]map[string]any)); got != notices {
				t.Fatalf("iteration %d, %s: %d notices listed, want %d", iter, lang, got, notices)
			}
			if got, want := len(secs["departments"]["Items"].([]map[string]any)), min(len(in.OverdueByDepartment), digestMaxDepartments); got != want {
				t.Fatalf("iteration %d, %s: %d departments listed, want %d", iter, lang, got, want)
			}
		}
	}
}

func TestDigestDepartment(t *testing.T) {
	people := map[string]Person{"a": {UserID: "a", Departments: []int64{7, 3, 5}}, "b": {UserID: "b"}}
	for user, want := range map[string]int64{"a": 3, "b": 0, "stranger": 0} {
		if got := DigestDepartment(people, user); got != want {
			t.Errorf("DigestDepartment(%s) = %d, want %d", user, got, want)
		}
	}
}
