package archive_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/embedded"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// BenchmarkPull pulls pages of 1,000 generated records from the fake
// archive into a fresh embedded file: decrypt (RSA per record, as the
// SDK does), decode, decide, seal, index, commit. It reports messages
// per second; the numbers go in the closing note, never into an
// assertion.
func BenchmarkPull(b *testing.B) {
	ks, err := rsaKeys()
	if err != nil {
		b.Fatal(err)
	}
	clock := testclock.Frozen(start)
	srv := wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 99, Now: clock.Now})
	srv.UploadPublicKey(&ks[0].PublicKey)
	const n = 2000
	if _, err := srv.Generate(n); err != nil {
		b.Fatal(err)
	}
	index, _ := archive.NewIndexKey(bytes.Repeat([]byte{9}, archive.KeySize))
	master, _ := archive.NewMasterKey("m1", bytes.Repeat([]byte{1}, archive.KeySize))
	ctx := context.Background()
	b.ResetTimer()
	stored := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st, err := embedded.Open(filepath.Join(b.TempDir(), "a.db"), embedded.Options{Now: clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		keys, _ := archive.NewKeys(st, archive.KeysConfig{Masters: []archive.MasterKey{master}, Clock: clock.Now})
		p := &archive.Puller{
			Source: wecomtest.NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{1: ks[0]}),
			Store:  st, Keys: keys, Index: index, Ledger: agreeAll{},
			Log: slog.New(slog.DiscardHandler), Clock: clock.Now, Limit: 1000,
		}
		b.StartTimer()
		for {
			r, err := p.PullOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			stored += r.Stored
			if r.CaughtUp {
				break
			}
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(stored)/b.Elapsed().Seconds(), "msgs/s")
}
