package main

import (
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
)

func TestPct(t *testing.T) {
	ds := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
	for _, tc := range []struct {
		p    float64
		want string
	}{
		{50, "3ms"}, {95, "5ms"}, {100, "5ms"}, {1, "1ms"},
	} {
		if got := pct(ds, tc.p); got != tc.want {
			t.Errorf("pct(%v) = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := pct(nil, 50); got != "-" {
		t.Errorf("pct of none = %s, want -", got)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable"},
		{"host=127.0.0.1 user=postgres", "host=127.0.0.1 user=postgres dbname=bench"},
	} {
		got, err := withDatabase(tc.dsn, "bench")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

// The probes' terms must occur in the text as Archive.Search checks it
// (archive.Matches), or "terms_occur" queries would find nothing.
func TestTextWordsMatch(t *testing.T) {
	v := newVocabulary(1)
	rng := mrand.New(mrand.NewPCG(1, 2))
	zipf := mrand.NewZipf(rng, 1.1, 10, 19999)
	for range 200 {
		text, words := v.text(rng, zipf, 28+4*(1+rng.IntN(40)))
		if len(words) == 0 {
			t.Fatalf("text %q has no words", text)
		}
		for _, w := range words {
			if !archive.Matches(text, w) {
				t.Fatalf("word %q not found in %q by archive.Matches", w, text)
			}
		}
		if strings.TrimSpace(text) == "" {
			t.Fatal("empty text")
		}
	}
}
