package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// --- consents ---

// PutConsent stores c, replacing the pair's record and moving it in the
// status index, in one script; see store.Consents. An empty Status is
// stored as unknown.
func (s *Store) PutConsent(ctx context.Context, c policy.Consent) error {
	op := "put consent (" + c.UserID + ", " + c.ExternalUserID + ")"
	if err := s.check(op); err != nil {
		return err
	}
	c, err := index.NewConsent(c)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	key := string(index.ConsentKey(c.UserID, c.ExternalUserID))
	_, err = s.pipe.run(ctx, putConsentScript,
		[]string{s.k.consent, s.k.consentStatus, s.k.consentIdx, s.k.consentByStatus},
		key, v, string(index.AppendString(nil, string(c.Status))))
	if err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// GetConsent returns a pair's record, or store.ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, externalUserID string) (policy.Consent, error) {
	op := "get consent (" + userID + ", " + externalUserID + ")"
	if err := s.check(op); err != nil {
		return policy.Consent{}, err
	}
	var c policy.Consent
	if err := s.getJSON(ctx, op, s.k.consent, string(index.ConsentKey(userID, externalUserID)), &c); err != nil {
		return policy.Consent{}, err
	}
	return c, nil
}

// ListConsents returns a page of matching records in (UserID,
// ExternalUserID) order, from the status index when f names a status; see
// store.Consents.
func (s *Store) ListConsents(ctx context.Context, f store.ConsentFilter, p store.Page) ([]policy.Consent, string, error) {
	if err := s.check("list consents"); err != nil {
		return nil, "", err
	}
	sc, err := index.ConsentScan(f, p)
	if err != nil {
		return nil, "", fmt.Errorf("redis: list consents: %w", err)
	}
	zkey := s.k.consentIdx
	if sc.Index == index.ByStatus {
		zkey = s.k.consentByStatus
	}
	items, next, err := listLex(ctx, s, zkey, s.k.consent, sc, func(v string) (policy.Consent, bool, error) {
		var c policy.Consent
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return c, false, fmt.Errorf("decode consent: %w", err)
		}
		return c, index.MatchConsent(f, c), nil
	})
	if err != nil {
		return nil, "", s.wrap("list consents", err)
	}
	return items, next, nil
}

// --- people ---

// PutPerson stores p, replacing the record of p.UserID; see store.People.
func (s *Store) PutPerson(ctx context.Context, p policy.Person) error {
	op := "put person " + p.UserID
	if err := s.check(op); err != nil {
		return err
	}
	if err := index.CheckPerson(p); err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if _, err := s.pipe.run(ctx, putPersonScript, []string{s.k.people, s.k.peopleIdx}, p.UserID, v); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// GetPerson returns a member, or store.ErrNotFound.
func (s *Store) GetPerson(ctx context.Context, userID string) (policy.Person, error) {
	op := "get person " + userID
	if err := s.check(op); err != nil {
		return policy.Person{}, err
	}
	var p policy.Person
	if err := s.getJSON(ctx, op, s.k.people, userID, &p); err != nil {
		return policy.Person{}, err
	}
	return p, nil
}

// GetPeople returns the records of those of userIDs that are known, in
// UserID order: HMGET of the people hash (see hmgetJSON); see
// store.People.
func (s *Store) GetPeople(ctx context.Context, userIDs []string) ([]policy.Person, error) {
	return hmgetJSON[policy.Person](ctx, s, "get people", s.k.people, userIDs)
}

// DeletePerson removes a member's record; see store.People.
func (s *Store) DeletePerson(ctx context.Context, userID string) error {
	op := "delete person " + userID
	if err := s.check(op); err != nil {
		return err
	}
	if _, err := s.pipe.run(ctx, deletePersonScript, []string{s.k.people, s.k.peopleIdx}, userID); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// ListPeople returns a page of members in UserID order; see store.People.
func (s *Store) ListPeople(ctx context.Context, p store.Page) ([]policy.Person, string, error) {
	if err := s.check("list people"); err != nil {
		return nil, "", err
	}
	sc, err := index.PeopleScan(p)
	if err != nil {
		return nil, "", fmt.Errorf("redis: list people: %w", err)
	}
	items, next, err := listLex(ctx, s, s.k.peopleIdx, s.k.people, sc, func(v string) (policy.Person, bool, error) {
		var p policy.Person
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return p, false, fmt.Errorf("decode person: %w", err)
		}
		return p, true, nil
	})
	if err != nil {
		return nil, "", s.wrap("list people", err)
	}
	return items, next, nil
}

// hmgetBatch is how many fields one HMGET of hmgetJSON asks for.
const hmgetBatch = 1000

// hmgetJSON reads the fields of the hash key (sorted, once each), with
// HMGET, hmgetBatch a command, and decodes the JSON of those that exist,
// in field order.
func hmgetJSON[T any](ctx context.Context, s *Store, op, key string, fields []string) ([]T, error) {
	if err := s.check(op); err != nil {
		return nil, err
	}
	out := []T{}
	for chunk := range slices.Chunk(slices.Compact(slices.Sorted(slices.Values(fields))), hmgetBatch) {
		args := make([]any, 0, 2+len(chunk))
		args = append(args, "hmget", key)
		for _, f := range chunk {
			args = append(args, f)
		}
		res, err := s.pipe.do(ctx, args...)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		values, ok := res.([]any)
		if !ok || len(values) != len(chunk) {
			return nil, fmt.Errorf("redis: %s: unexpected HMGET reply %T", op, res)
		}
		for i, v := range values {
			raw, ok := v.(string)
			if !ok {
				continue // none
			}
			var rec T
			if err := json.Unmarshal([]byte(raw), &rec); err != nil {
				return nil, fmt.Errorf("redis: %s: %s: %w", op, chunk[i], err)
			}
			out = append(out, rec)
		}
	}
	return out, nil
}
