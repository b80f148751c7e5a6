package pgtest_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive/postgres/pgtest"
)

// DSN gives an empty database of the test's own, gone after the test;
// Find sees a needle in text, arrays, jsonb and bytea columns, in any
// schema, and nothing else.
func TestDSNAndFind(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("own database", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"CREATE SCHEMA other",
			"CREATE TABLE plain (id int, note text, tags text[], doc jsonb, blob bytea)",
			"CREATE TABLE other.more (id int, blob bytea)",
			"INSERT INTO plain VALUES (1, 'has NEEDLE-TEXT in it', '{a,NEEDLE-ARRAY}', '{\"k\":\"NEEDLE-JSON\"}', 'x'::bytea)",
			"INSERT INTO plain VALUES (2, '', '{}', NULL, '\\x00ff4e4545444c452d4259544541ff'::bytea)", // NEEDLE-BYTEA between binary bytes
			"INSERT INTO other.more VALUES (1, 'NEEDLE-OTHER'::bytea)",
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for needle, want := range map[string][]string{
			"NEEDLE-TEXT":   {"public.plain"},
			"NEEDLE-ARRAY":  {"public.plain"},
			"NEEDLE-JSON":   {"public.plain"},
			"NEEDLE-BYTEA":  {"public.plain.blob"},
			"NEEDLE-OTHER":  {"other.more.blob"},
			"NEEDLE-ABSENT": nil,
		} {
			got, err := pgtest.Find(ctx, dsn, needle)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Find(%s) = %v, want %v", needle, got, want)
			}
		}
		// The files hold what the tables show and what was deleted.
		if _, err := conn.Exec(ctx, "INSERT INTO plain (id, note) VALUES (3, 'NEEDLE-DEAD')"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "DELETE FROM plain WHERE id = 3"); err != nil {
			t.Fatal(err)
		}
		if got, _ := pgtest.Find(ctx, dsn, "NEEDLE-DEAD"); len(got) != 0 {
			t.Errorf("Find(NEEDLE-DEAD) = %v after the delete", got)
		}
		found, err := pgtest.FindInFiles(ctx, dsn, "NEEDLE-TEXT", "NEEDLE-DEAD", "NEEDLE-BYTEA", "NEEDLE-ABSENT")
		if errors.Is(err, pgtest.ErrNoFiles) {
			t.Logf("the files are not checked: %v", err)
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for needle, want := range map[string]bool{"NEEDLE-TEXT": true, "NEEDLE-DEAD": true, "NEEDLE-BYTEA": true, "NEEDLE-ABSENT": false} {
			if got := found[needle]; (len(got) > 0) != want {
				t.Errorf("FindInFiles(%s) = %v, want found: %v", needle, got, want)
			}
		}
	})
	if name == "" {
		return // skipped
	}
	conn, err := pgx.Connect(ctx, pgtest.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s still there after the test (%d, %v)", name, n, err)
	}
}

// An unreachable server skips the test (outside CI).
func TestUnreachableSkips(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(pgtest.EnvAdminDSN, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		pgtest.DSN(t)
	})
	if !skipped {
		t.Error("DSN did not skip with PostgreSQL unreachable")
	}
}
