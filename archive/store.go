// Package archive keeps the session archive (会话内容存档): it pulls every
// record from a wecom.ArchiveSource, decrypts it with the key of its
// version (quarantining what it cannot), decides what may be kept
// (permit list, customer consent), encrypts content at rest with per-day
// data keys wrapped by a master key, indexes text as a blind index, and
// stores each batch together with the cursor in one transaction.
//
// This file is the contract its backends honour: archive/embedded (bbolt,
// the default) and archive/postgres (pgx v5). archive/archivetest is the
// conformance suite both pass. Backends store what they are given: content
// arrives encrypted and text arrives as token hashes, so no backend ever
// holds plaintext or words.
package archive

import (
	"context"
	"errors"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// Sentinel errors.
var (
	// ErrNotFound: no message, quarantined record or data key of that id.
	ErrNotFound = errors.New("archive: not found")
	// ErrCursorMoved: Commit's Batch.From is not the stored cursor —
	// another puller committed in between; nothing was written.
	ErrCursorMoved = errors.New("archive: cursor moved")
	// ErrExists: PutDataKey for a (day, id) that already has a key.
	ErrExists = errors.New("archive: exists")
	// ErrInvalidCursor: a page cursor that no listing of this kind gave.
	ErrInvalidCursor = errors.New("archive: invalid page cursor")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("archive: closed")
)

// Why content was not kept (Message.Withheld).
const (
	WithheldNoConsent    = "no_consent"    // an external party has not agreed (or disagreed)
	WithheldNotPermitted = "not_permitted" // no internal party is on the permit list
)

// Message is one archived record as a backend keeps it: the facts in the
// clear (who, when, where, type), the content only encrypted, the text
// only as token hashes.
type Message struct {
	MsgID string `json:"msgid"`
	Seq   uint64 `json:"seq"`
	// PublicKeyVer is the key version the record was encrypted with.
	PublicKeyVer uint32    `json:"publickey_ver"`
	Action       string    `json:"action"` // send, recall, switch
	Type         string    `json:"type"`   // msgtype; "" for switch
	From         string    `json:"from"`
	ToList       []string  `json:"tolist"`
	RoomID       string    `json:"roomid,omitempty"`
	Time         time.Time `json:"time"` // msgtime (switch: time), UTC
	// Conversation identifies the chat: "room:<roomid>", or for a 1:1
	// chat "single:<a>|<b>" with the two ids sorted (ConversationID).
	Conversation string `json:"conversation"`
	External     bool   `json:"external"`
	// Withheld is "" when the content is kept, else why not
	// (WithheldNoConsent, WithheldNotPermitted): then Content, Tokens and
	// Media are empty and only the facts are kept.
	Withheld string `json:"withheld,omitempty"`
	// Consent is the consent ledger's answer this decision used, e.g.
	// "internal", "agreed:msg_audit_approved", "agreed:stream",
	// "disagreed:check_single_agree", "unknown".
	Consent string `json:"consent"`
	// PreMsgID is the recalled message, for a recall record.
	PreMsgID string `json:"pre_msgid,omitempty"`
	// KeyDay and KeyID name the data key Content is sealed with.
	KeyDay string `json:"key_day,omitempty"` // "2006-01-02" (UTC day of Time)
	KeyID  string `json:"key_id,omitempty"`
	// Content is the sealed plaintext (AES-256-GCM, nonce first).
	Content []byte `json:"-"`
	// Tokens are the blind index of the text: the first 8 bytes of
	// HMAC-SHA256 of each distinct normalised token, big-endian, sorted.
	Tokens []uint64 `json:"-"`
	// Media are the file references (metadata is always kept when the
	// content is).
	Media    []wecom.ChatMedia `json:"media,omitempty"`
	StoredAt time.Time         `json:"stored_at"`

	// RecalledBy is filled by reads: the msgid of the recall record that
	// names this message, "" if none. Backends keep recalls as an index
	// pre_msgid → recall msgid, so the order they arrive in does not
	// matter.
	RecalledBy string `json:"recalled_by,omitempty"`
}

// Quarantined is a record that could not be decrypted (no key for its
// version, or a key that does not fit): kept encrypted, as WeCom sent
// it, until a retry decrypts it. It never blocks the cursor.
type Quarantined struct {
	Record   wecom.ChatRecord `json:"record"`
	Reason   string           `json:"reason"`
	Since    time.Time        `json:"since"`
	Attempts int              `json:"attempts"`
}

// Gap is a jump in seq between two consecutive records the puller saw
// (After and Before are the seqs on either side). Reported, kept for the
// status, never fatal.
type Gap struct {
	After    uint64    `json:"after"`
	Before   uint64    `json:"before"`
	Detected time.Time `json:"detected"`
}

// Batch is what one pull stores, atomically with the cursor.
type Batch struct {
	// From is the cursor the batch was fetched after; To the new cursor
	// (the largest seq of the batch). Commit fails with ErrCursorMoved,
	// writing nothing, if the stored cursor is not From.
	From, To uint64
	// Messages are stored unless their MsgID is stored already (a re-pull
	// after a crash): those are skipped, not errors.
	Messages []Message
	// Quarantine are added (or, for a msgid already quarantined, left).
	Quarantine []Quarantined
	Gaps       []Gap
}

// CommitResult says what Commit did.
type CommitResult struct {
	Stored     int // messages written
	Duplicates int // messages whose msgid was stored already
}

// DataKey is one content key, wrapped (sealed) by a master key.
type DataKey struct {
	Day       string    `json:"day"` // "2006-01-02"
	ID        string    `json:"id"`
	MasterID  string    `json:"master_id"` // which master key wraps it
	Wrapped   []byte    `json:"wrapped"`
	CreatedAt time.Time `json:"created_at"`
}

// Query selects messages. Empty fields do not filter. Results are ordered
// by Time then MsgID, newest first (Ascending: oldest first).
type Query struct {
	User         string // an internal user id as sender or receiver
	Customer     string // an external id as sender or receiver
	Room         string
	Conversation string
	Type         string
	From, To     time.Time // From ≤ Time < To
	// Tokens: every one must be in the message's Tokens (the caller
	// hashes the query's tokens and checks the decrypted candidates).
	Tokens    []uint64
	Ascending bool
	Cursor    string // from the previous page
	Limit     int    // default 100, at most 1,000
}

// Stats describe the archive for status pages and metrics.
type Stats struct {
	Cursor        uint64    `json:"cursor"`
	Messages      int64     `json:"messages"`
	Withheld      int64     `json:"withheld"`
	Quarantined   int64     `json:"quarantined"`
	Gaps          int64     `json:"gaps"`
	NewestMsgTime time.Time `json:"newest_msg_time,omitzero"`
	LastCommit    time.Time `json:"last_commit,omitzero"`
}

// Store is the contract of an archive backend. Every method takes a
// context first and is safe for concurrent use.
type Store interface {
	// Cursor returns the seq to pull after (0 when nothing was stored).
	Cursor(ctx context.Context) (uint64, error)
	// Commit stores b and sets the cursor to b.To in one transaction:
	// after a crash either all of it is there or none.
	Commit(ctx context.Context, b Batch) (CommitResult, error)
	// GetMessage returns one message by msgid, or ErrNotFound.
	GetMessage(ctx context.Context, msgID string) (Message, error)
	// Search returns a page of messages matching q and the cursor of the
	// next page ("" after the last).
	Search(ctx context.Context, q Query) (msgs []Message, next string, err error)

	// ListQuarantine returns quarantined records, oldest seq first.
	ListQuarantine(ctx context.Context, cursor string, limit int) (items []Quarantined, next string, err error)
	// ResolveQuarantine stores m (a record decrypted at last) and removes
	// m.MsgID from the quarantine in one transaction; ErrNotFound if it
	// is not quarantined (another retry did it).
	ResolveQuarantine(ctx context.Context, m Message) error
	// TouchQuarantine records one more failed attempt with its reason.
	TouchQuarantine(ctx context.Context, msgID, reason string) error

	// PutDataKey stores a new data key; ErrExists if (Day, ID) has one.
	PutDataKey(ctx context.Context, k DataKey) error
	// GetDataKey returns the data key (day, id), or ErrNotFound (it was
	// never made, or it was destroyed when its day was purged).
	GetDataKey(ctx context.Context, day, id string) (DataKey, error)
	// ListDataKeys returns every data key, by day then id.
	ListDataKeys(ctx context.Context) ([]DataKey, error)
	// RewrapDataKeys replaces the wrapping of existing keys (rotate-key):
	// keys are matched by (Day, ID); one that no longer exists is skipped.
	RewrapDataKeys(ctx context.Context, ks []DataKey) error

	// PurgeDay deletes the messages whose KeyDay is day, except those for
	// which keep returns true (a legal hold names a party), and destroys
	// the day's data keys if it kept none (crypto-shredding). It returns
	// how many messages it deleted and whether the keys were destroyed.
	PurgeDay(ctx context.Context, day string, keep func(Message) bool) (deleted int, shredded bool, err error)
	// Days lists the days that have messages or data keys, oldest first.
	Days(ctx context.Context) ([]string, error)

	// ListGaps returns the gaps recorded, oldest first.
	ListGaps(ctx context.Context) ([]Gap, error)

	// Media download queue (media.go). Commit and ResolveQuarantine add
	// the tasks MediaTasksOf(m) gives for each message they store, in the
	// same transaction (a message stored already adds none; a withheld
	// one has none). PurgeDay deletes the tasks of the messages it
	// deletes.
	//
	// PendingMedia returns at most limit tasks of status MediaPending
	// whose State.Next is not after due, by Next, then MsgID, then
	// SDKFileID.
	PendingMedia(ctx context.Context, due time.Time, limit int) ([]MediaTask, error)
	// SetMediaState replaces the state of the task (msgID, sdkFileID);
	// ErrNotFound if there is none.
	SetMediaState(ctx context.Context, msgID, sdkFileID string, st MediaState) error
	// MediaOf returns the tasks of one message, by SDKFileID (none for a
	// message without media or unknown).
	MediaOf(ctx context.Context, msgID string) ([]MediaTask, error)

	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// ConversationID names the chat m belongs to: "room:<roomid>" for a
// group, else "single:<a>|<b>" with From and the one receiver sorted.
func ConversationID(from string, toList []string, roomID string) string {
	if roomID != "" {
		return "room:" + roomID
	}
	to := ""
	if len(toList) > 0 {
		to = toList[0]
	}
	a, b := from, to
	if b < a {
		a, b = b, a
	}
	return "single:" + a + "|" + b
}
