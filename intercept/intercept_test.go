package intercept_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/intercept"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	corpID    = "wwcorp0001"
	appSecret = "app-secret-for-tests"
)

var writePaths = []string{
	"externalcontact/add_intercept_rule",
	"externalcontact/update_intercept_rule",
	"externalcontact/del_intercept_rule",
}

type env struct {
	fake *wecomtest.Server
	st   store.Store
	sync *intercept.Syncer
	clk  *testclock.Clock
}

// newEnv starts the fake WeCom with a small directory (departments 1..3,
// members zhangsan, lisi, wangwu and extra ones u0000…) and a store of
// the given backend, and a Syncer over them.
func newEnv(t *testing.T, backend string, extraUsers int) *env {
	t.Helper()
	clk := testclock.Frozen(time.Date(2026, 12, 5, 2, 30, 0, 0, time.UTC))
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{
		CorpID: corpID,
		Apps:   map[string]wecomtest.AppConfig{"app": {Secret: appSecret, AgentID: 1000002}},
		Now:    clk.Now,
	})
	for _, d := range []wecomtest.Department{{ID: 1, Name: "root"}, {ID: 2, Name: "sales", ParentID: 1}, {ID: 3, Name: "wealth", ParentID: 1}} {
		fake.AddDepartment(d)
	}
	for _, u := range []string{"zhangsan", "lisi", "wangwu"} {
		fake.AddUser(wecomtest.User{UserID: u, Name: u, Department: []int64{2}})
	}
	for i := range extraUsers {
		fake.AddUser(wecomtest.User{UserID: fmt.Sprintf("u%04d", i), Name: "x", Department: []int64{3}})
	}
	var st store.Store
	var err error
	if backend == "redis" {
		st, err = redisstore.Open(context.Background(), redisstore.Options{URL: redistest.Start(t), Namespace: corpID, Now: clk.Now})
	} else {
		st, err = embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{Now: clk.Now})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := wecom.NewClient(wecom.ClientConfig{
		CorpID: corpID, AgentID: 1000002, Secrets: map[string]string{wecom.AppMessages: appSecret},
		BaseURL: fake.URL, HTTPClient: &http.Client{Timeout: 10 * time.Second}, Tokens: st, Holder: "test", Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := intercept.New(client, st, intercept.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{fake: fake, st: st, sync: s, clk: clk}
}

func (e *env) writes() int {
	n := 0
	for _, p := range writePaths {
		n += e.fake.CountRequests(p)
	}
	return n
}

// rule returns the fake's rule named name.
func (e *env) rule(t *testing.T, name string) wecomtest.InterceptRule {
	t.Helper()
	for _, r := range e.fake.InterceptRules() {
		if r.RuleName == name {
			return r
		}
	}
	t.Fatalf("no rule %q in WeCom; rules: %+v", name, e.fake.InterceptRules())
	return wecomtest.InterceptRule{}
}

func (e *env) sorted(words []string) []string {
	w := slices.Clone(words)
	slices.Sort(w)
	return w
}

func ids(chs []intercept.Change) []string {
	var out []string
	for _, c := range chs {
		out = append(out, c.RuleID)
	}
	return out
}

func syncOK(t *testing.T, e *env, desired []intercept.Desired) intercept.Report {
	t.Helper()
	e.clk.Advance(time.Minute)
	rep, err := e.sync.Sync(t.Context(), desired)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return rep
}

// TestSyncLifecycle: create, a second sync that writes nothing, an edit
// of ours, drift edited and deleted in the console and repaired, a
// deletion, a console rule never touched, and every change audited, on
// both stores.
func TestSyncLifecycle(t *testing.T) {
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, 0)
			adminWords := []string{"内幕", "老鼠仓"}
			admin := e.fake.AddConsoleInterceptRule(wecomtest.InterceptRule{RuleName: "管理员规则", WordList: adminWords, InterceptType: 1, DepartmentList: []int64{1}})

			returns := intercept.Desired{RuleID: "guaranteed-returns", Name: "保本保收益", Words: []string{"保本", "保收益", "保本"}, Users: []string{"ZhangSan"}}
			offChannel := intercept.Desired{RuleID: "off-channel", Name: "加微信", Words: []string{"加我微信"}, InterceptType: wecom.InterceptWarnOnly, Departments: []int64{2}}

			// 1. Create.
			rep := syncOK(t, e, []intercept.Desired{returns, offChannel})
			if got := ids(rep.Created); !reflect.DeepEqual(got, []string{"guaranteed-returns", "off-channel"}) || rep.Unmanaged != 1 || len(rep.Updated)+len(rep.Deleted)+len(rep.Repaired) != 0 {
				t.Fatalf("first sync: %+v", rep)
			}
			r := e.rule(t, "wecomply·保本保收益")
			if !reflect.DeepEqual(e.sorted(r.WordList), e.sorted([]string{"保本", "保收益"})) || !reflect.DeepEqual(r.UserList, []string{"zhangsan"}) || r.InterceptType != 1 || r.CreatedBy != "app" {
				t.Errorf("created rule: %+v", r)
			}
			o := e.rule(t, "wecomply·加微信")
			if !reflect.DeepEqual(o.DepartmentList, []int64{2}) || o.InterceptType != 2 {
				t.Errorf("created rule: %+v", o)
			}

			// 2. Nothing changed: no write call.
			before := e.writes()
			rep = syncOK(t, e, []intercept.Desired{returns, offChannel})
			if e.writes() != before || rep.Unchanged != 2 || len(rep.Created)+len(rep.Updated)+len(rep.Deleted)+len(rep.Repaired) != 0 {
				t.Fatalf("second sync wrote %d times: %+v", e.writes()-before, rep)
			}

			// 3. Our edit: a word more, lisi instead of zhangsan.
			returns.Words = append(returns.Words, "稳赚不赔")
			returns.Users = []string{"lisi"}
			before = e.writes()
			rep = syncOK(t, e, []intercept.Desired{returns, offChannel})
			if got := ids(rep.Updated); !reflect.DeepEqual(got, []string{"guaranteed-returns"}) || rep.Drift() || rep.Updated[0].Detail != "words +1 -0, users +1 -1" {
				t.Fatalf("edit sync: %+v", rep)
			}
			if n := e.writes() - before; n != 1 {
				t.Errorf("edit took %d write calls, want 1 update", n)
			}
			r = e.rule(t, "wecomply·保本保收益")
			if !reflect.DeepEqual(e.sorted(r.WordList), e.sorted([]string{"保本", "保收益", "稳赚不赔"})) || !reflect.DeepEqual(r.UserList, []string{"lisi"}) {
				t.Errorf("edited rule: %+v", r)
			}

			// 4. Drift: someone edits our rule in the console.
			e.fake.EditInterceptRuleInConsole(o.RuleID, func(r *wecomtest.InterceptRule) {
				r.WordList = []string{"微信"}
				r.UserList = append(r.UserList, "wangwu")
				r.SemanticsList = []int{1}
				r.InterceptType = 1
			})
			rep = syncOK(t, e, []intercept.Desired{returns, offChannel})
			if got := ids(rep.Repaired); !reflect.DeepEqual(got, []string{"off-channel"}) || !rep.Drift() || len(rep.Updated) != 0 {
				t.Fatalf("drift sync: %+v", rep)
			}
			if d := rep.Repaired[0].Detail; d != "edited in WeCom (words +1 -1, intercept type, semantics, users +0 -1 to restore)" {
				t.Errorf("drift detail = %q", d)
			}
			o2 := e.rule(t, "wecomply·加微信")
			if !reflect.DeepEqual(o2.WordList, []string{"加我微信"}) || len(o2.UserList) != 0 || len(o2.SemanticsList) != 0 || o2.InterceptType != 2 || !reflect.DeepEqual(o2.DepartmentList, []int64{2}) {
				t.Errorf("repaired rule: %+v", o2)
			}

			// 5. Drift: our rule deleted in the console.
			e.fake.DeleteInterceptRuleInConsole(r.RuleID)
			rep = syncOK(t, e, []intercept.Desired{returns, offChannel})
			if got := ids(rep.Repaired); !reflect.DeepEqual(got, []string{"guaranteed-returns"}) || rep.Repaired[0].Detail != "deleted in WeCom; created again" || rep.Repaired[0].WeComRuleID == r.RuleID {
				t.Fatalf("deleted-drift sync: %+v", rep)
			}
			if r2 := e.rule(t, "wecomply·保本保收益"); !reflect.DeepEqual(r2.UserList, []string{"lisi"}) || len(r2.WordList) != 3 {
				t.Errorf("recreated rule: %+v", r2)
			}

			// 6. Delete: the rule is no longer wanted.
			rep = syncOK(t, e, []intercept.Desired{offChannel})
			if got := ids(rep.Deleted); !reflect.DeepEqual(got, []string{"guaranteed-returns"}) || rep.Unchanged != 1 {
				t.Fatalf("delete sync: %+v", rep)
			}
			names := []string{}
			for _, r := range e.fake.InterceptRules() {
				names = append(names, r.RuleName)
			}
			slices.Sort(names)
			if !reflect.DeepEqual(names, []string{"wecomply·加微信", "管理员规则"}) {
				t.Errorf("rules left in WeCom: %v", names)
			}
			maps, err := e.st.ListInterceptMappings(t.Context())
			if err != nil || len(maps) != 1 || maps[0].RuleID != "off-channel" {
				t.Errorf("mappings = %+v, %v", maps, err)
			}

			// 7. Nothing wanted: ours go, the console's stays as it was.
			syncOK(t, e, nil)
			left := e.fake.InterceptRules()
			if len(left) != 1 || left[0].RuleID != admin || !reflect.DeepEqual(left[0].WordList, adminWords) {
				t.Errorf("after syncing nothing, WeCom has %+v; want only the console's rule, unchanged", left)
			}

			// Every change is audited, and the chain verifies.
			entries, err := e.st.ListAudit(t.Context(), 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, en := range entries {
				if en.Kind != intercept.AuditKind {
					continue
				}
				var d struct {
					Action string `json:"action"`
					RuleID string `json:"rule_id"`
				}
				if err := json.Unmarshal(en.Data, &d); err != nil || d.RuleID != en.Subject {
					t.Errorf("audit entry %s: %v %+v", en.Data, err, d)
				}
				actions = append(actions, d.Action+" "+d.RuleID)
			}
			want := []string{
				"created guaranteed-returns", "created off-channel", "updated guaranteed-returns", "repaired off-channel",
				"repaired guaranteed-returns", "deleted guaranteed-returns", "deleted off-channel",
			}
			if !reflect.DeepEqual(actions, want) {
				t.Errorf("audited\n %q\nwant\n %q", actions, want)
			}
			if rep, err := e.st.VerifyAudit(t.Context()); err != nil || !rep.OK {
				t.Errorf("VerifyAudit = %+v, %v", rep, err)
			}
		})
	}
}

// TestSyncRefusesRulesWeComWouldNot: a desired rule that breaks
// path/95097's limits fails the sync with an error naming the rule and
// the limit, before anything is written; Validate says the same without
// a sync.
func TestSyncRefusesRulesWeComWouldNot(t *testing.T) {
	words := func(n int) []string {
		w := make([]string, n)
		for i := range w {
			w[i] = fmt.Sprintf("词%d", i)
		}
		return w
	}
	ok := intercept.Desired{RuleID: "fine", Words: []string{"保本"}, Departments: []int64{2}}
	many := make([]intercept.Desired, 101)
	for i := range many {
		many[i] = intercept.Desired{RuleID: fmt.Sprint("r", i), Words: []string{"w"}, Departments: []int64{2}}
	}
	users := make([]string, 10001)
	for i := range users {
		users[i] = fmt.Sprint("u", i)
	}
	tests := []struct {
		name    string
		desired []intercept.Desired
		want    []string // in the error
	}{
		{"301 words", []intercept.Desired{ok, {RuleID: "insider-terms", Words: words(301), Departments: []int64{2}}}, []string{`rule "insider-terms"`, "301 distinct words", "at most 300"}},
		{"a word of 33 characters", []intercept.Desired{{RuleID: "long", Words: []string{strings.Repeat("长", 33)}, Users: []string{"lisi"}}}, []string{`rule "long"`, "33 characters", "1 to 32"}},
		{"no words", []intercept.Desired{{RuleID: "empty", Users: []string{"lisi"}}}, []string{`rule "empty"`, "no words"}},
		{"no range", []intercept.Desired{{RuleID: "nowhere", Words: []string{"w"}}}, []string{`rule "nowhere"`, "applicable range"}},
		{"10001 users", []intercept.Desired{{RuleID: "crowd", Words: []string{"w"}, Users: users}}, []string{`rule "crowd"`, "10001 users", "at most 10000"}},
		{"intercept type 3", []intercept.Desired{{RuleID: "odd", Words: []string{"w"}, InterceptType: 3, Departments: []int64{2}}}, []string{`rule "odd"`, "intercept type 3"}},
		{"a rule twice", []intercept.Desired{ok, ok}, []string{`rule "fine": given twice`}},
		{"no rule id", []intercept.Desired{{Words: []string{"w"}, Departments: []int64{2}}}, []string{"rule #1: no rule id"}},
		{"101 rules", many, []string{"101 rules", "at most 100"}},
		{"two bad rules, both named", []intercept.Desired{{RuleID: "a"}, {RuleID: "b", Words: []string{"w"}}}, []string{`rule "a"`, `rule "b"`}},
	}
	if err := intercept.Validate([]intercept.Desired{ok}); err != nil {
		t.Errorf("Validate(a fine rule) = %v, want nil", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := intercept.Validate(tt.desired)
			e := newEnv(t, "embedded", 0)
			rep, err := e.sync.Sync(t.Context(), tt.desired)
			if err == nil {
				t.Fatalf("Sync = %+v, nil; want an error", rep)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
				if verr == nil || !strings.Contains(verr.Error(), w) {
					t.Errorf("Validate = %v, want an error saying %q", verr, w)
				}
			}
			if n := e.fake.CountRequests(""); n != 0 {
				t.Errorf("%d requests to WeCom, want none", n)
			}
		})
	}
}

// TestSyncGuards: a mapped rule renamed without the prefix is neither
// updated nor deleted (it is reported), and a rule with our prefix that
// we did not map is never touched.
func TestSyncGuards(t *testing.T) {
	e := newEnv(t, "embedded", 0)
	lookalike := e.fake.AddConsoleInterceptRule(wecomtest.InterceptRule{RuleName: "wecomply·仿冒", WordList: []string{"x"}, InterceptType: 1, DepartmentList: []int64{1}})
	d := intercept.Desired{RuleID: "r", Name: "r", Words: []string{"a"}, Users: []string{"lisi"}}
	syncOK(t, e, []intercept.Desired{d})
	id := e.rule(t, "wecomply·r").RuleID
	e.fake.EditInterceptRuleInConsole(id, func(r *wecomtest.InterceptRule) { r.RuleName = "renamed"; r.WordList = []string{"b"} })

	before := e.writes()
	for _, desired := range [][]intercept.Desired{{d}, nil} {
		rep := syncOK(t, e, desired)
		if got := ids(rep.Skipped); !reflect.DeepEqual(got, []string{"r"}) || rep.Unmanaged != 1 || len(rep.Deleted)+len(rep.Repaired)+len(rep.Updated) != 0 {
			t.Errorf("sync of %d rules: %+v", len(desired), rep)
		}
	}
	if n := e.writes() - before; n != 0 {
		t.Errorf("%d write calls, want none", n)
	}
	if r := e.rule(t, "renamed"); !reflect.DeepEqual(r.WordList, []string{"b"}) {
		t.Errorf("the renamed rule was changed: %+v", r)
	}
	if r := e.rule(t, "wecomply·仿冒"); r.RuleID != lookalike {
		t.Errorf("the look-alike rule: %+v", r)
	}
}

// TestSyncLargeRanges: WeCom takes 1,000 userids a call, so a range of
// 2,500 members is added in one add and two updates, and cut back with
// remove_applicable_range in 1,000s; the rule never loses its range.
func TestSyncLargeRanges(t *testing.T) {
	e := newEnv(t, "embedded", 2600)
	users := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("u%04d", i))
		}
		return out
	}
	d := intercept.Desired{RuleID: "big", Name: "big", Words: []string{"w"}, Users: users(0, 2500)}
	syncOK(t, e, []intercept.Desired{d})
	if a, u := e.fake.CountRequests(writePaths[0]), e.fake.CountRequests(writePaths[1]); a != 1 || u != 2 {
		t.Errorf("create: %d adds and %d updates, want 1 and 2", a, u)
	}
	if r := e.rule(t, "wecomply·big"); len(r.UserList) != 2500 {
		t.Fatalf("created with %d users, want 2500", len(r.UserList))
	}

	d.Users = users(2400, 2600) // 2,400 out, 100 in
	rep := syncOK(t, e, []intercept.Desired{d})
	if len(rep.Updated) != 1 || rep.Updated[0].Detail != "users +100 -2400" {
		t.Fatalf("shrink: %+v", rep)
	}
	if u := e.fake.CountRequests(writePaths[1]); u != 2+3 {
		t.Errorf("%d updates in all, want 5 (3 for 2,400 removals)", u)
	}
	r := e.rule(t, "wecomply·big")
	if got := e.sorted(r.UserList); !reflect.DeepEqual(got, users(2400, 2600)) {
		t.Errorf("after shrinking: %d users, %v…", len(got), got[:min(3, len(got))])
	}
	if rep := syncOK(t, e, []intercept.Desired{d}); rep.Unchanged != 1 {
		t.Errorf("third sync: %+v", rep)
	}
}

// TestSyncContinuesPastAFailure: a WeCom error on one rule is returned
// naming the rule, as a *wecom.APIError; the other rules are synced, and
// the next run finishes the job.
func TestSyncContinuesPastAFailure(t *testing.T) {
	e := newEnv(t, "embedded", 0)
	remove := e.fake.InjectFault(wecomtest.Fault{Path: "externalcontact/add_intercept_rule", Errcode: wecom.CodeSystemBusy, Times: 1})
	defer remove()
	desired := []intercept.Desired{
		{RuleID: "a", Words: []string{"a"}, Users: []string{"lisi"}},
		{RuleID: "b", Words: []string{"b"}, Users: []string{"lisi"}},
	}
	rep, err := e.sync.Sync(t.Context(), desired)
	if err == nil || !strings.Contains(err.Error(), `rule "a"`) || wecom.Classify(err) != wecom.ActionRetry {
		t.Fatalf("Sync err = %v (%v), want rule a's -1 (retry)", err, wecom.Classify(err))
	}
	if got := ids(rep.Created); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("created %v, want [b]", got)
	}
	if rep := syncOK(t, e, desired); !reflect.DeepEqual(ids(rep.Created), []string{"a"}) || rep.Unchanged != 1 {
		t.Errorf("second sync: %+v", rep)
	}
}

// TestSyncCreateFailingMidwayIsFinishedAsOurs: a rule whose creation
// failed on a later range part (its mapping stored, its range partly
// added) is finished by the next sync as our update, not reported as
// edited in WeCom.
func TestSyncCreateFailingMidwayIsFinishedAsOurs(t *testing.T) {
	e := newEnv(t, "embedded", 2600)
	var users []string
	for i := range 2500 {
		users = append(users, fmt.Sprintf("u%04d", i))
	}
	d := []intercept.Desired{{RuleID: "big", Name: "big", Words: []string{"w"}, Users: users}}
	remove := e.fake.InjectFault(wecomtest.Fault{Path: "externalcontact/update_intercept_rule", Errcode: wecom.CodeSystemBusy, Times: 1})
	defer remove()
	if rep, err := e.sync.Sync(t.Context(), d); err == nil || !strings.Contains(err.Error(), "range part 2") {
		t.Fatalf("Sync = %+v, %v; want range part 2's error", rep, err)
	}
	if r := e.rule(t, "wecomply·big"); len(r.UserList) != 1000 {
		t.Fatalf("after the failure the rule has %d users, want the first part's 1000", len(r.UserList))
	}
	rep := syncOK(t, e, d)
	if len(rep.Repaired) != 0 || len(rep.Updated) != 1 || rep.Updated[0].Detail != "users +1500 -0" {
		t.Errorf("second sync: %+v; want our update adding the 1500 users, no repair", rep)
	}
	if r := e.rule(t, "wecomply·big"); len(r.UserList) != 2500 {
		t.Errorf("finished with %d users, want 2500", len(r.UserList))
	}
	if rep := syncOK(t, e, d); rep.Unchanged != 1 {
		t.Errorf("third sync: %+v", rep)
	}
}

type source []intercept.Desired

func (s source) InterceptRules(context.Context) ([]intercept.Desired, error) { return s, nil }

// TestRunCounts: Run is the job body; its counts are the report's.
func TestRunCounts(t *testing.T) {
	e := newEnv(t, "embedded", 0)
	run := e.sync.Run(source{{RuleID: "a", Words: []string{"a"}, Departments: []int64{2}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	counts, err := run(t.Context(), e.clk.Now())
	if err != nil || counts["intercept_created"] != 1 || counts["intercept_repaired"] != 0 {
		t.Fatalf("run = %v, %v", counts, err)
	}
	counts, err = run(t.Context(), e.clk.Now())
	if err != nil || counts["intercept_created"] != 0 || counts["intercept_unchanged"] != 1 {
		t.Errorf("second run = %v, %v", counts, err)
	}
}
