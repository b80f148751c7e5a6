package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// BenchmarkCallback measures one signed, encrypted callback through the
// Gin engine, in-process: on the baseline route (verify, decrypt, decode)
// and on the real route (plus a durable enqueue on the embedded store).
// 16 goroutines per CPU post at once, as WeCom's concurrent callbacks do.
// Compare with bench/run.sh, which adds HTTP over loopback and a load.
func BenchmarkCallback(b *testing.B) {
	for _, route := range []string{path + "/baseline", path} {
		b.Run(route, func(b *testing.B) {
			now := time.Now()
			e := newEnv(b, now, func(o *Options) { o.BaselineRoute = true })
			s := &wecomtest.Sender{URL: "http://wecomply.test" + route, Cipher: e.cipher, Now: func() time.Time { return now }}
			type prepared struct {
				target string
				body   []byte
			}
			reqs := make([]prepared, b.N)
			for i := range reqs {
				plain, err := wecomtest.BuildEvent(wecomtest.EventSpec{Kind: "change_external_contact.add_external_contact",
					CorpID: k1CorpID, UserID: "zhangsan", ExternalUserID: fmt.Sprint("wm", i), CreateTime: now.Unix()})
				if err != nil {
					b.Fatal(err)
				}
				req, err := s.Request(context.Background(), plain)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(req.Body)
				reqs[i] = prepared{req.URL.RequestURI(), body}
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16) // WeCom's callbacks arrive concurrently; the store commits them in groups
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := reqs[next.Add(1)-1]
					rec := httptest.NewRecorder()
					e.engine.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, r.target, bytes.NewReader(r.body)))
					if rec.Code != http.StatusOK {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}
