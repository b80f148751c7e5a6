package wecom

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
)

// codeConstants parses errcodes.go and returns its Code* constants: name
// → value, and name → doc comment.
func codeConstants(t *testing.T) (values map[string]int, docs map[string]string) {
	t.Helper()
	src, err := os.ReadFile("errcodes.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "errcodes.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	values, docs = map[string]int{}, map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") {
					continue
				}
				v, err := constInt(vs.Values[i])
				if err != nil {
					t.Fatalf("%s: %v", name.Name, err)
				}
				values[name.Name] = v
				docs[name.Name] = vs.Doc.Text()
			}
		}
	}
	return values, docs
}

// constInt evaluates an integer literal, possibly negated.
func constInt(e ast.Expr) (int, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		return strconv.Atoi(e.Value)
	case *ast.UnaryExpr:
		if e.Op == token.SUB {
			v, err := constInt(e.X)
			return -v, err
		}
	}
	return 0, fmt.Errorf("not an integer literal: %T", e)
}

// TestCodeTableIsExhaustive: every Code constant is in codeActions, every
// entry of codeActions is a Code constant, and every constant is
// documented with its meaning and a doc link.
func TestCodeTableIsExhaustive(t *testing.T) {
	values, docs := codeConstants(t)
	if len(values) < 40 {
		t.Fatalf("found only %d Code constants; is the parser broken?", len(values))
	}
	byValue := map[int]string{}
	for name, v := range values {
		if other, dup := byValue[v]; dup {
			t.Errorf("%s and %s are both %d", name, other, v)
		}
		byValue[v] = name
		if _, ok := codeActions[v]; !ok {
			t.Errorf("%s (%d) has no entry in codeActions", name, v)
		}
		doc := docs[name]
		if !strings.HasPrefix(doc, fmt.Sprintf("%s (%d): ", name, v)) {
			t.Errorf("%s: doc comment should start with %q, got %q", name, fmt.Sprintf("%s (%d): ", name, v), doc)
		}
		if !strings.Contains(doc, "https://developer.work.weixin.qq.com/document/path/") {
			t.Errorf("%s: doc comment has no link to the docs", name)
		}
	}
	for code := range codeActions {
		if _, ok := byValue[code]; !ok {
			t.Errorf("codeActions has %d, which has no Code constant", code)
		}
	}
}

// TestActionForEachCode states, independently of codeActions, what each
// errcode calls for (WECOM.md §5), and checks the table agrees.
func TestActionForEachCode(t *testing.T) {
	notPermanent := map[int]Action{
		-1:    ActionRetry,        // system busy: retry, at most 3 times
		6000:  ActionRetry,        // data version conflict: retry later
		41096: ActionRetry,        // another app is sending the welcome: a retry is allowed
		40014: ActionRefreshToken, // invalid access_token
		42001: ActionRefreshToken, // access_token expired
		41001: ActionRefreshToken, // access_token missing
		45009: ActionWaitWindow,   // frequency limit: wait for the window
		45033: ActionWaitWindow,   // concurrency limit: wait, lower concurrency
	}
	for code := range notPermanent {
		if _, ok := codeActions[code]; !ok {
			t.Errorf("errcode %d is missing from the table", code)
		}
	}
	values, _ := codeConstants(t)
	for name, code := range values {
		want, ok := notPermanent[code]
		if !ok {
			want = ActionPermanent
		}
		t.Run(fmt.Sprintf("%d %s", code, name), func(t *testing.T) {
			if got := ActionFor(code); got != want {
				t.Errorf("ActionFor(%d) = %v, want %v", code, got, want)
			}
			err := fmt.Errorf("notify: send: %w", &APIError{Op: "message/send", Code: code, Msg: "x"})
			if got := Classify(err); got != want {
				t.Errorf("Classify(wrapped %d) = %v, want %v", code, got, want)
			}
		})
	}
	// The two welcome codes the docs contrast.
	if ActionFor(CodeCustomerAlreadyChatting) != ActionPermanent || ActionFor(CodeWelcomeBeingSent) != ActionRetry {
		t.Error("41051 must be permanent and 41096 retryable (path/92137)")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Action
	}{
		{"nil", nil, ActionPermanent},
		{"unknown errcode", &APIError{Op: "message/send", Code: 99999}, ActionPermanent},
		{"system busy", &APIError{Code: -1}, ActionRetry},
		{"frequency limit", &APIError{Code: 45009}, ActionWaitWindow},
		{"HTTP 500", &HTTPStatusError{StatusCode: 500}, ActionRetry},
		{"HTTP 502", &HTTPStatusError{StatusCode: 502}, ActionRetry},
		{"HTTP 503 wrapped", fmt.Errorf("x: %w", &HTTPStatusError{StatusCode: 503}), ActionRetry},
		{"HTTP 429", &HTTPStatusError{StatusCode: 429}, ActionRetry},
		{"HTTP 400", &HTTPStatusError{StatusCode: 400}, ActionPermanent},
		{"HTTP 404", &HTTPStatusError{StatusCode: 404}, ActionPermanent},
		{"HTTP 302", &HTTPStatusError{StatusCode: 302}, ActionPermanent},
		{"transport error", &TransportError{Op: "x", Err: &url.Error{Op: "Post", URL: "u", Err: errors.New("EOF")}}, ActionRetry},
		{"transport timeout", &TransportError{Op: "x", Err: &url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}}, ActionRetry},
		{"bare net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, ActionRetry},
		{"malformed response", &ResponseError{Op: "x", Reason: "not JSON"}, ActionRetry},
		{"response too large", &ResponseError{Op: "x", Reason: "big", Err: ErrResponseTooLarge}, ActionPermanent},
		{"token cache down", &TokenCacheError{App: "app", Op: "get", Err: errors.New("down")}, ActionRetry},
		{"token cache cancelled", &TokenCacheError{App: "app", Op: "get", Err: context.Canceled}, ActionPermanent},
		{"context cancelled", fmt.Errorf("wecom: x: %w", context.Canceled), ActionPermanent},
		{"context deadline", fmt.Errorf("wecom: x: %w", context.DeadlineExceeded), ActionPermanent},
		{"no secret", fmt.Errorf("wecom: x: %w", ErrNoSecret), ActionPermanent},
		{"invalid request", &InvalidError{Op: "x", Field: "touser", Problem: "too many"}, ActionPermanent},
		{"other error", errors.New("something"), ActionPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestAPIErrorText(t *testing.T) {
	err := &APIError{Op: "message/send", Code: 45009, Msg: "api freq out of limit"}
	if got, want := err.Error(), "wecom: message/send: errcode 45009: api freq out of limit"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := ActionWaitWindow.String(); got != "wait_window" {
		t.Errorf("String() = %q", got)
	}
}
