// Package server helps the load tools run and watch a `wecomply serve`
// process: a free address, readiness, its Prometheus metrics, its peak
// memory.
package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// FreeAddr is a loopback address nothing listens on right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitReady waits up to 20 s for base's /readyz to answer 200.
func WaitReady(base string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 20 s", base)
}

// Metrics are one scrape of /metrics: each series, written as Prometheus
// writes it (`name{label="value"}`), and its value.
type Metrics map[string]float64

// Scrape reads base's /metrics.
func Scrape(base string) (Metrics, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	m := Metrics{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, nil
}

// Labelled returns a vector with one label, e.g.
// Labelled("wecomply_notify_welcomes_total", "outcome").
func (m Metrics) Labelled(name, label string) map[string]float64 {
	out := map[string]float64{}
	prefix := name + "{" + label + `="`
	for series, v := range m {
		if value, ok := strings.CutPrefix(series, prefix); ok {
			out[strings.TrimSuffix(value, `"}`)] = v
		}
	}
	return out
}

// Mean is a histogram's mean (its _sum over its _count), 0 if empty.
func (m Metrics) Mean(name string) float64 {
	if c := m[name+"_count"]; c > 0 {
		return m[name+"_sum"] / c
	}
	return 0
}

// PeakRSS is a process's peak resident memory (VmHWM), in KiB.
func PeakRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmHWM for process %d", pid)
}

// RSS is a process's resident memory now, in KiB: anonymous (heap,
// stacks) and file-backed (e.g. a memory-mapped database).
func RSS(pid int) (anon, file int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		for prefix, dst := range map[string]*int{"RssAnon:": &anon, "RssFile:": &file} {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				if *dst, err = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))); err != nil {
					return 0, 0, err
				}
			}
		}
	}
	return anon, file, nil
}
