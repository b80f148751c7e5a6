package wecom

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrArchiveClosed: an ArchiveSource was used after Close.
var ErrArchiveClosed = errors.New("wecom: archive source is closed")

// MediaChunk is one answer of GetMediaData: the data of this chunk, the
// indexbuf for the next call ("Range:bytes=…") and whether this was the
// last chunk.
type MediaChunk struct {
	Data        []byte
	OutIndexBuf string
	Finished    bool
}

// MediaChunkFunc fetches the chunk at indexBuf ("" for the first).
type MediaChunkFunc func(ctx context.Context, indexBuf string) (MediaChunk, error)

// CopyMediaChunks runs the GetMediaData loop (ARCHIVE.md §2.4): it calls
// fetch from indexbuf "", appends each chunk's data to w and continues
// with the chunk's OutIndexBuf until one is Finished. A chunk that fails
// with a temporary *SDKError (10001–10003) is fetched again with the same
// indexbuf, up to attempts times in all; any other error ends the copy.
// It returns the bytes written. Chunks larger than MediaChunkSize, an
// empty OutIndexBuf before the end, or one that does not move on are
// errors (a loop that would never end).
func CopyMediaChunks(ctx context.Context, w io.Writer, attempts int, fetch MediaChunkFunc) (int64, error) {
	if attempts < 1 {
		attempts = 1
	}
	var written int64
	index := ""
	for chunks := 0; ; chunks++ {
		var c MediaChunk
		for attempt := 1; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return written, err
			}
			var err error
			c, err = fetch(ctx, index)
			if err == nil {
				break
			}
			var se *SDKError
			if attempt >= attempts || !errors.As(err, &se) || !se.Temporary() {
				return written, fmt.Errorf("media chunk %d (indexbuf %q, attempt %d): %w", chunks, index, attempt, err)
			}
		}
		if len(c.Data) > MediaChunkSize {
			return written, fmt.Errorf("media chunk %d (indexbuf %q): %d bytes, more than %d", chunks, index, len(c.Data), MediaChunkSize)
		}
		n, err := w.Write(c.Data)
		written += int64(n)
		if err != nil {
			return written, fmt.Errorf("media chunk %d: write: %w", chunks, err)
		}
		if c.Finished {
			return written, nil
		}
		if c.OutIndexBuf == "" || c.OutIndexBuf == index {
			return written, fmt.Errorf("media chunk %d (indexbuf %q): not finished but the next indexbuf is %q", chunks, index, c.OutIndexBuf)
		}
		index = c.OutIndexBuf
	}
}
