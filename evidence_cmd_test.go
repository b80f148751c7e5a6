package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/console/evidence/evidencetest"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
)

// TestEvidenceCommand makes a person's pack from the configured store
// with `wecomply evidence pack`, and shows `wecomply evidence verify`
// passing it (exit 0, saying what it checked) and catching a changed
// byte, a removed record (not re-signed; re-signed with another key) and
// a reordered chain (exit 1, naming the file or link).
func TestEvidenceCommand(t *testing.T) {
	cfg := writeConfig(t, "127.0.0.1:0", "embedded", "")
	dir := filepath.Dir(cfg)
	st, err := embedded.Open(filepath.Join(dir, "data", "wecomply.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if _, err := st.CreateObligation(ctx, policy.Obligation{UserID: "zhangsan", NoticeID: "handbook", Version: 1,
		Status: policy.Pending, Reason: policy.ReasonPublished, CreatedAt: at, DueAt: at.AddDate(0, 0, 7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Attest(ctx, policy.Attestation{UserID: "zhangsan", NoticeID: "handbook", Version: 1, Channel: policy.ChannelCard,
		ReceivedAt: at.Add(time.Hour), DedupKey: "click-1"}); err != nil {
		t.Fatal(err)
	}
	for i, subject := range []string{"zhangsan", "lisi", "zhangsan", "lisi"} {
		if _, err := st.AppendAudit(ctx, store.AuditEntry{ID: "e" + string(rune('1'+i)), At: at.Add(time.Duration(i) * time.Minute),
			Kind: "decision", Subject: subject, Data: json.RawMessage(`{"n":` + string(rune('1'+i)) + `}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	environ := []string{"USER=examiner-helper", "WECOMPLY_EVIDENCE_SIGNING_KEY=" + base64.StdEncoding.EncodeToString(key.Seed())}
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errOut strings.Builder
		if code := run(ctx, args, &out, &errOut, environ); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	packPath := filepath.Join(dir, "zhangsan.zip")
	cli(0, "evidence", "pack", "-config", cfg, "-person", "zhangsan", "-out", packPath)
	pubPath := filepath.Join(dir, "company.pub")
	if err := os.WriteFile(pubPath, evidence.PublicKeyPEM(key.Public().(ed25519.PublicKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, 32))
	otherPath := filepath.Join(dir, "other.pub")
	if err := os.WriteFile(otherPath, []byte(base64.StdEncoding.EncodeToString(other.Public().(ed25519.PublicKey))), 0o600); err != nil {
		t.Fatal(err)
	}

	out := cli(0, "evidence", "verify", packPath, "-pubkey", pubPath)
	for _, want := range []string{": ok — evidence of person zhangsan", "by cli:examiner-helper", "signed by the key given",
		"entries 1 to 4 linked by prev_hash (2 about the subject"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if out := cli(0, "evidence", "verify", packPath); !strings.Contains(out, "NOT who made it") {
		t.Errorf("verify without -pubkey does not say what the pack's own key proves:\n%s", out)
	}
	cli(1, "evidence", "verify", "-pubkey", otherPath, packPath)

	raw, err := os.ReadFile(packPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tamper func(p *evidencetest.Pack) error
		rehash bool
		resign ed25519.PrivateKey
		want   string
	}{
		{name: "a changed byte", tamper: func(p *evidencetest.Pack) error {
			p.Files["records/attestations.csv"][5] ^= 1
			return nil
		}, want: "records/attestations.csv: changed"},
		{name: "a removed record, not re-signed", tamper: func(p *evidencetest.Pack) error {
			p.Files["records/obligations.json"] = []byte("[]\n")
			return nil
		}, rehash: true, want: "manifest.sig: the signature does not verify"},
		{name: "a removed record, re-signed with another key", tamper: func(p *evidencetest.Pack) error {
			p.Files["records/obligations.json"] = []byte("[]\n")
			return nil
		}, rehash: true, resign: other, want: "manifest.sig: not signed by the expected key"},
		{name: "a reordered chain", tamper: func(p *evidencetest.Pack) error { return p.SwapSegmentLines(1, 2) },
			rehash: true, resign: key, want: "audit/segment.jsonl: entry seq 3: follows entry 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := evidencetest.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.tamper(p); err != nil {
				t.Fatal(err)
			}
			if tt.rehash {
				if err := p.Rehash(tt.resign); err != nil {
					t.Fatal(err)
				}
			}
			b, err := p.Zip()
			if err != nil {
				t.Fatal(err)
			}
			bad := filepath.Join(t.TempDir(), "bad.zip")
			if err := os.WriteFile(bad, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if out := cli(1, "evidence", "verify", bad, "-pubkey", pubPath); !strings.Contains(out, "BAD: "+tt.want) {
				t.Errorf("verify output lacks %q:\n%s", tt.want, out)
			}
		})
	}

	// Usage mistakes exit 2.
	cli(2, "evidence")
	cli(2, "evidence", "verify")
	cli(2, "evidence", "pack", "-config", cfg, "-person", "a", "-notice", "b", "-version", "1", "-out", packPath)
}

// TestEvidenceTransferCommand: a pseudonymised export from the CLI is
// written with no raw id and listed on the transfer register.
func TestEvidenceTransferCommand(t *testing.T) {
	cfg := writeConfig(t, "127.0.0.1:0", "embedded", "")
	dir := filepath.Dir(cfg)
	st, err := embedded.Open(filepath.Join(dir, "data", "wecomply.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.PutConsent(ctx, policy.Consent{UserID: "zhangsan", ExternalUserID: "wmCustomer9", Status: policy.ConsentAgreed}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	environ := []string{"WECOMPLY_EVIDENCE_SIGNING_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)),
		"WECOMPLY_TRANSFER_PSEUDONYM_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))}
	var out, errOut strings.Builder
	exp := filepath.Join(dir, "export.json")
	if code := run(ctx, []string{"evidence", "transfer", "-config", cfg, "-destination", "HQ Frankfurt", "-purpose", "reporting",
		"-legal-basis", "standard contract", "-approver", "wangfang", "-actor", "cli:test", "-out", exp}, &out, &errOut, environ); code != 0 {
		t.Fatalf("transfer: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	b, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("zhangsan")) || bytes.Contains(b, []byte("wmCustomer9")) || !bytes.Contains(b, []byte(`"user": "u_`)) {
		t.Errorf("export:\n%s", b)
	}
	out.Reset()
	if code := run(ctx, []string{"evidence", "transfers", "-config", cfg}, &out, &errOut, environ); code != 0 ||
		!strings.Contains(out.String(), "→ HQ Frankfurt") || !strings.Contains(out.String(), "1 records") {
		t.Errorf("transfers: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// TestKeygenPrintsEvidenceKeys: keygen's evidence and transfer keys are
// accepted by the config, and the public key it prints is the signing
// key's.
func TestKeygenPrintsEvidenceKeys(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"keygen"}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var sign, pseudo, pub string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "signing_key = "); ok {
			sign = v
		}
		if v, ok := strings.CutPrefix(line, "pseudonym_key = "); ok {
			pseudo = v
		}
		if v, ok := strings.CutPrefix(line, "# public key: "); ok {
			pub = v
		}
	}
	src := fmt.Sprintf("[wecom]\ncorp_id = %q\n[[wecom.callback]]\npath = \"/cb\"\ntoken = %q\nencoding_aes_key = %q\n[evidence]\nsigning_key = %s\n[transfer]\npseudonym_key = %s\n",
		testCorpID, testToken, testKey, sign, pseudo)
	cfg, err := config.Parse("keygen.toml", []byte(src), nil)
	if err != nil {
		t.Fatalf("config rejects keygen's evidence keys: %v\n%s", err, out.String())
	}
	k, err := cfg.Evidence.Key()
	if err != nil || k == nil || base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey)) != pub {
		t.Errorf("signing key %v, %v; printed public key %q", k != nil, err, pub)
	}
	if p, err := cfg.Transfer.Key(); err != nil || len(p) != 32 {
		t.Errorf("pseudonym key: %d bytes, %v", len(p), err)
	}
}

// TestServeEvidenceKey: serve publishes the configured signing key's
// public key, as PEM, at /.well-known/wecomply-evidence.pub.
func TestServeEvidenceKey(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
	path := writeConfig(t, "127.0.0.1:0", "embedded", "")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[evidence]\nsigning_key = %q\n", base64.StdEncoding.EncodeToString(key.Seed()))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	base := startApp(t, path, logs)
	resp, err := http.Get(base + "/.well-known/wecomply-evidence.pub")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the key: %d %v", resp.StatusCode, err)
	}
	pub, err := evidence.ParsePublicKey(body)
	if err != nil || !pub.Equal(key.Public()) || !bytes.HasPrefix(body, []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Errorf("served %q: %v", body, err)
	}
	if strings.Contains(logs.String(), base64.StdEncoding.EncodeToString(key.Seed())) {
		t.Error("the logs show the signing key")
	}
}

// TestOpenEvidenceClosesTheStoreOnFailure: when openEvidence fails after
// opening the store (no session archive to read messages from; no
// signing key), the store is closed again: its file can be opened at
// once.
func TestOpenEvidenceClosesTheStoreOnFailure(t *testing.T) {
	cfg := writeConfig(t, "127.0.0.1:0", "embedded", "")
	db := filepath.Join(filepath.Dir(cfg), "data", "wecomply.db")
	signing := "WECOMPLY_EVIDENCE_SIGNING_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))
	for _, c := range []struct {
		name     string
		environ  []string
		messages bool
		want     string
	}{
		{"messages without an archive", []string{signing}, true, "session archive is not enabled"},
		{"no signing key", nil, false, "signing_key is not set"},
	} {
		m, closer, err := openEvidence(t.Context(), cfg, io.Discard, c.environ, c.messages)
		if err == nil {
			closer.Close()
			t.Fatalf("%s: openEvidence = %v, want an error", c.name, m)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: openEvidence: %v, want %q in it", c.name, err, c.want)
		}
		st, err := embedded.Open(db, embedded.Options{OpenTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s: the store is left open: %v", c.name, err)
		}
		st.Close()
	}
}
