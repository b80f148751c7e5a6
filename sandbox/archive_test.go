package sandbox

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func TestArchiveTrickleSpeaksBetweenTheOrgsPeople(t *testing.T) {
	o := Demo()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	srv := wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: 1, Now: func() time.Time { return now }})
	key, err := wecomtest.GenerateArchiveKey()
	if err != nil {
		t.Fatal(err)
	}
	srv.UploadPublicKey(&key.PublicKey)
	ids, err := o.ArchiveTrickle(srv, now, 60, rand.New(rand.NewPCG(1, 2)))
	if err != nil || len(ids) != 60 {
		t.Fatalf("ArchiveTrickle: %d ids, %v", len(ids), err)
	}
	known := func(id string) bool {
		_, person := o.Person(id)
		_, customer := o.Customer(id)
		return person || customer
	}
	kinds := map[string]int{}
	for _, id := range ids {
		plain, ok := srv.Plaintext(id)
		if !ok {
			t.Fatalf("%s not in the fake archive", id)
		}
		m, err := wecom.DecodeChatMessage(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !known(m.From) || !slices.ContainsFunc(m.ToList, known) || m.Text == "" || m.Time.After(now) {
			t.Errorf("message %s: %+v, want a text between the demo organisation's people, at or before now", id, m)
		}
		switch {
		case m.RoomID != "":
			kinds["group"]++
		case m.External():
			kinds["customer"]++
		default:
			kinds["colleagues"]++
			if !slices.Contains(o.Permit, m.From) {
				t.Errorf("%s: an internal chat from %s, who is not archived", id, m.From)
			}
		}
	}
	for _, k := range []string{"group", "customer", "colleagues"} {
		if kinds[k] == 0 {
			t.Errorf("no %s chat in 60 messages: %v", k, kinds)
		}
	}
}
