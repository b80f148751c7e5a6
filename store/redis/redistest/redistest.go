// Package redistest runs a real, private redis-server for tests and tools.
//
// The server listens on a free loopback port, keeps its files in a
// directory of the caller's, and runs the durable configuration wecomply
// expects in production by default (store.redis_durability = "fsync"):
// the append-only file, fsynced before every reply (appendfsync always),
// no RDB snapshots. Config changes that, e.g. for a replica or a server
// that refuses CONFIG. It never touches a Redis already running on the
// machine.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Config is how a server differs from the default one; the zero Config
// is the default.
type Config struct {
	// AppendFsync is the append-only file's fsync policy: "always" (the
	// default), "everysec" or "no".
	AppendFsync string
	// NoAppendOnly runs the server without the append-only file
	// (appendonly no).
	NoAppendOnly bool
	// ReplicaOf makes the server a replica of the server at this URL (one
	// that Start or Run returned). Run returns once the replica has
	// synced with it.
	ReplicaOf string
	// Directives are more redis.conf lines, e.g. `rename-command CONFIG ""`.
	Directives []string
}

// Server is a running redis-server.
type Server struct {
	// URL is redis://127.0.0.1:PORT/0.
	URL string

	addr   string
	proc   *os.Process
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, set before exited is closed

	mu     sync.Mutex
	killed bool // Kill or Stop ended it: not a surprise
}

// Start runs a default redis-server in tb.TempDir() and returns its URL
// (redis://127.0.0.1:PORT/0); the server is stopped in tb.Cleanup. If
// redis-server is not on PATH, the test is skipped, or fails when the
// environment variable CI is "true" (CI must not skip the Redis tests).
func Start(tb testing.TB) (url string) {
	tb.Helper()
	return StartServer(tb, Config{}).URL
}

// StartServer is Start with a Config; it returns the server, so that the
// test can kill, pause or stop it. Cleanup stops it if it still runs.
func StartServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server not found on PATH; the test command installs it with apt-get (apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	s, err := Run(tb.TempDir(), cfg)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("redistest: %v", err)
		}
	})
	return s
}

// startAttempts bounds the retries when another process takes the port
// between choosing it and redis-server binding it.
const startAttempts = 5

// StartProcess runs a default redis-server with its files in dir (which
// must exist) and waits until it answers PING. stop shuts it down
// gracefully (the append-only file is flushed) and waits for it to exit.
// Starting again on the same dir loads the data back, which is how crash
// and restart tests use it.
func StartProcess(dir string) (url string, stop func() error, err error) {
	s, err := Run(dir, Config{})
	if err != nil {
		return "", nil, err
	}
	return s.URL, s.Stop, nil
}

// Run runs a redis-server configured by cfg with its files in dir (which
// must exist) and waits until it answers PING (and, for a replica, until
// it has synced). The caller stops it.
func Run(dir string, cfg Config) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	conf, err := cfg.conf(dir)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	var s *Server
	for range startAttempts {
		s, err = start(bin, dir, confPath)
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.ReplicaOf != "" {
		if err := s.waitSynced(30 * time.Second); err != nil {
			_ = s.Kill()
			return nil, err
		}
	}
	return s, nil
}

// conf renders cfg as a redis.conf.
func (cfg Config) conf(dir string) (string, error) {
	fsync := cfg.AppendFsync
	if fsync == "" {
		fsync = "always"
	}
	appendOnly := "yes"
	if cfg.NoAppendOnly {
		appendOnly = "no"
	}
	lines := []string{
		"bind 127.0.0.1",
		"dir " + strconv.Quote(dir),
		`save ""`,
		"appendonly " + appendOnly,
		"appendfsync " + fsync,
		"daemonize no",
		"protected-mode yes",
		"loglevel warning",
		// A replica gets its first copy at once, not after 5 s.
		"repl-diskless-sync-delay 0",
	}
	if cfg.ReplicaOf != "" {
		host, port, err := hostPort(cfg.ReplicaOf)
		if err != nil {
			return "", err
		}
		lines = append(lines, "replicaof "+host+" "+port)
	}
	lines = append(lines, cfg.Directives...)
	return strings.Join(lines, "\n") + "\n", nil
}

// hostPort returns the host and port of a URL that Run returned.
func hostPort(url string) (host, port string, err error) {
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0")
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("replica of %q: want a URL that redistest returned: %w", url, err)
	}
	return host, port, nil
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

func start(bin, dir, confPath string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	logPath := filepath.Join(dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, confPath, "--port", strconv.Itoa(port), "--unixsocket", "")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s := &Server{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		proc:   cmd.Process,
		exited: make(chan struct{}),
	}
	s.URL = "redis://" + s.addr + "/0"
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()

	deadline := time.Now().Add(30 * time.Second) // loading a big AOF takes a while
	for {
		if ping(s.addr) {
			return s, nil
		}
		select {
		case <-s.exited:
			tail := logTail(logPath)
			if strings.Contains(tail, "Address already in use") {
				return nil, fmt.Errorf("%w: %d", errPortTaken, port)
			}
			return nil, fmt.Errorf("redis-server exited at start (%v): %s", s.err, tail)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return nil, fmt.Errorf("redis-server on %s did not answer PING within 30s: %s", s.addr, logTail(logPath))
		}
	}
}

// Stop shuts the server down gracefully (SIGTERM: the append-only file is
// flushed) and waits for it to exit. Stopping a server that Kill or Stop
// already ended does nothing; one that exited on its own is an error.
func (s *Server) Stop() error {
	s.mu.Lock()
	ended := s.killed
	s.killed = true
	s.mu.Unlock()
	select {
	case <-s.exited:
		if ended {
			return nil
		}
		return fmt.Errorf("redis-server on %s had already exited: %v", s.addr, s.err)
	default:
	}
	s.Resume() // a paused server would not see SIGTERM
	// A server refuses a SIGTERM while it writes its first append-only
	// file (a replica does after its first sync): ask again until it goes.
	giveUp := time.After(30 * time.Second)
	for {
		_ = s.proc.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			return nil
		case <-time.After(200 * time.Millisecond):
		case <-giveUp:
			_ = s.proc.Kill()
			<-s.exited
			return fmt.Errorf("redis-server on %s ignored SIGTERM for 30s; killed", s.addr)
		}
	}
}

// Kill ends the server with SIGKILL, as a crash would (what it had not
// written to its files is lost), and waits for it to exit.
func (s *Server) Kill() error {
	s.mu.Lock()
	s.killed = true
	s.mu.Unlock()
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.proc.Kill(); err != nil {
		return fmt.Errorf("kill redis-server on %s: %w", s.addr, err)
	}
	<-s.exited
	return nil
}

// Pause stops the process (SIGSTOP) without closing its connections: a
// paused replica stays connected to its primary but acknowledges
// nothing. Resume continues it.
func (s *Server) Pause() { _ = s.proc.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { _ = s.proc.Signal(syscall.SIGCONT) }

// waitSynced waits until a replica's link to its primary is up and it
// has written its first append-only file from the copy it got.
func (s *Server) waitSynced(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := command(s.addr, "INFO")
		if err == nil && strings.Contains(info, "master_link_status:up") &&
			strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica on %s not in sync with its primary within %s: %v %s", s.addr, timeout, err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping reports whether a Redis answers PING on addr.
func ping(addr string) bool {
	reply, err := command(addr, "PING")
	return err == nil && reply == "PONG"
}

// command sends one inline command to addr and returns its reply, a
// simple or bulk string.
func command(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("%s: reply %q", cmd, line)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	default:
		return "", fmt.Errorf("%s: reply %q", cmd, line)
	}
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
