package postgres

import (
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/archivetest"
)

// TestConformance runs the archive.Store conformance suite, each case on
// a store in a fresh schema of the run's database.
func TestConformance(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) archive.Store {
		s, _ := openStore(t)
		return s
	})
}

// TestReopen: everything survives closing the pool and opening the
// schema again (as a restarted replica would).
func TestReopen(t *testing.T) {
	dsns := map[archive.Store]string{}
	archivetest.RunReopen(t, func(t *testing.T) archive.Store {
		s, dsn := openStore(t)
		dsns[s] = dsn
		return s
	}, func(t *testing.T, s archive.Store) archive.Store {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return openAt(t, dsns[s], Options{Now: fixedNow})
	})
}

// BenchmarkArchive runs the backends' common benchmarks, each on a store
// in a fresh schema.
func BenchmarkArchive(b *testing.B) {
	archivetest.Bench(b, func(b *testing.B) archive.Store {
		s, _ := openStore(b)
		return s
	})
}
