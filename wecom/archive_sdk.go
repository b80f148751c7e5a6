//go:build linux && cgo && msgaudit

package wecom

// The real session archive source: WeCom's closed C SDK
// (libWeWorkFinanceSdk_C.so) through silenceper/wechat/v2 work/msgaudit,
// which links it (ARCHIVE.md §2, §2.9).
//
// Decryption does not go through silenceper's DecryptData: its Client
// holds one private key (one SDK instance per publickey_ver would be
// needed) and, worse, it deletes every byte < 0x20 from the plaintext and
// hides the bytes (ChatMessage.originData is unexported; GetOriginMessage
// goes through float64, which breaks ids above 2^53). Instead the RSA
// step is ours (an ArchiveKeyRing, OpenSSL in this build, with the key of
// the record's version)
// and the SDK's own DecryptData, which takes no SDK handle, is called
// directly: its symbols are resolved with dlsym from the library that
// silenceper's package already linked into the process, so this package
// needs no -L flag of its own. The plaintext comes back byte for byte.

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef struct wc_slice wc_slice;
typedef int (*wc_decrypt_fn)(const char*, const char*, wc_slice*);
typedef wc_slice* (*wc_new_fn)(void);
typedef void (*wc_free_fn)(wc_slice*);
typedef char* (*wc_content_fn)(wc_slice*);
typedef int (*wc_len_fn)(wc_slice*);

static void* wc_sym(const char* name) { return dlsym(RTLD_DEFAULT, name); }

// wc_decrypt calls DecryptData and copies the plaintext into a malloc'd
// buffer the caller frees; the SDK's slice is freed here.
static int wc_decrypt(void* fdec, void* fnew, void* ffree, void* fcontent, void* flen,
                      const char* key, const char* msg, char** out, int* outlen) {
	wc_slice* s = ((wc_new_fn)fnew)();
	if (s == NULL) return -1;
	int ret = ((wc_decrypt_fn)fdec)(key, msg, s);
	*out = NULL;
	*outlen = 0;
	if (ret == 0) {
		int n = ((wc_len_fn)flen)(s);
		char* p = ((wc_content_fn)fcontent)(s);
		if (n < 0 || (n > 0 && p == NULL)) {
			((wc_free_fn)ffree)(s);
			return -2;
		}
		*out = malloc(n > 0 ? n : 1);
		if (*out == NULL) {
			((wc_free_fn)ffree)(s);
			return -3;
		}
		if (n > 0) memcpy(*out, p, n);
		*outlen = n;
	}
	((wc_free_fn)ffree)(s);
	return ret;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/msgaudit"
)

// sdkMediaChunkAttempts is how many times Media fetches one chunk that
// fails with a temporary code (10001–10003) before giving up.
const sdkMediaChunkAttempts = 3

// sdkFuncs are the SDK's DecryptData and slice functions, by dlsym.
type sdkFuncs struct {
	decrypt, newSlice, freeSlice, content, length unsafe.Pointer
}

func loadSDKFuncs() (sdkFuncs, error) {
	var f sdkFuncs
	for _, s := range []struct {
		name string
		p    *unsafe.Pointer
	}{
		{"DecryptData", &f.decrypt}, {"NewSlice", &f.newSlice}, {"FreeSlice", &f.freeSlice},
		{"GetContentFromSlice", &f.content}, {"GetSliceLen", &f.length},
	} {
		cs := C.CString(s.name)
		*s.p = C.wc_sym(cs)
		C.free(unsafe.Pointer(cs))
		if *s.p == nil {
			return f, fmt.Errorf("wecom: archive SDK: symbol %s not found in libWeWorkFinanceSdk_C", s.name)
		}
	}
	return f, nil
}

// sdkSource is the ArchiveSource over the SDK: one SDK instance (one per
// process, ARCHIVE.md §4) for GetChatData and GetMediaData, its calls
// serialised by sdkMu (the SDK's thread-safety is undocumented); DecryptData
// calls serialised by decMu. Close takes closeMu for writing, so it never
// destroys the SDK while a call holds it for reading.
type sdkSource struct {
	keys          *ArchiveKeyRing
	proxy, passwd string
	timeout       int
	funcs         sdkFuncs

	closeMu sync.RWMutex
	closed  bool

	sdkMu  sync.Mutex
	client *msgaudit.Client

	decMu sync.Mutex
}

var _ ArchiveSource = (*sdkSource)(nil)

// NewSDKSource creates the SDK instance (NewSdk + Init with CorpID and
// Secret; Init does not check them against WeCom, the first GetChatData
// does) and parses the key ring. Close it to destroy the SDK.
func NewSDKSource(cfg SDKConfig) (ArchiveSource, error) {
	keys, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	funcs, err := loadSDKFuncs()
	if err != nil {
		return nil, err
	}
	ring, err := NewArchiveKeyRing(keys)
	if err != nil {
		return nil, fmt.Errorf("wecom: archive SDK config: %w", err)
	}
	// RasPrivateKey stays empty: silenceper's DecryptData is not used.
	client, err := msgaudit.NewClient(&config.Config{CorpID: cfg.CorpID, CorpSecret: cfg.Secret})
	if err != nil {
		ring.Close()
		return nil, fmt.Errorf("wecom: archive SDK init: %w", sdkErr("Init", err))
	}
	return &sdkSource{
		keys:    ring,
		proxy:   cfg.Proxy,
		passwd:  cfg.ProxyPassword,
		timeout: cfg.timeoutSeconds(),
		funcs:   funcs,
		client:  client,
	}, nil
}

// hold takes the source for one call; the returned func releases it.
func (s *sdkSource) hold() (func(), error) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrArchiveClosed
	}
	return s.closeMu.RUnlock, nil
}

// ChatData implements ArchiveSource with GetChatData; the JSON errcode
// is checked too (the SDK returns 0 with errcode 41001, 48002, …).
func (s *sdkSource) ChatData(ctx context.Context, seq uint64, limit int) ([]ChatRecord, error) {
	if limit < 1 || limit > MaxChatDataLimit {
		return nil, &SDKError{Op: "GetChatData", Code: SDKErrParam, Msg: fmt.Sprintf("limit %d outside 1..%d", limit, MaxChatDataLimit)}
	}
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sdkMu.Lock()
	resp, err := s.client.GetRawChatData(seq, uint64(limit), s.proxy, s.passwd, s.timeout)
	s.sdkMu.Unlock()
	if err != nil {
		return nil, sdkErr("GetChatData", err)
	}
	if resp.ErrCode != 0 {
		return nil, &SDKError{Op: "GetChatData", Code: resp.ErrCode, Msg: resp.ErrMsg}
	}
	out := make([]ChatRecord, len(resp.ChatDataList))
	for i, d := range resp.ChatDataList {
		out[i] = ChatRecord{Seq: d.Seq, MsgID: d.MsgID, PublicKeyVer: d.PublickeyVer,
			EncryptRandomKey: d.EncryptRandomKey, EncryptChatMsg: d.EncryptChatMsg}
	}
	return out, nil
}

// Decrypt implements ArchiveSource: the RSA step with the key of
// r.PublicKeyVer, then the SDK's DecryptData. The plaintext is returned
// as the SDK gave it, raw control bytes included.
func (s *sdkSource) Decrypt(ctx context.Context, r ChatRecord) ([]byte, error) {
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	randomKey, err := s.keys.Decrypt(r.PublicKeyVer, r.EncryptRandomKey)
	if err != nil {
		return nil, fmt.Errorf("wecom: archive decrypt seq %d: %w", r.Seq, err)
	}
	ckey := C.CString(string(randomKey))
	cmsg := C.CString(r.EncryptChatMsg)
	defer func() {
		// The random key is secret: wipe it before freeing.
		C.memset(unsafe.Pointer(ckey), 0, C.size_t(len(randomKey)))
		C.free(unsafe.Pointer(ckey))
		C.free(unsafe.Pointer(cmsg))
		clear(randomKey)
	}()
	var out *C.char
	var outLen C.int
	s.decMu.Lock()
	ret := C.wc_decrypt(s.funcs.decrypt, s.funcs.newSlice, s.funcs.freeSlice, s.funcs.content, s.funcs.length,
		ckey, cmsg, &out, &outLen)
	s.decMu.Unlock()
	if out != nil {
		defer C.free(unsafe.Pointer(out))
	}
	switch {
	case ret < 0:
		return nil, fmt.Errorf("wecom: archive decrypt seq %d: %w", r.Seq, &SDKError{Op: "DecryptData", Code: SDKErrSystem, Msg: fmt.Sprintf("slice handling failed (%d)", int(ret))})
	case ret > 0:
		return nil, fmt.Errorf("wecom: archive decrypt seq %d: %w", r.Seq, &SDKError{Op: "DecryptData", Code: int(ret), Msg: SDKCodeText(int(ret))})
	}
	return C.GoBytes(unsafe.Pointer(out), outLen), nil
}

// Media implements ArchiveSource with the GetMediaData loop; a chunk
// failing with a temporary code is fetched again, up to
// sdkMediaChunkAttempts times.
func (s *sdkSource) Media(ctx context.Context, sdkFileID string, w io.Writer) (int64, error) {
	release, err := s.hold()
	if err != nil {
		return 0, err
	}
	defer release()
	n, err := CopyMediaChunks(ctx, w, sdkMediaChunkAttempts, func(ctx context.Context, index string) (MediaChunk, error) {
		s.sdkMu.Lock()
		md, err := s.client.GetMediaData(index, sdkFileID, s.proxy, s.passwd, s.timeout)
		s.sdkMu.Unlock()
		if err != nil {
			return MediaChunk{}, sdkErr("GetMediaData", err)
		}
		return MediaChunk{Data: md.Data, OutIndexBuf: md.OutIndexBuf, Finished: md.IsFinish}, nil
	})
	if err != nil {
		return n, fmt.Errorf("wecom: archive media: %w", err)
	}
	return n, nil
}

// Close destroys the SDK once no call holds it; later calls fail with
// ErrArchiveClosed.
func (s *sdkSource) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.sdkMu.Lock()
	s.client.Free()
	s.sdkMu.Unlock()
	return s.keys.Close()
}

// sdkErr turns silenceper's errors into *SDKError: its Error carries the
// SDK's code; anything else (its JSON decoding of the SDK's output) is a
// parse failure. Neither ever holds the secret.
func sdkErr(op string, err error) error {
	var me msgaudit.Error
	if errors.As(err, &me) {
		return &SDKError{Op: op, Code: me.ErrCode, Msg: SDKCodeText(me.ErrCode)}
	}
	return &SDKError{Op: op, Code: SDKErrParse, Msg: "response does not decode: " + err.Error()}
}
