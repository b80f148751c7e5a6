package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// TestAuditHashKnownAnswers: the hashes were computed independently, by
// the Python recipe in AuditHash's doc comment, so the code and the
// documented encoding agree.
func TestAuditHashKnownAnswers(t *testing.T) {
	first := store.AuditEntry{
		Seq:     1,
		ID:      "evt-1",
		At:      time.Date(2026, 3, 4, 13, 6, 7, 891234000, time.FixedZone("CST", 8*3600)), // hashed in UTC
		Kind:    "decision",
		Subject: "zhangsan",
		Data:    json.RawMessage(`{"action":"send_card","notice":"archive:v3"}`),
	}
	const firstHash = "249236d183c46474e23720ed5dcf750699ad9f0b08d5cb726fc674f18793fc97"
	second := store.AuditEntry{
		Seq:      2,
		ID:       "evt-2",
		At:       time.Date(2026, 3, 4, 5, 6, 8, 0, time.UTC),
		Kind:     "attestation",
		Subject:  "张三",
		PrevHash: firstHash,
		Hash:     "not part of the input",
	}
	const secondHash = "53e32034b27cd6f55b768454d2da9278ca6f7c8aaf532e9ba0f94c1f3aaa76b6"
	if got := store.AuditHash(first); got != firstHash {
		t.Errorf("AuditHash(first) = %s, want %s", got, firstHash)
	}
	if got := store.AuditHash(second); got != secondHash {
		t.Errorf("AuditHash(second) = %s, want %s", got, secondHash)
	}
}

// TestAuditHashCoversEveryField: changing any hashed field changes the
// hash, and moving bytes between neighbouring fields does too (the
// length prefixes).
func TestAuditHashCoversEveryField(t *testing.T) {
	base := store.AuditEntry{Seq: 7, ID: "id", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Kind: "kind",
		Subject: "subject", Data: json.RawMessage(`{"a":1}`), PrevHash: "prev"}
	h := store.AuditHash(base)
	for name, change := range map[string]func(*store.AuditEntry){
		"seq":             func(e *store.AuditEntry) { e.Seq++ },
		"id":              func(e *store.AuditEntry) { e.ID += "x" },
		"at":              func(e *store.AuditEntry) { e.At = e.At.Add(time.Nanosecond) },
		"kind":            func(e *store.AuditEntry) { e.Kind = "kinds" },
		"subject":         func(e *store.AuditEntry) { e.Subject = "" },
		"data":            func(e *store.AuditEntry) { e.Data = json.RawMessage(`{"a":2}`) },
		"prev hash":       func(e *store.AuditEntry) { e.PrevHash = "" },
		"kind to subject": func(e *store.AuditEntry) { e.Kind, e.Subject = "kin", "dsubject" },
		"id to at":        func(e *store.AuditEntry) { e.ID, e.Kind = "idk", "ind" },
	} {
		e := base
		change(&e)
		if store.AuditHash(e) == h {
			t.Errorf("changing %s left the hash unchanged", name)
		}
	}
	e := base
	e.Hash = "anything"
	e.At = e.At.In(time.FixedZone("X", -3600))
	if store.AuditHash(e) != h {
		t.Error("the hash depends on Hash or on At's time zone")
	}
}
