package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestCrashRecovery kills the server with SIGKILL in the middle of a load,
// restarts it on the same store, re-sends what got no answer (as WeCom
// does) and checks that every event that got a 200 is in the event log
// exactly once — nothing lost, nothing doubled.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	bin := buildBinary(t)
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			redisURL := ""
			if backend == "redis" {
				redisURL = redistest.Start(t)
			}
			addr := freeAddr(t)
			cfg := writeConfig(t, addr, backend, redisURL)
			base := "http://" + addr

			first := startServer(t, bin, cfg, base)
			c, err := wecom.NewCipher(testToken, testKey, testCorpID)
			if err != nil {
				t.Fatal(err)
			}
			s := &wecomtest.Sender{URL: base + "/wecom/callback", Cipher: c, Client: &http.Client{Timeout: 5 * time.Second}}

			var (
				mu       sync.Mutex
				accepted = map[string][]byte{} // dedup key → plaintext, answered 200
				unknown  = map[string][]byte{} // no answer: maybe stored, maybe not
				seq      atomic.Int64
				nAcc     atomic.Int64
				killed   atomic.Bool
			)
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for failures := 0; failures < 3; {
						plain := crashEvent(t, seq.Add(1), w)
						ev, err := wecom.Decode(plain)
						if err != nil {
							t.Error(err)
							return
						}
						status, _, err := s.Post(context.Background(), plain)
						mu.Lock()
						switch {
						case err == nil && status == 200:
							accepted[ev.DedupKey()] = plain
							nAcc.Add(1)
						case err != nil && killed.Load():
							unknown[ev.DedupKey()] = plain
							failures++
						default:
							t.Errorf("unexpected answer %d %v before the kill", status, err)
							failures = 3
						}
						mu.Unlock()
					}
				})
			}
			loadDeadline := time.Now().Add(30 * time.Second)
			for nAcc.Load() < 300 && time.Now().Before(loadDeadline) {
				time.Sleep(time.Millisecond)
			}
			processed := len(listEvents(t, base, "?limit=1000").Events)
			killed.Store(true)
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.Wait()
			wg.Wait()
			if nAcc.Load() < 300 {
				t.Fatalf("only %d events accepted before the deadline", nAcc.Load())
			}
			t.Logf("SIGKILL with %d events answered 200, %d of them processed a moment before; %d requests got no answer",
				len(accepted), processed, len(unknown))

			second := startServer(t, bin, cfg, base)
			for key, plain := range unknown {
				status, _, err := s.Post(context.Background(), plain)
				if err != nil || status != 200 {
					t.Fatalf("re-send after restart: %d %v", status, err)
				}
				accepted[key] = plain
			}
			r := waitEvents(t, base, len(accepted))
			seen := map[string]int{}
			for _, e := range r.Events {
				seen[e["dedup_key"].(string)]++
			}
			for key := range accepted {
				if seen[key] != 1 {
					t.Errorf("event %s appears %d times in the log, want 1", key, seen[key])
				}
			}
			if len(seen) != len(accepted) {
				t.Errorf("log holds %d distinct events, %d were accepted", len(seen), len(accepted))
			}

			// A graceful stop exits 0.
			second.Process.Signal(syscall.SIGTERM)
			if err := second.Wait(); err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
		})
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildBinary builds wecomply once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wecomply-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "wecomply")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// TestNotifyCrashRecovery kills the server with SIGKILL at the two points
// where a notice is most at risk — after its send is recorded but before
// WeCom got it, and after WeCom delivered it but before the result was
// recorded — restarts it, and checks that every recipient got the notice
// exactly once.
func TestNotifyCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	bin := buildBinary(t)
	tests := []struct {
		name  string
		fault wecomtest.Fault
		// killWhen is true once the server may be killed.
		killWhen func(fake *wecomtest.Server, users []string) bool
		// cardBatch is [notify] card_batch: the card goes to the 50 one
		// a send (1) or in one send (1000).
		cardBatch int
	}{
		{
			name: "recorded, not sent",
			// Every send is cut off before WeCom processes it.
			fault:     wecomtest.Fault{Path: "message/send", Reset: true},
			killWhen:  func(fake *wecomtest.Server, _ []string) bool { return fake.CountRequests("message/send") >= 1 },
			cardBatch: 1,
		},
		{
			name: "sent, not recorded",
			// WeCom delivers, then its answer takes longer than we wait.
			fault: wecomtest.Fault{Path: "message/send", AfterProcessing: true, Delay: 5 * time.Second},
			killWhen: func(fake *wecomtest.Server, users []string) bool {
				for _, u := range users {
					if len(fake.Inbox(u)) == 0 {
						return false
					}
				}
				return true
			},
			// One send of all 50, delivered and never recorded. One a
			// send, each would be tried again and again past the 1 s API
			// timeout until all were delivered, and those tried more
			// than thrice wait notify's minute (WindowWait) after the
			// restart.
			cardBatch: 1000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, users := newFakeWeCom(t, 50)
			removeFault := fake.InjectFault(tt.fault)
			addr := freeAddr(t)
			cfg := writeConfigAPI(t, addr, "embedded", "", fake.URL)
			editConfig(t, cfg, "[admin]\n", fmt.Sprintf("[notify]\ncard_batch = %d\n[admin]\n", tt.cardBatch))
			base := "http://" + addr
			first := startServer(t, bin, cfg, base)
			if status, body := adminPost(t, base+"/api/v1/sends", ackCardSend("crash:v1", users)); status != 202 {
				t.Fatalf("submit: %d %s", status, body)
			}
			deadline := time.Now().Add(20 * time.Second)
			for !tt.killWhen(fake, users) {
				if time.Now().After(deadline) {
					t.Fatal("the kill point was never reached")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.Wait()
			sendsBefore := fake.CountRequests("message/send")
			removeFault()

			startServer(t, bin, cfg, base)
			waitInboxes(t, fake, users, 1, 30*time.Second)
			// Every result recorded, and still one card each.
			for {
				req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/sends/crash:v1", nil)
				req.Header.Set("Authorization", "Bearer "+testAdmin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var res struct {
					Counts map[string]int `json:"counts"`
				}
				err = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if err == nil && res.Counts["sent"] == len(users) {
					break
				}
				if time.Now().After(deadline.Add(30 * time.Second)) {
					t.Fatalf("results after restart: %+v %v", res, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			waitInboxes(t, fake, users, 1, time.Second)
			t.Logf("killed after %d message/send call(s); %d in all; every one of %d recipients has exactly one card",
				sendsBefore, fake.CountRequests("message/send"), len(users))
		})
	}
}

// crashEvent builds the n-th event of a realistic mix.
func crashEvent(t *testing.T, n int64, worker int) []byte {
	spec := wecomtest.EventSpec{CorpID: testCorpID, CreateTime: time.Now().Unix(), UserID: fmt.Sprintf("user%d", worker)}
	switch n % 4 {
	case 0:
		spec.Kind, spec.Content, spec.MsgID = "text", "确认", fmt.Sprint(8000000000000000000+n)
	case 1:
		spec.Kind, spec.ExternalUserID = "change_external_contact.add_external_contact", fmt.Sprintf("wmcustomer%d", n)
	case 2:
		spec.Kind, spec.UserID, spec.Department = "change_contact.create_user", fmt.Sprintf("newhire%d", n), "1,2"
	default:
		spec.Kind, spec.TaskID, spec.EventKey = "template_card_event", fmt.Sprintf("task%d", n), "ack"
	}
	b, err := wecomtest.BuildEvent(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts `wecomply serve` and waits until it is ready.
func startServer(t *testing.T, bin, cfg, base string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-config", cfg)
	// The server runs on the wall clock, and refuses WECOMPLY_ variables
	// it does not know: it does not get the tests' clock.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, testclock.EnvVar+"=") })
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", tail(b, 4000))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 15s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
