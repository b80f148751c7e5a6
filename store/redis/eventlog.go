package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wecomply/wecomply/store"
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
	value, err := json.Marshal(e)
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

// ListEventLog returns up to limit entries, newest first; see
// store.EventLog.
func (s *Store) ListEventLog(ctx context.Context, kind string, limit int) ([]store.LogEntry, error) {
	if err := s.check("list event log"); err != nil {
		return nil, err
	}
	out := []store.LogEntry{}
	if limit <= 0 {
		return out, nil
	}
	index := s.k.logAll
	if kind != "" {
		index = s.k.logKind(kind)
	}
	members, err := s.client.ZRevRange(ctx, index, 0, int64(limit-1)).Result()
	if err != nil {
		return nil, s.wrap("list event log", err)
	}
	if len(members) == 0 {
		return out, nil
	}
	dedups := make([]string, 0, len(members))
	for _, m := range members {
		if len(m) < logSeqWidth {
			return nil, fmt.Errorf("redis: list event log: malformed member %q", m)
		}
		dedups = append(dedups, m[logSeqWidth:])
	}
	values, err := s.client.HMGet(ctx, s.k.log, dedups...).Result()
	if err != nil {
		return nil, s.wrap("list event log", err)
	}
	for i, v := range values {
		raw, ok := v.(string)
		if !ok {
			continue // removed between the two reads
		}
		var e store.LogEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("redis: list event log: entry %q: %w", dedups[i], err)
		}
		out = append(out, e)
	}
	return out, nil
}
