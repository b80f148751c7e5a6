package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
)

// bearer admits requests carrying one of tokens as
// "Authorization: Bearer <token>", the scheme in any case and followed by
// one or more spaces (RFC 7235 §2.1: "bearer" and "BEARER" are the same
// scheme). Tokens are compared in constant time
// (over their SHA-256, so the length leaks nothing either) and every
// token is compared, so the time taken does not tell which one is close.
func bearer(tokens []string) gin.HandlerFunc {
	sums := make([][32]byte, len(tokens))
	for i, t := range tokens {
		sums[i] = sha256.Sum256([]byte(t))
	}
	return func(c *gin.Context) {
		given, ok := bearerToken(c.GetHeader("Authorization"))
		if ok {
			sum := sha256.Sum256([]byte(given))
			match := 0
			for i := range sums {
				match |= subtle.ConstantTimeCompare(sum[:], sums[i][:])
			}
			if match == 1 {
				c.Next()
				return
			}
		}
		c.Header("WWW-Authenticate", `Bearer realm="wecomply"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "missing or invalid bearer token"})
	}
}

// bearerToken returns the token of an Authorization header value of the
// Bearer scheme (matched case-insensitively), and false for any other
// scheme or an empty token.
func bearerToken(h string) (string, bool) {
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token := strings.TrimLeft(rest, " ")
	return token, token != ""
}

type eventsAPI struct {
	log    store.EventLog
	logger *slog.Logger
}

// list serves GET /api/v1/events?kind=&limit=&cursor=: the event log,
// newest first, a page at a time.
func (a *eventsAPI) list(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	entries, next, err := a.log.ListEventLog(c.Request.Context(), c.Query("kind"), p)
	if err != nil {
		writeError(c, a.logger, "list event log", err)
		return
	}
	writePage(c, "events", entries, next)
}
