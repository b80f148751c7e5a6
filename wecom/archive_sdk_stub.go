//go:build !(linux && cgo && msgaudit)

package wecom

// NewSDKSource is the real archive source; this build has none (it needs
// linux, cgo and the build tag msgaudit), so it checks cfg and returns
// ErrNoMsgauditBuild.
func NewSDKSource(cfg SDKConfig) (ArchiveSource, error) {
	if _, err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrNoMsgauditBuild
}
