package store_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/wecomply/wecomply/store"
)

// pages is a listing of 0..n-1 served size at a time, recording the
// pages it was asked for.
func pages(n int, asked *[]store.Page) func(context.Context, store.Page) ([]int, string, error) {
	return func(_ context.Context, p store.Page) ([]int, string, error) {
		*asked = append(*asked, p)
		from := 0
		if p.Cursor != "" {
			var err error
			if from, err = strconv.Atoi(p.Cursor); err != nil {
				return nil, "", store.ErrInvalidCursor
			}
		}
		to := min(from+p.Size(), n)
		var items []int
		for i := from; i < to; i++ {
			items = append(items, i)
		}
		next := ""
		if to < n {
			next = strconv.Itoa(to)
		}
		return items, next, nil
	}
}

func TestCollectFollowsTheCursor(t *testing.T) {
	var asked []store.Page
	got, err := store.Collect(t.Context(), 2, pages(5, &asked))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("Collect = %v, want %v", got, want)
	}
	want := []store.Page{{Limit: 2}, {Limit: 2, Cursor: "2"}, {Limit: 2, Cursor: "4"}}
	if !slices.Equal(asked, want) {
		t.Errorf("pages asked for = %v, want %v", asked, want)
	}
}

func TestEachStopsAtTheFirstError(t *testing.T) {
	var asked []store.Page
	stop := errors.New("stop")
	var seen []int
	err := store.Each(t.Context(), 2, pages(5, &asked), func(i int) error {
		seen = append(seen, i)
		if i == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []int{0, 1, 2}) || len(asked) != 2 {
		t.Errorf("Each = %v after %v and %d pages, want %v after [0 1 2] and 2 pages", err, seen, len(asked), stop)
	}

	failed := errors.New("store down")
	got, err := store.Collect(t.Context(), 2, func(context.Context, store.Page) ([]int, string, error) {
		return []int{1}, "", failed
	})
	if !errors.Is(err, failed) || got != nil {
		t.Errorf("Collect of a failing listing = %v, %v, want nil, %v", got, err, failed)
	}
}
