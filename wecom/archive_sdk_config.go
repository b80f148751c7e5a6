package wecom

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"time"
)

// ErrNoMsgauditBuild: this binary was built without the real archive SDK
// (NewSDKSource of a build without linux, cgo and the tag msgaudit).
var ErrNoMsgauditBuild = errors.New("wecom: the session archive SDK is not in this binary: built without the msgaudit tag: rebuild with CGO_ENABLED=1 go build -tags msgaudit (Linux x86-64; libWeWorkFinanceSdk_C.so must be findable at run time)")

// SDKConfig configures the real session archive source, the closed C SDK
// (WeWorkFinanceSdk) through silenceper/wechat/v2 work/msgaudit, built
// only with the build tag msgaudit (see NewSDKSource).
type SDKConfig struct {
	// CorpID is the corp's id (ww…).
	CorpID string
	// Secret is the 会话内容存档 Secret, not an app's (another gives JSON
	// errcode 48002).
	Secret string
	// PrivateKeys are the PEM private keys by publickey_ver (PKCS#1 or
	// PKCS#8). Keep a retired version while records encrypted with it may
	// still be pulled (5 days plus any backlog).
	PrivateKeys map[uint32][]byte
	// Proxy ("socks5://host:port" or "http://host:port") and
	// ProxyPassword ("user:pass") for GetChatData and GetMediaData; "" for
	// none.
	Proxy, ProxyPassword string
	// Timeout is each SDK call's timeout, whole seconds (default 5 s).
	Timeout time.Duration
}

// String never shows the secret, the proxy password or the keys.
func (c SDKConfig) String() string {
	vers := make([]uint32, 0, len(c.PrivateKeys))
	for v := range c.PrivateKeys {
		vers = append(vers, v)
	}
	return fmt.Sprintf("SDKConfig{CorpID: %q, Secret: [redacted], PrivateKeys: versions %v, Proxy: %q, Timeout: %s}", c.CorpID, vers, c.Proxy, c.Timeout)
}

// GoString is String, for %#v.
func (c SDKConfig) GoString() string { return c.String() }

// validate checks the fields NewSDKSource needs and parses the keys.
func (c SDKConfig) validate() (map[uint32]*rsa.PrivateKey, error) {
	if c.CorpID == "" {
		return nil, fmt.Errorf("wecom: archive SDK config: CorpID is empty")
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("wecom: archive SDK config: Secret is empty (the 会话内容存档 Secret)")
	}
	if len(c.PrivateKeys) == 0 {
		return nil, fmt.Errorf("wecom: archive SDK config: PrivateKeys is empty (one PEM per publickey_ver)")
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("wecom: archive SDK config: Timeout %s is negative", c.Timeout)
	}
	ring := make(map[uint32]*rsa.PrivateKey, len(c.PrivateKeys))
	for v, p := range c.PrivateKeys {
		k, err := ParseArchivePrivateKey(p)
		if err != nil {
			return nil, fmt.Errorf("wecom: archive SDK config: PrivateKeys[%d]: %w", v, err)
		}
		ring[v] = k
	}
	return ring, nil
}

// timeoutSeconds is Timeout in whole seconds, at least 1 (default 5).
func (c SDKConfig) timeoutSeconds() int {
	if c.Timeout <= 0 {
		return 5
	}
	return max(1, int((c.Timeout+time.Second-1)/time.Second))
}

// SDKCodeText is the official meaning of an SDK return code
// (path/91552 "SDK错误码说明"), in English.
func SDKCodeText(code int) string {
	switch code {
	case SDKErrParam:
		return "invalid parameters"
	case SDKErrNetwork:
		return "network error"
	case SDKErrParse:
		return "data parse failure"
	case SDKErrSystem:
		return "system call failed"
	case SDKErrFileID:
		return "invalid sdkfileid"
	case SDKErrDecrypt:
		return "decrypt failed"
	case SDKErrDecryptKey:
		return "encrypt_key does not decrypt the message"
	case SDKErrIPNotAllowed:
		return "caller IP not on the trusted list"
	case SDKErrExpired:
		return "data expired (older than 5 days)"
	case SDKErrCert:
		return "certificate check failed"
	}
	return "sdk error"
}
