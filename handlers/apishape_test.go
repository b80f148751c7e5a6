package handlers

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// snakeCase is a JSON member name the API may use: lower-case words of
// letters and digits joined by single underscores.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// verbatim are members whose value the API passes through as it was
// stored or received, not a shape of the API's: the walk does not enter
// them.
var verbatim = map[string]string{
	// An audit entry's data is the stored record its hash covers, byte
	// for byte (store.AuditHash): re-keying it would break verification.
	"GET /api/v1/audit entries[].data": "hashed audit record",
	// The OpenAPI document's keywords (operationId, requestBody, …) are
	// OpenAPI's.
	"GET /api/v1/openapi.json": "OpenAPI document",
}

// badKeys walks v (decoded JSON) and returns the path of every object
// member whose name is not snake_case, skipping verbatim paths.
func badKeys(route, at string, v any) []string {
	if _, ok := verbatim[strings.TrimSpace(route+" "+at)]; ok {
		return nil
	}
	var bad []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := strings.TrimPrefix(at+"."+k, ".")
			if !snakeCase.MatchString(k) {
				bad = append(bad, p)
			}
			bad = append(bad, badKeys(route, p, x)...)
		}
	case []any:
		for _, x := range v {
			bad = append(bad, badKeys(route, at+"[]", x)...)
		}
	}
	return bad
}

// TestAPIIsSnakeCase calls every route of /api/v1 on a store holding
// one of everything and fails on any JSON member name, at any depth,
// that is not snake_case. A route without a call here fails too, so a
// new route cannot escape the check.
func TestAPIIsSnakeCase(t *testing.T) {
	p := newPopulated(t)
	calls := p.calls()
	for _, r := range p.apiRoutes() {
		if !slices.ContainsFunc(calls, func(c apiCall) bool { return c.method+" "+c.route == r }) {
			t.Errorf("route %s has no call in populated.calls", r)
		}
	}
	for _, call := range calls {
		route := call.method + " " + call.route
		t.Run(route, func(t *testing.T) {
			rec := p.do(call)
			if rec.Code >= 300 {
				t.Fatalf("%s %s: %d %s", call.method, call.target, rec.Code, rec.Body.String())
			}
			if !isJSON(rec) {
				if call.route != "/api/v1/archive/media" {
					t.Fatalf("answer is %s, not JSON", rec.Header().Get("Content-Type"))
				}
				return
			}
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			if bad := badKeys(route, "", v); len(bad) > 0 {
				slices.Sort(bad)
				t.Errorf("members not in snake_case: %v\n%s", bad, rec.Body.String())
			}
		})
	}
}

// TestBadKeys: the walk finds a bad name at any depth, in arrays too,
// and does not enter a verbatim member.
func TestBadKeys(t *testing.T) {
	for _, tt := range []struct {
		route, json string
		want        []string
	}{
		{"GET /x", `{"a_b":1,"c2":{"d":[{"PermitList":true}]}}`, []string{"c2.d[].PermitList"}},
		{"GET /x", `{"Everyone":true,"x":[[{"_y":1}]]}`, []string{"Everyone", "x[][]._y"}},
		{"GET /x", `{"a__b":1,"a-b":2,"aB":3,"1a":4}`, []string{"1a", "a-b", "aB", "a__b"}},
		{"GET /api/v1/audit", `{"entries":[{"data":{"Notice":{"ID":"x"}},"Kind":"y"}]}`, []string{"entries[].Kind"}},
		{"GET /api/v1/obligations", `{"entries":[{"data":{"Notice":1}}]}`, []string{"entries[].data.Notice"}},
	} {
		t.Run(fmt.Sprint(tt.json), func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			got := badKeys(tt.route, "", v)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("badKeys = %v, want %v", got, tt.want)
			}
		})
	}
}
