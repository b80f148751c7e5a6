package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// Horizon is how long WeCom keeps archive data (path/91552): a record not
// pulled within it is lost.
const Horizon = 5 * 24 * time.Hour

// Puller defaults.
const (
	DefaultInterval        = time.Minute
	DefaultRetries         = 5
	DefaultBackoff         = time.Second
	MaxBackoff             = 30 * time.Second
	DefaultHorizonFraction = 0.5
)

// Alert kinds the puller raises.
const (
	AlertQuarantine   = "archive.quarantine"     // records that could not be decrypted or decoded
	AlertGap          = "archive.gap"            // a jump in seq
	AlertHorizon      = "archive.horizon"        // the lag passed the configured fraction of the 5-day horizon
	AlertIPNotAllowed = "archive.ip_not_allowed" // SDK 10009
	AlertExpired      = "archive.expired"        // SDK 10010
)

// Alerter raises an alert to people (officers, operators). detail never
// holds chat content or secrets.
type Alerter interface {
	Alert(ctx context.Context, kind, detail string)
}

// Puller pulls the archive from Source into Store: one ChatData page at a
// time, each record decrypted, decided (Ledger), sealed (Keys) and
// indexed (Index), the page stored by one Commit that also moves the
// cursor. A record it cannot decrypt or decode is quarantined, never
// skipped, and never holds the cursor back. Set the exported fields, then
// call PullOnce, Run or RetryQuarantine; don't change them afterwards.
// One Puller should run per archive (a job lease among replicas); two
// that race lose nothing: Commit refuses a moved cursor.
type Puller struct {
	Source wecom.ArchiveSource
	Store  Store
	Keys   *Keys
	Index  IndexKey
	Ledger Ledger
	// Alerts may be nil (then alerts are only logged).
	Alerts Alerter
	// Scanner, when set, scans every stored message with text once,
	// after decryption and before its page is committed (and every
	// message a quarantine retry resolves, before it is stored).
	Scanner *Scanner
	// Log may be nil (slog.Default).
	Log *slog.Logger
	// Clock may be nil (time.Now).
	Clock func() time.Time
	// Sleep waits d or until ctx is done, between retries (nil: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Limit is the page size, 1 to wecom.MaxChatDataLimit (0: the max).
	// It is halved while GetChatData fails to parse (10002) and grows
	// back after pages that succeed.
	Limit int
	// Interval is how long Run waits for a wake before it pulls anyway
	// (DefaultInterval if 0).
	Interval time.Duration
	// Retries is how many times a temporary SDK error (10001–10003) is
	// tried in all before PullOnce gives up (DefaultRetries if 0);
	// Backoff the first wait (DefaultBackoff if 0), doubled each time up
	// to MaxBackoff.
	Retries int
	Backoff time.Duration
	// Workers is how many records are decrypted at once (GOMAXPROCS if
	// 0); Source.Decrypt must be safe for concurrent use, as
	// wecom.ArchiveSource promises.
	Workers int
	// HorizonFraction: alert when the lag passes this fraction of the
	// 5-day horizon (DefaultHorizonFraction if 0).
	HorizonFraction float64

	once sync.Once
	wake chan struct{}

	mu             sync.Mutex
	limit          int
	started        time.Time
	lastPull       time.Time
	lastErr        string
	caughtUp       bool
	lastNewest     time.Time
	horizonAlerted bool
	totals         Totals
}

// Totals count what this Puller did since it was made (for rates).
type Totals struct {
	Pulls       int64 `json:"pulls"`
	Records     int64 `json:"records"`
	Stored      int64 `json:"stored"`
	Duplicates  int64 `json:"duplicates"`
	Withheld    int64 `json:"withheld"`
	Quarantined int64 `json:"quarantined"`
	Gaps        int64 `json:"gaps"`
	Errors      int64 `json:"errors"`
}

// PullResult is what one PullOnce did.
type PullResult struct {
	// From is the cursor pulled after; To the cursor now (From if
	// nothing was stored).
	From, To uint64
	// Records is how many records the page had.
	Records int
	// Stored: messages written; Duplicates: records whose msgid was in
	// the page already or stored before; Withheld: stored without content;
	// Quarantined: records put in quarantine.
	Stored, Duplicates, Withheld, Quarantined int
	Gaps                                      []Gap
	// Lag is clock − the newest msgtime of the page when it was not the
	// last page; 0 when caught up.
	Lag time.Duration
	// CaughtUp: the page was the last one (shorter than the limit).
	CaughtUp bool
	// Scanned: messages scanned with the rules; Hits: alerts raised for
	// them (or found raised already).
	Scanned, Hits int
}

func (p *Puller) init() {
	p.once.Do(func() {
		p.wake = make(chan struct{}, 1)
		p.limit = p.maxLimit()
		p.started = p.now()
	})
}

func (p *Puller) now() time.Time { return clockNow(p.Clock) }

// clockNow is clock's time, or the wall clock's when clock is nil (the
// default of every Clock field in this package).
func clockNow(clock func() time.Time) time.Time {
	if clock != nil {
		return clock()
	}
	return time.Now()
}

func (p *Puller) log() *slog.Logger { return logger(p.Log) }

// logger is l, or slog.Default() when l is nil.
func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

func (p *Puller) maxLimit() int {
	if p.Limit <= 0 || p.Limit > wecom.MaxChatDataLimit {
		return wecom.MaxChatDataLimit
	}
	return p.Limit
}

func (p *Puller) alert(ctx context.Context, kind, detail string) {
	raise(ctx, p.log(), p.Alerts, kind, detail)
}

// raise logs an alert and hands it to a (when a is not nil).
func raise(ctx context.Context, log *slog.Logger, a Alerter, kind, detail string) {
	log.WarnContext(ctx, "archive alert", "kind", kind, "detail", detail)
	if a != nil {
		a.Alert(ctx, kind, detail)
	}
}

func (p *Puller) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry calls f until it succeeds, fails with an error that is not a
// temporary SDK error, or has been tried Retries times, waiting with
// backoff in between. onTemp is called with each temporary error.
func (p *Puller) retry(ctx context.Context, f func() error, onTemp func(*wecom.SDKError)) error {
	tries := p.Retries
	if tries <= 0 {
		tries = DefaultRetries
	}
	wait := p.Backoff
	if wait <= 0 {
		wait = DefaultBackoff
	}
	for attempt := 1; ; attempt++ {
		err := f()
		var se *wecom.SDKError
		if err == nil || !errors.As(err, &se) || !se.Temporary() {
			return err
		}
		if attempt >= tries {
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		if onTemp != nil {
			onTemp(se)
		}
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, MaxBackoff)
	}
}

// fetch reads one page after cursor and returns it with the limit asked.
func (p *Puller) fetch(ctx context.Context, cursor uint64) ([]wecom.ChatRecord, int, error) {
	p.mu.Lock()
	limit := p.limit
	p.mu.Unlock()
	var recs []wecom.ChatRecord
	err := p.retry(ctx, func() error {
		var err error
		recs, err = p.Source.ChatData(ctx, cursor, limit)
		return err
	}, func(se *wecom.SDKError) {
		if se.Code == wecom.SDKErrParse && limit > 1 {
			limit /= 2 // a page too large for the SDK to parse: ask for less
		}
	})
	var se *wecom.SDKError
	if errors.As(err, &se) {
		switch se.Code {
		case wecom.SDKErrIPNotAllowed:
			p.alert(ctx, AlertIPNotAllowed, "GetChatData refused (10009): this host's public IP is not on the archive's trusted IP list in the WeCom admin console; nothing is pulled until it is added, and records older than 5 days are lost")
		case wecom.SDKErrExpired:
			p.alert(ctx, AlertExpired, fmt.Sprintf("GetChatData after seq %d: data expired (10010): records past the 5-day horizon are lost", cursor))
		}
	}
	if err != nil {
		return nil, limit, fmt.Errorf("archive: chat data after seq %d (limit %d): %w", cursor, limit, err)
	}
	p.mu.Lock()
	if len(recs) == limit && limit < p.maxLimit() {
		p.limit = min(2*limit, p.maxLimit())
	} else {
		p.limit = limit
	}
	p.mu.Unlock()
	return recs, limit, nil
}

// PullOnce pulls one page after the stored cursor and stores it with the
// new cursor in one Commit. On an error nothing is stored and the cursor
// stays (ErrCursorMoved, wrapped, if another puller committed first).
func (p *Puller) PullOnce(ctx context.Context) (PullResult, error) {
	p.init()
	res, err := p.pullOnce(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastPull = p.now()
	p.totals.Pulls++
	if err != nil {
		p.lastErr = err.Error()
		p.totals.Errors++
		return res, err
	}
	p.lastErr = ""
	p.caughtUp = res.CaughtUp
	if !res.CaughtUp && res.Lag > 0 {
		p.lastNewest = p.lastPull.Add(-res.Lag)
	}
	p.totals.Records += int64(res.Records)
	p.totals.Stored += int64(res.Stored)
	p.totals.Duplicates += int64(res.Duplicates)
	p.totals.Withheld += int64(res.Withheld)
	p.totals.Quarantined += int64(res.Quarantined)
	p.totals.Gaps += int64(len(res.Gaps))
	return res, nil
}

// check reports a Puller field left unset.
func (p *Puller) check() error {
	switch {
	case p.Source == nil:
		return errors.New("archive: puller: Source is nil")
	case p.Store == nil:
		return errors.New("archive: puller: Store is nil")
	case p.Keys == nil:
		return errors.New("archive: puller: Keys is nil")
	case p.Ledger == nil:
		return errors.New("archive: puller: Ledger is nil")
	case !p.Index.Valid():
		return errors.New("archive: puller: Index is not set (use ParseIndexKey)")
	}
	return nil
}

func (p *Puller) pullOnce(ctx context.Context) (PullResult, error) {
	if err := p.check(); err != nil {
		return PullResult{}, err
	}
	cursor, err := p.Store.Cursor(ctx)
	if err != nil {
		return PullResult{}, fmt.Errorf("archive: read cursor: %w", err)
	}
	res := PullResult{From: cursor, To: cursor}
	recs, limit, err := p.fetch(ctx, cursor)
	var se *wecom.SDKError
	if errors.As(err, &se) && se.Code == wecom.SDKErrExpired && cursor > 0 {
		return p.skipExpired(ctx, res, err)
	}
	if err != nil {
		return res, err
	}
	res.Records = len(recs)
	res.CaughtUp = len(recs) < limit
	if len(recs) == 0 {
		p.checkHorizon(ctx, 0)
		return res, nil
	}

	now := p.now().UTC()
	d := newDecider(p.Ledger)
	b := Batch{From: cursor, To: cursor}
	seen := make(map[string]bool, len(recs))
	var scan []ScanItem
	prev := cursor
	var newest time.Time
	// Decrypting is the slow part (an RSA operation per record): it runs
	// on Workers goroutines; deciding runs in seq order, since an agree
	// or disagree record changes the decision for the messages after it.
	opened := p.openAll(ctx, recs)
	for i, r := range recs {
		if prev != 0 && r.Seq > prev+1 {
			b.Gaps = append(b.Gaps, Gap{After: prev, Before: r.Seq, Detected: now})
		}
		prev = max(prev, r.Seq)
		b.To = max(b.To, r.Seq)
		if seen[r.MsgID] {
			res.Duplicates++
			continue
		}
		seen[r.MsgID] = true
		m, q, err := p.finish(ctx, d, r, opened[i], now)
		if err != nil {
			return res, err
		}
		if q != nil {
			b.Quarantine = append(b.Quarantine, *q)
			continue
		}
		if m.Time.After(newest) {
			newest = m.Time
		}
		if m.Withheld != "" {
			res.Withheld++
		}
		if scannable(m) && opened[i].cm.Text != "" {
			scan = append(scan, ScanItem{Message: m, Text: opened[i].cm.Text})
		}
		b.Messages = append(b.Messages, m)
	}
	// Hits are raised before the page is committed: a crash in between
	// pulls the page again, and raising again is a no-op.
	sr, err := p.Scanner.Scan(ctx, scan)
	if err != nil {
		return res, err
	}
	res.Scanned, res.Hits = sr.Scanned, sr.Hits
	cr, err := p.Store.Commit(ctx, b)
	if err != nil {
		return res, fmt.Errorf("archive: commit seq %d–%d: %w", b.From, b.To, err)
	}
	res.To = b.To
	res.Stored = cr.Stored
	res.Duplicates += cr.Duplicates
	res.Quarantined = len(b.Quarantine)
	res.Gaps = b.Gaps
	if !res.CaughtUp && !newest.IsZero() {
		res.Lag = max(now.Sub(newest), 0)
	}

	if len(b.Quarantine) > 0 {
		p.alert(ctx, AlertQuarantine, quarantineDetail(b.Quarantine))
	}
	for _, g := range b.Gaps {
		p.alert(ctx, AlertGap, fmt.Sprintf("seq jumps from %d to %d: %d seq numbers never arrived", g.After, g.Before, g.Before-g.After-1))
	}
	p.checkHorizon(ctx, res.Lag)
	p.log().InfoContext(ctx, "archive pulled", "from", res.From, "to", res.To, "records", res.Records,
		"stored", res.Stored, "duplicates", res.Duplicates, "withheld", res.Withheld,
		"quarantined", res.Quarantined, "gaps", len(res.Gaps), "lag", res.Lag, "scanned", res.Scanned, "hits", res.Hits)
	return res, nil
}

// skipExpired handles 10010 for the records after res.From: they
// expired at WeCom before they were pulled, and every pull from the
// cursor would fail the same way. It asks where the archive begins now
// (seq 0, limit 1: the oldest record kept) and, if that is past the
// cursor, records the loss as a gap and moves the cursor to just before
// it in one Commit, so the next pull goes on from there. Otherwise it
// returns expired, the original error.
func (p *Puller) skipExpired(ctx context.Context, res PullResult, expired error) (PullResult, error) {
	var oldest []wecom.ChatRecord
	err := p.retry(ctx, func() error {
		var err error
		oldest, err = p.Source.ChatData(ctx, 0, 1)
		return err
	}, nil)
	if err != nil || len(oldest) == 0 || oldest[0].Seq <= res.From+1 {
		return res, expired
	}
	g := Gap{After: res.From, Before: oldest[0].Seq, Detected: p.now().UTC()}
	b := Batch{From: res.From, To: g.Before - 1, Gaps: []Gap{g}}
	if _, err := p.Store.Commit(ctx, b); err != nil {
		return res, fmt.Errorf("archive: commit the expired seqs %d–%d as a gap: %w", g.After+1, g.Before-1, err)
	}
	res.To, res.Gaps = b.To, b.Gaps
	p.alert(ctx, AlertGap, fmt.Sprintf("records after seq %d expired at WeCom before they were pulled (10010) and are lost; the archive goes on from seq %d, the oldest WeCom still keeps", g.After, g.Before))
	return res, nil
}

// quarantineDetail summarises a batch's quarantined records for one
// alert: how many, why, and the first few by seq and msgid.
func quarantineDetail(qs []Quarantined) string {
	var reasons []string
	for _, q := range qs {
		if !slices.Contains(reasons, q.Reason) {
			reasons = append(reasons, q.Reason)
		}
	}
	var first []string
	for _, q := range qs[:min(len(qs), 5)] {
		first = append(first, fmt.Sprintf("seq %d msgid %s", q.Record.Seq, q.Record.MsgID))
	}
	more := ""
	if len(qs) > 5 {
		more = fmt.Sprintf(", and %d more", len(qs)-5)
	}
	return fmt.Sprintf("%d records quarantined (%s%s): %s; they are kept encrypted — run retry-quarantine once they can be decrypted",
		len(qs), strings.Join(first, ", "), more, strings.Join(reasons, "; "))
}

func (p *Puller) horizonLimit() time.Duration {
	f := p.HorizonFraction
	if f <= 0 {
		f = DefaultHorizonFraction
	}
	return time.Duration(f * float64(Horizon))
}

// checkHorizon alerts when lag passes the horizon limit (once, until it
// falls below again).
func (p *Puller) checkHorizon(ctx context.Context, lag time.Duration) {
	limit := p.horizonLimit()
	p.mu.Lock()
	fire := lag > limit && !p.horizonAlerted
	p.horizonAlerted = lag > limit
	p.mu.Unlock()
	if fire {
		p.alert(ctx, AlertHorizon, fmt.Sprintf("the archive lags %s behind WeCom, past %s of its 5-day horizon: records older than 5 days are lost", lag.Round(time.Second), limit))
	}
}

// Quarantine reasons start with one of these.
const (
	ReasonNoKey        = "no_key"        // no private key for the record's publickey_ver
	ReasonDecrypt      = "decrypt"       // SDK 10006 / 10008: the key does not fit or the record is corrupt
	ReasonUndecodable  = "undecodable"   // the plaintext is not a message
	ReasonDecryptOther = "decrypt_error" // another SDK code
)

// decrypt returns the plaintext of r, or a quarantine reason, or an
// error that must stop the pull (temporary failures that outlasted the
// retries, a cancelled context).
func (p *Puller) decrypt(ctx context.Context, r wecom.ChatRecord) (plain []byte, reason string, err error) {
	retried10008 := false
	err = p.retry(ctx, func() error {
		var err error
		plain, err = p.Source.Decrypt(ctx, r)
		var se *wecom.SDKError
		if errors.As(err, &se) && se.Code == wecom.SDKErrDecryptKey && !retried10008 {
			retried10008 = true // official advice: retry once, then report
			plain, err = p.Source.Decrypt(ctx, r)
		}
		return err
	}, nil)
	if err == nil {
		return plain, "", nil
	}
	var se *wecom.SDKError
	switch {
	case errors.Is(err, wecom.ErrNoArchiveKey):
		return nil, fmt.Sprintf("%s: no private key for publickey_ver %d", ReasonNoKey, r.PublicKeyVer), nil
	case errors.As(err, &se) && !se.Temporary():
		switch se.Code {
		case wecom.SDKErrDecrypt, wecom.SDKErrDecryptKey:
			return nil, fmt.Sprintf("%s: code %d with the key of publickey_ver %d", ReasonDecrypt, se.Code, r.PublicKeyVer), nil
		}
		return nil, fmt.Sprintf("%s: code %d", ReasonDecryptOther, se.Code), nil
	}
	return nil, "", fmt.Errorf("archive: decrypt seq %d msgid %s: %w", r.Seq, r.MsgID, err)
}

// openedRecord is a record decrypted and decoded, or why not.
type openedRecord struct {
	cm     wecom.ChatMessage
	reason string // a quarantine reason
	err    error  // stops the pull
}

// openRecord decrypts and decodes r.
func (p *Puller) openRecord(ctx context.Context, r wecom.ChatRecord) openedRecord {
	plain, reason, err := p.decrypt(ctx, r)
	if err != nil || reason != "" {
		return openedRecord{reason: reason, err: err}
	}
	cm, err := wecom.DecodeChatMessage(plain)
	if err != nil {
		return openedRecord{reason: ReasonUndecodable + ": " + err.Error()} // the decoder never quotes the plaintext
	}
	return openedRecord{cm: cm}
}

// openAll opens recs on Workers goroutines, each result at its record's
// index.
func (p *Puller) openAll(ctx context.Context, recs []wecom.ChatRecord) []openedRecord {
	out := make([]openedRecord, len(recs))
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(recs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				out[i] = p.openRecord(ctx, recs[i])
			}
		})
	}
	for i := range recs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// finish turns an opened record into a message to store or a quarantined
// record.
func (p *Puller) finish(ctx context.Context, d *decider, r wecom.ChatRecord, o openedRecord, now time.Time) (Message, *Quarantined, error) {
	if o.err != nil {
		return Message{}, nil, o.err
	}
	if o.reason != "" {
		return Message{}, &Quarantined{Record: r, Reason: o.reason, Since: now, Attempts: 1}, nil
	}
	m, err := p.build(ctx, d, r, o.cm, now)
	return m, nil, err
}

// build decides what is kept of cm and seals it.
func (p *Puller) build(ctx context.Context, d *decider, r wecom.ChatRecord, cm wecom.ChatMessage, now time.Time) (Message, error) {
	dec, err := d.decide(ctx, cm)
	if err != nil {
		return Message{}, fmt.Errorf("archive: decide seq %d msgid %s: %w", r.Seq, r.MsgID, err)
	}
	m := Message{
		MsgID:        r.MsgID,
		Seq:          r.Seq,
		PublicKeyVer: r.PublicKeyVer,
		Action:       cm.Action,
		Type:         cm.Type,
		From:         cm.From,
		ToList:       cm.ToList,
		RoomID:       cm.RoomID,
		External:     cm.External(),
		Withheld:     dec.Withheld,
		Consent:      dec.Consent,
		PreMsgID:     cm.PreMsgID,
		StoredAt:     now,
	}
	if !cm.Time.IsZero() {
		m.Time = cm.Time.UTC()
	}
	if cm.Action == wecom.ActionSwitch {
		m.From = cm.SwitchUser
		m.Conversation = "switch:" + cm.SwitchUser
	} else {
		m.Conversation = ConversationID(cm.From, cm.ToList, cm.RoomID)
	}
	// A message without a time (msgtime 0 in the doc's examples) is
	// filed under the day it was stored, so retention still reaches it.
	m.KeyDay = KeyDay(now)
	if m.Time.Unix() > 0 {
		m.KeyDay = KeyDay(m.Time)
	}
	if m.Withheld != "" {
		return m, nil
	}
	m.KeyID, m.Content, err = p.Keys.Seal(ctx, m.KeyDay, m.MsgID, cm.Raw)
	if err != nil {
		return Message{}, err
	}
	m.Tokens = p.Index.Tokens(cm.Text)
	m.Media = cm.Media
	return m, nil
}

// RetryQuarantine tries every quarantined record again (after a key was
// added to the source, say): one that decrypts now is decided, sealed and
// stored, and leaves the quarantine (ResolveQuarantine); one that does not
// gets one more attempt recorded (TouchQuarantine). It returns how many
// were resolved and how many remain.
func (p *Puller) RetryQuarantine(ctx context.Context) (resolved, remaining int, err error) {
	p.init()
	if err := p.check(); err != nil {
		return 0, 0, err
	}
	var items []Quarantined
	cursor := ""
	for {
		page, next, err := p.Store.ListQuarantine(ctx, cursor, 500)
		if err != nil {
			return 0, 0, fmt.Errorf("archive: list quarantine: %w", err)
		}
		items = append(items, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	now := p.now().UTC()
	d := newDecider(p.Ledger)
	for i, q := range items {
		o := p.openRecord(ctx, q.Record)
		m, still, err := p.finish(ctx, d, q.Record, o, now)
		if err != nil {
			return resolved, len(items) - i, err
		}
		if still == nil && scannable(m) && o.cm.Text != "" {
			if _, err := p.Scanner.Scan(ctx, []ScanItem{{Message: m, Text: o.cm.Text}}); err != nil {
				return resolved, len(items) - i, err
			}
		}
		if still != nil {
			if err := p.Store.TouchQuarantine(ctx, q.Record.MsgID, still.Reason); err != nil && !errors.Is(err, ErrNotFound) {
				return resolved, len(items) - i, fmt.Errorf("archive: touch quarantine %s: %w", q.Record.MsgID, err)
			}
			remaining++
			continue
		}
		switch err := p.Store.ResolveQuarantine(ctx, m); {
		case err == nil:
			resolved++
		case errors.Is(err, ErrNotFound): // another retry resolved it
		default:
			return resolved, len(items) - i, fmt.Errorf("archive: resolve quarantine %s: %w", q.Record.MsgID, err)
		}
	}
	if resolved > 0 {
		p.mu.Lock()
		p.totals.Stored += int64(resolved)
		p.mu.Unlock()
	}
	p.log().InfoContext(ctx, "archive quarantine retried", "resolved", resolved, "remaining", remaining)
	return resolved, remaining, nil
}

// Wake asks Run for another pass (msgaudit_notify). Wakes coalesce: any
// number of them while a pass runs cause one more pass. It never blocks.
func (p *Puller) Wake() {
	p.init()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run pulls until caught up, then waits for a Wake or Interval, and
// again, until ctx is done (it returns ctx's error). Errors of a pass are
// logged (and alerted where they need people) and the pass is tried again
// at the next wake or tick.
func (p *Puller) Run(ctx context.Context) error {
	p.init()
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	for {
		p.pass(ctx)
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-p.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// pass pulls pages until caught up or an error.
func (p *Puller) pass(ctx context.Context) {
	for ctx.Err() == nil {
		res, err := p.PullOnce(ctx)
		if err != nil {
			if ctx.Err() == nil {
				level := slog.LevelError
				if errors.Is(err, ErrCursorMoved) {
					level = slog.LevelInfo // another puller got there first
				}
				p.log().Log(ctx, level, "archive pull failed", "cursor", res.From, "err", err)
			}
			return
		}
		if res.CaughtUp {
			return
		}
	}
}

// Status is the archive's state for `wecomply archive status`, GET
// /api/v1/archive/status and metrics.
type Status struct {
	Stats
	// Lag is how far the puller is behind (0 when its last page was the
	// last one): now − the newest msgtime of its last page.
	Lag time.Duration `json:"lag"`
	// LagSeconds is Lag in seconds (for JSON readers and metrics).
	LagSeconds float64 `json:"lag_seconds"`
	// HorizonUsed is Lag as a fraction of the 5-day horizon.
	HorizonUsed float64   `json:"horizon_used"`
	CaughtUp    bool      `json:"caught_up"`
	LastPull    time.Time `json:"last_pull,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// Since is when this puller started; Totals count since then, and
	// StoredPerSecond is Totals.Stored over that time.
	Since           time.Time `json:"since"`
	Totals          Totals    `json:"totals"`
	StoredPerSecond float64   `json:"stored_per_second"`
	// GapList is the gaps recorded (Stats.Gaps counts them).
	GapList []Gap `json:"gap_list,omitempty"`
}

// Status reports the store's state with this puller's lag and counts.
func (p *Puller) Status(ctx context.Context) (Status, error) {
	p.init()
	st, err := p.Store.Stats(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("archive: status: %w", err)
	}
	gaps, err := p.Store.ListGaps(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("archive: status: gaps: %w", err)
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{Stats: st, CaughtUp: p.caughtUp, LastPull: p.lastPull, LastError: p.lastErr,
		Since: p.started, Totals: p.totals, GapList: gaps}
	if !p.caughtUp && !p.lastNewest.IsZero() {
		s.Lag = max(now.Sub(p.lastNewest), 0)
	}
	s.LagSeconds = s.Lag.Seconds()
	s.HorizonUsed = float64(s.Lag) / float64(Horizon)
	if el := now.Sub(p.started).Seconds(); el > 0 {
		s.StoredPerSecond = float64(p.totals.Stored) / el
	}
	return s, nil
}
