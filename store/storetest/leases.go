package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

func acquire(t *testing.T, s store.Store, name, holder string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.AcquireLease(t.Context(), name, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
	}
	return ok
}

func release(t *testing.T, s store.Store, name, holder string) {
	t.Helper()
	if err := s.ReleaseLease(t.Context(), name, holder); err != nil {
		t.Fatalf("ReleaseLease(%s, %s): %v", name, holder, err)
	}
}

func testLeaseExclusive(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	if !acquire(t, s, "cron.reminders", "replica-a", time.Minute) {
		t.Fatal("first AcquireLease = false, want true")
	}
	if acquire(t, s, "cron.reminders", "replica-b", time.Minute) {
		t.Fatal("AcquireLease by another holder = true, want false")
	}
	if !acquire(t, s, "cron.reminders", "replica-a", time.Minute) {
		t.Fatal("AcquireLease again by the holder = false, want true (extended)")
	}
	if !acquire(t, s, "cron.digest", "replica-b", time.Minute) {
		t.Fatal("AcquireLease of another name = false, want true")
	}
	// Release by a non-holder does nothing.
	release(t, s, "cron.reminders", "replica-b")
	if acquire(t, s, "cron.reminders", "replica-b", time.Minute) {
		t.Fatal("after a release by a non-holder, another holder took the lease")
	}
	release(t, s, "cron.reminders", "replica-a")
	if !acquire(t, s, "cron.reminders", "replica-b", time.Minute) {
		t.Fatal("after the holder's release, AcquireLease = false, want true")
	}
	release(t, s, "no-such-lease", "replica-a") // a no-op, not an error

	if _, err := s.AcquireLease(t.Context(), "x", "replica-a", 0); err == nil {
		t.Error("AcquireLease with a zero ttl succeeded, want an error")
	}
}

func testLeaseExpires(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const ttl = 300 * time.Millisecond
	start := time.Now()
	if !acquire(t, s, "token-refresh", "replica-a", ttl) {
		t.Fatal("AcquireLease = false")
	}
	for !acquire(t, s, "token-refresh", "replica-b", ttl) {
		if time.Since(start) > eventually {
			t.Fatalf("lease with a ttl of %v still held after %v", ttl, eventually)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if el := time.Since(start); el < ttl-slack {
		t.Errorf("another holder took the lease %v after it was acquired, before its ttl of %v", el, ttl)
	}
	// The old holder's release does not free the new holder's lease.
	release(t, s, "token-refresh", "replica-a")
	if acquire(t, s, "token-refresh", "replica-c", time.Minute) {
		t.Error("the expired holder's release freed the new holder's lease")
	}
}

func testLeaseExtends(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const ttl = time.Second
	if !acquire(t, s, "leader", "replica-a", ttl) {
		t.Fatal("AcquireLease = false")
	}
	time.Sleep(ttl * 6 / 10)
	extended := time.Now()
	if !acquire(t, s, "leader", "replica-a", ttl) {
		t.Fatal("AcquireLease by the holder = false")
	}
	time.Sleep(ttl * 6 / 10) // past the first ttl, within the second
	held := !acquire(t, s, "leader", "replica-b", ttl)
	if el := time.Since(extended); !held && el < ttl-slack {
		t.Errorf("another holder took the lease %v after it was extended by %v", el, ttl)
	}
}

func testLeaseConcurrent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const racers = 32
	var won atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			ok, err := s.AcquireLease(context.Background(), "leader", fmt.Sprintf("replica-%d", i), time.Minute)
			if err != nil {
				t.Errorf("AcquireLease: %v", err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Errorf("%d of %d concurrent AcquireLease calls won, want exactly 1", n, racers)
	}
}

// --- tokens ---

func getToken(t *testing.T, s store.Store, app string) (string, time.Time) {
	t.Helper()
	v, exp, err := s.GetToken(t.Context(), app)
	if err != nil {
		t.Fatalf("GetToken(%s): %v", app, err)
	}
	return v, exp
}

func putToken(t *testing.T, s store.Store, app, value string, exp time.Time) {
	t.Helper()
	if err := s.PutToken(t.Context(), app, value, exp); err != nil {
		t.Fatalf("PutToken(%s): %v", app, err)
	}
}

func wantToken(t *testing.T, s store.Store, app, want string, wantExp time.Time) {
	t.Helper()
	v, exp := getToken(t, s, app)
	if v != want || !exp.Equal(wantExp) {
		t.Errorf("GetToken(%s) = %q, %v; want %q, %v", app, v, exp, want, wantExp)
	}
}

func testTokens(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	wantToken(t, s, "agent-1000002", "", time.Time{})

	exp := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond)
	putToken(t, s, "agent-1000002", "tok-1|with a bar", exp)
	wantToken(t, s, "agent-1000002", "tok-1|with a bar", exp)
	wantToken(t, s, "contacts", "", time.Time{})

	// DeleteToken removes only the token it names.
	if err := s.DeleteToken(ctx, "agent-1000002", "tok-0"); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	wantToken(t, s, "agent-1000002", "tok-1|with a bar", exp)
	exp2 := exp.Add(time.Minute)
	putToken(t, s, "agent-1000002", "tok-2", exp2)
	wantToken(t, s, "agent-1000002", "tok-2", exp2)
	if err := s.DeleteToken(ctx, "agent-1000002", "tok-1|with a bar"); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	wantToken(t, s, "agent-1000002", "tok-2", exp2) // another replica's fresh token stays
	if err := s.DeleteToken(ctx, "agent-1000002", "tok-2"); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	wantToken(t, s, "agent-1000002", "", time.Time{})
	if err := s.DeleteToken(ctx, "agent-1000002", "tok-2"); err != nil {
		t.Errorf("DeleteToken of a token not cached: %v, want nil", err)
	}

	// A token already expired is not cached.
	putToken(t, s, "contacts", "old", time.Now().Add(-time.Second))
	wantToken(t, s, "contacts", "", time.Time{})
	if err := s.PutToken(ctx, "contacts", "", exp); err == nil {
		t.Error("PutToken of an empty token succeeded, want an error")
	}
}

func testTokenExpires(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const ttl = 300 * time.Millisecond
	exp := time.Now().Add(ttl).Truncate(time.Millisecond)
	putToken(t, s, "app", "short-lived", exp)
	for {
		v, _ := getToken(t, s, "app")
		if v == "" {
			break
		}
		if time.Now().After(exp.Add(eventually)) {
			t.Fatalf("token still cached %v after its expiry", eventually)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if now := time.Now(); now.Before(exp.Add(-slack)) {
		t.Errorf("token gone at %v, before its expiry %v", now, exp)
	}
}

// testTokenNeverInErrors: a token is a secret; no error may carry it.
func testTokenNeverInErrors(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := context.Background()
	const secret = "s3cr3t-access-token"
	exp := time.Now().Add(time.Hour)
	putToken(t, s, "app", secret, exp)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, _, getErr := s.GetToken(ctx, "app")
	errs := map[string]error{
		"PutToken":    s.PutToken(ctx, "app", secret, exp),
		"GetToken":    getErr,
		"DeleteToken": s.DeleteToken(ctx, "app", secret),
	}
	for what, err := range errs {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want store.ErrClosed", what, err)
			continue
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, "s3cr3t") {
				t.Errorf("%s: the token leaked into the error: %s", what, text)
			}
		}
	}
}
