package wecomtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// benchFake is a fake with n members and a clock that moves 50 ms per
// reading (about 100 ms a request). The sends cycle through the members
// 1,000 at a time, so a member gets a message every n/1000 requests and the
// default per-member limits (30/min, 1000/h) never drop one: every send
// delivers to all 1,000 recipients.
func benchFake(b *testing.B, n int) (*wecomtest.Server, string, [][]byte) {
	b.Helper()
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := wecomtest.NewTestServer(b, wecomtest.ServerConfig{
		CorpID: corpID, Apps: apps, MaxRequests: 1000, TokenTTL: 10000 * time.Hour,
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(50 * time.Millisecond)
			return now
		},
	})
	s.AddDepartment(wecomtest.Department{ID: 1, Name: "root"})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("member%06d", i)
		s.AddUser(wecomtest.User{UserID: ids[i], Name: ids[i], Department: []int64{1}})
	}
	resp, err := http.Get(s.URL + "/cgi-bin/gettoken?" + url.Values{"corpid": {corpID}, "corpsecret": {"app-secret"}}.Encode())
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok) //nolint:errcheck
	resp.Body.Close()
	var bodies [][]byte
	for i := 0; i < n; i += 1000 {
		body, _ := json.Marshal(text(strings.Join(ids[i:min(i+1000, n)], "|"), "请阅读并确认《员工手册》2026 版。"))
		bodies = append(bodies, body)
	}
	return s, tok.AccessToken, bodies
}

// BenchmarkSend1000 is one message/send to 1,000 recipients over HTTP on
// loopback, as the 100,000-member benchmark makes 100 of them.
func BenchmarkSend1000(b *testing.B) {
	s, tok, bodies := benchFake(b, 100_000)
	client := &http.Client{Timeout: 10 * time.Second}
	target := s.URL + "/cgi-bin/message/send?access_token=" + tok
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		resp, err := client.Post(target, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
		if err != nil {
			b.Fatal(err)
		}
		var r struct {
			Errcode int `json:"errcode"`
		}
		json.NewDecoder(resp.Body).Decode(&r) //nolint:errcheck
		resp.Body.Close()
		if r.Errcode != 0 {
			b.Fatalf("errcode %d", r.Errcode)
		}
	}
	b.StopTimer()
	if got := len(s.Inbox("member000000")); got == 0 {
		b.Fatal("nothing delivered")
	}
}

// BenchmarkSend1000Handler is the fake's own cost of the same send,
// without the network: ServeHTTP on a recorder.
func BenchmarkSend1000Handler(b *testing.B) {
	s, tok, bodies := benchFake(b, 100_000)
	target := "/cgi-bin/message/send?access_token=" + tok
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, bytes.NewReader(bodies[i%len(bodies)])))
		if !bytes.Contains(rec.Body.Bytes(), []byte(`"errcode":0,`)) {
			b.Fatalf("answer %s", rec.Body)
		}
	}
}
