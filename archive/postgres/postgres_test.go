package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive/postgres/pgtest"
)

// The test run's database: TestMain creates it on the server of
// WECOMPLY_TEST_POSTGRES (an admin DSN; default the machine's
// PostgreSQL on 127.0.0.1:5432, user postgres, trust auth), named with
// a random suffix, and drops it after the run. Each store a test opens
// lives in a schema of its own in that database (search_path), so tests
// never see each other's tables.
var (
	testDSN     string // the run's database; "" if none
	testDBError error  // why there is none
	schemaSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		// The crash child writes to its parent's database; it is killed,
		// so it must not make one of its own (it would never drop it).
		os.Exit(m.Run())
	}
	dsn, drop, err := pgtest.Create(pgtest.AdminDSN(), "wecomply_archive_test_")
	testDSN, testDBError = dsn, err
	code := m.Run()
	if drop != nil {
		if err := drop(); err != nil {
			fmt.Fprintf(os.Stderr, "archive/postgres tests: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// withSchema returns dsn with schema as its search_path.
func withSchema(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			panic(err) // pgtest.Create made it
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// requireDB returns the run's database DSN, or skips the test when
// PostgreSQL cannot be reached — and fails it under CI=true, where the
// archive's PostgreSQL backend must be tested.
func requireDB(tb testing.TB) string {
	tb.Helper()
	if testDSN == "" {
		msg := fmt.Sprintf("%v (scripts/test starts or installs it)", testDBError)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return testDSN
}

// newSchemaDSN creates a fresh schema in the run's database and returns a
// DSN whose search_path is that schema.
func newSchemaDSN(tb testing.TB) string {
	tb.Helper()
	dsn := requireDB(tb)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("s%d", schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	return withSchema(dsn, schema)
}

// openAt opens a store on dsn, closed at the end of the test.
func openAt(tb testing.TB, dsn string, opts Options) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// openStore opens a store in a fresh schema, with a fixed clock.
func openStore(tb testing.TB) (*Store, string) {
	tb.Helper()
	dsn := newSchemaDSN(tb)
	return openAt(tb, dsn, Options{Now: fixedNow}), dsn
}

func fixedNow() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }
