package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// resultsBatch is how many results one transaction of PutSendResults
// writes: a notice to 100,000 members is 100 transactions, none holding
// the write lock for long.
const resultsBatch = 1000

// PutSendResults records results, replacing earlier ones of the same
// notice and user; see store.SendResults. Results are written in
// transactions of resultsBatch: if it fails, a prefix of results may be
// recorded, and calling it again with the same results is harmless.
func (s *Store) PutSendResults(ctx context.Context, results []store.RecipientResult) error {
	if err := s.check(ctx, "put send results"); err != nil {
		return err
	}
	keys := make([][]byte, len(results))
	values := make([][]byte, len(results))
	for i, r := range results {
		if r.NoticeKey == "" || r.UserID == "" {
			return errors.New("embedded: put send results: a result without a notice key or user id")
		}
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("embedded: put send results of %s: %w", r.NoticeKey, err)
		}
		keys[i], values[i] = scopedKey(r.NoticeKey, r.UserID), v
	}
	for start := 0; start < len(results); start += resultsBatch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("embedded: put send results: %w", err)
		}
		end := min(start+resultsBatch, len(results))
		err := s.w.write(false, func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketResults)
			for i := start; i < end; i++ {
				if err := b.Put(keys[i], values[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return s.wrap("put send results of "+results[start].NoticeKey, err)
		}
	}
	return nil
}

// SendResult returns one recipient's result, or store.ErrNotFound; see
// store.SendResults.
func (s *Store) SendResult(ctx context.Context, noticeKey, userID string) (store.RecipientResult, error) {
	return getRecord[store.RecipientResult](ctx, s, "get send result of "+noticeKey+" for "+userID,
		bucketResults, scopedKey(noticeKey, userID))
}

// GetSendResults returns the results of userIDs for a notice, in UserID
// order, with one read each in one read transaction; see
// store.SendResults.
func (s *Store) GetSendResults(ctx context.Context, noticeKey string, userIDs []string) ([]store.RecipientResult, error) {
	return getRecords[store.RecipientResult](ctx, s, "get send results of "+noticeKey, bucketResults, userIDs,
		func(u string) []byte { return scopedKey(noticeKey, u) })
}

// ListSendResults returns a notice's results in UserID order (the key
// order of the results bucket); see store.SendResults.
func (s *Store) ListSendResults(ctx context.Context, noticeKey string) ([]store.RecipientResult, error) {
	op := "list send results of " + noticeKey
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	out := []store.RecipientResult{}
	prefix := scopedKey(noticeKey, "")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketResults).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r store.RecipientResult
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode send result: %w", err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}
