package main

import (
	"context"
	"errors"
	"time"

	"github.com/wecomply/wecomply/archive"
)

// TEMPORARY until archive/postgres lands.
func openPostgresArchive(ctx context.Context, dsn string, now func() time.Time) (archive.Store, error) {
	return nil, errors.New("not yet")
}
