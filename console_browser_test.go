package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/wecomply/wecomply/console/evidence"
	"github.com/wecomply/wecomply/handlers"
)

// chromium returns Debian's chromium, or skips the test without it;
// under CI=true a missing browser fails it (scripts/test installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); the browser tests must run in CI")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// artifactDir is where screenshots go: $WECOMPLY_TEST_ARTIFACTS/<name>,
// or a fresh temp dir that is kept, named in the log.
func artifactDir(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("WECOMPLY_TEST_ARTIFACTS")
	var err error
	if dir != "" {
		dir = filepath.Join(dir, name)
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "wecomply-"+name+"-")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newBrowser starts headless chromium with a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// TestConsoleInBrowser drives the sandbox's console in headless
// Chromium as an officer would: sign in through the fake WeCom "as 王芳",
// see the dashboard, open a person, place and release a legal hold on
// them, switch to English, download a person's evidence pack and verify
// it against the published key, make a pseudonymised export through the
// transfer register's form and see it listed. Each step leaves a
// screenshot.
func TestConsoleInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	dir := artifactDir(t, "console")
	sb, _ := runSandbox(t, t.TempDir(), 1)
	base := sb.base + "/console/"
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			shot("failed-" + strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s (at %s): %v", step, loc, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Without a session the console sends the browser to sign in.
	do("open the console", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#signin-oauth")))
	shot("01-signin")
	// The in-WeCom OAuth link leads to the fake WeCom's page: pick 王芳.
	do("sign in through the fake OAuth", chromedp.Click(chromedp.CSS("#signin-oauth")),
		chromedp.WaitVisible(chromedp.CSS(`button[data-userid="wangfang"]`)))
	shot("02-fake-wecom")
	do("pick 王芳", chromedp.Click(chromedp.CSS(`button[data-userid="wangfang"]`)), chromedp.WaitVisible(chromedp.CSS("#who")),
		chromedp.WaitVisible(chromedp.CSS(".notice-coverage svg")))
	if who := text("#who"); !strings.Contains(who, "王芳") || !strings.Contains(who, "合规专员") {
		t.Errorf("signed in as %q, want 王芳, officer", who)
	}
	if zone := text("#zone"); !strings.Contains(zone, "Asia/Shanghai") {
		t.Errorf("the dashboard does not name its time zone: %q", zone)
	}
	shot("03-dashboard")

	// A salesperson's timeline.
	do("open a person", chromedp.Navigate(base+"people/sunlei"), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	if tl := text("#timeline"); !strings.Contains(tl, "archive:v1") {
		t.Errorf("孙磊's timeline lacks the notice: %q", tl)
	}
	shot("04-person")

	// Place a hold on them from their page, then release it.
	do("place a hold", chromedp.Click(chromedp.CSS("#hold-person")), chromedp.WaitVisible(chromedp.CSS("#hold-reason")),
		chromedp.SendKeys(chromedp.CSS("#hold-reason"), "案件 2026-17 调查"),
		chromedp.Click(chromedp.CSS("#hold-submit")),
		chromedp.WaitVisible(chromedp.CSS(`tr.hold[data-subject="sunlei"]`)))
	shot("05-hold-placed")
	hs, err := sb.app.store.ListHolds(context.Background())
	if err != nil || len(hs) != 1 || hs[0].Subject != "sunlei" || hs[0].CreatedBy != "wangfang" {
		t.Fatalf("holds after placing = %+v, %v", hs, err)
	}
	do("release the hold", chromedp.Click(chromedp.CSS(`tr.hold[data-subject="sunlei"] button.release`)),
		chromedp.WaitVisible(chromedp.CSS("#no-holds")))
	shot("06-hold-released")
	if hs, err := sb.app.store.ListHolds(context.Background()); err != nil || len(hs) != 0 {
		t.Errorf("holds after releasing = %+v, %v", hs, err)
	}

	// The notice's exact text, by the content hash of what was sent.
	do("open the notice", chromedp.Navigate(base+"notices/archive/1"), chromedp.WaitVisible(chromedp.CSS(".text")))
	// Every delivery's content hash is that of a text rendered again from
	// the processor's card data: the texts shown are the texts sent.
	want := fmt.Sprintf("使用此哈希的送达 %d", len(sb.org.Audience(sb.policy)))
	if texts := text("main"); !strings.Contains(texts, want) {
		t.Errorf("the notice page does not find the sent text by its hash (%q):\n%s", want, texts)
	}
	shot("07-notice-texts")

	// The archive: the newest chats, then one conversation.
	// (The sandbox adds demo chats as it starts; the puller stores them
	// shortly after: reload until the search shows one.)
	const chatLink = `a[href^="/console/archive/conversation"]`
	deadline := time.Now().Add(30 * time.Second)
	for {
		do("search the archive", chromedp.Navigate(base+"archive?go=1"), chromedp.WaitVisible(chromedp.CSS("h1")))
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+chatLink+`') !== null`))
		if err != nil {
			t.Fatal(err)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			shot("failed-archive")
			t.Fatal("no archived chat in the console's archive search within 30s")
		}
		do("wait", chromedp.Sleep(500*time.Millisecond))
	}
	shot("08-archive-search")
	do("open a conversation", chromedp.Click(chromedp.CSS(chatLink)), chromedp.WaitVisible(chromedp.CSS("table td")))
	shot("09-archive-conversation")

	// English, remembered on the next page.
	do("switch to English", chromedp.Click(chromedp.CSS("#lang-en")), chromedp.WaitVisible(chromedp.CSS("#lang-zh")),
		chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS(".notice-coverage svg")))
	if nav := text("header nav"); !strings.Contains(nav, "Dashboard") || !strings.Contains(nav, "Legal holds") {
		t.Errorf("the navigation is not English: %q", nav)
	}
	if zone := text("#zone"); !strings.Contains(zone, "All times are in Asia/Shanghai") {
		t.Errorf("zone line in English: %q", zone)
	}
	shot("10-dashboard-en")

	// A person's evidence pack, downloaded and verified offline against
	// the key the server publishes.
	downloads := t.TempDir()
	do("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: ptr(true)})
		return err
	}))
	// download runs actions that start a download and returns the file,
	// once the browser says it is complete.
	download := func(step string, actions ...chromedp.Action[chromedp.Void]) []byte {
		t.Helper()
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		progress := chromedp.Events(dctx, browser.DownloadProgress)
		do(step, actions...)
		for ev, err := range progress {
			if err != nil {
				shot("failed-" + strings.ReplaceAll(step, " ", "-"))
				t.Fatalf("%s: no completed download: %v", step, err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatalf("%s: the download was cancelled", step)
			}
			if ev.State != browser.DownloadProgressStateCompleted {
				continue
			}
			b, err := os.ReadFile(filepath.Join(downloads, ev.GUID))
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			return b
		}
		t.Fatalf("%s: the download events ended", step)
		return nil
	}
	do("open the person again", chromedp.Navigate(base+"people/sunlei"), chromedp.WaitVisible(chromedp.CSS("#evidence-person")))
	pack := download("download the evidence pack", chromedp.Click(chromedp.CSS("#evidence-person")))
	shot("11-evidence-pack")
	pub := publishedEvidenceKey(t, sb.base)
	if err := evidence.Verify(bytes.NewReader(pack), int64(len(pack)), pub); err != nil {
		t.Errorf("the downloaded pack (%d bytes) does not verify against %s: %v", len(pack), handlers.EvidenceKeyPath, err)
	}

	// A pseudonymised export through the register's form, then listed.
	do("open the transfers", chromedp.Click(chromedp.CSS("#nav-transfers")), chromedp.WaitVisible(chromedp.CSS("#transfer-form")),
		chromedp.SendKeys(chromedp.CSS("#tr-destination"), "Head office compliance, Frankfurt, DE"),
		chromedp.SendKeys(chromedp.CSS("#tr-purpose"), "quarterly group compliance report"),
		chromedp.SendKeys(chromedp.CSS("#tr-legal-basis"), "PIPL Art. 38(1)(3) standard contract"),
		chromedp.SendKeys(chromedp.CSS("#tr-approver"), "陈静"))
	shot("12-transfer-form")
	export := download("export", chromedp.Click(chromedp.CSS("#transfer-submit")))
	for _, id := range sb.org.Audience(sb.policy) {
		if bytes.Contains(export, []byte(`"`+id+`"`)) {
			t.Errorf("the pseudonymised export names %q", id)
		}
	}
	if !bytes.Contains(export, []byte(`"user": "u_`)) {
		t.Errorf("the export has no pseudonymised user:\n%.400s", export)
	}
	sum := sha256.Sum256(export)
	row := fmt.Sprintf(`tr.transfer[data-sha256="%x"]`, sum)
	do("see it listed", chromedp.Navigate(base+"transfers"), chromedp.WaitVisible(chromedp.CSS(row)))
	if got := text(row); !strings.Contains(got, "Frankfurt") || !strings.Contains(got, "wangfang") || !strings.Contains(got, "陈静") {
		t.Errorf("the register's row: %q", got)
	}
	shot("13-transfer-register")

	es, err := sb.app.store.ListAudit(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		kinds = append(kinds, e.Kind)
	}
	all := strings.Join(kinds, " ")
	for _, want := range []string{"console.signin", "console.view", "hold.create", "hold.release", evidence.KindPack, evidence.KindTransfer} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log has no %s entry", want)
		}
	}
}

// publishedEvidenceKey fetches the key evidence packs verify with, as an
// examiner would: over HTTP from the server's well-known path.
func publishedEvidenceKey(t *testing.T, base string) ed25519.PublicKey {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + handlers.EvidenceKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", handlers.EvidenceKeyPath, resp.StatusCode, err)
	}
	pub, err := evidence.ParsePublicKey(body)
	if err != nil {
		t.Fatalf("the published key: %v\n%s", err, body)
	}
	return pub
}

func ptr[T any](v T) *T { return &v }
