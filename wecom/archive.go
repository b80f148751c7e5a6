package wecom

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// The session archive (会话内容存档) as the puller sees it: a source of
// encrypted chat records (GetChatData), a decrypter that picks the private
// key of each record's publickey_ver (the SDK's DecryptData after the RSA
// step), and a media stream (GetMediaData's indexbuf loop). The real
// source wraps the closed C SDK through silenceper/wechat/v2 work/msgaudit
// behind the build tag msgaudit (archive_sdk.go); wecomtest has a pure-Go
// fake that follows the same contract. See ARCHIVE.md §2.

// Archive limits (path/91774, path/91552).
const (
	// MaxChatDataLimit is the largest limit GetChatData accepts.
	MaxChatDataLimit = 1000
	// MediaChunkSize is the most GetMediaData returns per call.
	MediaChunkSize = 512 * 1024
)

// ChatRecord is one record of GetChatData, still encrypted.
type ChatRecord struct {
	Seq              uint64 `json:"seq"`
	MsgID            string `json:"msgid"`
	PublicKeyVer     uint32 `json:"publickey_ver"`
	EncryptRandomKey string `json:"encrypt_random_key"`
	EncryptChatMsg   string `json:"encrypt_chat_msg"`
}

// ArchiveSource is where the puller reads the archive from. Methods are
// safe for concurrent use (an implementation over the SDK serialises calls
// per SDK instance).
type ArchiveSource interface {
	// ChatData returns the records after seq (seq itself is not
	// returned), at most limit (1 to MaxChatDataLimit), in seq order. An
	// empty slice means caught up. Errors are *SDKError where the SDK or
	// WeCom gave a code.
	ChatData(ctx context.Context, seq uint64, limit int) ([]ChatRecord, error)
	// Decrypt returns the plaintext JSON of r, decrypted with the private
	// key of r.PublicKeyVer. A version with no key gives an error that
	// wraps ErrNoArchiveKey; a key that does not fit, or a corrupt record,
	// an *SDKError with code 10006 or 10008.
	Decrypt(ctx context.Context, r ChatRecord) ([]byte, error)
	// Media writes the media file sdkFileID to w, fetched in chunks of at
	// most MediaChunkSize (the indexbuf loop; a failed chunk is retried,
	// not the whole file), and returns the bytes written.
	Media(ctx context.Context, sdkFileID string, w io.Writer) (int64, error)
	// Close releases the source (DestroySdk). Calls after Close fail.
	Close() error
}

// ErrNoArchiveKey: no private key is configured for a record's
// publickey_ver. The record is quarantined, never skipped.
var ErrNoArchiveKey = errors.New("wecom: no archive private key for this publickey_ver")

// SDK return codes (path/91552 "SDK错误码说明").
const (
	SDKErrParam        = 10000
	SDKErrNetwork      = 10001
	SDKErrParse        = 10002
	SDKErrSystem       = 10003
	SDKErrFileID       = 10005
	SDKErrDecrypt      = 10006
	SDKErrDecryptKey   = 10008
	SDKErrIPNotAllowed = 10009
	SDKErrExpired      = 10010
	SDKErrCert         = 10011
)

// SDKError is a failure the SDK or WeCom gave a code for: Code is the
// SDK's return (10000–10011) or, when the SDK returned 0, the JSON
// errcode (41001, 48002, …).
type SDKError struct {
	Op   string // "GetChatData", "DecryptData", "GetMediaData"
	Code int
	Msg  string
}

func (e *SDKError) Error() string {
	return fmt.Sprintf("wecom archive %s: code %d: %s", e.Op, e.Code, e.Msg)
}

// Temporary reports whether the same call may succeed if retried
// (10001–10003, official advice).
func (e *SDKError) Temporary() bool {
	return e.Code >= SDKErrNetwork && e.Code <= SDKErrSystem
}
