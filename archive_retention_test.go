package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
)

// TestArchiveRetention: the retention job purges archived days older than
// retention.archive_days and destroys their data keys (crypto-shredding),
// except a day in which a legal hold names a party of a message: that
// message and its day's keys stay, the rest of that day goes.
func TestArchiveRetention(t *testing.T) {
	day0 := time.Date(2020, 3, 2, 10, 0, 0, 0, time.UTC)
	clk := testclock.Frozen(day0)
	fake := policyCompanyAt(t, clk)
	arch := newArchiveFixture(t, clk)
	cfgPath := writePolicyConfig(t, fake.URL, t.TempDir(), 1)
	appendConfig(t, cfgPath, arch.section)
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	st, err := openStore(ctx, cfg, log, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := newArchive(ctx, cfg, st, arch.source(), log, nil, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()

	// Three days of chat: day 0 (held: wangwu is under a legal hold),
	// day 1, and day 10 (within retention when the purge runs).
	for _, m := range []struct {
		id, from, to string
		day          int
	}{
		{"d0-held", "wangwu", "zhangsan", 0}, {"d0-free", "zhangsan", "wangfang", 0},
		{"d1", "zhangsan", "wangfang", 1}, {"d10", "zhangsan", "wangfang", 10},
	} {
		clk.Set(day0.AddDate(0, 0, m.day))
		arch.add(t, clk, m.id, m.from, m.to, "内容 "+m.id)
		if _, err := p.puller.PullOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.PutHold(ctx, store.Hold{ID: "case-7", Subject: "wangwu", Reason: "case 7", CreatedAt: day0}); err != nil {
		t.Fatal(err)
	}
	before, err := p.store.ListDataKeys(ctx)
	if err != nil || len(before) != 3 {
		t.Fatalf("data keys before the purge: %d, %v; want 3 (one per day)", len(before), err)
	}

	// 5 days' retention, run on day 12: days 0 and 1 are past it.
	clk.Set(day0.AddDate(0, 0, 12))
	deleted, shredded, err := purgeArchive(ctx, p, st, 5, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 2 || shredded != 1 {
		t.Errorf("purge deleted %d messages and shredded %d days; want 2 (d0-free, d1) and 1 (day 1)", deleted, shredded)
	}
	for id, want := range map[string]bool{"d0-held": true, "d0-free": false, "d1": false, "d10": true} {
		_, err := p.reader.Get(ctx, "test", id)
		if got := err == nil; got != want {
			t.Errorf("after the purge %s present = %v (%v), want %v", id, got, err, want)
		}
	}
	if _, err := p.keys.Open(ctx, mustMessage(t, p, "d0-held")); err != nil {
		t.Errorf("the held message no longer opens: %v", err)
	}
	if _, err := p.store.GetDataKey(ctx, archive.KeyDay(day0.AddDate(0, 0, 1)), before[1].ID); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("day 1's data key: %v, want destroyed (ErrNotFound)", err)
	}
	if n, _, err := purgeArchive(ctx, p, st, 0, clk.Now()); n != 0 || err != nil {
		t.Errorf("archive_days = 0 purged %d (%v): 0 keeps forever", n, err)
	}
}

func mustMessage(t *testing.T, p *archiveParts, id string) archive.Message {
	t.Helper()
	m, err := p.store.GetMessage(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
