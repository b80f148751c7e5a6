package archive

import (
	"context"
	"io"
)

// NewMediaSealerSize is NewMediaSealer with a segment size of the test's
// choosing (small, so that files of a few bytes span many segments).
func (k *Keys) NewMediaSealerSize(ctx context.Context, day, sdkFileID string, out io.Writer, segment int) (*MediaSealer, error) {
	return k.newMediaSealer(ctx, day, sdkFileID, out, segment)
}

// CachedKeys is how many unwrapped data keys k holds in memory.
func (k *Keys) CachedKeys() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}
