package evidence

import (
	"bytes"
	"testing"

	"github.com/wecomply/wecomply/console/evidence/evidencetest"
)

// FuzzVerify: a pack is input from outside (an examiner's file). Verify
// never panics on one, whatever its bytes, and whatever it accepts
// against the Maker's key carries the very manifest that was signed.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	pack := fx.personPack(f)
	signed := open(f, pack).Files[ManifestName]
	f.Add(pack)
	f.Add(pack[:len(pack)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if Verify(bytes.NewReader(b), int64(len(b)), fx.m.PublicKey()) != nil {
			return
		}
		p, err := evidencetest.Open(b)
		if err != nil {
			t.Fatalf("verified, but does not unzip: %v", err)
		}
		if !bytes.Equal(p.Files[ManifestName], signed) {
			t.Fatal("verified with a manifest that was not signed")
		}
	})
}
