package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/wecomply/wecomply/console"
	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/templates"
)

// TestTransferRegister: the console's view of the evidence Maker makes
// the export and lists it with every field carried over; without a
// pseudonym key it refuses with console.ErrExportOff and records nothing.
func TestTransferRegister(t *testing.T) {
	ctx := context.Background()
	clk := testclock.Frozen(time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC))
	st := openStoreAt(t, clk.Now)
	if _, err := st.CreateObligation(ctx, policy.Obligation{UserID: "zhangsan", NoticeID: "archive", Version: 1, Status: policy.Pending,
		Reason: policy.ReasonPublished, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	m, err := evidence.New(evidence.Config{Store: st, Templates: tmpl, SigningKey: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)),
		PseudonymKey: bytes.Repeat([]byte{2}, 32), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	req := console.TransferRequest{Destination: "HQ Frankfurt", Purpose: "reporting", LegalBasis: "standard contract", Approver: "陈静",
		Actor: "wangfang", NoticeID: "archive", Version: 1}

	var b bytes.Buffer
	if _, err := (transferRegister{maker: m}).PseudonymisedExport(ctx, req, &b); !errors.Is(err, console.ErrExportOff) || b.Len() != 0 {
		t.Errorf("without a pseudonym key: %v, %d bytes; want ErrExportOff and nothing", err, b.Len())
	}
	reg := transferRegister{maker: m, exports: true}
	got, err := reg.PseudonymisedExport(ctx, req, &b)
	if err != nil {
		t.Fatal(err)
	}
	want := console.Transfer{ID: got.ID, Seq: got.Seq, At: clk.Now(), Destination: "HQ Frankfurt", Purpose: "reporting", LegalBasis: "standard contract",
		Approver: "陈静", Actor: "wangfang", NoticeID: "archive", Version: 1, Records: 1, Obligations: 1, SHA256: got.SHA256, Size: b.Len()}
	if got != want || got.Seq == 0 || len(got.SHA256) != 64 {
		t.Errorf("transfer = %+v\nwant %+v", got, want)
	}
	list, err := reg.ListTransfers(ctx)
	if err != nil || len(list) != 1 || list[0] != got {
		t.Errorf("register = %+v, %v; want the one transfer %+v", list, err, got)
	}
}
