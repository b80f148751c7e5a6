package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/archivetest"
)

// crashEnv carries the DSN (schema included) the crash child writes to.
const crashEnv = "WECOMPLY_ARCHIVE_PG_CRASH_DSN"

// TestCrashChild is the process TestCrash kills.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashEnv)
	if dsn == "" {
		t.Skip("run by TestCrash only")
	}
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	archivetest.CrashChild(t, s)
}

// TestCrash kills (SIGKILL) a process in the middle of committing, its
// connections dropped mid-transaction, and checks that the database holds
// every batch up to its cursor and nothing after it.
func TestCrash(t *testing.T) {
	dsn := newSchemaDSN(t)
	archivetest.RunCrash(t, "TestCrashChild", crashEnv, dsn, func(t *testing.T) archive.Store {
		s, err := Open(context.Background(), dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
