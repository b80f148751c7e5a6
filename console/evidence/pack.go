package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
)

// Format names the pack layout in its manifest.
const Format = "wecomply-evidence-v1"

// Names of a pack's fixed files.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	SegmentName   = "audit/segment.jsonl"
	readmeName    = "README.txt"
	textsDir      = "texts/"
	recordsDir    = "records/"
)

// Manifest is manifest.json: what the pack holds and what it covers.
type Manifest struct {
	Format  string    `json:"format"`
	Subject Subject   `json:"subject"`
	MadeAt  time.Time `json:"made_at"`
	MadeBy  string    `json:"made_by"`
	// PublicKey is the signer's ed25519 public key, base64 (standard).
	// It proves the pack is whole, not who made it: check it against the
	// key the company publishes (/.well-known/wecomply-evidence.pub).
	PublicKey string     `json:"public_key"`
	Audit     AuditRange `json:"audit"`
	// TextsMissing lists content hashes the records name whose text could
	// not be rendered again (the notice's configuration changed since).
	TextsMissing []string `json:"texts_missing"`
	Files        []File   `json:"files"`
}

// Subject is whom or what a pack is about.
type Subject struct {
	Kind     string `json:"kind"` // "person" or "notice"
	UserID   string `json:"user_id,omitempty"`
	NoticeID string `json:"notice_id,omitempty"`
	Version  int    `json:"version,omitempty"`
}

// AuditRange is the audit chain segment a pack holds: entries FirstSeq to
// HeadSeq, the last being the chain's head when the pack was made;
// SubjectSeqs are those given complete (about the subject), every other
// one is its seq, prev_hash and hash only. FirstSeq is 0 when no entry
// is about the subject (the segment is then the head alone, or empty
// when the log is).
type AuditRange struct {
	FirstSeq    uint64   `json:"first_seq"`
	HeadSeq     uint64   `json:"head_seq"`
	HeadHash    string   `json:"head_hash"`
	SubjectSeqs []uint64 `json:"subject_seqs"`
}

// File is one file of the pack.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// segmentLine is one line of audit/segment.jsonl. An entry about the
// subject has every field (its hash recomputes with store.AuditHash);
// any other has Seq, PrevHash and Hash only (Kind empty).
type segmentLine struct {
	Seq      uint64          `json:"seq"`
	ID       string          `json:"id,omitempty"`
	At       *time.Time      `json:"at,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Subject  string          `json:"subject,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

func (l segmentLine) entry() store.AuditEntry {
	e := store.AuditEntry{Seq: l.Seq, ID: l.ID, Kind: l.Kind, Subject: l.Subject, Data: l.Data, PrevHash: l.PrevHash, Hash: l.Hash}
	if l.At != nil {
		e.At = *l.At
	}
	return e
}

// records is what a pack shows of its subject.
type records struct {
	obligations  []policy.Obligation
	attestations []policy.Attestation
	consents     []policy.Consent // person packs only
	deliveries   []store.RecipientResult
}

// PersonPack writes the evidence pack of one person to w: their
// obligations, attestations, consents and card deliveries, the texts they
// were sent, and the audit entries about them. actor is who asked for it
// (written to the audit log with the manifest's hash).
func (m *Maker) PersonPack(ctx context.Context, actor, userID string, w io.Writer) error {
	if userID == "" {
		return errors.New("evidence: person pack: user id is empty")
	}
	rec, err := m.load(ctx, recordFilter{UserID: userID, Consents: true})
	if err != nil {
		return fmt.Errorf("evidence: person pack: %w", err)
	}
	keys := map[string]bool{}
	for _, o := range rec.obligations {
		keys[noticeKey(o.NoticeID, o.Version)] = true
	}
	for _, n := range m.cfg.Notices {
		keys[n.Key()] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		rs, err := m.cfg.Store.GetSendResults(ctx, k, []string{userID})
		if err != nil {
			return fmt.Errorf("evidence: person pack: %w", err)
		}
		rec.deliveries = append(rec.deliveries, rs...)
	}
	match := func(e store.AuditEntry) bool { return aboutPerson(e, userID) }
	return m.pack(ctx, actor, Subject{Kind: "person", UserID: userID}, rec, match, w)
}

// NoticePack writes the evidence pack of one notice version to w: its
// obligations, attestations and card deliveries, its texts, and the
// audit entries about it. actor is who asked for it.
func (m *Maker) NoticePack(ctx context.Context, actor, noticeID string, version int, w io.Writer) error {
	if noticeID == "" || version < 1 {
		return fmt.Errorf("evidence: notice pack: need a notice id and a version ≥ 1, got %q version %d", noticeID, version)
	}
	rec, err := m.load(ctx, recordFilter{NoticeID: noticeID, Version: version})
	if err != nil {
		return fmt.Errorf("evidence: notice pack: %w", err)
	}
	if rec.deliveries, err = m.cfg.Store.ListSendResults(ctx, noticeKey(noticeID, version)); err != nil {
		return fmt.Errorf("evidence: notice pack: %w", err)
	}
	match := func(e store.AuditEntry) bool { return aboutNotice(e, noticeID, version) }
	return m.pack(ctx, actor, Subject{Kind: "notice", NoticeID: noticeID, Version: version}, rec, match, w)
}

// noticeKey is the key of notice id's version ("id:vN"), as
// policy.Notice.Key makes it.
func noticeKey(id string, version int) string { return policy.Notice{ID: id, Version: version}.Key() }

// recordFilter selects the records a pack or an export carries: the
// obligations and attestations of UserID and of NoticeID's Version (each
// if set; Version 0: every version), and, with Consents, the consents of
// UserID (every consent if UserID is "").
type recordFilter struct {
	UserID, NoticeID string
	Version          int
	Consents         bool
}

// load reads the obligations, attestations and consents f selects; the
// deliveries are left to the caller.
func (m *Maker) load(ctx context.Context, f recordFilter) (records, error) {
	var rec records
	var err error
	if rec.obligations, err = store.Collect(ctx, 1000, func(ctx context.Context, p store.Page) ([]policy.Obligation, string, error) {
		return m.cfg.Store.ListObligations(ctx, store.ObligationFilter{UserID: f.UserID, NoticeID: f.NoticeID, Version: f.Version}, p)
	}); err != nil {
		return records{}, err
	}
	if rec.attestations, err = store.Collect(ctx, 1000, func(ctx context.Context, p store.Page) ([]policy.Attestation, string, error) {
		return m.cfg.Store.ListAttestations(ctx, store.AttestationFilter{UserID: f.UserID, NoticeID: f.NoticeID, Version: f.Version}, p)
	}); err != nil {
		return records{}, err
	}
	if f.Consents {
		if rec.consents, err = store.Collect(ctx, 1000, func(ctx context.Context, p store.Page) ([]policy.Consent, string, error) {
			return m.cfg.Store.ListConsents(ctx, store.ConsentFilter{UserID: f.UserID}, p)
		}); err != nil {
			return records{}, err
		}
	}
	return rec, nil
}

// zipWriter writes a pack's files, keeping each one's size and SHA-256.
type zipWriter struct {
	zw    *zip.Writer
	at    time.Time
	files []File
	cur   io.Writer
	h     hash.Hash
	n     int64
	name  string
}

func (z *zipWriter) Write(p []byte) (int, error) {
	n, err := z.cur.Write(p)
	z.h.Write(p[:n])
	z.n += int64(n)
	return n, err
}

func (z *zipWriter) begin(name string) error {
	z.end()
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.at})
	if err != nil {
		return err
	}
	z.cur, z.h, z.n, z.name = w, sha256.New(), 0, name
	return nil
}

func (z *zipWriter) end() {
	if z.cur == nil {
		return
	}
	z.files = append(z.files, File{Name: z.name, Size: z.n, SHA256: hex.EncodeToString(z.h.Sum(nil))})
	z.cur = nil
}

func (z *zipWriter) file(name string, body []byte) error {
	if err := z.begin(name); err != nil {
		return err
	}
	_, err := z.Write(body)
	z.end()
	return err
}

func (m *Maker) pack(ctx context.Context, actor string, subj Subject, rec records, match func(store.AuditEntry) bool, w io.Writer) error {
	if actor == "" {
		return errors.New("evidence: pack: actor is empty (who asks for the pack is audited)")
	}
	fail := func(err error) error { return fmt.Errorf("evidence: %s pack: %w", subj.Kind, err) }
	now := m.cfg.Now().UTC()
	z := &zipWriter{zw: zip.NewWriter(w), at: now}

	texts, missing := m.texts(rec)
	if err := z.file(readmeName, []byte(readme)); err != nil {
		return fail(err)
	}
	for _, f := range m.recordFiles(rec, subj.Kind == "person") {
		if err := z.file(recordsDir+f.name, f.body); err != nil {
			return fail(err)
		}
	}
	for _, h := range slices.Sorted(maps.Keys(texts)) {
		body, err := json.MarshalIndent(texts[h], "", "  ")
		if err != nil {
			return fail(err)
		}
		if err := z.file(textsDir+h+".json", body); err != nil {
			return fail(err)
		}
	}
	if err := z.begin(SegmentName); err != nil {
		return fail(err)
	}
	ar, err := m.segment(ctx, z, match)
	if err != nil {
		return fail(err)
	}
	z.end()

	man := Manifest{Format: Format, Subject: subj, MadeAt: now, MadeBy: actor,
		PublicKey: base64.StdEncoding.EncodeToString(m.PublicKey()), Audit: ar, TextsMissing: missing, Files: z.files}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fail(err)
	}
	// On record before the pack is complete: until manifest.json and the
	// zip's directory are written, what w holds is no pack.
	sum := sha256.Sum256(mb)
	data, err := json.Marshal(packAudit{Actor: actor, Subject: subj, ManifestSHA256: hex.EncodeToString(sum[:]),
		Files: len(man.Files), HeadSeq: ar.HeadSeq})
	if err != nil {
		return fail(err)
	}
	subject := subj.UserID
	if subj.Kind == "notice" {
		subject = noticeKey(subj.NoticeID, subj.Version)
	}
	if _, err := m.cfg.Store.AppendAudit(ctx, store.AuditEntry{ID: "evidence:" + hex.EncodeToString(sum[:16]), At: now,
		Kind: KindPack, Subject: subject, Data: data}); err != nil {
		return fail(fmt.Errorf("audit the pack: %w", err))
	}
	if err := z.file(ManifestName, mb); err != nil {
		return fail(err)
	}
	sig := ed25519.Sign(m.cfg.SigningKey, mb)
	if err := z.file(SignatureName, []byte(base64.StdEncoding.EncodeToString(sig)+"\n")); err != nil {
		return fail(err)
	}
	if err := z.zw.Close(); err != nil {
		return fail(err)
	}
	return nil
}

// packAudit is the data of a KindPack audit entry.
type packAudit struct {
	Actor          string  `json:"actor"`
	Subject        Subject `json:"subject"`
	ManifestSHA256 string  `json:"manifest_sha256"`
	Files          int     `json:"files"`
	HeadSeq        uint64  `json:"head_seq"`
}

// segment writes the audit chain from the first entry match accepts to
// the head, one JSON line each, and says what it covers.
func (m *Maker) segment(ctx context.Context, w io.Writer, match func(store.AuditEntry) bool) (AuditRange, error) {
	ar := AuditRange{SubjectSeqs: []uint64{}}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // Data's bytes stay exactly as stored (its hash covers them)
	var last *store.AuditEntry
	for after := uint64(0); ; {
		page, err := m.cfg.Store.ListAudit(ctx, after, 1000)
		if err != nil {
			return ar, fmt.Errorf("read the audit log: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for i := range page {
			e := page[i]
			about := match(e)
			if about && ar.FirstSeq == 0 {
				ar.FirstSeq = e.Seq
			}
			if ar.FirstSeq != 0 {
				line := segmentLine{Seq: e.Seq, PrevHash: e.PrevHash, Hash: e.Hash}
				if about {
					at := e.At.UTC()
					line.ID, line.At, line.Kind, line.Subject, line.Data = e.ID, &at, e.Kind, e.Subject, e.Data
					ar.SubjectSeqs = append(ar.SubjectSeqs, e.Seq)
				}
				if err := enc.Encode(line); err != nil {
					return ar, err
				}
			}
			last = &page[i]
		}
		after = page[len(page)-1].Seq
	}
	if last == nil {
		return ar, nil
	}
	if ar.FirstSeq == 0 {
		// Nothing about the subject: the head alone says how far the log
		// was read.
		if err := enc.Encode(segmentLine{Seq: last.Seq, PrevHash: last.PrevHash, Hash: last.Hash}); err != nil {
			return ar, err
		}
	}
	ar.HeadSeq, ar.HeadHash = last.Seq, last.Hash
	return ar, nil
}

// aboutPerson reports whether an audit entry is about userID: its subject
// names them (one of a comma-separated list), or a string in its data is
// their id. An entry about a group (a publish to many) is about each of
// them, and is given complete, naming the group, as the log does: its
// hash cannot be recomputed from less.
func aboutPerson(e store.AuditEntry, userID string) bool {
	if slices.Contains(strings.Split(e.Subject, ","), userID) {
		return true
	}
	return walkJSON(e.Data, func(v any) bool { s, ok := v.(string); return ok && s == userID })
}

// aboutNotice reports whether an audit entry is about a notice version:
// its subject or a string in its data is the version's key ("id:vN"), or
// an object in its data has the notice's id and version (policy's
// NoticeID or a Notice's ID, with Version).
func aboutNotice(e store.AuditEntry, id string, version int) bool {
	key := noticeKey(id, version)
	if e.Subject == key {
		return true
	}
	return walkJSON(e.Data, func(v any) bool {
		switch v := v.(type) {
		case string:
			return v == key
		case map[string]any:
			for _, idField := range []string{"NoticeID", "notice_id", "ID"} {
				if v[idField] == id {
					for _, verField := range []string{"Version", "version"} {
						if n, ok := v[verField].(json.Number); ok && n.String() == strconv.Itoa(version) {
							return true
						}
					}
				}
			}
		}
		return false
	})
}

// walkJSON reports whether pred holds for any value in the JSON document
// (objects and arrays included, numbers as json.Number).
func walkJSON(data []byte, pred func(any) bool) bool {
	if len(data) == 0 {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		if pred(v) {
			return true
		}
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				if walk(x) {
					return true
				}
			}
		case []any:
			for _, x := range v {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// texts renders again every text the records name by content hash: a
// notice version's card and reminder, in every language, for each due
// day its obligations have (and none), as the processor renders them.
// missing lists the hashes none of these renderings has.
func (m *Maker) texts(rec records) (found map[string]templates.Rendered, missing []string) {
	want := map[string]bool{}
	versions := map[string]bool{}
	for _, a := range rec.attestations {
		if a.ContentHash != "" {
			want[a.ContentHash] = true
		}
		versions[noticeKey(a.NoticeID, a.Version)] = true
	}
	for _, d := range rec.deliveries {
		if d.ContentHash != "" {
			want[d.ContentHash] = true
		}
		versions[d.NoticeKey] = true
	}
	dues := map[string][]time.Time{}
	for _, o := range rec.obligations {
		k := noticeKey(o.NoticeID, o.Version)
		versions[k] = true
		dues[k] = append(dues[k], o.DueAt)
	}
	found = map[string]templates.Rendered{}
	settings := policy.Settings{Company: m.cfg.Company, Location: m.cfg.Location}
	for _, n := range m.cfg.Notices {
		if !versions[n.Key()] {
			continue
		}
		for _, lang := range templates.Languages {
			days := map[string]bool{policy.DueDay(settings, time.Time{}, lang): true}
			for _, t := range dues[n.Key()] {
				days[policy.DueDay(settings, t, lang)] = true
			}
			for _, tmpl := range []string{n.Template, policy.RemindTemplate} {
				for day := range days {
					data := policy.CardData(settings, n, day)
					maps.Copy(data, m.cfg.CardData)
					r, err := m.cfg.Templates.Render(tmpl, lang, data)
					if err != nil {
						continue // not a text this notice could have been sent in
					}
					if h := r.Hash(); want[h] {
						found[h] = r
					}
				}
			}
		}
	}
	missing = []string{}
	for _, h := range sortedKeys(want) {
		if _, ok := found[h]; !ok {
			missing = append(missing, h)
		}
	}
	return found, missing
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

const readme = `wecomply evidence pack (format wecomply-evidence-v1)

Check it with:  wecomply evidence verify PACK.zip -pubkey KEY.pub
where KEY.pub is the company's published key (GET /.well-known/wecomply-evidence.pub).

By hand:
1. manifest.sig is the base64 ed25519 signature of manifest.json's exact bytes.
2. Every other file is listed in manifest.json with its size and SHA-256.
3. texts/<hash>.json is a rendered notice text; <hash> is the SHA-256 of
   "name\0lang\0kind\0" followed by "part\0len(text)\0text\0" for each part in
   sorted order (wecomply templates.Rendered.Hash). Attestations and deliveries
   name the text by this hash.
4. audit/segment.jsonl is the audit log from the first entry about the subject
   to the chain head: entries about the subject are complete (recompute each
   hash as store.AuditHash documents), every other one is its seq, prev_hash and
   hash only. Each line's prev_hash is the previous line's hash; the last hash is
   manifest.json's audit.head_hash: compare it with the head wecomply audit
   verify reports to tie this pack to the company's whole log.
`
