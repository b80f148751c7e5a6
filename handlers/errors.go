package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/notify"
	"github.com/wecomply/wecomply/store"
)

// writeError answers a request whose operation op failed with err. It is
// the one place that maps errors to an HTTP status: a cursor the listing
// did not hand out and an invalid notice are the client's (400); anything
// else is the store's (503, logged with op and args).
func writeError(c *gin.Context, logger *slog.Logger, op string, err error, args ...any) {
	var invalid *notify.InvalidError
	switch {
	case errors.Is(err, store.ErrInvalidCursor):
		badRequest(c, "cursor", "not one this listing returned")
	case errors.As(err, &invalid):
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
	default:
		logger.Error(op, append(args, "err", err)...)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "store unavailable"})
	}
}
