package index

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// Keys and indexes. Every record has a primary key, the tuple of its
// identity in listing order; a secondary index entry is the tuple of the
// field it indexes followed by the primary key, so that within one value
// of that field the index is in listing order too, and the primary key is
// what follows the fixed part:
//
//	obligation   (NoticeID, Version, UserID)      by user (UserID) ‖ key   by status (Status) ‖ key
//	attestation  (NoticeID, Version, UserID[, Round])  by user (UserID) ‖ key
//	consent      (UserID, ExternalUserID)         by status (Status) ‖ key
//	person       UserID, as it is (one field)
//
// A cursor is the primary key of the last item of a page, base64url
// encoded; the next page starts after it, in whichever index serves the
// filter.

// Index names which index of a record a scan reads.
type Index int

// Indexes.
const (
	Primary  Index = iota // the records, by primary key
	ByUser                // (UserID) ‖ primary key
	ByStatus              // (Status) ‖ primary key
)

// Scan is the part of one index a listing reads: every entry that starts
// with Prefix, after After if set, in key order, until Limit items match.
type Scan struct {
	Index Index
	// Fixed is what every entry read starts with before its primary key.
	Fixed []byte
	// Prefix bounds the scan: Fixed and the leading fields of the primary
	// key that the filter fixes.
	Prefix []byte
	// After is Fixed followed by the cursor's primary key, or nil.
	After []byte
	// Limit is the page size (store.Page.Size).
	Limit int
}

// Start is where the scan begins: after After, or at Prefix when there is
// no cursor or the cursor lies before the range.
func (s Scan) Start() (key []byte, exclusive bool) {
	if s.After != nil && bytes.Compare(s.After, s.Prefix) >= 0 {
		return s.After, true
	}
	return s.Prefix, false
}

// End is the first key after the range, or nil for the end of the index.
func (s Scan) End() []byte { return Successor(s.Prefix) }

// PrimaryKey returns the primary key of an index entry of the scan.
func (s Scan) PrimaryKey(entry []byte) []byte { return entry[len(s.Fixed):] }

// InRange reports whether an index entry is within the scan's prefix.
func (s Scan) InRange(entry []byte) bool { return bytes.HasPrefix(entry, s.Prefix) }

// Cursor returns the cursor of the page that ends with the item whose
// primary key is key.
func Cursor(key []byte) string { return base64.RawURLEncoding.EncodeToString(key) }

func decodeCursor(cursor string, valid func([]byte) bool) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	key, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !valid(key) {
		return nil, store.ErrInvalidCursor
	}
	return key, nil
}

// Entry returns the index entry of a record with primary key key, whose
// indexed field is value.
func Entry(value string, key []byte) []byte {
	return append(AppendString(nil, value), key...)
}

// --- obligations and attestations ---

// ObligationKey is the primary key of an obligation, and the prefix of
// the keys of the same person's attestations of the notice version (see
// AttestationKey).
func ObligationKey(noticeID string, version int, userID string) []byte {
	b := AppendString(nil, noticeID)
	b = AppendInt(b, int64(version))
	return AppendString(b, userID)
}

// KeyOf returns o's primary key.
func KeyOf(o policy.Obligation) []byte { return ObligationKey(o.NoticeID, o.Version, o.UserID) }

// AttestationKey is the primary key of an attestation: the obligation's
// key, followed by the round unless it is 0. Round 0 keeps the key
// attestations had before rounds existed, so that records stored then
// are round 0's without a migration; a round after it sorts after it
// (a key is a prefix of the keys that extend its tuple), so the keys of
// one person's attestations of a version are in round order and all
// start with ObligationKey. Rounds are not negative (CheckAttestation).
func AttestationKey(noticeID string, version int, userID string, round int) []byte {
	b := ObligationKey(noticeID, version, userID)
	if round != 0 {
		b = AppendInt(b, int64(round))
	}
	return b
}

// AttestationKeyOf returns a's primary key.
func AttestationKeyOf(a policy.Attestation) []byte {
	return AttestationKey(a.NoticeID, a.Version, a.UserID, a.Round)
}

// readObligationKey reads an obligation's key from the front of k.
func readObligationKey(k []byte) (rest []byte, ok bool) {
	if _, k, ok = ReadString(k); !ok {
		return nil, false
	}
	if _, k, ok = ReadInt(k); !ok {
		return nil, false
	}
	_, k, ok = ReadString(k)
	return k, ok
}

func validObligationKey(k []byte) bool {
	rest, ok := readObligationKey(k)
	return ok && len(rest) == 0
}

func validAttestationKey(k []byte) bool {
	rest, ok := readObligationKey(k)
	if !ok {
		return false
	}
	if len(rest) == 0 {
		return true
	}
	round, rest, ok := ReadInt(rest)
	return ok && len(rest) == 0 && round > 0
}

// noticePrefix is the leading primary-key fields a filter by notice and
// version fixes.
func noticePrefix(noticeID string, version int) []byte {
	if noticeID == "" {
		return nil
	}
	b := AppendString(nil, noticeID)
	if version != 0 {
		b = AppendInt(b, int64(version))
	}
	return b
}

// ObligationScan chooses the index for f: by user if f names one (a
// person has few obligations; the status is filtered on the way), else by
// status if f names one, else the primary index; each narrowed by the
// notice and version when f names the notice.
func ObligationScan(f store.ObligationFilter, p store.Page) (Scan, error) {
	after, err := decodeCursor(p.Cursor, validObligationKey)
	if err != nil {
		return Scan{}, err
	}
	s := Scan{Index: Primary, Limit: p.Size()}
	switch {
	case f.UserID != "":
		s.Index, s.Fixed = ByUser, AppendString(nil, f.UserID)
	case f.Status != "":
		s.Index, s.Fixed = ByStatus, AppendString(nil, string(f.Status))
	}
	s.Prefix = append(append([]byte(nil), s.Fixed...), noticePrefix(f.NoticeID, f.Version)...)
	if after != nil {
		s.After = append(append([]byte(nil), s.Fixed...), after...)
	}
	return s, nil
}

// MatchObligation reports whether o is selected by f.
func MatchObligation(f store.ObligationFilter, o policy.Obligation) bool {
	return (f.NoticeID == "" || o.NoticeID == f.NoticeID) &&
		(f.Version == 0 || o.Version == f.Version) &&
		(f.Status == "" || o.Status == f.Status) &&
		(f.UserID == "" || o.UserID == f.UserID)
}

// AttestationScan is ObligationScan's counterpart for attestations (no
// status index).
func AttestationScan(f store.AttestationFilter, p store.Page) (Scan, error) {
	after, err := decodeCursor(p.Cursor, validAttestationKey)
	if err != nil {
		return Scan{}, err
	}
	s := Scan{Index: Primary, Limit: p.Size()}
	if f.UserID != "" {
		s.Index, s.Fixed = ByUser, AppendString(nil, f.UserID)
	}
	s.Prefix = append(append([]byte(nil), s.Fixed...), noticePrefix(f.NoticeID, f.Version)...)
	if after != nil {
		s.After = append(append([]byte(nil), s.Fixed...), after...)
	}
	return s, nil
}

// MatchAttestation reports whether a is selected by f.
func MatchAttestation(f store.AttestationFilter, a policy.Attestation) bool {
	return (f.NoticeID == "" || a.NoticeID == f.NoticeID) &&
		(f.Version == 0 || a.Version == f.Version) &&
		(f.UserID == "" || a.UserID == f.UserID)
}

// --- consents ---

// ConsentKey is the primary key of a consent.
func ConsentKey(userID, externalUserID string) []byte {
	return AppendString(AppendString(nil, userID), externalUserID)
}

func validConsentKey(k []byte) bool {
	_, k, ok := ReadString(k)
	if !ok {
		return false
	}
	_, k, ok = ReadString(k)
	return ok && len(k) == 0
}

// ConsentScan reads the status index when f names a status (narrowed by
// the user when f names one), else the primary index.
func ConsentScan(f store.ConsentFilter, p store.Page) (Scan, error) {
	after, err := decodeCursor(p.Cursor, validConsentKey)
	if err != nil {
		return Scan{}, err
	}
	s := Scan{Index: Primary, Limit: p.Size()}
	if f.Status != "" {
		s.Index, s.Fixed = ByStatus, AppendString(nil, string(f.Status))
	}
	s.Prefix = append([]byte(nil), s.Fixed...)
	if f.UserID != "" {
		s.Prefix = AppendString(s.Prefix, f.UserID)
	}
	if after != nil {
		s.After = append(append([]byte(nil), s.Fixed...), after...)
	}
	return s, nil
}

// MatchConsent reports whether c is selected by f.
func MatchConsent(f store.ConsentFilter, c policy.Consent) bool {
	return (f.Status == "" || c.Status == f.Status) && (f.UserID == "" || c.UserID == f.UserID)
}

// --- people ---

// PeopleScan reads people by UserID (their primary key is the UserID
// itself).
func PeopleScan(p store.Page) (Scan, error) {
	after, err := decodeCursor(p.Cursor, func(k []byte) bool { return len(k) > 0 })
	if err != nil {
		return Scan{}, err
	}
	return Scan{Index: Primary, After: after, Limit: p.Size()}, nil
}

// --- checks and transitions ---

// validIDs reports whether ids are all non-empty UTF-8 (what JSON keeps
// as it is: a record must read back with the identity it is stored
// under).
func validIDs(ids ...string) bool {
	for _, id := range ids {
		if id == "" || !utf8.ValidString(id) {
			return false
		}
	}
	return true
}

// NewObligation checks o for CreateObligation and returns it as stored:
// an empty Status means Pending.
func NewObligation(o policy.Obligation) (policy.Obligation, error) {
	if !validIDs(o.UserID, o.NoticeID) || !utf8.ValidString(string(o.Status)) {
		return o, errors.New("an obligation needs a user id and a notice id, in UTF-8")
	}
	if o.Status == "" {
		o.Status = policy.Pending
	}
	return o, nil
}

// CheckClose checks the status CloseObligation moves an obligation to.
func CheckClose(status policy.ObligationStatus) error {
	if status != policy.Superseded && status != policy.Cancelled {
		return fmt.Errorf("close to status %q: want %q or %q", status, policy.Superseded, policy.Cancelled)
	}
	return nil
}

// Close returns o closed to status for reason at at (its ClosedAt, which
// retention counts from), and whether o was open (if not, o is returned
// unchanged).
func Close(o policy.Obligation, status policy.ObligationStatus, reason policy.Reason, at time.Time) (policy.Obligation, bool) {
	if !o.Status.Open() {
		return o, false
	}
	o.Status, o.ClosedReason, o.ClosedAt = status, reason, at.UTC()
	return o, true
}

// CheckUpdate checks what an UpdateObligation function returned.
func CheckUpdate(old, new policy.Obligation) error {
	if old.UserID != new.UserID || old.NoticeID != new.NoticeID || old.Version != new.Version {
		return fmt.Errorf("the update changed the obligation's identity to (%s, %s, %d)", new.UserID, new.NoticeID, new.Version)
	}
	if new.Status == "" || !utf8.ValidString(string(new.Status)) {
		return errors.New("the update cleared the obligation's status")
	}
	if new.Round < 0 {
		return fmt.Errorf("the update set the obligation's round to %d", new.Round)
	}
	return nil
}

// CheckAttestation checks a for Attest.
func CheckAttestation(a policy.Attestation) error {
	if !validIDs(a.UserID, a.NoticeID) {
		return errors.New("an attestation needs a user id and a notice id, in UTF-8")
	}
	if a.Round < 0 {
		return fmt.Errorf("attestation round %d: want 0 or more", a.Round)
	}
	if _, err := ackReason(a.Channel); err != nil {
		return err
	}
	return nil
}

func ackReason(ch policy.Channel) (policy.Reason, error) {
	switch ch {
	case policy.ChannelCard:
		return policy.ReasonCardClicked, nil
	case policy.ChannelReply:
		return policy.ReasonReplyAck, nil
	}
	return "", fmt.Errorf("attestation channel %q: want %q or %q", ch, policy.ChannelCard, policy.ChannelReply)
}

// Acknowledge returns o acknowledged by a, and whether it was (o must be
// open and in a's round; if not, o is returned unchanged: a late click
// from an earlier round is evidence, not an acknowledgement of this one):
// acknowledged and closed at a.ReceivedAt, for the reason a's channel
// gives. a has passed CheckAttestation.
func Acknowledge(o policy.Obligation, a policy.Attestation) (policy.Obligation, bool) {
	if !o.Status.Open() || o.Round != a.Round {
		return o, false
	}
	reason, _ := ackReason(a.Channel)
	o.Status, o.AcknowledgedAt, o.ClosedReason, o.ClosedAt = policy.Acknowledged, a.ReceivedAt, reason, a.ReceivedAt
	return o, true
}

// UpdateBatch is how many obligations one transaction (embedded) or one
// script (Redis) of UpdateObligations changes at most, so that a large
// update never holds the store for long.
const UpdateBatch = 1000

// UniqueKeys returns keys without repeats, in their first order, so that
// UpdateObligations applies its function once to each obligation.
func UniqueKeys(keys []store.ObligationKey) []store.ObligationKey {
	seen := make(map[store.ObligationKey]bool, len(keys))
	out := make([]store.ObligationKey, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// NewConsent checks c for PutConsent and returns it as stored: an empty
// Status means ConsentUnknown.
func NewConsent(c policy.Consent) (policy.Consent, error) {
	if !validIDs(c.UserID, c.ExternalUserID) || !utf8.ValidString(string(c.Status)) {
		return c, errors.New("a consent needs a user id and an external user id, in UTF-8")
	}
	if c.Status == "" {
		c.Status = policy.ConsentUnknown
	}
	return c, nil
}

// CheckPerson checks p for PutPerson.
func CheckPerson(p policy.Person) error {
	if !validIDs(p.UserID) {
		return errors.New("a person needs a user id, in UTF-8")
	}
	return nil
}

// Users returns users without repeats, in their first order, for
// ClaimRecipients; an empty user id is an error.
func Users(users []string) ([]string, error) {
	seen := make(map[string]bool, len(users))
	out := make([]string, 0, len(users))
	for _, u := range users {
		if u == "" {
			return nil, errors.New("an empty user id")
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}
