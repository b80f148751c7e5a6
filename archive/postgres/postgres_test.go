package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	admin := pgtest.AdminDSN()
	if os.Getenv(crashEnv) != "" {
		// The crash child writes to its parent's database; it is killed,
		// so it must not make one of its own (it would never drop it).
		os.Exit(m.Run())
	}
	name, drop, err := createDatabase(admin)
	if err != nil {
		testDBError = err
	} else {
		testDSN = withDatabase(admin, name, "")
	}
	code := m.Run()
	if drop != nil {
		if err := drop(); err != nil {
			fmt.Fprintf(os.Stderr, "archive/postgres tests: drop database %s: %v\n", name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// createDatabase creates wecomply_archive_test_<random> and returns a
// func that drops it.
func createDatabase(admin string) (string, func() error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL (set WECOMPLY_TEST_POSTGRES to an admin DSN): %w", err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "wecomply_archive_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return name, drop, nil
}

// withDatabase returns dsn pointing at database db, and at schema in the
// search_path when schema is not "".
func withDatabase(dsn, db, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			panic(err)
		}
		u.Path = "/" + db
		if schema != "" {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	dsn += " dbname=" + db
	if schema != "" {
		dsn += " search_path=" + schema
	}
	return dsn
}

// requireDB returns the run's database DSN, or skips the test when
// PostgreSQL cannot be reached — and fails it under CI=true, where the
// archive's PostgreSQL backend must be tested.
func requireDB(tb testing.TB) string {
	tb.Helper()
	if testDSN == "" {
		msg := fmt.Sprintf("PostgreSQL not available: %v (scripts/test starts or installs it)", testDBError)
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
	return withDatabase(dsn, strings.TrimPrefix(mustDBName(tb, dsn), "/"), schema)
}

func mustDBName(tb testing.TB, dsn string) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg.Database
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
