package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wecomply/wecomply/archive"
)

// sealSegments seals data as fileID's file with segments of seg bytes.
func sealSegments(t *testing.T, k *archive.Keys, day, fileID string, data []byte, seg int) []byte {
	t.Helper()
	var out bytes.Buffer
	s, err := k.NewMediaSealerSize(context.Background(), day, fileID, &out, seg)
	if err != nil {
		t.Fatal(err)
	}
	// Written in odd pieces, so segment bounds fall inside writes.
	for p := data; len(p) > 0; {
		n := min(len(p), 7)
		if _, err := s.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Written() != int64(out.Len()) {
		t.Fatalf("Written %d, wrote %d", s.Written(), out.Len())
	}
	return out.Bytes()
}

// TestMediaSealRoundTrip: files of every length around the segment size
// open to what was sealed, and hold none of it.
func TestMediaSealRoundTrip(t *testing.T) {
	e := newEnv(t)
	const seg = 16
	for _, n := range []int{0, 1, seg - 1, seg, seg + 1, 2 * seg, 3*seg + 5, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := bytes.Repeat([]byte("PLAINTEXT-"), n/10+1)[:n]
			sealed := sealSegments(t, e.crypt, "2026-03-10", "FILE", data, seg)
			if n >= 10 && bytes.Contains(sealed, []byte("PLAINTEXT-")) {
				t.Fatal("the sealed file holds plaintext")
			}
			segs := max(1, (n+seg-1)/seg)
			if n > 0 && n%seg == 0 {
				segs = n / seg
			}
			if want := 8 + 4 + 1 + len(archive.DefaultDataKeyID) + segs*28 + n; len(sealed) != want {
				t.Errorf("sealed %d bytes, want %d (%d segments)", len(sealed), want, segs)
			}
			var got bytes.Buffer
			w, err := e.crypt.OpenMedia(context.Background(), "2026-03-10", "FILE", bytes.NewReader(sealed), &got)
			if err != nil {
				t.Fatalf("OpenMedia: %v", err)
			}
			if w != int64(n) || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("opened %d bytes %q, want %q", w, got.Bytes(), data)
			}
		})
	}
}

// TestMediaSealTamper: a sealed file that was altered, cut, reordered,
// extended, or belongs to another file or day does not open.
func TestMediaSealTamper(t *testing.T) {
	e := newEnv(t)
	const seg = 16
	data := bytes.Repeat([]byte("0123456789abcdef"), 4)[:60] // 4 segments, the last of 12 bytes
	sealed := sealSegments(t, e.crypt, "2026-03-10", "FILE", data, seg)
	hdr := 8 + 4 + 1 + len(archive.DefaultDataKeyID)
	full := 12 + seg + 16
	segAt := func(i int) []byte { return sealed[hdr+i*full : min(hdr+(i+1)*full, len(sealed))] }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	other := sealSegments(t, e.crypt, "2026-03-10", "OTHER", data, seg)
	flip := func(i int) []byte { b := bytes.Clone(sealed); b[i] ^= 1; return b }

	cases := []struct {
		name       string
		sealed     []byte
		day, file  string
		wantErrHas string
	}{
		{"a ciphertext byte altered", flip(hdr + full + 20), "", "", "segment 1 does not authenticate"},
		{"a nonce byte altered", flip(hdr + 3), "", "", "segment 0 does not authenticate"},
		{"the last segment dropped", sealed[:hdr+3*full], "", "", "segment 2 does not authenticate"},
		{"cut inside the last segment", sealed[:len(sealed)-5], "", "", "segment 3 does not authenticate"},
		{"cut inside a segment", sealed[:hdr+full+10], "", "", "segment 1"},
		{"two segments swapped", cat(sealed[:hdr], segAt(1), segAt(0), segAt(2), segAt(3)), "", "", "segment 0 does not authenticate"},
		{"a segment added at the end", cat(sealed, segAt(3)), "", "", "segment 3 does not authenticate"},
		{"another file's segment", cat(sealed[:hdr], segAt(0), other[hdr+full:hdr+2*full], segAt(2), segAt(3)), "", "", "segment 1 does not authenticate"},
		{"opened as another file", sealed, "", "OTHER", "segment 0 does not authenticate"},
		{"opened under another day", sealed, "2026-03-11", "", "destroyed or never made"},
		{"bad magic", flip(0), "", "", "bad magic"},
		{"empty", nil, "", "", "header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			day, file := "2026-03-10", "FILE"
			if c.day != "" {
				day = c.day
			}
			if c.file != "" {
				file = c.file
			}
			var got bytes.Buffer
			_, err := e.crypt.OpenMedia(context.Background(), day, file, bytes.NewReader(c.sealed), &got)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.wantErrHas)) {
				t.Fatalf("OpenMedia: %v, want an error with %q", err, c.wantErrHas)
			}
			if bytes.Contains([]byte(err.Error()), data[:10]) {
				t.Fatalf("the error holds plaintext: %v", err)
			}
		})
	}
	// After the day is purged (its keys destroyed), nothing opens.
	if _, _, err := e.arch.PurgeDay(context.Background(), "officer", "2026-03-10", nil); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := e.crypt.OpenMedia(context.Background(), "2026-03-10", "FILE", bytes.NewReader(sealed), &got); !errors.Is(err, archive.ErrKeyDestroyed) {
		t.Fatalf("OpenMedia after the purge: %v, want ErrKeyDestroyed", err)
	}
}
