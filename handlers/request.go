package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// queryLimit reads ?limit=: def when it is absent, else an integer from 1
// to most. When it is neither it answers 400 and returns false.
func queryLimit(c *gin.Context, def, most int) (int, bool) {
	s, ok := c.GetQuery("limit")
	if !ok {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		c.JSON(http.StatusBadRequest, gin.H{"error": "limit: must be an integer from 1 to " + strconv.Itoa(most)})
		return 0, false
	}
	return n, true
}
