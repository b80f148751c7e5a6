// Package redistest runs a real, private redis-server for tests and tools.
//
// The server listens on a free loopback port, keeps its files in a
// directory of the caller's, and runs the durable configuration wecomply
// expects in production (append-only file, fsync every second, no RDB
// snapshots). It never touches a Redis already running on the machine.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start runs a redis-server in tb.TempDir() and returns its URL
// (redis://127.0.0.1:PORT/0); the server is stopped in tb.Cleanup. If
// redis-server is not on PATH, the test is skipped, or fails when the
// environment variable CI is "true" (CI must not skip the Redis tests).
func Start(tb testing.TB) (url string) {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server not found on PATH; the test command installs it with apt-get (apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	url, stop, err := StartProcess(tb.TempDir())
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("redistest: %v", err)
		}
	})
	return url
}

// startAttempts bounds the retries when another process takes the port
// between choosing it and redis-server binding it.
const startAttempts = 5

// StartProcess runs a redis-server with its files in dir (which must
// exist) and waits until it answers PING. stop shuts it down gracefully
// (the append-only file is flushed) and waits for it to exit. Starting
// again on the same dir loads the data back, which is how crash and
// restart tests use it.
func StartProcess(dir string) (url string, stop func() error, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("redis-server not found on PATH: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	for range startAttempts {
		url, stop, err = start(bin, dir)
		if !errors.Is(err, errPortTaken) {
			return url, stop, err
		}
	}
	return "", nil, err
}

var errPortTaken = errors.New("port taken")

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(bin, dir string) (string, func() error, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, fmt.Errorf("find a free port: %w", err)
	}
	logPath := filepath.Join(dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--unixsocket", "",
		"--dir", dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "everysec",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--loglevel", "warning",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	stop := func() error {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server on %s had already exited: %v", addr, err)
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM) // graceful: flushes the AOF
		select {
		case <-exited:
			return nil
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on %s ignored SIGTERM for 30s; killed", addr)
		}
	}

	deadline := time.Now().Add(30 * time.Second) // loading a big AOF takes a while
	for {
		if ping(addr) {
			return "redis://" + addr + "/0", stop, nil
		}
		select {
		case err := <-exited:
			tail := logTail(logPath)
			if strings.Contains(tail, "Address already in use") {
				return "", nil, fmt.Errorf("%w: %d", errPortTaken, port)
			}
			return "", nil, fmt.Errorf("redis-server exited at start (%v): %s", err, tail)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = stop()
			return "", nil, fmt.Errorf("redis-server on %s did not answer PING within 30s: %s", addr, logTail(logPath))
		}
	}
}

// ping reports whether a Redis answers PING on addr.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
