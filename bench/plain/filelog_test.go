package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestFileLogKeepsEveryAppend appends from many goroutines at once and
// reads the file back: every message is there, once, whole, framed, and
// the preallocated zeros follow the last frame.
func TestFileLogKeepsEveryAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain.log")
	l, err := openFileLog(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := l.append(fmt.Appendf(nil, "<xml>message %d</xml>", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if l.synced != n {
		t.Errorf("synced %d records, want %d", l.synced, n)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 1<<20 {
		t.Errorf("file is %d bytes, want the 1 MiB preallocated", len(b))
	}
	var got []string
	for off := 0; ; {
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size == 0 {
			break
		}
		got = append(got, string(b[off+4:off+4+size]))
		off += 4 + size
	}
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("<xml>message %d</xml>", i)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("read back %d messages %q, want %d", len(got), got, n)
	}
}
