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

// Alerts live in two buckets (created by Open, as every bucket, also in
// a store opened before alerts existed):
//
//	alerts     alert id → Alert JSON
//	alertidx   state "/" store.AlertIndexKey → (empty)
var (
	bucketAlerts   = []byte("alerts")
	bucketAlertIdx = []byte("alertidx")
)

func alertIdxKey(a store.Alert) []byte {
	return []byte(string(a.State) + "/" + store.AlertIndexKey(a))
}

// RaiseAlerts stores the alerts not stored yet; see store.Alerts.
func (s *Store) RaiseAlerts(ctx context.Context, alerts []store.Alert) ([]store.Alert, error) {
	op := fmt.Sprintf("raise %d alerts", len(alerts))
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	vals := make([][]byte, len(alerts))
	for i := range alerts {
		if err := store.CheckAlert(alerts[i]); err != nil {
			return nil, fmt.Errorf("embedded: %s: %w", op, err)
		}
		alerts[i].MsgTime, alerts[i].RaisedAt = alerts[i].MsgTime.UTC(), alerts[i].RaisedAt.UTC()
		v, err := json.Marshal(alerts[i])
		if err != nil {
			return nil, fmt.Errorf("embedded: %s: %w", op, err)
		}
		vals[i] = v
	}
	var raised []store.Alert
	err := s.w.write(false, func(tx *bolt.Tx) error {
		raised = nil
		b, ib := tx.Bucket(bucketAlerts), tx.Bucket(bucketAlertIdx)
		for i, a := range alerts {
			if b.Get([]byte(a.ID)) != nil {
				continue
			}
			if err := b.Put([]byte(a.ID), vals[i]); err != nil {
				return err
			}
			if err := ib.Put(alertIdxKey(a), nil); err != nil {
				return err
			}
			raised = append(raised, a)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return raised, nil
}

// GetAlert returns one alert, or store.ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, id string) (store.Alert, error) {
	return getRecord[store.Alert](ctx, s, "get alert "+id, bucketAlerts, []byte(id))
}

// ListAlerts returns a page of the alerts in state; see store.Alerts.
func (s *Store) ListAlerts(ctx context.Context, state store.AlertState, p store.Page) ([]store.Alert, string, error) {
	op := "list alerts " + string(state)
	if err := s.check(ctx, op); err != nil {
		return nil, "", err
	}
	after, err := store.ParseAlertCursor(state, p.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("embedded: %s: %w", op, err)
	}
	prefix := []byte(string(state) + "/")
	out := []store.Alert{}
	var next string
	err = s.db.View(func(tx *bolt.Tx) error {
		ib, b := tx.Bucket(bucketAlertIdx), tx.Bucket(bucketAlerts)
		c := ib.Cursor()
		k, _ := c.Seek(append(bytes.Clone(prefix), after...))
		if after != "" && k != nil && string(k[len(prefix):]) == after {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(out) == p.Size() {
				next = store.AlertCursor(state, store.AlertIndexKey(out[len(out)-1]))
				return nil
			}
			key := k[len(prefix):]
			id := key[bytes.IndexByte(key, '|')+1:]
			a, ok, err := getJSON[store.Alert](b, id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("alert index names missing alert %s", id)
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	return out, next, nil
}

// DecideAlert applies d in one write transaction; see store.Alerts.
func (s *Store) DecideAlert(ctx context.Context, d store.AlertDecision) (store.Alert, bool, error) {
	op := "decide alert " + d.ID
	if err := s.check(ctx, op); err != nil {
		return store.Alert{}, false, err
	}
	var out store.Alert
	var changed, found bool
	var decideErr error
	err := s.w.write(true, func(tx *bolt.Tx) error {
		changed, found, decideErr = false, false, nil
		b := tx.Bucket(bucketAlerts)
		a, ok, err := getJSON[store.Alert](b, []byte(d.ID))
		if err != nil || !ok {
			return err
		}
		found = true
		out, changed, decideErr = store.DecideAlertState(a, d)
		if decideErr != nil || !changed {
			return nil
		}
		v, err := json.Marshal(out)
		if err != nil {
			return err
		}
		ib := tx.Bucket(bucketAlertIdx)
		if err := ib.Delete(alertIdxKey(a)); err != nil {
			return err
		}
		if err := ib.Put(alertIdxKey(out), nil); err != nil {
			return err
		}
		return b.Put([]byte(d.ID), v)
	})
	switch {
	case err != nil:
		return store.Alert{}, false, s.wrap(op, err)
	case !found:
		return store.Alert{}, false, fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	case decideErr != nil:
		var ae *store.AlertError
		if errors.As(decideErr, &ae) {
			return out, false, decideErr
		}
		return out, false, fmt.Errorf("embedded: %s: %w", op, decideErr)
	}
	return out, changed, nil
}
