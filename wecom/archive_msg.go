package wecom

import "time"

// ChatMessage is one decrypted archive record, decoded leniently
// (ARCHIVE.md §1): the common fields, what the puller needs to decide what
// to keep and to index, and the plaintext itself. DecodeChatMessage fills
// it; a type it does not know still decodes (its fields and Raw), never an
// error.
type ChatMessage struct {
	MsgID  string
	Action string // ActionSend, ActionRecall, ActionSwitch
	// Type is msgtype ("" for a switch record).
	Type   string
	From   string
	ToList []string
	RoomID string // "" for a 1:1 chat (and when the key is absent)
	// Time is msgtime (UTC ms) or, for a switch record, its time.
	Time time.Time
	// SwitchUser is the user of a switch record.
	SwitchUser string
	// PreMsgID is the recalled message of a recall (revoke.pre_msgid).
	PreMsgID string
	// Agree is set for agree / disagree records.
	Agree *ChatAgree
	// Text is the message's searchable text: a text's content, a link's
	// title and description, a file's name, markdown, the texts inside
	// chatrecord / mixed / note items (decoded a second time), …; "" if none.
	Text string
	// Media are the files the message refers to, nested ones included.
	Media []ChatMedia
	// Raw is the plaintext JSON with raw control bytes escaped as \u00XX
	// (never deleted), so it decodes and keeps every byte's meaning.
	Raw []byte
}

// Archive record actions.
const (
	ActionSend   = "send"
	ActionRecall = "recall"
	ActionSwitch = "switch"
)

// ChatAgree is an external contact's agree / disagree record.
type ChatAgree struct {
	UserID string // external_userid (or userid)
	Agreed bool
	Time   time.Time // agree_time or disagree_time (ms)
}

// ChatMedia is one media reference: the id to download it with and what
// to check it against.
type ChatMedia struct {
	Type      string // image, voice, video, file, emotion, meeting_voice_call, voip_doc_share, …
	SDKFileID string
	MD5Sum    string // hex, may be empty
	Size      int64  // filesize / voice_size / imagesize, 0 if absent
	FileName  string // file / voip_doc_share; "" otherwise
}

// External reports whether a party other than From/ToList internal members
// takes part: the msgid suffix "_external" or an id that is an external
// contact (wo…/wm…) or a robot (wb…), compared case-sensitively.
func (m ChatMessage) External() bool {
	if len(m.MsgID) >= 9 && m.MsgID[len(m.MsgID)-9:] == "_external" {
		return true
	}
	if IsExternalID(m.From) {
		return true
	}
	for _, id := range m.ToList {
		if IsExternalID(id) {
			return true
		}
	}
	return false
}

// IsExternalID reports whether id is an external contact's (wo…, wm…) or
// a robot's (wb…) id, by WeCom's prefixes (path/91774), case-sensitively:
// internal user ids can look like anything, "WoBeiQi…" included.
func IsExternalID(id string) bool {
	if len(id) < 3 {
		return false
	}
	switch id[:2] {
	case "wo", "wm", "wb":
		return true
	}
	return false
}
