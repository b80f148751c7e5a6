package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/auditlog"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/store/storetest"
)

func open(t testing.TB, o Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// namespaces gives each store of a test server its own corp.
var namespaces atomic.Int64

func newNamespace() string { return fmt.Sprintf("ww%04d", namespaces.Add(1)) }

func TestConformance(t *testing.T) {
	url := redistest.Start(t)
	var mu sync.Mutex
	nsOf := map[store.Store]string{}
	storetest.Run(t,
		func(t *testing.T, q store.QueueOptions) store.Store {
			ns := newNamespace()
			s := open(t, Options{URL: url, Namespace: ns, Queue: q})
			mu.Lock()
			nsOf[s] = ns
			mu.Unlock()
			return s
		},
		storetest.Options{
			// A new client on the same server and namespace: nothing may
			// live in the Store value. (TestSurvivesServerRestart restarts
			// the server itself.)
			Reopen: func(t *testing.T, s store.Store, q store.QueueOptions) store.Store {
				mu.Lock()
				ns := nsOf[s]
				mu.Unlock()
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				s = open(t, Options{URL: url, Namespace: ns, Queue: q})
				mu.Lock()
				nsOf[s] = ns // it may be reopened in turn
				mu.Unlock()
				return s
			},
			TamperAudit: func(t *testing.T, s store.Store, seq uint64, mutate func(*store.AuditEntry)) {
				rs := s.(*Store)
				m := rawAuditMember(t, rs, seq)
				e, err := auditlog.Unmarshal([]byte(m))
				if err != nil {
					t.Fatal(err)
				}
				mutate(&e)
				v, err := auditlog.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				_, err = rs.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
					p.ZRem(ctx, rs.k.audit, m)
					p.ZAdd(ctx, rs.k.audit, goredis.Z{Score: float64(seq), Member: string(v)})
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			DeleteAuditRaw: func(t *testing.T, s store.Store, seq uint64) {
				rs := s.(*Store)
				if err := rs.client.ZRem(context.Background(), rs.k.audit, rawAuditMember(t, rs, seq)).Err(); err != nil {
					t.Fatal(err)
				}
			},
			SwapAuditRaw: func(t *testing.T, s store.Store, a, b uint64) {
				rs := s.(*Store)
				ma, mb := rawAuditMember(t, rs, a), rawAuditMember(t, rs, b)
				err := rs.client.ZAdd(context.Background(), rs.k.audit,
					goredis.Z{Score: float64(b), Member: ma}, goredis.Z{Score: float64(a), Member: mb}).Err()
				if err != nil {
					t.Fatal(err)
				}
			},
		})
}

// rawAuditMember returns the member of the audit log stored at seq.
func rawAuditMember(t *testing.T, s *Store, seq uint64) string {
	t.Helper()
	n := strconv.FormatUint(seq, 10)
	ms, err := s.client.ZRangeArgs(context.Background(), goredis.ZRangeArgs{Key: s.k.audit, Start: n, Stop: n, ByScore: true}).Result()
	if err != nil || len(ms) != 1 {
		t.Fatalf("audit entry stored at %d: %d members, %v", seq, len(ms), err)
	}
	return ms[0]
}

func TestSurvivesServerRestart(t *testing.T) {
	redistest.Start(t) // skips (or fails in CI) without redis-server
	dir := t.TempDir()
	url, stop, err := redistest.StartProcess(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := store.QueueOptions{Lease: time.Minute}
	s := open(t, Options{URL: url, Namespace: "wwrestart", Queue: q})
	for _, k := range []string{"a", "b"} {
		if _, err := s.Enqueue(ctx, store.Event{DedupKey: k, Payload: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Claim(ctx, "c", 1, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Claim = %v, %v", ds, err)
	}
	if err := s.AppendEventLog(ctx, store.LogEntry{DedupKey: "a", Kind: "text", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	url, stop, err = redistest.StartProcess(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	s = open(t, Options{URL: url, Namespace: "wwrestart", Queue: q})
	if added, err := s.Enqueue(ctx, store.Event{DedupKey: "a"}); err != nil || added {
		t.Errorf("after restart Enqueue(a) = %v, %v; want a remembered duplicate", added, err)
	}
	st, err := s.QueueStats(ctx)
	if err != nil || st != (store.QueueStats{Ready: 1, Leased: 1}) {
		t.Errorf("after restart QueueStats = %+v, %v; want 1 ready, 1 leased", st, err)
	}
	if err := s.Ack(ctx, ds[0].Receipt); err != nil {
		t.Errorf("after restart Ack(%s): %v", ds[0].ID, err)
	}
	if es, _, err := s.ListEventLog(ctx, "", store.Page{Limit: 10}); err != nil || len(es) != 1 {
		t.Errorf("after restart ListEventLog = %v, %v", es, err)
	}
}

func TestOpenErrorsNeverContainThePassword(t *testing.T) {
	const secret = "s3cr3t-P4ss" // every case's password contains "s3cr3t"
	url := redistest.Start(t)
	host := strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0")
	closed := closedPort(t)
	admin := goredis.NewClient(mustParse(t, url))
	defer admin.Close()
	if err := admin.ConfigSet(context.Background(), "requirepass", "the-right-one").Err(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, url string
	}{
		{"nothing listening", "redis://user:" + secret + "@" + closed + "/0"},
		{"unknown user", "redis://nobody:" + secret + "@" + host + "/0"},
		{"wrong password", "redis://:" + secret + "@" + host + "/0"},
		{"escaped password", "redis://nobody:s3cr3t%21P4ss@" + host + "/0"},
		{"bad escape in password", "redis://user:s3cr3t%zzP4ss@" + host + "/0"},
		{"malformed port", "redis://user:" + secret + "@" + host + "x:notaport/0"},
		{"bad scheme", "http://user:" + secret + "@" + host + "/0"},
		{"bad db", "redis://user:" + secret + "@" + host + "/notadb"},
		{"unparsable", "redis://user:" + secret + "@[::1/0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := Open(ctx, Options{URL: tc.url, Namespace: "wwtest", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%s) succeeded", RedactURL(tc.url))
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), logs.String()} {
				if strings.Contains(text, "s3cr3t") {
					t.Errorf("password leaked: %s", text)
				}
			}
			t.Logf("error: %v", err)
		})
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRedactURL(t *testing.T) {
	for _, raw := range []string{
		"redis://user:hunter2@host:6379/0",
		"redis://:hunter2@host:6379",
		"rediss://u:hunter2@host/1?dial_timeout=3s",
		"redis://u:hunter2@[::1/0",
	} {
		if got := RedactURL(raw); strings.Contains(got, "hunter2") {
			t.Errorf("RedactURL(%q) = %q", raw, got)
		}
	}
}

func TestKeysShareTheNamespaceHashTag(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	s := open(t, Options{URL: url, Namespace: "ww1234abcd", Queue: store.QueueOptions{Lease: 100 * time.Millisecond, MaxAttempts: 2}})
	// Touch every kind of key.
	for _, k := range []string{"a", "}b{", "{c}"} {
		if _, err := s.Enqueue(ctx, store.Event{DedupKey: k, Kind: "text"}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Claim(ctx, "c", 3, 0)
	if err != nil || len(ds) != 3 {
		t.Fatalf("Claim = %d, %v", len(ds), err)
	}
	if _, err := s.Fail(ctx, ds[0].Receipt, "x", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, ds[1].Receipt); err != nil {
		t.Fatal(err)
	}
	// The third entry's lease expires (100 ms): a Claim takes it back, as
	// a failed attempt; one more failure makes it a dead letter.
	deadline := time.Now().Add(10 * time.Second)
	var reclaimed store.Delivery
	for reclaimed.ID == "" {
		got, err := s.Claim(ctx, "c", 3, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(got, func(d store.Delivery) bool { return d.ID == ds[2].ID }); i >= 0 {
			reclaimed = got[i]
		} else if time.Now().After(deadline) {
			t.Fatal("the expired lease was never taken back")
		}
	}
	if dead, err := s.Fail(ctx, reclaimed.Receipt, "x", 0); err != nil || !dead {
		t.Fatalf("Fail = %v, %v; want a dead letter", dead, err)
	}
	if err := s.AppendEventLog(ctx, store.LogEntry{DedupKey: "a", Kind: "text", ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, store.Event{DedupKey: "later", NotBefore: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "lead{er}", "replica-a", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, "app{1}", "tok", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	_, err = s.BookSend(ctx, store.SendBooking{UnitID: "unit{1}", Scope: "agent:{2}", Members: []string{"zhang{san}"},
		At: at, MemberWindows: []store.RateWindow{{Period: time.Minute, Limit: 30}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSendResults(ctx, []store.RecipientResult{{NoticeKey: "notice{1}", UserID: "zhang{san}"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexDue(ctx, []policy.Notice{{ID: "arch:{ive}", Version: 3, ReattestDays: 365}}); err != nil {
		t.Fatal(err)
	}
	o := policy.Obligation{UserID: "zhang{san}", NoticeID: "arch:{ive}", Version: 3, Status: policy.Pending}
	if _, err := s.CreateObligation(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(ctx, policy.Attestation{UserID: "zhang{san}", NoticeID: "arch:{ive}", Version: 3, Channel: policy.ChannelCard,
		ReceivedAt: time.Now()}); err != nil { // due again in a year: in the due index
		t.Fatal(err)
	}
	if err := s.PutConsent(ctx, policy.Consent{UserID: "zhang{san}", ExternalUserID: "wm{1}", Status: policy.ConsentAgreed}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPerson(ctx, policy.Person{UserID: "zhang{san}"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimRecipients(ctx, "arch:{ive}:v3:sha", "plan{1}", []string{"zhang{san}"}, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEntry{ID: "{audit}", Kind: "decision", At: at}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "wecomply:{ww1234abcd}:"
	want := []string{"events", "attempts", "lasterr", "returned", "dedup:a", "log", "log:all", "log:kind:text", "log:seq",
		"scheduled", "scheduled:seq", "lease:lead{er}", "token:app{1}", "booked:unit{1}", "sends:agent%3A{2}:zhang{san}",
		"quota:agent%3A{2}:" + at.In(time.FixedZone("CST", 8*3600)).Format("20060102"), "results:notice{1}", "resultsat",
		"obl", "obl:idx", "obl:user", "obl:status", "obl:count:arch%3A{ive}:3", "obl:due:arch%3A{ive}:3", "obl:duefor", "att", "att:idx", "att:user",
		"consent", "consent:status", "consent:idx", "consent:bystatus", "people", "people:idx",
		"claims:arch:{ive}:v3:sha", "claimsat", "audit", "audit:head", "audit:ids", "migrated", "dead", "deadidx"}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			t.Errorf("key %q lacks the hash-tagged prefix %q", k, prefix)
		}
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[strings.TrimPrefix(k, prefix)] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("key %s%s missing; got %v", prefix, w, keys)
		}
	}
	// Redis Cluster hashes only the first {…} of a key: every key must
	// hash on the namespace, whatever its dedup key or kind contains.
	for _, k := range keys {
		if tag := hashTag(k); tag != "ww1234abcd" {
			t.Errorf("key %q hashes on %q, want the namespace", k, tag)
		}
	}
}

// hashTag is the part of key Redis Cluster hashes: the text between the
// first "{" and the next "}", if not empty; else the whole key.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return key
	}
	tag, _, ok := strings.Cut(rest, "}")
	if !ok || tag == "" {
		return key
	}
	return tag
}

func TestOpenRejectsBadNamespace(t *testing.T) {
	for _, ns := range []string{"", "ww{1}", "a}b"} {
		if _, err := Open(context.Background(), Options{URL: "redis://127.0.0.1:1/0", Namespace: ns}); err == nil {
			t.Errorf("Open with namespace %q succeeded", ns)
		}
	}
}

func mustParse(t *testing.T, url string) *goredis.Options {
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestCancelledClaimReleasesWhatItRead covers the read that a cancelled
// Claim abandons: whatever it still receives must be claimable at once,
// with no attempt counted.
func TestCancelledClaimReleasesWhatItRead(t *testing.T) {
	url := redistest.Start(t)
	s := open(t, Options{URL: url, Namespace: newNamespace(), Queue: store.QueueOptions{Lease: time.Hour}})
	s.poll = 2 * time.Second // one long blocking read
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ds, err := s.Claim(ctx, "quitter", 1, time.Minute); err != nil || len(ds) != 0 {
			t.Errorf("cancelled Claim = %v, %v", ds, err)
		}
	}()
	// The read is blocked in Redis.
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := s.client.Info(context.Background(), "clients").Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, "blocked_clients:1\r\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Claim's read never blocked in Redis:\n%s", info)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	// Arrives while the abandoned read still blocks: it takes it.
	if _, err := s.Enqueue(context.Background(), store.Event{DedupKey: "x"}); err != nil {
		t.Fatal(err)
	}
	// The abandoned read took it (it is pending) and gave it back.
	deadline = time.Now().Add(10 * time.Second)
	for {
		p, err := s.client.XPending(context.Background(), s.k.events, group).Result()
		if err != nil {
			t.Fatal(err)
		}
		if p.Count == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned read never took the entry")
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		st, err := s.QueueStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st == (store.QueueStats{Ready: 1}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("QueueStats = %+v; the entry read by an abandoned Claim was not released", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Released, not left to its hour-long lease: the next reclaim (within
	// s.poll) delivers it.
	ds, err := s.Claim(context.Background(), "next", 1, 3*s.poll)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Claim = %v, %v; want the released entry within the poll interval", ds, err)
	}
	if ds[0].Attempts != 0 {
		t.Errorf("Attempts = %d, want 0", ds[0].Attempts)
	}
}

func BenchmarkStore(b *testing.B) {
	url := redistest.Start(b)
	storetest.Bench(b, func(b *testing.B) store.Store {
		return open(b, Options{URL: url, Namespace: newNamespace()})
	})
}

// TestPipelinedScriptsSurviveScriptFlush: the pipelined calls use EVALSHA;
// after Redis forgets its scripts (a restart, SCRIPT FLUSH) they are
// loaded again instead of failing.
func TestPipelinedScriptsSurviveScriptFlush(t *testing.T) {
	url := redistest.Start(t)
	s := open(t, Options{URL: url, Namespace: newNamespace()})
	ctx := context.Background()
	for i := range 3 {
		if err := s.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint("flush", i)
		if added, err := s.Enqueue(ctx, store.Event{DedupKey: key, Kind: "text", Payload: []byte("x")}); err != nil || !added {
			t.Fatalf("Enqueue after SCRIPT FLUSH: %v, %v", added, err)
		}
		if err := s.AppendEventLog(ctx, store.LogEntry{DedupKey: key, Kind: "text", ReceivedAt: time.Now()}); err != nil {
			t.Fatalf("AppendEventLog after SCRIPT FLUSH: %v", err)
		}
		ds, err := s.Claim(ctx, "c", 1, time.Second)
		if err != nil || len(ds) != 1 {
			t.Fatalf("Claim: %v, %v", ds, err)
		}
		if err := s.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(ctx, ds[0].Receipt); err != nil {
			t.Fatalf("Ack after SCRIPT FLUSH: %v", err)
		}
	}
}

// TestCloseForgetsIdleConsumers: the consumers a store used leave the
// group at Close unless they still hold entries.
func TestCloseForgetsIdleConsumers(t *testing.T) {
	url := redistest.Start(t)
	ns := newNamespace()
	s := open(t, Options{URL: url, Namespace: ns})
	ctx := context.Background()
	for _, key := range []string{"a", "b"} {
		if _, err := s.Enqueue(ctx, store.Event{DedupKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	idle, err := s.Claim(ctx, "idle", 1, time.Second)
	if err != nil || len(idle) != 1 {
		t.Fatalf("Claim: %v %v", idle, err)
	}
	if err := s.Ack(ctx, idle[0].Receipt); err != nil {
		t.Fatal(err)
	}
	if held, err := s.Claim(ctx, "holding", 1, time.Second); err != nil || len(held) != 1 {
		t.Fatalf("Claim: %v %v", held, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	other := open(t, Options{URL: url, Namespace: ns})
	cs, err := other.client.XInfoConsumers(ctx, other.k.events, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if len(names) != 1 || names[0] != "holding" {
		t.Errorf("consumers after Close = %v, want [holding]", names)
	}
}

// TestScheduledEntryReachesAnotherReplica: a replica that did not enqueue
// a scheduled entry (and so was not told when it is due) claims it within
// its poll interval of its NotBefore.
func TestScheduledEntryReachesAnotherReplica(t *testing.T) {
	url := redistest.Start(t)
	ns := newNamespace()
	q := store.QueueOptions{Lease: 2 * time.Second} // poll interval 500ms
	a := open(t, Options{URL: url, Namespace: ns, Queue: q})
	b := open(t, Options{URL: url, Namespace: ns, Queue: q})
	ctx := context.Background()
	// b has just run its claim script: its next run is a poll interval away.
	if ds, err := b.Claim(ctx, "b", 1, 0); err != nil || len(ds) != 0 {
		t.Fatalf("Claim = %v, %v", ds, err)
	}
	notBefore := time.Now().Add(300 * time.Millisecond)
	if _, err := a.Enqueue(ctx, store.Event{DedupKey: "job", Kind: "job.reminder", NotBefore: notBefore}); err != nil {
		t.Fatal(err)
	}
	ds, err := b.Claim(ctx, "b", 1, 10*time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Claim on another replica = %v, %v; want the scheduled entry", ds, err)
	}
	late := time.Since(notBefore)
	if late < -notBeforeSlack {
		t.Errorf("claimed %v before its NotBefore", -late)
	}
	if late > b.poll+time.Second {
		t.Errorf("claimed %v after its NotBefore; want within the poll interval (%v)", late, b.poll)
	}
}

// notBeforeSlack absorbs Redis's millisecond clock in "not before" checks.
const notBeforeSlack = 20 * time.Millisecond

// TestManyScheduledEntriesComeDueAtOnce: more due entries than one claim
// script run moves (scheduledBatch) are all delivered without waiting a
// poll interval per batch.
func TestManyScheduledEntriesComeDueAtOnce(t *testing.T) {
	url := redistest.Start(t)
	s := open(t, Options{URL: url, Namespace: newNamespace(), Queue: store.QueueOptions{Lease: time.Minute}})
	ctx := context.Background()
	const n = 2*scheduledBatch + 500
	notBefore := time.Now().Add(200 * time.Millisecond)
	for i := range n {
		if _, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("job", i), NotBefore: notBefore}); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := s.QueueStats(ctx); err != nil || st.Ready != n {
		t.Fatalf("QueueStats = %+v, %v; want %d ready", st, err, n)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		ds, err := s.Claim(ctx, "c", 500, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if seen[d.DedupKey] {
				t.Fatalf("%s delivered twice", d.DedupKey)
			}
			seen[d.DedupKey] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("delivered %d of %d scheduled entries", len(seen), n)
	}
	if el := time.Since(notBefore); el > 5*time.Second {
		t.Errorf("delivering %d due entries took %v", n, el)
	}
}

// TestAuditAppendsAcrossReplicas: replicas (separate clients on one
// namespace) appending at once race for the head; WATCH makes the losers
// try again, and the chain never forks.
func TestAuditAppendsAcrossReplicas(t *testing.T) {
	url := redistest.Start(t)
	ns := newNamespace()
	const replicas, goroutines, each = 4, 4, 50
	stores := make([]*Store, replicas)
	for i := range stores {
		stores[i] = open(t, Options{URL: url, Namespace: ns})
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for r, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					id := fmt.Sprintf("r%d-g%d-%d", r, g, i)
					e, err := s.AppendAudit(ctx, store.AuditEntry{ID: id, Kind: "decision", At: time.Now()})
					if err != nil {
						t.Errorf("AppendAudit(%s): %v", id, err)
						return
					}
					// Appending again, on another replica, returns the entry.
					if i%10 == 0 {
						again, err := stores[(r+1)%replicas].AppendAudit(ctx, store.AuditEntry{ID: id, Kind: "other", At: time.Now()})
						if err != nil || again.Seq != e.Seq || again.Hash != e.Hash {
							t.Errorf("AppendAudit(%s) again = %d, %v; want seq %d", id, again.Seq, err, e.Seq)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	var conflicts int64
	for _, s := range stores {
		conflicts += s.auditConflicts.Load()
	}
	t.Logf("%d transactions lost the race for the head and were tried again", conflicts)
	rep, err := stores[0].VerifyAudit(ctx)
	if err != nil || !rep.OK || rep.Entries != replicas*goroutines*each {
		t.Fatalf("VerifyAudit = %+v, %v; want OK with %d entries", rep, err, replicas*goroutines*each)
	}
}

// TestPoolSize: Options.PoolSize sizes the connection pool (one per
// worker, rather than go-redis's 10 per CPU, for which the workers would
// queue), unless the URL's pool_size says otherwise.
func TestPoolSize(t *testing.T) {
	url := redistest.Start(t)
	for _, c := range []struct {
		url       string
		opt, want int
	}{
		{url, 77, 77},
		{url + "?pool_size=5", 77, 5},
		{url, 0, 10 * runtime.GOMAXPROCS(0)},
	} {
		s := open(t, Options{URL: c.url, Namespace: newNamespace(), PoolSize: c.opt})
		if got := s.client.Options().PoolSize; got != c.want {
			t.Errorf("URL %s, PoolSize %d: the pool holds %d connections, want %d", c.url, c.opt, got, c.want)
		}
	}
}

// TestPipelinerCarriesPlainCommands: plain commands share the batches
// of the scripts, and each caller gets its own reply: a value, Nil for
// a missing field, and an error reply for its own command only.
func TestPipelinerCarriesPlainCommands(t *testing.T) {
	url := redistest.Start(t)
	s := open(t, Options{URL: url, Namespace: newNamespace()})
	ctx := context.Background()
	key, wrongType := s.k.prefix+"plain", s.k.prefix+"plain:string"
	for i := range 50 {
		if err := s.client.HSet(ctx, key, fmt.Sprint("f", i), fmt.Sprint("v", i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.client.Set(ctx, wrongType, "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 50 {
		wg.Go(func() {
			if v, err := s.hget(ctx, key, fmt.Sprint("f", i)); err != nil || v != fmt.Sprint("v", i) {
				errs <- fmt.Errorf("hget f%d = %q, %v; want v%d", i, v, err, i)
			}
		})
		wg.Go(func() {
			if v, err := s.hget(ctx, key, fmt.Sprint("missing", i)); !errors.Is(err, goredis.Nil) {
				errs <- fmt.Errorf("hget missing%d = %q, %v; want redis.Nil", i, v, err)
			}
		})
		wg.Go(func() {
			if _, err := s.hget(ctx, wrongType, "f"); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
				errs <- fmt.Errorf("hget of a string key: %v; want WRONGTYPE", err)
			}
		})
		wg.Go(func() {
			res, err := s.pipe.do(ctx, "hmget", key, fmt.Sprint("f", i), "none")
			if vs, ok := res.([]any); err != nil || !ok || len(vs) != 2 || vs[0] != fmt.Sprint("v", i) || vs[1] != nil {
				errs <- fmt.Errorf("hmget f%d none = %#v, %v", i, res, err)
			}
		})
		wg.Go(func() { // a script in the same batches
			if err := s.AppendEventLog(ctx, store.LogEntry{DedupKey: fmt.Sprint("plain", i), Kind: "text", ReceivedAt: time.Now()}); err != nil {
				errs <- fmt.Errorf("AppendEventLog: %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
