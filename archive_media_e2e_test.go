package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/wecomply/wecomply/internal/testclock"
)

// TestArchiveMediaEndToEnd: with archive.media on, an image a message
// refers to is downloaded, md5-checked and sealed into the media
// directory, and GET /api/v1/archive/media serves it back exactly; the
// directory holds no plaintext.
func TestArchiveMediaEndToEnd(t *testing.T) {
	clk := testclock.New(t)
	fake := policyCompanyAt(t, clk)
	arch := newArchiveFixture(t, clk)
	mediaDir := filepath.Join(arch.dir, "media")
	cfgPath := writePolicyConfig(t, fake.URL, t.TempDir(), 1)
	appendConfig(t, cfgPath, arch.section+fmt.Sprintf("[archive.media]\nenabled = true\ndir = %q\ninterval = \"1s\"\n", mediaDir))

	img := bytes.Repeat([]byte("PNG-PLAINTEXT-MARKER "), 40000) // ~800 KB: two chunks from the SDK
	sum := md5.Sum(img)
	arch.srv.AddMedia("sdkfile-img-1", img)
	if _, err := arch.srv.Add(map[string]any{
		"msgid": "img1", "action": "send", "from": "zhangsan", "tolist": []string{"wangwu"}, "roomid": "",
		"msgtime": clk.Now().UnixMilli(), "msgtype": "image",
		"image": map[string]any{"md5sum": hex.EncodeToString(sum[:]), "filesize": len(img), "sdkfileid": "sdkfile-img-1"},
	}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, base, done := launchAppWith(t, ctx, cfgPath, io.Discard, appOptions{Now: clk.Now, ArchiveSource: arch.source()})
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitArchived(t, base, 1)

	get := func(q string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+"/api/v1/archive/media?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+testAdmin)
		req.Header.Set("X-Wecomply-Actor", "王芳")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	q := "msgid=img1&sdkfileid=" + url.QueryEscape("sdkfile-img-1")
	var body []byte
	eventually(t, "the image is downloaded and served", func() bool {
		var code int
		code, body = get(q)
		if code != 200 && code != 409 {
			t.Fatalf("GET media: %d %s", code, body)
		}
		return code == 200
	})
	if !bytes.Equal(body, img) {
		t.Fatalf("media served %d bytes, not the image's %d", len(body), len(img))
	}
	for _, c := range []struct {
		q    string
		want int
	}{{"msgid=img1&sdkfileid=nope", 404}, {"msgid=nope&sdkfileid=x", 404}, {"msgid=img1", 400}} {
		if code, body := get(c.q); code != c.want {
			t.Errorf("GET media?%s: %d %s, want %d", c.q, code, body, c.want)
		}
	}
	err := filepath.WalkDir(mediaDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("PNG-PLAINTEXT-MARKER")) {
			t.Errorf("%s holds the image in the clear", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
