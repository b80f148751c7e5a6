//go:build linux

package main

import (
	"os"
	"syscall"
)

// datasync flushes f's data (not its other metadata) to the disk:
// fdatasync(2).
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
