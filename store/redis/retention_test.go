package redis

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/purge"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// TestPurgeLeavesNoIndexMembers: after a purge of obligations, send
// results and recipient claims, every index holds exactly the records
// left (ListObligations skips a member whose record is gone, so the
// conformance suite cannot see one); a resultsat or claimsat member whose
// record is gone is removed; a result written before resultsat existed
// is not seen by retention (kept), as documented at PutSendResults.
func TestPurgeLeavesNoIndexMembers(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	s := open(t, Options{URL: url, Namespace: newNamespace()})
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	// Acknowledged obligations of code v1 are due again after 30 days:
	// in its due index until they are purged.
	if err := s.IndexDue(ctx, []policy.Notice{{ID: "code", Version: 1, ReattestDays: 30}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateObligation(ctx, policy.Obligation{UserID: "e", NoticeID: "code", Version: 1, Status: policy.Pending, CreatedAt: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attest(ctx, policy.Attestation{UserID: "e", NoticeID: "code", Version: 1, Channel: policy.ChannelCard, ReceivedAt: old}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.client.ZCard(ctx, s.k.oblDue("code", 1)).Result(); err != nil || n != 1 {
		t.Fatalf("the due index of code v1 has %d members, %v; want e's", n, err)
	}
	for i, user := range []string{"a", "b", "c", "d"} {
		o := policy.Obligation{UserID: user, NoticeID: "code", Version: 1 + i%2, Status: policy.Pending, CreatedAt: old}
		if _, err := s.CreateObligation(ctx, o); err != nil {
			t.Fatal(err)
		}
		if user == "d" {
			continue // open: kept
		}
		if _, err := s.CloseObligation(ctx, user, "code", o.Version, policy.Cancelled, policy.ReasonLeftAudience, old); err != nil {
			t.Fatal(err)
		}
	}
	var rs []store.RecipientResult
	for _, user := range []string{"a", "b", "c"} {
		rs = append(rs, store.RecipientResult{NoticeKey: "code:v1", UserID: user, Status: store.StatusSent, At: old})
	}
	if err := s.PutSendResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// A result from before the index, and an index member without a result.
	legacy, err := json.Marshal(store.RecipientResult{NoticeKey: "legacy:v1", UserID: "a", Status: store.StatusSent, At: old})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.client.HSet(ctx, s.k.results("legacy:v1"), "a", legacy).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.client.ZAdd(ctx, s.k.resultsAt, goredis.Z{Score: float64(old.UnixMicro()), Member: resultMember("gone:v1", "x")}).Err(); err != nil {
		t.Fatal(err)
	}

	// Claims, and a claimsat member whose claim is gone.
	if _, err := s.ClaimRecipients(ctx, "code:v1:sha", "plan", []string{"a", "b\x00c\xff"}, old); err != nil {
		t.Fatal(err)
	}
	// The script encodes a member as Go does.
	if _, err := s.client.ZScore(ctx, s.k.claimsAt(), claimMember("code:v1:sha", "b\x00c\xff")).Result(); err != nil {
		t.Fatal(err)
	}
	if err := s.client.ZAdd(ctx, s.k.claimsAt(), goredis.Z{Score: float64(old.UnixMicro()), Member: claimMember("gone:v1:sha", "x")}).Err(); err != nil {
		t.Fatal(err)
	}

	before := old.Add(time.Hour)
	for kind, want := range map[store.RecordKind]int{store.RecordObligations: 4, store.RecordSendResults: 3, store.RecordRecipientClaims: 2} {
		b := store.PurgeBatch{Kind: kind, Before: before, Limit: 2}
		purged := 0
		for {
			res, err := s.Purge(ctx, b)
			if err != nil {
				t.Fatalf("Purge(%s): %v", kind, err)
			}
			purged += res.Purged
			if b.Cursor = res.Next; b.Cursor == "" {
				break
			}
		}
		if purged != want {
			t.Errorf("Purge(%s) purged %d, want %d", kind, purged, want)
		}
	}

	card := func(key string) int64 {
		t.Helper()
		n, err := s.client.ZCard(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n, err := s.client.HLen(ctx, s.k.obl).Result(); err != nil || n != 1 {
		t.Fatalf("obligations left = %d, %v; want d's", n, err)
	}
	for _, idx := range []string{s.k.oblIdx, s.k.oblUser, s.k.oblStatus} {
		if n := card(idx); n != 1 {
			t.Errorf("%s has %d members, want 1", idx, n)
		}
	}
	if n := card(s.k.oblDue("code", 1)); n != 0 {
		t.Errorf("the due index of code v1 has %d members, want none (e's purged)", n)
	}
	for v, want := range map[int]map[string]string{1: {}, 2: {"pending": "1"}} {
		got, err := s.client.HGetAll(ctx, s.k.oblCount("code", v)).Result()
		if err != nil || len(got) != len(want) || got["pending"] != want["pending"] {
			t.Errorf("counts of code v%d = %v, %v; want %v", v, got, err, want)
		}
	}
	if n := card(s.k.resultsAt); n != 0 {
		t.Errorf("resultsat has %d members, want none (the orphan removed)", n)
	}
	if n, err := s.client.HLen(ctx, s.k.results("code:v1")).Result(); err != nil || n != 0 {
		t.Errorf("results of code:v1 left = %d, %v; want none", n, err)
	}
	if n := card(s.k.claimsAt()); n != 0 {
		t.Errorf("claimsat has %d members, want none (the orphan removed)", n)
	}
	if n, err := s.client.Exists(ctx, s.k.claims("code:v1:sha")).Result(); err != nil || n != 0 {
		t.Errorf("the claims hash is still there: %d, %v", n, err)
	}
	if _, err := s.SendResult(ctx, "legacy:v1", "a"); err != nil {
		t.Errorf("a result from before resultsat: %v; want it kept (retention does not see it)", err)
	}
}

// TestPurgeSendResultsRejectsABadOffset: the send_results cursor is an
// offset; one that is not a count is ErrInvalidCursor.
func TestPurgeSendResultsRejectsABadOffset(t *testing.T) {
	s := open(t, Options{URL: redistest.Start(t), Namespace: newNamespace()})
	for _, offset := range []string{"x", "-1", "1e3"} {
		_, err := s.Purge(context.Background(), store.PurgeBatch{Kind: store.RecordSendResults, Before: time.Now(),
			Cursor: purge.Cursor(store.RecordSendResults, []byte(offset))})
		if !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("offset %q: err = %v, want ErrInvalidCursor", offset, err)
		}
	}
}
