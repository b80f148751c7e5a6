package embedded

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// committer is the store's group commit: one goroutine runs every write
// transaction, and each transaction takes all the writes that arrived
// while the previous one was committing, one fsync for the group.
//
// Writes are urgent or background. An urgent write (the ingress log's
// mover, which a Claim may wait for) never waits for a timer: an idle
// store commits it at once, unlike bbolt's Batch. While callbacks are
// arriving fast (Options.Busy), background writes
// (the workers' claims, acks and log entries, the sweeper) wait up to the
// configured delay for company, and ride along with the next urgent
// write if one comes first: the workers' bookkeeping then costs few
// extra fsyncs and little CPU, which on a small machine is what keeps the
// callback path fast. Otherwise nothing much competes for
// the disk, and a background write waits for no timer either: the group
// is what arrived while the last commit ran. A worker's event takes
// several writes one after another, so this is what lets a backlog drain
// at the disk's pace (bench/process.sh: 636 events/s with the delay
// always applied, about twice that without; see issue 10's note).
//
// Like bbolt's Batch, a write function may run more than once: if one
// function of a group fails, the transaction is rolled back, that
// function gets its error and the others run again in a new transaction.
// A function must therefore set its results from scratch on every run;
// only the final run counts.
type committer struct {
	db       *bolt.DB
	calls    chan *writeCall // unbuffered: a send means the loop took the call
	maxGroup int
	delay    time.Duration // how long a group of background writes waits for more
	// busy reports whether callbacks are arriving (see committer); nil:
	// always.
	busy    func() bool
	done    chan struct{} // closed by stop
	stopped chan struct{} // closed when the loop has returned
}

type writeCall struct {
	fn     func(*bolt.Tx) error
	urgent bool
	err    chan error // buffered, one value
}

func newCommitter(db *bolt.DB, maxGroup int, delay time.Duration, busy func() bool) *committer {
	c := &committer{
		db:       db,
		busy:     busy,
		calls:    make(chan *writeCall),
		maxGroup: maxGroup,
		delay:    delay,
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go c.loop()
	return c
}

// write runs fn in a write transaction shared with concurrent writes and
// returns once that transaction is durable (or failed). urgent says that
// someone is waiting on the answer right now (see committer).
func (c *committer) write(urgent bool, fn func(*bolt.Tx) error) error {
	call := &writeCall{fn: fn, urgent: urgent, err: make(chan error, 1)}
	select {
	case c.calls <- call:
		return <-call.err
	case <-c.done:
		return store.ErrClosed
	}
}

// stop ends the loop after the group in hand; later writes get ErrClosed.
func (c *committer) stop() {
	close(c.done)
	<-c.stopped
}

func (c *committer) loop() {
	defer close(c.stopped)
	group := make([]*writeCall, 0, c.maxGroup)
	for {
		select {
		case <-c.done:
			return
		case call := <-c.calls:
			group = append(group[:0], call)
		}
		c.gather(&group)
		c.commit(group)
	}
}

// gather adds to group the writes already waiting. A group of
// background writes also waits up to c.delay for more, and stops waiting
// as soon as an urgent write joins.
func (c *committer) gather(group *[]*writeCall) {
	urgent := (*group)[0].urgent
	var timeout <-chan time.Time
	if !urgent && c.delay > 0 && (c.busy == nil || c.busy()) {
		t := time.NewTimer(c.delay)
		defer t.Stop()
		timeout = t.C
	}
	for len(*group) < c.maxGroup {
		var call *writeCall
		select {
		case call = <-c.calls:
		default:
			if urgent || timeout == nil {
				return
			}
			select {
			case call = <-c.calls:
			case <-timeout:
				return
			}
		}
		*group = append(*group, call)
		urgent = urgent || call.urgent
	}
}

// commit runs group in one transaction. A failing function is taken out
// with its error and the rest are committed again without it.
func (c *committer) commit(group []*writeCall) {
	for len(group) > 0 {
		failed := -1
		var failure error
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, call := range group {
				if err := safeCall(call.fn, tx); err != nil {
					failed, failure = i, err
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			// Committed, or the commit itself failed: same answer for all.
			for _, call := range group {
				call.err <- err
			}
			return
		}
		group[failed].err <- failure
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// safeCall runs fn, turning a panic into an error so that one bad write
// cannot take the committer, and every other writer, down.
func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return fn(tx)
}
