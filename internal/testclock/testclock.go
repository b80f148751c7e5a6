// Package testclock is the clock tests hand to the code under test, so
// that no test's verdict depends on the day, hour or zone it runs at.
//
// A Clock stands at an instant the test chose and, unless frozen, moves
// on with real time from there, so timeouts, leases and retries behave as
// they would; Set and Advance move it. Every Clock New returns reads the
// same instant at the same moment: the start of the test process, or
// WECOMPLY_TEST_NOW, plus the real time elapsed since.
//
// Only tests import this package (it imports testing); no package the
// binary links may import it.
package testclock

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// EnvVar names the variable that sets where the clocks New returns
// stand at the start of the test process, in RFC 3339 (e.g.
// 2026-12-12T09:59:00+08:00): `WECOMPLY_TEST_NOW=… go test ./...` runs
// the suite as if it had been started then.
const EnvVar = "WECOMPLY_TEST_NOW"

// Clock is a settable clock. Its zero value is not usable; create one
// with New, At or Frozen. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration // a running clock's distance from the real now
	at     time.Time     // a frozen clock's instant
	frozen bool
}

// processOffset is how far New's clocks stand from the real now: the
// distance from the first call's real now to WECOMPLY_TEST_NOW (zero
// when it is unset), fixed for the life of the process so that all of
// them agree.
var processOffset = sync.OnceValues(func() (time.Duration, error) {
	return offsetTo(os.Getenv(EnvVar), time.Now())
})

// offsetTo is the distance from now to v, a WECOMPLY_TEST_NOW value (0
// when v is empty).
func offsetTo(v string, now time.Time) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, fmt.Errorf("testclock: %s=%q: want an RFC 3339 time such as 2026-12-12T09:59:00+08:00: %w", EnvVar, v, err)
	}
	return at.Sub(now), nil
}

// New returns a running Clock that stands where WECOMPLY_TEST_NOW put
// the test process's clock (at the real now when it is unset). A
// malformed WECOMPLY_TEST_NOW fails tb.
func New(tb testing.TB) *Clock {
	tb.Helper()
	off, err := processOffset()
	if err != nil {
		tb.Fatal(err)
	}
	if off != 0 {
		tb.Logf("clock: %s (%s)", time.Now().Add(off).Format(time.RFC3339), EnvVar)
	}
	return &Clock{offset: off}
}

// At returns a running Clock that stands at t now and moves on with real
// time.
func At(t time.Time) *Clock { return &Clock{offset: time.Until(t)} }

// Real returns a running Clock at the real now, whatever
// WECOMPLY_TEST_NOW says: for a test of code that keeps the wall clock
// (a command that signs what it sends, a server in another process).
func Real() *Clock { return &Clock{} }

// Frozen returns a Clock that stands at t until Set or Advance moves it.
func Frozen(t time.Time) *Clock { return &Clock{at: t, frozen: true} }

// Now returns the clock's current instant.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().Add(c.offset)
}

// Set moves the clock to t; a running clock goes on from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = t
		return
	}
	c.offset = time.Until(t)
}

// Advance moves the clock d forward (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = c.at.Add(d)
		return
	}
	c.offset += d
}
