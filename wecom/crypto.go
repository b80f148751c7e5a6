package wecom

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Layout of a decrypted callback plaintext (path/90968):
//
//	random(16) | msg_len(4, big-endian) | msg | receiveid | PKCS#7 pad to 32
const (
	randomLen    = 16
	headerLen    = randomLen + 4 // random + msg_len
	padBlock     = 32            // WeCom pads to 32 bytes, not to the AES block
	minCipherLen = 32            // the shortest frame, padded
	keyChars     = 43            // an EncodingAESKey is 43 Base64 characters
)

// Cipher signs, verifies, encrypts and decrypts the callbacks of one WeCom
// receiver (one URL configured in the console: an app, the contact-sync
// assistant, customer contact, ...). It implements the scheme of
// path/90968 ("加解密方案说明"). A Cipher is safe for concurrent use as
// long as its random source is (the default crypto/rand.Reader is).
type Cipher struct {
	token     string
	key       []byte // AESKey, 32 bytes
	block     cipher.Block
	receiveID string
	random    io.Reader
}

// CipherOption configures a Cipher built by NewCipher.
type CipherOption func(*Cipher)

// WithRandom sets the source of the 16 random bytes that start every
// plaintext Encrypt produces. The default is crypto/rand.Reader; tests use
// a fixed reader to reproduce known answers. A nil r keeps the default.
func WithRandom(r io.Reader) CipherOption {
	return func(c *Cipher) {
		if r != nil {
			c.random = r
		}
	}
}

// NewCipher returns the Cipher of a receiver configured with token and
// encodingAESKey in the WeCom console. receiveID is the receiveid every
// plaintext must end with: the CorpID for a self-built app, the suiteid for
// third-party suite callbacks, and empty for third-party apps of a
// personal entity (path/90968 "附注：ReceiveId 含义").
//
// The AES key is Base64_Decode(encodingAESKey + "="). The decoding is
// deliberately not strict: the official sample key carries non-zero spare
// bits in its last character. An invalid key returns an error wrapping
// ErrAESKey.
func NewCipher(token, encodingAESKey, receiveID string, opts ...CipherOption) (*Cipher, error) {
	if token == "" {
		return nil, errors.New("wecom: new cipher: token is empty")
	}
	key, err := decodeAESKey(encodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("wecom: new cipher: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil { // unreachable: the key is 32 bytes
		return nil, fmt.Errorf("wecom: new cipher: %w: %v", ErrAESKey, err)
	}
	c := &Cipher{token: token, key: key, block: block, receiveID: receiveID, random: rand.Reader}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c, nil
}

// decodeAESKey turns an EncodingAESKey into the 32-byte AES key. The error
// names what is wrong and never quotes the key.
func decodeAESKey(k string) ([]byte, error) {
	if len(k) != keyChars {
		return nil, fmt.Errorf("%w: must be %d characters, got %d", ErrAESKey, keyChars, len(k))
	}
	for i := 0; i < len(k); i++ {
		if !isBase64Char(k[i]) {
			return nil, fmt.Errorf("%w: character %d is not a Base64 character", ErrAESKey, i+1)
		}
	}
	key, err := base64.StdEncoding.DecodeString(k + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: does not decode to 32 bytes", ErrAESKey)
	}
	return key, nil
}

func isBase64Char(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/'
}

// ReceiveID returns the receiveid every plaintext must end with.
func (c *Cipher) ReceiveID() string { return c.receiveID }

// String describes the Cipher without its token or key, so that printing
// one by mistake leaks nothing.
func (c *Cipher) String() string {
	return fmt.Sprintf("wecom.Cipher{receiveid: %q}", c.receiveID)
}

// GoString is String, for the %#v verb.
func (c *Cipher) GoString() string { return c.String() }

// Sign returns the msg_signature of a callback or passive reply:
// the lowercase hex SHA-1 of the token, timestamp, nonce and encrypt,
// sorted as strings and concatenated (path/90968 "消息体签名校验").
func (c *Cipher) Sign(timestamp, nonce, encrypt string) string {
	sum := c.sign(timestamp, nonce, encrypt)
	return hex.EncodeToString(sum[:])
}

// sign returns the SHA-1 of Sign, unencoded. The four strings are sorted
// in place of a slice and hashed from one buffer, which stays on the
// stack for callbacks of usual size.
func (c *Cipher) sign(timestamp, nonce, encrypt string) [sha1.Size]byte {
	parts := [4]string{c.token, timestamp, nonce, encrypt}
	for i := 1; i < len(parts); i++ { // insertion sort of four
		for j := i; j > 0 && parts[j] < parts[j-1]; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	buf := make([]byte, 0, 1024)
	for _, p := range parts {
		buf = append(buf, p...)
	}
	return sha1.Sum(buf)
}

// Verify checks signature against Sign(timestamp, nonce, encrypt) in
// constant time. encrypt is the Encrypt of a POST envelope or the
// (URL-decoded) echostr of a GET. A missing or different signature
// returns an error wrapping ErrSignature. Verify does not look at the
// timestamp's age: see CheckTimestamp.
func (c *Cipher) Verify(signature, timestamp, nonce, encrypt string) error {
	if signature == "" {
		return fmt.Errorf("wecom: verify: %w: msg_signature is missing", ErrSignature)
	}
	sum := c.sign(timestamp, nonce, encrypt)
	var want [2 * sha1.Size]byte
	hex.Encode(want[:], sum[:])
	if !equalConstantTime(want[:], signature) {
		return fmt.Errorf("wecom: verify: %w", ErrSignature)
	}
	return nil
}

// equalConstantTime is subtle.ConstantTimeCompare of b and s, without
// copying s: the time depends on the lengths only.
func equalConstantTime(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	var v byte
	for i := range b {
		v |= b[i] ^ s[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// Open verifies the signature, then decrypts: the two steps of receiving
// a callback. It returns the plaintext msg (the event XML or JSON, or the
// echostr to answer). The timestamp's age is checked separately with
// CheckTimestamp.
func (c *Cipher) Open(signature, timestamp, nonce, encrypt string) ([]byte, error) {
	if err := c.Verify(signature, timestamp, nonce, encrypt); err != nil {
		return nil, err
	}
	return c.Decrypt(encrypt)
}

// frame is a decrypted, checked plaintext.
type frame struct {
	random    []byte
	msg       []byte
	receiveID []byte
	pad       int
}

// Decrypt decrypts a Base64 ciphertext (Encrypt or echostr) and returns
// the msg inside it after checking, in this order, each failure with its
// own sentinel: Base64 (ErrBase64); size (ErrCiphertextSize); padding and
// msg_len frame (ErrPadding, ErrMsgLen, or ErrWrongKey when both are
// wrong); receiveid (ErrReceiveID). Decrypt does not check a signature;
// callers receiving a callback use Open.
func (c *Cipher) Decrypt(encrypt string) ([]byte, error) {
	f, err := c.decryptFrame(encrypt)
	if err != nil {
		return nil, err
	}
	return f.msg, nil
}

func (c *Cipher) decryptFrame(encrypt string) (frame, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		// The error of encoding/base64 gives only an offset.
		return frame{}, fmt.Errorf("wecom: decrypt: %w: %v", ErrBase64, err)
	}
	switch {
	case len(ct) < minCipherLen:
		return frame{}, fmt.Errorf("wecom: decrypt: %w: %d bytes, want at least %d", ErrCiphertextSize, len(ct), minCipherLen)
	case len(ct)%aes.BlockSize != 0:
		return frame{}, fmt.Errorf("wecom: decrypt: %w: %d bytes is not a multiple of %d", ErrCiphertextSize, len(ct), aes.BlockSize)
	}
	plain := ct // decrypted in place: ct is ours and not needed afterwards
	cipher.NewCBCDecrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(plain, ct)

	n := len(plain) // ≥ 32
	pad := int(plain[n-1])
	padOK := pad >= 1 && pad <= padBlock && pad <= n
	if padOK {
		for _, b := range plain[n-pad:] {
			if int(b) != pad {
				padOK = false
				break
			}
		}
	}
	msgLen := uint64(binary.BigEndian.Uint32(plain[randomLen:headerLen]))
	if !padOK {
		// Judge the frame on the whole buffer: does msg_len fit in it?
		if msgLen > uint64(n-headerLen) {
			return frame{}, fmt.Errorf("wecom: decrypt: %w", ErrWrongKey)
		}
		return frame{}, fmt.Errorf("wecom: decrypt: %w: last byte %d", ErrPadding, pad)
	}
	content := plain[:n-pad]
	if len(content) < headerLen {
		return frame{}, fmt.Errorf("wecom: decrypt: %w: %d bytes before the padding, want at least %d", ErrMsgLen, len(content), headerLen)
	}
	if msgLen > uint64(len(content)-headerLen) {
		return frame{}, fmt.Errorf("wecom: decrypt: %w: msg_len %d, %d bytes available", ErrMsgLen, msgLen, len(content)-headerLen)
	}
	end := headerLen + int(msgLen)
	f := frame{
		random:    content[:randomLen:randomLen],
		msg:       content[headerLen:end:end],
		receiveID: content[end:],
		pad:       pad,
	}
	if !equalConstantTime(f.receiveID, c.receiveID) {
		return frame{}, fmt.Errorf("wecom: decrypt: %w", ErrReceiveID)
	}
	return f, nil
}

// Encrypt encrypts msg for WeCom's side of the protocol (a passive reply,
// or a test double of WeCom's callbacks): 16 random bytes, msg_len
// (4 bytes, big-endian), msg and the receiveid, PKCS#7-padded to 32 bytes,
// AES-256-CBC with the key's first 16 bytes as IV, standard Base64.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32-uint64(headerLen+len(c.receiveID)+padBlock) {
		return "", fmt.Errorf("wecom: encrypt: message of %d bytes is too long", len(msg))
	}
	contentLen := headerLen + len(msg) + len(c.receiveID)
	pad := padBlock - contentLen%padBlock // 1..32
	plain := make([]byte, contentLen+pad)
	if _, err := io.ReadFull(c.random, plain[:randomLen]); err != nil {
		return "", fmt.Errorf("wecom: encrypt: read random bytes: %w", err)
	}
	binary.BigEndian.PutUint32(plain[randomLen:headerLen], uint32(len(msg)))
	copy(plain[headerLen:], msg)
	copy(plain[headerLen+len(msg):], c.receiveID)
	for i := contentLen; i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// Seal encrypts msg and signs the result with timestamp and nonce. It
// returns the Encrypt and MsgSignature of a passive reply or of a
// callback.
func (c *Cipher) Seal(msg []byte, timestamp, nonce string) (encrypt, signature string, err error) {
	encrypt, err = c.Encrypt(msg)
	if err != nil {
		return "", "", err
	}
	return encrypt, c.Sign(timestamp, nonce, encrypt), nil
}

// PassiveReply encrypts and signs msg (the reply XML, path/90241) and
// returns the body of an encrypted passive reply (path/90968):
//
//	<xml><Encrypt><![CDATA[..]]></Encrypt><MsgSignature><![CDATA[..]]></MsgSignature><TimeStamp>ts</TimeStamp><Nonce><![CDATA[..]]></Nonce></xml>
//
// timestamp must be decimal digits and nonce must be non-empty text
// without control characters, so that both survive the XML unchanged and
// the signature still matches on WeCom's side.
func (c *Cipher) PassiveReply(msg []byte, timestamp, nonce string) ([]byte, error) {
	if !isDigits(timestamp) {
		return nil, errors.New("wecom: passive reply: timestamp must be decimal digits")
	}
	if nonce == "" || !utf8.ValidString(nonce) || strings.ContainsFunc(nonce, isControl) {
		return nil, errors.New("wecom: passive reply: nonce must be non-empty text without control characters")
	}
	encrypt, signature, err := c.Seal(msg, timestamp, nonce)
	if err != nil {
		return nil, fmt.Errorf("wecom: passive reply: %w", err)
	}
	var b strings.Builder
	b.WriteString("<xml><Encrypt>")
	writeCDATA(&b, encrypt)
	b.WriteString("</Encrypt><MsgSignature>")
	writeCDATA(&b, signature)
	b.WriteString("</MsgSignature><TimeStamp>")
	b.WriteString(timestamp)
	b.WriteString("</TimeStamp><Nonce>")
	writeCDATA(&b, nonce)
	b.WriteString("</Nonce></xml>")
	return []byte(b.String()), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// CheckTimestamp checks the timestamp query parameter of a callback: it
// must be decimal Unix seconds no farther than window (in whole seconds)
// from now, in either direction. WeCom documents no window (WECOM.md
// §1.4); a few minutes guards against replays while allowing for clock
// skew. Any failure returns an error wrapping ErrStaleTimestamp.
func CheckTimestamp(timestamp string, now time.Time, window time.Duration) error {
	if timestamp == "" {
		return fmt.Errorf("wecom: check timestamp: %w: missing", ErrStaleTimestamp)
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || !isDigits(timestamp) {
		return fmt.Errorf("wecom: check timestamp: %w: not decimal Unix seconds", ErrStaleTimestamp)
	}
	// Whole seconds, in integers: durations this far apart would overflow.
	skew := now.Unix() - sec // sec ≥ 0, so this cannot overflow for any real clock
	if skew < 0 {
		skew = -skew
	}
	if skew < 0 || skew > int64(window/time.Second) {
		return fmt.Errorf("wecom: check timestamp: %w: %d s off, window %s", ErrStaleTimestamp, skew, window)
	}
	return nil
}

// alnum is the alphabet of generated tokens: WeCom accepts letters and
// digits only (path/90930).
const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// maxKeyAttempts bounds GenerateKeys' rejection sampling, so that a broken
// random source returns an error instead of looping for ever. A good
// source needs about 4 attempts for the key; failing 1000 in a row has a
// probability below 10^-120.
const maxKeyAttempts = 1000

// GenerateKeys returns a fresh Token (32 characters of [A-Za-z0-9]) and
// EncodingAESKey (43 characters of [A-Za-z0-9], the Base64 of 32 random
// bytes) for the WeCom console, drawn from r (use crypto/rand.Reader).
// Both are sampled by rejection, so every character and key is equally
// likely: no modulo bias.
func GenerateKeys(r io.Reader) (token, encodingAESKey string, err error) {
	if r == nil {
		return "", "", errors.New("wecom: generate keys: random source is nil")
	}
	tok := make([]byte, 0, 32)
	buf := make([]byte, 64)
	const limit = 256 - 256%len(alnum) // 248: bytes at or above it are rejected
	for attempts := 0; len(tok) < cap(tok); attempts++ {
		if attempts == maxKeyAttempts {
			return "", "", errors.New("wecom: generate keys: random source keeps giving rejected bytes")
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", "", fmt.Errorf("wecom: generate keys: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(tok) < cap(tok) {
				tok = append(tok, alnum[int(b)%len(alnum)])
			}
		}
	}
	raw := make([]byte, 32)
	for range maxKeyAttempts {
		if _, err := io.ReadFull(r, raw); err != nil {
			return "", "", fmt.Errorf("wecom: generate keys: %w", err)
		}
		k := strings.TrimSuffix(base64.StdEncoding.EncodeToString(raw), "=")
		if !strings.ContainsAny(k, "+/") {
			return string(tok), k, nil
		}
	}
	return "", "", errors.New("wecom: generate keys: random source never gave a key of letters and digits")
}
