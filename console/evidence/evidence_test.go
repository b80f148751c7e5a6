package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/console/evidence/evidencetest"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	"github.com/wecomply/wecomply/templates"
)

var shanghai = time.FixedZone("CST", 8*3600)

// fixture is a store with one notice version owed by two people, one of
// whom (zhangsan) acknowledged it, a customer's consent for each, and
// audit entries about each.
type fixture struct {
	st    store.Store
	m     *Maker
	clock *testclock.Clock
	key   ed25519.PrivateKey
	// ackHash is the content hash of the card zhangsan acknowledged.
	ackHash string
	// seqs of the audit entries: about lisi, zhangsan, lisi, the notice.
	seqs []uint64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.Frozen(time.Date(2026, 12, 5, 10, 0, 0, 0, shanghai))
	st, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{Now: clock.Now, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := policy.Notice{ID: "handbook", Version: 2, Title: "员工手册", Template: "ack_card", Languages: []string{"zh-CN", "en"},
		Summary: "请阅读 2026 年版员工手册", URL: "https://example.com/handbook/v2"}
	due := time.Date(2026, 12, 12, 0, 0, 0, 0, shanghai)
	// The configured disclosure, which the notifier adds to every card.
	disc := &templates.Disclosure{Controller: "示例公司", Contact: "privacy@example.com", Purpose: "合规存档",
		Retention: "三年", RightsURL: "https://example.com/rights"}
	// The card as the processor renders it for zhangsan (zh-CN, due day in Shanghai).
	card, err := tmpl.Render("ack_card", "zh-CN", map[string]any{"Company": "示例公司", "Title": n.Title, "Version": n.Version,
		"Summary": n.Summary, "URL": n.URL, "Due": "2026-12-12", "Disclosure": disc})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, clock: clock, ackHash: card.Hash()}
	created := time.Date(2026, 12, 1, 9, 0, 0, 0, shanghai)
	for _, u := range []string{"lisi", "zhangsan"} {
		if _, err := st.CreateObligation(ctx, policy.Obligation{UserID: u, NoticeID: "handbook", Version: 2, Status: policy.Pending,
			Reason: policy.ReasonPublished, CreatedAt: created, DueAt: due}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutSendResults(ctx, []store.RecipientResult{
		{NoticeKey: "handbook:v2", UserID: "lisi", UnitID: "u1", ContentHash: f.ackHash, Status: store.StatusSent, MsgID: "m1", ResponseCode: "secret-rc-1", At: created},
		{NoticeKey: "handbook:v2", UserID: "zhangsan", UnitID: "u1", ContentHash: f.ackHash, Status: store.StatusSent, MsgID: "m1", ResponseCode: "secret-rc-2", At: created},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Attest(ctx, policy.Attestation{UserID: "zhangsan", NoticeID: "handbook", Version: 2, ContentHash: f.ackHash,
		Channel: policy.ChannelCard, CreateTime: created.Add(time.Hour).Unix(), ReceivedAt: created.Add(time.Hour), DedupKey: "click-1"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []policy.Consent{
		{UserID: "zhangsan", ExternalUserID: "wmCustomer001", Status: policy.ConsentAgreed, Source: "msg_audit_approved", ChangedAt: created},
		// lisi's customer: in no pack of zhangsan's.
		{UserID: "lisi", ExternalUserID: "wmCustomer002", Status: policy.ConsentDisagreed, Source: "msg_audit_approved", ChangedAt: created},
	} {
		if err := st.PutConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range []store.AuditEntry{
		{Kind: "decision", Subject: "lisi", Data: json.RawMessage(`{"Action":"CreateObligation","Detail":{"UserID":"lisi","Note":"lisi-private-detail"}}`)},
		{Kind: "attestation", Subject: "zhangsan", Data: json.RawMessage(`{"Action":"Acknowledge","Detail":{"Attestation":{"UserID":"zhangsan","Note":"<b>&"}}}`)},
		{Kind: "decision", Subject: "lisi", Data: json.RawMessage(`{"Action":"CloseObligation","Detail":{"UserID":"lisi","Note":"lisi-private-detail"}}`)},
		{Kind: "delivery", Subject: "handbook:v2", Data: json.RawMessage(`{"Action":"SendCard","Detail":{"Notice":{"ID":"handbook","Version":2}}}`)},
	} {
		e.ID = "e" + string(rune('1'+i))
		e.At = created.Add(time.Duration(i) * time.Minute).UTC()
		got, err := st.AppendAudit(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		f.seqs = append(f.seqs, got.Seq)
	}
	f.key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	f.m, err = New(Config{Store: st, Templates: tmpl, Notices: []policy.Notice{n}, Company: "示例公司", Location: shanghai,
		SigningKey: f.key, PseudonymKey: bytes.Repeat([]byte{9}, 32), Now: clock.Now, CardData: map[string]any{"Disclosure": disc}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// with is a Maker over the fixture's config as edit changes it.
func (f *fixture) with(t testing.TB, edit func(*Config)) *Maker {
	t.Helper()
	cfg := f.m.cfg
	edit(&cfg)
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) personPack(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.m.PersonPack(context.Background(), "officer:wangfang", "zhangsan", &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// open unzips a pack.
func open(t testing.TB, pack []byte) *evidencetest.Pack {
	t.Helper()
	p, err := evidencetest.Open(pack)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// segLines splits the pack's audit segment into lines.
func segLines(p *evidencetest.Pack) [][]byte {
	return bytes.Split(bytes.TrimSuffix(p.Files[SegmentName], []byte("\n")), []byte("\n"))
}

func setSegLines(p *evidencetest.Pack, lines [][]byte) {
	p.Files[SegmentName] = append(bytes.Join(lines, []byte("\n")), '\n')
}

func TestPersonPack(t *testing.T) {
	f := newFixture(t)
	pack := f.personPack(t)
	rep, err := VerifyReport(bytes.NewReader(pack), int64(len(pack)), f.m.PublicKey())
	if err != nil {
		t.Fatalf("a fresh pack does not verify: %v", err)
	}
	files := open(t, pack).Files
	for _, name := range []string{"records/obligations.json", "records/obligations.csv", "records/attestations.json",
		"records/attestations.csv", "records/consents.json", "records/consents.csv", "records/deliveries.json",
		"records/deliveries.csv", "texts/" + f.ackHash + ".json", SegmentName, ManifestName, SignatureName, readmeName} {
		if _, ok := files[name]; !ok {
			t.Errorf("the pack has no %s", name)
		}
	}
	if rep.OwnKey || rep.Texts != 1 || rep.Recomputed != 1 || rep.Segment != 3 {
		t.Errorf("report = own key %v, %d texts, %d recomputed, %d linked; want false, 1, 1, 3", rep.OwnKey, rep.Texts, rep.Recomputed, rep.Segment)
	}
	man := rep.Manifest
	if man.Subject != (Subject{Kind: "person", UserID: "zhangsan"}) || man.MadeBy != "officer:wangfang" || len(man.TextsMissing) != 0 {
		t.Errorf("manifest subject %+v, made by %q, texts missing %v", man.Subject, man.MadeBy, man.TextsMissing)
	}
	if want := (AuditRange{FirstSeq: f.seqs[1], HeadSeq: f.seqs[3], SubjectSeqs: []uint64{f.seqs[1]}}); man.Audit.FirstSeq != want.FirstSeq ||
		man.Audit.HeadSeq != want.HeadSeq || len(man.Audit.SubjectSeqs) != 1 || man.Audit.SubjectSeqs[0] != f.seqs[1] {
		t.Errorf("audit range %+v, want from %d to %d with %v", man.Audit, want.FirstSeq, want.HeadSeq, want.SubjectSeqs)
	}
	// Nothing of lisi's beyond the hashes of her entries; no card credential.
	for name, b := range files {
		for _, leak := range []string{"lisi", "secret-rc", "wmCustomer002"} {
			if bytes.Contains(b, []byte(leak)) {
				t.Errorf("%s contains %q", name, leak)
			}
		}
	}
	if !bytes.HasPrefix(files["records/obligations.csv"], []byte("\uFEFFuser_id,")) ||
		!bytes.Contains(files["records/obligations.csv"], []byte("2026-12-12T00:00:00+08:00")) {
		t.Errorf("obligations.csv lacks the BOM or the local due time:\n%s", files["records/obligations.csv"])
	}
	// The pack is in the audit log: who, of whom, the manifest's hash.
	entries, err := f.st.ListAudit(context.Background(), f.seqs[3], 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit after the pack: %v, %v", entries, err)
	}
	sum := sha256.Sum256(files[ManifestName])
	var pa packAudit
	if err := json.Unmarshal(entries[0].Data, &pa); err != nil {
		t.Fatal(err)
	}
	if e := entries[0]; e.Kind != KindPack || e.Subject != "zhangsan" || pa.Actor != "officer:wangfang" || pa.ManifestSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("pack audit entry %+v, data %+v", e, pa)
	}
}

func TestNoticePack(t *testing.T) {
	f := newFixture(t)
	var b bytes.Buffer
	if err := f.m.NoticePack(context.Background(), "officer:wangfang", "handbook", 2, &b); err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyReport(bytes.NewReader(b.Bytes()), int64(b.Len()), f.m.PublicKey())
	if err != nil {
		t.Fatalf("a fresh pack does not verify: %v", err)
	}
	files := open(t, b.Bytes()).Files
	if _, ok := files["records/consents.json"]; ok {
		t.Error("a notice pack holds consents")
	}
	var obls []policy.Obligation
	if err := json.Unmarshal(files["records/obligations.json"], &obls); err != nil || len(obls) != 2 {
		t.Errorf("obligations.json: %d records, %v; want both people's", len(obls), err)
	}
	if got := rep.Manifest.Audit.SubjectSeqs; len(got) != 1 || got[0] != f.seqs[3] {
		t.Errorf("subject entries %v, want the SendCard entry %d", got, f.seqs[3])
	}
	if rep.Texts != 1 || rep.Records != 3 {
		t.Errorf("%d texts, %d records checked; want 1, 3", rep.Texts, rep.Records)
	}
}

func TestVerifyCatches(t *testing.T) {
	f := newFixture(t)
	pack := f.personPack(t)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	dropAttestation := func(p *evidencetest.Pack) { p.Files["records/attestations.json"] = []byte("[]\n") }
	reorder := func(p *evidencetest.Pack) {
		if err := p.SwapSegmentLines(1, 2); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		tamper func(p *evidencetest.Pack)
		rehash bool               // the manifest's hashes are updated to the tampered files
		resign ed25519.PrivateKey // … and it is signed again with this key (nil: not signed again)
		want   string
	}{
		{name: "a changed byte in a record file",
			tamper: func(p *evidencetest.Pack) {
				b := p.Files["records/obligations.csv"]
				b[bytes.Index(b, []byte("acknowledged"))] = 'A'
			},
			want: "records/obligations.csv: changed"},
		{name: "a removed record, manifest re-hashed but not re-signed",
			tamper: dropAttestation, rehash: true,
			want: "manifest.sig: the signature does not verify"},
		{name: "a removed record, re-signed with another key",
			tamper: dropAttestation, rehash: true, resign: other,
			want: "manifest.sig: not signed by the expected key"},
		{name: "a reordered chain segment, as it is",
			tamper: reorder,
			want:   "audit/segment.jsonl: changed"},
		{name: "a reordered chain segment, re-signed with the right key",
			tamper: reorder, rehash: true, resign: f.key,
			want: "audit/segment.jsonl: entry seq"},
		{name: "an edited subject entry, re-signed with the right key",
			tamper: func(p *evidencetest.Pack) {
				p.Files[SegmentName] = bytes.Replace(p.Files[SegmentName], []byte(`"attestation"`), []byte(`"decision"`), 1)
			},
			rehash: true, resign: f.key,
			want: "it was edited"},
		{name: "a subject entry cut down to its hashes, re-signed with the right key",
			tamper: func(p *evidencetest.Pack) {
				l := segLines(p)
				var s segmentLine
				if err := json.Unmarshal(l[0], &s); err != nil {
					t.Fatal(err)
				}
				l[0], _ = json.Marshal(segmentLine{Seq: s.Seq, PrevHash: s.PrevHash, Hash: s.Hash})
				setSegLines(p, l)
			},
			rehash: true, resign: f.key,
			want: "the manifest says it is about the subject, but the segment holds only its hashes"},
		{name: "the head cut off, re-signed with the right key",
			tamper: func(p *evidencetest.Pack) {
				l := segLines(p)
				setSegLines(p, l[:len(l)-1])
			},
			rehash: true, resign: f.key,
			want: "the manifest's head is entry"},
		{name: "a changed text, re-signed with the right key",
			tamper: func(p *evidencetest.Pack) {
				name := "texts/" + f.ackHash + ".json"
				p.Files[name] = bytes.Replace(p.Files[name], []byte("员工手册"), []byte("员工守则"), 1)
			},
			rehash: true, resign: f.key,
			want: "texts/" + f.ackHash + ".json: the text's hash is"},
		{name: "a file added that the manifest does not list",
			tamper: func(p *evidencetest.Pack) { p.Set("records/extra.csv", []byte("x")) },
			want:   "records/extra.csv: not in the manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := open(t, pack)
			tt.tamper(p)
			if tt.rehash {
				if err := p.Rehash(tt.resign); err != nil {
					t.Fatal(err)
				}
			}
			bad, err := p.Zip()
			if err != nil {
				t.Fatal(err)
			}
			err = Verify(bytes.NewReader(bad), int64(len(bad)), f.m.PublicKey())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestVerifyOwnKey shows what a pack's own key proves: a pack re-signed
// by anyone with their key put in the manifest verifies without -pubkey
// (integrity only), and fails against the company's key.
func TestVerifyOwnKey(t *testing.T) {
	f := newFixture(t)
	p := open(t, f.personPack(t))
	p.Files["records/attestations.json"] = []byte("[]\n")
	if err := p.Rehash(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))); err != nil {
		t.Fatal(err)
	}
	forged, err := p.Zip()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyReport(bytes.NewReader(forged), int64(len(forged)), nil)
	if err != nil || !rep.OwnKey {
		t.Fatalf("without a key: own key %v, %v; want it to pass on the pack's own key", rep.OwnKey, err)
	}
	if err := Verify(bytes.NewReader(forged), int64(len(forged)), f.m.PublicKey()); err == nil {
		t.Fatal("the forged pack verifies against the company's key")
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	f := newFixture(t)
	pub := f.m.PublicKey()
	for _, in := range [][]byte{PublicKeyPEM(pub), []byte(base64.StdEncoding.EncodeToString(pub) + "\n")} {
		got, err := ParsePublicKey(in)
		if err != nil || !got.Equal(pub) {
			t.Errorf("ParsePublicKey(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "bm90IGEga2V5", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := ParsePublicKey([]byte(in)); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", in)
		}
	}
}

// TestPackTextMissing: a text that cannot be rendered again (its notice
// version is no longer configured) is listed as missing, and a pack that
// hides that is caught.
func TestPackTextMissing(t *testing.T) {
	f := newFixture(t)
	const lost = "0000000000000000000000000000000000000000000000000000000000000001"
	if _, err := f.st.Attest(context.Background(), policy.Attestation{UserID: "zhangsan", NoticeID: "handbook", Version: 1,
		ContentHash: lost, Channel: policy.ChannelCard, ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), DedupKey: "old"}); err != nil {
		t.Fatal(err)
	}
	pack := f.personPack(t)
	rep, err := VerifyReport(bytes.NewReader(pack), int64(len(pack)), f.m.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Manifest.TextsMissing; len(got) != 1 || got[0] != lost {
		t.Errorf("texts missing %v, want [%s]", got, lost)
	}
	p := open(t, pack)
	var man map[string]any
	if err := json.Unmarshal(p.Files[ManifestName], &man); err != nil {
		t.Fatal(err)
	}
	man["texts_missing"] = []string{}
	p.Files[ManifestName], _ = json.Marshal(man)
	if err := p.Rehash(f.key); err != nil {
		t.Fatal(err)
	}
	bad, err := p.Zip()
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(bytes.NewReader(bad), int64(len(bad)), f.m.PublicKey()); err == nil ||
		!strings.Contains(err.Error(), "records/attestations.json: record 1 names text "+lost) {
		t.Errorf("Verify = %v, want the attestation naming a text the pack neither holds nor lists", err)
	}
}

// failingAudit is the real store whose AppendAudit fails.
type failingAudit struct{ Store }

func (failingAudit) AppendAudit(context.Context, store.AuditEntry) (store.AuditEntry, error) {
	return store.AuditEntry{}, errors.New("audit log unavailable")
}

// TestPackNotOnRecordIsNoPack: when the pack cannot be audited, Maker
// fails and what it wrote is no pack (no manifest, no zip directory).
func TestPackNotOnRecordIsNoPack(t *testing.T) {
	f := newFixture(t)
	m := f.with(t, func(c *Config) { c.Store = failingAudit{f.st} })
	var b bytes.Buffer
	if err := m.PersonPack(context.Background(), "officer:wangfang", "zhangsan", &b); err == nil || !strings.Contains(err.Error(), "audit the pack") {
		t.Fatalf("PersonPack = %v, want the audit failure", err)
	}
	if err := Verify(bytes.NewReader(b.Bytes()), int64(b.Len()), m.PublicKey()); err == nil {
		t.Error("what was written verifies as a pack")
	}
}
