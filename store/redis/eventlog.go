package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// AppendEventLog adds e unless its DedupKey is already logged, in one
// script; see store.EventLog.
func (s *Store) AppendEventLog(ctx context.Context, e store.LogEntry) error {
	if err := s.check("append event log"); err != nil {
		return err
	}
	if e.DedupKey == "" {
		return errors.New("redis: append event log: empty dedup key")
	}
	value, err := e.MarshalJSON() // as json.Marshal(e), without compacting it again
	if err != nil {
		return fmt.Errorf("redis: append event log %s: %w", e.DedupKey, err)
	}
	indexKind := "0"
	if e.Kind != "" {
		indexKind = "1"
	}
	_, err = s.pipe.run(ctx, appendLogScript,
		[]string{s.k.log, s.k.logAll, s.k.logKind(e.Kind), s.k.logSeq},
		e.DedupKey, value, e.ReceivedAt.UnixMicro(), indexKind,
	)
	if err != nil {
		return s.wrap("append event log "+e.DedupKey, err)
	}
	return nil
}

// ListEventLog returns a page of entries, newest first; see
// store.EventLog. The index is a sorted set scored by received_at (µs)
// whose members start with the zero-padded append sequence, so members
// of one score sort in append order: the cursor is the (score, member)
// of the page's last entry, and the next page is the members of that
// score below it, then those of lower scores.
func (s *Store) ListEventLog(ctx context.Context, kind string, p store.Page) ([]store.LogEntry, string, error) {
	if err := s.check("list event log"); err != nil {
		return nil, "", err
	}
	score, member, err := parseLogCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	index := s.k.logAll
	if kind != "" {
		index = s.k.logKind(kind)
	}
	size := p.Size()
	var zs []goredis.Z
	if p.Cursor == "" {
		zs, err = s.client.ZRevRangeWithScores(ctx, index, 0, int64(size)).Result()
	} else {
		zs, err = s.logBefore(ctx, index, score, member, size+1)
	}
	if err != nil {
		return nil, "", s.wrap("list event log", err)
	}
	var next string
	if len(zs) > size {
		zs = zs[:size]
		last := zs[size-1]
		next = logCursor(int64(last.Score), last.Member.(string))
	}
	out := []store.LogEntry{}
	if len(zs) == 0 {
		return out, next, nil
	}
	dedups := make([]string, 0, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		if len(m) < logSeqWidth {
			return nil, "", fmt.Errorf("redis: list event log: malformed member %q", m)
		}
		dedups = append(dedups, m[logSeqWidth:])
	}
	values, err := s.client.HMGet(ctx, s.k.log, dedups...).Result()
	if err != nil {
		return nil, "", s.wrap("list event log", err)
	}
	for i, v := range values {
		raw, ok := v.(string)
		if !ok {
			continue // removed between the two reads
		}
		var e store.LogEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, "", fmt.Errorf("redis: list event log: entry %q: %w", dedups[i], err)
		}
		out = append(out, e)
	}
	return out, next, nil
}

// logBefore returns up to n members of index below (score, member),
// highest first: first those of score itself that sort below member
// (entries received in the same microsecond: few), then those of lower
// scores.
func (s *Store) logBefore(ctx context.Context, index string, score int64, member string, n int) ([]goredis.Z, error) {
	at := strconv.FormatInt(score, 10)
	ties, err := s.client.ZRangeByScoreWithScores(ctx, index, &goredis.ZRangeBy{Min: at, Max: at}).Result()
	if err != nil {
		return nil, err
	}
	var out []goredis.Z
	for i := len(ties) - 1; i >= 0 && len(out) < n; i-- {
		if m, _ := ties[i].Member.(string); m < member {
			out = append(out, ties[i])
		}
	}
	if len(out) == n {
		return out, nil
	}
	lower, err := s.client.ZRevRangeByScoreWithScores(ctx, index, &goredis.ZRangeBy{
		Max: "(" + at, Min: "-inf", Count: int64(n - len(out)),
	}).Result()
	if err != nil {
		return nil, err
	}
	return append(out, lower...), nil
}

// logCursor is the cursor of a page of the event log whose last entry
// has score and member in the index.
func logCursor(score int64, member string) string {
	return purge.Cursor(store.RecordEventLog, []byte(strconv.FormatInt(score, 10)+" "+member))
}

// parseLogCursor reads a logCursor ("" gives zeros);
// store.ErrInvalidCursor for anything else.
func parseLogCursor(cursor string) (score int64, member string, err error) {
	raw, err := purge.ParseCursor(store.RecordEventLog, cursor)
	if err != nil || raw == nil {
		return 0, "", err
	}
	at, m, ok := strings.Cut(string(raw), " ")
	score, perr := strconv.ParseInt(at, 10, 64)
	if !ok || perr != nil || len(m) <= logSeqWidth || strings.Trim(m[:logSeqWidth], "0123456789") != "" {
		return 0, "", fmt.Errorf("redis: list event log: %w", store.ErrInvalidCursor)
	}
	return score, m, nil
}
