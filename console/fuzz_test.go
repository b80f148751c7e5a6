package console

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a sign-in or language switch is asked to go
// back to, the redirect stays inside the console (no open redirect).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console/people/x", "//evil.example.com", "/console/../x", "https://evil.example.com/console/", "/console/\\\\evil", "/console/%2F%2Fevil", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		u, err := url.Parse(got)
		if !strings.HasPrefix(got, Prefix) || err != nil || u.Host != "" || u.Scheme != "" || strings.ContainsAny(got, "\\\r\n") ||
			!strings.HasPrefix(path.Clean(u.Path)+"/", Prefix) {
			t.Fatalf("safeNext(%q) = %q leaves the console", next, got)
		}
	})
}
