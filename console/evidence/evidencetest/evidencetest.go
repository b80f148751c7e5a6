// Package evidencetest takes evidence packs apart and puts them back
// together, as a forger would, so that tests can show what Verify
// catches. It imports nothing of wecomply's (the evidence package's own
// tests use it).
package evidencetest

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// Pack is an unzipped pack: its file names in zip order, and their
// contents.
type Pack struct {
	Names []string
	Files map[string][]byte
}

// Open unzips a pack.
func Open(b []byte) (*Pack, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	p := &Pack{Files: map[string][]byte{}}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		p.Names = append(p.Names, f.Name)
		p.Files[f.Name] = body
	}
	return p, nil
}

// Set replaces (or adds) a file.
func (p *Pack) Set(name string, body []byte) {
	if _, ok := p.Files[name]; !ok {
		p.Names = append(p.Names, name)
	}
	p.Files[name] = body
}

// Rehash sets the size and SHA-256 of every file manifest.json lists to
// the file's present content and, if key is not nil, names key's public
// key in the manifest and signs it again with key (nil leaves the old
// signature, which no longer matches).
func (p *Pack) Rehash(key ed25519.PrivateKey) error {
	var man map[string]any
	if err := json.Unmarshal(p.Files["manifest.json"], &man); err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	files, _ := man["files"].([]any)
	for _, f := range files {
		f, _ := f.(map[string]any)
		name, _ := f["name"].(string)
		sum := sha256.Sum256(p.Files[name])
		f["sha256"], f["size"] = hex.EncodeToString(sum[:]), len(p.Files[name])
	}
	if key != nil {
		man["public_key"] = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	p.Files["manifest.json"] = mb
	if key != nil {
		p.Files["manifest.sig"] = []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb)) + "\n")
	}
	return nil
}

// Zip writes the pack again.
func (p *Pack) Zip() ([]byte, error) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range p.Names {
		w, err := zw.Create(n)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(p.Files[n]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SwapSegmentLines swaps two lines (0-based) of audit/segment.jsonl.
func (p *Pack) SwapSegmentLines(i, j int) error {
	lines := bytes.Split(bytes.TrimSuffix(p.Files["audit/segment.jsonl"], []byte("\n")), []byte("\n"))
	if i >= len(lines) || j >= len(lines) {
		return fmt.Errorf("the segment has %d lines", len(lines))
	}
	lines[i], lines[j] = lines[j], lines[i]
	p.Files["audit/segment.jsonl"] = append(bytes.Join(lines, []byte("\n")), '\n')
	return nil
}
