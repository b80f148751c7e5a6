//go:build !race

// The race detector's sync.Pool drops some of what is put back on
// purpose, so allocations are counted only without it (scripts/test runs
// -race, and runs this test again without it).

package rules

import "testing"

// TestScanNoHitAllocates: a message without hits costs no allocation.
func TestScanNoHitAllocates(t *testing.T) {
	s, terms := benchSet(t)
	msgs := benchMessagesFor(terms, false)
	for _, m := range msgs[:20] {
		if hits := s.Scan(m); len(hits) != 0 {
			t.Fatalf("benchmark message has hits: %+v", hits)
		}
	}
	i := 0
	if n := testing.AllocsPerRun(200, func() { s.Scan(msgs[i%20]); i++ }); n != 0 {
		t.Errorf("Scan without hits: %v allocations per message, want 0", n)
	}
}
