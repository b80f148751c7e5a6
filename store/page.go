package store

import (
	"context"
	"errors"
)

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

// Each calls fn for every item list returns, asking for pages of size
// (see Page.Size) and following the cursor until it is empty. It stops
// at the first error of list or fn and returns it as is.
func Each[T any](ctx context.Context, size int, list func(context.Context, Page) ([]T, string, error), fn func(T) error) error {
	p := Page{Limit: size}
	for {
		items, next, err := list(ctx, p)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		p.Cursor = next
	}
}

// Collect returns every item list returns (see Each); nil and the error
// if a page fails.
func Collect[T any](ctx context.Context, size int, list func(context.Context, Page) ([]T, string, error)) ([]T, error) {
	var all []T
	err := Each(ctx, size, list, func(it T) error {
		all = append(all, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}
