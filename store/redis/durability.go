package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Durability is what a nil error from Enqueue (a 200 to WeCom) promises
// about the event if Redis dies right after. It is the config key
// store.redis_durability; the errors that Open and Enqueue return name
// that key, since it is the operator's choice.
type Durability string

const (
	// DurabilityFsync, the default: the server writes and fsyncs its
	// append-only file before it answers (appendonly yes, appendfsync
	// always), so an enqueued event survives a crash of Redis or of its
	// machine. Open checks the server's settings and fails if they are
	// not so, or if the server does not let it read them (CONFIG
	// disabled or refused, as on most managed Redis).
	DurabilityFsync Durability = "fsync"
	// DurabilityReplicas: Enqueue returns nil only once at least
	// MinReplicas replicas have acknowledged the event's write (WAIT), so
	// it survives the loss of the primary when a replica takes over.
	DurabilityReplicas Durability = "replicas"
	// DurabilityEverysec: the server fsyncs about once a second
	// (appendfsync everysec); Enqueue returns once Redis has the event in
	// memory, and up to about a second of accepted events can be lost if
	// Redis dies. Open warns if the server has no append-only file.
	DurabilityEverysec Durability = "everysec"
	// DurabilityTrust: nothing is checked; the operator vouches that the
	// server persists every write it acknowledges (e.g. a managed Redis
	// whose durability is documented but whose CONFIG is closed).
	DurabilityTrust Durability = "trust"
)

// durabilityKey is the config key the errors name.
const durabilityKey = "store.redis_durability"

// defaultReplicaTimeout is Options.ReplicaTimeout's default, and
// maxReplicaTimeout its bound: a callback is answered within WeCom's 5 s,
// and the WAIT must end within the client's read timeout (3 s by
// default) of the pipeline that carries it.
const (
	defaultReplicaTimeout = time.Second
	maxReplicaTimeout     = 2 * time.Second
)

// checkDurabilityOptions validates the durability options of o, filling
// in defaults.
func checkDurabilityOptions(o *Options) error {
	if o.Durability == "" {
		o.Durability = DurabilityFsync
	}
	switch o.Durability {
	case DurabilityFsync, DurabilityEverysec, DurabilityTrust:
	case DurabilityReplicas:
		if o.MinReplicas < 1 {
			return fmt.Errorf("min replicas %d: want 1 or more with %s = %q", o.MinReplicas, durabilityKey, o.Durability)
		}
		if o.ReplicaTimeout == 0 {
			o.ReplicaTimeout = defaultReplicaTimeout
		}
		if o.ReplicaTimeout < time.Millisecond || o.ReplicaTimeout > maxReplicaTimeout {
			return fmt.Errorf("replica timeout %s: want 1ms to %s", o.ReplicaTimeout, maxReplicaTimeout)
		}
	default:
		return fmt.Errorf("%s %q: want %q, %q, %q or %q", durabilityKey, o.Durability,
			DurabilityFsync, DurabilityReplicas, DurabilityEverysec, DurabilityTrust)
	}
	return nil
}

// checkPersistence checks, at Open, that the server persists as mode
// needs: in fsync mode it must show appendonly yes and appendfsync
// always; in the other modes a server without the append-only file is
// only warned about (a primary that restarts empty would also empty its
// replicas).
func (s *Store) checkPersistence(ctx context.Context, mode Durability) error {
	if mode == DurabilityTrust {
		return nil
	}
	appendOnly, err := s.configGet(ctx, "appendonly")
	if mode != DurabilityFsync {
		// Managed Redis often disables CONFIG; then we cannot tell, and
		// say nothing.
		if err == nil && appendOnly == "no" {
			s.log.Warn("redis runs without appendonly: events acknowledged to WeCom can be lost if Redis restarts; " +
				"set appendonly yes (appendfsync always) or make sure the operator persists it")
		}
		return nil
	}
	var fsync string
	if err == nil {
		fsync, err = s.configGet(ctx, "appendfsync")
	}
	var refused *configRefusedError
	switch {
	case errors.As(err, &refused):
		return fmt.Errorf("%w; with %s = %q (the default) wecomply must see appendonly yes and appendfsync always. "+
			"If the server persists every write before it answers, say so with %s = \"trust\"; "+
			"or choose \"replicas\" (wait for replicas) or \"everysec\" (may lose about a second of accepted callbacks)",
			refused, durabilityKey, DurabilityFsync, durabilityKey)
	case err != nil:
		return err
	case appendOnly != "yes":
		return fmt.Errorf("redis appendonly is %s; with %s = %q (the default) wecomply needs appendonly yes and appendfsync always: "+
			"set `appendonly yes` and `appendfsync always` in redis.conf (or CONFIG SET both and CONFIG REWRITE), "+
			"or choose %s = \"replicas\", \"everysec\" (may lose about a second of accepted callbacks) or \"trust\"",
			appendOnly, durabilityKey, DurabilityFsync, durabilityKey)
	case fsync != "always":
		return fmt.Errorf("redis appendfsync is %s; with %s = %q (the default) wecomply needs appendfsync always: "+
			"set `appendfsync always` in redis.conf (or CONFIG SET appendfsync always and CONFIG REWRITE), "+
			"or choose %s = \"everysec\" (may lose about a second of accepted callbacks), \"replicas\" or \"trust\"",
			fsync, durabilityKey, DurabilityFsync, durabilityKey)
	}
	return nil
}

// configRefusedError is a CONFIG GET the server answered with an error
// or without the parameter: the command is renamed or disabled (managed
// Redis), or the user's ACL does not allow it.
type configRefusedError struct {
	param string
	err   error // the server's error; nil if the reply lacked the parameter
}

func (e *configRefusedError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("redis does not show its settings (CONFIG GET %s answered without it)", e.param)
	}
	return fmt.Sprintf("redis does not let wecomply read its settings (CONFIG GET %s: %v): "+
		"CONFIG is disabled or renamed, as on most managed Redis, or the user's ACL lacks +config|get", e.param, e.err)
}

func (e *configRefusedError) Unwrap() error { return e.err }

// configGet returns one server setting. An error reply from the server
// is a *configRefusedError; a connection error is returned wrapped.
func (s *Store) configGet(ctx context.Context, param string) (string, error) {
	cfg, err := s.client.ConfigGet(ctx, param).Result()
	var reply goredis.Error
	switch {
	case errors.As(err, &reply):
		return "", &configRefusedError{param: param, err: s.redact(err)}
	case err != nil:
		return "", fmt.Errorf("config get %s: %w", param, s.redact(err))
	}
	v, ok := cfg[param]
	if !ok {
		return "", &configRefusedError{param: param}
	}
	return v, nil
}

// replicaWait is how the pipeliner makes a batch that carried an enqueue
// wait for replicas (replicas mode): it appends to the batch's pipeline
// an INCR of syncKey and a WAIT. The INCR is a write on the pipeline's
// own connection, so that the WAIT covers everything the primary had
// before it, also the write of an event that another connection enqueued
// and that this batch found as a duplicate.
type replicaWait struct {
	replicas int
	timeout  time.Duration
	syncKey  string
}

// add appends the INCR and the WAIT to pipe and returns the WAIT. (The
// pipeline's read deadline, the client's read timeout, must exceed the
// WAIT's timeout: see maxReplicaTimeout.)
func (w *replicaWait) add(ctx context.Context, pipe goredis.Pipeliner) *goredis.IntCmd {
	pipe.Incr(ctx, w.syncKey)
	wait := goredis.NewIntCmd(ctx, "wait", w.replicas, w.timeout.Milliseconds())
	_ = pipe.Process(ctx, wait) // queued; Exec sets its result
	return wait
}

// run sends the INCR and the WAIT as a pipeline of their own.
func (w *replicaWait) run(ctx context.Context, client *goredis.Client) *goredis.IntCmd {
	pipe := client.Pipeline()
	wait := w.add(ctx, pipe)
	_, _ = pipe.Exec(ctx) // the WAIT carries the error
	return wait
}

// check returns nil if the WAIT saw enough replicas acknowledge.
func (w *replicaWait) check(wait *goredis.IntCmd) error {
	n, err := wait.Result()
	if err != nil {
		return fmt.Errorf("wait for %d replicas: %w", w.replicas, err)
	}
	if int(n) < w.replicas {
		return fmt.Errorf("%d of %d replicas acknowledged within %s (%s = %q, store.redis_min_replicas = %d)",
			n, w.replicas, w.timeout, durabilityKey, DurabilityReplicas, w.replicas)
	}
	return nil
}
