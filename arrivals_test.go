package main

import (
	"testing"
	"time"
)

// TestArrivals: callbacks arrive fast while 100 came in the window under
// way or the one before (1,000 a second), and no longer a window after
// they slow down; the store batches for as long as that lasts. The
// workers yield to the same bursts, but for arrivalMaxYield at most,
// then work through the rest of one; a new burst, after a window below
// arrivalBurst, yields again.
func TestArrivals(t *testing.T) {
	var now int64
	win := arrivalWindow.Nanoseconds()
	maxWindows := arrivalMaxYield.Nanoseconds() / win
	at := func(window int64, offset time.Duration) { now = window*win + offset.Nanoseconds() }
	marks := func(a *arrivals, n int) {
		for range n {
			a.mark()
		}
	}
	// burst marks n callbacks in each of windows windows from from.
	burst := func(a *arrivals, from, windows int64, n int) {
		for w := from; w < from+windows; w++ {
			at(w, 0)
			marks(a, n)
		}
	}
	tests := []struct {
		name        string
		run         func(a *arrivals)
		fast, yield bool
	}{
		{"none", func(a *arrivals) { at(3, 0) }, false, false},
		{"99 in the window", func(a *arrivals) { at(3, 0); marks(a, 99) }, false, false},
		{"100 in the window", func(a *arrivals) { at(3, 0); marks(a, 100) }, true, true},
		{"100 in the last window, none since", func(a *arrivals) { at(3, 0); marks(a, 100); at(4, 50*time.Millisecond) }, true, true},
		{"100 in the last window, one since", func(a *arrivals) { at(3, 0); marks(a, 100); at(4, 0); marks(a, 1) }, true, true},
		{"100 two windows ago, none since", func(a *arrivals) { at(3, 0); marks(a, 100); at(5, 0) }, false, false},
		{"100 two windows ago, a few since", func(a *arrivals) {
			at(3, 0)
			marks(a, 100)
			at(4, 0)
			marks(a, 5)
			at(5, 0)
			marks(a, 5)
		}, false, false},
		{"5 a window (a steady 50 a second)", func(a *arrivals) { burst(a, 1, 20, 5) }, false, false},
		{"300 spread over the window", func(a *arrivals) {
			for i := range 300 {
				at(7, time.Duration(i)*arrivalWindow/300)
				a.mark()
			}
		}, true, true},
		{"a burst of 10 s", func(a *arrivals) { burst(a, 1, 100, arrivalBurst) }, true, true},
		{"a burst just short of the bound", func(a *arrivals) { burst(a, 1, maxWindows, arrivalBurst) }, true, true},
		{"a burst at the bound", func(a *arrivals) { burst(a, 1, maxWindows+1, arrivalBurst) }, true, false},
		{"a burst past the bound, in the next window before a callback", func(a *arrivals) {
			burst(a, 1, maxWindows+5, arrivalBurst)
			now += win / 2
		}, true, false},
		{"a long burst, one slow window, a new burst", func(a *arrivals) {
			burst(a, 1, maxWindows+5, arrivalBurst)
			burst(a, maxWindows+6, 1, arrivalBurst-1)
			burst(a, maxWindows+7, 3, arrivalBurst)
		}, true, true},
		{"a long burst, then a gap", func(a *arrivals) {
			burst(a, 1, maxWindows+5, arrivalBurst)
			now += 3 * win
		}, false, false},
		{"a long burst, a gap of windows, a new burst", func(a *arrivals) {
			burst(a, 1, maxWindows+5, arrivalBurst)
			burst(a, maxWindows+9, 2, arrivalBurst)
		}, true, true},
		{"a steady stream below the burst", func(a *arrivals) { burst(a, 1, 2*maxWindows, arrivalBurst-1) }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = 0
			a := &arrivals{now: func() int64 { return now }}
			tt.run(a)
			if got := a.fast(); got != tt.fast {
				t.Errorf("fast() = %v, want %v", got, tt.fast)
			}
			if got := a.yield(); got != tt.yield {
				t.Errorf("yield() = %v, want %v", got, tt.yield)
			}
		})
	}
}
