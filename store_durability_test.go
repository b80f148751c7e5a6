package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// TestOpenStoreAppliesRedisDurability: serve opens the Redis store with
// [store] redis_durability and its replica keys. Against a server that
// fsyncs every second, "fsync" refuses to start naming the key, the
// explicit modes start, and "replicas" (with no replica there) answers an
// enqueue with an error once redis_replica_timeout has passed.
func TestOpenStoreAppliesRedisDurability(t *testing.T) {
	url := redistest.StartServer(t, redistest.Config{AppendFsync: "everysec"}).URL
	tests := []struct {
		mode    string
		openErr string // substring of openStore's error; "": it opens
		enqErr  string // substring of Enqueue's error; "": it succeeds
	}{
		{mode: "fsync", openErr: "store.redis_durability"},
		{mode: "everysec"},
		{mode: "trust"},
		{mode: "replicas", enqErr: "0 of 2 replicas acknowledged within 50ms"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := config.Default()
			cfg.WeCom.CorpID = testCorpID
			cfg.Store.Backend = "redis"
			cfg.Store.RedisURL = config.Secret(url)
			cfg.Store.RedisDurability = tc.mode
			cfg.Store.RedisMinReplicas = 2
			cfg.Store.RedisReplicaTimeout = 50 * time.Millisecond
			ctx := context.Background()
			st, err := openStore(ctx, &cfg, slog.New(slog.DiscardHandler), time.Now, nil)
			if tc.openErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.openErr) {
					t.Fatalf("openStore = %v; want an error with %q", err, tc.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("openStore: %v", err)
			}
			defer st.Close()
			_, err = st.Enqueue(ctx, store.Event{DedupKey: "durability-" + tc.mode})
			switch {
			case tc.enqErr == "" && err != nil:
				t.Errorf("Enqueue: %v", err)
			case tc.enqErr != "" && (err == nil || !strings.Contains(err.Error(), tc.enqErr)):
				t.Errorf("Enqueue = %v; want an error with %q", err, tc.enqErr)
			}
		})
	}
}
