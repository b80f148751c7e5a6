package embedded

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

// codecVersion is the first byte of every stored message.
const codecVersion = 1

// encodeMessage is the compact binary form of m kept in the messages
// bucket: a version byte, then the fields in order, strings and byte
// slices as uvarint length and bytes, times as varint microseconds since
// the Unix epoch, tokens as uvarint deltas (they are sorted). RecalledBy
// is not stored: reads fill it from the recalls bucket.
//
// A ToList of sharedListMin ids or more is stored once in the tolists
// bucket and named by ref (listRef): a room's messages from one sender
// share one list, instead of each carrying hundreds of ids.
func encodeMessage(m archive.Message, ref []byte) []byte {
	n := 64 + len(m.MsgID) + len(m.From) + len(m.RoomID) + len(m.Conversation) + len(m.Content) + 10*len(m.Tokens)
	for _, id := range m.ToList {
		n += len(id) + 1
	}
	b := make([]byte, 0, n)
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	b = append(b, codecVersion)
	str(m.MsgID)
	b = binary.AppendUvarint(b, m.Seq)
	b = binary.AppendUvarint(b, uint64(m.PublicKeyVer))
	str(m.Action)
	str(m.Type)
	str(m.From)
	if ref != nil {
		b = binary.AppendUvarint(b, 1)
		str(string(ref))
	} else {
		b = binary.AppendUvarint(b, uint64(len(m.ToList))<<1)
		for _, id := range m.ToList {
			str(id)
		}
	}
	str(m.RoomID)
	b = binary.AppendVarint(b, m.Time.UnixMicro())
	str(m.Conversation)
	var flags byte
	if m.External {
		flags |= 1
	}
	b = append(b, flags)
	str(m.Withheld)
	str(m.Consent)
	str(m.PreMsgID)
	str(m.KeyDay)
	str(m.KeyID)
	b = binary.AppendUvarint(b, uint64(len(m.Content)))
	b = append(b, m.Content...)
	b = binary.AppendUvarint(b, uint64(len(m.Tokens)))
	var prev uint64
	for _, t := range m.Tokens {
		b = binary.AppendUvarint(b, t-prev)
		prev = t
	}
	b = binary.AppendUvarint(b, uint64(len(m.Media)))
	for _, md := range m.Media {
		str(md.Type)
		str(md.SDKFileID)
		str(md.MD5Sum)
		b = binary.AppendVarint(b, md.Size)
		str(md.FileName)
	}
	b = binary.AppendVarint(b, m.StoredAt.UnixMicro())
	return b
}

var errCorrupt = errors.New("corrupt stored message")

// decoder reads what encodeMessage wrote; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// count reads a length and checks it against what is left (each element
// takes at least one byte), so corrupt data cannot make a huge slice.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

// sharedListMin is the length from which a ToList is stored by reference.
const sharedListMin = 8

// encodeList is the stored form of a ToList: its ids as strings.
func encodeList(ids []string) []byte {
	var b []byte
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	return b
}

func decodeList(v []byte) ([]string, error) {
	d := &decoder{b: v}
	var ids []string
	for len(d.b) > 0 && d.err == nil {
		ids = append(ids, d.str())
	}
	return ids, d.err
}

// listRef is the reference a ToList is stored under, nil if it is short
// enough to be kept in the message.
func listRef(ids []string) []byte {
	if len(ids) < sharedListMin {
		return nil
	}
	h := sha256.Sum256(encodeList(ids))
	return h[:16]
}

// decodeMessage reads a stored message; the bytes of v are copied (bbolt
// values are valid only within their transaction). lists returns the
// ToList stored under a reference.
func decodeMessage(v []byte, lists func(ref []byte) ([]string, error)) (archive.Message, error) {
	d := &decoder{b: v}
	var m archive.Message
	if d.byte1() != codecVersion {
		return m, errCorrupt
	}
	m.MsgID = d.str()
	m.Seq = d.uvarint()
	pkv := d.uvarint()
	if pkv > math.MaxUint32 {
		d.err = errCorrupt
	}
	m.PublicKeyVer = uint32(pkv)
	m.Action = d.str()
	m.Type = d.str()
	m.From = d.str()
	if n := d.uvarint(); n&1 == 1 {
		ref := d.bytes()
		if d.err == nil {
			if m.ToList, d.err = lists(ref); d.err != nil {
				return m, d.err
			}
		}
	} else if n >>= 1; n > uint64(len(d.b)) {
		d.err = errCorrupt
	} else if n > 0 {
		m.ToList = make([]string, n)
		for i := range m.ToList {
			m.ToList[i] = d.str()
		}
	}
	m.RoomID = d.str()
	m.Time = time.UnixMicro(d.varint()).UTC()
	m.Conversation = d.str()
	m.External = d.byte1()&1 != 0
	m.Withheld = d.str()
	m.Consent = d.str()
	m.PreMsgID = d.str()
	m.KeyDay = d.str()
	m.KeyID = d.str()
	if c := d.bytes(); len(c) > 0 {
		m.Content = append([]byte(nil), c...)
	}
	if n := d.count(); n > 0 {
		m.Tokens = make([]uint64, n)
		var prev uint64
		for i := range m.Tokens {
			prev += d.uvarint()
			m.Tokens[i] = prev
		}
	}
	if n := d.count(); n > 0 {
		m.Media = make([]wecom.ChatMedia, n)
		for i := range m.Media {
			m.Media[i] = wecom.ChatMedia{Type: d.str(), SDKFileID: d.str(), MD5Sum: d.str(), Size: d.varint(), FileName: d.str()}
		}
	}
	m.StoredAt = time.UnixMicro(d.varint()).UTC()
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return m, d.err
}

// hasType reports whether the stored message v is of type typ, reading
// only the fields before it.
func hasType(v []byte, typ string) bool {
	d := &decoder{b: v}
	if d.byte1() != codecVersion {
		return false
	}
	d.bytes()   // msgid
	d.uvarint() // seq
	d.uvarint() // publickey_ver
	d.bytes()   // action
	t := d.bytes()
	return d.err == nil && string(t) == typ
}

// --- keys ---

// timeKey is t in microseconds with the sign bit flipped, big-endian, so
// that keys sort in time order.
func timeKey(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixMicro())^(1<<63))
}

func keyTime(b []byte) time.Time {
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b) ^ (1 << 63))).UTC()
}

// strPrefix is the index prefix of an id: its length (2 bytes) and the
// id, so that one id's entries are contiguous and no id is a prefix of
// another's.
func strPrefix(id string) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(id)+8+40), uint16(min(len(id), math.MaxUint16)))
	return append(b, id...)
}

func tokenPrefix(t uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8+8+40), t)
}

// entryKey is prefix ‖ time ‖ num, the key of bytime (num is the
// message's number, its key in the messages bucket).
func entryKey(prefix []byte, t []byte, num uint64) []byte {
	k := make([]byte, 0, len(prefix)+16)
	k = append(k, prefix...)
	k = append(k, t...)
	return binary.BigEndian.AppendUint64(k, num)
}

// tokenPeriod and idPeriod are the lengths of the time slices that lead
// the keys of the per-token index and of the per-id indexes (byparty,
// byroom, byconv): see periodEntryKey. A commit's entries of an index
// land in the pages of the periods its messages fall in; a search walks
// the periods of its range, one seek or two each (more in a period of
// the range, fewer pages written in a commit). Both are the UTC day:
// bench/archive at 1,000,000 messages measured tokens by the hour at
// search p95 131 ms (720 seeks a token for 30 days, each on a page of its
// own) against 20 ms by the day, for 12.1 against 14.5 KB written a
// message; ids by the hour cost seeks for little.
const (
	tokenPeriod = 24 * time.Hour
	idPeriod    = 24 * time.Hour
)

// periodLen is the length of a period key.
const periodLen = 4

// periodOf is the period of length d of time key t (see timeKey): its
// microseconds divided by d's, rounded down, as a signed 32-bit number with its
// sign bit flipped, so that period keys sort in time order. A time
// outside the range of int32 periods (±245,000 years) is clamped to its
// end, which keeps periodOf monotonic.
func periodOf(t []byte, d time.Duration) uint32 {
	us := int64(binary.BigEndian.Uint64(t) ^ (1 << 63))
	p := us / d.Microseconds()
	if us%d.Microseconds() < 0 {
		p-- // floor, not truncation, before 1970
	}
	p = max(min(p, math.MaxInt32), math.MinInt32)
	return uint32(int32(p)) ^ (1 << 31)
}

func periodKey(p uint32) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, periodLen+2+40+16), p)
}

func getPeriod(k []byte) uint32 { return binary.BigEndian.Uint32(k) }

// periodEntryKey is periodOf(t, d) ‖ prefix ‖ t ‖ num, the key of the per-id
// and per-token indexes (byparty, byroom, byconv, bytoken): an index's
// entries of one period are contiguous, and a commit's entries, whose
// times are close, land in the last few periods' pages instead of all
// over the index (bbolt rewrites every page a commit touches).
func periodEntryKey(d time.Duration, prefix []byte, t []byte, num uint64) []byte {
	k := periodKey(periodOf(t, d))
	k = append(k, prefix...)
	k = append(k, t...)
	return binary.BigEndian.AppendUint64(k, num)
}

// storedMsgID reads the msgid of a stored message, nothing else.
func storedMsgID(v []byte) (string, error) {
	d := &decoder{b: v}
	if d.byte1() != codecVersion {
		return "", errCorrupt
	}
	id := d.bytes()
	return string(id), d.err
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// --- page cursors ---

// Page cursors are base64url of a kind byte and a position: for Search
// the (time, msgid) of the last message given, for ListQuarantine the
// (seq, msgid) of the last record given.
const (
	cursorSearch     = 's'
	cursorQuarantine = 'q'
)

func encodeCursor(kind byte, pos []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind}, pos...))
}

// decodeCursor returns the position of c, which must be a cursor of kind
// with an 8-byte number and a msgid.
func decodeCursor(kind byte, c string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 1+8+1 || len(b) > 1+8+archive.MaxMsgIDLen || b[0] != kind {
		return nil, fmt.Errorf("%w: %.40q", archive.ErrInvalidCursor, c)
	}
	return b[1:], nil
}
