package blob_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wecomply/wecomply/blob"
	"github.com/wecomply/wecomply/blob/blobtest"
)

func TestS3Conformance(t *testing.T) {
	cfg := blobtest.S3Server(t)
	var n atomic.Int64
	blobtest.Run(t, func(t *testing.T) blob.Store {
		c := cfg
		c.Bucket = fmt.Sprintf("conformance-%d", n.Add(1)) // a new, empty bucket per subtest
		s, err := blob.NewS3(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestS3Bucket(t *testing.T) {
	cfg := blobtest.S3Server(t)
	ctx := context.Background()
	c := cfg
	c.Bucket, c.CreateBucket = "absent", false
	if _, err := blob.NewS3(ctx, c); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("NewS3 of a missing bucket without CreateBucket: %v", err)
	}
	c.CreateBucket = true
	if _, err := blob.NewS3(ctx, c); err != nil {
		t.Fatalf("NewS3 creating the bucket: %v", err)
	}
	if _, err := blob.NewS3(ctx, c); err != nil {
		t.Fatalf("NewS3 of the bucket it created: %v", err)
	}
}

// TestS3SecretNeverPrints: the secret key is in no error (a wrong secret,
// a refused request) and in no printing of the configuration.
func TestS3SecretNeverPrints(t *testing.T) {
	cfg := blobtest.S3Server(t)
	ctx := context.Background()
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "s3", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), buf.String()} {
		if strings.Contains(s, cfg.SecretKey) {
			t.Fatalf("the configuration prints its secret key: %s", s)
		}
	}
	bad := cfg
	bad.SecretKey = "wrong-" + cfg.SecretKey
	_, err := blob.NewS3(ctx, bad)
	if err == nil {
		t.Fatal("NewS3 with a wrong secret key: nil error")
	}
	if strings.Contains(err.Error(), cfg.SecretKey) {
		t.Fatalf("the error holds the secret key: %v", err)
	}
	for _, c := range []blob.S3Config{
		{Bucket: "b", AccessKey: "a", SecretKey: cfg.SecretKey},
		{Endpoint: "http://x", Bucket: "b", AccessKey: "a", SecretKey: cfg.SecretKey},
		{Endpoint: "x", AccessKey: "a", SecretKey: cfg.SecretKey},
		{Endpoint: "x", Bucket: "b", SecretKey: cfg.SecretKey},
		{Endpoint: "x", Bucket: "b", AccessKey: "a"},
	} {
		_, err := blob.NewS3(ctx, c)
		if err == nil {
			t.Fatalf("NewS3(%v): nil error", c)
		}
		if strings.Contains(err.Error(), cfg.SecretKey) {
			t.Fatalf("the error holds the secret key: %v", err)
		}
	}
}
