package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
)

// leaseExpired is the last error recorded when a lease runs out.
const leaseExpired = "lease expired: worker crashed or took longer than the lease"

// Enqueue adds e unless its dedup key is remembered, in one script; see
// store.Queue. An entry whose NotBefore is still to come waits in the
// scheduled zset until a claim script run finds it due: this store's
// Claims run one at its NotBefore; another replica's within its poll
// interval. With DurabilityReplicas it returns a nil error, also for a
// duplicate, only once enough replicas have the event.
func (s *Store) Enqueue(ctx context.Context, e store.Event) (bool, error) {
	if err := s.check("enqueue"); err != nil {
		return false, err
	}
	if e.DedupKey == "" {
		return false, errors.New("redis: enqueue: empty dedup key")
	}
	var notBefore, scheduleAt string
	scheduled := !e.NotBefore.IsZero() && e.NotBefore.After(time.Now())
	if !e.NotBefore.IsZero() {
		notBefore = strconv.FormatInt(e.NotBefore.UnixMicro(), 10)
	}
	if scheduled {
		// Rounded up: claimable not before NotBefore.
		scheduleAt = strconv.FormatInt(ceilUnixMS(e.NotBefore), 10)
	}
	_, err := s.pipe.runDurable(ctx, enqueueScript,
		[]string{s.k.dedup(e.DedupKey), s.k.events, s.k.scheduled, s.k.scheduledSeq},
		ms(s.q.DedupTTL), e.DedupKey, e.Kind, e.Receiver, e.ReceivedAt.UnixMicro(), e.Payload,
		notBefore, scheduleAt,
	)
	switch {
	case errors.Is(err, goredis.Nil):
		return false, nil
	case err != nil:
		return false, s.wrap("enqueue "+e.DedupKey, err)
	}
	if scheduled {
		s.reclaimAt(e.NotBefore)
	}
	return true, nil
}

// Claim leases up to max entries to consumer; see store.Queue.
//
// New entries are read with XREADGROUP, blocking for up to wait. The
// claim script, which also takes back expired leases and due retries
// (XAUTOCLAIM) and moves due scheduled entries into the stream, runs when
// a reclaim is due: at most once per s.poll for the whole store, at once
// after this store's own Release, and when the retry, postponement or
// scheduled entry of this store's own Fail, Postpone or Enqueue comes due.
// Running it for every Claim would cost Redis a script per event for a
// check whose answer changes only as leases expire; this way an expired
// lease is taken back within s.poll of its expiry.
func (s *Store) Claim(ctx context.Context, consumer string, max int, wait time.Duration) ([]store.Delivery, error) {
	if err := s.check("claim"); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	s.consumers.Store(consumer, struct{}{})
	deadline := time.Now().Add(wait)
	for {
		if ctx.Err() != nil {
			return []store.Delivery{}, nil
		}
		read := false // whether this round has read new entries yet
		if s.reclaimDue() {
			ds, err := s.claimNow(ctx, consumer, max)
			if err != nil {
				if ctx.Err() != nil {
					return []store.Delivery{}, nil
				}
				return nil, err
			}
			if len(ds) > 0 {
				return ds, nil
			}
			read = true
		}
		remaining := time.Until(deadline)
		block := min(remaining, s.untilReclaim())
		if block < time.Millisecond { // BLOCK 0 would mean forever
			if remaining >= time.Millisecond {
				continue // a reclaim is due: run the script
			}
			if read {
				return []store.Delivery{}, nil
			}
			block = -1 // no time to wait: one read without BLOCK
		}
		ds, err := s.blockingRead(ctx, consumer, max, block)
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		if block < 0 {
			return []store.Delivery{}, nil
		}
	}
}

// reclaimDue reports whether a Claim should run the claim script now, and
// if so marks it done, so that concurrent Claims leave it to this one.
func (s *Store) reclaimDue() bool {
	last := s.lastReclaim.Load()
	now := time.Now().UnixNano()
	return now-last >= int64(s.poll) && s.lastReclaim.CompareAndSwap(last, now)
}

// untilReclaim is the time until the next reclaim is due.
func (s *Store) untilReclaim() time.Duration {
	return time.Duration(s.lastReclaim.Load() + int64(s.poll) - time.Now().UnixNano())
}

// reclaimAt makes a reclaim due at t at the latest, for an entry this
// store gives back (claimable at once after Release, after retryAfter
// after Fail, after the delay given to Postpone) or schedules (at its
// NotBefore).
func (s *Store) reclaimAt(t time.Time) {
	want := t.UnixNano() - int64(s.poll)
	for {
		last := s.lastReclaim.Load()
		if last <= want || s.lastReclaim.CompareAndSwap(last, want) {
			return
		}
	}
}

// scheduledBatch bounds how many due scheduled entries one claim script
// run moves into the stream; when it moves a full batch, the next Claim
// runs the script again at once.
const scheduledBatch = 1000

func (s *Store) claimNow(ctx context.Context, consumer string, max int) ([]store.Delivery, error) {
	reply, err := claimScript.Run(ctx, s.client, s.k.queue(),
		group, consumer, ms(s.q.Lease), max, s.q.MaxAttempts, leaseExpired, scheduledBatch,
	).Slice()
	if err != nil {
		return nil, s.wrap("claim", err)
	}
	if len(reply) != 2 {
		return nil, fmt.Errorf("redis: claim: unexpected reply of %d items", len(reply))
	}
	if more, _ := reply[0].(int64); more == 1 {
		s.reclaimAt(time.Now())
	}
	res, _ := reply[1].([]any)
	ds := make([]store.Delivery, 0, len(res))
	for _, r := range res {
		d, err := scriptDelivery(r)
		if err != nil {
			return nil, s.wrap("claim", err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

type readResult struct {
	ds  []store.Delivery
	err error
}

// blockingRead waits up to block for new entries with XREADGROUP BLOCK;
// a negative block reads without waiting.
// The client cannot interrupt a blocking command when ctx is cancelled
// (only deadlines reach the socket), so the read runs in its own
// goroutine and Claim returns at once on cancellation or Close; entries
// the abandoned read still receives are released (claimable at once, no
// attempt counted) instead of waiting out a lease.
func (s *Store) blockingRead(ctx context.Context, consumer string, max int, block time.Duration) ([]store.Delivery, error) {
	result := make(chan readResult) // unbuffered: a send means Claim took it
	gone := make(chan struct{})     // closed when Claim stops waiting
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil, fmt.Errorf("redis: claim: %w", store.ErrClosed)
	}
	s.readers.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.readers.Done()
		streams, err := s.client.XReadGroup(context.WithoutCancel(ctx), &goredis.XReadGroupArgs{
			Group:    group,
			Consumer: consumer,
			Streams:  []string{s.k.events, ">"},
			Count:    int64(max),
			Block:    block,
		}).Result()
		var r readResult
		switch {
		case errors.Is(err, goredis.Nil):
		case err != nil:
			r.err = s.wrap("claim: read new entries", err)
		default:
			for _, st := range streams {
				for _, m := range st.Messages {
					d, err := messageDelivery(m)
					if err != nil {
						r.err = s.wrap("claim", err)
						continue
					}
					r.ds = append(r.ds, d)
				}
			}
		}
		select {
		case result <- r:
		case <-gone:
			s.releaseAbandoned(r.ds)
		}
	}()
	select {
	case r := <-result:
		return r.ds, r.err
	case <-ctx.Done():
		close(gone)
		return []store.Delivery{}, nil
	case <-s.done:
		close(gone)
		return nil, fmt.Errorf("redis: claim: %w", store.ErrClosed)
	}
}

// releaseAbandoned gives back entries read for a Claim that stopped
// waiting. There is no caller to return an error to: a failure is logged,
// and the entry comes back when its lease expires.
func (s *Store) releaseAbandoned(ds []store.Delivery) {
	for _, d := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := releaseScript.Run(ctx, s.client, s.k.queue(), group, d.ID, ms(s.q.Lease), d.Token).Err()
		cancel()
		if err != nil {
			s.log.Warn("release an entry read for a Claim that stopped waiting; it returns after its lease",
				"id", d.ID, "err", s.redact(err))
		}
	}
	s.reclaimAt(time.Now())
}

// ms is d in whole milliseconds, at least 1: Redis's unit for expiries
// and idle times, where 0 would mean "at once" or be refused.
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// ceilMS is d in milliseconds rounded up, so "not before d" holds.
func ceilMS(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// ceilUnixMS is t in ms since the epoch, rounded up.
func ceilUnixMS(t time.Time) int64 {
	n := t.UnixMilli()
	if t.After(time.UnixMilli(n)) {
		n++
	}
	return n
}

// validReceipt reports whether r looks like what Claim hands out: a
// stream id ("ms-seq") and a delivery count; anything else was never
// handed out and is not found.
func validReceipt(r store.Receipt) bool {
	ms, seq, ok := strings.Cut(r.ID, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	_, err3 := strconv.ParseUint(r.Token, 10, 64)
	return err1 == nil && err2 == nil && err3 == nil
}

// Ack removes a leased entry; see store.Queue.
func (s *Store) Ack(ctx context.Context, r store.Receipt) error {
	if err := s.check("ack"); err != nil {
		return err
	}
	if !validReceipt(r) {
		return fmt.Errorf("redis: ack %q: %w", r.ID, store.ErrNotFound)
	}
	res, err := s.pipe.run(ctx, ackScript, s.k.queue(), group, r.ID, r.Token)
	if err != nil {
		return s.wrap("ack "+r.ID, err)
	}
	n, ok := res.(int64)
	if !ok {
		return fmt.Errorf("redis: ack %s: unexpected reply %T", r.ID, res)
	}
	if n == 0 {
		return fmt.Errorf("redis: ack %s: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

// Fail records a failed attempt; see store.Queue.
func (s *Store) Fail(ctx context.Context, r store.Receipt, cause string, retryAfter time.Duration) (bool, error) {
	if err := s.check("fail"); err != nil {
		return false, err
	}
	if !validReceipt(r) {
		return false, fmt.Errorf("redis: fail %q: %w", r.ID, store.ErrNotFound)
	}
	n, err := failScript.Run(ctx, s.client, s.k.queue(),
		group, r.ID, cause, ceilMS(retryAfter), ms(s.q.Lease), s.q.MaxAttempts, r.Token,
	).Int()
	if err != nil {
		return false, s.wrap("fail "+r.ID, err)
	}
	switch n {
	case -1:
		return false, fmt.Errorf("redis: fail %s: %w", r.ID, store.ErrNotFound)
	case 1:
		return true, nil
	}
	s.reclaimAt(time.Now().Add(retryAfter))
	return false, nil
}

// Release gives a leased entry back without counting an attempt; see
// store.Queue.
func (s *Store) Release(ctx context.Context, r store.Receipt) error {
	if err := s.check("release"); err != nil {
		return err
	}
	if !validReceipt(r) {
		return fmt.Errorf("redis: release %q: %w", r.ID, store.ErrNotFound)
	}
	n, err := releaseScript.Run(ctx, s.client, s.k.queue(), group, r.ID, ms(s.q.Lease), r.Token).Int()
	if err != nil {
		return s.wrap("release "+r.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: release %s: %w", r.ID, store.ErrNotFound)
	}
	s.reclaimAt(time.Now())
	return nil
}

// Postpone gives a leased entry back without counting an attempt,
// claimable after after; see store.Queue.
func (s *Store) Postpone(ctx context.Context, r store.Receipt, after time.Duration) error {
	if err := s.check("postpone"); err != nil {
		return err
	}
	if !validReceipt(r) {
		return fmt.Errorf("redis: postpone %q: %w", r.ID, store.ErrNotFound)
	}
	n, err := postponeScript.Run(ctx, s.client, s.k.queue(), group, r.ID, ceilMS(after), ms(s.q.Lease), r.Token).Int()
	if err != nil {
		return s.wrap("postpone "+r.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: postpone %s: %w", r.ID, store.ErrNotFound)
	}
	s.reclaimAt(time.Now().Add(after))
	return nil
}

// Extend renews the lease of the claim r names; see store.Queue.
func (s *Store) Extend(ctx context.Context, r store.Receipt) error {
	if err := s.check("extend"); err != nil {
		return err
	}
	if !validReceipt(r) {
		return fmt.Errorf("redis: extend %q: %w", r.ID, store.ErrNotFound)
	}
	n, err := extendScript.Run(ctx, s.client, s.k.queue(), group, r.ID, r.Token).Int()
	if err != nil {
		return s.wrap("extend "+r.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("redis: extend %s: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

// QueueStats counts entries by state; see store.Queue. Entries given back
// by Fail, Release or Postpone, and scheduled entries, count as ready.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	if err := s.check("queue stats"); err != nil {
		return store.QueueStats{}, err
	}
	n, err := statsScript.Run(ctx, s.client, []string{s.k.events, s.k.returned, s.k.dead, s.k.scheduled}, group).Int64Slice()
	if err != nil {
		return store.QueueStats{}, s.wrap("queue stats", err)
	}
	if len(n) != 3 {
		return store.QueueStats{}, fmt.Errorf("redis: queue stats: got %d counts, want 3", len(n))
	}
	return store.QueueStats{Ready: n[0], Leased: n[1], Dead: n[2]}, nil
}

// --- decoding ---

// scriptDelivery decodes one {id, {field, value, …}, attempts, last error,
// token} of the claim script.
func scriptDelivery(v any) (store.Delivery, error) {
	r, ok := v.([]any)
	if !ok || len(r) != 5 {
		return store.Delivery{}, fmt.Errorf("unexpected claim reply %T", v)
	}
	id, _ := r[0].(string)
	flat, _ := r[1].([]any)
	if len(flat)%2 != 0 {
		return store.Delivery{}, fmt.Errorf("entry %s: odd field list", id)
	}
	f := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		f[k] = val
	}
	e, err := fieldsEvent(f)
	if err != nil {
		return store.Delivery{}, fmt.Errorf("entry %s: %w", id, err)
	}
	attempts, _ := strconv.Atoi(fmt.Sprint(r[2]))
	lastErr, _ := r[3].(string)
	token, _ := r[4].(string)
	return store.Delivery{Receipt: store.Receipt{ID: id, Token: token}, Event: e, Attempts: attempts, LastError: lastErr}, nil
}

func messageDelivery(m goredis.XMessage) (store.Delivery, error) {
	e, err := fieldsEvent(stringValues(m.Values))
	if err != nil {
		return store.Delivery{}, fmt.Errorf("entry %s: %w", m.ID, err)
	}
	// XREADGROUP hands out new entries only: their delivery count is 1.
	return store.Delivery{Receipt: store.Receipt{ID: m.ID, Token: "1"}, Event: e}, nil
}

func stringValues(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}

func fieldsEvent(f map[string]string) (store.Event, error) {
	us, err := strconv.ParseInt(f["received_at"], 10, 64)
	if err != nil {
		return store.Event{}, fmt.Errorf("received_at %q: %w", f["received_at"], err)
	}
	var payload []byte
	if p := f["payload"]; p != "" {
		payload = []byte(p)
	}
	e := store.Event{
		DedupKey:   f["dedup"],
		Kind:       f["kind"],
		Receiver:   f["receiver"],
		ReceivedAt: time.UnixMicro(us).UTC(),
		Payload:    payload,
	}
	if nb, ok := f["not_before"]; ok {
		us, err := strconv.ParseInt(nb, 10, 64)
		if err != nil {
			return store.Event{}, fmt.Errorf("not_before %q: %w", nb, err)
		}
		e.NotBefore = time.UnixMicro(us).UTC()
	}
	return e, nil
}
