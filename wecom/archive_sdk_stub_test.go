//go:build !(linux && cgo && msgaudit)

package wecom

import (
	"errors"
	"strings"
	"testing"
)

func TestNewSDKSourceWithoutTheTag(t *testing.T) {
	src, err := NewSDKSource(SDKConfig{CorpID: "ww1", Secret: "s", PrivateKeys: map[uint32][]byte{1: testKeyPEM(t)}})
	if src != nil || !errors.Is(err, ErrNoMsgauditBuild) {
		t.Fatalf("src %v, err %v", src, err)
	}
	if !strings.Contains(err.Error(), "CGO_ENABLED=1 go build -tags msgaudit") {
		t.Errorf("the error does not say how to rebuild: %v", err)
	}
	// The config is still checked first.
	if _, err := NewSDKSource(SDKConfig{}); err == nil || errors.Is(err, ErrNoMsgauditBuild) {
		t.Errorf("empty config: %v", err)
	}
}
