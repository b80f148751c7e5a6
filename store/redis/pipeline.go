package redis

import (
	"context"
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
type pipeliner struct {
	client   *goredis.Client
	calls    chan *scriptCall
	maxBatch int
	timeout  time.Duration // bounds one pipeline's round trip
	done     chan struct{} // closed by stop
	senders  sync.WaitGroup
}

// scriptCall is one script run waiting for its batch.
type scriptCall struct {
	script *goredis.Script
	keys   []string
	args   []any
	res    any
	err    error
	ready  chan struct{} // closed when res and err are set
}

func newPipeliner(client *goredis.Client, senders, maxBatch int, timeout time.Duration) *pipeliner {
	p := &pipeliner{
		client:   client,
		calls:    make(chan *scriptCall, maxBatch*senders),
		maxBatch: maxBatch,
		timeout:  timeout,
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
	c := &scriptCall{script: script, keys: keys, args: args, ready: make(chan struct{})}
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

// exec runs a batch as one pipeline of EVALSHA. A script Redis does not
// have (NOSCRIPT: first use, or after a restart or SCRIPT FLUSH) is run
// again on its own with Script.Run, which loads it.
func (p *pipeliner) exec(batch []*scriptCall) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	pipe := p.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, c := range batch {
		c.res, c.err = cmds[i].Result()
		if c.err != nil && goredis.HasErrorPrefix(c.err, "NOSCRIPT") {
			c.res, c.err = c.script.Run(ctx, p.client, c.keys, c.args...).Result()
		}
		close(c.ready)
	}
}
