package handlers

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
)

// Every list route of /api/v1 takes ?limit= (1 to maxPage, default
// defaultPage) and ?cursor= (the next_cursor of the page before) and
// answers one envelope: the items under the route's plural name and
// "next_cursor", the cursor of the next page, "" after the last. A
// cursor that the listing did not hand out is 400 naming "cursor".

const (
	defaultPage = 100
	maxPage     = 1000
)

// page reads ?limit= and ?cursor=; it answers 400 itself when the limit
// is wrong.
func page(c *gin.Context) (store.Page, bool) {
	limit, ok := queryLimit(c, defaultPage, maxPage)
	return store.Page{Limit: limit, Cursor: c.Query("cursor")}, ok
}

// writePage answers one page of a listing: its items under name, and
// next_cursor.
func writePage[T any](c *gin.Context, name string, items []T, next string) {
	c.JSON(http.StatusOK, gin.H{name: nonNil(items), "next_cursor": next})
}

// handlerCursor is the cursor of a listing the handlers page themselves
// (lists the store returns whole: holds, a notice's send results, the
// configured notices, a job's runs): the listing's name and the key of
// the page's last item, base64url.
func handlerCursor(listing, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + ":" + key))
}

// parseHandlerCursor reads a handlerCursor of listing ("" for none);
// store.ErrInvalidCursor for one of another listing or none at all.
func parseHandlerCursor(listing, cursor string) (key string, err error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", store.ErrInvalidCursor
	}
	key, ok := strings.CutPrefix(string(raw), listing+":")
	if !ok || key == "" {
		return "", store.ErrInvalidCursor
	}
	return key, nil
}

// pageOf returns the page p asks for of items, which are in the
// listing's order, key giving each a unique key that sorts (as a string)
// in that order; a cursor's item need not exist any more (a released
// hold): the page starts after where it was.
func pageOf[T any](listing string, items []T, key func(T) string, p store.Page) ([]T, string, error) {
	after, err := parseHandlerCursor(listing, p.Cursor)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if after != "" {
		for start < len(items) && key(items[start]) <= after {
			start++
		}
	}
	rest := items[start:]
	if n := p.Size(); len(rest) > n {
		return rest[:n], handlerCursor(listing, key(rest[n-1])), nil
	}
	return rest, "", nil
}
