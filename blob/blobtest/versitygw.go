package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/blob"
)

// VersityGWVersion is the S3 server the tests run (a Go program, built
// with go install when it is not found).
const VersityGWVersion = "v1.8.0"

// VersityGWEnv names a versitygw binary to use instead of searching.
const VersityGWEnv = "WECOMPLY_VERSITYGW"

var buildMu sync.Mutex // one go install per test process

// VersityGW finds the versitygw binary: $WECOMPLY_VERSITYGW, versitygw
// on PATH, or the user cache (…/wecomply-tools/versitygw-v1.8.0), where
// it is built with go install if missing. Without one the test is
// skipped — but fails under CI=true.
func VersityGW(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(VersityGWEnv); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("versitygw is needed by the S3 tests: %s", msg)
		}
		t.Skipf("versitygw not available (%s); the S3 tests fail under CI=true", msg)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		missing("no user cache dir: %v", err)
	}
	dir := filepath.Join(cache, "wecomply-tools", "versitygw-"+VersityGWVersion)
	bin := filepath.Join(dir, "versitygw")
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		missing("not on PATH and no go to build it: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		missing("%v", err)
	}
	// Build into a temp dir and rename, so a concurrent test process
	// never runs a half-written binary.
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		missing("%v", err)
	}
	defer os.RemoveAll(tmp)
	t.Logf("building versitygw %s into %s (once)", VersityGWVersion, dir)
	cmd := exec.Command(gobin, "install", "github.com/versity/versitygw/cmd/versitygw@"+VersityGWVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		missing("go install failed: %v\n%s", err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		missing("%v", err)
	}
	return bin
}

// S3Server starts a versitygw (posix backend in a temp dir, a free
// loopback port, random root credentials) for the test and returns the
// configuration of a store in a new bucket (CreateBucket set). The server
// stops when the test ends.
func S3Server(t testing.TB) blob.S3Config {
	t.Helper()
	bin := VersityGW(t)
	root := t.TempDir()
	access := "AK" + randomHex(t, 9)
	secret := randomHex(t, 20)
	var lastErr error
	for range 3 { // the free port may be taken between Close and the server's Listen
		addr := freePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "--port", addr, "posix", root)
		// Credentials through the environment, not argv (ps shows argv).
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+access, "ROOT_SECRET_ACCESS_KEY="+secret)
		var out strings.Builder
		lw := &lockedWriter{w: &out}
		cmd.Stdout, cmd.Stderr = lw, lw
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitHTTP(addr, exited); err != nil {
			cancel()
			<-exited
			lastErr = fmt.Errorf("%w; output:\n%s", err, lw.String())
			continue
		}
		t.Cleanup(func() {
			cancel()
			<-exited
		})
		return blob.S3Config{
			Endpoint:     addr,
			Bucket:       "wecomply-test",
			AccessKey:    access,
			SecretKey:    secret,
			Region:       "us-east-1",
			CreateBucket: true,
		}
	}
	t.Fatalf("versitygw did not come up: %v", lastErr)
	return blob.S3Config{}
}

// waitHTTP waits until addr answers HTTP (any status), or the process
// exits, or 60 s pass.
func waitHTTP(addr string, exited <-chan error) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("versitygw did not answer within 60 s")
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
