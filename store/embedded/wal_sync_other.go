//go:build !linux

package embedded

import "os"

// datasync flushes f to the disk; fdatasync(2) where there is one.
func datasync(f *os.File) error { return f.Sync() }

// createDirect creates (truncating) a plain file: direct writes are
// used on Linux only.
func createDirect(path string, _ bool) (f *os.File, direct bool, err error) {
	f, err = os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	return f, false, err
}
