package main

import (
	"context"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store/embedded"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// departmentNames, the one cache behind the admin API's officer exports
// and the console, asks WeCom's department/list at most once in
// departmentNamesTTL and keeps the last names while WeCom fails; with no
// names yet, it says why.
func TestDepartmentNames(t *testing.T) {
	ctx := context.Background()
	clk := testclock.Frozen(time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC))
	fake := wecomtest.NewTestServer(t, wecomtest.ServerConfig{CorpID: testCorpID, Now: clk.Now,
		Apps: map[string]wecomtest.AppConfig{"app": {Secret: "app-secret", AgentID: 1000002}}})
	fake.AddDepartment(wecomtest.Department{ID: 2, Name: "合规部", ParentID: 1})
	st := openStoreAt(t, clk.Now)
	client, err := wecom.NewClient(wecom.ClientConfig{CorpID: testCorpID, AgentID: 1000002,
		Secrets: map[string]string{wecom.AppMessages: "app-secret"}, BaseURL: fake.URL,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Tokens: st, Holder: "test", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	d := &departmentNames{client: client, now: clk.Now}
	step := func(name, want string, calls int) {
		t.Helper()
		names, err := d.DepartmentNames(ctx)
		if err != nil || names[2] != want || fake.CountRequests("department/list") != calls {
			t.Errorf("%s: names %v, %v after %d calls; want 2 named %q after %d", name, names, err,
				fake.CountRequests("department/list"), want, calls)
		}
	}
	step("first", "合规部", 1)
	fake.AddDepartment(wecomtest.Department{ID: 2, Name: "合规与风控部", ParentID: 1})
	step("within the TTL", "合规部", 1)
	clk.Advance(departmentNamesTTL)
	step("past the TTL", "合规与风控部", 2)

	defer fake.InjectFault(wecomtest.Fault{Path: "department/list", HTTPStatus: http.StatusBadGateway})()
	clk.Advance(departmentNamesTTL)
	names, err := d.DepartmentNames(ctx)
	if err != nil || names[2] != "合规与风控部" {
		t.Errorf("WeCom failing: %v, %v; want the last names", names, err)
	}
	if names, err := (&departmentNames{client: client, now: clk.Now}).DepartmentNames(ctx); err == nil {
		t.Errorf("WeCom failing, no names yet: %v; want the error", names)
	}
}

// openStoreAt opens an embedded store in a temporary directory, on the
// clock now, closed when t ends.
func openStoreAt(t *testing.T, now func() time.Time) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "w.db"), embedded.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestApplyGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	tests := []struct {
		name    string
		environ []string
		wantSet bool
		want    int // the collector's target afterwards
	}{
		{name: "from the config", environ: []string{"HOME=/root", "GOGCX=1"}, wantSet: true, want: 300},
		{name: "GOGC wins", environ: []string{"HOME=/root", "GOGC=150"}, wantSet: false, want: 100},
		{name: "GOGC off wins", environ: []string{"GOGC=off"}, wantSet: false, want: 100},
		{name: "empty GOGC is unset", environ: []string{"GOGC="}, wantSet: true, want: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			if got := applyGCPercent(300, tt.environ); got != tt.wantSet {
				t.Errorf("applyGCPercent = %v, want %v", got, tt.wantSet)
			}
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("GC target %d, want %d", got, tt.want)
			}
		})
	}
}
