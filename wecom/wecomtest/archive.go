package wecomtest

import (
	"bytes"
	"context"
	"crypto/aes"
	stdcipher "crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// The session archive (会话内容存档), faked: ArchiveServer is WeCom's side
// (the stored records, the console's public keys, the 5-day horizon, the
// media store) and ArchiveSource is the client side the puller uses, a
// wecom.ArchiveSource that calls the server in process, as the real one
// calls the SDK. The real SDK's symmetric step (DecryptData) is
// undocumented, so the fake pairs its own scheme with its own decrypter:
// encrypt_chat_msg = base64(nonce ‖ AES-256-GCM(SHA-256(random key),
// plaintext)). The RSA step is WeCom's: encrypt_random_key = base64(RSA
// PKCS#1 v1.5 of a 32-character random key) under the public key of the
// current version.
//
// Everything is deterministic from ArchiveConfig.Seed except the RSA
// ciphertexts: the same seed, clock and calls give the same seqs, msgids,
// plaintexts, random keys and media in any process.

// ArchiveHorizon is how long WeCom keeps archive records and media.
const ArchiveHorizon = 5 * 24 * time.Hour

// StaleSeqMode is what ChatData does with a seq older than the horizon:
// the doc says both (ARCHIVE.md §2.2).
type StaleSeqMode int

const (
	// StaleSeqRestart serves from the oldest record still kept (path/91552
	// Q&A): what expired is silently skipped.
	StaleSeqRestart StaleSeqMode = iota
	// StaleSeqExpired answers SDK code 10010 (path/91552 error table).
	StaleSeqExpired
)

// ArchiveOp names an SDK call for fault injection and call counts.
type ArchiveOp string

// SDK calls of the archive.
const (
	OpChatData ArchiveOp = "GetChatData"
	OpDecrypt  ArchiveOp = "DecryptData"
	OpMedia    ArchiveOp = "GetMediaData"
)

// ArchiveConfig configures an ArchiveServer.
type ArchiveConfig struct {
	// Seed makes the generator, the random keys, the nonces and the media
	// bytes deterministic.
	Seed uint64
	// Now is the server's clock: records are stored at Now() and expire
	// Horizon later. Default time.Now.
	Now func() time.Time
	// Horizon defaults to ArchiveHorizon (5 days).
	Horizon time.Duration
	// StaleSeq is what ChatData does with a seq older than the horizon.
	StaleSeq StaleSeqMode
	// Secret is the archive Secret the source must present; a source with
	// another one gets JSON errcode 48002 from ChatData. "" accepts any.
	Secret string
	// CleanJSON turns off the raw control bytes the generator otherwise
	// leaves in multi-line texts (quoted replies), as the real plaintext
	// has them (ARCHIVE.md §4).
	CleanJSON bool
}

// ArchiveServer is WeCom's side of the session archive. Its methods are
// safe for concurrent use.
type ArchiveServer struct {
	cfg ArchiveConfig

	mu      sync.Mutex
	records []*archRecord // seq ascending
	nextSeq uint64        // the seq the next record gets
	pubKeys map[uint32]*rsa.PublicKey
	curVer  uint32
	lastVer uint32
	media   map[string]*archMedia
	plain   map[string][]byte // msgid → plaintext (the latest record of it)
	faults  map[ArchiveOp][]int
	jsonErr []archJSONErr
	calls   map[ArchiveOp]int
	served  []ServedRecord
	gen     *archGen
	crypt   *mrand.Rand // random keys and nonces
}

type archRecord struct {
	wecom.ChatRecord
	plain  []byte
	stored time.Time
}

type archMedia struct {
	data   []byte
	stored time.Time
}

type archJSONErr struct {
	code int
	msg  string
}

// ServedRecord is one record ChatData returned, in the order served.
type ServedRecord struct {
	Seq   uint64
	MsgID string
}

// ArchiveRecordInfo describes one stored record.
type ArchiveRecordInfo struct {
	Seq          uint64
	MsgID        string
	PublicKeyVer uint32
	Stored       time.Time
	Expired      bool // older than the horizon: ChatData no longer serves it
}

// NewArchiveServer returns an empty archive. Upload a public key before
// adding records.
func NewArchiveServer(cfg ArchiveConfig) *ArchiveServer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = ArchiveHorizon
	}
	s := &ArchiveServer{
		cfg:     cfg,
		nextSeq: 1,
		pubKeys: make(map[uint32]*rsa.PublicKey),
		media:   make(map[string]*archMedia),
		plain:   make(map[string][]byte),
		faults:  make(map[ArchiveOp][]int),
		calls:   make(map[ArchiveOp]int),
		crypt:   mrand.New(mrand.NewPCG(cfg.Seed, 0x63727970745f6b65)),
	}
	s.gen = newArchGen(cfg.Seed, !cfg.CleanJSON)
	return s
}

// UploadPublicKey is the console's "upload a new public key": the key
// gets the next version (1, 2, …), which becomes current — later records
// are encrypted with it; earlier ones keep theirs (a rotation).
func (s *ArchiveServer) UploadPublicKey(pub *rsa.PublicKey) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastVer++
	s.pubKeys[s.lastVer] = pub
	s.curVer = s.lastVer
	return s.lastVer
}

// UseKeyVersion makes an uploaded version current again.
func (s *ArchiveServer) UseKeyVersion(ver uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pubKeys[ver]; !ok {
		return fmt.Errorf("wecomtest: archive: publickey_ver %d was never uploaded", ver)
	}
	s.curVer = ver
	return nil
}

// KeyVersion is the current publickey_ver (0 before any upload).
func (s *ArchiveServer) KeyVersion() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.curVer
}

// Generate appends n generated records (a realistic mix of every
// documented shape, ARCHIVE.md §1: the first len(ArchiveKinds()) records
// cover each kind once, in that order, then a weighted random mix) stored
// at Now(), and returns their msgids.
func (s *ArchiveServer) Generate(n int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	ids := make([]string, 0, n)
	for _, m := range s.gen.batch(n, now) {
		if err := s.appendLocked(m.msgid, m.plain, now); err != nil {
			return ids, err
		}
		s.addMediaLocked(m.media, now)
		ids = append(ids, m.msgid)
	}
	return ids, nil
}

// Trickle appends a few demo messages at now (employees and customers in
// 1:1 chats, a customer group), in zh-CN, for the sandbox, and returns
// their msgids. The records are stored at now too.
func (s *ArchiveServer) Trickle(now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, m := range s.gen.trickle(now) {
		if err := s.appendLocked(m.msgid, m.plain, now); err != nil {
			return ids, err
		}
		s.addMediaLocked(m.media, now)
		ids = append(ids, m.msgid)
	}
	return ids, nil
}

// Add appends one record whose plaintext is msg: []byte, string or
// json.RawMessage as they are, any other value marshalled to JSON. The
// plaintext must have a msgid (wecom.DecodeChatMessage reads it); use
// AddRaw for one that does not. It returns the record's seq.
func (s *ArchiveServer) Add(msg any) (uint64, error) {
	plain, err := plaintextOf(msg)
	if err != nil {
		return 0, err
	}
	m, err := wecom.DecodeChatMessage(plain)
	if err != nil {
		return 0, fmt.Errorf("wecomtest: archive add: %w", err)
	}
	return s.AddRaw(m.MsgID, plain)
}

// AddRaw appends one record with outer msgid msgid and plaintext plain,
// which need not be JSON at all (a corrupt record).
func (s *ArchiveServer) AddRaw(msgid string, plain []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.appendLocked(msgid, bytes.Clone(plain), s.cfg.Now()); err != nil {
		return 0, err
	}
	return s.records[len(s.records)-1].Seq, nil
}

// AddMedia stores data as the media file sdkFileID (for records given to
// Add), stored at Now().
func (s *ArchiveServer) AddMedia(sdkFileID string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[sdkFileID] = &archMedia{data: bytes.Clone(data), stored: s.cfg.Now()}
}

// Duplicate appends the plaintext of msgid again under the next seq (a
// re-emitted message), newly encrypted, and returns that seq.
func (s *ArchiveServer) Duplicate(msgid string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	plain, ok := s.plain[msgid]
	if !ok {
		return 0, fmt.Errorf("wecomtest: archive duplicate: no record with msgid %q", msgid)
	}
	if err := s.appendLocked(msgid, plain, s.cfg.Now()); err != nil {
		return 0, err
	}
	return s.records[len(s.records)-1].Seq, nil
}

// SkipSeqs leaves a gap: the next record's seq is n higher than it would
// have been.
func (s *ArchiveServer) SkipSeqs(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextSeq += n
}

// FailNext makes the next len(codes) calls of op return those SDK codes,
// one each, in order (10001–10003 retryable, 10006/10008 decrypt, 10009
// IP not allowed, 10010 expired, …). A Media fault fails one chunk call
// (ArchiveSource.Media fetches that chunk again if the code is
// temporary); a Decrypt fault is DecryptData's answer, after the
// source's key lookup and RSA step (a record without a key does not
// consume one).
func (s *ArchiveServer) FailNext(op ArchiveOp, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], codes...)
}

// FailNextJSON makes the next n ChatData calls return SDK code 0 with
// JSON errcode code (41001 access_token missing, 48002 api forbidden, …).
func (s *ArchiveServer) FailNextJSON(code int, msg string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.jsonErr = append(s.jsonErr, archJSONErr{code, msg})
	}
}

// Calls is how many calls of op the server answered, failed ones
// included.
func (s *ArchiveServer) Calls(op ArchiveOp) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Served is every (seq, msgid) ChatData returned, in order, repeats
// included.
func (s *ArchiveServer) Served() []ServedRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ServedRecord(nil), s.served...)
}

// Records describes every stored record, expired ones included.
func (s *ArchiveServer) Records() []ArchiveRecordInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := s.cfg.Now().Add(-s.cfg.Horizon)
	out := make([]ArchiveRecordInfo, len(s.records))
	for i, r := range s.records {
		out[i] = ArchiveRecordInfo{Seq: r.Seq, MsgID: r.MsgID, PublicKeyVer: r.PublicKeyVer, Stored: r.stored, Expired: r.stored.Before(cut)}
	}
	return out
}

// Plaintext is the plaintext of msgid's latest record, byte for byte
// (raw control bytes included).
func (s *ArchiveServer) Plaintext(msgid string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.plain[msgid]
	return bytes.Clone(p), ok
}

// MediaBytes is the content of the media file sdkFileID.
func (s *ArchiveServer) MediaBytes(sdkFileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[sdkFileID]
	if !ok {
		return nil, false
	}
	return bytes.Clone(m.data), true
}

// MediaIDs lists the stored media files.
func (s *ArchiveServer) MediaIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.media))
	for id := range s.media {
		out = append(out, id)
	}
	return out
}

// appendLocked encrypts plain and stores it as the next record.
func (s *ArchiveServer) appendLocked(msgid string, plain []byte, stored time.Time) error {
	pub, ok := s.pubKeys[s.curVer]
	if !ok {
		return errors.New("wecomtest: archive: no public key uploaded (call UploadPublicKey first)")
	}
	randomKey := make([]byte, 32)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := range randomKey {
		randomKey[i] = alphabet[s.crypt.IntN(len(alphabet))]
	}
	encKey, err := rsa.EncryptPKCS1v15(rand.Reader, pub, randomKey)
	if err != nil {
		return fmt.Errorf("wecomtest: archive: RSA-encrypt the random key: %w", err)
	}
	nonce := make([]byte, 12)
	binary.LittleEndian.PutUint64(nonce, s.crypt.Uint64())
	binary.LittleEndian.PutUint32(nonce[8:], s.crypt.Uint32())
	gcm := archGCM(randomKey)
	sealed := gcm.Seal(bytes.Clone(nonce), nonce, plain, nil)
	r := &archRecord{
		ChatRecord: wecom.ChatRecord{
			Seq:              s.nextSeq,
			MsgID:            msgid,
			PublicKeyVer:     s.curVer,
			EncryptRandomKey: base64.StdEncoding.EncodeToString(encKey),
			EncryptChatMsg:   base64.StdEncoding.EncodeToString(sealed),
		},
		plain:  plain,
		stored: stored,
	}
	s.nextSeq++
	s.records = append(s.records, r)
	s.plain[msgid] = plain
	return nil
}

func (s *ArchiveServer) addMediaLocked(media map[string][]byte, stored time.Time) {
	for id, data := range media {
		s.media[id] = &archMedia{data: data, stored: stored}
	}
}

// archGCM is the fake's DecryptData cipher: AES-256-GCM keyed by the
// SHA-256 of the random key.
func archGCM(randomKey []byte) stdcipher.AEAD {
	k := sha256.Sum256(randomKey)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key never fails
	}
	gcm, err := stdcipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

// takeFaultLocked counts a call of op and pops its next injected code.
func (s *ArchiveServer) takeFaultLocked(op ArchiveOp) int {
	s.calls[op]++
	q := s.faults[op]
	if len(q) == 0 {
		return 0
	}
	s.faults[op] = q[1:]
	return q[0]
}

// chatData is GetChatData: the SDK return code and, when it is 0, the
// JSON the SDK hands back ({"errcode","errmsg","chatdata"}).
func (s *ArchiveServer) chatData(secret string, seq uint64, limit int) ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.takeFaultLocked(OpChatData); code != 0 {
		return nil, code
	}
	if limit < 1 || limit > wecom.MaxChatDataLimit {
		return nil, wecom.SDKErrParam
	}
	type resp struct {
		ErrCode  int                `json:"errcode"`
		ErrMsg   string             `json:"errmsg"`
		ChatData []wecom.ChatRecord `json:"chatdata"`
	}
	if len(s.jsonErr) > 0 {
		e := s.jsonErr[0]
		s.jsonErr = s.jsonErr[1:]
		b, _ := json.Marshal(resp{ErrCode: e.code, ErrMsg: e.msg})
		return b, 0
	}
	if s.cfg.Secret != "" && secret != s.cfg.Secret {
		b, _ := json.Marshal(resp{ErrCode: 48002, ErrMsg: "api forbidden"})
		return b, 0
	}
	cut := s.cfg.Now().Add(-s.cfg.Horizon)
	out := resp{ErrMsg: "ok", ChatData: []wecom.ChatRecord{}}
	first := sort.Search(len(s.records), func(i int) bool { return s.records[i].Seq > seq })
	for _, r := range s.records[first:] {
		if r.stored.Before(cut) {
			// Expired: a seq before it (other than a first pull, 0)
			// asks for what is gone.
			if seq != 0 && s.cfg.StaleSeq == StaleSeqExpired {
				return nil, wecom.SDKErrExpired
			}
			continue
		}
		out.ChatData = append(out.ChatData, r.ChatRecord)
		s.served = append(s.served, ServedRecord{Seq: r.Seq, MsgID: r.MsgID})
		if len(out.ChatData) == limit {
			break
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, wecom.SDKErrSystem
	}
	return b, 0
}

// decryptData is the fake's DecryptData: the plaintext, or an SDK code.
func (s *ArchiveServer) decryptData(randomKey []byte, encryptMsg string) ([]byte, int) {
	s.mu.Lock()
	code := s.takeFaultLocked(OpDecrypt)
	s.mu.Unlock()
	if code != 0 {
		return nil, code
	}
	sealed, err := base64.StdEncoding.DecodeString(encryptMsg)
	if err != nil || len(sealed) < 12+16 {
		return nil, wecom.SDKErrDecrypt
	}
	plain, err := archGCM(randomKey).Open(nil, sealed[:12], sealed[12:], nil)
	if err != nil {
		return nil, wecom.SDKErrDecryptKey
	}
	return plain, 0
}

// mediaData is GetMediaData: one chunk of at most wecom.MediaChunkSize at
// indexbuf ("" or "Range:bytes=START-END"), or an SDK code.
func (s *ArchiveServer) mediaData(indexBuf, sdkFileID string) (wecom.MediaChunk, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := s.takeFaultLocked(OpMedia); code != 0 {
		return wecom.MediaChunk{}, code
	}
	if sdkFileID == "" {
		return wecom.MediaChunk{}, wecom.SDKErrParam
	}
	m, ok := s.media[sdkFileID]
	if !ok {
		return wecom.MediaChunk{}, wecom.SDKErrFileID
	}
	if m.stored.Before(s.cfg.Now().Add(-s.cfg.Horizon)) {
		return wecom.MediaChunk{}, wecom.SDKErrExpired
	}
	off := 0
	if indexBuf != "" {
		rest, ok := strings.CutPrefix(indexBuf, "Range:bytes=")
		start, _, ok2 := strings.Cut(rest, "-")
		n, err := strconv.Atoi(start)
		if !ok || !ok2 || err != nil || n < 0 || n >= len(m.data) {
			return wecom.MediaChunk{}, wecom.SDKErrParam
		}
		off = n
	}
	end := min(off+wecom.MediaChunkSize, len(m.data))
	c := wecom.MediaChunk{Data: bytes.Clone(m.data[off:end]), Finished: end == len(m.data)}
	if !c.Finished {
		c.OutIndexBuf = fmt.Sprintf("Range:bytes=%d-%d", end, min(end+wecom.MediaChunkSize, len(m.data))-1)
	}
	return c, 0
}

// ArchiveSource is the client side of the fake archive, a
// wecom.ArchiveSource over an ArchiveServer in the same process.
type ArchiveSource struct {
	srv    *ArchiveServer
	secret string
	keys   *wecom.ArchiveKeyRing
	// keysErr is why the key ring could not be built: every Decrypt
	// returns it.
	keysErr error

	mu     sync.Mutex
	closed bool
}

var _ wecom.ArchiveSource = (*ArchiveSource)(nil)

// MediaChunkAttempts is how many times the fake's Media fetches a chunk
// that fails with a temporary code.
const MediaChunkAttempts = 3

// NewArchiveSource is a client of srv with the archive Secret secret and
// the private key ring keys (publickey_ver → key; the map is not kept).
// The RSA step is wecom.ArchiveKeyRing's, the production one: OpenSSL in
// the msgaudit build, crypto/rsa otherwise. A key the ring cannot load (a
// nil one) makes every Decrypt fail with that error.
func NewArchiveSource(srv *ArchiveServer, secret string, keys map[uint32]*rsa.PrivateKey) *ArchiveSource {
	ring, err := wecom.NewArchiveKeyRing(keys)
	if err != nil {
		err = fmt.Errorf("wecomtest: archive source: %w", err)
	}
	return &ArchiveSource{srv: srv, secret: secret, keys: ring, keysErr: err}
}

func (c *ArchiveSource) open() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return wecom.ErrArchiveClosed
	}
	return nil
}

// ChatData implements wecom.ArchiveSource.
func (c *ArchiveSource) ChatData(ctx context.Context, seq uint64, limit int) ([]wecom.ChatRecord, error) {
	if err := c.open(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > wecom.MaxChatDataLimit {
		return nil, &wecom.SDKError{Op: string(OpChatData), Code: wecom.SDKErrParam,
			Msg: fmt.Sprintf("limit %d outside 1..%d", limit, wecom.MaxChatDataLimit)}
	}
	body, code := c.srv.chatData(c.secret, seq, limit)
	if code != 0 {
		return nil, &wecom.SDKError{Op: string(OpChatData), Code: code, Msg: wecom.SDKCodeText(code)}
	}
	var resp struct {
		ErrCode  int                `json:"errcode"`
		ErrMsg   string             `json:"errmsg"`
		ChatData []wecom.ChatRecord `json:"chatdata"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, &wecom.SDKError{Op: string(OpChatData), Code: wecom.SDKErrParse, Msg: "response is not JSON"}
	}
	if resp.ErrCode != 0 {
		return nil, &wecom.SDKError{Op: string(OpChatData), Code: resp.ErrCode, Msg: resp.ErrMsg}
	}
	return resp.ChatData, nil
}

// Decrypt implements wecom.ArchiveSource.
func (c *ArchiveSource) Decrypt(ctx context.Context, r wecom.ChatRecord) ([]byte, error) {
	if err := c.open(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.keysErr != nil {
		return nil, c.keysErr
	}
	randomKey, err := c.keys.Decrypt(r.PublicKeyVer, r.EncryptRandomKey)
	if err != nil {
		return nil, fmt.Errorf("wecomtest: decrypt seq %d: %w", r.Seq, err)
	}
	plain, code := c.srv.decryptData(randomKey, r.EncryptChatMsg)
	if code != 0 {
		return nil, fmt.Errorf("wecomtest: decrypt seq %d: %w", r.Seq,
			&wecom.SDKError{Op: string(OpDecrypt), Code: code, Msg: wecom.SDKCodeText(code)})
	}
	return plain, nil
}

// Media implements wecom.ArchiveSource.
func (c *ArchiveSource) Media(ctx context.Context, sdkFileID string, w io.Writer) (int64, error) {
	if err := c.open(); err != nil {
		return 0, err
	}
	n, err := wecom.CopyMediaChunks(ctx, w, MediaChunkAttempts, func(ctx context.Context, index string) (wecom.MediaChunk, error) {
		ch, code := c.srv.mediaData(index, sdkFileID)
		if code != 0 {
			return ch, &wecom.SDKError{Op: string(OpMedia), Code: code, Msg: wecom.SDKCodeText(code)}
		}
		return ch, nil
	})
	if err != nil {
		return n, fmt.Errorf("wecomtest: media: %w", err)
	}
	return n, nil
}

// Close implements wecom.ArchiveSource; later calls fail with
// wecom.ErrArchiveClosed.
func (c *ArchiveSource) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.keys != nil {
		return c.keys.Close()
	}
	return nil
}

// plaintextOf is msg as plaintext bytes.
func plaintextOf(msg any) ([]byte, error) {
	switch m := msg.(type) {
	case []byte:
		return bytes.Clone(m), nil
	case json.RawMessage:
		return bytes.Clone(m), nil
	case string:
		return []byte(m), nil
	}
	return marshalPlain(msg)
}

// marshalPlain marshals v as WeCom writes JSON: no HTML escaping, no
// trailing newline.
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("wecomtest: archive: marshal plaintext: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// GenerateArchiveKey is a new 2048-bit RSA key, as openssl genrsa makes
// for the console.
func GenerateArchiveKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// ArchiveKeyPEM is key as PEM: PKCS#8 ("PRIVATE KEY", OpenSSL 3) or
// PKCS#1 ("RSA PRIVATE KEY").
func ArchiveKeyPEM(key *rsa.PrivateKey, pkcs8 bool) ([]byte, error) {
	if !pkcs8 {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("wecomtest: marshal PKCS#8 key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteArchiveKeyPEM writes key's PEM to path, mode 0600.
func WriteArchiveKeyPEM(path string, key *rsa.PrivateKey, pkcs8 bool) error {
	b, err := ArchiveKeyPEM(key, pkcs8)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("wecomtest: write archive key: %w", err)
	}
	return nil
}

// LoadArchiveKeys reads a key ring from PEM files (publickey_ver → path).
func LoadArchiveKeys(paths map[uint32]string) (map[uint32]*rsa.PrivateKey, error) {
	ring := make(map[uint32]*rsa.PrivateKey, len(paths))
	for ver, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("wecomtest: archive key version %d: %w", ver, err)
		}
		k, err := wecom.ParseArchivePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("wecomtest: archive key version %d (%s): %w", ver, p, err)
		}
		ring[ver] = k
	}
	return ring, nil
}

// mediaMD5 is the hex md5 of data, as md5sum in a message.
func mediaMD5(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}
