package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
)

// TestDeadLettersCommand: `wecomply dead-letters` lists the dead letters
// of the configured store (a table without the payload, or the ids),
// retries and drops them by id, each audited as the API does (via "cli",
// with -actor), reports an id that is no dead letter (exit 1), and
// refuses a usage mistake (exit 2).
func TestDeadLettersCommand(t *testing.T) {
	cfg := writeConfig(t, "127.0.0.1:0", "embedded", "")
	dbPath := filepath.Join(filepath.Dir(cfg), "data", "wecomply.db")
	st, err := embedded.Open(dbPath, embedded.Options{Queue: store.QueueOptions{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for _, key := range []string{"msg-1", "msg-2", "msg-3"} {
		e := store.Event{DedupKey: key, Kind: "text", Receiver: "/wecom/callback", ReceivedAt: time.Now(),
			Payload: []byte("<xml><Content>" + secretWords + "</Content></xml>")}
		if _, err := st.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
		ds, err := st.Claim(ctx, "test", 1, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("Claim = %v, %v", ds, err)
		}
		if _, err := st.Fail(ctx, ds[0].Receipt, "decode:\nbad\txml", 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ds[0].ID)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errOut strings.Builder
		if code := run(ctx, args, &out, &errOut, []string{"USER=ops"}); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out.String(), errOut.String())
		}
		if strings.Contains(out.String()+errOut.String(), secretWords) {
			t.Errorf("%v printed the payload", args)
		}
		return out.String()
	}
	out := cli(0, "dead-letters", "list", "-config", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], "msg-1") ||
		!strings.Contains(lines[1], "decode: bad xml") || lines[4] != "3 dead letter(s)" {
		t.Errorf("list:\n%s", out)
	}
	if got := strings.Fields(cli(0, "dead-letters", "list", "-ids", "-config", cfg)); !slices.Equal(got, ids) {
		t.Errorf("list -ids = %v, want %v", got, ids)
	}
	out = cli(0, "dead-letters", "retry", "-config", cfg, "-actor", "王芳", ids[0])
	if !strings.HasPrefix(out, ids[0]+": retried, queued as entry ") {
		t.Errorf("retry: %q", out)
	}
	if out := cli(0, "dead-letters", "drop", "-config", cfg, ids[1]); out != ids[1]+": dropped\n" {
		t.Errorf("drop: %q", out)
	}
	out = cli(1, "dead-letters", "retry", "-config", cfg, ids[1], ids[2])
	if !strings.Contains(out, ids[1]+": no such dead letter") || !strings.Contains(out, ids[2]+": retried") {
		t.Errorf("retry of a dropped and a dead one: %q", out)
	}
	for _, args := range [][]string{
		{"dead-letters"}, {"dead-letters", "resurrect", "-config", cfg}, {"dead-letters", "retry", "-config", cfg},
		{"dead-letters", "list", "-config", cfg, ids[2]}, {"dead-letters", "list"},
	} {
		cli(2, args...)
	}

	st, err = embedded.Open(dbPath, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if s, err := st.QueueStats(ctx); err != nil || s != (store.QueueStats{Ready: 2}) {
		t.Errorf("queue after the commands = %+v, %v; want the two retried ready", s, err)
	}
	entries, err := st.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		var d store.DeadLetterAudit
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Kind+" "+e.Subject+" "+d.Via+" "+d.Actor+" "+d.DedupKey)
		if strings.Contains(string(e.Data), secretWords) {
			t.Errorf("audit entry %s holds the payload", e.ID)
		}
	}
	want := []string{"dead_letter.retry " + ids[0] + " cli 王芳 msg-1", "dead_letter.drop " + ids[1] + " cli ops msg-2",
		"dead_letter.retry " + ids[2] + " cli ops msg-3"}
	if !slices.Equal(got, want) {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// secretWords stand for message text in a dead letter's payload.
const secretWords = "工资条 张三 ¥23,456"
