package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// inRound returns a in round r.
func inRound(a policy.Attestation, r int) policy.Attestation {
	a.Round = r
	return a
}

// reopen moves a person's obligation into round r, open again, as the
// cron does when reattest_days have passed.
func reopen(t *testing.T, s store.Store, user, notice string, version, r int) {
	t.Helper()
	err := s.UpdateObligation(t.Context(), user, notice, version, func(o policy.Obligation) (policy.Obligation, error) {
		o.Status, o.Round, o.AcknowledgedAt, o.ClosedReason, o.ClosedAt, o.Reminders = policy.Pending, r, time.Time{}, "", time.Time{}, 0
		return o, nil
	})
	if err != nil {
		t.Fatalf("reopen (%s, %s, %d) in round %d: %v", user, notice, version, r, err)
	}
}

func getAttestation(t *testing.T, s store.Store, user, notice string, version int) policy.Attestation {
	t.Helper()
	a, err := s.GetAttestation(t.Context(), user, notice, version)
	if err != nil {
		t.Fatalf("GetAttestation(%s, %s, %d): %v", user, notice, version, err)
	}
	return a
}

func listAttestations(t *testing.T, s store.Store, f store.AttestationFilter, limit int) []policy.Attestation {
	t.Helper()
	return pageAll(t, fmt.Sprintf("ListAttestations(%+v)", f), limit, func(p store.Page) ([]policy.Attestation, string, error) {
		return s.ListAttestations(t.Context(), f, p)
	})
}

// testAttestRounds: an obligation acknowledged in round 0 and reopened in
// round 1 is acknowledged again by round 1's attestation only: a late
// click of round 0 is no new evidence (round 0 has its attestation) and
// acknowledges nothing; a click of a round without one is kept as
// evidence but acknowledges only its own round.
func testAttestRounds(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	createObligation(t, s, obligation("zhangsan", "code", 1, policy.Pending))
	createObligation(t, s, obligation("lisi", "code", 1, policy.Pending))

	at0 := baseTime.Add(time.Hour)
	r0 := attestation("zhangsan", "code", 1, policy.ChannelCard, at0)
	if !attest(t, s, r0) {
		t.Fatal("Attest of round 0 = false")
	}
	reopen(t, s, "zhangsan", "code", 1, 1)
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Pending: 2})

	// A round-0 click replayed after the reopen: round 0 is attested
	// already, so nothing is stored, and round 1 stays open.
	if attest(t, s, attestation("zhangsan", "code", 1, policy.ChannelCard, at0.Add(2*time.Hour))) {
		t.Error("a second round-0 Attest after the reopen = true")
	}
	if o := getObligation(t, s, "zhangsan", "code", 1); o.Status != policy.Pending || o.Round != 1 || !o.AcknowledgedAt.IsZero() {
		t.Errorf("round 1 after a round-0 click: %s in round %d acknowledged at %v; want pending in round 1", o.Status, o.Round, o.AcknowledgedAt)
	}
	sameJSON(t, "GetAttestation before round 1 is attested", getAttestation(t, s, "zhangsan", "code", 1), r0)

	at1 := baseTime.Add(400 * 24 * time.Hour)
	r1 := inRound(attestation("zhangsan", "code", 1, policy.ChannelReply, at1), 1)
	if !attest(t, s, r1) {
		t.Fatal("Attest of round 1 = false")
	}
	want := obligation("zhangsan", "code", 1, policy.Acknowledged)
	want.Round, want.AcknowledgedAt, want.ClosedReason, want.ClosedAt = 1, at1, policy.ReasonReplyAck, at1
	sameJSON(t, "obligation acknowledged in round 1", getObligation(t, s, "zhangsan", "code", 1), want)
	sameJSON(t, "GetAttestation (the latest round's)", getAttestation(t, s, "zhangsan", "code", 1), r1)
	if attest(t, s, inRound(attestation("zhangsan", "code", 1, policy.ChannelCard, at1.Add(time.Minute)), 1)) {
		t.Error("a second round-1 Attest = true")
	}
	sameJSON(t, "GetAttestation after a second round-1 click", getAttestation(t, s, "zhangsan", "code", 1), r1)
	got := listAttestations(t, s, store.AttestationFilter{UserID: "zhangsan"}, 0)
	sameJSON(t, "one person's attestations, every round", got, []policy.Attestation{r0, r1})
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Acknowledged: 1, policy.Pending: 1})

	// lisi's obligation is in round 2: a late click of round 1 (never
	// attested) is kept as evidence and acknowledges nothing; round 2's
	// acknowledges.
	reopen(t, s, "lisi", "code", 1, 2)
	late := inRound(attestation("lisi", "code", 1, policy.ChannelCard, at0), 1)
	if !attest(t, s, late) {
		t.Error("Attest of an earlier round without an attestation = false; the evidence must be kept")
	}
	if o := getObligation(t, s, "lisi", "code", 1); o.Status != policy.Pending || o.Round != 2 {
		t.Errorf("round 2 after a round-1 click: %s in round %d; want pending in round 2", o.Status, o.Round)
	}
	r2 := inRound(attestation("lisi", "code", 1, policy.ChannelCard, at1), 2)
	if !attest(t, s, r2) {
		t.Error("Attest of round 2 = false")
	}
	if o := getObligation(t, s, "lisi", "code", 1); o.Status != policy.Acknowledged || o.Round != 2 || !o.AcknowledgedAt.Equal(at1) {
		t.Errorf("after round 2's attestation: %s in round %d at %v; want acknowledged in round 2 at %v", o.Status, o.Round, o.AcknowledgedAt, at1)
	}
	sameJSON(t, "lisi's latest attestation", getAttestation(t, s, "lisi", "code", 1), r2)
	wantCounts(t, s, "code", 1, map[policy.ObligationStatus]int{policy.Acknowledged: 2})

	// The version's attestations in (UserID, Round) order, a page of one
	// at a time (cursors between rounds of one person).
	got = listAttestations(t, s, store.AttestationFilter{NoticeID: "code", Version: 1}, 1)
	sameJSON(t, "the version's attestations", got, []policy.Attestation{late, r2, r0, r1})

	bad := inRound(attestation("wangwu", "code", 1, policy.ChannelCard, at0), -1)
	if _, err := s.Attest(ctx, bad); err == nil {
		t.Error("Attest of round -1 succeeded")
	}
	_, err := s.GetAttestation(ctx, "wangwu", "code", 1)
	wantNotFound(t, "GetAttestation of a refused attestation", err)
}

// testAttestConcurrentRound: in round 1, 20 replicas' workers attest the
// same person, version and round at once, while 20 replay round 0's
// click: one attestation of round 1 is created, none of round 0, and the
// obligation carries the winner's time.
func testAttestConcurrentRound(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	for trial := range 3 {
		notice := fmt.Sprint("code-", trial)
		createObligation(t, s, obligation("zhangsan", notice, 1, policy.Pending))
		r0 := attestation("zhangsan", notice, 1, policy.ChannelCard, baseTime)
		attest(t, s, r0)
		reopen(t, s, "zhangsan", notice, 1, 1)
		const n = 20
		var created, created0 atomic.Int32
		var winner atomic.Int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ok, err := s.Attest(ctx, inRound(attestation("zhangsan", notice, 1, policy.ChannelCard, baseTime.Add(time.Duration(i+1)*time.Second)), 1))
				if err != nil {
					t.Errorf("Attest: %v", err)
				}
				if ok {
					created.Add(1)
					winner.Store(int64(i))
				}
			})
			wg.Go(func() {
				ok, err := s.Attest(ctx, attestation("zhangsan", notice, 1, policy.ChannelCard, baseTime.Add(time.Duration(i+1)*time.Minute)))
				if err != nil {
					t.Errorf("Attest of round 0: %v", err)
				}
				if ok {
					created0.Add(1)
				}
			})
		}
		wg.Wait()
		if c, c0 := created.Load(), created0.Load(); c != 1 || c0 != 0 {
			t.Fatalf("trial %d: %d attestations of round 1 and %d of round 0 created, want 1 and 0", trial, c, c0)
		}
		at := baseTime.Add(time.Duration(winner.Load()+1) * time.Second)
		if a := getAttestation(t, s, "zhangsan", notice, 1); a.Round != 1 || !a.ReceivedAt.Equal(at) {
			t.Errorf("trial %d: latest attestation of round %d at %v, want round 1 at %v", trial, a.Round, a.ReceivedAt, at)
		}
		o := getObligation(t, s, "zhangsan", notice, 1)
		if o.Status != policy.Acknowledged || o.Round != 1 || !o.AcknowledgedAt.Equal(at) {
			t.Errorf("trial %d: obligation %s in round %d at %v; want acknowledged in round 1 at %v", trial, o.Status, o.Round, o.AcknowledgedAt, at)
		}
		all := listAttestations(t, s, store.AttestationFilter{NoticeID: notice}, 0)
		if len(all) != 2 || !slices.Equal([]int{all[0].Round, all[1].Round}, []int{0, 1}) {
			t.Errorf("trial %d: %d attestations listed, want rounds 0 and 1", trial, len(all))
		}
		wantCounts(t, s, notice, 1, map[policy.ObligationStatus]int{policy.Acknowledged: 1})
	}
}
