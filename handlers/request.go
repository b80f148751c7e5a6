package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// queryLimit reads ?limit=: def when it is absent, else an integer from 1
// to most. When it is neither it answers 400 naming limit and returns
// false.
func queryLimit(c *gin.Context, def, most int) (int, bool) {
	s, ok := c.GetQuery("limit")
	if !ok {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		badRequest(c, "limit", "must be an integer from 1 to "+strconv.Itoa(most))
		return 0, false
	}
	return n, true
}

// decodeBody decodes the JSON request body, at most limit bytes, into v (a
// pointer to a struct). When it cannot it answers 400 and returns false;
// the answer names the field at fault where there is one: a value of the
// wrong type, a time that does not parse, or an unknown field, whose
// problem is unknown (e.g. "is not a field of a hold (id, subject)").
func decodeBody(c *gin.Context, limit int64, v any, unknown string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te) && te.Field != "":
		badRequest(c, te.Field, "must be a "+te.Type.String())
		return false
	case errors.As(err, &pe):
		if field := timeField(v); field != "" {
			badRequest(c, field, "must be an RFC 3339 time, e.g. 2027-06-30T00:00:00+08:00")
			return false
		}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if field, err := strconv.Unquote(name); err == nil {
			badRequest(c, field, unknown)
			return false
		}
	}
	c.JSON(http.StatusBadRequest, gin.H{"error": "body: " + err.Error()})
	return false
}

// timeField returns the JSON name of the one time.Time field of the
// struct v points to: the field a time.ParseError from decoding v is
// about (encoding/json does not say which). It returns "" unless there
// is exactly one.
func timeField(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return ""
	}
	var names []string
	for f := range t.Elem().Fields() {
		if f.Type != reflect.TypeFor[time.Time]() || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
}

// requestActor reads ActorHeader (optional, "" when absent). When its
// value is not acceptable (checkActor) it answers 400 and returns false.
func requestActor(c *gin.Context) (string, bool) {
	actor := c.GetHeader(ActorHeader)
	if problem := checkActor(actor); problem != "" {
		badRequest(c, ActorHeader, problem)
		return "", false
	}
	return actor, true
}

func badRequest(c *gin.Context, field, problem string) {
	c.JSON(http.StatusBadRequest, gin.H{"error": field + ": " + problem, "field": field})
}
