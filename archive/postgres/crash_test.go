package postgres

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/archive/archivetest"
)

// crashEnv carries the DSN (schema included) the crash child writes to.
const crashEnv = "WECOMPLY_ARCHIVE_PG_CRASH_DSN"

// TestCrashChild is the process TestCrash kills: it commits batches and
// prints each new cursor once Commit has returned.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashEnv)
	if dsn == "" {
		t.Skip("run by TestCrash only")
	}
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = archivetest.CrashWriter(context.Background(), s, func(cur uint64) { fmt.Printf("committed %d\n", cur) })
	t.Fatal(err)
}

// TestCrash kills (SIGKILL) a process in the middle of committing, its
// connections dropped mid-transaction, and checks that the database holds
// every batch up to its cursor and nothing after it.
func TestCrash(t *testing.T) {
	dsn := newSchemaDSN(t)
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dsn)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var last uint64
		for n := 0; n < 5+round*3 && sc.Scan(); {
			if v, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				if last, err = strconv.ParseUint(v, 10, 64); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if last == 0 {
			t.Fatalf("round %d: the child committed nothing", round)
		}
		s, err := Open(context.Background(), dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		archivetest.CheckCrash(t, s, last)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
