package archive

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wecomply/wecomply/blob"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// Archive reads the archive for people: search, one message, export,
// purge. Every read of content is written to the audit log first (who,
// what was asked without its text, how many results); a read whose audit
// record cannot be written returns an error and no content.
type Archive struct {
	Store Store
	Keys  *Keys
	Index IndexKey
	Audit Auditor
	// Blobs holds the downloaded media (MediaFetcher); nil when media
	// content is not kept (Media then fails).
	Blobs blob.Store
	// Clock may be nil (time.Now).
	Clock func() time.Time
}

// Auditor writes one audit record per read of the archive.
type Auditor interface {
	AuditArchive(ctx context.Context, r AuditRecord) error
}

// Audit actions.
const (
	AuditSearch = "archive.search"
	AuditRead   = "archive.read"
	AuditExport = "archive.export"
	AuditPurge  = "archive.purge"
	AuditMedia  = "archive.media"
)

// AuditRecord is what the audit log keeps of one read. The query's text
// is personal data: only its keyed hash (QueryHash) is kept, which the
// holder of the index key can recompute for a suspected text
// (Archive.QueryHash) but nobody can read back.
type AuditRecord struct {
	Actor     string        `json:"actor"`
	Action    string        `json:"action"`
	At        time.Time     `json:"at"`
	Filters   SearchFilters `json:"filters"`
	QueryHash string        `json:"query_hash,omitempty"`
	Count     int           `json:"count"`
	// MsgIDs are the messages whose content was returned (search and
	// read; an export records FileSHA256 instead).
	MsgIDs     []string `json:"msgids,omitempty"`
	FileSHA256 string   `json:"file_sha256,omitempty"`
	// Day and Deleted, Shredded describe a purge.
	Day      string `json:"day,omitempty"`
	Deleted  int    `json:"deleted,omitempty"`
	Shredded bool   `json:"shredded,omitempty"`
}

// SearchFilters are a query's filters without its text.
type SearchFilters struct {
	User         string    `json:"user,omitempty"`
	Customer     string    `json:"customer,omitempty"`
	Room         string    `json:"room,omitempty"`
	Conversation string    `json:"conversation,omitempty"`
	Type         string    `json:"type,omitempty"`
	From         time.Time `json:"from,omitzero"`
	To           time.Time `json:"to,omitzero"`
	MsgID        string    `json:"msgid,omitempty"`
}

// SearchQuery selects messages for people. Empty fields do not filter.
type SearchQuery struct {
	SearchFilters
	// Text: every whitespace-separated part must occur in the message's
	// text (after Normalize). It must hold at least one token (a letter,
	// digit or CJK character).
	Text      string `json:"text,omitempty"`
	Ascending bool   `json:"ascending,omitempty"`
	Cursor    string `json:"cursor,omitempty"`
	// Limit: default 100, at most 1,000.
	Limit int `json:"limit,omitempty"`
}

// Result is one message with its content opened.
type Result struct {
	Message
	// Content is the plaintext JSON as WeCom sent it; empty when withheld
	// or unreadable.
	Content json.RawMessage `json:"content,omitempty"`
	// Text is the message's searchable text.
	Text string `json:"text,omitempty"`
	// Unreadable says why Content could not be opened (its data key was
	// destroyed, it does not authenticate), "" otherwise.
	Unreadable string `json:"unreadable,omitempty"`
}

// ErrQueryText: the query's text holds nothing the index knows (only
// spaces, punctuation, symbols or emoji).
var ErrQueryText = errors.New("archive: query text has no letter, digit or CJK character to search by")

func (a *Archive) now() time.Time { return clockNow(a.Clock).UTC() }

// QueryHash is the keyed hash of a query text that audit records keep
// ("" for no text).
func (a *Archive) QueryHash(text string) string {
	if text == "" {
		return ""
	}
	mac := hmac.New(sha256.New, a.Index.key.b)
	mac.Write([]byte("wecomply-archive-query-v1|"))
	mac.Write([]byte(Normalize(text)))
	return hex.EncodeToString(mac.Sum(nil))
}

const (
	defaultSearchLimit = 100
	maxSearchLimit     = 1000
	// searchPages bounds how many store pages one Search reads to fill a
	// page of checked results.
	searchPages = 20
)

// Search returns a page of messages matching q with their content
// opened, and the cursor of the next page ("" after the last). With a
// text, the index narrows the candidates and each is decrypted and
// checked (Matches), so a page may hold fewer than Limit results while
// more follow. The search is audited before it returns.
func (a *Archive) Search(ctx context.Context, actor string, q SearchQuery) ([]Result, string, error) {
	res, next, err := a.search(ctx, q)
	if err != nil {
		return nil, "", err
	}
	rec := AuditRecord{Actor: actor, Action: AuditSearch, Filters: q.SearchFilters, QueryHash: a.QueryHash(q.Text), Count: len(res)}
	for _, r := range res {
		if len(r.Content) > 0 {
			rec.MsgIDs = append(rec.MsgIDs, r.MsgID)
		}
	}
	if err := a.audit(ctx, rec); err != nil {
		return nil, "", err
	}
	return res, next, nil
}

func (a *Archive) search(ctx context.Context, q SearchQuery) ([]Result, string, error) {
	if a.Store == nil || a.Keys == nil || !a.Index.Valid() {
		return nil, "", errors.New("archive: Archive needs Store, Keys and Index")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultSearchLimit
	}
	limit = min(limit, maxSearchLimit)
	sq := Query{
		User: q.User, Customer: q.Customer, Room: q.Room, Conversation: q.Conversation,
		Type: q.Type, From: q.From, To: q.To, Ascending: q.Ascending, Cursor: q.Cursor,
	}
	if q.Text != "" {
		sq.Tokens = a.Index.QueryTokens(q.Text)
		if len(sq.Tokens) == 0 {
			return nil, "", ErrQueryText
		}
	}
	if q.MsgID != "" {
		r, err := a.get(ctx, q.MsgID)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, "", nil
		case err != nil:
			return nil, "", err
		case q.Text != "" && !Matches(r.Text, q.Text):
			return nil, "", nil
		}
		return []Result{r}, "", nil
	}
	var out []Result
	for range searchPages {
		sq.Limit = limit - len(out)
		msgs, next, err := a.Store.Search(ctx, sq)
		if err != nil {
			return nil, "", fmt.Errorf("archive: search: %w", err)
		}
		for _, m := range msgs {
			r := a.open(ctx, m)
			if q.Text != "" && (r.Unreadable != "" || !Matches(r.Text, q.Text)) {
				continue // the index only narrows
			}
			out = append(out, r)
		}
		sq.Cursor = next
		if next == "" || len(out) >= limit {
			break
		}
	}
	return out, sq.Cursor, nil
}

// open decrypts m's content (a Result with Unreadable set if it cannot).
func (a *Archive) open(ctx context.Context, m Message) Result {
	r := Result{Message: m}
	if m.Withheld != "" {
		return r
	}
	plain, err := a.Keys.Open(ctx, m)
	if err != nil {
		if errors.Is(err, ErrKeyDestroyed) {
			r.Unreadable = "data key destroyed"
		} else {
			r.Unreadable = err.Error()
		}
		return r
	}
	r.Content = plain
	if cm, err := wecom.DecodeChatMessage(plain); err == nil {
		r.Text = cm.Text
	}
	return r
}

func (a *Archive) get(ctx context.Context, msgID string) (Result, error) {
	m, err := a.Store.GetMessage(ctx, msgID)
	if err != nil {
		return Result{}, fmt.Errorf("archive: get %s: %w", msgID, err)
	}
	return a.open(ctx, m), nil
}

// Get returns one message with its content opened (ErrNotFound,
// wrapped, if there is none), audited.
func (a *Archive) Get(ctx context.Context, actor, msgID string) (Result, error) {
	r, err := a.get(ctx, msgID)
	if err != nil {
		return Result{}, err
	}
	rec := AuditRecord{Actor: actor, Action: AuditRead, Filters: SearchFilters{MsgID: msgID}, Count: 1}
	if len(r.Content) > 0 {
		rec.MsgIDs = []string{msgID}
	}
	if err := a.audit(ctx, rec); err != nil {
		return Result{}, err
	}
	return r, nil
}

func (a *Archive) audit(ctx context.Context, r AuditRecord) error {
	if a.Audit == nil {
		return errors.New("archive: no auditor: reads of the archive must be audited")
	}
	r.At = a.now()
	if err := a.Audit.AuditArchive(ctx, r); err != nil {
		return fmt.Errorf("archive: audit %s by %s: %w", r.Action, r.Actor, err)
	}
	return nil
}

// PurgeDay deletes day's messages except those keep holds (a legal
// hold), destroys the day's data keys if none is kept (crypto-shredding:
// nothing of that day can be opened again, by this process either), and
// audits the purge.
func (a *Archive) PurgeDay(ctx context.Context, actor, day string, keep func(Message) bool) (deleted int, shredded bool, err error) {
	if keep == nil {
		keep = func(Message) bool { return false }
	}
	deleted, shredded, err = a.Store.PurgeDay(ctx, day, keep)
	if err != nil {
		return 0, false, fmt.Errorf("archive: purge %s: %w", day, err)
	}
	if shredded {
		a.Keys.Forget(day)
	}
	if err := a.audit(ctx, AuditRecord{Actor: actor, Action: AuditPurge, Day: day, Deleted: deleted, Shredded: shredded}); err != nil {
		return deleted, shredded, err
	}
	if shredded {
		// The day's media can no longer be opened; remove the objects too.
		return deleted, shredded, a.deleteMediaBlobs(ctx, day)
	}
	return deleted, shredded, nil
}

// Manifest describes an export: what was asked, what was written, and
// the SHA-256 of every message line and of the file, so that a reader
// can prove nothing was changed or left out.
type Manifest struct {
	Actor      string       `json:"actor"`
	CreatedAt  time.Time    `json:"created_at"`
	Query      SearchQuery  `json:"query"`
	First      time.Time    `json:"first,omitzero"` // the oldest message's time
	Last       time.Time    `json:"last,omitzero"`  // the newest message's time
	Count      int          `json:"count"`
	File       string       `json:"file"`
	FileSHA256 string       `json:"file_sha256"`
	Messages   []LineSHA256 `json:"messages"`
}

// LineSHA256 is the SHA-256 of one line of the export (without its
// newline).
type LineSHA256 struct {
	MsgID  string `json:"msgid"`
	SHA256 string `json:"sha256"`
}

// Export file names inside the directory.
const (
	ExportFile     = "messages.jsonl"
	ExportManifest = "manifest.json"
)

// Export writes every message matching q (its Cursor and Limit are
// ignored), oldest first, to dir/messages.jsonl (one Result as JSON per
// line) and dir/manifest.json, audited. dir is created (0700) if needed;
// files that exist already are not overwritten (an error).
func (a *Archive) Export(ctx context.Context, actor string, q SearchQuery, dir string) (Manifest, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("archive: export: %w", err)
	}
	path := filepath.Join(dir, ExportFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Manifest{}, fmt.Errorf("archive: export: %w", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(path)
			os.Remove(filepath.Join(dir, ExportManifest))
		}
	}()
	man := Manifest{Actor: actor, CreatedAt: a.now(), Query: q, File: ExportFile, Messages: []LineSHA256{}}
	man.Query.Cursor, man.Query.Limit, man.Query.Ascending = "", 0, true
	fileHash := sha256.New()
	w := bufio.NewWriter(f)
	pq := man.Query
	pq.Limit = maxSearchLimit
	for {
		res, next, err := a.search(ctx, pq)
		if err != nil {
			return Manifest{}, err
		}
		for _, r := range res {
			line, err := json.Marshal(r)
			if err != nil {
				return Manifest{}, fmt.Errorf("archive: export %s: %w", r.MsgID, err)
			}
			sum := sha256.Sum256(line)
			man.Messages = append(man.Messages, LineSHA256{MsgID: r.MsgID, SHA256: hex.EncodeToString(sum[:])})
			line = append(line, '\n')
			fileHash.Write(line)
			if _, err := w.Write(line); err != nil {
				return Manifest{}, fmt.Errorf("archive: export: %w", err)
			}
			if man.First.IsZero() || r.Time.Before(man.First) {
				man.First = r.Time
			}
			if r.Time.After(man.Last) {
				man.Last = r.Time
			}
		}
		if next == "" {
			break
		}
		pq.Cursor = next
	}
	man.Count = len(man.Messages)
	man.FileSHA256 = hex.EncodeToString(fileHash.Sum(nil))
	if err := w.Flush(); err != nil {
		return Manifest{}, fmt.Errorf("archive: export: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Manifest{}, fmt.Errorf("archive: export: %w", err)
	}
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("archive: export manifest: %w", err)
	}
	mf, err := os.OpenFile(filepath.Join(dir, ExportManifest), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Manifest{}, fmt.Errorf("archive: export: %w", err)
	}
	if _, err := mf.Write(append(mj, '\n')); err != nil {
		mf.Close()
		return Manifest{}, fmt.Errorf("archive: export manifest: %w", err)
	}
	if err := mf.Close(); err != nil {
		return Manifest{}, fmt.Errorf("archive: export manifest: %w", err)
	}
	if err := a.audit(ctx, AuditRecord{Actor: actor, Action: AuditExport, Filters: q.SearchFilters,
		QueryHash: a.QueryHash(q.Text), Count: man.Count, FileSHA256: man.FileSHA256}); err != nil {
		return Manifest{}, err
	}
	if err := f.Close(); err != nil {
		return Manifest{}, fmt.Errorf("archive: export: %w", err)
	}
	done = true
	return man, nil
}

// StoreAuditor writes archive audit records to the main store's
// hash-chained audit log: Kind is the action, Subject the actor, Data the
// record as JSON.
type StoreAuditor struct {
	Audit store.Audit
}

// AuditArchive implements Auditor.
func (s StoreAuditor) AuditArchive(ctx context.Context, r AuditRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("archive: audit record: %w", err)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("archive: audit id: %w", err)
	}
	_, err = s.Audit.AppendAudit(ctx, store.AuditEntry{
		ID: "archive-" + hex.EncodeToString(id[:]), At: r.At, Kind: r.Action, Subject: r.Actor, Data: data,
	})
	return err
}
