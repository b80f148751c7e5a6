package wecom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// chunkScript serves data in chunks of size, failing the calls listed in
// fail (call number → error).
type chunkScript struct {
	data  []byte
	size  int
	fail  map[int]error
	calls []string // indexbuf of each call
	next  func(off, end int) string
}

func (s *chunkScript) fetch(_ context.Context, index string) (MediaChunk, error) {
	s.calls = append(s.calls, index)
	if err, ok := s.fail[len(s.calls)]; ok {
		return MediaChunk{}, err
	}
	off := 0
	if index != "" {
		if _, err := fmt.Sscanf(index, "Range:bytes=%d-", &off); err != nil {
			return MediaChunk{}, &SDKError{Op: "GetMediaData", Code: SDKErrParam, Msg: "bad indexbuf"}
		}
	}
	end := min(off+s.size, len(s.data))
	c := MediaChunk{Data: s.data[off:end], Finished: end == len(s.data)}
	if !c.Finished {
		if s.next != nil {
			c.OutIndexBuf = s.next(off, end)
		} else {
			c.OutIndexBuf = fmt.Sprintf("Range:bytes=%d-%d", end, min(end+s.size, len(s.data))-1)
		}
	}
	return c, nil
}

func TestCopyMediaChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 25) // 250 bytes
	temp := &SDKError{Op: "GetMediaData", Code: SDKErrNetwork}
	tests := []struct {
		name      string
		size      int
		fail      map[int]error
		next      func(off, end int) string
		attempts  int
		wantErr   string
		wantCalls []string
	}{
		{name: "three chunks", size: 100, attempts: 3,
			wantCalls: []string{"", "Range:bytes=100-199", "Range:bytes=200-249"}},
		{name: "one chunk", size: 1000, attempts: 3, wantCalls: []string{""}},
		{name: "a failed chunk is fetched again, not the file", size: 100, attempts: 3,
			fail:      map[int]error{2: temp, 3: temp},
			wantCalls: []string{"", "Range:bytes=100-199", "Range:bytes=100-199", "Range:bytes=100-199", "Range:bytes=200-249"}},
		{name: "attempts run out", size: 100, attempts: 2,
			fail:    map[int]error{2: temp, 3: temp},
			wantErr: "code 10001"},
		{name: "a permanent code is not retried", size: 100, attempts: 3,
			fail:      map[int]error{1: &SDKError{Op: "GetMediaData", Code: SDKErrExpired}},
			wantErr:   "code 10010",
			wantCalls: []string{""}},
		{name: "a plain error is not retried", size: 100, attempts: 3,
			fail:    map[int]error{1: errors.New("boom")},
			wantErr: "boom", wantCalls: []string{""}},
		{name: "an indexbuf that does not move on", size: 100, attempts: 3,
			next:    func(int, int) string { return "" },
			wantErr: "not finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &chunkScript{data: data, size: tt.size, fail: tt.fail, next: tt.next}
			var buf bytes.Buffer
			n, err := CopyMediaChunks(context.Background(), &buf, tt.attempts, s.fetch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
					t.Fatalf("wrote %d bytes, equal %v", n, bytes.Equal(buf.Bytes(), data))
				}
			}
			if tt.wantCalls != nil && strings.Join(s.calls, "|") != strings.Join(tt.wantCalls, "|") {
				t.Errorf("calls %q, want %q", s.calls, tt.wantCalls)
			}
		})
	}
	t.Run("oversized chunk", func(t *testing.T) {
		big := make([]byte, MediaChunkSize+1)
		_, err := CopyMediaChunks(context.Background(), &bytes.Buffer{}, 1, func(context.Context, string) (MediaChunk, error) {
			return MediaChunk{Data: big, Finished: true}, nil
		})
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := &chunkScript{data: data, size: 100}
		if _, err := CopyMediaChunks(ctx, &bytes.Buffer{}, 3, s.fetch); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}
