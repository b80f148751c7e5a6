package testclock

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	at := time.Date(2026, 12, 12, 9, 59, 0, 0, time.FixedZone("CST", 8*3600))
	near := func(got, want time.Time) bool { d := got.Sub(want); return d >= 0 && d < time.Minute }
	tests := []struct {
		name  string
		clock *Clock
		move  func(*Clock)
		want  time.Time
		// exact: the clock stands still, so Now is want to the nanosecond.
		exact bool
	}{
		{"running: stands where it was put", At(at), func(*Clock) {}, at, false},
		{"running: Advance moves it forward", At(at), func(c *Clock) { c.Advance(48 * time.Hour) }, at.Add(48 * time.Hour), false},
		{"running: Advance back", At(at), func(c *Clock) { c.Advance(-time.Hour) }, at.Add(-time.Hour), false},
		{"running: Set", At(at), func(c *Clock) { c.Set(at.AddDate(0, 0, 31)) }, at.AddDate(0, 0, 31), false},
		{"frozen: stands still", Frozen(at), func(*Clock) {}, at, true},
		{"frozen: Advance", Frozen(at), func(c *Clock) { c.Advance(90 * time.Minute) }, at.Add(90 * time.Minute), true},
		{"frozen: Set", Frozen(at), func(c *Clock) { c.Set(at.AddDate(1, 0, 0)) }, at.AddDate(1, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.move(tt.clock)
			got := tt.clock.Now()
			if tt.exact && !got.Equal(tt.want) || !tt.exact && !near(got, tt.want) {
				t.Errorf("Now = %v, want %v", got, tt.want)
			}
		})
	}

	// A running clock moves with real time; a frozen one does not.
	running, frozen := At(at), Frozen(at)
	r0, f0 := running.Now(), frozen.Now()
	time.Sleep(5 * time.Millisecond)
	if d := running.Now().Sub(r0); d < 5*time.Millisecond {
		t.Errorf("a running clock moved %v in 5ms of real time", d)
	}
	if !frozen.Now().Equal(f0) {
		t.Error("a frozen clock moved")
	}
}

func TestOffsetTo(t *testing.T) {
	now := time.Date(2026, 12, 5, 4, 37, 0, 0, time.UTC)
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"2026-12-12T09:59:00+08:00", 7*24*time.Hour - 2*time.Hour - 38*time.Minute, false},
		{"2026-12-05T04:37:00Z", 0, false},
		{"2026-12-05T04:36:00Z", -time.Minute, false},
		{"2026-12-12 09:59", 0, true},
		{"tomorrow", 0, true},
	}
	for _, tt := range tests {
		got, err := offsetTo(tt.value, now)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("offsetTo(%q) = %v, %v; want %v (error %t)", tt.value, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), EnvVar) {
			t.Errorf("offsetTo(%q): error %q does not name %s", tt.value, err, EnvVar)
		}
	}
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// TestOnlyTestsImportIt: no package's non-test code imports testclock,
// so the binary never links it (or testing through it).
func TestOnlyTestsImportIt(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "github.com/wecomply/wecomply/internal/testclock"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && slices.Contains(fields[1:], self) {
			t.Errorf("%s imports %s outside its tests", fields[0], self)
		}
	}
}
