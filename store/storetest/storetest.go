// Package storetest is the conformance suite every store.Store backend
// must pass. A backend's test calls Run with a function that opens a
// fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, q store.QueueOptions) store.Store {
//			s, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{Queue: q})
//			...
//		}, storetest.Options{Reopen: ...})
//	}
//
// The suite uses real, short durations (leases of a few hundred
// milliseconds) and asserts only "not before" and "eventually, within a
// generous bound", so it holds under -race on a loaded machine.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// OpenFunc opens a fresh, empty store with the given queue options and
// registers its Close on t's cleanup (tolerating store.ErrClosed, since
// some tests close the store themselves).
type OpenFunc func(t *testing.T, opts store.QueueOptions) store.Store

// Options are what a backend offers beyond opening a fresh store.
type Options struct {
	// Reopen, if set, closes s and opens the same data again with opts,
	// as a restarted process would. Backends whose data outlives the
	// store value (a file, a server) set it; the durability test is
	// skipped without it.
	Reopen func(t *testing.T, s store.Store, opts store.QueueOptions) store.Store

	// TamperAudit, DeleteAuditRaw and SwapAuditRaw change the stored
	// audit log behind the store's back, as someone with access to the
	// data could, writing its raw stored form: the tests prove that
	// VerifyAudit finds it. The tampering tests are skipped without them.
	//
	// TamperAudit decodes the entry stored at seq, lets mutate change it
	// (Hash included; it is not recomputed) and stores it back in the
	// same place, leaving the other entries, the ID index and the head
	// alone.
	TamperAudit func(t *testing.T, s store.Store, seq uint64, mutate func(*store.AuditEntry))
	// DeleteAuditRaw removes the entry stored at seq, and nothing else.
	DeleteAuditRaw func(t *testing.T, s store.Store, seq uint64)
	// SwapAuditRaw exchanges the entries stored at a and b, each as it is
	// (its Seq field unchanged): the entry of a is then stored at b.
	SwapAuditRaw func(t *testing.T, s store.Store, a, b uint64)
}

// Timings. The lease is short so lease expiry is tested in real time; the
// bounds on "eventually" are generous so a slow -race run still passes.
const (
	shortLease = 300 * time.Millisecond
	longLease  = 30 * time.Second
	eventually = 15 * time.Second
	// slack absorbs clock granularity (Redis keeps milliseconds) in
	// "not before" checks.
	slack = 20 * time.Millisecond
)

// Run runs the suite, each case in a parallel subtest on a fresh store.
func Run(t *testing.T, open OpenFunc, o Options) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open OpenFunc, o Options)
	}{
		{"EnqueueIsIdempotentOnDedupKey", testEnqueueIdempotent},
		{"AlertsRaiseIsIdempotent", testAlertsRaiseIsIdempotent},
		{"AlertsConcurrentRaiseOnce", testAlertsConcurrentRaiseOnce},
		{"AlertsListPages", testAlertsListPages},
		{"AlertsDecide", testAlertsDecide},
		{"AlertsAuditedCountsOverdue", testAlertsAuditedCountsOverdue},
		{"ConcurrentEnqueuesOfOneKeyAddOne", testConcurrentSameKey},
		{"EnqueueRejectsEmptyDedupKey", testEmptyDedupKey},
		{"DedupKeyExpiresAfterTTL", testDedupTTL},
		{"EventRoundTrips", testEventRoundTrip},
		{"ClaimIsFIFOForOneConsumer", testFIFO},
		{"ConcurrentConsumersGetEachEventOnce", testExactlyOnceAcrossConsumers},
		{"ClaimReturnsWhatIsAvailableWithoutWaiting", testClaimNoWaitWhenAvailable},
		{"ClaimWaitsThenReturnsEmpty", testClaimWaitTimeout},
		{"ClaimReturnsWhenContextIsCancelled", testClaimContextCancelled},
		{"ClaimWithDoneContextClaimsNothing", testClaimContextAlreadyDone},
		{"ClaimWakesOnEnqueue", testClaimWakesOnEnqueue},
		{"ExpiredLeaseIsReclaimedAsFailedAttempt", testLeaseExpiry},
		{"AckRemovesEntry", testAck},
		{"FailRetriesAfterDelay", testFailRetryAfter},
		{"FailRetryLongerThanLease", testFailRetryLongerThanLease},
		{"FailWithoutDelayIsClaimableAtOnce", testFailRetryZero},
		{"MaxAttemptsFailuresDeadLetter", testDeadLetterAfterFailures},
		{"RepeatedLeaseExpiryDeadLetters", testPoisonEvent},
		{"DeadLetterListAndGet", testDeadLetterListAndGet},
		{"RetryDeadLetter", testRetryDeadLetter},
		{"DropDeadLetter", testDropDeadLetter},
		{"ConcurrentRetriesOfADeadLetterQueueOnce", testConcurrentRetriesQueueOnce},
		{"ReleaseCountsNoAttempt", testRelease},
		{"StaleClaimIsFencedOff", testStaleClaimFenced},
		{"ExpiredLeaseNotRetakenStillHolds", testExpiredLeaseStillHolds},
		{"ExtendKeepsTheEntry", testExtend},
		{"EnqueueNotBeforeWaits", testEnqueueNotBefore},
		{"ScheduledEntriesEachAtTheirTime", testScheduledEachAtItsTime},
		{"PostponeCountsNoAttempt", testPostpone},
		{"PostponeLongerThanLease", testPostponeLongerThanLease},
		{"QueueStatsCountsByState", testQueueStats},
		{"EventLogOrderFilterLimit", testEventLog},
		{"EventLogAppendIsIdempotent", testEventLogIdempotent},
		{"EventLogPages", testEventLogPaging},
		{"LeaseIsExclusive", testLeaseExclusive},
		{"LeaseExpiresAfterTTL", testLeaseExpires},
		{"LeaseReacquireExtends", testLeaseExtends},
		{"ConcurrentAcquiresOneWins", testLeaseConcurrent},
		{"Tokens", testTokens},
		{"TokenExpires", testTokenExpires},
		{"TokenNeverInErrors", testTokenNeverInErrors},
		{"BookSendMinuteWindow", testBookSendMinuteWindow},
		{"BookSendHourWindow", testBookSendHourWindow},
		{"BookSendBlockedRecordsNothing", testBookSendBlockedRecordsNothing},
		{"BookSendAlreadyBooked", testBookSendAlready},
		{"BookSendConcurrentSameUnit", testBookSendConcurrentSameUnit},
		{"BookSendConcurrentUnitsKeepTheLimit", testBookSendConcurrentUnits},
		{"BookSendDailyQuota", testBookSendDailyQuota},
		{"BookSendScopesAreIndependent", testBookSendScopes},
		{"BookSendCountsRelativeToAt", testBookSendRelativeToAt},
		{"BookSendEdgeCases", testBookSendEdgeCases},
		{"SendResults", testSendResults},
		{"SendResultsOfALargeNotice", testSendResultsMany},
		{"ObligationCreateIsPutIfAbsent", testObligationCreate},
		{"ObligationCloseOnlyIfOpen", testObligationClose},
		{"ObligationUpdateIsAtomic", testObligationUpdate},
		{"ObligationListFiltersOrderAndPages", testObligationList},
		{"ObligationsAtScale", testObligationsAtScale},
		{"AttestStoresOnceAndAcknowledges", testAttest},
		{"AttestConcurrentCreatesOne", testAttestConcurrent},
		{"AttestationListFiltersOrderAndPages", testAttestationList},
		{"AttestationRounds", testAttestRounds},
		{"AttestConcurrentInOneRoundCreatesOne", testAttestConcurrentRound},
		{"UpdateObligationsManyAtOnce", testUpdateObligations},
		{"UpdateObligationsConcurrentWithClose", testUpdateObligationsConcurrent},
		{"DueIndexFollowsWrites", testDueFollowsWrites},
		{"DueIndexBuiltForWhatCameBefore", testDueIndexBuilt},
		{"DueListArguments", testDueListArguments},
		{"JobRunStates", testJobRuns},
		{"JobRunConcurrentStarts", testJobRunsConcurrent},
		{"JobRunListOrder", testJobRunsList},
		{"JobRunsKeepTheLast1000", testJobRunsKeepTheLast1000},
		{"Consents", testConsents},
		{"ConsentsByStatus", testConsentsByStatus},
		{"People", testPeople},
		{"PeopleAtScale", testPeopleAtScale},
		{"ClaimRecipients", testClaimRecipients},
		{"ClaimRecipientsAtScale", testClaimRecipientsAtScale},
		{"AuditAppendAndList", testAuditAppendAndList},
		{"AuditAppendIsIdempotentOnID", testAuditIdempotent},
		{"AuditConcurrentAppendsMakeOneChain", testAuditConcurrent},
		{"AuditTamperingIsDetected", testAuditTampering},
		{"AuditAtScale", testAuditAtScale},
		{"Holds", testHolds},
		{"PlaceAndReleaseHold", testPlaceAndReleaseHold},
		{"InterceptMappings", testInterceptMappings},
		{"PurgeEventLog", testPurgeEventLog},
		{"PurgeEventLogInBatches", testPurgeEventLogBatches},
		{"PurgeAttestations", testPurgeAttestations},
		{"PurgeConsents", testPurgeConsents},
		{"PurgeDeadLetters", testPurgeDeadLetters},
		{"PurgeDeadLettersKeepsAllWhileOneIsYoung", testPurgeDeadLettersKeepsIncident},
		{"PurgeRecipientClaims", testPurgeRecipientClaims},
		{"PurgeObligations", testPurgeObligations},
		{"PurgeSendResults", testPurgeSendResults},
		{"PurgeObligationsAndSendResultsInBatches", testPurgeInBatches},
		{"PurgeArguments", testPurgeArguments},
		{"RecordsSurviveReopen", testRecordsSurviveReopen},
		{"DataSurvivesReopen", testReopen},
		{"PingAndClose", testPingAndClose},
		{"CloseEndsWaitingClaim", testCloseEndsWaitingClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open, o)
		})
	}
}

// --- helpers ---

// baseTime has microsecond precision: backends keep ReceivedAt to the µs.
var baseTime = time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC)

func event(key string) store.Event {
	return store.Event{
		DedupKey:   key,
		Kind:       "text",
		Receiver:   "/wecom/callback",
		ReceivedAt: baseTime,
		Payload:    []byte("<xml><MsgId>" + key + "</MsgId></xml>"),
	}
}

func enqueue(t *testing.T, s store.Store, e store.Event) bool {
	t.Helper()
	added, err := s.Enqueue(t.Context(), e)
	if err != nil {
		t.Fatalf("Enqueue(%q): %v", e.DedupKey, err)
	}
	return added
}

func mustAdd(t *testing.T, s store.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if !enqueue(t, s, event(k)) {
			t.Fatalf("Enqueue(%q) = false, want true (new key)", k)
		}
	}
}

func claim(t *testing.T, s store.Store, consumer string, max int, wait time.Duration) []store.Delivery {
	t.Helper()
	ds, err := s.Claim(t.Context(), consumer, max, wait)
	if err != nil {
		t.Fatalf("Claim(%s, %d, %v): %v", consumer, max, wait, err)
	}
	return ds
}

// claimOne claims with no wait and requires exactly one delivery.
func claimOne(t *testing.T, s store.Store, consumer string) store.Delivery {
	t.Helper()
	ds := claim(t, s, consumer, 1, 0)
	if len(ds) != 1 {
		t.Fatalf("Claim(%s) returned %d deliveries, want 1", consumer, len(ds))
	}
	return ds[0]
}

func claimNone(t *testing.T, s store.Store, consumer string) {
	t.Helper()
	if ds := claim(t, s, consumer, 10, 0); len(ds) != 0 {
		t.Fatalf("Claim(%s) returned %d deliveries (first %q, attempts %d), want none", consumer, len(ds), ds[0].DedupKey, ds[0].Attempts)
	}
}

// claimEventually claims until one delivery comes, failing after the
// generous bound.
func claimEventually(t *testing.T, s store.Store, consumer string) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for time.Now().Before(deadline) {
		ds := claim(t, s, consumer, 1, 200*time.Millisecond)
		if len(ds) > 1 {
			t.Fatalf("Claim(max 1) returned %d deliveries", len(ds))
		}
		if len(ds) == 1 {
			return ds[0]
		}
	}
	t.Fatalf("Claim(%s): nothing claimable within %v", consumer, eventually)
	return store.Delivery{}
}

func stats(t *testing.T, s store.Store) store.QueueStats {
	t.Helper()
	st, err := s.QueueStats(t.Context())
	if err != nil {
		t.Fatalf("QueueStats: %v", err)
	}
	return st
}

func wantStats(t *testing.T, s store.Store, want store.QueueStats) {
	t.Helper()
	if got := stats(t, s); got != want {
		t.Fatalf("QueueStats = %+v, want %+v", got, want)
	}
}

func checkEvent(t *testing.T, what string, got, want store.Event) {
	t.Helper()
	if got.DedupKey != want.DedupKey || got.Kind != want.Kind || got.Receiver != want.Receiver {
		t.Errorf("%s: event = {%q %q %q}, want {%q %q %q}", what,
			got.DedupKey, got.Kind, got.Receiver, want.DedupKey, want.Kind, want.Receiver)
	}
	if !got.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("%s: ReceivedAt = %v, want %v", what, got.ReceivedAt, want.ReceivedAt)
	}
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("%s: Payload = %q, want %q", what, got.Payload, want.Payload)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want store.ErrNotFound", what, err)
	}
}

func opts(lease time.Duration, maxAttempts int) store.QueueOptions {
	return store.QueueOptions{Lease: lease, MaxAttempts: maxAttempts, DedupTTL: time.Hour}
}

// --- enqueue ---

func testEnqueueIdempotent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	e := event("msg-1")
	if !enqueue(t, s, e) {
		t.Fatal("first Enqueue = false, want true")
	}
	dup := e
	dup.Payload = []byte("a retried callback")
	if enqueue(t, s, dup) {
		t.Fatal("second Enqueue of the same DedupKey = true, want false")
	}
	wantStats(t, s, store.QueueStats{Ready: 1})
	ds := claim(t, s, "c1", 10, 0)
	if len(ds) != 1 {
		t.Fatalf("Claim returned %d deliveries, want 1", len(ds))
	}
	checkEvent(t, "delivery", ds[0].Event, e)
	// Still a duplicate while the first is leased, and after it is acked.
	if enqueue(t, s, e) {
		t.Error("Enqueue while leased = true, want false")
	}
	if err := s.Ack(t.Context(), ds[0].Receipt); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if enqueue(t, s, e) {
		t.Error("Enqueue after ack = true, want false (within DedupTTL)")
	}
	claimNone(t, s, "c1")
}

func testConcurrentSameKey(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const keys, racers = 10, 16
	var added [keys]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range keys * racers {
		wg.Go(func() {
			<-start
			k := i % keys
			ok, err := s.Enqueue(context.Background(), event(fmt.Sprintf("same-%d", k)))
			if err != nil {
				t.Errorf("Enqueue: %v", err)
				return
			}
			if ok {
				added[k].Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	for k := range added {
		if n := added[k].Load(); n != 1 {
			t.Errorf("key same-%d: %d of %d concurrent Enqueues added it, want exactly 1", k, n, racers)
		}
	}
	wantStats(t, s, store.QueueStats{Ready: keys})
	ds := claim(t, s, "c1", 100, 0)
	if len(ds) != keys {
		t.Fatalf("Claim returned %d deliveries, want %d", len(ds), keys)
	}
}

func testEmptyDedupKey(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	if _, err := s.Enqueue(t.Context(), event("")); err == nil {
		t.Error("Enqueue with an empty DedupKey succeeded, want an error")
	}
	if err := s.AppendEventLog(t.Context(), store.LogEntry{Kind: "text", ReceivedAt: baseTime}); err == nil {
		t.Error("AppendEventLog with an empty DedupKey succeeded, want an error")
	}
	wantStats(t, s, store.QueueStats{})
}

func testDedupTTL(t *testing.T, open OpenFunc, _ Options) {
	const ttl = 500 * time.Millisecond
	s := open(t, store.QueueOptions{Lease: longLease, MaxAttempts: 5, DedupTTL: ttl})
	start := time.Now()
	mustAdd(t, s, "ttl")
	if enqueue(t, s, event("ttl")) {
		t.Fatal("second Enqueue within DedupTTL = true, want false")
	}
	for {
		if enqueue(t, s, event("ttl")) {
			break
		}
		if time.Since(start) > eventually {
			t.Fatalf("dedup key still remembered %v after a DedupTTL of %v", eventually, ttl)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(start); d < ttl-slack {
		t.Errorf("dedup key forgotten after %v, before its DedupTTL of %v", d, ttl)
	}
	wantStats(t, s, store.QueueStats{Ready: 2})
}

func testEventRoundTrip(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	big := bytes.Repeat([]byte("<xml>企业微信 \x00\xff</xml>"), 20000) // ~600 KB
	events := []store.Event{
		{DedupKey: "xml", Kind: "text", Receiver: "/wecom/callback", ReceivedAt: baseTime,
			Payload: []byte("<xml><ToUserName><![CDATA[ww123]]></ToUserName><Content><![CDATA[你好，世界 🎉]]></Content></xml>")},
		{DedupKey: "binary", Kind: "image", Receiver: "/wecom/app", ReceivedAt: baseTime.Add(time.Microsecond), Payload: binary},
		{DedupKey: "invalid-utf8", Kind: "k", Receiver: "/r", ReceivedAt: baseTime.Add(-time.Hour), Payload: []byte{0xff, 0xfe, 0x00, 'a', 0xc3}},
		{DedupKey: "empty", Kind: "change_contact.create_user", Receiver: "/wecom/contacts", ReceivedAt: baseTime, Payload: nil},
		{DedupKey: "big", Kind: "msgaudit_notify", Receiver: "/wecom/archive", ReceivedAt: baseTime, Payload: big},
		{DedupKey: "键 with spaces:and{braces}\x00nul", Kind: "测试", Receiver: "/回调", ReceivedAt: time.Date(2030, 1, 1, 0, 0, 0, 1000, time.FixedZone("CST", 8*3600)), Payload: []byte(`{"json":true}`)},
	}
	for _, e := range events {
		if !enqueue(t, s, e) {
			t.Fatalf("Enqueue(%q) = false", e.DedupKey)
		}
	}
	got := map[string]store.Delivery{}
	for len(got) < len(events) {
		ds := claim(t, s, "c1", 100, 0)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			got[d.DedupKey] = d
		}
	}
	for _, e := range events {
		d, ok := got[e.DedupKey]
		if !ok {
			t.Errorf("event %q never delivered", e.DedupKey)
			continue
		}
		checkEvent(t, e.DedupKey, d.Event, e)
		if d.Attempts != 0 || d.LastError != "" {
			t.Errorf("%q: first delivery has Attempts %d, LastError %q; want 0, \"\"", e.DedupKey, d.Attempts, d.LastError)
		}
		if d.ID == "" {
			t.Errorf("%q: empty delivery ID", e.DedupKey)
		}
	}
}

// --- claim ---

func testFIFO(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	var want []string
	for i := range 10 {
		k := fmt.Sprintf("fifo-%02d", i)
		mustAdd(t, s, k)
		want = append(want, k)
	}
	var got []string
	for len(got) < len(want) {
		ds := claim(t, s, "c1", 3, 0)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			got = append(got, d.DedupKey)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("claim order = %v, want %v", got, want)
	}
}

func testExactlyOnceAcrossConsumers(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const n, producers, consumers = 200, 8, 4
	ctx := t.Context()

	var mu sync.Mutex
	seen := map[string]int{}
	total := 0
	done := make(chan struct{})
	var wg sync.WaitGroup
	for c := range consumers {
		wg.Go(func() {
			name := fmt.Sprintf("consumer-%d", c)
			for {
				select {
				case <-done:
					return
				default:
				}
				ds, err := s.Claim(ctx, name, 7, 100*time.Millisecond)
				if err != nil {
					t.Errorf("Claim(%s): %v", name, err)
					return
				}
				for _, d := range ds {
					if err := s.Ack(ctx, d.Receipt); err != nil {
						t.Errorf("Ack(%s): %v", d.ID, err)
					}
					mu.Lock()
					seen[d.DedupKey]++
					total++
					if total == n {
						close(done)
					}
					mu.Unlock()
				}
			}
		})
	}
	var pg sync.WaitGroup
	for p := range producers {
		pg.Go(func() {
			for i := p; i < n; i += producers {
				if _, err := s.Enqueue(ctx, event(fmt.Sprintf("ev-%03d", i))); err != nil {
					t.Errorf("Enqueue: %v", err)
				}
			}
		})
	}
	pg.Wait()
	select {
	case <-done:
	case <-time.After(2 * eventually):
		mu.Lock()
		t.Errorf("only %d of %d events delivered", total, n)
		mu.Unlock()
		close(done)
	}
	wg.Wait()
	for i := range n {
		k := fmt.Sprintf("ev-%03d", i)
		if seen[k] != 1 {
			t.Errorf("event %s delivered %d times, want 1", k, seen[k])
		}
	}
	claimNone(t, s, "late")
	wantStats(t, s, store.QueueStats{})
}

func testClaimNoWaitWhenAvailable(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	mustAdd(t, s, "a", "b")
	start := time.Now()
	ds := claim(t, s, "c1", 10, time.Minute)
	if len(ds) != 2 {
		t.Fatalf("Claim returned %d deliveries, want 2", len(ds))
	}
	if d := time.Since(start); d > eventually {
		t.Errorf("Claim took %v with entries available, want it to return without waiting", d)
	}
	claimNone(t, s, "c2")
}

func testClaimWaitTimeout(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const wait = 400 * time.Millisecond
	start := time.Now()
	ds := claim(t, s, "c1", 5, wait)
	d := time.Since(start)
	if len(ds) != 0 {
		t.Fatalf("Claim on an empty queue returned %d deliveries", len(ds))
	}
	if d < wait-slack {
		t.Errorf("Claim returned after %v, before its wait of %v", d, wait)
	}
	if d > eventually {
		t.Errorf("Claim returned after %v, long after its wait of %v", d, wait)
	}
}

func testClaimContextCancelled(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	ds, err := s.Claim(ctx, "c1", 5, time.Hour)
	if err != nil {
		t.Fatalf("Claim with a cancelled context: err = %v, want nil", err)
	}
	if len(ds) != 0 {
		t.Fatalf("Claim returned %d deliveries", len(ds))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Claim returned %v after start, long after its context was cancelled at 200ms", d)
	}
	// The store still works, and the cancelled Claim kept nothing.
	mustAdd(t, s, "after")
	if d := claimEventually(t, s, "c2"); d.DedupKey != "after" || d.Attempts != 0 {
		t.Errorf("after a cancelled Claim got %q with %d attempts, want \"after\" with 0", d.DedupKey, d.Attempts)
	}
}

func testClaimContextAlreadyDone(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	mustAdd(t, s, "a")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ds, err := s.Claim(ctx, "c1", 5, time.Second)
	if err != nil || len(ds) != 0 {
		t.Fatalf("Claim with a done context = %d deliveries, %v; want none, nil", len(ds), err)
	}
	wantStats(t, s, store.QueueStats{Ready: 1})
}

func testClaimWakesOnEnqueue(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	got := make(chan []store.Delivery, 1)
	go func() {
		ds, err := s.Claim(t.Context(), "waiter", 5, time.Minute)
		if err != nil {
			t.Errorf("Claim: %v", err)
		}
		got <- ds
	}()
	time.Sleep(300 * time.Millisecond)
	mustAdd(t, s, "wake-up")
	select {
	case ds := <-got:
		if len(ds) != 1 || ds[0].DedupKey != "wake-up" {
			t.Fatalf("waiting Claim returned %v, want the enqueued event", ds)
		}
	case <-time.After(eventually):
		t.Fatalf("waiting Claim did not return within %v of an Enqueue", eventually)
	}
}

// --- lease, ack, fail, release ---

func testLeaseExpiry(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(shortLease, 5))
	e := event("slow")
	if !enqueue(t, s, e) {
		t.Fatal("Enqueue = false")
	}
	start := time.Now()
	first := claimOne(t, s, "worker-a")
	if first.Attempts != 0 {
		t.Fatalf("first delivery Attempts = %d, want 0", first.Attempts)
	}
	claimNone(t, s, "worker-b")
	second := claimEventually(t, s, "worker-b")
	if d := time.Since(start); d < shortLease-slack {
		t.Errorf("reclaimed %v after the first Claim, before the %v lease ended", d, shortLease)
	}
	if second.ID != first.ID {
		t.Errorf("reclaimed ID = %q, want %q", second.ID, first.ID)
	}
	checkEvent(t, "reclaimed", second.Event, e)
	if second.Attempts != 1 {
		t.Errorf("reclaimed Attempts = %d, want 1", second.Attempts)
	}
	if !strings.Contains(second.LastError, "lease") {
		t.Errorf("reclaimed LastError = %q, want it to say the lease expired", second.LastError)
	}
	if err := s.Ack(t.Context(), second.Receipt); err != nil {
		t.Fatalf("Ack by the new holder: %v", err)
	}
	wantStats(t, s, store.QueueStats{})
}

func testAck(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	mustAdd(t, s, "a", "b")
	ds := claim(t, s, "c1", 2, 0)
	if len(ds) != 2 {
		t.Fatalf("Claim returned %d deliveries, want 2", len(ds))
	}
	if err := s.Ack(ctx, ds[0].Receipt); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	wantStats(t, s, store.QueueStats{Leased: 1})
	wantNotFound(t, "second Ack", s.Ack(ctx, ds[0].Receipt))
	_, err := s.Fail(ctx, ds[0].Receipt, "late", 0)
	wantNotFound(t, "Fail after Ack", err)
	wantNotFound(t, "Release after Ack", s.Release(ctx, ds[0].Receipt))
	wantNotFound(t, "Ack of a malformed id", s.Ack(ctx, store.Receipt{ID: "no-such-id", Token: ds[1].Token}))
	wantNotFound(t, "Ack of an empty receipt", s.Ack(ctx, store.Receipt{}))
	wantNotFound(t, "Ack with a malformed token", s.Ack(ctx, store.Receipt{ID: ds[1].ID, Token: "x"}))
	// A released entry is no longer held by the caller.
	if err := s.Release(ctx, ds[1].Receipt); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantNotFound(t, "Ack after Release", s.Ack(ctx, ds[1].Receipt))
	wantStats(t, s, store.QueueStats{Ready: 1})
}

func testFailRetryAfter(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	const retryAfter = 700 * time.Millisecond
	e := event("flaky")
	enqueue(t, s, e)
	d := claimOne(t, s, "c1")
	failedAt := time.Now()
	dead, err := s.Fail(t.Context(), d.Receipt, "wecom: send card: errcode 45009", retryAfter)
	if err != nil || dead {
		t.Fatalf("Fail = %v, %v; want false, nil", dead, err)
	}
	claimNone(t, s, "c1")
	wantStats(t, s, store.QueueStats{Ready: 1})
	again := claimEventually(t, s, "c2")
	if el := time.Since(failedAt); el < retryAfter-slack {
		t.Errorf("claimable %v after Fail, before retryAfter %v", el, retryAfter)
	}
	if again.ID != d.ID || again.Attempts != 1 || again.LastError != "wecom: send card: errcode 45009" {
		t.Errorf("retry = {ID %q, Attempts %d, LastError %q}, want {%q, 1, the Fail cause}", again.ID, again.Attempts, again.LastError, d.ID)
	}
	checkEvent(t, "retry", again.Event, e)
}

func testFailRetryLongerThanLease(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(shortLease, 5))
	retryAfter := 4 * shortLease
	mustAdd(t, s, "backoff")
	d := claimOne(t, s, "c1")
	failedAt := time.Now()
	if dead, err := s.Fail(t.Context(), d.Receipt, "boom", retryAfter); err != nil || dead {
		t.Fatalf("Fail = %v, %v; want false, nil", dead, err)
	}
	again := claimEventually(t, s, "c2")
	if el := time.Since(failedAt); el < retryAfter-slack {
		t.Errorf("claimable %v after Fail, before retryAfter %v", el, retryAfter)
	}
	// Waiting out the retry is not a lease that expired.
	if again.Attempts != 1 || again.LastError != "boom" {
		t.Errorf("retry Attempts = %d, LastError = %q; want 1, \"boom\"", again.Attempts, again.LastError)
	}
}

func testFailRetryZero(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	mustAdd(t, s, "again")
	d := claimOne(t, s, "c1")
	if _, err := s.Fail(t.Context(), d.Receipt, "transient", 0); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	again := claimOne(t, s, "c2")
	if again.ID != d.ID || again.Attempts != 1 || again.LastError != "transient" {
		t.Errorf("retry = {%q, %d, %q}, want {%q, 1, \"transient\"}", again.ID, again.Attempts, again.LastError, d.ID)
	}
}

func testDeadLetterAfterFailures(t *testing.T, open OpenFunc, _ Options) {
	const maxAttempts = 3
	s := open(t, opts(longLease, maxAttempts))
	ctx := t.Context()
	e := event("poison")
	enqueue(t, s, e)
	start := time.Now()
	var (
		id   string
		last store.Receipt
	)
	for i := 1; i <= maxAttempts; i++ {
		d := claimOne(t, s, "c1")
		if d.Attempts != i-1 {
			t.Fatalf("delivery %d: Attempts = %d, want %d", i, d.Attempts, i-1)
		}
		id, last = d.ID, d.Receipt
		dead, err := s.Fail(ctx, d.Receipt, fmt.Sprintf("boom %d", i), 0)
		if err != nil {
			t.Fatalf("Fail %d: %v", i, err)
		}
		if dead != (i == maxAttempts) {
			t.Fatalf("Fail %d: dead = %v, want %v", i, dead, i == maxAttempts)
		}
	}
	claimNone(t, s, "c1")
	mustAdd(t, s, "healthy")
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 1})
	dls := deadLetters(t, s)
	if len(dls) != 1 {
		t.Fatalf("ListDeadLetters returned %d, want 1", len(dls))
	}
	dl := dls[0]
	checkEvent(t, "dead letter", dl.Event, e)
	if dl.ID != id || dl.Attempts != maxAttempts || dl.LastError != fmt.Sprintf("boom %d", maxAttempts) {
		t.Errorf("dead letter = {ID %q, Attempts %d, LastError %q}, want {%q, %d, \"boom %d\"}", dl.ID, dl.Attempts, dl.LastError, id, maxAttempts, maxAttempts)
	}
	if dl.DiedAt.Before(start.Add(-time.Minute)) || dl.DiedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("DiedAt = %v, want about %v", dl.DiedAt, start)
	}
	wantNotFound(t, "Ack of a dead letter", s.Ack(ctx, last))
	// The dedup key outlives the entry: a replay is still a duplicate.
	if enqueue(t, s, e) {
		t.Error("Enqueue of a dead letter's DedupKey = true, want false")
	}
}

func testPoisonEvent(t *testing.T, open OpenFunc, _ Options) {
	const maxAttempts = 2
	s := open(t, opts(shortLease, maxAttempts))
	mustAdd(t, s, "crashes-workers")
	first := claimOne(t, s, "worker-1")         // worker-1 crashes
	second := claimEventually(t, s, "worker-2") // so does worker-2
	if second.ID != first.ID || second.Attempts != 1 {
		t.Fatalf("second delivery = {%q, %d}, want {%q, 1}", second.ID, second.Attempts, first.ID)
	}
	deadline := time.Now().Add(eventually)
	for {
		if ds := claim(t, s, "worker-3", 1, 100*time.Millisecond); len(ds) != 0 {
			t.Fatalf("delivered a %d. time with Attempts %d; MaxAttempts is %d", maxAttempts+1, ds[0].Attempts, maxAttempts)
		}
		if dls := deadLetters(t, s); len(dls) == 1 {
			if dls[0].ID != first.ID || dls[0].Attempts != maxAttempts || !strings.Contains(dls[0].LastError, "lease") {
				t.Errorf("dead letter = {%q, %d, %q}, want {%q, %d, lease expired}", dls[0].ID, dls[0].Attempts, dls[0].LastError, first.ID, maxAttempts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter within %v", eventually)
		}
	}
	wantStats(t, s, store.QueueStats{Dead: 1})
}

// testStaleClaimFenced: a worker whose lease ran out, and whose entry
// another claim has taken since (another consumer, or the same consumer
// name claiming again), can neither settle nor extend it: every call with
// its old receipt is ErrNotFound and changes nothing, and the new claim
// is untouched.
func testStaleClaimFenced(t *testing.T, open OpenFunc, _ Options) {
	for _, second := range []string{"c2", "c1"} {
		t.Run("then "+second, func(t *testing.T) {
			s := open(t, opts(shortLease, 5))
			ctx := t.Context()
			mustAdd(t, s, "slow")
			stale := claimOne(t, s, "c1")
			live := claimEventually(t, s, second) // after the lease ran out
			if live.ID != stale.ID || live.Attempts != 1 {
				t.Fatalf("reclaimed = {%q, %d}, want {%q, 1}", live.ID, live.Attempts, stale.ID)
			}
			if live.Token == stale.Token {
				t.Fatalf("the second claim has the first claim's token %q", live.Token)
			}
			wantNotFound(t, "Ack by the stale claim", s.Ack(ctx, stale.Receipt))
			_, err := s.Fail(ctx, stale.Receipt, "stale", 0)
			wantNotFound(t, "Fail by the stale claim", err)
			wantNotFound(t, "Release by the stale claim", s.Release(ctx, stale.Receipt))
			wantNotFound(t, "Postpone by the stale claim", s.Postpone(ctx, stale.Receipt, time.Hour))
			wantNotFound(t, "Extend by the stale claim", s.Extend(ctx, stale.Receipt))
			wantStats(t, s, store.QueueStats{Leased: 1})
			// Still the live claim's: nobody else gets it, and it settles.
			claimNone(t, s, "c3")
			if err := s.Extend(ctx, live.Receipt); err != nil {
				t.Fatalf("Extend by the live claim: %v", err)
			}
			if err := s.Ack(ctx, live.Receipt); err != nil {
				t.Fatalf("Ack by the live claim: %v", err)
			}
			wantStats(t, s, store.QueueStats{})
		})
	}
}

// testExpiredLeaseStillHolds: a lease that ran out while nobody claimed
// the entry still lets its worker settle it (the work is done; nobody
// else has started it).
func testExpiredLeaseStillHolds(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(shortLease, 5))
	mustAdd(t, s, "late")
	d := claimOne(t, s, "c1")
	time.Sleep(shortLease + 100*time.Millisecond) // not a "nothing happened" wait: the lease must run out
	if err := s.Ack(t.Context(), d.Receipt); err != nil {
		t.Fatalf("Ack after the lease ran out, nobody having claimed it: %v", err)
	}
	wantStats(t, s, store.QueueStats{})
	claimNone(t, s, "c2")
}

// testExtend: a claim extended before its lease runs out keeps its entry
// for as long as it is extended, without an attempt being counted; once
// it stops, the entry is taken over as an expired lease. Extend of a
// settled entry is ErrNotFound.
func testExtend(t *testing.T, open OpenFunc, _ Options) {
	const lease = time.Second
	s := open(t, opts(lease, 5))
	ctx := t.Context()
	mustAdd(t, s, "long", "short")
	ds := claim(t, s, "c1", 2, 0)
	if len(ds) != 2 {
		t.Fatalf("Claim returned %d deliveries, want 2", len(ds))
	}
	held, short := ds[0], ds[1]
	if err := s.Ack(ctx, short.Receipt); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, "Extend after Ack", s.Extend(ctx, short.Receipt))
	// Three leases long, extended every tenth of one: another consumer,
	// claiming all the while, never gets it.
	for end := time.Now().Add(3 * lease); time.Now().Before(end); {
		if err := s.Extend(ctx, held.Receipt); err != nil {
			t.Fatalf("Extend: %v", err)
		}
		if ds := claim(t, s, "c2", 1, lease/10); len(ds) != 0 {
			t.Fatalf("an extended entry was taken over: %+v", ds[0])
		}
	}
	wantStats(t, s, store.QueueStats{Leased: 1})
	// No longer extended: its lease runs out and it is taken over, as a
	// failed attempt.
	again := claimEventually(t, s, "c2")
	if again.ID != held.ID || again.Attempts != 1 || again.Token == held.Token {
		t.Errorf("taken over = {%q, %d, token %q}, want {%q, 1, a new token}", again.ID, again.Attempts, again.Token, held.ID)
	}
	wantNotFound(t, "Extend by the claim that stopped extending", s.Extend(ctx, held.Receipt))
	if err := s.Release(ctx, again.Receipt); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, "Extend after Release", s.Extend(ctx, again.Receipt))
}

func testRelease(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	mustAdd(t, s, "shutdown")
	d := claimOne(t, s, "c1")
	if err := s.Release(ctx, d.Receipt); err != nil {
		t.Fatalf("Release: %v", err)
	}
	again := claimOne(t, s, "c2") // at once, no wait
	if again.ID != d.ID || again.Attempts != 0 || again.LastError != "" {
		t.Errorf("after Release = {%q, %d, %q}, want {%q, 0, \"\"}", again.ID, again.Attempts, again.LastError, d.ID)
	}
	// Release keeps the attempts already counted, and adds none.
	if _, err := s.Fail(ctx, again.Receipt, "first failure", 0); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	third := claimOne(t, s, "c3")
	if err := s.Release(ctx, third.Receipt); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantNotFound(t, "second Release", s.Release(ctx, third.Receipt))
	fourth := claimOne(t, s, "c4")
	if fourth.Attempts != 1 || fourth.LastError != "first failure" {
		t.Errorf("after Fail and Release: Attempts %d, LastError %q; want 1, \"first failure\"", fourth.Attempts, fourth.LastError)
	}
}

func testQueueStats(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 2))
	ctx := t.Context()
	wantStats(t, s, store.QueueStats{})
	mustAdd(t, s, "a", "b", "c")
	wantStats(t, s, store.QueueStats{Ready: 3})

	a := claimOne(t, s, "c1")
	wantStats(t, s, store.QueueStats{Ready: 2, Leased: 1})
	if err := s.Release(ctx, a.Receipt); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, store.QueueStats{Ready: 3})

	a = claimOne(t, s, "c1")
	if a.DedupKey != "a" {
		t.Fatalf("claimed %q, want the released \"a\"", a.DedupKey)
	}
	if _, err := s.Fail(ctx, a.Receipt, "later", time.Hour); err != nil {
		t.Fatal(err)
	}
	// Waiting for its retry counts as waiting to be claimed.
	wantStats(t, s, store.QueueStats{Ready: 3})

	b := claimOne(t, s, "c1")
	if b.DedupKey != "b" {
		t.Fatalf("claimed %q, want \"b\" (\"a\" waits an hour)", b.DedupKey)
	}
	wantStats(t, s, store.QueueStats{Ready: 2, Leased: 1})
	if _, err := s.Fail(ctx, b.Receipt, "once", 0); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, store.QueueStats{Ready: 3})
	b = claimOne(t, s, "c1")
	if b.DedupKey != "b" {
		t.Fatalf("claimed %q, want the failed \"b\" before the new \"c\"", b.DedupKey)
	}
	if dead, err := s.Fail(ctx, b.Receipt, "twice", 0); err != nil || !dead {
		t.Fatalf("Fail = %v, %v; want dead", dead, err)
	}
	wantStats(t, s, store.QueueStats{Ready: 2, Dead: 1})

	c := claimOne(t, s, "c1")
	if err := s.Ack(ctx, c.Receipt); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, store.QueueStats{Ready: 1, Dead: 1})
}

// --- event log ---

func logEntry(key, kind string, at time.Time, fields map[string]string) store.LogEntry {
	return store.LogEntry{Kind: kind, DedupKey: key, CreateTime: at.Unix() - 2, ReceivedAt: at, Receiver: "/wecom/callback", Fields: fields}
}

func checkLog(t *testing.T, what string, got []store.LogEntry, want []store.LogEntry) {
	t.Helper()
	keys := func(es []store.LogEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.DedupKey)
		}
		return out
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("%s = %v, want %v", what, keys(got), keys(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.CreateTime != w.CreateTime || g.Receiver != w.Receiver || !g.ReceivedAt.Equal(w.ReceivedAt) {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
		}
		if !maps.Equal(g.Fields, w.Fields) { // nil and empty are equal
			t.Errorf("%s[%d].Fields = %v, want %v", what, i, g.Fields, w.Fields)
		}
	}
}

// listLog returns the first page of the event log (of kind, if set).
func listLog(t *testing.T, s store.Store, kind string, limit int) []store.LogEntry {
	t.Helper()
	es, _, err := s.ListEventLog(t.Context(), kind, store.Page{Limit: limit})
	if err != nil {
		t.Fatalf("ListEventLog(%q, %d): %v", kind, limit, err)
	}
	if es == nil {
		t.Fatalf("ListEventLog(%q, %d) = nil, want a non-nil slice", kind, limit)
	}
	return es
}

// pageLog reads the whole event log (of kind, if set) limit entries at a
// time, calling between (if set) after each page, and fails if a page is
// larger than limit, or if a page that is not the last is not full.
func pageLog(t *testing.T, s store.Store, kind string, limit int, between func(page int)) []store.LogEntry {
	t.Helper()
	var all []store.LogEntry
	p := store.Page{Limit: limit}
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("ListEventLog(%q) pages on and on", kind)
		}
		es, next, err := s.ListEventLog(t.Context(), kind, p)
		if err != nil {
			t.Fatalf("ListEventLog(%q, page %d): %v", kind, page, err)
		}
		if len(es) > limit || (next != "" && len(es) != limit) {
			t.Fatalf("ListEventLog(%q, page %d) = %d entries, next %q; limit %d", kind, page, len(es), next, limit)
		}
		all = append(all, es...)
		if next == "" {
			return all
		}
		if between != nil {
			between(page)
		}
		p.Cursor = next
	}
}

func testEventLog(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	e1 := logEntry("m1", "text", baseTime, map[string]string{"from_user": "zhangsan", "msg_id": "1", "名字": "张三"})
	e2 := logEntry("m2", "change_contact.create_user", baseTime.Add(time.Second), map[string]string{"user_id": "lisi"})
	e3 := logEntry("m3", "text", baseTime.Add(2*time.Second), nil)
	e4 := logEntry("m4", "text", baseTime.Add(time.Second), map[string]string{}) // ties with e2, appended later
	e5 := logEntry("m5", "enter_agent", baseTime.Add(-time.Second), nil)         // appended last, oldest
	for _, e := range []store.LogEntry{e1, e2, e3, e4, e5} {
		if err := s.AppendEventLog(t.Context(), e); err != nil {
			t.Fatalf("AppendEventLog(%s): %v", e.DedupKey, err)
		}
	}
	checkLog(t, "all", listLog(t, s, "", 100), []store.LogEntry{e3, e4, e2, e1, e5})
	checkLog(t, "text", listLog(t, s, "text", 100), []store.LogEntry{e3, e4, e1})
	checkLog(t, "limit 2", listLog(t, s, "", 2), []store.LogEntry{e3, e4})
	checkLog(t, "text limit 1", listLog(t, s, "text", 1), []store.LogEntry{e3})
	checkLog(t, "create_user", listLog(t, s, "change_contact.create_user", 100), []store.LogEntry{e2})
	checkLog(t, "unknown kind", listLog(t, s, "no_such_kind", 100), nil)
	// A page without a limit is store.DefaultPageLimit long.
	checkLog(t, "limit 0", listLog(t, s, "", 0), []store.LogEntry{e3, e4, e2, e1, e5})
}

// testEventLogPaging: the event log is read a page at a time, newest
// first, every entry exactly once — also across entries received in the
// same microsecond that a page boundary splits, with a kind filter, and
// while new entries are appended between pages (they are newer than the
// cursor and are not listed by the pages after it). A cursor that no
// event-log listing returned is ErrInvalidCursor.
func testEventLogPaging(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	var want, wantText []store.LogEntry // newest first
	for i := range 23 {
		// Three entries per microsecond, so that pages split ties.
		at := baseTime.Add(time.Duration(i/3) * time.Microsecond)
		kind := "text"
		if i%4 == 0 {
			kind = "enter_agent"
		}
		e := logEntry(fmt.Sprintf("p%02d", i), kind, at, map[string]string{"user_id": fmt.Sprint("u", i)})
		if err := s.AppendEventLog(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append([]store.LogEntry{e}, want...)
		if kind == "text" {
			wantText = append([]store.LogEntry{e}, wantText...)
		}
	}
	for _, limit := range []int{1, 2, 3, 4, 7, 22, 23, 24, 100} {
		checkLog(t, fmt.Sprintf("all, pages of %d", limit), pageLog(t, s, "", limit, nil), want)
		checkLog(t, fmt.Sprintf("text, pages of %d", limit), pageLog(t, s, "text", limit, nil), wantText)
	}
	checkLog(t, "unknown kind, paged", pageLog(t, s, "no_such_kind", 2, nil), nil)

	// Entries appended while a reader pages (newer, and one in the very
	// microsecond of the newest) are not listed by the later pages.
	got := pageLog(t, s, "", 5, func(page int) {
		at := baseTime.Add(time.Duration(7+page) * time.Microsecond) // the newest's microsecond first
		if err := s.AppendEventLog(ctx, logEntry(fmt.Sprint("new", page), "text", at, nil)); err != nil {
			t.Fatal(err)
		}
	})
	checkLog(t, "appended while paging", got, want)

	valid, _, err := s.ListEventLog(ctx, "", store.Page{Limit: 1})
	if err != nil || len(valid) != 1 {
		t.Fatalf("ListEventLog = %v, %v", valid, err)
	}
	_, dlNext, err := s.ListDeadLetters(ctx, store.Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"garbage", "!!", "ZXZlbnRfbG9nOg", "ZXZlbnRfbG9nOnh4eA", "b2JsaWdhdGlvbnM6eA", dlNext + "x"} {
		if _, _, err := s.ListEventLog(ctx, "", store.Page{Limit: 2, Cursor: bad}); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("ListEventLog(cursor %q) = %v, want ErrInvalidCursor", bad, err)
		}
	}
}

func testEventLogIdempotent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	e := logEntry("m1", "text", baseTime, map[string]string{"msg_id": "1"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.AppendEventLog(context.Background(), e); err != nil {
				t.Errorf("AppendEventLog: %v", err)
			}
		})
	}
	wg.Wait()
	// A re-run after a crash, even with different details, is a no-op.
	again := logEntry("m1", "image", baseTime.Add(time.Hour), nil)
	if err := s.AppendEventLog(t.Context(), again); err != nil {
		t.Fatalf("AppendEventLog again: %v", err)
	}
	checkLog(t, "all", listLog(t, s, "", 100), []store.LogEntry{e})
	checkLog(t, "image", listLog(t, s, "image", 100), nil)
}

// --- lifecycle ---

func testReopen(t *testing.T, open OpenFunc, o Options) {
	if o.Reopen == nil {
		t.Skip("the backend offers no Reopen")
	}
	q := opts(longLease, 1)
	s := open(t, q)
	ctx := t.Context()
	mustAdd(t, s, "a", "b", "c")
	a := claimOne(t, s, "c1")
	b := claimOne(t, s, "c1")
	if dead, err := s.Fail(ctx, b.Receipt, "fatal", 0); err != nil || !dead {
		t.Fatalf("Fail = %v, %v; want dead", dead, err)
	}
	le := logEntry("m1", "text", baseTime, map[string]string{"msg_id": "1"})
	if err := s.AppendEventLog(ctx, le); err != nil {
		t.Fatal(err)
	}
	later := event("later")
	later.NotBefore = time.Now().Add(time.Hour)
	if !enqueue(t, s, later) {
		t.Fatal("Enqueue(later) = false")
	}
	if !acquire(t, s, "leader", "replica-a", time.Hour) {
		t.Fatal("AcquireLease = false")
	}
	tokenExp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	putToken(t, s, "app", "tok", tokenExp)
	at := bookingNow()
	limited := booking("unit-1", at, "zhangsan")
	limited.MemberWindows = []store.RateWindow{{Period: time.Minute, Limit: 1}}
	mustBook(t, s, limited)
	sent := result("notice", "zhangsan", store.StatusSent)
	putResults(t, s, []store.RecipientResult{sent})

	s = o.Reopen(t, s, q)

	if enqueue(t, s, event("a")) {
		t.Error("after reopen the dedup key of \"a\" was forgotten")
	}
	wantStats(t, s, store.QueueStats{Ready: 2, Leased: 1, Dead: 1}) // c, and later (scheduled)
	if acquire(t, s, "leader", "replica-b", time.Hour) {
		t.Error("after reopen another holder took a held lease")
	}
	wantToken(t, s, "app", "tok", tokenExp)
	if res := book(t, s, limited); !res.Already {
		t.Errorf("after reopen booking the booked unit = %+v, want Already", res)
	}
	limited.UnitID = "unit-2"
	wantBlocked(t, limited, book(t, s, limited), map[string]time.Time{"zhangsan": at.Add(time.Minute)})
	checkResults(t, "after reopen", listResults(t, s, "notice"), []store.RecipientResult{sent})
	if c := claimOne(t, s, "c2"); c.DedupKey != "c" {
		t.Errorf("after reopen claimed %q, want \"c\"", c.DedupKey)
	}
	if err := s.Ack(ctx, a.Receipt); err != nil {
		t.Errorf("after reopen Ack of the leased %q: %v", a.ID, err)
	}
	if dls := deadLetters(t, s); len(dls) != 1 || dls[0].ID != b.ID || dls[0].LastError != "fatal" {
		t.Errorf("after reopen ListDeadLetters = %+v; want %q", dls, b.ID)
	} else if d, err := s.GetDeadLetter(ctx, b.ID); err != nil || d.LastError != "fatal" {
		t.Errorf("after reopen GetDeadLetter(%s) = %+v, %v", b.ID, d, err)
	}
	checkLog(t, "after reopen", listLog(t, s, "", 10), []store.LogEntry{le})
	checkLog(t, "after reopen, text", listLog(t, s, "text", 10), []store.LogEntry{le})
}

func testPingAndClose(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mustAdd(t, s, "a")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want store.ErrClosed", what, err)
		}
	}
	closed("Ping", s.Ping(ctx))
	_, err := s.Enqueue(ctx, event("b"))
	closed("Enqueue", err)
	_, err = s.Claim(ctx, "c1", 1, 100*time.Millisecond)
	closed("Claim", err)
	r := store.Receipt{ID: "1", Token: "1"}
	closed("Ack", s.Ack(ctx, r))
	_, err = s.Fail(ctx, r, "x", 0)
	closed("Fail", err)
	closed("Release", s.Release(ctx, r))
	closed("Extend", s.Extend(ctx, r))
	_, _, err = s.ListDeadLetters(ctx, store.Page{})
	closed("ListDeadLetters", err)
	_, err = s.GetDeadLetter(ctx, "1")
	closed("GetDeadLetter", err)
	_, err = s.RetryDeadLetter(ctx, "1")
	closed("RetryDeadLetter", err)
	_, err = s.DropDeadLetter(ctx, "1")
	closed("DropDeadLetter", err)
	_, err = s.QueueStats(ctx)
	closed("QueueStats", err)
	closed("Postpone", s.Postpone(ctx, r, time.Second))
	closed("AppendEventLog", s.AppendEventLog(ctx, logEntry("m", "text", baseTime, nil)))
	_, _, err = s.ListEventLog(ctx, "", store.Page{Limit: 10})
	closed("ListEventLog", err)
	_, err = s.AcquireLease(ctx, "leader", "replica-a", time.Minute)
	closed("AcquireLease", err)
	closed("ReleaseLease", s.ReleaseLease(ctx, "leader", "replica-a"))
	_, _, err = s.GetToken(ctx, "app")
	closed("GetToken", err)
	closed("PutToken", s.PutToken(ctx, "app", "tok", time.Now().Add(time.Hour)))
	closed("DeleteToken", s.DeleteToken(ctx, "app", "tok"))
	_, err = s.BookSend(ctx, booking("u1", bookingNow(), "a"))
	closed("BookSend", err)
	closed("PutSendResults", s.PutSendResults(ctx, []store.RecipientResult{result("n", "a", store.StatusSent)}))
	_, err = s.SendResult(ctx, "n", "a")
	closed("SendResult", err)
	_, err = s.ListSendResults(ctx, "n")
	closed("ListSendResults", err)
	_, err = s.GetSendResults(ctx, "n", []string{"a"})
	closed("GetSendResults", err)
	_, err = s.GetPeople(ctx, []string{"a"})
	closed("GetPeople", err)
	closed("IndexDue", s.IndexDue(ctx, []policy.Notice{dueNotice}))
	_, _, err = s.ListObligationsDue(ctx, dueNotice.ID, dueNotice.Version, baseTime, store.Page{})
	closed("ListObligationsDue", err)
	closed("Close", s.Close())
}

func testCloseEndsWaitingClaim(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	got := make(chan error, 1)
	go func() {
		ds, err := s.Claim(context.Background(), "waiter", 5, time.Hour)
		if len(ds) != 0 {
			t.Errorf("Claim on an empty queue returned %d deliveries", len(ds))
		}
		got <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-got:
		if err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("waiting Claim ended by Close: err = %v, want nil or store.ErrClosed", err)
		}
	case <-time.After(eventually):
		t.Fatalf("waiting Claim still waiting %v after Close", eventually)
	}
}
