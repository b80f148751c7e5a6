package postgres

import (
	"context"
	"fmt"
	"time"
)

// DefaultAnalyzeAfter is how many messages a month's partition takes
// (beyond a tenth of what it held at its last ANALYZE) before this store
// analyzes it.
const DefaultAnalyzeAfter = 10_000

// The archive is loaded in time order: a month's partition grows at the
// top of its time range, past the histogram its statistics hold, so until
// autovacuum analyzes it again the planner believes a recent time range
// holds a few rows and scans it rather than use the GIN index (measured by
// bench/archive: search p95 over 1,000,000 messages 96.6 ms right after a
// load, 36.2 ms after ANALYZE). A catch-up after downtime or a backfill
// loads just like that. So the store analyzes a partition itself once it
// has grown enough since its last ANALYZE, in the background, one at a
// time: never in a Commit's transaction, never holding a Commit up.

// partitionGrowth is what the store knows of one month's partition.
type partitionGrowth struct {
	since, base int64 // rows committed since its last ANALYZE; rows it had then
	running     bool
}

// noteGrowth records the messages a Commit stored, by month, and starts
// an ANALYZE of each partition that grew past its threshold.
func (s *Store) noteGrowth(byMonth map[int]int64) {
	if s.analyzeAfter < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for k, n := range byMonth {
		g := s.growth[k]
		if g == nil {
			g = &partitionGrowth{}
			s.growth[k] = g
		}
		g.since += n
		if g.running || g.since < int64(s.analyzeAfter)+g.base/10 {
			continue
		}
		g.running = true
		rows := g.since
		s.analyzing.Add(1)
		go s.analyze(k, g, rows)
	}
}

// analyze runs ANALYZE on month k's partition.
func (s *Store) analyze(k int, g *partitionGrowth, rows int64) {
	defer s.analyzing.Done()
	ctx, cancel := context.WithTimeout(s.bg, 10*time.Minute)
	defer cancel()
	name := partitionName(k)
	// The name is made from integers, never from input.
	_, err := s.pool.Exec(ctx, fmt.Sprintf("ANALYZE %s", name))
	s.mu.Lock()
	defer s.mu.Unlock()
	g.running = false
	if err != nil {
		return // autovacuum still gets to it; the next commits try again
	}
	g.base += rows
	g.since -= rows
}
