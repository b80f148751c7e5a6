package main

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// pusher RPUSHes messages to one Redis list: a sender sends all the
// pushes waiting when it is free as one pipeline (one write, one read),
// so concurrent requests share round trips, as a durable route under load
// would want them to; with more than one sender, that many pipelines can
// be in flight at once.
type pusher struct {
	rdb  *redis.Client
	reqs chan pushReq
}

type pushReq struct {
	msg  []byte
	done chan error
}

func newPusher(rdb *redis.Client, senders int) *pusher {
	p := &pusher{rdb: rdb, reqs: make(chan pushReq, 1024)}
	for range max(senders, 1) {
		go p.loop()
	}
	return p
}

func (p *pusher) push(ctx context.Context, msg []byte) error {
	r := pushReq{msg: msg, done: make(chan error, 1)}
	select {
	case p.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pusher) loop() {
	ctx := context.Background()
	batch := make([]pushReq, 0, 256)
	for r := range p.reqs {
		batch = append(batch[:0], r)
	more:
		for len(batch) < cap(batch) {
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		pipe := p.rdb.Pipeline()
		cmds := make([]*redis.IntCmd, len(batch))
		for i, r := range batch {
			cmds[i] = pipe.RPush(ctx, "plain", r.msg)
		}
		_, _ = pipe.Exec(ctx)
		for i, r := range batch {
			r.done <- cmds[i].Err()
		}
	}
}
