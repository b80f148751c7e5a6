package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/wecomply/wecomply/store"
)

// The intercept sync's mappings are one hash, <prefix>intercept:
// our rule id → InterceptMapping JSON. WeCom allows 100 rules a corp, so
// HGETALL reads them all at once.

// PutInterceptMapping stores m; see store.InterceptMappings.
func (s *Store) PutInterceptMapping(ctx context.Context, m store.InterceptMapping) error {
	op := "put intercept mapping " + m.RuleID
	if err := s.check(op); err != nil {
		return err
	}
	if m.RuleID == "" || m.WeComRuleID == "" {
		return fmt.Errorf("redis: %s: want a rule id and a WeCom rule id", op)
	}
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if err := s.client.HSet(ctx, s.k.intercept, m.RuleID, v).Err(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// DeleteInterceptMapping removes the mapping of ruleID; see
// store.InterceptMappings.
func (s *Store) DeleteInterceptMapping(ctx context.Context, ruleID string) error {
	op := "delete intercept mapping " + ruleID
	if err := s.check(op); err != nil {
		return err
	}
	if ruleID == "" {
		return nil
	}
	if err := s.client.HDel(ctx, s.k.intercept, ruleID).Err(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// ListInterceptMappings returns every mapping in RuleID order; see
// store.InterceptMappings.
func (s *Store) ListInterceptMappings(ctx context.Context) ([]store.InterceptMapping, error) {
	const op = "list intercept mappings"
	if err := s.check(op); err != nil {
		return nil, err
	}
	all, err := s.client.HGetAll(ctx, s.k.intercept).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	out := make([]store.InterceptMapping, 0, len(all))
	for k, v := range all {
		var m store.InterceptMapping
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("redis: %s: mapping %q: %w", op, k, err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b store.InterceptMapping) int { return strings.Compare(a.RuleID, b.RuleID) })
	return out, nil
}
