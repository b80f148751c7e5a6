package redis

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/store/storetest"
)

// TestOpenChecksPersistence: in fsync mode (the default) Open refuses a
// server that does not fsync before it answers, naming the config key and
// the Redis setting to change, and one that does not show its settings,
// asking for an explicit "trust"; the other modes open.
func TestOpenChecksPersistence(t *testing.T) {
	servers := map[string]redistest.Config{
		"always":   {},
		"everysec": {AppendFsync: "everysec"},
		"no aof":   {NoAppendOnly: true},
		"no config": {Directives: []string{
			`rename-command CONFIG ""`, // as managed Redis does
		}},
	}
	urls := map[string]string{}
	for name, cfg := range servers {
		urls[name] = redistest.StartServer(t, cfg).URL
	}
	// A user whose ACL does not allow CONFIG, on the "always" server.
	admin := goredis.NewClient(mustParse(t, urls["always"]))
	defer admin.Close()
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "app", "on", ">app-pass", "~*", "&*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	urls["acl without config"] = strings.Replace(urls["always"], "redis://", "redis://app:app-pass@", 1)

	tests := []struct {
		server string
		mode   Durability
		want   []string // substrings of Open's error; none: Open succeeds
		warn   bool     // a warning about appendonly is logged
	}{
		{server: "always", mode: DurabilityFsync},
		{server: "always", mode: ""}, // the default is fsync
		{server: "everysec", mode: DurabilityFsync,
			want: []string{"store.redis_durability", "appendfsync is everysec", "appendfsync always", `"everysec"`}},
		{server: "everysec", mode: "",
			want: []string{"store.redis_durability", "appendfsync is everysec"}},
		{server: "no aof", mode: DurabilityFsync,
			want: []string{"store.redis_durability", "appendonly is no", "appendonly yes"}},
		{server: "no config", mode: DurabilityFsync,
			want: []string{"store.redis_durability", `"trust"`, "CONFIG GET appendonly", "unknown command"}},
		{server: "acl without config", mode: DurabilityFsync,
			want: []string{"store.redis_durability", `"trust"`, "NOPERM"}},
		{server: "everysec", mode: DurabilityTrust},
		{server: "no aof", mode: DurabilityTrust},
		{server: "no config", mode: DurabilityTrust},
		{server: "acl without config", mode: DurabilityTrust},
		{server: "everysec", mode: DurabilityEverysec},
		{server: "no aof", mode: DurabilityEverysec, warn: true},
		{server: "no config", mode: DurabilityEverysec},
		{server: "no aof", mode: DurabilityReplicas, warn: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s server, mode %q", tc.server, tc.mode), func(t *testing.T) {
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := Open(ctx, Options{URL: urls[tc.server], Namespace: newNamespace(), Durability: tc.mode, MinReplicas: 1,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err == nil {
				_ = s.Close()
			}
			switch {
			case len(tc.want) == 0 && err != nil:
				t.Fatalf("Open: %v", err)
			case len(tc.want) > 0 && err == nil:
				t.Fatalf("Open succeeded; want an error with %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open's error lacks %q: %v", w, err)
				}
			}
			if err != nil && strings.Contains(err.Error(), "app-pass") {
				t.Errorf("Open's error contains the password: %v", err)
			}
			if warned := strings.Contains(logs.String(), "WARN") && strings.Contains(logs.String(), "appendonly"); warned != tc.warn {
				t.Errorf("warning logged = %v, want %v; logs: %s", warned, tc.warn, logs.String())
			}
		})
	}
}

// TestOpenRejectsBadDurabilityOptions: Open refuses bad durability
// options before it connects, saying which option is wrong. (No server
// answers at the URL, so that any error would do but the one that names
// the option.)
func TestOpenRejectsBadDurabilityOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Durability: "sometimes"}, `store.redis_durability "sometimes"`},
		{Options{Durability: DurabilityReplicas}, "min replicas 0: want 1 or more"},
		{Options{Durability: DurabilityReplicas, MinReplicas: 1, ReplicaTimeout: time.Minute}, "replica timeout 1m0s"},
	} {
		tc.o.URL, tc.o.Namespace = "redis://127.0.0.1:1/0", "wwbad"
		_, err := Open(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v; want an error with %q", tc.o, err, tc.want)
		}
	}
}

// replicated starts a primary and a replica in sync with it, and opens a
// store on the primary that waits for one replica.
func replicated(t *testing.T, primaryCfg redistest.Config) (primary, replica *redistest.Server, s *Store) {
	t.Helper()
	primary = redistest.StartServer(t, primaryCfg)
	replica = redistest.StartServer(t, redistest.Config{ReplicaOf: primary.URL})
	s = open(t, Options{URL: primary.URL, Namespace: "wwrepl", Durability: DurabilityReplicas, MinReplicas: 1,
		ReplicaTimeout: 500 * time.Millisecond, Queue: store.QueueOptions{Lease: time.Minute}})
	return primary, replica, s
}

// enqueueAll enqueues keys from 8 goroutines (so that they share pipeline
// batches) and returns each key's error.
func enqueueAll(s *Store, keys []string) map[string]error {
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(keys); i += 8 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := s.Enqueue(ctx, store.Event{DedupKey: keys[i], Kind: "text", Payload: []byte(keys[i])})
				cancel()
				mu.Lock()
				errs[keys[i]] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// TestReplicasModeSurvivesPrimaryLoss: in replicas mode, every event
// Enqueue accepted is on the replica when the primary dies (SIGKILL) and
// the replica takes over — also those enqueued while the replica was cut
// off, which Enqueue must not accept. The primary has no append-only
// file: the replica is the only copy.
func TestReplicasModeSurvivesPrimaryLoss(t *testing.T) {
	primary, replica, s := replicated(t, redistest.Config{NoAppendOnly: true})
	ctx := context.Background()

	var connected []string
	for i := range 200 {
		connected = append(connected, fmt.Sprint("connected", i))
	}
	for k, err := range enqueueAll(s, connected) {
		if err != nil {
			t.Errorf("Enqueue(%s) with the replica in sync: %v", k, err)
		}
	}

	// Cut the replica off: it follows a primary that is not there, and
	// keeps what it has.
	rc := goredis.NewClient(mustParse(t, replica.URL))
	defer rc.Close()
	if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.TrimPrefix(closedPort(t), "127.0.0.1:")).Err(); err != nil {
		t.Fatal(err)
	}
	var cutOff []string
	for i := range 20 {
		cutOff = append(cutOff, fmt.Sprint("cutoff", i))
	}
	accepted := 0
	for k, err := range enqueueAll(s, cutOff) {
		if err == nil {
			accepted++
			t.Errorf("Enqueue(%s) accepted with no replica", k)
		}
	}

	if err := primary.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	promoted := open(t, Options{URL: replica.URL, Namespace: "wwrepl", Queue: store.QueueOptions{Lease: time.Minute}})
	if st, err := promoted.QueueStats(ctx); err != nil || st.Ready != int64(len(connected)+accepted) {
		t.Errorf("QueueStats on the promoted replica = %+v, %v; want the %d accepted events ready", st, err, len(connected)+accepted)
	}
	for _, k := range connected {
		if added, err := promoted.Enqueue(ctx, store.Event{DedupKey: k}); err != nil || added {
			t.Errorf("Enqueue(%s) on the promoted replica = %v, %v; want the event remembered", k, added, err)
		}
	}
}

// TestReplicasModeFailsWithoutReplicas: Enqueue returns an error, never
// nil, within about its timeout when no replica acknowledges: a stopped
// replica, or one that is connected but silent. A duplicate of such an
// event fails too, also from another client (whose connection wrote
// nothing the WAIT would cover), until the replica has it.
func TestReplicasModeFailsWithoutReplicas(t *testing.T) {
	ctx := context.Background()
	enqueue := func(t *testing.T, s *Store, key string) error {
		t.Helper()
		start := time.Now()
		_, err := s.Enqueue(ctx, store.Event{DedupKey: key})
		if err == nil {
			t.Fatalf("Enqueue(%s) returned nil with no replica acknowledging", key)
		}
		if !strings.Contains(err.Error(), "0 of 1 replicas") || !strings.Contains(err.Error(), "store.redis_durability") {
			t.Errorf("Enqueue(%s) = %v; want an error saying how many replicas acknowledged", key, err)
		}
		if el, timeout := time.Since(start), s.pipe.wait.timeout; el > timeout+3*time.Second {
			t.Errorf("Enqueue(%s) failed after %v; want about its replica timeout (%v)", key, el, timeout)
		}
		return err
	}

	t.Run("stopped replica", func(t *testing.T) {
		_, replica, s := replicated(t, redistest.Config{})
		if err := replica.Stop(); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, "a")
	})

	t.Run("paused replica", func(t *testing.T) {
		primary, replica, s := replicated(t, redistest.Config{})
		replica.Pause()
		defer replica.Resume()
		enqueue(t, s, "a")
		other := open(t, Options{URL: primary.URL, Namespace: "wwrepl", Durability: DurabilityReplicas, MinReplicas: 1,
			ReplicaTimeout: 500 * time.Millisecond})
		enqueue(t, other, "a")

		replica.Resume()
		deadline := time.Now().Add(10 * time.Second)
		for {
			added, err := other.Enqueue(ctx, store.Event{DedupKey: "a"})
			if err == nil {
				if added {
					t.Error("Enqueue(a) after the replica resumed added it again")
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Enqueue(a) after the replica resumed: %v", err)
			}
		}
	})
}

// BenchmarkEnqueueDurability measures what each durability mode costs
// callbacks, against a server that fsyncs every second, one that fsyncs
// before every answer, and a primary (fsync every second) that waits for
// one replica: "parallel" is storetest.BenchEnqueue (16 goroutines per
// CPU: the pipeliner's batches share one fsync, as Redis fsyncs once per
// event-loop turn, or one WAIT among all the enqueues they carry);
// "serial" is one goroutine, an enqueue's latency with no one to share
// with.
//
//	go test -run '^$' -bench EnqueueDurability -benchtime 3s -count 5 ./store/redis/
func BenchmarkEnqueueDurability(b *testing.B) {
	modes := []struct {
		name string
		open func(b *testing.B) *Store
	}{
		{"everysec", func(b *testing.B) *Store {
			url := redistest.StartServer(b, redistest.Config{AppendFsync: "everysec"}).URL
			return open(b, Options{URL: url, Namespace: newNamespace(), Durability: DurabilityEverysec})
		}},
		{"fsync", func(b *testing.B) *Store {
			url := redistest.StartServer(b, redistest.Config{AppendFsync: "always"}).URL
			return open(b, Options{URL: url, Namespace: newNamespace(), Durability: DurabilityFsync})
		}},
		{"replicas=1", func(b *testing.B) *Store {
			primary := redistest.StartServer(b, redistest.Config{AppendFsync: "everysec"})
			redistest.StartServer(b, redistest.Config{AppendFsync: "everysec", ReplicaOf: primary.URL})
			return open(b, Options{URL: primary.URL, Namespace: newNamespace(), Durability: DurabilityReplicas, MinReplicas: 1})
		}},
	}
	for _, m := range modes {
		b.Run("parallel/"+m.name, func(b *testing.B) { storetest.BenchEnqueue(b, m.open(b)) })
		b.Run("serial/"+m.name, func(b *testing.B) {
			s := m.open(b)
			ctx := context.Background()
			payload := make([]byte, 1024)
			b.ResetTimer()
			for i := range b.N {
				e := store.Event{DedupKey: fmt.Sprint("k", i), Kind: "text", Receiver: "/cb", ReceivedAt: time.Now(), Payload: payload}
				if _, err := s.Enqueue(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReplicasModeRaisesAlertsDurably: in replicas mode RaiseAlerts
// returns only once a replica has the alerts (the archive commits its
// page after it), and fails when none acknowledges.
func TestReplicasModeRaisesAlertsDurably(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	a := store.Alert{ID: store.AlertID("m1", "r", "v1"), RuleID: "r", RuleVersion: "v1", Severity: "high", Action: "alert",
		MsgID: "m1", MsgTime: at, State: store.AlertOpen, RaisedAt: at}
	_, replica, s := replicated(t, redistest.Config{})
	if raised, err := s.RaiseAlerts(ctx, []store.Alert{a}); err != nil || len(raised) != 1 {
		t.Fatalf("RaiseAlerts with a replica = %d raised, %v", len(raised), err)
	}
	if err := replica.Stop(); err != nil {
		t.Fatal(err)
	}
	b := a
	b.MsgID, b.ID = "m2", store.AlertID("m2", "r", "v1")
	if _, err := s.RaiseAlerts(ctx, []store.Alert{b}); err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("RaiseAlerts without a replica = %v, want an error saying no replica acknowledged", err)
	}
}
