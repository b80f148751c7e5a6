package archive

import (
	"container/list"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Encryption at rest. Content is sealed with AES-256-GCM under a data key
// of its UTC day (DataKey, one per (day, key id)); data keys are made
// lazily, stored wrapped (AES-256-GCM under a master key) and cached
// unwrapped in memory. Rotating the master key rewraps the data keys, not
// the content; purging a day destroys its data keys (crypto-shredding).

// KeySize is the size of master keys, data keys and the index key.
const KeySize = 32

// DefaultDataKeyID is the key id of the data keys Keys makes.
const DefaultDataKeyID = "1"

// DefaultKeyCacheSize is how many unwrapped data keys Keys holds.
const DefaultKeyCacheSize = 64

// DayLayout is the layout of Message.KeyDay and DataKey.Day.
const DayLayout = "2006-01-02"

// ErrKeyDestroyed: the data key that sealed a message does not exist (its
// day was purged, the keys shredded), so the content cannot be opened.
var ErrKeyDestroyed = errors.New("archive: data key destroyed or never made")

// ErrUnknownMaster: a data key is wrapped by a master key that is not
// configured.
var ErrUnknownMaster = errors.New("archive: data key wrapped by an unknown master key")

// secret is 32 bytes that never print: every formatting verb, slog and
// JSON show "[redacted]".
type secret struct{ b []byte }

func (secret) String() string               { return "[redacted]" }
func (secret) GoString() string             { return "[redacted]" }
func (secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
func (s secret) Format(f fmt.State, _ rune) { io.WriteString(f, "[redacted]") }
func (s secret) valid() bool                { return len(s.b) == KeySize }
func (s secret) equal(o secret) bool        { return string(s.b) == string(o.b) }
func decodeSecret(what, b64 string) (secret, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil {
		return secret{}, fmt.Errorf("archive: %s: not base64 (standard alphabet)", what)
	}
	if len(raw) != KeySize {
		return secret{}, fmt.Errorf("archive: %s: %d bytes, want %d", what, len(raw), KeySize)
	}
	return secret{b: raw}, nil
}

// MasterKey is a key that wraps data keys, named by ID (kept with every
// data key it wraps). Its bytes never print.
type MasterKey struct {
	ID  string
	key secret
}

// String implements fmt.Stringer without the key.
func (m MasterKey) String() string { return "master key " + m.ID }

// Format prints String for every verb (%#v included), never the key.
func (m MasterKey) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }

// LogValue implements slog.LogValuer without the key.
func (m MasterKey) LogValue() slog.Value { return slog.StringValue(m.String()) }

// NewMasterKey returns the master key id with raw (32 bytes, copied).
func NewMasterKey(id string, raw []byte) (MasterKey, error) {
	if id == "" {
		return MasterKey{}, errors.New("archive: master key id is empty")
	}
	if len(raw) != KeySize {
		return MasterKey{}, fmt.Errorf("archive: master key %q: %d bytes, want %d", id, len(raw), KeySize)
	}
	return MasterKey{ID: id, key: secret{b: append([]byte(nil), raw...)}}, nil
}

// ParseMasterKey returns the master key id from its base64 text (config
// or environment). Errors never contain the text.
func ParseMasterKey(id, b64 string) (MasterKey, error) {
	if id == "" {
		return MasterKey{}, errors.New("archive: master key id is empty")
	}
	s, err := decodeSecret(fmt.Sprintf("master key %q", id), b64)
	if err != nil {
		return MasterKey{}, err
	}
	return MasterKey{ID: id, key: s}, nil
}

// KeysConfig configures Keys.
type KeysConfig struct {
	// Masters are every master key that may still unwrap a data key; the
	// first one is the current one, which wraps new data keys.
	Masters []MasterKey
	// DataKeyID is the id of the data keys made (DefaultDataKeyID if "").
	DataKeyID string
	// CacheSize bounds the unwrapped data keys held in memory
	// (DefaultKeyCacheSize if ≤ 0).
	CacheSize int
	// Clock stamps DataKey.CreatedAt (time.Now if nil).
	Clock func() time.Time
	// Rand is the entropy for keys and nonces (crypto/rand if nil).
	Rand io.Reader
}

// Keys seals and opens archive content. It is safe for concurrent use.
type Keys struct {
	store   Store
	masters map[string]secret
	current string
	keyID   string
	clock   func() time.Time
	rand    io.Reader

	mu    sync.Mutex
	max   int
	cache map[dataKeyName]*list.Element // of *cachedKey
	lru   *list.List                    // front: most recently used
}

type dataKeyName struct{ day, id string }

type cachedKey struct {
	name dataKeyName
	aead cipher.AEAD
}

// NewKeys returns Keys over store's data keys.
func NewKeys(store Store, cfg KeysConfig) (*Keys, error) {
	if store == nil {
		return nil, errors.New("archive: keys: store is nil")
	}
	if len(cfg.Masters) == 0 {
		return nil, errors.New("archive: keys: no master key configured")
	}
	k := &Keys{
		store:   store,
		masters: make(map[string]secret, len(cfg.Masters)),
		current: cfg.Masters[0].ID,
		keyID:   cfg.DataKeyID,
		clock:   cfg.Clock,
		rand:    cfg.Rand,
		max:     cfg.CacheSize,
		cache:   map[dataKeyName]*list.Element{},
		lru:     list.New(),
	}
	for i, m := range cfg.Masters {
		if m.ID == "" || !m.key.valid() {
			return nil, fmt.Errorf("archive: keys: master key %d (%q): not set (use ParseMasterKey)", i, m.ID)
		}
		if old, ok := k.masters[m.ID]; ok && !old.equal(m.key) {
			return nil, fmt.Errorf("archive: keys: master key id %q given twice with different keys", m.ID)
		}
		k.masters[m.ID] = m.key
	}
	if k.keyID == "" {
		k.keyID = DefaultDataKeyID
	}
	if k.clock == nil {
		k.clock = time.Now
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if k.max <= 0 {
		k.max = DefaultKeyCacheSize
	}
	return k, nil
}

// CurrentMaster returns the id of the master key that wraps new data keys.
func (k *Keys) CurrentMaster() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current
}

// KeyDay returns the data-key day of a message at t: its UTC day.
func KeyDay(t time.Time) string { return t.UTC().Format(DayLayout) }

// Seal encrypts plaintext for the message msgID of day (KeyDay) under the
// day's data key, making and storing it if there is none yet, with msgID
// as additional data (a sealed content moved to another message does not
// open). It returns the data key's id and nonce ‖ ciphertext.
func (k *Keys) Seal(ctx context.Context, day, msgID string, plaintext []byte) (keyID string, sealed []byte, err error) {
	aead, err := k.dataKey(ctx, day, k.keyID, true)
	if err != nil {
		return "", nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return "", nil, fmt.Errorf("archive: seal %s: nonce: %w", msgID, err)
	}
	return k.keyID, aead.Seal(nonce, nonce, plaintext, []byte(msgID)), nil
}

// Open decrypts m.Content. ErrKeyDestroyed (wrapped) if the data key is
// gone; an error if the content was altered or belongs to another msgid.
func (k *Keys) Open(ctx context.Context, m Message) ([]byte, error) {
	if m.Withheld != "" || len(m.Content) == 0 {
		return nil, fmt.Errorf("archive: open %s: no content kept (withheld %q)", m.MsgID, m.Withheld)
	}
	aead, err := k.dataKey(ctx, m.KeyDay, m.KeyID, false)
	if err != nil {
		return nil, fmt.Errorf("archive: open %s: %w", m.MsgID, err)
	}
	ns := aead.NonceSize()
	if len(m.Content) < ns+aead.Overhead() {
		return nil, fmt.Errorf("archive: open %s: content %d bytes, too short", m.MsgID, len(m.Content))
	}
	plain, err := aead.Open(nil, m.Content[:ns], m.Content[ns:], []byte(m.MsgID))
	if err != nil {
		return nil, fmt.Errorf("archive: open %s: content does not authenticate", m.MsgID)
	}
	return plain, nil
}

// Forget drops day's data keys from the cache (after PurgeDay destroyed
// them, so that this process cannot open that day's content either).
func (k *Keys) Forget(day string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, e := range k.cache {
		if name.day == day {
			k.lru.Remove(e)
			delete(k.cache, name)
		}
	}
}

// dataKey returns the AEAD of data key (day, id): cached, stored, or (if
// create) made now.
func (k *Keys) dataKey(ctx context.Context, day, id string, create bool) (cipher.AEAD, error) {
	if _, err := time.Parse(DayLayout, day); err != nil {
		return nil, fmt.Errorf("archive: data key day %q: want YYYY-MM-DD", day)
	}
	name := dataKeyName{day, id}
	k.mu.Lock()
	if e, ok := k.cache[name]; ok {
		k.lru.MoveToFront(e)
		a := e.Value.(*cachedKey).aead
		k.mu.Unlock()
		return a, nil
	}
	k.mu.Unlock()

	dk, err := k.store.GetDataKey(ctx, day, id)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound) && create:
		dk, err = k.makeDataKey(ctx, day, id)
		if err != nil {
			return nil, err
		}
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("data key %s/%s: %w", day, id, ErrKeyDestroyed)
	default:
		return nil, fmt.Errorf("archive: get data key %s/%s: %w", day, id, err)
	}
	raw, err := k.unwrap(dk)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(raw)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.cache[name]; ok { // another goroutine was faster
		k.lru.MoveToFront(e)
		return e.Value.(*cachedKey).aead, nil
	}
	k.cache[name] = k.lru.PushFront(&cachedKey{name: name, aead: aead})
	for k.lru.Len() > k.max {
		old := k.lru.Back()
		k.lru.Remove(old)
		delete(k.cache, old.Value.(*cachedKey).name)
	}
	return aead, nil
}

// makeDataKey makes and stores a new data key; if another puller stored
// one first (ErrExists), that one is returned.
func (k *Keys) makeDataKey(ctx context.Context, day, id string) (DataKey, error) {
	raw := make([]byte, KeySize)
	if _, err := io.ReadFull(k.rand, raw); err != nil {
		return DataKey{}, fmt.Errorf("archive: new data key %s/%s: %w", day, id, err)
	}
	k.mu.Lock()
	master := k.current
	k.mu.Unlock()
	dk := DataKey{Day: day, ID: id, CreatedAt: k.clock().UTC()}
	if err := k.wrap(&dk, master, raw); err != nil {
		return DataKey{}, err
	}
	err := k.store.PutDataKey(ctx, dk)
	if errors.Is(err, ErrExists) {
		stored, gerr := k.store.GetDataKey(ctx, day, id)
		if gerr != nil {
			return DataKey{}, fmt.Errorf("archive: data key %s/%s: made concurrently, then: %w", day, id, gerr)
		}
		return stored, nil
	}
	if err != nil {
		return DataKey{}, fmt.Errorf("archive: put data key %s/%s: %w", day, id, err)
	}
	return dk, nil
}

// wrapAD binds a wrapped data key to its day and id.
func wrapAD(day, id string) []byte { return []byte("wecomply-archive-dk-v1|" + day + "|" + id) }

func (k *Keys) wrap(dk *DataKey, masterID string, raw []byte) error {
	k.mu.Lock()
	m, ok := k.masters[masterID]
	k.mu.Unlock()
	if !ok {
		return fmt.Errorf("archive: wrap data key %s/%s: master key %q: %w", dk.Day, dk.ID, masterID, ErrUnknownMaster)
	}
	aead, err := newGCM(m.b)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(raw)+aead.Overhead())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return fmt.Errorf("archive: wrap data key %s/%s: nonce: %w", dk.Day, dk.ID, err)
	}
	dk.MasterID = masterID
	dk.Wrapped = aead.Seal(nonce, nonce, raw, wrapAD(dk.Day, dk.ID))
	return nil
}

func (k *Keys) unwrap(dk DataKey) ([]byte, error) {
	k.mu.Lock()
	m, ok := k.masters[dk.MasterID]
	k.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("archive: data key %s/%s: master key %q: %w", dk.Day, dk.ID, dk.MasterID, ErrUnknownMaster)
	}
	aead, err := newGCM(m.b)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	if len(dk.Wrapped) < ns+aead.Overhead() {
		return nil, fmt.Errorf("archive: data key %s/%s: wrapped key %d bytes, too short", dk.Day, dk.ID, len(dk.Wrapped))
	}
	raw, err := aead.Open(nil, dk.Wrapped[:ns], dk.Wrapped[ns:], wrapAD(dk.Day, dk.ID))
	if err != nil {
		return nil, fmt.Errorf("archive: data key %s/%s: does not unwrap with master key %q", dk.Day, dk.ID, dk.MasterID)
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("archive: data key %s/%s: %d bytes, want %d", dk.Day, dk.ID, len(raw), KeySize)
	}
	return raw, nil
}

// RotateMaster makes next the current master key and rewraps every data
// key under it (Store.RewrapDataKeys); content is not re-encrypted. The
// old master keys stay in k (a data key made concurrently by another
// process under an old one still opens); once it returns, the old master
// keys may be removed from the configuration. It returns how many data
// keys it rewrapped.
func (k *Keys) RotateMaster(ctx context.Context, next MasterKey) (int, error) {
	if next.ID == "" || !next.key.valid() {
		return 0, errors.New("archive: rotate master: new master key not set (use ParseMasterKey)")
	}
	k.mu.Lock()
	if old, ok := k.masters[next.ID]; ok && !old.equal(next.key) {
		k.mu.Unlock()
		return 0, fmt.Errorf("archive: rotate master: id %q is taken by another key", next.ID)
	}
	k.masters[next.ID] = next.key
	k.current = next.ID
	k.mu.Unlock()

	keys, err := k.store.ListDataKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("archive: rotate master: list data keys: %w", err)
	}
	var out []DataKey
	for _, dk := range keys {
		if dk.MasterID == next.ID {
			continue
		}
		raw, err := k.unwrap(dk)
		if err != nil {
			return 0, fmt.Errorf("archive: rotate master: %w", err)
		}
		if err := k.wrap(&dk, next.ID, raw); err != nil {
			return 0, fmt.Errorf("archive: rotate master: %w", err)
		}
		out = append(out, dk)
	}
	if len(out) == 0 {
		return 0, nil
	}
	if err := k.store.RewrapDataKeys(ctx, out); err != nil {
		return 0, fmt.Errorf("archive: rotate master: rewrap %d data keys: %w", len(out), err)
	}
	return len(out), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("archive: aes: %w", err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("archive: gcm: %w", err)
	}
	return a, nil
}
