package archive_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/embedded"
	"github.com/wecomply/wecomply/policy"
)

// searchEnv stores a small zh/en corpus.
func searchEnv(t *testing.T) (*env, map[string]string) {
	t.Helper()
	e := newEnv(t)
	e.permit("zhangsan", "lisi")
	e.consent("zhangsan", "wmCUST", policy.ConsentAgreed, "msg_audit_approved")
	ids := map[string]string{
		"zh":     e.text("zhangsan", []string{"wmCUST"}, "", "王先生，合同明天到期，请确认。"),
		"en":     e.text("wmCUST", []string{"zhangsan"}, "", "Please send the INVOICE for order No 45"),
		"mixed":  e.text("zhangsan", []string{"lisi"}, "", "合同PDF已发，invoice ＮＯ．４５ 见附件"),
		"other":  e.text("lisi", []string{"zhangsan"}, "", "午饭吃什么？"),
		"nocons": e.text("zhangsan", []string{"wmNOBODY"}, "", "合同 invoice withheld"),
	}
	e.clock.Advance(time.Hour)
	e.pullAll()
	return e, ids
}

func resultIDs(rs []archive.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.MsgID)
	}
	slices.Sort(out)
	return out
}

func TestSearch(t *testing.T) {
	e, ids := searchEnv(t)
	ctx := context.Background()
	sorted := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, ids[n])
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name string
		q    archive.SearchQuery
		want []string
	}{
		{"zh bigram", archive.SearchQuery{Text: "合同"}, sorted("zh", "mixed")},
		{"zh single char", archive.SearchQuery{Text: "王"}, sorted("zh")},
		{"zh phrase", archive.SearchQuery{Text: "明天到期"}, sorted("zh")},
		{"en case-insensitive", archive.SearchQuery{Text: "invoice"}, sorted("en", "mixed")},
		{"two terms any order", archive.SearchQuery{Text: "invoice send"}, sorted("en")},
		// Full-width ＮＯ．４５ folds to no.45; "No 45" has the same tokens
		// but not the text: the check drops it.
		{"index narrows, check decides", archive.SearchQuery{Text: "no.45"}, sorted("mixed")},
		{"text and person", archive.SearchQuery{Text: "合同", SearchFilters: archive.SearchFilters{Customer: "wmCUST"}}, sorted("zh")},
		{"person only", archive.SearchQuery{SearchFilters: archive.SearchFilters{User: "lisi"}}, sorted("mixed", "other")},
		{"withheld listed without text", archive.SearchQuery{SearchFilters: archive.SearchFilters{Customer: "wmNOBODY"}}, sorted("nocons")},
		{"time range excludes", archive.SearchQuery{Text: "合同", SearchFilters: archive.SearchFilters{From: start.Add(time.Minute)}}, nil},
		{"nothing", archive.SearchQuery{Text: "不存在"}, nil},
		// A msgid is looked up directly; a text given with it must match.
		{"by msgid", archive.SearchQuery{SearchFilters: archive.SearchFilters{MsgID: ids["zh"]}}, sorted("zh")},
		{"by msgid and its text", archive.SearchQuery{Text: "合同", SearchFilters: archive.SearchFilters{MsgID: ids["zh"]}}, sorted("zh")},
		{"by msgid and another text", archive.SearchQuery{Text: "invoice", SearchFilters: archive.SearchFilters{MsgID: ids["zh"]}}, nil},
		{"unknown msgid", archive.SearchQuery{SearchFilters: archive.SearchFilters{MsgID: "no-such-msgid"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, next, err := e.arch.Search(ctx, "officer1", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				t.Errorf("next %q", next)
			}
			if got := resultIDs(res); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, r := range res {
				if r.Withheld == "" && (len(r.Content) == 0 || r.Text == "") {
					t.Errorf("%s: content not opened", r.MsgID)
				}
				if r.Withheld != "" && len(r.Content) != 0 {
					t.Errorf("%s: withheld with content", r.MsgID)
				}
			}
		})
	}
	if _, _, err := e.arch.Search(ctx, "officer1", archive.SearchQuery{Text: "👍!!"}); !errors.Is(err, archive.ErrQueryText) {
		t.Errorf("emoji-only query: %v", err)
	}

	// Every search is audited: who, filters, a keyed hash of the text
	// (never the text), the count and the msgids opened.
	entries, err := e.main.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(tests) {
		t.Fatalf("%d audit entries, want %d", len(entries), len(tests))
	}
	first := entries[0]
	if first.Kind != archive.AuditSearch || first.Subject != "officer1" || bytes.Contains(first.Data, []byte("合同")) {
		t.Errorf("audit entry %s %s %s", first.Kind, first.Subject, first.Data)
	}
	var rec archive.AuditRecord
	if err := json.Unmarshal(first.Data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.QueryHash != e.arch.QueryHash("合同") || rec.Count != 2 || len(rec.MsgIDs) != 2 {
		t.Errorf("audit record %+v", rec)
	}
}

func TestSearchPages(t *testing.T) {
	e := newEnv(t)
	e.permit("zhangsan")
	var want []string
	for i := range 7 {
		if i%2 == 0 {
			want = append(want, e.text("zhangsan", []string{"lisi"}, "", "报价 ref no.45"))
		} else {
			e.text("zhangsan", []string{"lisi"}, "", "ref no 45") // the same tokens, not the text
		}
		e.clock.Advance(time.Minute)
	}
	e.pullAll()
	var got []string
	q := archive.SearchQuery{Text: "No.45", Limit: 2}
	for range 10 {
		res, next, err := e.arch.Search(context.Background(), "officer1", q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) > 2 {
			t.Fatalf("page of %d", len(res))
		}
		for _, r := range res {
			got = append(got, r.MsgID)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	slices.Reverse(want) // newest first
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
}

func TestGetAudited(t *testing.T) {
	e, ids := searchEnv(t)
	r, err := e.arch.Get(context.Background(), "officer2", ids["zh"])
	if err != nil || !strings.Contains(r.Text, "合同") {
		t.Fatalf("Get: %+v %v", r, err)
	}
	if _, err := e.arch.Get(context.Background(), "officer2", "nope"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Get(nope) = %v", err)
	}
	entries, _ := e.main.ListAudit(context.Background(), 0, 10)
	if len(entries) != 1 || entries[0].Kind != archive.AuditRead || entries[0].Subject != "officer2" {
		t.Errorf("audit %+v", entries)
	}
}

func TestExport(t *testing.T) {
	e, ids := searchEnv(t)
	dir := filepath.Join(t.TempDir(), "out")
	man, err := e.arch.Export(context.Background(), "officer3", archive.SearchQuery{Text: "合同"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if man.Count != 2 || len(man.Messages) != 2 {
		t.Fatalf("manifest %+v", man)
	}
	data, err := os.ReadFile(filepath.Join(dir, archive.ExportFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != man.FileSHA256 {
		t.Error("file hash differs from the manifest")
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var got []string
	for i := 0; sc.Scan(); i++ {
		line := sc.Bytes()
		ls := sha256.Sum256(line)
		if hex.EncodeToString(ls[:]) != man.Messages[i].SHA256 {
			t.Errorf("line %d hash differs", i)
		}
		var r archive.Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if r.MsgID != man.Messages[i].MsgID || !strings.Contains(r.Text, "合同") || len(r.Content) == 0 {
			t.Errorf("line %d: %+v", i, r)
		}
		got = append(got, r.MsgID)
	}
	slices.Sort(got)
	want := []string{ids["zh"], ids["mixed"]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	mj, err := os.ReadFile(filepath.Join(dir, archive.ExportManifest))
	if err != nil {
		t.Fatal(err)
	}
	var m2 archive.Manifest
	if err := json.Unmarshal(mj, &m2); err != nil || m2.FileSHA256 != man.FileSHA256 || m2.Count != 2 {
		t.Errorf("manifest.json %s, %v", mj, err)
	}
	// No overwriting an export.
	if _, err := e.arch.Export(context.Background(), "officer3", archive.SearchQuery{Text: "合同"}, dir); err == nil {
		t.Error("a second export into the same directory succeeded")
	}
	entries, _ := e.main.ListAudit(context.Background(), 0, 10)
	if len(entries) != 1 || entries[0].Kind != archive.AuditExport {
		t.Errorf("audit %+v", entries)
	}
}

// Crypto-shredding: once a day is purged its data keys are gone, and a
// copy of its content no longer opens — in this process or any other.
func TestCryptoShredding(t *testing.T) {
	e, ids := searchEnv(t)
	ctx := context.Background()
	kept := e.get(ids["zh"]) // a copy made before the purge
	if _, err := e.crypt.Open(ctx, kept); err != nil {
		t.Fatal(err)
	}
	day := archive.KeyDay(start)
	n, shredded, err := e.arch.PurgeDay(ctx, "retention", day, nil)
	if err != nil || !shredded || n != 5 {
		t.Fatalf("PurgeDay = %d, %v, %v", n, shredded, err)
	}
	if _, err := e.crypt.Open(ctx, kept); !errors.Is(err, archive.ErrKeyDestroyed) {
		t.Errorf("open after purge: %v, want ErrKeyDestroyed", err)
	}
	fresh, _ := archive.NewKeys(e.store, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}})
	if _, err := fresh.Open(ctx, kept); !errors.Is(err, archive.ErrKeyDestroyed) {
		t.Errorf("open after purge, new process: %v, want ErrKeyDestroyed", err)
	}
	if _, err := e.store.GetDataKey(ctx, day, archive.DefaultDataKeyID); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("data key after purge: %v", err)
	}
}

func TestRotateMaster(t *testing.T) {
	e, ids := searchEnv(t)
	ctx := context.Background()
	e.clock.Advance(48 * time.Hour)
	e.text("zhangsan", []string{"lisi"}, "", "second day")
	e.pullAll()
	n, err := e.crypt.RotateMaster(ctx, masterKey(t, "m2", 2))
	if err != nil || n != 2 {
		t.Fatalf("RotateMaster = %d, %v; want 2 keys", n, err)
	}
	dks, _ := e.store.ListDataKeys(ctx)
	for _, dk := range dks {
		if dk.MasterID != "m2" {
			t.Errorf("data key %s still wrapped by %s", dk.Day, dk.MasterID)
		}
	}
	// Only the new master is needed now; the old one opens nothing.
	only2, _ := archive.NewKeys(e.store, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m2", 2)}})
	if plain, err := only2.Open(ctx, e.get(ids["zh"])); err != nil || !strings.Contains(string(plain), "合同") {
		t.Errorf("open under the new master: %v", err)
	}
	only1, _ := archive.NewKeys(e.store, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}})
	if _, err := only1.Open(ctx, e.get(ids["zh"])); !errors.Is(err, archive.ErrUnknownMaster) {
		t.Errorf("open under the old master only: %v, want ErrUnknownMaster", err)
	}
	// New data keys are wrapped by the new master.
	e.clock.Advance(48 * time.Hour)
	e.text("zhangsan", []string{"lisi"}, "", "third day")
	e.pullAll()
	dk, err := e.store.GetDataKey(ctx, archive.KeyDay(e.clock.Now()), archive.DefaultDataKeyID)
	if err != nil || dk.MasterID != "m2" {
		t.Errorf("new data key: %+v %v", dk, err)
	}
}

// Two processes making the same day's data key at once end up with one
// key, which opens what both sealed.
func TestDataKeyMadeConcurrently(t *testing.T) {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "a.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 8
	keys := make([]*archive.Keys, n)
	for i := range keys {
		if keys[i], err = archive.NewKeys(s, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	sealed := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, sealed[i], errs[i] = keys[i].Seal(ctx, "2026-03-10", "msg", []byte("hello"))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for j := range n {
			plain, err := keys[j].Open(ctx, archive.Message{MsgID: "msg", KeyDay: "2026-03-10", KeyID: archive.DefaultDataKeyID, Content: sealed[i]})
			if err != nil || string(plain) != "hello" {
				t.Fatalf("keys %d open what %d sealed: %v", j, i, err)
			}
		}
	}
	// The msgid is bound: the content of one message does not open as another's.
	if _, err := keys[0].Open(ctx, archive.Message{MsgID: "other", KeyDay: "2026-03-10", KeyID: archive.DefaultDataKeyID, Content: sealed[0]}); err == nil {
		t.Error("content opened under another msgid")
	}
}

func TestKeyCacheBounded(t *testing.T) {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "a.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	k, err := archive.NewKeys(s, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}, CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []archive.Message
	for d := range 5 {
		day := start.AddDate(0, 0, d).Format(archive.DayLayout)
		id, c, err := k.Seal(ctx, day, "m", []byte(day))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, archive.Message{MsgID: "m", KeyDay: day, KeyID: id, Content: c})
		if n := k.CachedKeys(); n > 2 {
			t.Fatalf("after sealing %s: %d data keys cached, want at most 2", day, n)
		}
	}
	for _, m := range msgs { // evicted keys are read back from the store
		if plain, err := k.Open(ctx, m); err != nil || string(plain) != m.KeyDay {
			t.Errorf("%s: %q %v", m.KeyDay, plain, err)
		}
		if n := k.CachedKeys(); n > 2 {
			t.Fatalf("after opening %s: %d data keys cached, want at most 2", m.KeyDay, n)
		}
	}
}
