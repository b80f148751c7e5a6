package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules holds the packages to ARCHITECTURE.md's "may import"
// column: each package imports only the wecomply packages listed for it
// (arrows point one way; notify does not know the worker pool that runs
// it), and the wecomply binary does not link package testing (the
// sandbox links the fake WeCom, which must not pull it in).
func TestImportRules(t *testing.T) {
	const mod = "github.com/wecomply/wecomply"
	// policy/rules is the policy room's supervision rules (ARCHITECTURE.md:
	// policy, "next: supervision rules"), imported where policy may be.
	allowed := map[string][]string{
		"config":           {},
		"templates":        {},
		"wecom":            {},
		"wecom/wecomtest":  {"wecom"},
		"policy":           {"wecom"},
		"policy/rules":     {},
		"store":            {"policy"},
		"worker":           {"store", "wecom"},
		"notify":           {"store", "templates", "wecom"},
		"processor":        {"notify", "policy", "policy/rules", "store", "wecom", "worker"},
		"jobs":             {"store"},
		"retention":        {"store"},
		"intercept":        {"store", "wecom"},
		"handlers":         {"archive", "notify", "policy", "store", "wecom"},
		"console":          {"archive", "console/evidence", "policy", "store", "templates", "wecom"},
		"archive":          {"blob", "policy", "policy/rules", "store", "wecom"},
		"archive/embedded": {"archive", "wecom"},
		"archive/postgres": {"archive", "wecom"},
		"blob":             {},
		"console/evidence": {"archive", "policy", "store", "templates", "wecom"},
		"sandbox":          {"templates", "wecom", "wecom/wecomtest"},
		"store/storetest":  {"policy", "store"},
		"store/embedded":   {"policy", "store", "store/internal/..."},
		"store/redis":      {"policy", "store", "store/internal/..."},
		"store/internal/*": {"policy", "store", "store/internal/..."},
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], mod), "/")
		rule, ok := allowed[pkg]
		if !ok && strings.HasPrefix(pkg, "store/internal/") {
			rule, ok = allowed["store/internal/*"]
		}
		if !ok {
			continue // main, bench tools, test helpers: the wiring may import anything
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, mod+"/")
			if !ours {
				continue
			}
			if !slices.Contains(rule, dep) && !(strings.HasPrefix(dep, "store/internal/") && slices.Contains(rule, "store/internal/...")) {
				t.Errorf("%s imports %s; ARCHITECTURE.md allows it only %v", pkg, dep, rule)
			}
		}
	}

	deps, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if slices.Contains(strings.Fields(string(deps)), "testing") {
		t.Error("the wecomply binary links package testing")
	}
}
