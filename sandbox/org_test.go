package sandbox

import (
	"context"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

const (
	testCorpID  = "wwsandboxtest0001"
	testAgentID = 1000002
)

var testSecrets = map[string]string{
	wecom.AppMessages: "app-secret", wecom.AppContacts: "contacts-secret",
	wecom.AppCustomer: "customer-secret", wecom.AppArchive: "archive-secret",
}

// newFake starts a fake WeCom with the sandbox's four secrets.
func newFake(t *testing.T) *wecomtest.Server {
	t.Helper()
	return wecomtest.NewTestServer(t, wecomtest.ServerConfig{
		CorpID: testCorpID,
		Apps: map[string]wecomtest.AppConfig{
			wecom.AppMessages: {Secret: testSecrets[wecom.AppMessages], AgentID: testAgentID},
			wecom.AppContacts: {Secret: testSecrets[wecom.AppContacts]},
			wecom.AppCustomer: {Secret: testSecrets[wecom.AppCustomer]},
			wecom.AppArchive:  {Secret: testSecrets[wecom.AppArchive]},
		},
	})
}

// newClient returns a WeCom client of the fake, as the server builds it.
func newClient(t *testing.T, fake *wecomtest.Server) *wecom.Client {
	t.Helper()
	c, err := wecom.NewClient(wecom.ClientConfig{
		CorpID: testCorpID, AgentID: testAgentID, Secrets: testSecrets, BaseURL: fake.URL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}, Tokens: &memTokens{}, Holder: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memTokens is an in-memory wecom.TokenCache.
type memTokens struct {
	mu     sync.Mutex
	tokens map[string]string
	until  map[string]time.Time
}

func (m *memTokens) GetToken(_ context.Context, app string) (string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Now().After(m.until[app]) {
		return "", time.Time{}, nil
	}
	return m.tokens[app], m.until[app], nil
}

func (m *memTokens) PutToken(_ context.Context, app, value string, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens, m.until = map[string]string{}, map[string]time.Time{}
	}
	m.tokens[app], m.until[app] = value, expiresAt
	return nil
}

func (m *memTokens) DeleteToken(_ context.Context, app, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens[app] == value {
		delete(m.tokens, app)
		delete(m.until, app)
	}
	return nil
}

func (m *memTokens) AcquireLease(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

func (m *memTokens) ReleaseLease(context.Context, string, string) error { return nil }

func TestDemoIsConsistent(t *testing.T) {
	o := Demo()
	if err := o.Check(); err != nil {
		t.Fatalf("the demo organisation is inconsistent:\n%v", err)
	}
	if !reflect.DeepEqual(o, Demo()) {
		t.Error("Demo differs between calls; the sandbox must be the same on every run")
	}
	if n := len(o.Departments); n < 5 || n > 10 {
		t.Errorf("%d departments, want about 5", n)
	}
	if n := len(o.People); n < 45 || n > 60 {
		t.Errorf("%d people, want about 50", n)
	}
	if n := len(o.Officers); n != 2 {
		t.Errorf("%d compliance officers, want 2", n)
	}
	if n := len(o.Customers); n < 12 || n > 20 {
		t.Errorf("%d customers, want about 15", n)
	}
	if len(o.Permit) == 0 {
		t.Error("the archive permit list is empty")
	}
	pinyin := regexp.MustCompile(`^[a-z]+[0-9]*$`)
	for _, u := range o.People {
		if !pinyin.MatchString(u.UserID) {
			t.Errorf("userid %q is not pinyin", u.UserID)
		}
		if !strings.ContainsFunc(u.Name, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: name %q is not Chinese", u.UserID, u.Name)
		}
		if u.UserID != "zhoumingyuan" && len(u.DirectLeader) == 0 {
			t.Errorf("%s has no direct leader; only the general manager has none", u.UserID)
		}
	}
	// The tree has depth: some department is below a department below
	// the root.
	if !slices.ContainsFunc(o.Departments, func(d wecomtest.Department) bool { return o.Depth(d.ID) >= 2 }) {
		t.Error("the departments are flat; want a tree at least two levels deep")
	}
	// Some, not all, people follow customers.
	followers := map[string]bool{}
	for _, c := range o.Customers {
		for _, f := range c.Followers {
			followers[f.UserID] = true
		}
	}
	if len(followers) < 5 || len(followers) >= len(o.People) {
		t.Errorf("%d people follow customers, want some but not all", len(followers))
	}
}

func TestCheckFindsInconsistencies(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(o *Org)
		want   string
	}{
		{"missing parent", func(o *Org) { o.Departments[3].ParentID = 99 }, "parent 99 does not exist"},
		{"parent cycle", func(o *Org) { o.Departments[2].ParentID = 4 }, "its own ancestor"},
		{"second root", func(o *Org) { o.Departments[4].ParentID = 0 }, "2 root departments"},
		{"unknown department leader", func(o *Org) { o.Departments[1].DepartmentLeader = []string{"nobody"} }, `leader "nobody" is not a person`},
		{"unknown direct leader", func(o *Org) { o.People[5].DirectLeader = []string{"ghost"} }, `direct leader "ghost" is not a person`},
		{"own direct leader", func(o *Org) { o.People[5].DirectLeader = []string{o.People[5].UserID} }, "their own direct leader"},
		{"unknown department", func(o *Org) { o.People[7].Department = []int64{42} }, "department 42 does not exist"},
		{"duplicate userid", func(o *Org) { o.People[8].UserID = strings.ToUpper(o.People[9].UserID) }, "appears twice"},
		{"unknown officer", func(o *Org) { o.Officers = append(o.Officers, "ghost") }, `officer "ghost"`},
		{"unknown follower", func(o *Org) { o.Customers[0].Followers[0].UserID = "ghost" }, `follower "ghost"`},
		{"customer without follower", func(o *Org) { o.Customers[1].Followers = nil }, "followed by nobody"},
		{"duplicate customer", func(o *Org) { o.Customers[2].Contact.ExternalUserID = o.Customers[3].Contact.ExternalUserID }, "appears twice"},
		{"unknown permitted member", func(o *Org) { o.Permit = append(o.Permit, "ghost") }, `permit list: "ghost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Demo()
			tt.break_(&o)
			err := o.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %v, want …%s…", err, tt.want)
			}
		})
	}
}

func TestOrgLookups(t *testing.T) {
	o := Demo()
	if got, want := len(o.Members(1)), len(o.People); got != want {
		t.Errorf("Members(root) has %d people, want all %d", got, want)
	}
	sales := o.Members(3)
	for _, id := range []string{"zhaojianguo", "sunlei", "weidong", "hejing"} {
		if !slices.Contains(sales, id) {
			t.Errorf("Members(销售部) lacks %s of a sub-department", id)
		}
	}
	if slices.Contains(sales, "wangfang") {
		t.Error("Members(销售部) has a compliance officer")
	}
	if got, want := o.Path(4), "示例科技 / 销售部 / 华东销售组"; got != want {
		t.Errorf("Path(4) = %q, want %q", got, want)
	}
	if u, ok := o.Person("SunLei"); !ok || u.Name != "孙磊" {
		t.Errorf("Person is not case-insensitive: %v %v", u, ok)
	}
	if !o.Within(4, 1) || o.Within(4, 4) || o.Within(1, 4) {
		t.Error("Within is wrong")
	}
}

// TestSeedLoadsTheFake reads the seeded organisation back through the
// WeCom API, as the server would see it.
func TestSeedLoadsTheFake(t *testing.T) {
	fake := newFake(t)
	o := Seed(fake)
	c := newClient(t, fake)
	ctx := context.Background()

	depts, err := c.ListDepartments(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(depts) != len(o.Departments) {
		t.Fatalf("department/list has %d departments, want %d", len(depts), len(o.Departments))
	}
	for _, d := range depts {
		want, ok := o.Department(int64(d.ID))
		if !ok || int64(d.ParentID) != want.ParentID || d.Name != want.Name || !slices.Equal(d.DepartmentLeader, want.DepartmentLeader) {
			t.Errorf("department %d is %+v, want %+v", d.ID, d, want)
		}
	}
	for _, want := range o.People {
		u, err := c.GetUser(ctx, want.UserID)
		if err != nil {
			t.Fatalf("user/get %s: %v", want.UserID, err)
		}
		if u.Name != want.Name || len(u.Department) != 1 || int64(u.Department[0]) != want.Department[0] || !slices.Equal(u.DirectLeader, want.DirectLeader) {
			t.Errorf("user/get %s = %+v, want %+v", want.UserID, u, want)
		}
	}
	for _, want := range o.Customers {
		got, err := c.GetExternalContact(ctx, want.Contact.ExternalUserID, "")
		if err != nil {
			t.Fatalf("externalcontact/get %s: %v", want.Contact.ExternalUserID, err)
		}
		var ids, wantIDs []string
		for _, f := range got.FollowUsers {
			ids = append(ids, f.UserID)
		}
		for _, f := range want.Followers {
			wantIDs = append(wantIDs, f.UserID)
		}
		if got.ExternalContact.Name != want.Contact.Name || !slices.Equal(ids, wantIDs) {
			t.Errorf("externalcontact/get %s = %s followed by %v, want %s by %v",
				want.Contact.ExternalUserID, got.ExternalContact.Name, ids, want.Contact.Name, wantIDs)
		}
	}
	permit, err := c.PermitUsers(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(permit, o.Permit) {
		t.Errorf("get_permit_user_list = %v, want %v", permit, o.Permit)
	}
}
