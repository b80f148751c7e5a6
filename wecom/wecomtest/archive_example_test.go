package wecomtest_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// A fake archive with one key version, three generated records, and a
// puller's loop: pull after the last seq, decrypt, decode.
func ExampleArchiveServer() {
	key, err := wecomtest.GenerateArchiveKey()
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	srv := wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 1, Now: func() time.Time { return at }})
	ver := srv.UploadPublicKey(&key.PublicKey)
	if _, err := srv.Generate(3); err != nil {
		panic(err)
	}
	var src wecom.ArchiveSource = wecomtest.NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{ver: key})
	defer src.Close()

	ctx := context.Background()
	var seq uint64
	for {
		recs, err := src.ChatData(ctx, seq, 2)
		if err != nil {
			panic(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			plain, err := src.Decrypt(ctx, r)
			if err != nil {
				panic(err)
			}
			m, err := wecom.DecodeChatMessage(plain)
			if err != nil {
				panic(err)
			}
			fmt.Printf("seq %d v%d %s %s media:%d\n", r.Seq, r.PublicKeyVer, m.Type, m.Text, len(m.Media))
			seq = r.Seq
		}
	}
	// Output:
	// seq 1 v1 text 资料已发到您邮箱，请查收。 media:0
	// seq 2 v1 text 这是一条引用/回复消息：
	// "张三：
	// 周五前能给个答复吗？"
	// ------
	// @张三 好的，谢谢您！ media:0
	// seq 3 v1 image  media:1
}
