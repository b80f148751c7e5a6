package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/archive"
	archpostgres "github.com/wecomply/wecomply/archive/postgres"
)

// openPostgresArchive opens the PostgreSQL archive backend. The URL may
// hold a password: errors never quote it.
func openPostgresArchive(ctx context.Context, dsn string, now func() time.Time) (archive.Store, error) {
	st, err := archpostgres.Open(ctx, dsn, archpostgres.Options{Now: now})
	if err != nil {
		return nil, fmt.Errorf("archive (postgres): %w", err)
	}
	return st, nil
}
