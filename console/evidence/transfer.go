package evidence

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// TransferFormat names the layout of a pseudonymised export.
const TransferFormat = "wecomply-transfer-v1"

// PseudonymKind is the kind of identifier a pseudonym stands for; it is
// part of the HMAC's input and the pseudonym's prefix, so a user id and a
// customer id that happen to be equal get different pseudonyms.
type PseudonymKind string

// Pseudonym kinds.
const (
	PseudonymUser     PseudonymKind = "u" // a member's UserID
	PseudonymCustomer PseudonymKind = "c" // a customer's external_userid
	PseudonymRoom     PseudonymKind = "r" // a group chat's roomid / chat_id
)

var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Pseudonym is id's pseudonym: kind, "_", and the first 10 bytes (80
// bits) of HMAC-SHA256(pseudonym key, kind ":" id) in lowercase base32
// (16 characters), e.g. "u_k3q7mzd2x…". It is the same for the same key and
// id in every export, so a recipient can join exports, and cannot be
// turned back into the id without the key, which never leaves. It
// returns "" for an empty id and when the Maker has no pseudonym key.
func (m *Maker) Pseudonym(kind PseudonymKind, id string) string {
	if id == "" || m.cfg.PseudonymKey == nil {
		return ""
	}
	mac := hmac.New(sha256.New, m.cfg.PseudonymKey)
	mac.Write([]byte(string(kind) + ":" + id))
	return string(kind) + "_" + pseudonymEncoding.EncodeToString(mac.Sum(nil)[:10])
}

// TransferFieldMax is the longest a request's text field may be, in
// characters.
const TransferFieldMax = 500

// ErrNoPseudonymKey is returned (wrapped) by PseudonymisedExport when the
// Maker has no pseudonym key: no export can be made, the register can
// still be read.
var ErrNoPseudonymKey = errors.New("no pseudonym key is configured ([transfer] pseudonym_key)")

// TransferRequest asks for a pseudonymised export and says what the
// transfer register records of it. Every field but NoticeID and Version
// is required.
type TransferRequest struct {
	// Destination is who receives it, and where (e.g. "Head office
	// compliance, Frankfurt, DE").
	Destination string `json:"destination"`
	// Purpose is why it is sent.
	Purpose string `json:"purpose"`
	// LegalBasis is the ground for the transfer (e.g. "PIPL Art. 38(1)(3)
	// standard contract, filed 2026-05-01").
	LegalBasis string `json:"legal_basis"`
	// Approver is who approved the transfer; Actor who made the export.
	Approver string `json:"approver"`
	Actor    string `json:"actor"`
	// NoticeID and Version, if set, limit obligations and attestations
	// to one notice (Version 0: every version of it).
	NoticeID string `json:"notice_id,omitempty"`
	Version  int    `json:"version,omitempty"`
	// MessagesFrom and MessagesTo, if set, add the metadata of the
	// archived messages with MessagesFrom ≤ time < MessagesTo (type,
	// time, pseudonymised parties and chat; never content or msgid).
	// They need Config.Messages.
	MessagesFrom time.Time `json:"messages_from,omitzero"`
	MessagesTo   time.Time `json:"messages_to,omitzero"`
}

func (r TransferRequest) messages() bool { return !r.MessagesFrom.IsZero() || !r.MessagesTo.IsZero() }

func (r TransferRequest) validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"destination", r.Destination}, {"purpose", r.Purpose},
		{"legal_basis", r.LegalBasis}, {"approver", r.Approver}, {"actor", r.Actor}} {
		switch {
		case strings.TrimSpace(f.v) == "":
			errs = append(errs, fmt.Errorf("%s is required (the transfer register records it)", f.name))
		case utf8.RuneCountInString(f.v) > TransferFieldMax:
			errs = append(errs, fmt.Errorf("%s is longer than %d characters", f.name, TransferFieldMax))
		}
	}
	if r.Version < 0 || (r.Version > 0 && r.NoticeID == "") {
		errs = append(errs, fmt.Errorf("version must be 0 or positive, and given only with notice_id (got %d)", r.Version))
	}
	if r.messages() && (r.MessagesFrom.IsZero() || r.MessagesTo.IsZero() || !r.MessagesFrom.Before(r.MessagesTo)) {
		errs = append(errs, errors.New("messages_from and messages_to must both be set, messages_from before messages_to"))
	}
	return errors.Join(errs...)
}

// Transfer is one entry of the transfer register: the request, and
// what was exported. Its JSON is the audit entry's data.
type Transfer struct {
	ID  string    `json:"id"`
	Seq uint64    `json:"seq"` // of its audit entry
	At  time.Time `json:"at"`
	// TransferRequest is what was asked; its message window is in UTC.
	TransferRequest
	// Records counts the records exported: Obligations + Attestations +
	// Consents + Messages.
	Records      int `json:"records"`
	Obligations  int `json:"obligations"`
	Attestations int `json:"attestations"`
	Consents     int `json:"consents"`
	Messages     int `json:"messages"`
	// SHA256 is the hex SHA-256 of the export's bytes, and Size their
	// number: the recipient can check they got what is on record.
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// transferExport is the exported document. Only pseudonyms, notice ids,
// versions, statuses, reasons, content hashes and times: no name, no
// free text (dedup keys, task ids and delete reasons are dropped).
type transferExport struct {
	Format       string         `json:"format"`
	MadeAt       time.Time      `json:"made_at"`
	Pseudonyms   string         `json:"pseudonyms"`
	Obligations  []xObligation  `json:"obligations"`
	Attestations []xAttestation `json:"attestations"`
	Consents     []xConsent     `json:"consents"`
	Messages     []xMessage     `json:"messages,omitempty"`
}

type xObligation struct {
	User           string                  `json:"user"`
	NoticeID       string                  `json:"notice_id"`
	Version        int                     `json:"version"`
	Status         policy.ObligationStatus `json:"status"`
	Reason         policy.Reason           `json:"reason"`
	CreatedAt      time.Time               `json:"created_at"`
	DueAt          time.Time               `json:"due_at,omitzero"`
	AcknowledgedAt time.Time               `json:"acknowledged_at,omitzero"`
	ClosedReason   policy.Reason           `json:"closed_reason,omitempty"`
	ClosedAt       time.Time               `json:"closed_at,omitzero"`
	Reminders      int                     `json:"reminders"`
	Round          int                     `json:"round,omitempty"`
}

type xAttestation struct {
	User        string         `json:"user"`
	NoticeID    string         `json:"notice_id"`
	Version     int            `json:"version"`
	Round       int            `json:"round,omitempty"`
	ContentHash string         `json:"content_hash"`
	Channel     policy.Channel `json:"channel"`
	ReceivedAt  time.Time      `json:"received_at"`
}

type xConsent struct {
	User      string               `json:"user"`
	Customer  string               `json:"customer"`
	Status    policy.ConsentStatus `json:"status"`
	Source    string               `json:"source"`
	ChangedAt time.Time            `json:"changed_at,omitzero"`
	AddedAt   time.Time            `json:"added_at,omitzero"`
	DeletedAt time.Time            `json:"deleted_at,omitzero"`
}

type xMessage struct {
	Action       string    `json:"action"`
	Type         string    `json:"type,omitempty"`
	Time         time.Time `json:"time"`
	From         string    `json:"from"`
	To           []string  `json:"to"`
	Room         string    `json:"room,omitempty"`
	Conversation string    `json:"conversation"`
	External     bool      `json:"external"`
	Withheld     string    `json:"withheld,omitempty"`
	Recalled     bool      `json:"recalled,omitempty"`
}

// party is the pseudonym of a chat party: a customer's (or a robot's)
// if wecom.IsExternalID says so, a member's otherwise.
func (m *Maker) party(id string) string {
	if wecom.IsExternalID(id) {
		return m.Pseudonym(PseudonymCustomer, id)
	}
	return m.Pseudonym(PseudonymUser, id)
}

// message is a message's metadata with every party pseudonymised.
func (m *Maker) message(msg archive.Message) xMessage {
	x := xMessage{Action: msg.Action, Type: msg.Type, Time: msg.Time.UTC(), From: m.party(msg.From), To: make([]string, len(msg.ToList)),
		Room: m.Pseudonym(PseudonymRoom, msg.RoomID), External: msg.External, Withheld: msg.Withheld, Recalled: msg.RecalledBy != ""}
	for i, id := range msg.ToList {
		x.To[i] = m.party(id)
	}
	switch kind, rest, _ := strings.Cut(msg.Conversation, ":"); kind {
	case "room":
		x.Conversation = "room:" + m.Pseudonym(PseudonymRoom, rest)
	case "single":
		a, b, _ := strings.Cut(rest, "|")
		x.Conversation = "single:" + m.party(a) + "|" + m.party(b)
	}
	return x
}

// PseudonymisedExport writes a pseudonymised export of the obligations,
// attestations and consents (one notice's only, if req names one), and
// of archived messages' metadata if req asks, to w,
// as JSON (format wecomply-transfer-v1): member and customer ids replaced
// by pseudonyms (Pseudonym), names and free text left out. The transfer
// is recorded in the register (an audit entry of kind KindTransfer)
// before any byte is written to w: an export that is not on record never
// leaves. It returns the register's entry, and an error wrapping
// ErrNoPseudonymKey if the Maker has no pseudonym key.
func (m *Maker) PseudonymisedExport(ctx context.Context, req TransferRequest, w io.Writer) (Transfer, error) {
	if m.cfg.PseudonymKey == nil {
		return Transfer{}, fmt.Errorf("evidence: transfer: %w", ErrNoPseudonymKey)
	}
	if err := req.validate(); err != nil {
		return Transfer{}, fmt.Errorf("evidence: transfer: %w", err)
	}
	fail := func(err error) (Transfer, error) { return Transfer{}, fmt.Errorf("evidence: transfer: %w", err) }
	rec, err := m.load(ctx, recordFilter{NoticeID: req.NoticeID, Version: req.Version, Consents: true})
	if err != nil {
		return fail(err)
	}
	obls, atts, cons := rec.obligations, rec.attestations, rec.consents
	var msgs []archive.Message
	if req.messages() {
		if m.cfg.Messages == nil {
			return fail(errors.New("messages_from: the session archive is not configured"))
		}
		q := archive.Query{From: req.MessagesFrom, To: req.MessagesTo, Ascending: true, Limit: 1000}
		for {
			page, next, err := m.cfg.Messages.Search(ctx, q)
			if err != nil {
				return fail(fmt.Errorf("archive: %w", err))
			}
			msgs = append(msgs, page...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
	}
	now := m.cfg.Now().UTC()
	x := transferExport{Format: TransferFormat, MadeAt: now,
		Pseudonyms:  "kind_ + base32(HMAC-SHA256(key, kind:id)[:10]); kinds u (member), c (customer), r (group chat)",
		Obligations: make([]xObligation, 0, len(obls)), Attestations: make([]xAttestation, 0, len(atts)), Consents: make([]xConsent, 0, len(cons))}
	for _, o := range obls {
		x.Obligations = append(x.Obligations, xObligation{User: m.Pseudonym(PseudonymUser, o.UserID), NoticeID: o.NoticeID,
			Version: o.Version, Status: o.Status, Reason: o.Reason, CreatedAt: o.CreatedAt.UTC(), DueAt: o.DueAt.UTC(),
			AcknowledgedAt: o.AcknowledgedAt.UTC(), ClosedReason: o.ClosedReason, ClosedAt: o.ClosedAt.UTC(), Reminders: o.Reminders, Round: o.Round})
	}
	for _, a := range atts {
		x.Attestations = append(x.Attestations, xAttestation{User: m.Pseudonym(PseudonymUser, a.UserID), NoticeID: a.NoticeID,
			Version: a.Version, Round: a.Round, ContentHash: a.ContentHash, Channel: a.Channel, ReceivedAt: a.ReceivedAt.UTC()})
	}
	for _, c := range cons {
		x.Consents = append(x.Consents, xConsent{User: m.Pseudonym(PseudonymUser, c.UserID), Customer: m.Pseudonym(PseudonymCustomer, c.ExternalUserID),
			Status: c.Status, Source: c.Source, ChangedAt: c.ChangedAt.UTC(), AddedAt: c.AddedAt.UTC(), DeletedAt: c.DeletedAt.UTC()})
	}
	for _, msg := range msgs {
		x.Messages = append(x.Messages, m.message(msg))
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return fail(err)
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	t := Transfer{At: now, TransferRequest: req,
		Obligations: len(x.Obligations), Attestations: len(x.Attestations), Consents: len(x.Consents), Messages: len(x.Messages),
		SHA256: hex.EncodeToString(sum[:]), Size: len(body)}
	t.MessagesFrom, t.MessagesTo = req.MessagesFrom.UTC(), req.MessagesTo.UTC()
	t.Records = t.Obligations + t.Attestations + t.Consents + t.Messages
	t.ID = "transfer:" + now.Format("20060102T150405.000000000Z") + ":" + t.SHA256[:16]
	data, err := json.Marshal(t)
	if err != nil {
		return fail(err)
	}
	e, err := m.cfg.Store.AppendAudit(ctx, store.AuditEntry{ID: t.ID, At: now, Kind: KindTransfer, Subject: "transfer", Data: data})
	if err != nil {
		return fail(fmt.Errorf("record it in the transfer register: %w", err))
	}
	t.Seq = e.Seq
	if _, err := w.Write(body); err != nil {
		return t, fmt.Errorf("evidence: transfer %s (on record): write: %w", t.ID, err)
	}
	return t, nil
}

// ListTransfers returns the transfer register, newest first: every
// audit entry of kind KindTransfer. It reads the whole audit log.
func (m *Maker) ListTransfers(ctx context.Context) ([]Transfer, error) {
	var out []Transfer
	for after := uint64(0); ; {
		page, err := m.cfg.Store.ListAudit(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("evidence: list transfers: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Kind != KindTransfer {
				continue
			}
			var t Transfer
			if err := json.Unmarshal(e.Data, &t); err != nil {
				return nil, fmt.Errorf("evidence: list transfers: audit entry %d: %w", e.Seq, err)
			}
			t.Seq = e.Seq
			out = append(out, t)
		}
		after = page[len(page)-1].Seq
	}
	slices.Reverse(out)
	return out, nil
}
