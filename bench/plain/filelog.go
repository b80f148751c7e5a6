package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
)

// preallocate is how much of the log file is zero-filled and synced before
// the server listens, so that a flush overwrites blocks the file has and
// its fdatasync flushes data only (no journal commit for a grown size).
const preallocate = 256 << 20

// fileLog is a group-committed append-only file: append returns once an
// fdatasync has covered its record. The first caller to find no flush
// running flushes everything buffered; the others wait for a flush that
// covers them.
type fileLog struct {
	f *os.File

	mu       sync.Mutex
	done     *sync.Cond
	buf      []byte // framed records not yet written
	off      int64  // where the next write goes
	appended uint64 // records appended
	synced   uint64 // records covered by a finished fdatasync
	flushing bool
	err      error
}

func openFileLog(path string, size int) (*fileLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for n := 0; n < size; n += len(zeros) {
		if _, err := f.Write(zeros); err != nil {
			return nil, fmt.Errorf("plain: preallocate %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("plain: sync %s: %w", path, err)
	}
	l := &fileLog{f: f}
	l.done = sync.NewCond(&l.mu)
	return l, nil
}

// append logs msg (length ‖ bytes) and returns once it is on the disk.
func (l *fileLog) append(msg []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = binary.BigEndian.AppendUint32(l.buf, uint32(len(msg)))
	l.buf = append(l.buf, msg...)
	l.appended++
	mine := l.appended
	for l.synced < mine && l.err == nil {
		if l.flushing {
			l.done.Wait()
			continue
		}
		l.flushing = true
		b, upto, off := l.buf, l.appended, l.off
		l.buf, l.off = nil, l.off+int64(len(l.buf))
		l.mu.Unlock()
		_, err := l.f.WriteAt(b, off)
		if err == nil {
			err = datasync(l.f)
		}
		l.mu.Lock()
		l.flushing = false
		if err != nil {
			l.err = fmt.Errorf("plain: log: %w", err)
		} else {
			l.synced = upto
		}
		l.done.Broadcast()
	}
	return l.err
}
