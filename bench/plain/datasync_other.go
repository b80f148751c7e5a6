//go:build !linux

package main

import "os"

// datasync flushes f to the disk; fdatasync(2) where there is one.
func datasync(f *os.File) error { return f.Sync() }
