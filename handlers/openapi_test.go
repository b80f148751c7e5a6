package handlers

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// loadOpenAPI parses and validates the served description.
func loadOpenAPI(t *testing.T, e *env) *openapi3.T {
	t.Helper()
	// Public: no token.
	rec := e.do(httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !isJSON(rec) {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Header())
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the description is not valid OpenAPI 3: %v", err)
	}
	closeObjects(doc)
	return doc
}

// closeObjects sets additionalProperties false on every object schema of
// doc that leaves it unset, so that validating an answer catches a member
// the description leaves out (kin-openapi allows extras when it is unset).
// Schemas that set it, such as an Event's string-valued map, keep theirs,
// and so does an object that names no properties (a message's content as
// WeCom sent it, this document): it stands for any object.
// An allOf of plain objects becomes the one object it stands for: closing
// each member would make every member refuse the others' members.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, r := range list {
				walk(r)
			}
		}
		walk(s.Not)
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, r := range s.Properties {
			walk(r)
		}
		if len(s.AllOf) > 0 {
			mergeAllOf(s)
		}
		if len(s.Properties) > 0 && len(s.AllOf) == 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		}
	}
	for _, ref := range doc.Components.Schemas {
		walk(ref)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil {
					walk(p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for _, mt := range resp.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
}

// mergeAllOf turns s, an allOf of objects none of which allows members
// beyond its properties, into one object with all their properties and
// required members. Any other allOf is left as it is.
func mergeAllOf(s *openapi3.Schema) {
	props := openapi3.Schemas{}
	var required []string
	for _, r := range s.AllOf {
		m := r.Value
		if m == nil || len(m.Properties) == 0 || len(m.AllOf) > 0 || len(m.AnyOf) > 0 || len(m.OneOf) > 0 || m.Not != nil ||
			m.AdditionalProperties.Schema != nil || (m.AdditionalProperties.Has != nil && *m.AdditionalProperties.Has) {
			return
		}
		maps.Copy(props, m.Properties)
		required = append(required, m.Required...)
	}
	maps.Copy(props, s.Properties)
	s.Type = &openapi3.Types{openapi3.TypeObject}
	s.Properties = props
	s.Required = append(required, s.Required...)
	s.AllOf = nil
}

// ginParam is a Gin path parameter, :name.
var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPIMatchesRoutes: every route of /api/v1 (with every optional
// part on) is in the description, with its method, and everything the
// description has is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	p := newPopulated(t)
	doc := loadOpenAPI(t, p.env)
	var routed, described []string
	for _, r := range p.apiRoutes() {
		method, path, _ := strings.Cut(r, " ")
		routed = append(routed, method+" "+ginParam.ReplaceAllString(path, "{$1}"))
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	for _, r := range routed {
		if !slices.Contains(described, r) {
			t.Errorf("%s is routed but not in openapi.json", r)
		}
	}
	for _, d := range described {
		if !slices.Contains(routed, d) {
			t.Errorf("%s is in openapi.json but not routed", d)
		}
	}
	if len(routed) < 20 {
		t.Errorf("only %d routes: %v", len(routed), routed)
	}
}

// TestOpenAPIDescribesAnswers: each call of populated.calls, on a store
// holding one of everything, is a request the description allows, and
// its answer fits the description's schema for its status.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	p := newPopulated(t)
	doc := loadOpenAPI(t, p.env)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	for _, call := range append(p.calls(),
		// Answers other than success are described too.
		apiCall{"GET", "/api/v1/obligations", "/api/v1/obligations?limit=0", ""},
		apiCall{"GET", "/api/v1/events", "/api/v1/events?cursor=garbage", ""},
		apiCall{"GET", "/api/v1/people/:userid", "/api/v1/people/nobody", ""},
		apiCall{"GET", "/api/v1/attestations", "/api/v1/attestations?format=csv", ""},
		apiCall{"GET", "/api/v1/obligations", "/api/v1/obligations?format=csv&view=engineer", ""},
		apiCall{"POST", "/api/v1/holds", "/api/v1/holds", `{"subject":"x"}`},
		apiCall{"GET", "/api/v1/alerts", "/api/v1/alerts?state=closed", ""},
		apiCall{"GET", "/api/v1/alerts", "/api/v1/alerts?limit=0", ""},
		apiCall{"GET", "/api/v1/alerts", "/api/v1/alerts?cursor=garbage", ""},
		apiCall{"GET", "/api/v1/alerts/:id", "/api/v1/alerts/nope", ""},
		apiCall{"POST", "/api/v1/alerts/:id/decision", "/api/v1/alerts/nope/decision", `{"decision":"confirmed"}`},
		apiCall{"POST", "/api/v1/alerts/:id/decision", "/api/v1/alerts/" + p.alert + "/decision", `{"decision":"maybe"}`},
		// Decided false_positive by the calls above.
		apiCall{"POST", "/api/v1/alerts/:id/decision", "/api/v1/alerts/" + p.alert + "/decision", `{"decision":"confirmed"}`},
	) {
		t.Run(call.method+" "+call.target, func(t *testing.T) {
			req := httptest.NewRequest(call.method, "http://wecomply.test"+call.target, strings.NewReader(call.body))
			if call.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set(ActorHeader, fixtureActor) // as p.do sends it
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("not in the description: %v", err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			rec := p.do(call)
			if rec.Code < 400 { // a request the API refuses may well be one the description refuses
				if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
					t.Errorf("request: %v", err)
				}
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
				Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: opts}
			if err := openapi3filter.ValidateResponse(t.Context(), out); err != nil {
				t.Errorf("answer %d: %v\n%s", rec.Code, err, rec.Body.String())
			}
		})
	}
}
