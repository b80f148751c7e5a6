package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	archiveembedded "github.com/wecomply/wecomply/archive/embedded"
)

func TestPseudonymisedExport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := TransferRequest{Destination: "Head office compliance, Frankfurt (DE)", Purpose: "group compliance reporting",
		LegalBasis: "PIPL Art. 38(1)(3) standard contract", Approver: "wangfang", Actor: "officer:wangfang"}
	var first bytes.Buffer
	t1, err := f.m.PseudonymisedExport(ctx, req, &first)
	if err != nil {
		t.Fatal(err)
	}
	// No raw id, name or free text anywhere in the bytes.
	for _, raw := range []string{"zhangsan", "lisi", "wmCustomer001", "wmCustomer002", "员工手册", "示例公司", "click-1", "wangfang", "Frankfurt"} {
		if strings.Contains(first.String(), raw) {
			t.Errorf("the export contains %q", raw)
		}
	}
	var x transferExport
	if err := json.Unmarshal(first.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.Obligations) != 2 || len(x.Attestations) != 1 || len(x.Consents) != 2 {
		t.Fatalf("exported %d obligations, %d attestations, %d consents; want 2, 1, 2", len(x.Obligations), len(x.Attestations), len(x.Consents))
	}
	zs := f.m.Pseudonym(PseudonymUser, "zhangsan")
	// Consents are in (user, customer) order: lisi's, then zhangsan's.
	if x.Attestations[0].User != zs || x.Consents[1].User != zs || x.Consents[1].Customer != f.m.Pseudonym(PseudonymCustomer, "wmCustomer001") {
		t.Errorf("attestation by %q, consent %q/%q; want zhangsan's pseudonym %q", x.Attestations[0].User, x.Consents[1].User, x.Consents[1].Customer, zs)
	}
	if !strings.HasPrefix(zs, "u_") || len(zs) != 18 || zs == f.m.Pseudonym(PseudonymUser, "lisi") ||
		f.m.Pseudonym(PseudonymCustomer, "zhangsan") == zs {
		t.Errorf("pseudonym %q: want u_ and 16 characters, distinct per id and per kind", zs)
	}

	// Stable for the key: a second export names the same people alike;
	// another key names them otherwise.
	f.clock.Advance(time.Hour)
	var second bytes.Buffer
	t2, err := f.m.PseudonymisedExport(ctx, req, &second)
	if err != nil {
		t.Fatal(err)
	}
	var y transferExport
	if err := json.Unmarshal(second.Bytes(), &y); err != nil {
		t.Fatal(err)
	}
	if y.Attestations[0].User != zs {
		t.Errorf("second export: %q, first %q", y.Attestations[0].User, zs)
	}
	other := f.with(t, func(c *Config) { c.PseudonymKey = bytes.Repeat([]byte{10}, 32) })
	if other.Pseudonym(PseudonymUser, "zhangsan") == zs {
		t.Error("another key gives the same pseudonym")
	}

	// The register: both transfers, newest first, with what they were.
	reg, err := f.m.ListTransfers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg) != 2 || reg[0] != t2 || reg[1] != t1 {
		t.Fatalf("register %+v, want the two transfers newest first, as returned: %+v, %+v", reg, t2, t1)
	}
	sum := sha256.Sum256(first.Bytes())
	got := reg[1]
	if got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != first.Len() || got.Records != 5 || got.Destination != req.Destination ||
		got.Purpose != req.Purpose || got.LegalBasis != req.LegalBasis || got.Approver != req.Approver || !got.At.Equal(t1.At) || got.Seq == 0 {
		t.Errorf("register entry %+v", got)
	}
	if r, err := f.st.VerifyAudit(ctx); err != nil || !r.OK {
		t.Errorf("audit chain after transfers: %+v, %v", r, err)
	}
}

func TestPseudonymisedExportRefuses(t *testing.T) {
	f := newFixture(t)
	ok := TransferRequest{Destination: "d", Purpose: "p", LegalBasis: "l", Approver: "a", Actor: "x"}
	tests := []struct {
		name string
		edit func(*TransferRequest)
		want string
	}{
		{"no destination", func(r *TransferRequest) { r.Destination = " " }, "destination is required"},
		{"no legal basis", func(r *TransferRequest) { r.LegalBasis = "" }, "legal_basis is required"},
		{"no approver", func(r *TransferRequest) { r.Approver = "" }, "approver is required"},
		{"a version without a notice", func(r *TransferRequest) { r.Version = 2 }, "version must be"},
		{"a message window half set", func(r *TransferRequest) { r.MessagesFrom = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) },
			"messages_from and messages_to must both be set"},
		{"a purpose too long", func(r *TransferRequest) { r.Purpose = strings.Repeat("目", 501) }, "purpose is longer than 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.edit(&req)
			var b bytes.Buffer
			_, err := f.m.PseudonymisedExport(context.Background(), req, &b)
			if err == nil || !strings.Contains(err.Error(), tt.want) || b.Len() != 0 {
				t.Fatalf("err = %v, %d bytes written; want %q and nothing written", err, b.Len(), tt.want)
			}
		})
	}
	// Without a pseudonym key: ErrNoPseudonymKey, nothing written.
	keyless := f.with(t, func(c *Config) { c.PseudonymKey = nil })
	var b bytes.Buffer
	if _, err := keyless.PseudonymisedExport(context.Background(), ok, &b); !errors.Is(err, ErrNoPseudonymKey) || b.Len() != 0 {
		t.Errorf("without a pseudonym key: %v, %d bytes written; want ErrNoPseudonymKey and nothing", err, b.Len())
	}
	reg, err := f.m.ListTransfers(context.Background())
	if err != nil || len(reg) != 0 {
		t.Errorf("refused requests are on the register: %v, %v", reg, err)
	}
}

// TestPseudonymisedExportMessages: the archive's message metadata is
// exported with every party and chat pseudonymised, never a msgid.
func TestPseudonymisedExportMessages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ast, err := archiveembedded.Open(filepath.Join(t.TempDir(), "archive.db"), archiveembedded.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ast.Close() })
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	if _, err := ast.Commit(ctx, archive.Batch{From: 0, To: 3, Messages: []archive.Message{
		{MsgID: "msgid-secret-1", Seq: 1, Action: "send", Type: "text", From: "zhangsan", ToList: []string{"lisi", "wmCustomer001"},
			RoomID: "wrRoom123", Conversation: "room:wrRoom123", External: true, Time: at, StoredAt: at},
		{MsgID: "msgid-secret-2", Seq: 2, Action: "send", Type: "image", From: "wmCustomer001", ToList: []string{"zhangsan"},
			Conversation: "single:wmCustomer001|zhangsan", External: true, Withheld: archive.WithheldNoConsent, Time: at.Add(time.Minute), StoredAt: at},
		{MsgID: "msgid-secret-3", Seq: 3, Action: "send", Type: "text", From: "zhangsan", ToList: []string{"lisi"},
			Conversation: "single:lisi|zhangsan", Time: at.Add(48 * time.Hour), StoredAt: at}, // outside the window
	}}); err != nil {
		t.Fatal(err)
	}
	m := f.with(t, func(c *Config) { c.Messages = ast })
	req := TransferRequest{Destination: "HQ", Purpose: "p", LegalBasis: "l", Approver: "a", Actor: "x",
		MessagesFrom: at.Add(-time.Hour), MessagesTo: at.Add(time.Hour)}
	var b bytes.Buffer
	tr, err := m.PseudonymisedExport(ctx, req, &b)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"zhangsan", "lisi", "wmCustomer001", "wrRoom123", "msgid-secret"} {
		if strings.Contains(b.String(), raw) {
			t.Errorf("the export contains %q", raw)
		}
	}
	var x transferExport
	if err := json.Unmarshal(b.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	zs, cust, room := m.Pseudonym(PseudonymUser, "zhangsan"), m.Pseudonym(PseudonymCustomer, "wmCustomer001"), m.Pseudonym(PseudonymRoom, "wrRoom123")
	if len(x.Messages) != 2 || tr.Messages != 2 || tr.Records != 7 {
		t.Fatalf("%d messages exported, register says %d of %d records; want 2 of 7", len(x.Messages), tr.Messages, tr.Records)
	}
	if g := x.Messages[0]; g.From != zs || g.Room != room || g.Conversation != "room:"+room || len(g.To) != 2 || g.To[1] != cust {
		t.Errorf("room message %+v; want from %s in %s to a customer %s", g, zs, room, cust)
	}
	if g := x.Messages[1]; g.From != cust || g.Conversation != "single:"+cust+"|"+zs || g.Withheld != archive.WithheldNoConsent {
		t.Errorf("single chat message %+v", g)
	}

	// Without the archive configured, a window is refused, naming it.
	if _, err := f.m.PseudonymisedExport(ctx, req, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "messages_from") {
		t.Errorf("a message window without the archive: %v", err)
	}
}

// TestTransferAuditData: the register's audit entry keeps its JSON,
// byte for byte (entries already in the log are read back by it).
func TestTransferAuditData(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, shanghai)
	req := TransferRequest{Destination: "HQ", Purpose: "p", LegalBasis: "l", Approver: "a", Actor: "x", NoticeID: "handbook", Version: 2,
		MessagesFrom: at, MessagesTo: at.Add(time.Hour)}
	m := f.with(t, func(c *Config) {
		c.Messages = archiveSearchFunc(func(context.Context, archive.Query) ([]archive.Message, string, error) { return nil, "", nil })
	})
	tr, err := m.PseudonymisedExport(ctx, req, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := f.st.ListAudit(ctx, tr.Seq-1, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit: %v, %v", entries, err)
	}
	want := `{"id":"` + tr.ID + `","seq":0,"at":"2026-12-05T02:00:00Z","destination":"HQ","purpose":"p","legal_basis":"l","approver":"a","actor":"x",` +
		`"notice_id":"handbook","version":2,"messages_from":"2026-12-01T19:00:00Z","messages_to":"2026-12-01T20:00:00Z",` +
		`"records":5,"obligations":2,"attestations":1,"consents":2,"messages":0,"sha256":"` + tr.SHA256 + `","size":` + fmt.Sprint(tr.Size) + `}`
	if got := string(entries[0].Data); got != want {
		t.Errorf("audit data\n%s\nwant\n%s", got, want)
	}
}

// archiveSearchFunc is a Messages of one function.
type archiveSearchFunc func(context.Context, archive.Query) ([]archive.Message, string, error)

func (f archiveSearchFunc) Search(ctx context.Context, q archive.Query) ([]archive.Message, string, error) {
	return f(ctx, q)
}

// TestTransferNotOnRecordNeverLeaves: when the register's audit entry
// cannot be written, the export fails and not a byte is written.
func TestTransferNotOnRecordNeverLeaves(t *testing.T) {
	f := newFixture(t)
	m := f.with(t, func(c *Config) { c.Store = failingAudit{f.st} })
	req := TransferRequest{Destination: "HQ", Purpose: "p", LegalBasis: "l", Approver: "a", Actor: "x"}
	var b bytes.Buffer
	if _, err := m.PseudonymisedExport(context.Background(), req, &b); err == nil || !strings.Contains(err.Error(), "audit log unavailable") || b.Len() != 0 {
		t.Fatalf("PseudonymisedExport = %v, %d bytes written; want the audit failure and nothing written", err, b.Len())
	}
	if reg, err := f.m.ListTransfers(context.Background()); err != nil || len(reg) != 0 {
		t.Errorf("register after the failure: %v, %v; want empty", reg, err)
	}
}
