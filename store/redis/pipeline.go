package redis

import (
	"context"
	"errors"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
)

// pipeliner sends the script calls that many goroutines make at the same
// time (callback handlers enqueueing, workers logging and acking) to Redis
// as one pipeline: one write and one read for a whole batch instead of a
// round trip each. It is Redis's counterpart of the embedded store's group
// commit. A batch is whatever is waiting when a sender is free, so an idle
// store adds no delay; a few senders keep several pipelines in flight.
//
// In replicas mode a batch that carries a durable call (an enqueue) ends
// with one WAIT for the replicas, whose cost the whole batch shares; the
// durable calls succeed only if enough replicas acknowledged.
type pipeliner struct {
	client   *goredis.Client
	calls    chan *scriptCall
	maxBatch int
	timeout  time.Duration // bounds one pipeline's round trip
	wait     *replicaWait  // nil: no call waits for replicas
	done     chan struct{} // closed by stop
	senders  sync.WaitGroup
}

// scriptCall is one script run, or one plain command, waiting for its
// batch.
type scriptCall struct {
	script *goredis.Script
	keys   []string
	args   []any
	// cmd, if set, is a plain command sent instead of a script (see
	// do); it belongs to the batch, and its reply is copied to res.
	cmd *goredis.Cmd
	// durable: with replicas mode on, the call succeeds only once
	// enough replicas acknowledged its writes.
	durable bool
	res     any
	err     error
	ready   chan struct{} // closed when res and err are set
}

// newPipeliner starts the senders. wait, if not nil, makes the batches
// with a durable call wait for replicas.
func newPipeliner(client *goredis.Client, senders, maxBatch int, timeout time.Duration, wait *replicaWait) *pipeliner {
	p := &pipeliner{
		client:   client,
		calls:    make(chan *scriptCall, maxBatch*senders),
		maxBatch: maxBatch,
		timeout:  timeout,
		wait:     wait,
		done:     make(chan struct{}),
	}
	for range senders {
		p.senders.Go(p.send)
	}
	return p
}

// run runs script in the next batch and returns its result, as
// script.Run(ctx, client, keys, args...).Result() would. If ctx ends
// first, run returns ctx's error; the call may still be carried out.
func (p *pipeliner) run(ctx context.Context, script *goredis.Script, keys []string, args ...any) (any, error) {
	return p.call(ctx, &scriptCall{script: script, keys: keys, args: args, ready: make(chan struct{})})
}

// runDurable is run for a write that must survive the loss of the
// primary: in replicas mode it returns a nil error (or goredis.Nil) only
// once enough replicas have acknowledged it; otherwise the error says how
// many did. Its writes may then exist on the primary alone.
func (p *pipeliner) runDurable(ctx context.Context, script *goredis.Script, keys []string, args ...any) (any, error) {
	return p.call(ctx, &scriptCall{script: script, keys: keys, args: args, durable: true, ready: make(chan struct{})})
}

// do sends a plain command (a read such as HGET: one key's lookup does
// not need a script) in the next batch and returns its reply, as
// client.Do(ctx, args...).Result() would (goredis.Nil for none). A read
// sent this way shares the batch's write and read with the scripts of
// other goroutines instead of taking a connection of its own.
func (p *pipeliner) do(ctx context.Context, args ...any) (any, error) {
	return p.call(ctx, &scriptCall{cmd: goredis.NewCmd(ctx, args...), ready: make(chan struct{})})
}

func (p *pipeliner) call(ctx context.Context, c *scriptCall) (any, error) {
	select {
	case p.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, store.ErrClosed
	}
	select {
	case <-c.ready:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop lets the senders finish the calls already taken and waits for them.
// Calls not yet taken fail with ErrClosed.
func (p *pipeliner) stop() {
	close(p.done)
	p.senders.Wait()
	for {
		select {
		case c := <-p.calls:
			c.err = store.ErrClosed
			close(c.ready)
		default:
			return
		}
	}
}

func (p *pipeliner) send() {
	batch := make([]*scriptCall, 0, p.maxBatch)
	for {
		select {
		case <-p.done:
			return
		case c := <-p.calls:
			batch = append(batch[:0], c)
		}
	fill:
		for len(batch) < p.maxBatch {
			select {
			case c := <-p.calls:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		p.exec(batch)
	}
}

// exec runs a batch as one pipeline of EVALSHA, followed by the replicas'
// WAIT if the batch carries a durable call and p.wait is set. A script
// Redis does not have (NOSCRIPT: first use, or after a restart or SCRIPT
// FLUSH) is run again on its own with Script.Run, which loads it; a
// durable call run again so needs a WAIT of its own, after it.
func (p *pipeliner) exec(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	pipe := p.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(batch))
	durable := false
	for i, c := range batch {
		if c.cmd != nil {
			_ = pipe.Process(ctx, c.cmd) // queued; its error comes with Exec
			continue
		}
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		durable = durable || c.durable
	}
	var wait *goredis.IntCmd
	if durable && p.wait != nil {
		wait = p.wait.add(ctx, pipe)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	rerunDurable := false
	for i, c := range batch {
		if c.cmd != nil {
			c.res, c.err = c.cmd.Result()
			continue
		}
		c.res, c.err = cmds[i].Result()
		if c.err != nil && goredis.HasErrorPrefix(c.err, "NOSCRIPT") {
			c.res, c.err = c.script.Run(ctx, p.client, c.keys, c.args...).Result()
			rerunDurable = rerunDurable || c.durable
		}
	}
	if wait != nil {
		if rerunDurable {
			wait = p.wait.run(ctx, p.client)
		}
		if err := p.wait.check(wait); err != nil {
			for _, c := range batch {
				// goredis.Nil is a script's "nothing to do" (a duplicate
				// enqueue): its event may not be on the replicas either.
				if c.durable && (c.err == nil || errors.Is(c.err, goredis.Nil)) {
					c.res, c.err = nil, err
				}
			}
		}
	}
	for _, c := range batch {
		close(c.ready)
	}
}
