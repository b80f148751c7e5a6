package wecom

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// TestCrossCheckSilenceper checks the crypto against a second
// implementation, silenceper/wechat's util.EncryptMsg/DecryptMsg, both
// ways, for a few hundred random messages, under the official key and a
// generated one.
func TestCrossCheckSilenceper(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{5}))
	_, generated, err := GenerateKeys(byteReader{r})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{k1Key, generated} {
		ours := mustCipher(t, k1Token, key, k1CorpID)
		t.Run("key "+key[:6], func(t *testing.T) {
			for i := range 300 {
				msg := make([]byte, r.IntN(3000))
				byteReader{r}.Read(msg)
				if i%3 == 0 { // also realistic text
					msg = []byte(strings.Repeat("<xml>中文 content</xml>", r.IntN(40)))
				}

				enc, err := ours.Encrypt(msg)
				if err != nil {
					t.Fatal(err)
				}
				_, got, err := util.DecryptMsg(k1CorpID, enc, key)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("message %d (%d bytes): silenceper cannot decrypt ours: %v", i, len(msg), err)
				}

				random := make([]byte, 16)
				byteReader{r}.Read(random)
				theirs, err := util.EncryptMsg(random, msg, k1CorpID, key)
				if err != nil {
					t.Fatal(err)
				}
				f, err := ours.decryptFrame(string(theirs))
				if err != nil || !bytes.Equal(f.msg, msg) || !bytes.Equal(f.random, random) {
					t.Fatalf("message %d (%d bytes): we cannot decrypt silenceper's: %v", i, len(msg), err)
				}
				// Same random, same output.
				same, err := mustCipher(t, k1Token, key, k1CorpID, WithRandom(bytes.NewReader(random))).Encrypt(msg)
				if err != nil || same != string(theirs) {
					t.Fatalf("message %d: with the same random bytes the ciphertexts differ", i)
				}
			}
		})
	}
}
