package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/wecomply/wecomply/store"
)

// testInterceptMappings: put replaces by RuleID, list is in RuleID order
// and round-trips every field, delete is idempotent, bad input is
// refused, the mappings survive a reopen, and a closed store says so.
func testInterceptMappings(t *testing.T, open OpenFunc, o Options) {
	ctx := t.Context()
	s := open(t, opts(longLease, 5))
	list := func(s store.Store) []store.InterceptMapping {
		t.Helper()
		got, err := s.ListInterceptMappings(ctx)
		if err != nil {
			t.Fatalf("ListInterceptMappings: %v", err)
		}
		return got
	}
	if got := list(s); len(got) != 0 {
		t.Fatalf("a fresh store lists %v", got)
	}
	b := store.InterceptMapping{RuleID: "b-rule", WeComRuleID: "wc-b", Fingerprint: "f1", UpdatedAt: baseTime}
	a := store.InterceptMapping{RuleID: "a-rule", WeComRuleID: "wc-a", UpdatedAt: baseTime.Add(1)}
	for _, m := range []store.InterceptMapping{b, a} {
		if err := s.PutInterceptMapping(ctx, m); err != nil {
			t.Fatalf("PutInterceptMapping(%s): %v", m.RuleID, err)
		}
	}
	if got, want := list(s), []store.InterceptMapping{a, b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("list = %+v, want %+v (RuleID order)", got, want)
	}
	b.WeComRuleID, b.Fingerprint = "wc-b2", "f2"
	if err := s.PutInterceptMapping(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, want := list(s), []store.InterceptMapping{a, b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after replacing b: list = %+v, want %+v", got, want)
	}

	bad := []store.InterceptMapping{{WeComRuleID: "x"}, {RuleID: "x"}}
	for _, m := range bad {
		if err := s.PutInterceptMapping(ctx, m); err == nil {
			t.Errorf("PutInterceptMapping(%+v) = nil, want an error (both ids are required)", m)
		}
	}

	for _, id := range []string{"a-rule", "a-rule", "never", ""} {
		if err := s.DeleteInterceptMapping(ctx, id); err != nil {
			t.Errorf("DeleteInterceptMapping(%q) = %v, want nil", id, err)
		}
	}
	if got, want := list(s), []store.InterceptMapping{b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after delete: list = %+v, want %+v", got, want)
	}

	if o.Reopen != nil {
		s = o.Reopen(t, s, opts(longLease, 5))
		if got, want := list(s), []store.InterceptMapping{b}; !reflect.DeepEqual(got, want) {
			t.Fatalf("after reopen: list = %+v, want %+v", got, want)
		}
	}
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Fatal(err)
	}
	if _, err := s.ListInterceptMappings(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ListInterceptMappings after Close = %v, want ErrClosed", err)
	}
	if err := s.PutInterceptMapping(ctx, a); !errors.Is(err, store.ErrClosed) {
		t.Errorf("PutInterceptMapping after Close = %v, want ErrClosed", err)
	}
}
