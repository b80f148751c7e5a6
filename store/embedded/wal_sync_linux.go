//go:build linux

package embedded

import (
	"os"
	"syscall"
)

// datasync flushes f's data (and the size it grew to) to the disk, not
// its other metadata: fdatasync(2).
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// createDirect creates (truncating) a file for writes that bypass the
// page cache (O_DIRECT) if want, or, where the file system refuses that
// (tmpfs), a plain one; direct says which. A direct write must be of
// whole, aligned blocks (see alignedZeros).
func createDirect(path string, want bool) (f *os.File, direct bool, err error) {
	if want {
		f, err = os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_DIRECT, 0o600)
		if err == nil {
			return f, true, nil
		}
	}
	f, err = os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	return f, false, err
}
