package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// bucketIntercept holds the intercept sync's mappings:
// our rule id → InterceptMapping JSON. bbolt keeps keys in byte order,
// which is the listing order.
var bucketIntercept = []byte("intercept")

// PutInterceptMapping stores m; see store.InterceptMappings.
func (s *Store) PutInterceptMapping(ctx context.Context, m store.InterceptMapping) error {
	op := "put intercept mapping " + m.RuleID
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if m.RuleID == "" || m.WeComRuleID == "" {
		return fmt.Errorf("embedded: %s: want a rule id and a WeCom rule id", op)
	}
	v, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	err = s.w.write(false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIntercept).Put([]byte(m.RuleID), v)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// DeleteInterceptMapping removes the mapping of ruleID; see
// store.InterceptMappings.
func (s *Store) DeleteInterceptMapping(ctx context.Context, ruleID string) error {
	op := "delete intercept mapping " + ruleID
	if err := s.check(ctx, op); err != nil {
		return err
	}
	if ruleID == "" {
		return nil
	}
	err := s.w.write(false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIntercept).Delete([]byte(ruleID))
	})
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// ListInterceptMappings returns every mapping in RuleID order; see
// store.InterceptMappings.
func (s *Store) ListInterceptMappings(ctx context.Context) ([]store.InterceptMapping, error) {
	const op = "list intercept mappings"
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	var out []store.InterceptMapping
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIntercept).ForEach(func(k, v []byte) error {
			var m store.InterceptMapping
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("mapping %q: %w", k, err)
			}
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}
