package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestArchiveCommands drives `wecomply archive …` on the stores a server
// left: a record of a key version the config lacks is quarantined, and
// retry-quarantine stores it once the key is configured; status tells;
// export writes what was asked with a manifest; rotate-key rewraps the
// data keys so that the new master key alone opens everything.
func TestArchiveCommands(t *testing.T) {
	clk := testclock.New(t)
	fake := policyCompanyAt(t, clk)
	arch := newArchiveFixture(t, clk)
	cfgPath := writePolicyConfig(t, fake.URL, t.TempDir(), 1)
	appendConfig(t, cfgPath, arch.section)

	arch.add(t, clk, "m1", "zhangsan", "wangwu", "第一条 first")
	// The console gets a second key; the config does not have it yet.
	key2, err := wecomtest.GenerateArchiveKey()
	if err != nil {
		t.Fatal(err)
	}
	ver2 := arch.srv.UploadPublicKey(&key2.PublicKey)
	arch.add(t, clk, "m2", "wangwu", "zhangsan", "第二条 second")
	arch.add(t, clk, "m3", "zhangsan", "wangwu", "第三条 third")

	ctx, cancel := context.WithCancel(context.Background())
	_, base, done := launchAppWith(t, ctx, cfgPath, &bytes.Buffer{}, appOptions{Now: clk.Now, ArchiveSource: arch.source()})
	s := waitArchivedOrQuarantined(t, base, 1, 2)
	if s.Cursor != 3 {
		t.Errorf("cursor = %d, want 3 (quarantined records do not hold it back)", s.Cursor)
	}
	cancel()
	<-done

	run := func(env []string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := archiveCmd(context.Background(), args, &out, &errb,
			env, wecomtest.NewArchiveSource(arch.srv, archiveSecret, map[uint32]*rsa.PrivateKey{arch.ver: arch.key, ver2: key2}))
		return out.String() + errb.String(), err
	}

	out, err := run(nil, "status", "-config", cfgPath)
	if err != nil || !regexp.MustCompile(`quarantined +2\n`).MatchString(out) || !regexp.MustCompile(`messages +1 `).MatchString(out) {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// The second key goes into the config; retry-quarantine stores both.
	pem2 := filepath.Join(arch.dir, "archive_v2.pem")
	if err := wecomtest.WriteArchiveKeyPEM(pem2, key2, false); err != nil {
		t.Fatal(err)
	}
	appendConfig(t, cfgPath, fmt.Sprintf("[[archive.private_key]]\nversion = %d\nfile = %q\n", ver2, pem2))
	out, err = run(nil, "retry-quarantine", "-config", cfgPath)
	if err != nil || !strings.Contains(out, "2 decrypted and stored, 0 still waiting") {
		t.Fatalf("retry-quarantine: %v\n%s", err, out)
	}
	out, err = run(nil, "status", "-config", cfgPath, "-json")
	var st archive.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Messages != 3 || st.Quarantined != 0 {
		t.Fatalf("status -json after the retry: %v %+v\n%s", err, st, out)
	}

	exportDir := filepath.Join(t.TempDir(), "export")
	out, err = run([]string{"USER=auditor"}, "export", "-config", cfgPath, "-out", exportDir, "-user", "wangwu", "-q", "second")
	if err != nil || !strings.Contains(out, "exported 1 message(s)") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	var m archive.Manifest
	raw, err := os.ReadFile(filepath.Join(exportDir, "manifest.json"))
	if err != nil || json.Unmarshal(raw, &m) != nil || m.Count != 1 || m.Actor != "auditor" {
		t.Fatalf("manifest: %v %s", err, raw)
	}

	// Rotation: the new key comes from the environment, never a flag.
	if _, err := run(nil, "rotate-key", "-config", cfgPath, "-new-key-id", "k2"); err == nil || !strings.Contains(err.Error(), EnvArchiveNewMasterKey) {
		t.Fatalf("rotate-key without %s: %v", EnvArchiveNewMasterKey, err)
	}
	newKey := randomKey()
	out, err = run([]string{EnvArchiveNewMasterKey + "=" + newKey}, "rotate-key", "-config", cfgPath, "-new-key-id", "k2")
	if err != nil || !strings.Contains(out, `under master key "k2"`) {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	if strings.Contains(out, newKey) {
		t.Errorf("rotate-key printed the key")
	}
	// Only the new master key now: everything still opens.
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	i := strings.Index(cfg, "master_key = ")
	j := strings.Index(cfg[i:], "\n")
	cfg = cfg[:i] + fmt.Sprintf("master_key_id = \"k2\"\nmaster_key = %q", newKey) + cfg[i+j:]
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	exportDir2 := filepath.Join(t.TempDir(), "export2")
	if out, err := run(nil, "export", "-config", cfgPath, "-out", exportDir2); err != nil || !strings.Contains(out, "exported 3 message(s)") {
		t.Fatalf("export under the new master key alone: %v\n%s", err, out)
	}
	lines, err := os.ReadFile(filepath.Join(exportDir2, archive.ExportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "second", "third"} {
		if !bytes.Contains(lines, []byte(want)) {
			t.Errorf("export under the new key lacks %q: %s", want, lines)
		}
	}

	for _, bad := range [][]string{{"status"}, {"frobnicate", "-config", cfgPath}, {"export", "-config", cfgPath}, {"export", "-config", cfgPath, "-out", "x", "-from", "monday"}} {
		if _, err := run(nil, bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("archive %v: %v, want a usage error", bad, err)
		}
	}
}

// waitArchivedOrQuarantined waits until the archive holds messages and
// quarantined records.
func waitArchivedOrQuarantined(t *testing.T, base string, messages, quarantined int64) archive.Status {
	t.Helper()
	var s archive.Status
	defer logLastStatus(t, &s)
	eventually(t, fmt.Sprintf("the archive holds %d messages and %d quarantined", messages, quarantined), func() bool {
		s = archiveStatus(t, base)
		return s.Messages == messages && s.Quarantined == quarantined
	})
	return s
}
