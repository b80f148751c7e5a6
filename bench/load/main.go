// Command load posts signed, encrypted, realistic WeCom callbacks to a
// wecomply server over loopback and reports throughput and latency.
//
// Every request is built (signed and encrypted, each event unique) before
// the clock starts, so the tool spends its CPU on sending, not on crypto.
//
//	go run ./bench/load -config F [-url http://127.0.0.1:8080] [-suffix /baseline] -rate 2000 -duration 10s
//
// -rate 0 is a closed loop: -concurrency senders as fast as the server
// answers (throughput). -rate N is an open loop: N requests a second on
// schedule, latency measured from the scheduled time so a stalled server
// cannot hide its queueing (no coordinated omission).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type request struct {
	url  string
	body []byte
}

func run() error {
	cfgPath := flag.String("config", "", "the server's config (token, key, corp id, listen address)")
	base := flag.String("url", "", "server base URL (default http://<server.listen>)")
	suffix := flag.String("suffix", "", `appended to the callback path, e.g. "/baseline"`)
	rate := flag.Int("rate", 0, "requests per second (0: closed loop as fast as possible)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	concurrency := flag.Int("concurrency", 64, "concurrent connections")
	label := flag.String("label", "", "label printed with the result")
	flag.Parse()
	if *cfgPath == "" {
		return fmt.Errorf("-config is required")
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	cb := cfg.WeCom.Callbacks[0]
	cipher, err := wecom.NewCipher(cb.Token.Reveal(), cb.EncodingAESKey.Reveal(), cb.ReceiveID)
	if err != nil {
		return err
	}
	if *base == "" {
		*base = "http://" + cfg.Server.Listen
	}
	n := *rate * int(duration.Seconds())
	if *rate == 0 {
		n = 25000 * int(duration.Seconds()) // more than a closed loop can use here
	}
	reqs, err := prepare(cfg.WeCom.CorpID, cipher, strings.TrimRight(*base, "/")+cb.Path+*suffix, n)
	if err != nil {
		return err
	}

	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConns: *concurrency * 2, MaxIdleConnsPerHost: *concurrency * 2, IdleConnTimeout: time.Minute},
	}
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		statuses  = map[int]int{}
		errs      atomic.Int64
		next      atomic.Int64
	)
	send := func(r request, scheduled time.Time) {
		resp, err := client.Post(r.url, "text/xml", bytes.NewReader(r.body))
		lat := time.Since(scheduled)
		if err != nil {
			errs.Add(1)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		latencies = append(latencies, lat)
		statuses[resp.StatusCode]++
		mu.Unlock()
	}

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	if *rate == 0 {
		for range *concurrency {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := next.Add(1) - 1
					if int(i) >= len(reqs) {
						return
					}
					send(reqs[i], time.Now())
				}
			})
		}
	} else {
		type job struct {
			r  request
			at time.Time
		}
		jobs := make(chan job, n)
		for range *concurrency {
			wg.Go(func() {
				for j := range jobs {
					send(j.r, j.at)
				}
			})
		}
		interval := time.Second / time.Duration(*rate)
		for i, r := range reqs {
			at := start.Add(time.Duration(i) * interval)
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			jobs <- job{r, at}
		}
		close(jobs)
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	mode := "closed-loop"
	if *rate > 0 {
		mode = fmt.Sprintf("open-loop %d/s", *rate)
	}
	fmt.Printf("%-22s %-16s requests=%d status=%v errors=%d throughput=%.0f/s p50=%s p90=%s p99=%s max=%s\n",
		*label, mode, len(latencies), statuses, errs.Load(), float64(len(latencies))/elapsed.Seconds(),
		round(pct(0.50)), round(pct(0.90)), round(pct(0.99)), round(pct(1)))
	if errs.Load() > 0 || statuses[200] != len(latencies) {
		return fmt.Errorf("not every request got a 200")
	}
	return nil
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// prepare signs and encrypts n distinct events in a realistic mix.
func prepare(corpID string, c *wecom.Cipher, url string, n int) ([]request, error) {
	s := &wecomtest.Sender{URL: url, Cipher: c}
	now := time.Now().Unix()
	out := make([]request, n)
	for i := range out {
		spec := wecomtest.EventSpec{CorpID: corpID, CreateTime: now, UserID: fmt.Sprintf("user%d", i%5000)}
		switch i % 10 {
		case 0, 1, 2, 3:
			spec.Kind, spec.Content, spec.MsgID = "text", "我已阅读并确认 / I acknowledge", fmt.Sprint(7000000000000000000+int64(i))
		case 4, 5:
			spec.Kind, spec.ExternalUserID, spec.State = "change_external_contact.add_external_contact", fmt.Sprintf("wmload%d", i), "channel-a"
		case 6:
			spec.Kind, spec.UserID, spec.Department = "change_contact.update_user", fmt.Sprintf("staff%d", i), fmt.Sprintf("1,%d", i%40+2)
		case 7, 8:
			spec.Kind, spec.TaskID, spec.EventKey, spec.CardType = "template_card_event", fmt.Sprintf("notice-v1-%d", i), "ack", "button_interaction"
		default:
			spec.Kind, spec.UserID = "enter_agent", fmt.Sprintf("visitor%d", i) // one visit per person and second
		}
		plain, err := wecomtest.BuildEvent(spec)
		if err != nil {
			return nil, err
		}
		req, err := s.Request(context.Background(), plain)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		out[i] = request{url: req.URL.String(), body: body}
	}
	return out, nil
}
