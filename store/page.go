package store

import "errors"

// ErrInvalidCursor: a Page's Cursor is not one that a listing of the same
// kind returned. (Handlers map it to 400.)
var ErrInvalidCursor = errors.New("store: invalid cursor")

// Page sizes.
const (
	// DefaultPageLimit is the page size when Page.Limit is not positive.
	DefaultPageLimit = 100
	// MaxPageLimit caps Page.Limit; a larger limit returns pages of this
	// size (and a cursor to go on).
	MaxPageLimit = 10_000
)

// Size is the number of items a listing returns for p at most:
// p.Limit, or DefaultPageLimit if it is not positive, at most
// MaxPageLimit.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}
