//go:build linux && cgo && msgaudit

package wecom

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
)

// These run the real SDK library (LD_LIBRARY_PATH must reach
// libWeWorkFinanceSdk_C.so; scripts/test sets it) without the network:
// construction, the key ring, DecryptData on a record WeCom did not
// encrypt, argument checks and Close. A fake corp id and secret are
// enough, since Init does not call WeCom.
func newTestSDKSource(t *testing.T) ArchiveSource {
	t.Helper()
	src, err := NewSDKSource(SDKConfig{
		CorpID:      "ww0000000000000000",
		Secret:      "fake-archive-secret-0123456789",
		PrivateKeys: map[uint32][]byte{1: testKeyPEM(t)},
	})
	if err != nil {
		t.Fatalf("NewSDKSource: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestSDKSourceDecrypt(t *testing.T) {
	src := newTestSDKSource(t)
	ctx := context.Background()
	key := archiveTestKeys(t)[0]
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	rec := ChatRecord{Seq: 7, MsgID: "m7", PublicKeyVer: 1,
		EncryptRandomKey: base64.StdEncoding.EncodeToString(ct),
		EncryptChatMsg:   base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("not WeCom's ciphertext"), 8))}

	t.Run("a version without a key", func(t *testing.T) {
		r := rec
		r.PublicKeyVer = 2
		if _, err := src.Decrypt(ctx, r); !errors.Is(err, ErrNoArchiveKey) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a random key of another key pair", func(t *testing.T) {
		other := archiveTestKeys(t)[1]
		ct2, _ := rsa.EncryptPKCS1v15(rand.Reader, &other.PublicKey, []byte("k"))
		r := rec
		r.EncryptRandomKey = base64.StdEncoding.EncodeToString(ct2)
		var se *SDKError
		if _, err := src.Decrypt(ctx, r); !errors.As(err, &se) || se.Code != SDKErrDecrypt {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the SDK's DecryptData refuses a message WeCom did not encrypt", func(t *testing.T) {
		var se *SDKError
		plain, err := src.Decrypt(ctx, rec)
		if !errors.As(err, &se) || se.Op != "DecryptData" || se.Code <= 0 {
			t.Fatalf("plain %q, err = %v", plain, err)
		}
		t.Logf("DecryptData answered %v", err)
	})
	t.Run("concurrent calls", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := src.Decrypt(ctx, rec); err == nil {
					t.Error("decrypted garbage")
				}
			})
		}
		wg.Wait()
	})
}

func TestSDKSourceArgumentsAndClose(t *testing.T) {
	src := newTestSDKSource(t)
	ctx := context.Background()
	for _, limit := range []int{0, 1001} {
		var se *SDKError
		if _, err := src.ChatData(ctx, 0, limit); !errors.As(err, &se) || se.Code != SDKErrParam {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.ChatData(cancelled, 0, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ChatData: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := src.ChatData(ctx, 0, 10); !errors.Is(err, ErrArchiveClosed) {
		t.Errorf("ChatData after Close: %v", err)
	}
	if _, err := src.Decrypt(ctx, ChatRecord{PublicKeyVer: 1}); !errors.Is(err, ErrArchiveClosed) {
		t.Errorf("Decrypt after Close: %v", err)
	}
	if _, err := src.Media(ctx, "x", &bytes.Buffer{}); !errors.Is(err, ErrArchiveClosed) {
		t.Errorf("Media after Close: %v", err)
	}
}

func TestSDKSourceNeverShowsTheSecret(t *testing.T) {
	_, err := NewSDKSource(SDKConfig{CorpID: "ww1", Secret: "fake-archive-secret-0123456789", PrivateKeys: map[uint32][]byte{1: []byte("junk")}})
	if err == nil || strings.Contains(err.Error(), "fake-archive-secret") {
		t.Fatalf("err = %v", err)
	}
}
