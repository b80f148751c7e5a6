package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// openRedis opens a store on a private redis-server (redistest.Start
// fails when CI is set and there is none).
func openRedis(t *testing.T) store.Store {
	t.Helper()
	url := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := redis.Open(ctx, redis.Options{URL: url, Namespace: "wwhandlers", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// listing is one list route as the paging test reads it: its target, and
// the ids of the items of one answer.
type listing struct {
	target string
	items  func(body map[string]any) []string
}

// itemsOf reads the items under name, each identified by the members
// named by keys.
func itemsOf(name string, keys ...string) func(map[string]any) []string {
	return func(body map[string]any) []string {
		list, _ := body[name].([]any)
		var ids []string
		for _, it := range list {
			m, _ := it.(map[string]any)
			var id []any
			for _, k := range keys {
				id = append(id, m[k])
			}
			ids = append(ids, fmt.Sprint(id...))
		}
		return ids
	}
}

// pagedItems is how many items the paging test puts in each listing:
// more than a page of pageLimit holds, and not a multiple of it.
const (
	pagedItems = 7
	pageLimit  = 2
)

// seedPaging puts pagedItems items into every listing of e's store.
func seedPaging(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	st := e.store
	for i := range pagedItems {
		u := fmt.Sprintf("u%d", i)
		at := e.now.Add(time.Duration(i/2) * time.Microsecond) // pairs received in the same microsecond
		if err := st.AppendEventLog(ctx, store.LogEntry{Kind: "text", DedupKey: "ev" + u, ReceivedAt: at, Receiver: path}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateObligation(ctx, policy.Obligation{UserID: u, NoticeID: "n", Version: 1, Status: policy.Pending,
			Reason: policy.ReasonPublished, CreatedAt: e.now, DueAt: e.now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Attest(ctx, policy.Attestation{UserID: u, NoticeID: "n", Version: 1, ContentHash: "h",
			Channel: policy.ChannelCard, ReceivedAt: e.now, DedupKey: "d" + u}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutConsent(ctx, policy.Consent{UserID: u, ExternalUserID: "wm", Status: policy.ConsentAgreed, Source: "s"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AppendAudit(ctx, store.AuditEntry{ID: "a" + u, At: e.now, Kind: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutHold(ctx, store.Hold{ID: "h" + u, Subject: u, Reason: "r", CreatedAt: e.now}); err != nil {
			t.Fatal(err)
		}
		run, _, err := st.StartJobRun(ctx, "digest", e.now.Add(-time.Duration(i)*time.Hour), "r", e.now)
		if err != nil {
			t.Fatal(err)
		}
		run.Outcome = store.RunOK
		if err := st.FinishJobRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := st.PutSendResults(ctx, []store.RecipientResult{{NoticeKey: "k:v1", UserID: u, Status: store.StatusSent, At: e.now}}); err != nil {
			t.Fatal(err)
		}
		e.kill("dead-" + u)
	}
	// Not audited: the audit log has its pagedItems entries.
	if _, err := st.RaiseAlerts(ctx, testAlerts(e.now, pagedItems)); err != nil {
		t.Fatal(err)
	}
}

// TestListRoutesPage pages through every list route of the admin API,
// pageLimit items at a time, on both stores, and gets each item exactly
// once; a cursor the listing did not hand out is 400 naming cursor, a
// limit out of 1 to 1000 is 400 naming limit.
func TestListRoutesPage(t *testing.T) {
	for _, backend := range []struct {
		name string
		open func(*testing.T) store.Store
	}{{"embedded", func(t *testing.T) store.Store { return openEmbedded(t) }}, {"redis", openRedis}} {
		t.Run(backend.name, func(t *testing.T) {
			now := time.Date(2026, 12, 5, 3, 29, 54, 0, time.UTC)
			var notices []policy.Notice
			for i := range pagedItems {
				notices = append(notices, policy.Notice{ID: fmt.Sprintf("n%d", i), Version: 1, Title: "t", Template: "ack_card"})
			}
			e := newEnvOn(t, backend.open(t), now, func(o *Options) {
				o.Notices = notices
				o.Jobs = jobsFunc(func() []JobInfo { return []JobInfo{{Name: "digest", Spec: "@daily"}} })
				o.Notify = submitFunc(nil)
			})
			seedPaging(t, e)
			runs := func(body map[string]any) []string {
				jobs, _ := body["jobs"].([]any)
				if len(jobs) != 1 {
					return nil
				}
				return itemsOf("runs", "scheduled_at")(jobs[0].(map[string]any))
			}
			for _, l := range []listing{
				{"/api/v1/events", itemsOf("events", "dedup_key")},
				{"/api/v1/events?kind=text", itemsOf("events", "dedup_key")},
				{"/api/v1/notices", itemsOf("notices", "key")},
				{"/api/v1/obligations", itemsOf("obligations", "user_id")},
				{"/api/v1/attestations", itemsOf("attestations", "user_id")},
				{"/api/v1/consents", itemsOf("consents", "user_id")},
				{"/api/v1/audit", itemsOf("entries", "seq")},
				{"/api/v1/holds", itemsOf("holds", "id")},
				{"/api/v1/jobs?job=digest", runs},
				{"/api/v1/dead-letters", itemsOf("dead_letters", "id")},
				{"/api/v1/sends/k:v1", itemsOf("results", "user_id")},
				{"/api/v1/alerts", itemsOf("alerts", "id")},
				{"/api/v1/alerts?state=open", itemsOf("alerts", "id")},
			} {
				t.Run(l.target, func(t *testing.T) {
					var seen []string
					cursor, pages := "", 0
					for {
						target := fmt.Sprintf("%s%slimit=%d", l.target, sep(l.target), pageLimit)
						if cursor != "" {
							target += "&cursor=" + cursor
						}
						rec := e.admin(target)
						if rec.Code != http.StatusOK {
							t.Fatalf("%s: %d %s", target, rec.Code, rec.Body.String())
						}
						var body map[string]any
						if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
							t.Fatal(err)
						}
						next, ok := body["next_cursor"].(string)
						if !ok {
							t.Fatalf("%s: no next_cursor string in %s", target, rec.Body.String())
						}
						ids := l.items(body)
						if len(ids) > pageLimit || (next != "" && len(ids) != pageLimit) {
							t.Fatalf("%s: %d items with next_cursor %q", target, len(ids), next)
						}
						seen = append(seen, ids...)
						if pages++; next == "" || pages > pagedItems {
							break
						}
						cursor = next
					}
					sorted := slices.Clone(seen)
					slices.Sort(sorted)
					if len(seen) != pagedItems || len(slices.Compact(sorted)) != pagedItems {
						t.Errorf("paged %d items %v, want %d distinct", len(seen), seen, pagedItems)
					}
					if pages != (pagedItems+pageLimit-1)/pageLimit {
						t.Errorf("%d pages, want %d", pages, (pagedItems+pageLimit-1)/pageLimit)
					}
					for _, bad := range []string{"garbage", "bm90LWl0czp4"} {
						rec := e.admin(l.target + sep(l.target) + "cursor=" + bad)
						if rec.Code != http.StatusBadRequest || decodeField(t, rec.Body.Bytes()) != "cursor" {
							t.Errorf("cursor=%s: %d %s, want 400 naming cursor", bad, rec.Code, rec.Body.String())
						}
					}
					for _, bad := range []string{"0", "1001", "ten"} {
						rec := e.admin(l.target + sep(l.target) + "limit=" + bad)
						if rec.Code != http.StatusBadRequest || decodeField(t, rec.Body.Bytes()) != "limit" {
							t.Errorf("limit=%s: %d %s, want 400 naming limit", bad, rec.Code, rec.Body.String())
						}
					}
				})
			}
		})
	}
}

// sep is the separator before one more query parameter of target.
func sep(target string) string {
	if slices.Contains([]byte(target), '?') {
		return "&"
	}
	return "?"
}

// decodeField is the "field" member of an error answer.
func decodeField(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Field string `json:"field"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v.Field
}
