package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
)

// MaxFileSize bounds what Verify reads of any one file of a pack.
const MaxFileSize = 1 << 30

// Report says what Verify checked.
type Report struct {
	Manifest Manifest
	// OwnKey: the signature was checked against the key the pack names
	// (no key was given): that proves the pack is whole, not who made it.
	OwnKey bool
	// Files, Texts and Records count what was checked; Segment is the
	// number of audit entries linked, Recomputed those whose hash was
	// recomputed.
	Files, Texts, Records, Segment, Recomputed int
}

// Verify checks a pack offline, in this order, and returns the first
// problem, naming the file (and the entry) that is wrong:
//
//  1. manifest.sig is a valid ed25519 signature of manifest.json by pub
//     (by the key the manifest names if pub is nil: integrity, not
//     origin);
//  2. every file is in the manifest with its size and SHA-256, and every
//     file the manifest lists is there;
//  3. each texts/<hash>.json renders to <hash>, and every content hash
//     the records name is among the texts or the manifest's missing ones;
//  4. audit/segment.jsonl runs from the manifest's first seq to its head
//     without a gap, each prev_hash the hash before it, the entries about
//     the subject complete and their hashes recomputed, the last hash the
//     manifest's head.
func Verify(r io.ReaderAt, size int64, pub ed25519.PublicKey) error {
	_, err := VerifyReport(r, size, pub)
	return err
}

// VerifyReport is Verify that also says what it checked.
func VerifyReport(r io.ReaderAt, size int64, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return rep, fmt.Errorf("not a zip file: %w", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return rep, fmt.Errorf("%s: appears twice in the zip", f.Name)
		}
		files[f.Name] = f
	}
	read := func(name string) ([]byte, error) {
		f, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%s: missing", name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, MaxFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(b) > MaxFileSize {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxFileSize)
		}
		return b, nil
	}

	// 1. The signature.
	mb, err := read(ManifestName)
	if err != nil {
		return rep, err
	}
	sb, err := read(SignatureName)
	if err != nil {
		return rep, err
	}
	var man Manifest
	if err := json.Unmarshal(mb, &man); err != nil {
		return rep, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if man.Format != Format {
		return rep, fmt.Errorf("%s: format %q, this verifier knows %q", ManifestName, man.Format, Format)
	}
	own, err := base64.StdEncoding.DecodeString(man.PublicKey)
	if err != nil || len(own) != ed25519.PublicKeySize {
		return rep, fmt.Errorf("%s: public_key is not a base64 ed25519 public key", ManifestName)
	}
	if pub == nil {
		pub, rep.OwnKey = own, true
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sb)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return rep, fmt.Errorf("%s: not a base64 ed25519 signature", SignatureName)
	}
	if !ed25519.Verify(pub, mb, sig) {
		if !bytes.Equal(own, pub) {
			return rep, fmt.Errorf("%s: not signed by the expected key (the pack names key %s, expected %s)",
				SignatureName, man.PublicKey, base64.StdEncoding.EncodeToString(pub))
		}
		return rep, fmt.Errorf("%s: the signature does not verify: manifest.json was changed after it was signed", SignatureName)
	}
	rep.Manifest = man

	// 2. Every file, hashed.
	listed := map[string]File{}
	for _, f := range man.Files {
		if _, dup := listed[f.Name]; dup {
			return rep, fmt.Errorf("%s: lists %s twice", ManifestName, f.Name)
		}
		listed[f.Name] = f
	}
	for _, f := range zr.File {
		if f.Name == ManifestName || f.Name == SignatureName {
			continue
		}
		if _, ok := listed[f.Name]; !ok {
			return rep, fmt.Errorf("%s: not in the manifest", f.Name)
		}
	}
	contents := map[string][]byte{}
	for _, f := range man.Files {
		b, err := read(f.Name)
		if err != nil {
			return rep, err
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != f.SHA256 || int64(len(b)) != f.Size {
			return rep, fmt.Errorf("%s: changed: SHA-256 %s (%d bytes), the manifest says %s (%d bytes)", f.Name, got, len(b), f.SHA256, f.Size)
		}
		contents[f.Name] = b
		rep.Files++
	}

	// 3. The texts, and the hashes the records name.
	known := map[string]bool{}
	for _, h := range man.TextsMissing {
		known[h] = true
	}
	for _, name := range slices.Sorted(maps.Keys(contents)) {
		h, ok := strings.CutPrefix(name, textsDir)
		if !ok {
			continue
		}
		h = strings.TrimSuffix(h, ".json")
		var t templates.Rendered
		if err := json.Unmarshal(contents[name], &t); err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		if got := t.Hash(); got != h {
			return rep, fmt.Errorf("%s: the text's hash is %s, not the one it is named by", name, got)
		}
		known[h] = true
		rep.Texts++
	}
	for _, name := range []string{recordsDir + "attestations.json", recordsDir + "deliveries.json"} {
		b, ok := contents[name]
		if !ok {
			return rep, fmt.Errorf("%s: missing", name)
		}
		var recs []struct {
			ContentHash string `json:"content_hash"`
		}
		if err := json.Unmarshal(b, &recs); err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		for i, r := range recs {
			if r.ContentHash != "" && !known[r.ContentHash] {
				return rep, fmt.Errorf("%s: record %d names text %s, which is neither in texts/ nor listed as missing", name, i+1, r.ContentHash)
			}
		}
		rep.Records += len(recs)
	}

	// 4. The audit chain segment.
	seg, ok := contents[SegmentName]
	if !ok {
		return rep, fmt.Errorf("%s: missing", SegmentName)
	}
	n, recomputed, err := verifySegment(seg, man.Audit)
	if err != nil {
		return rep, err
	}
	rep.Segment, rep.Recomputed = n, recomputed
	return rep, nil
}

// verifySegment checks the chain segment's links against the manifest's
// range.
func verifySegment(seg []byte, ar AuditRange) (lines, recomputed int, err error) {
	bad := func(seq uint64, format string, args ...any) error {
		return fmt.Errorf("%s: entry seq %d: %s", SegmentName, seq, fmt.Sprintf(format, args...))
	}
	subject := map[uint64]bool{}
	for _, s := range ar.SubjectSeqs {
		subject[s] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(seg))
	sc.Buffer(make([]byte, 0, 64<<10), MaxFileSize)
	var prev *segmentLine
	for sc.Scan() {
		var l segmentLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return lines, recomputed, fmt.Errorf("%s: line %d: %w", SegmentName, lines+1, err)
		}
		switch {
		case prev == nil && ar.FirstSeq != 0 && l.Seq != ar.FirstSeq:
			return lines, recomputed, bad(l.Seq, "the segment starts here, the manifest says at %d", ar.FirstSeq)
		case prev != nil && l.Seq != prev.Seq+1:
			return lines, recomputed, bad(l.Seq, "follows entry %d: entries are missing or out of order", prev.Seq)
		case prev != nil && l.PrevHash != prev.Hash:
			return lines, recomputed, bad(l.Seq, "prev_hash %s is not the hash of entry %d (%s): the chain is broken", l.PrevHash, prev.Seq, prev.Hash)
		}
		if subject[l.Seq] != (l.Kind != "") {
			if subject[l.Seq] {
				return lines, recomputed, bad(l.Seq, "the manifest says it is about the subject, but the segment holds only its hashes")
			}
			return lines, recomputed, bad(l.Seq, "complete, but the manifest does not list it as about the subject")
		}
		if l.Kind != "" {
			if l.At == nil {
				return lines, recomputed, bad(l.Seq, "has no time")
			}
			if got := store.AuditHash(l.entry()); got != l.Hash {
				return lines, recomputed, bad(l.Seq, "its content hashes to %s, not to its hash %s: it was edited", got, l.Hash)
			}
			recomputed++
			delete(subject, l.Seq)
		}
		lines++
		prev = &l
	}
	if err := sc.Err(); err != nil {
		return lines, recomputed, fmt.Errorf("%s: %w", SegmentName, err)
	}
	if prev == nil {
		if ar.HeadSeq != 0 {
			return lines, recomputed, fmt.Errorf("%s: empty, the manifest says the head is entry %d", SegmentName, ar.HeadSeq)
		}
		return lines, recomputed, nil
	}
	if prev.Seq != ar.HeadSeq || prev.Hash != ar.HeadHash {
		return lines, recomputed, bad(prev.Seq, "the segment ends here with hash %s, the manifest's head is entry %d with hash %s", prev.Hash, ar.HeadSeq, ar.HeadHash)
	}
	if len(subject) > 0 {
		return lines, recomputed, bad(slices.Min(slices.Collect(maps.Keys(subject))), "the manifest says it is about the subject, but the segment does not hold it")
	}
	return lines, recomputed, nil
}
