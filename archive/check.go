package archive

import (
	"fmt"
	"time"
)

// MaxMsgIDLen is the longest msgid a backend accepts (WeCom's are well
// under 100 bytes; backends put msgids in index keys).
const MaxMsgIDLen = 512

// DayOf is the day a message belongs to for PurgeDay and Days: its KeyDay,
// or, for a message that has none (a withheld one keeps no content and so
// needs no key), the UTC day of its Time.
func DayOf(m Message) string {
	if m.KeyDay != "" {
		return m.KeyDay
	}
	return KeyDay(m.Time)
}

// CheckBatch reports why a backend must refuse b (Commit then writes
// nothing), or nil. Both backends call it, so they refuse alike.
func CheckBatch(b Batch) error {
	if b.To < b.From {
		return fmt.Errorf("archive: batch: to %d is before from %d", b.To, b.From)
	}
	for i, m := range b.Messages {
		if err := CheckMessage(m); err != nil {
			return fmt.Errorf("archive: batch: messages[%d]: %w", i, err)
		}
	}
	for i, q := range b.Quarantine {
		if q.Record.MsgID == "" {
			return fmt.Errorf("archive: batch: quarantine[%d]: record.msgid is empty", i)
		}
		if len(q.Record.MsgID) > MaxMsgIDLen {
			return fmt.Errorf("archive: batch: quarantine[%d]: record.msgid is longer than %d bytes", i, MaxMsgIDLen)
		}
	}
	for i, g := range b.Gaps {
		if g.Before <= g.After {
			return fmt.Errorf("archive: batch: gaps[%d]: before %d is not after %d", i, g.Before, g.After)
		}
	}
	return nil
}

// CheckMessage reports why a backend must refuse m, or nil. A withheld
// message carrying content, tokens, media or a key is refused rather
// than stripped: it means the caller decided wrongly, and no backend may
// keep what the decision withheld.
func CheckMessage(m Message) error {
	if m.MsgID == "" {
		return fmt.Errorf("message: msgid is empty")
	}
	if len(m.MsgID) > MaxMsgIDLen {
		return fmt.Errorf("message %q: msgid is longer than %d bytes", m.MsgID[:32], MaxMsgIDLen)
	}
	if m.KeyDay != "" {
		if _, err := time.Parse(DayLayout, m.KeyDay); err != nil {
			return fmt.Errorf("message %s: key_day %q is not a YYYY-MM-DD day", m.MsgID, m.KeyDay)
		}
	}
	if m.Withheld != "" {
		switch {
		case len(m.Content) > 0:
			return fmt.Errorf("message %s: withheld (%s) but has content", m.MsgID, m.Withheld)
		case len(m.Tokens) > 0:
			return fmt.Errorf("message %s: withheld (%s) but has tokens", m.MsgID, m.Withheld)
		case len(m.Media) > 0:
			return fmt.Errorf("message %s: withheld (%s) but has media", m.MsgID, m.Withheld)
		case m.KeyID != "":
			return fmt.Errorf("message %s: withheld (%s) but names data key %q", m.MsgID, m.Withheld, m.KeyID)
		}
	}
	for i := 1; i < len(m.Tokens); i++ {
		if m.Tokens[i] <= m.Tokens[i-1] {
			return fmt.Errorf("message %s: tokens are not sorted and distinct (at %d)", m.MsgID, i)
		}
	}
	return nil
}
