package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"testing"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// TestEvidencePackEndToEnd: after the real employee loop (a published
// notice, a new member's card, their click), the evidence Maker built
// from the server's config recovers the exact card text each delivery
// and attestation names (rendered as the processor rendered it), and the
// person's and the notice's packs verify, with the audit entries about
// the subject recomputed.
func TestEvidencePackEndToEnd(t *testing.T) {
	fake := policyCompany(t)
	clk := testclock.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	a, base, done := launchAppAt(t, ctx, clk, writePolicyConfigStore(t, fake.URL, t.TempDir(), 1, ""), io.Discard)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down within 15s")
		}
	})
	eventually(t, "zhangsan's card", func() bool { return len(cards(fake, "zhangsan")) == 1 })
	fake.AddUser(wecomtest.User{UserID: "lisi", Name: "李四", Department: []int64{2}})
	postEvent(t, base, wecomtest.EventSpec{Kind: "change_contact.create_user", UserID: "lisi", Department: "2"})
	eventually(t, "lisi's card", func() bool { return len(cards(fake, "lisi")) == 1 })
	click, err := fake.Click("lisi", cards(fake, "lisi")[0].MsgID, "ack:archive:v1")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := wecomtest.BuildEvent(click.Spec())
	if err != nil {
		t.Fatal(err)
	}
	postPlain(t, base, plain)
	var ats attestationsResponse
	eventually(t, "lisi's attestation", func() bool {
		apiGet(t, base, "/api/v1/attestations?user=lisi", &ats)
		return len(ats.Attestations) == 1
	})

	cfg := *a.cfg
	cfg.Evidence.SigningKey = config.Secret(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	m, err := newEvidenceMaker(&cfg, a.store, nil, a.log, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(w io.Writer) error
	}{
		{"lisi's pack", func(w io.Writer) error { return m.PersonPack(ctx, "officer:test", "lisi", w) }},
		{"the notice's pack", func(w io.Writer) error { return m.NoticePack(ctx, "officer:test", "archive", 1, w) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.make(&b); err != nil {
				t.Fatal(err)
			}
			rep, err := evidence.VerifyReport(bytes.NewReader(b.Bytes()), int64(b.Len()), m.PublicKey())
			if err != nil {
				t.Fatalf("the pack does not verify: %v", err)
			}
			if rep.Texts == 0 || len(rep.Manifest.TextsMissing) != 0 || rep.Recomputed == 0 {
				t.Errorf("%d texts recovered, missing %v, %d audit entries recomputed; want the card's text, none missing, some",
					rep.Texts, rep.Manifest.TextsMissing, rep.Recomputed)
			}
		})
	}
}
