package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
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
// The test environment logs every callback (debug); the "log=info"
// variants log as serve does by default, where a 200 is not logged.
func BenchmarkCallback(b *testing.B) {
	for _, tc := range []struct {
		route string
		name  string
		info  bool
	}{
		{path + "/baseline", path + "/baseline", false},
		{path, path, false},
		{path + "/baseline", path + "/baseline/log=info", true},
		{path, path + "/log=info", true},
	} {
		route := tc.route
		b.Run(tc.name, func(b *testing.B) {
			now := time.Now()
			e := newEnv(b, now, func(o *Options) {
				o.BaselineRoute = true
				if tc.info {
					o.Logger = slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
				}
			})
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
