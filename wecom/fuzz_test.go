package wecom

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// cryptoSentinels are the errors Open and Decrypt may wrap.
var cryptoSentinels = []error{ErrSignature, ErrBase64, ErrCiphertextSize, ErrPadding, ErrMsgLen, ErrWrongKey, ErrReceiveID}

// exactlyOne fails unless err wraps exactly one of sentinels.
func exactlyOne(t *testing.T, err error, sentinels []error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v wraps %d of the expected sentinels, want 1", err, n)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		v1bBody, v1cBody,
		"<xml><ToUserName><![CDATA[toUser]]></ToUserName><AgentID><![CDATA[toAgentID]]></AgentID><Encrypt><![CDATA[msg_encrypt]]></Encrypt></xml>",
		`{"tousername":"ww1","encrypt":"abc=","agentid":218}`,
		`<!DOCTYPE xml [<!ENTITY e "abc=">]><xml><Encrypt>&e;</Encrypt></xml>`,
		"<xml><Encrypt>abc=</Encrypt><Encrypt>def=</Encrypt></xml>",
		"<xml><Encrypt>a&#13;b</Encrypt></xml>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEnvelope(body)
		if err != nil {
			if !errors.Is(err, ErrEnvelope) || e != (Envelope{}) {
				t.Fatalf("error %v with envelope %+v", err, e)
			}
			return
		}
		if e.Encrypt == "" {
			t.Fatalf("accepted an empty Encrypt")
		}
		again, err := ParseEnvelope(e.Marshal())
		if err != nil || again != e {
			t.Fatalf("Marshal does not round-trip: %+v → %q → %+v, %v", e, e.Marshal(), again, err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	f.Add(v1aSignature, v1aTimestamp, v1aNonce, v1aEcho)
	f.Add(v1bSignature, v1bTimestamp, v1bNonce, v1bEncrypt)
	f.Add(v1cSignature, v1cTimestamp, v1cNonce, jsonEncryptOf(v1cBody))
	f.Add(v1dSignature, v1dTimestamp, v1dNonce, v1dEncrypt)
	f.Add(d1Signature, "1409659813", "1372623149", d1Encrypt)
	f.Add(d2Signature, "1409659813", "1372623149", d2Encrypt)
	f.Add("", "", "", "")
	f.Add(v1bSignature, v1bTimestamp, v1bNonce, v1bEncrypt[:100])
	c := k1(f)
	f.Fuzz(func(t *testing.T, signature, timestamp, nonce, encrypt string) {
		msg, err := c.Open(signature, timestamp, nonce, encrypt)
		if err != nil {
			if msg != nil {
				t.Fatalf("plaintext with error %v", err)
			}
			exactlyOne(t, err, cryptoSentinels)
			return
		}
		enc, sig, err := c.Seal(msg, timestamp, nonce)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Open(sig, timestamp, nonce, enc)
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("re-encryption does not round-trip: %v", err)
		}
	})
}

// FuzzDecrypt feeds Decrypt arbitrary ciphertexts, and, when the input
// has a cipher's size, the ciphertext of the input taken as a hand-built
// plaintext under the right key, comparing the outcome with a reference
// reading of the frame.
func FuzzDecrypt(f *testing.F) {
	msg := "<xml>m</xml>"
	good := frameBytes(uint32(len(msg)), msg, k1CorpID, nil)
	f.Add(append(good, pkcs7(len(good))...))
	f.Add(append(frameBytes(1000, msg, k1CorpID, nil), pkcs7(len(good))...))
	f.Add(bytes.Repeat([]byte{32}, 32))
	f.Add(withLastPad2(frameBytes(0xfffffff0, msg, k1CorpID, nil), 0))
	f.Add(withLastPad2(frameBytes(uint32(len(msg)), msg, k1CorpID, nil), 33))
	raw, _ := base64.StdEncoding.DecodeString(v1bEncrypt)
	f.Add(raw)
	f.Add([]byte{})
	c := k1(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// As a ciphertext.
		if m, err := c.Decrypt(base64.StdEncoding.EncodeToString(data)); err != nil {
			exactlyOne(t, err, cryptoSentinels)
		} else if len(m) > len(data) {
			t.Fatalf("msg longer than the ciphertext")
		}
		// As a plaintext frame under the right key.
		if len(data) < 32 || len(data)%16 != 0 {
			return
		}
		got, err := c.Decrypt(rawEncrypt(t, k1Key, data))
		wantMsg, wantErr := referenceFrame(data, k1CorpID)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("got %v, want %v", err, wantErr)
			}
			exactlyOne(t, err, cryptoSentinels)
			return
		}
		if err != nil || !bytes.Equal(got, wantMsg) {
			t.Fatalf("got %q, %v; want %q", got, err, wantMsg)
		}
	})
}

// referenceFrame reads a decrypted frame the simple way: the outcome
// Decrypt must give.
func referenceFrame(p []byte, receiveID string) ([]byte, error) {
	n := len(p)
	pad := int(p[n-1])
	padOK := pad >= 1 && pad <= 32 && bytes.Equal(p[n-pad:], bytes.Repeat([]byte{byte(pad)}, pad))
	msgLen := int64(binary.BigEndian.Uint32(p[16:20]))
	if !padOK {
		if 20+msgLen > int64(n) {
			return nil, ErrWrongKey
		}
		return nil, ErrPadding
	}
	content := p[:n-pad]
	if len(content) < 20 || 20+msgLen > int64(len(content)) {
		return nil, ErrMsgLen
	}
	if string(content[20+msgLen:]) != receiveID {
		return nil, ErrReceiveID
	}
	return content[20 : 20+msgLen], nil
}

func FuzzDecode(f *testing.F) {
	for _, s := range officialSamples {
		f.Add([]byte(s.xml))
	}
	for _, s := range []string{
		v1bMsg, v1cMsg, v1dMsg, d1Msg,
		`{"MsgType":"event","Event":"change_external_chat","ChangeType":"update","MemChangeList":{"Item":["a","b"]},"N":[[1,2],{"x":null}]}`,
		`<!DOCTYPE xml [<!ENTITY x "y">]><xml><MsgType>text</MsgType><Content>&x;</Content></xml>`,
		"<xml><MsgType>event</MsgType><Event>e</Event><A>x\nB=y</A></xml>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(data)
		if err != nil {
			if ev != nil || !errors.Is(err, ErrDecode) {
				t.Fatalf("event %v with error %v", ev, err)
			}
			return
		}
		if ev.Kind() == "" || ev.DedupKey() == "" || ev.Head() == nil {
			t.Fatalf("kind %q key %q", ev.Kind(), ev.DedupKey())
		}
		again, err := Decode(data)
		if err != nil || again.Kind() != ev.Kind() || again.DedupKey() != ev.DedupKey() || !reflect.DeepEqual(again.Fields(), ev.Fields()) {
			t.Fatalf("not deterministic: %v", err)
		}
		for _, k := range forbiddenFieldKeys {
			if _, ok := ev.Fields()[k]; ok {
				t.Fatalf("Fields has %q", k)
			}
		}
	})
}
