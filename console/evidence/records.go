package evidence

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/store"
)

type namedFile struct {
	name string
	body []byte
}

// recordFiles is each kind of record as JSON (as the store keeps it) and
// as CSV (UTF-8 with a BOM for Excel, times in RFC 3339 in the Maker's
// Location, so each says its offset).
func (m *Maker) recordFiles(rec records, person bool) []namedFile {
	t := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return v.In(m.cfg.Location).Format(time.RFC3339)
	}
	var out []namedFile
	add := func(name string, v any, header []string, rows [][]string) {
		js, _ := json.MarshalIndent(v, "", "  ") // records marshal without error
		out = append(out, namedFile{name + ".json", append(js, '\n')}, namedFile{name + ".csv", csvBytes(header, rows)})
	}

	rows := make([][]string, len(rec.obligations))
	for i, o := range rec.obligations {
		rows[i] = []string{o.UserID, o.NoticeID, strconv.Itoa(o.Version), string(o.Status), string(o.Reason), t(o.CreatedAt),
			t(o.DueAt), t(o.AcknowledgedAt), string(o.ClosedReason), t(o.ClosedAt), strconv.Itoa(o.Reminders), strconv.Itoa(o.Round)}
	}
	add("obligations", nonNil(rec.obligations), []string{"user_id", "notice_id", "version", "status", "reason", "created_at",
		"due_at", "acknowledged_at", "closed_reason", "closed_at", "reminders", "round"}, rows)

	rows = make([][]string, len(rec.attestations))
	for i, a := range rec.attestations {
		rows[i] = []string{a.UserID, a.NoticeID, strconv.Itoa(a.Version), strconv.Itoa(a.Round), a.ContentHash, string(a.Channel),
			t(a.ReceivedAt), strconv.FormatInt(a.CreateTime, 10), a.DedupKey}
	}
	add("attestations", nonNil(rec.attestations), []string{"user_id", "notice_id", "version", "round", "content_hash", "channel",
		"received_at", "create_time", "dedup_key"}, rows)

	if person {
		rows = make([][]string, len(rec.consents))
		for i, c := range rec.consents {
			rows[i] = []string{c.UserID, c.ExternalUserID, string(c.Status), c.Source, t(c.ChangedAt), t(c.AddedAt),
				t(c.CheckedAt), t(c.NotifiedAt), t(c.DeletedAt), c.DeleteReason}
		}
		add("consents", nonNil(rec.consents), []string{"user_id", "external_user_id", "status", "source", "changed_at", "added_at",
			"checked_at", "notified_at", "deleted_at", "delete_reason"}, rows)
	}

	rows = make([][]string, len(rec.deliveries))
	for i, d := range rec.deliveries {
		// The response code is a credential for updating the card: never exported.
		rows[i] = []string{d.NoticeKey, d.UserID, d.ContentHash, string(d.Status), d.MsgID, d.Error, t(d.At)}
	}
	add("deliveries", redactDeliveries(rec.deliveries), []string{"notice_key", "user_id", "content_hash", "status", "msg_id",
		"error", "at"}, rows)
	return out
}

// redactDeliveries drops each result's ResponseCode (a card update
// credential).
func redactDeliveries(ds []store.RecipientResult) []store.RecipientResult {
	out := make([]store.RecipientResult, len(ds))
	for i, d := range ds {
		d.ResponseCode = ""
		out[i] = d
	}
	return out
}

// nonNil turns a nil slice into an empty one, so JSON says [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// csvBytes writes a CSV with a UTF-8 BOM. A cell that a spreadsheet
// would run as a formula gets a leading apostrophe.
func csvBytes(header []string, rows [][]string) []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, r := range rows {
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				r[i] = "'" + c
			}
		}
		w.Write(r)
	}
	w.Flush()
	return b.Bytes()
}
