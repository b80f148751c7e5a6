package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/auditlog"
)

// Audit appends. A script cannot compute SHA-256, so the hash is computed
// here and the append is an optimistic transaction on the head key:
//
//	WATCH audit:head
//	GET audit:head; HMGET audit:ids ID…          (one round trip)
//	… compute Seq, PrevHash and Hash here …
//	MULTI; ZADD audit; HSET audit:ids; SET audit:head; EXEC
//
// EXEC fails if any replica moved the head in between, and the append is
// tried again (auditAttempts times at most, pausing with jitter). Within
// one process the appends go through one goroutine, which takes what is
// waiting as one batch (up to auditMaxBatch entries) and appends them in
// one such transaction: the process never races itself, and concurrent
// appends share the round trips, as Enqueue's share a pipeline.
//
// That transaction is four round trips (WATCH, the reads, MULTI…EXEC,
// UNWATCH), in series for the whole process. So the goroutine remembers
// the head it last read or wrote and first tries a batch as one script
// (appendAuditScript) that writes it only if the head is still that one
// and none of the batch's IDs is in the log; when another replica moved
// the head, or an ID is known, it falls back to the transaction.
const (
	auditMaxBatch = 256
	auditAttempts = 100
	auditMaxPause = 50 * time.Millisecond
	auditTimeout  = 10 * time.Second
)

// auditCall is one append waiting for its batch.
type auditCall struct {
	e     store.AuditEntry // normalised
	res   store.AuditEntry
	err   error
	ready chan struct{} // closed when res and err are set
}

// auditAppender is the goroutine that carries out a store's appends.
type auditAppender struct {
	s        *Store
	calls    chan *auditCall
	maxBatch int
	done     chan struct{} // closed by stop
	stopped  chan struct{} // closed when the loop has returned
	// head is the head the loop last read or wrote (Seq 0: none known):
	// the one appendAuditScript expects.
	head auditlog.Head
}

func newAuditAppender(s *Store, maxBatch int) *auditAppender {
	a := &auditAppender{
		s:        s,
		calls:    make(chan *auditCall, maxBatch),
		maxBatch: maxBatch,
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go a.loop()
	return a
}

// append appends e (normalised) in the next batch. If ctx ends first it
// returns ctx's error; the entry may still be appended.
func (a *auditAppender) append(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	c := &auditCall{e: e, ready: make(chan struct{})}
	select {
	case a.calls <- c:
	case <-ctx.Done():
		return store.AuditEntry{}, ctx.Err()
	case <-a.done:
		return store.AuditEntry{}, store.ErrClosed
	}
	select {
	case <-c.ready:
		return c.res, c.err
	case <-ctx.Done():
		return store.AuditEntry{}, ctx.Err()
	}
}

// stop lets the loop finish the batch in hand; calls not yet taken fail
// with ErrClosed.
func (a *auditAppender) stop() {
	close(a.done)
	<-a.stopped
	for {
		select {
		case c := <-a.calls:
			c.err = store.ErrClosed
			close(c.ready)
		default:
			return
		}
	}
}

func (a *auditAppender) loop() {
	defer close(a.stopped)
	batch := make([]*auditCall, 0, a.maxBatch)
	for {
		select {
		case <-a.done:
			return
		case c := <-a.calls:
			batch = append(batch[:0], c)
		}
	fill:
		for len(batch) < a.maxBatch {
			select {
			case c := <-a.calls:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		if a.head.Seq == 0 || !a.s.appendAuditFast(batch, &a.head) {
			a.s.appendAudit(batch, &a.head)
		}
		for _, c := range batch {
			close(c.ready)
		}
	}
}

// appendAuditFast appends a batch in one script if the head is still
// *head and no ID of the batch is in the log; then it sets every call's
// result and *head, and reports true. Otherwise (or on any error) it
// writes nothing it reports, and the caller appends with appendAudit.
func (s *Store) appendAuditFast(batch []*auditCall, head *auditlog.Head) bool {
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	res := make([]store.AuditEntry, len(batch))
	first := map[string]int{} // the call that appends an ID new in this batch
	next := *head
	args := make([]any, 2, 2+3*len(batch))
	for i, c := range batch {
		if j, ok := first[c.e.ID]; ok {
			res[i] = res[j] // a repeat gets the first one's entry
			continue
		}
		e := auditlog.Seal(c.e, next.Seq, next.Hash)
		v, err := auditlog.Marshal(e)
		if err != nil {
			return false // the transaction reports it for this call alone
		}
		next = auditlog.Head{Seq: e.Seq, Hash: e.Hash}
		first[e.ID] = i
		res[i] = e
		args = append(args, e.ID, strconv.FormatUint(e.Seq, 10), string(v))
	}
	args[0], args[1] = head.String(), next.String()
	// Straight to Redis, not through the pipeliner: every append of the
	// process waits for this one call, so it queues behind nothing.
	n, err := appendAuditScript.Run(ctx, s.client, []string{s.k.audit, s.k.auditIDs, s.k.auditHead}, args...).Result()
	if err != nil || n != int64(1) {
		return false
	}
	for i, c := range batch {
		c.res, c.err = res[i], nil
	}
	*head = next
	return true
}

// appendAuditScript appends a sealed batch if the head is still the one
// it was sealed on and none of its IDs is in the log (appendAuditFast).
// KEYS: the audit zset, the ID index, the head. ARGV: the expected head,
// the new head, then three per entry: ID, Seq, the entry's JSON.
// Returns 1 if it appended, 0 if it wrote nothing.
var appendAuditScript = goredis.NewScript(`
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[1] then return 0 end
for i = 3, #ARGV, 3 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then return 0 end
end
for i = 3, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[3], ARGV[2])
return 1
`)

// appendAudit appends a batch, trying again while other replicas win the
// race for the head; it sets every call's result, and *head to the head
// it read or wrote.
func (s *Store) appendAudit(batch []*auditCall, last *auditlog.Head) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	var err error
	for attempt := 0; attempt < auditAttempts; attempt++ {
		err = s.client.Watch(ctx, func(tx *goredis.Tx) error { return s.appendAuditTx(ctx, tx, batch, last) }, s.k.auditHead)
		if !errors.Is(err, goredis.TxFailedErr) {
			break
		}
		s.auditConflicts.Add(1)
		if err = pause(ctx, attempt, auditMaxPause); err != nil {
			break
		}
		err = fmt.Errorf("the head kept moving: gave up after %d attempts", auditAttempts)
	}
	if err != nil {
		for _, c := range batch {
			c.res, c.err = store.AuditEntry{}, err
		}
	}
}

// appendAuditTx is one attempt at a batch, on a connection that watches
// the head. It sets the calls' results only when the batch is written.
func (s *Store) appendAuditTx(ctx context.Context, tx *goredis.Tx, batch []*auditCall, last *auditlog.Head) error {
	ids := make([]string, len(batch))
	for i, c := range batch {
		ids[i] = c.e.ID
	}
	var headCmd *goredis.StringCmd
	var idsCmd *goredis.SliceCmd
	_, err := tx.Pipelined(ctx, func(p goredis.Pipeliner) error {
		headCmd = p.Get(ctx, s.k.auditHead)
		idsCmd = p.HMGet(ctx, s.k.auditIDs, ids...)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return err
	}
	var head auditlog.Head
	if raw, err := headCmd.Result(); err == nil {
		if head, err = auditlog.ParseHead(raw); err != nil {
			return err
		}
	} else if !errors.Is(err, goredis.Nil) {
		return err
	}

	res := make([]store.AuditEntry, len(batch))
	errs := make([]error, len(batch))
	first := map[string]int{} // the call that appends an ID new in this batch
	var added []goredis.Z
	var idArgs []any
	var existing []int // calls whose ID is in the log
	for i, c := range batch {
		if v, ok := idsCmd.Val()[i].(string); ok {
			seq, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				errs[i] = fmt.Errorf("malformed audit id index of %s", c.e.ID)
			} else {
				res[i].Seq = seq
				existing = append(existing, i)
			}
			continue
		}
		if j, ok := first[c.e.ID]; ok {
			res[i] = res[j] // filled in below, once j is sealed
			first[c.e.ID] = j
			continue
		}
		e := auditlog.Seal(c.e, head.Seq, head.Hash)
		v, err := auditlog.Marshal(e)
		if err != nil {
			errs[i] = err
			continue
		}
		head = auditlog.Head{Seq: e.Seq, Hash: e.Hash}
		first[e.ID] = i
		res[i] = e
		added = append(added, goredis.Z{Score: float64(e.Seq), Member: string(v)})
		idArgs = append(idArgs, e.ID, e.Seq)
	}
	// Repeats of an ID new in this batch get the first one's entry.
	for i, c := range batch {
		if j, ok := first[c.e.ID]; ok && j != i && errs[i] == nil {
			res[i], errs[i] = res[j], errs[j]
		}
	}

	if len(existing) > 0 {
		cmds := make([]*goredis.StringSliceCmd, len(existing))
		_, err := tx.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for k, i := range existing {
				seq := strconv.FormatUint(res[i].Seq, 10)
				cmds[k] = p.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: s.k.audit, Start: seq, Stop: seq, ByScore: true})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for k, i := range existing {
			members := cmds[k].Val()
			if len(members) != 1 {
				errs[i] = fmt.Errorf("the entry of id %s (seq %d) is missing from the log", batch[i].e.ID, res[i].Seq)
				continue
			}
			res[i], errs[i] = auditlog.Unmarshal([]byte(members[0]))
		}
	}

	if len(added) > 0 {
		_, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.ZAdd(ctx, s.k.audit, added...)
			p.HSet(ctx, s.k.auditIDs, idArgs...)
			p.Set(ctx, s.k.auditHead, head.String(), 0)
			return nil
		})
		if err != nil {
			return err // TxFailedErr: another replica appended; try again
		}
	}
	for i, c := range batch {
		c.res, c.err = res[i], errs[i]
	}
	*last = head
	return nil
}

// AppendAudit appends e unless its ID is in the log; see store.Audit.
// The hash is computed here and the append is a WATCH/MULTI transaction
// on the head, tried again when another replica appended first; the
// appends of one process are batched (see auditAppender). Data is stored
// (and hashed) compacted.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	op := "append audit entry " + e.ID
	if err := s.check(op); err != nil {
		return store.AuditEntry{}, err
	}
	e, err := auditlog.Normalize(e)
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("redis: %s: %w", op, err)
	}
	out, err := s.audit.append(ctx, e)
	if err != nil {
		return store.AuditEntry{}, s.wrap(op, err)
	}
	return out, nil
}

// ListAudit returns up to limit entries after Seq after, in order; see
// store.Audit.
func (s *Store) ListAudit(ctx context.Context, after uint64, limit int) ([]store.AuditEntry, error) {
	if err := s.check("list audit"); err != nil {
		return nil, err
	}
	out := []store.AuditEntry{}
	if limit <= 0 {
		return out, nil
	}
	members, err := s.client.ZRangeArgs(ctx, goredis.ZRangeArgs{
		Key: s.k.audit, Start: "(" + strconv.FormatUint(after, 10), Stop: "+inf", ByScore: true, Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, s.wrap("list audit", err)
	}
	for _, m := range members {
		e, err := auditlog.Unmarshal([]byte(m))
		if err != nil {
			return nil, fmt.Errorf("redis: list audit: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// VerifyAudit walks the log in Seq order, auditlog.VerifyPage entries a
// read (by rank, so that no stored entry is skipped whatever its score),
// and checks every entry and link; see store.Audit.
func (s *Store) VerifyAudit(ctx context.Context) (store.AuditReport, error) {
	if err := s.check("verify audit"); err != nil {
		return store.AuditReport{}, err
	}
	var head auditlog.Head
	hasHead := false
	raw, err := s.client.Get(ctx, s.k.auditHead).Result()
	switch {
	case err == nil:
		if head, err = auditlog.ParseHead(raw); err != nil {
			return store.AuditReport{}, fmt.Errorf("redis: verify audit: %w", err)
		}
		hasHead = true
	case !errors.Is(err, goredis.Nil):
		return store.AuditReport{}, s.wrap("verify audit", err)
	}
	v := auditlog.NewVerifier(head, hasHead)
	for start := int64(0); ; start += auditlog.VerifyPage {
		zs, err := s.client.ZRangeWithScores(ctx, s.k.audit, start, start+auditlog.VerifyPage-1).Result()
		if err != nil {
			return store.AuditReport{}, s.wrap("verify audit", err)
		}
		for _, z := range zs {
			member, _ := z.Member.(string)
			e, err := auditlog.Unmarshal([]byte(member))
			stored := uint64(0)
			if z.Score >= 1 && z.Score <= 1<<53 && z.Score == math.Trunc(z.Score) {
				stored = uint64(z.Score)
			} else if err == nil {
				err = fmt.Errorf("stored with score %v", z.Score)
			}
			v.Add(stored, e, err)
		}
		if len(zs) < auditlog.VerifyPage {
			return v.Report(), nil
		}
	}
}
