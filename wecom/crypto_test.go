package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// allSentinels lists every sentinel, to check that an error matches
// exactly the one it should.
var allSentinels = map[string]error{
	"ErrAESKey": ErrAESKey, "ErrSignature": ErrSignature, "ErrStaleTimestamp": ErrStaleTimestamp,
	"ErrBase64": ErrBase64, "ErrCiphertextSize": ErrCiphertextSize, "ErrPadding": ErrPadding,
	"ErrMsgLen": ErrMsgLen, "ErrWrongKey": ErrWrongKey, "ErrReceiveID": ErrReceiveID,
	"ErrEnvelope": ErrEnvelope, "ErrDecode": ErrDecode,
}

// wantOnly fails unless err matches want and no other sentinel.
func wantOnly(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	for name, s := range allSentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("error %v also matches %s", err, name)
		}
	}
}

// noSecrets fails if err's text holds any of the secrets.
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret or decrypted content %q", err, s)
		}
	}
}

func k1(t testing.TB, opts ...CipherOption) *Cipher {
	t.Helper()
	c, err := NewCipher(k1Token, k1Key, k1CorpID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixedRandom() CipherOption { return WithRandom(strings.NewReader("0123456789abcdef")) }

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawEncrypt encrypts a hand-built plaintext (a multiple of 16 bytes,
// padding included) under an EncodingAESKey, adding nothing.
func rawEncrypt(t testing.TB, encodingAESKey string, plain []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain)%aes.BlockSize != 0 {
		t.Fatalf("rawEncrypt: %d bytes", len(plain))
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// frameBytes builds random | msg_len | msg | receiveid | pad by hand.
func frameBytes(msgLen uint32, msg, receiveID string, pad []byte) []byte {
	b := []byte("RRRRRRRRRRRRRRRR")
	b = binary.BigEndian.AppendUint32(b, msgLen)
	b = append(b, msg...)
	b = append(b, receiveID...)
	return append(b, pad...)
}

// pkcs7 returns the PKCS#7 padding to 32 of n bytes.
func pkcs7(n int) []byte {
	p := 32 - n%32
	return bytes.Repeat([]byte{byte(p)}, p)
}

func TestNewCipher(t *testing.T) {
	t.Run("official key set K1", func(t *testing.T) {
		c := k1(t)
		if !bytes.Equal(c.key, mustHex(t, k1AESKeyHex)) {
			t.Errorf("AESKey = %x, want %s", c.key, k1AESKeyHex)
		}
		if iv := c.key[:16]; !bytes.Equal(iv, mustHex(t, k1IVHex)) {
			t.Errorf("IV = %x, want %s", iv, k1IVHex)
		}
		if c.ReceiveID() != k1CorpID {
			t.Errorf("ReceiveID = %q", c.ReceiveID())
		}
		// The official key is not canonical Base64; a Strict decoder refuses it.
		if _, err := base64.StdEncoding.Strict().DecodeString(k1Key + "="); err == nil {
			t.Errorf("the K1 key should be non-canonical")
		}
	})
	t.Run("empty receiveid is allowed", func(t *testing.T) {
		if _, err := NewCipher(k1Token, k1Key, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("empty token", func(t *testing.T) {
		_, err := NewCipher("", k1Key, k1CorpID)
		if err == nil || errors.Is(err, ErrAESKey) {
			t.Fatalf("got %v, want a token error", err)
		}
		noSecrets(t, err, k1Key)
	})
	bad := []struct{ name, key string }{
		{"empty", ""},
		{"42 characters", k1Key[:42]},
		{"44 characters", k1Key + "A"},
		{"padded", k1Key[:42] + "="},
		{"url alphabet", k1Key[:10] + "-" + k1Key[11:]},
		{"space inside", k1Key[:10] + " " + k1Key[11:]},
		{"newline inside", k1Key[:10] + "\n" + k1Key[11:]},
		{"non-ASCII", k1Key[:40] + "é"},
	}
	for _, tt := range bad {
		t.Run("bad key "+tt.name, func(t *testing.T) {
			c, err := NewCipher(k1Token, tt.key, k1CorpID)
			if c != nil {
				t.Errorf("got a cipher for a bad key")
			}
			wantOnly(t, err, ErrAESKey)
			noSecrets(t, err, tt.key, k1Token)
		})
	}
}

func TestSignVerifyKnownAnswers(t *testing.T) {
	c := k1(t)
	tests := []struct {
		name, sig, ts, nonce, encrypt string
	}{
		{"V1a GET echostr", v1aSignature, v1aTimestamp, v1aNonce, v1aEcho},
		{"V1b POST XML", v1bSignature, v1bTimestamp, v1bNonce, v1bEncrypt},
		{"V1c POST JSON", v1cSignature, v1cTimestamp, v1cNonce, jsonEncrypt(t, v1cBody)},
		{"V1d POST JSON", v1dSignature, v1dTimestamp, v1dNonce, v1dEncrypt},
		{"D1 passive reply", d1Signature, "1409659813", "1372623149", d1Encrypt},
		{"D2 pad 32", d2Signature, "1409659813", "1372623149", d2Encrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Sign(tt.ts, tt.nonce, tt.encrypt); got != tt.sig {
				t.Errorf("Sign = %s, want %s", got, tt.sig)
			}
			if err := c.Verify(tt.sig, tt.ts, tt.nonce, tt.encrypt); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	t.Run("V1b sort_str of the doc", func(t *testing.T) {
		sum := sha1.Sum([]byte("1372623149" + "1409659813" + "QDG6eK" + v1bEncrypt))
		if got := hex.EncodeToString(sum[:]); got != v1bSignature {
			t.Errorf("sha1(sort_str) = %s, want %s", got, v1bSignature)
		}
	})
}

func jsonEncrypt(t testing.TB, body string) string {
	t.Helper()
	e, err := ParseEnvelope([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return e.Encrypt
}

func TestOpenKnownAnswers(t *testing.T) {
	c := k1(t)
	tests := []struct {
		name, sig, ts, nonce, encrypt string
		msg, random                   string
		pad                           int
	}{
		{"V1a GET echostr", v1aSignature, v1aTimestamp, v1aNonce, v1aEcho, v1aMsg, v1aRandom, 7},
		{"V1b POST XML", v1bSignature, v1bTimestamp, v1bNonce, v1bEncrypt, v1bMsg, v1bRandom, 30},
		{"V1c POST JSON", v1cSignature, v1cTimestamp, v1cNonce, jsonEncrypt(t, v1cBody), v1cMsg, v1cRandom, 22},
		{"V1d POST JSON", v1dSignature, v1dTimestamp, v1dNonce, v1dEncrypt, v1dMsg, v1dRandom, 10},
		{"D1 passive reply", d1Signature, "1409659813", "1372623149", d1Encrypt, d1Msg, "0123456789abcdef", 31},
		{"D2 pad 32", d2Signature, "1409659813", "1372623149", d2Encrypt, d2Msg, "0123456789abcdef", 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := c.Open(tt.sig, tt.ts, tt.nonce, tt.encrypt)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(msg) != tt.msg {
				t.Errorf("msg = %q,\nwant %q", msg, tt.msg)
			}
			f, err := c.decryptFrame(tt.encrypt)
			if err != nil {
				t.Fatal(err)
			}
			if string(f.random) != tt.random || f.pad != tt.pad || string(f.receiveID) != k1CorpID || len(f.msg) != len(tt.msg) {
				t.Errorf("frame random %q pad %d receiveid %q msg_len %d; want %q %d %q %d",
					f.random, f.pad, f.receiveID, len(f.msg), tt.random, tt.pad, k1CorpID, len(tt.msg))
			}
		})
	}
	t.Run("V1a echostr arrives URL-encoded", func(t *testing.T) {
		q, err := url.ParseQuery("echostr=" + v1aEchoURLEncoded)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Get("echostr"); got != v1aEcho {
			t.Fatalf("decoded echostr %q, want %q", got, v1aEcho)
		}
	})
	t.Run("exact sizes", func(t *testing.T) {
		for _, v := range []struct {
			name string
			msg  string
			n    int
		}{{"V1b", v1bMsg, 284}, {"V1c", v1cMsg, 164}, {"V1d", v1dMsg, 176}, {"D1", d1Msg, 283}} {
			if len(v.msg) != v.n {
				t.Errorf("%s plaintext is %d bytes, want %d", v.name, len(v.msg), v.n)
			}
		}
	})
}

func TestEncryptKnownAnswers(t *testing.T) {
	tests := []struct {
		name, msg, encrypt, sig string
		cipherLen               int
	}{
		{"D1 passive reply, pad 31", d1Msg, d1Encrypt, d1Signature, 352},
		{"D2 pad 32 adds a whole block", d2Msg, d2Encrypt, d2Signature, 96},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, sig, err := k1(t, fixedRandom()).Seal([]byte(tt.msg), "1409659813", "1372623149")
			if err != nil {
				t.Fatal(err)
			}
			if enc != tt.encrypt {
				t.Errorf("Encrypt = %s,\nwant %s", enc, tt.encrypt)
			}
			if sig != tt.sig {
				t.Errorf("MsgSignature = %s, want %s", sig, tt.sig)
			}
			raw, _ := base64.StdEncoding.DecodeString(enc)
			if len(raw) != tt.cipherLen {
				t.Errorf("ciphertext %d bytes, want %d", len(raw), tt.cipherLen)
			}
		})
	}
}

func TestPassiveReply(t *testing.T) {
	t.Run("D1 exact body", func(t *testing.T) {
		got, err := k1(t, fixedRandom()).PassiveReply([]byte(d1Msg), "1409659813", "1372623149")
		if err != nil {
			t.Fatal(err)
		}
		want := "<xml><Encrypt><![CDATA[" + d1Encrypt + "]]></Encrypt><MsgSignature><![CDATA[" + d1Signature +
			"]]></MsgSignature><TimeStamp>1409659813</TimeStamp><Nonce><![CDATA[1372623149]]></Nonce></xml>"
		if string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("nonce with a CDATA terminator round-trips", func(t *testing.T) {
		c := k1(t)
		nonce := "a]]>b"
		body, err := c.PassiveReply([]byte("<xml>reply</xml>"), "1409659813", nonce)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Encrypt, MsgSignature, TimeStamp, Nonce string
		}
		if err := xml.Unmarshal(body, &r); err != nil {
			t.Fatalf("reply is not XML: %v\n%s", err, body)
		}
		if r.Nonce != nonce || r.TimeStamp != "1409659813" {
			t.Errorf("nonce %q timestamp %q", r.Nonce, r.TimeStamp)
		}
		msg, err := c.Open(r.MsgSignature, r.TimeStamp, r.Nonce, r.Encrypt)
		if err != nil || string(msg) != "<xml>reply</xml>" {
			t.Errorf("Open(reply) = %q, %v", msg, err)
		}
	})
	for _, tt := range []struct{ name, ts, nonce string }{
		{"empty timestamp", "", "1"},
		{"timestamp not digits", "14096<", "1"},
		{"empty nonce", "1409659813", ""},
		{"nonce with control character", "1409659813", "a\x00b"},
		{"nonce with carriage return", "1409659813", "a\rb"},
		{"nonce not UTF-8", "1409659813", "a\xffb"},
	} {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			if _, err := k1(t).PassiveReply([]byte("x"), tt.ts, tt.nonce); err == nil {
				t.Errorf("no error")
			}
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	c := k1(t)
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'a' {
			b[0] = 'b'
		} else {
			b[0] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name, sig, ts, nonce, encrypt string
	}{
		{"missing signature", "", v1bTimestamp, v1bNonce, v1bEncrypt},
		{"tampered signature", flip(v1bSignature), v1bTimestamp, v1bNonce, v1bEncrypt},
		{"truncated signature", v1bSignature[:39], v1bTimestamp, v1bNonce, v1bEncrypt},
		{"uppercase signature", strings.ToUpper(v1bSignature), v1bTimestamp, v1bNonce, v1bEncrypt},
		{"other timestamp", v1bSignature, "1409659814", v1bNonce, v1bEncrypt},
		{"other nonce", v1bSignature, v1bTimestamp, "1372623148", v1bEncrypt},
		{"other ciphertext", v1bSignature, v1bTimestamp, v1bNonce, v1aEcho},
		{"signature of another token", mustCipher(t, "other", k1Key, k1CorpID).Sign(v1bTimestamp, v1bNonce, v1bEncrypt), v1bTimestamp, v1bNonce, v1bEncrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOnly(t, c.Verify(tt.sig, tt.ts, tt.nonce, tt.encrypt), ErrSignature)
			msg, err := c.Open(tt.sig, tt.ts, tt.nonce, tt.encrypt)
			if msg != nil {
				t.Errorf("Open returned a plaintext for a bad signature")
			}
			wantOnly(t, err, ErrSignature)
			noSecrets(t, err, k1Token, k1Key, "mycreate", "hello")
		})
	}
	t.Run("signature is checked before the ciphertext", func(t *testing.T) {
		_, err := c.Open("0000", "1", "2", "not base64!")
		wantOnly(t, err, ErrSignature)
	})
}

func mustCipher(t testing.TB, token, key, receiveID string, opts ...CipherOption) *Cipher {
	t.Helper()
	c, err := NewCipher(token, key, receiveID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otherKey is a valid EncodingAESKey that is not K1's.
const otherKey = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"

func TestDecryptFailures(t *testing.T) {
	c := k1(t)
	msg := "<xml>secret content</xml>"
	good := frameBytes(uint32(len(msg)), msg, k1CorpID, nil)
	good = append(good, pkcs7(len(good))...)

	withLastPad := func(pad []byte) []byte {
		// A frame whose content fills 32-len(pad) bytes of a block.
		content := frameBytes(uint32(len(msg)), msg, k1CorpID, nil)
		for (len(content)+len(pad))%32 != 0 {
			content = append(content, 'x') // lengthens the receiveid
		}
		return append(content, pad...)
	}
	tests := []struct {
		name    string
		encrypt string
		want    error
		opener  *Cipher // nil: K1
	}{
		{"not base64", "not base64!", ErrBase64, nil},

		{"base64 with a space", v1bEncrypt[:20] + " " + v1bEncrypt[21:], ErrBase64, nil},

		{"base64 missing its padding", strings.TrimRight(v1aEcho, "="), ErrBase64, nil},

		{"base64 truncated mid-quantum", v1bEncrypt[:len(v1bEncrypt)-5], ErrBase64, nil},

		{"empty", "", ErrCiphertextSize, nil},

		{"one AES block", base64.StdEncoding.EncodeToString(make([]byte, 16)), ErrCiphertextSize, nil},

		{"31 bytes", base64.StdEncoding.EncodeToString(make([]byte, 31)), ErrCiphertextSize, nil},

		{"33 bytes", base64.StdEncoding.EncodeToString(make([]byte, 33)), ErrCiphertextSize, nil},

		{"truncated to 47 bytes", truncatedCiphertext(t, v1bEncrypt, 47), ErrCiphertextSize, nil},

		{"pad byte 0, frame sane", rawEncrypt(t, k1Key, withLastPad([]byte{0})), ErrPadding, nil},

		{"pad byte 33, frame sane", rawEncrypt(t, k1Key, withLastPad([]byte{33})), ErrPadding, nil},

		{"pad bytes differ, frame sane", rawEncrypt(t, k1Key, withLastPad([]byte{4, 5, 5, 5, 5})), ErrPadding, nil},

		{"msg_len past the buffer", rawEncrypt(t, k1Key, append(frameBytes(1000, msg, k1CorpID, nil), pkcs7(20+len(msg)+len(k1CorpID))...)), ErrMsgLen, nil},

		{"msg_len one past the content", rawEncrypt(t, k1Key, append(frameBytes(uint32(len(msg)+len(k1CorpID)+1), msg, k1CorpID, nil), pkcs7(20+len(msg)+len(k1CorpID))...)), ErrMsgLen, nil},

		{"frame shorter than 20 bytes", rawEncrypt(t, k1Key, bytes.Repeat([]byte{32}, 32)), ErrMsgLen, nil},

		{"padding and msg_len both bad", rawEncrypt(t, k1Key, withLastPad2(frameBytes(0xfffffff0, msg, k1CorpID, nil), 0)), ErrWrongKey, nil},

		{"V1b opened with another valid key", v1bEncrypt, ErrWrongKey, mustCipher(t, k1Token, otherKey, k1CorpID)},
		{"another receiveid", encryptFor(t, "wwsomeothercorp", msg), ErrReceiveID, nil},
		{"empty receiveid", encryptFor(t, "", msg), ErrReceiveID, nil},
		{"receiveid with a suffix", encryptFor(t, k1CorpID+"x", msg), ErrReceiveID, nil},
		{"receiveid a prefix of the expected one", encryptFor(t, k1CorpID[:17], msg), ErrReceiveID, nil},
		{"empty receiveid expected, corpid sent", v1bEncrypt, ErrReceiveID, mustCipher(t, k1Token, k1Key, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opener := c
			if tt.opener != nil {
				opener = tt.opener
			}
			got, err := opener.Decrypt(tt.encrypt)
			if got != nil {
				t.Errorf("Decrypt returned %q with an error", got)
			}
			wantOnly(t, err, tt.want)
			noSecrets(t, err, k1Token, k1Key, "secret content", v1bMsg)
		})
	}
	t.Run("the well-formed control case decrypts", func(t *testing.T) {
		got, err := c.Decrypt(rawEncrypt(t, k1Key, good))
		if err != nil || string(got) != msg {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("wrong-key message points at the console", func(t *testing.T) {
		_, err := mustCipher(t, k1Token, otherKey, k1CorpID).Decrypt(v1bEncrypt)
		if err == nil || !strings.Contains(err.Error(), "EncodingAESKey probably does not match the one set in the WeCom console") {
			t.Errorf("error %v", err)
		}
	})
}

// withLastPad2 pads frame to a multiple of 32 with an invalid pad byte.
func withLastPad2(frame []byte, last byte) []byte {
	for len(frame)%32 != 31 {
		frame = append(frame, 'x')
	}
	return append(frame, last)
}

// encryptFor encrypts msg under K1 with another receiveid.
func encryptFor(t testing.TB, receiveID, msg string) string {
	t.Helper()
	enc, err := mustCipher(t, k1Token, k1Key, receiveID).Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func truncatedCiphertext(t testing.TB, encrypt string, n int) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw[:n])
}

// TestWrongKeyIsRecognised opens one ciphertext under many other keys:
// every attempt fails, and nearly all with ErrWrongKey (a random key gives
// valid padding about once in 200 tries, then ErrMsgLen).
func TestWrongKeyIsRecognised(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	wrong := 0
	const n = 300
	for i := range n {
		_, key, err := GenerateKeys(byteReader{r})
		if err != nil {
			t.Fatal(err)
		}
		_, err = mustCipher(t, k1Token, key, k1CorpID).Decrypt(v1bEncrypt)
		switch {
		case errors.Is(err, ErrWrongKey):
			wrong++
		case errors.Is(err, ErrMsgLen), errors.Is(err, ErrPadding):
		default:
			t.Fatalf("key %d: got %v", i, err)
		}
	}
	if wrong < n*95/100 {
		t.Errorf("only %d of %d wrong keys gave ErrWrongKey", wrong, n)
	}
}

// byteReader reads from a math/rand source (deterministic tests only).
type byteReader struct{ r *rand.Rand }

func (b byteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b.r.Uint32())
	}
	return len(p), nil
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	for _, receiveID := range []string{k1CorpID, "", "ww" + strings.Repeat("z", 60)} {
		c := mustCipher(t, k1Token, k1Key, receiveID)
		for n := range 200 {
			t.Run(fmt.Sprintf("receiveid %d bytes, msg %d bytes", len(receiveID), n), func(t *testing.T) {
				msg := make([]byte, n)
				byteReader{r}.Read(msg)
				enc, sig, err := c.Seal(msg, "1409659813", "nonce")
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := base64.StdEncoding.DecodeString(enc)
				if len(raw)%32 != 0 {
					t.Errorf("ciphertext %d bytes, not padded to 32", len(raw))
				}
				got, err := c.Open(sig, "1409659813", "nonce", enc)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("round trip: %v", err)
				}
			})
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestEncryptRandomSource(t *testing.T) {
	t.Run("a failing source is an error", func(t *testing.T) {
		_, err := k1(t, WithRandom(failingReader{})).Encrypt([]byte("x"))
		if err == nil || !strings.Contains(err.Error(), "entropy exhausted") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a short source is an error", func(t *testing.T) {
		_, err := k1(t, WithRandom(strings.NewReader("short"))).Encrypt([]byte("x"))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("the default source gives distinct ciphertexts", func(t *testing.T) {
		c := k1(t, WithRandom(nil))
		a, _ := c.Encrypt([]byte("same"))
		b, _ := c.Encrypt([]byte("same"))
		if a == b {
			t.Errorf("two encryptions are identical")
		}
	})
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1409659813, 0)
	tests := []struct {
		name, ts string
		window   time.Duration
		ok       bool
	}{
		{"now", "1409659813", 5 * time.Minute, true},
		{"edge of the past window", "1409659513", 5 * time.Minute, true},
		{"edge of the future window", "1409660113", 5 * time.Minute, true},
		{"one second too old", "1409659512", 5 * time.Minute, false},
		{"one second too new", "1409660114", 5 * time.Minute, false},
		{"a day old", "1409573413", 5 * time.Minute, false},
		{"missing", "", 5 * time.Minute, false},
		{"not a number", "abc", 5 * time.Minute, false},
		{"signed", "+1409659813", 5 * time.Minute, false},
		{"negative", "-1", 5 * time.Minute, false},
		{"fractional", "1409659813.5", 5 * time.Minute, false},
		{"milliseconds", "1409659813000", 5 * time.Minute, false},
		{"overflows int64", "99999999999999999999", 5 * time.Minute, false},
		{"largest int64", "9223372036854775807", 5 * time.Minute, false},
		{"zero window, exact", "1409659813", 0, true},
		{"space", " 1409659813", 5 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTimestamp(tt.ts, now, tt.window)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			wantOnly(t, err, ErrStaleTimestamp)
		})
	}
}

func TestGenerateKeys(t *testing.T) {
	tokenRE := regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	keyRE := regexp.MustCompile(`^[A-Za-z0-9]{43}$`)
	t.Run("crypto/rand keys are accepted and distinct", func(t *testing.T) {
		seen := map[string]bool{}
		for range 50 {
			tok, key, err := GenerateKeys(cryptoReader())
			if err != nil {
				t.Fatal(err)
			}
			if !tokenRE.MatchString(tok) || !keyRE.MatchString(key) {
				t.Fatalf("token %q key %q", tok, key)
			}
			if _, err := NewCipher(tok, key, k1CorpID); err != nil {
				t.Fatalf("NewCipher refuses a generated key: %v", err)
			}
			if _, err := base64.StdEncoding.Strict().DecodeString(key + "="); err != nil {
				t.Errorf("generated key is not canonical Base64: %v", err)
			}
			if seen[tok] || seen[key] {
				t.Fatalf("repeated token or key")
			}
			seen[tok], seen[key] = true, true
		}
	})
	t.Run("deterministic for a deterministic source", func(t *testing.T) {
		t1, k1_, _ := GenerateKeys(byteReader{rand.New(rand.NewChaCha8([32]byte{3}))})
		t2, k2, _ := GenerateKeys(byteReader{rand.New(rand.NewChaCha8([32]byte{3}))})
		if t1 != t2 || k1_ != k2 {
			t.Errorf("differ")
		}
	})
	t.Run("token characters are uniform (no modulo bias)", func(t *testing.T) {
		r := byteReader{rand.New(rand.NewChaCha8([32]byte{4}))}
		counts := map[rune]int{}
		const tokens = 10000
		for range tokens {
			tok, _, err := GenerateKeys(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tok {
				counts[c]++
			}
		}
		if len(counts) != 62 {
			t.Fatalf("%d distinct characters, want 62", len(counts))
		}
		want := float64(tokens*32) / 62 // ≈ 5161, σ ≈ 71; modulo bias would add 25%
		for c, n := range counts {
			if d := float64(n)/want - 1; d > 0.1 || d < -0.1 {
				t.Errorf("character %q drawn %d times, want about %.0f", c, n, want)
			}
		}
	})
	t.Run("a source that only gives rejected bytes is an error, not a hang", func(t *testing.T) {
		_, _, err := GenerateKeys(constReader(0xff))
		if err == nil || !strings.Contains(err.Error(), "rejected bytes") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a source that never gives a letters-only key is an error", func(t *testing.T) {
		// Zero bytes make a valid token ("AAAA…"); 0xff bytes then make keys of '/' only.
		_, _, err := GenerateKeys(io.MultiReader(bytes.NewReader(make([]byte, 64)), constReader(0xff)))
		if err == nil || !strings.Contains(err.Error(), "never gave a key") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a failing source is an error", func(t *testing.T) {
		_, _, err := GenerateKeys(failingReader{})
		if err == nil || !strings.Contains(err.Error(), "entropy exhausted") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("nil source", func(t *testing.T) {
		if _, _, err := GenerateKeys(nil); err == nil {
			t.Fatal("no error")
		}
	})
}

func cryptoReader() io.Reader { return crand.Reader }

type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestCipherPrintsNoSecrets(t *testing.T) {
	c := k1(t)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %s %#v", c, c, c, c), fmt.Sprintf("%v", []*Cipher{c})} {
		if strings.Contains(s, k1Token) || strings.Contains(s, "8d69989b") || strings.Contains(s, k1Key) {
			t.Errorf("printed cipher leaks a secret: %s", s)
		}
		if !strings.Contains(s, k1CorpID) {
			t.Errorf("printed cipher %s lacks its receiveid", s)
		}
	}
}

func TestCipherConcurrentUse(t *testing.T) {
	c := k1(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				msg := fmt.Appendf(nil, "goroutine %d message %d", g, i)
				enc, sig, err := c.Seal(msg, "1", "2")
				if err != nil {
					t.Error(err)
					return
				}
				got, err := c.Open(sig, "1", "2", enc)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("round trip: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
