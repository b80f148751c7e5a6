// Package evidence makes what an examiner takes away and checks without
// trusting wecomply: signed evidence packs of one person or one notice
// version (PersonPack, NoticePack, checked offline by Verify), and
// pseudonymised exports for cross-border transfer, each one recorded in a
// transfer register kept in the audit log (PseudonymisedExport,
// ListTransfers).
//
// A pack is a zip:
//
//	manifest.json            every other file with its size and SHA-256, the
//	                         subject, the audit chain's head, the public key
//	manifest.sig             ed25519 signature of manifest.json's bytes
//	records/*.json, *.csv    obligations, attestations, consents, deliveries
//	texts/<hash>.json        each text a record names by content hash, as
//	                         templates.Rendered; <hash> is its Hash()
//	audit/segment.jsonl      the audit log from the first entry about the
//	                         subject to the chain's head: the subject's
//	                         entries complete, every other one as seq,
//	                         prev_hash and hash only
//	README.txt               how to check it by hand
package evidence

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/templates"
)

// Store is what the package reads and writes; store.Store implements it.
type Store interface {
	ListObligations(ctx context.Context, f store.ObligationFilter, p store.Page) ([]policy.Obligation, string, error)
	ListAttestations(ctx context.Context, f store.AttestationFilter, p store.Page) ([]policy.Attestation, string, error)
	ListConsents(ctx context.Context, f store.ConsentFilter, p store.Page) ([]policy.Consent, string, error)
	GetSendResults(ctx context.Context, noticeKey string, userIDs []string) ([]store.RecipientResult, error)
	ListSendResults(ctx context.Context, noticeKey string) ([]store.RecipientResult, error)
	ListAudit(ctx context.Context, after uint64, limit int) ([]store.AuditEntry, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error)
}

var _ Store = store.Store(nil)

// Messages lists archived messages' metadata (who, when, where, type;
// content stays sealed); archive.Store implements it.
type Messages interface {
	Search(ctx context.Context, q archive.Query) (msgs []archive.Message, next string, err error)
}

var _ Messages = archive.Store(nil)

// Audit entry kinds this package writes.
const (
	// KindPack records a pack made: who, of what, the manifest's SHA-256.
	KindPack = "evidence_pack"
	// KindTransfer is a transfer register entry (see Transfer).
	KindTransfer = "transfer"
)

// Config builds a Maker.
type Config struct {
	Store Store
	// Templates and Notices recover the exact texts people were sent: a
	// notice version's card is its Template (or the reminder's,
	// policy.RemindTemplate) rendered with Company, the notice's Title,
	// Version, Summary and URL and the person's due day in Location, as
	// the processor renders it.
	Templates *templates.Set
	Notices   []policy.Notice
	Company   string
	Location  *time.Location
	// CardData, if set, adds the values every card is rendered with
	// beyond those above (configured texts such as the disclosure's), so
	// that the texts render exactly as they were sent.
	CardData map[string]any
	// SigningKey signs every pack's manifest.
	SigningKey ed25519.PrivateKey
	// PseudonymKey keys the HMAC of pseudonymised exports (at least 16
	// bytes); nil disables PseudonymisedExport.
	PseudonymKey []byte
	// Messages, if set, lets pseudonymised exports include the session
	// archive's message metadata (TransferRequest.MessagesFrom).
	Messages Messages
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Maker makes evidence packs and pseudonymised exports. It is safe for
// concurrent use.
type Maker struct {
	cfg Config
}

// New checks cfg and returns a Maker.
func New(cfg Config) (*Maker, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("evidence: Store is required"))
	}
	if cfg.Templates == nil {
		errs = append(errs, errors.New("evidence: Templates is required"))
	}
	if len(cfg.SigningKey) != ed25519.PrivateKeySize {
		errs = append(errs, fmt.Errorf("evidence: SigningKey must be an ed25519 private key (%d bytes), got %d bytes", ed25519.PrivateKeySize, len(cfg.SigningKey)))
	}
	if cfg.PseudonymKey != nil && len(cfg.PseudonymKey) < 16 {
		errs = append(errs, fmt.Errorf("evidence: PseudonymKey must be at least 16 bytes, got %d", len(cfg.PseudonymKey)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Maker{cfg: cfg}, nil
}

// PublicKey is the key a pack's signature verifies with: what
// /.well-known/wecomply-evidence.pub publishes.
func (m *Maker) PublicKey() ed25519.PublicKey {
	return m.cfg.SigningKey.Public().(ed25519.PublicKey)
}
