package index

import (
	"bytes"
	"log/slog"
	"strings"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
)

// The due index (store.Obligations.ListObligationsDue) keeps, per notice
// version, one or two entries for each obligation the reminder run may
// act on some day (policy.NextDue): its Due.From and its Due.At, each a
// tuple that sorts by time:
//
//	(0x00) ‖ from ms ‖ (user)
//	(0x01) ‖ at ms ‖ (user)
//
// The times are Unix milliseconds (what Redis keeps), rounded down: an
// entry is never later than the instant it stands for, and a run at
// until reads the entries up to until's millisecond and keeps those
// policy.Actionable picks. The embedded store puts the notice version's
// DuePrefix before each entry; the Redis store keeps one sorted set per
// notice version.
//
// A store keeps the index of a notice version for one cadence
// (policy.Notice.Cadence): a marker per notice version records the
// cadence it was built for, or that it is being built ("cadence|token"),
// and writers keep the entries only while the marker is for their own
// cadence; any other writer of the notice version's obligations removes
// the marker (Redis blanks it), so that the index is built again before
// it is read.
const (
	dueFrom byte = 0x00
	dueAt   byte = 0x01
)

// DuePrefix is what the embedded store puts before a notice version's
// due entries and markers.
func DuePrefix(noticeID string, version int) []byte {
	return AppendInt(AppendString(nil, noticeID), int64(version))
}

// dueEntry is the entry of userID at t of kind.
func dueEntry(kind byte, t time.Time, userID string) []byte {
	return AppendString(AppendInt([]byte{kind}, t.UnixMilli()), userID)
}

// DueUser returns the user of a due entry.
func DueUser(entry []byte) (string, bool) {
	if len(entry) < 9 || entry[0] > dueAt {
		return "", false
	}
	u, rest, ok := ReadString(entry[9:])
	return u, ok && len(rest) == 0
}

// Schedule is the notice versions whose obligations a store keeps in its
// due index (store.Obligations.IndexDue): the current versions, as
// configured.
type Schedule struct {
	notices map[dueKey]policy.Notice
}

type dueKey struct {
	id      string
	version int
}

// NewSchedule makes the schedule of notices (a later one of the same
// version replaces an earlier).
func NewSchedule(notices []policy.Notice) *Schedule {
	s := &Schedule{notices: make(map[dueKey]policy.Notice, len(notices))}
	for _, n := range notices {
		s.notices[dueKey{n.ID, n.Version}] = n
	}
	return s
}

// Notices returns the schedule's notice versions, in no order.
func (s *Schedule) Notices() []policy.Notice {
	if s == nil {
		return nil
	}
	out := make([]policy.Notice, 0, len(s.notices))
	for _, n := range s.notices {
		out = append(out, n)
	}
	return out
}

// Notice returns a notice version of the schedule; ok is false if it is
// not in it (or s is nil).
func (s *Schedule) Notice(noticeID string, version int) (n policy.Notice, ok bool) {
	if s == nil {
		return policy.Notice{}, false
	}
	n, ok = s.notices[dueKey{noticeID, version}]
	return n, ok
}

// Cadence returns the cadence of a notice version of the schedule; ok is
// false if it is not in it (or s is nil).
func (s *Schedule) Cadence(noticeID string, version int) (cadence string, ok bool) {
	n, ok := s.Notice(noticeID, version)
	return n.Cadence(), ok
}

// Entries returns o's due entries (none if o is nil, if its notice
// version is not in the schedule, or if it is due at no instant).
func (s *Schedule) Entries(o *policy.Obligation) [][]byte {
	if s == nil || o == nil {
		return nil
	}
	n, ok := s.notices[dueKey{o.NoticeID, o.Version}]
	if !ok {
		return nil
	}
	d := policy.NextDue(n, *o)
	var out [][]byte
	if !d.From.IsZero() {
		out = append(out, dueEntry(dueFrom, d.From, o.UserID))
	}
	if !d.At.IsZero() {
		out = append(out, dueEntry(dueAt, d.At, o.UserID))
	}
	return out
}

// DueBuildLevel is the level a store logs the build of a due index of
// obligations at: info when there were any (a migration, or a changed
// cadence, worth a line), debug for a new notice version's empty one.
func DueBuildLevel(obligations int) slog.Level {
	if obligations > 0 {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// DueBuilding is the marker of a due index being built for cadence by
// the build token.
func DueBuilding(cadence, token string) string { return cadence + "|" + token }

// DueKeeps reports whether a writer of cadence keeps the entries of a
// notice version whose marker is marker: the index is built, or being
// built, for that cadence.
func DueKeeps(marker, cadence string) bool {
	return marker == cadence || strings.HasPrefix(marker, cadence+"|")
}

// DueRange is one range of due entries a listing reads: from Start
// (after it if Exclusive) to before End; At says it is the range of
// Due.At entries.
type DueRange struct {
	Start     []byte
	Exclusive bool
	End       []byte
	At        bool
}

// Holds reports whether an obligation that is due d, and has an entry in
// r, is one a listing at until returns from r: due from d.From (the
// range of From entries), or at exactly d.At and not from d.From (the
// range of At entries), so that none is returned from both. (An entry's
// millisecond may hold instants after until.)
func (r DueRange) Holds(d policy.Due, until time.Time) bool {
	from := !d.From.IsZero() && !until.Before(d.From)
	if r.At {
		return !from && d.Includes(until)
	}
	return from
}

// DueScan returns the ranges of the due index that the obligations due
// at until are in, in order, and where a page that continues after the
// cursor (the entry of the last item of the page before) starts: the
// Due.From entries up to until, then the Due.At entries at until.
func DueScan(until time.Time, p store.Page) ([]DueRange, error) {
	after, err := decodeCursor(p.Cursor, func(k []byte) bool { _, ok := DueUser(k); return ok })
	if err != nil {
		return nil, err
	}
	ms := until.UnixMilli()
	at := AppendInt([]byte{dueAt}, ms)
	ranges := []DueRange{
		{Start: []byte{dueFrom}, End: AppendInt([]byte{dueFrom}, ms+1)},
		{Start: at, End: Successor(at), At: true},
	}
	if after == nil {
		return ranges, nil
	}
	var out []DueRange
	for _, r := range ranges {
		switch {
		case bytes.Compare(after, r.End) >= 0:
			continue // the cursor is past this range
		case bytes.Compare(after, r.Start) >= 0:
			r.Start, r.Exclusive = after, true
		}
		out = append(out, r)
	}
	return out, nil
}
