package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Archive is the session archive (会话内容存档): where it is kept, the
// private keys that open WeCom's records, and the keys that seal them at
// rest. The archive's WeCom secret is wecom.archive_secret.
type Archive struct {
	// Enabled turns the puller on. Off, wecomply archives nothing (and
	// msgaudit_notify events are only logged).
	Enabled bool `toml:"enabled"`
	// Backend is "embedded" (a bbolt file at Path) or "postgres"
	// (PostgresURL): years of chat outgrow one machine first.
	Backend     string `toml:"backend"`
	Path        string `toml:"path"`
	PostgresURL Secret `toml:"postgres_url"`
	// PrivateKeys open the records: one per publickey_ver uploaded in the
	// WeCom console. Keep a retired key while records of its version may
	// still be pulled (5 days after rotation, plus any backlog).
	PrivateKeys []ArchivePrivateKey `toml:"private_key"`
	// Proxy (socks5://host:port or http://host:port) and ProxyPassword
	// (user:pass) are handed to the SDK; Timeout bounds one SDK call.
	Proxy         string        `toml:"proxy"`
	ProxyPassword Secret        `toml:"proxy_password"`
	Timeout       time.Duration `toml:"timeout"`
	// BatchLimit is GetChatData's limit (1 to 1000).
	BatchLimit int `toml:"batch_limit"`
	// PollInterval is how often the puller pulls without a
	// msgaudit_notify (the notify is only a hint).
	PollInterval time.Duration `toml:"poll_interval"`
	// HorizonAlert is the fraction of WeCom's 5-day horizon the lag may
	// reach before the officers are alerted (0.5: 2.5 days behind).
	HorizonAlert float64 `toml:"horizon_alert"`
	// MasterKeyID names MasterKey, the key that wraps the data keys
	// (32 bytes, base64). OldMasterKeys still unwrap keys they wrapped
	// before a rotation (wecomply archive rotate-key).
	MasterKeyID   string            `toml:"master_key_id"`
	MasterKey     Secret            `toml:"master_key"`
	OldMasterKeys map[string]Secret `toml:"old_master_keys"`
	// IndexKey (32 bytes, base64) keys the blind search index: the index
	// holds HMACs of words, never words.
	IndexKey Secret `toml:"index_key"`
	// Media downloads the files messages refer to (their metadata is
	// always kept) into an encrypted blob store.
	Media ArchiveMedia `toml:"media"`
}

// ArchiveMedia is where downloaded media content goes: a local directory
// (one node) or S3-compatible object storage. Content is sealed with the
// day's data key before it reaches either.
type ArchiveMedia struct {
	Enabled bool   `toml:"enabled"`
	Store   string `toml:"store"` // "dir" or "s3"
	Dir     string `toml:"dir"`
	// MaxSizeMB refuses larger files (marked failed, alerted).
	MaxSizeMB int `toml:"max_size_mb"`
	// Interval is how often pending downloads are tried.
	Interval time.Duration `toml:"interval"`
	S3       ArchiveS3     `toml:"s3"`
}

// ArchiveS3 is S3-compatible object storage.
type ArchiveS3 struct {
	Endpoint     string `toml:"endpoint"` // host[:port], no scheme
	Bucket       string `toml:"bucket"`
	AccessKey    string `toml:"access_key"`
	SecretKey    Secret `toml:"secret_key"`
	Region       string `toml:"region"`
	TLS          bool   `toml:"tls"`
	CreateBucket bool   `toml:"create_bucket"`
}

// ArchivePrivateKey is one RSA private key (PEM, PKCS#1 or PKCS#8), from
// File or from WECOMPLY_ARCHIVE_PRIVATE_KEY_<version>.
type ArchivePrivateKey struct {
	Version uint32 `toml:"version"`
	File    string `toml:"file"`
	// PEM is set from the environment; it wins over File.
	PEM Secret `toml:"-"`
}

// Environment variables of the archive's secrets.
const (
	EnvArchivePostgresURL   = "WECOMPLY_ARCHIVE_POSTGRES_URL"
	EnvArchiveProxyPassword = "WECOMPLY_ARCHIVE_PROXY_PASSWORD"
	EnvArchiveMasterKey     = "WECOMPLY_ARCHIVE_MASTER_KEY"
	EnvArchiveIndexKey      = "WECOMPLY_ARCHIVE_INDEX_KEY"
	EnvArchiveS3SecretKey   = "WECOMPLY_ARCHIVE_S3_SECRET_KEY"
	// EnvArchivePrivateKey + "<version>" holds a private key's PEM.
	EnvArchivePrivateKey = "WECOMPLY_ARCHIVE_PRIVATE_KEY_"
)

func defaultArchive() Archive {
	return Archive{
		Backend:      "embedded",
		Path:         "data/archive.db",
		Timeout:      5 * time.Second,
		BatchLimit:   1000,
		PollInterval: time.Minute,
		HorizonAlert: 0.5,
		MasterKeyID:  "k1",
		Media: ArchiveMedia{
			Store:     "dir",
			Dir:       "data/archive-media",
			MaxSizeMB: 1024,
			Interval:  time.Minute,
		},
	}
}

// applyArchiveEnv handles the archive's variables; ok is false for a name
// that is not one of them.
func (c *Config) applyArchiveEnv(name, value string) (problem *Problem, ok bool) {
	a := &c.Archive
	switch name {
	case EnvArchivePostgresURL:
		a.PostgresURL = Secret(value)
	case EnvArchiveProxyPassword:
		a.ProxyPassword = Secret(value)
	case EnvArchiveMasterKey:
		a.MasterKey = Secret(value)
	case EnvArchiveIndexKey:
		a.IndexKey = Secret(value)
	case EnvArchiveS3SecretKey:
		a.Media.S3.SecretKey = Secret(value)
	default:
		rest, found := strings.CutPrefix(name, EnvArchivePrivateKey)
		if !found {
			return nil, false
		}
		var ver uint32
		if _, err := fmt.Sscanf(rest, "%d", &ver); err != nil || ver == 0 || fmt.Sprint(ver) != rest {
			return &Problem{Key: name, Reason: "must end with the key's publickey_ver, a positive number, e.g. " + EnvArchivePrivateKey + "1"}, true
		}
		for i := range a.PrivateKeys {
			if a.PrivateKeys[i].Version == ver {
				a.PrivateKeys[i].PEM = Secret(value)
				return nil, true
			}
		}
		a.PrivateKeys = append(a.PrivateKeys, ArchivePrivateKey{Version: ver, PEM: Secret(value)})
	}
	return nil, true
}

// Key32 decodes a 32-byte key given in standard or URL base64.
func Key32(s Secret) ([]byte, error) {
	v := strings.TrimSpace(s.Reveal())
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("must be 32 bytes in base64 (e.g. from `openssl rand -base64 32`), got %d bytes", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be 32 bytes in base64 (e.g. from `openssl rand -base64 32`)")
}

// PrivateKeyPEM returns the key's PEM: from the environment, or read from
// its file.
func (k ArchivePrivateKey) PrivateKeyPEM() ([]byte, error) {
	if k.PEM != "" {
		return []byte(k.PEM.Reveal()), nil
	}
	b, err := os.ReadFile(k.File)
	if err != nil {
		return nil, fmt.Errorf("archive private key version %d: %w", k.Version, err)
	}
	return b, nil
}

func (c *Config) validateArchive(ps *problems) {
	a := c.Archive
	ps.durationBetween("archive.timeout", a.Timeout, time.Second, time.Minute)
	ps.between("archive.batch_limit", int64(a.BatchLimit), 1, 1000)
	ps.durationBetween("archive.poll_interval", a.PollInterval, time.Second, 24*time.Hour)
	if a.HorizonAlert <= 0 || a.HorizonAlert > 1 {
		ps.add("archive.horizon_alert", fmt.Sprintf("must be a fraction of the 5-day horizon above 0 and at most 1, got %g", a.HorizonAlert))
	}
	switch a.Backend {
	case "embedded":
		if a.Enabled && strings.TrimSpace(a.Path) == "" {
			ps.add("archive.path", `is required when archive.backend = "embedded"`)
		}
	case "postgres":
		u, err := url.Parse(a.PostgresURL.Reveal())
		switch {
		case a.PostgresURL == "":
			if a.Enabled {
				ps.add("archive.postgres_url", `is required when archive.backend = "postgres" (or set `+EnvArchivePostgresURL+`)`)
			}
		case err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql"):
			ps.add("archive.postgres_url", "must be a postgres:// URL, e.g. postgres://wecomply@127.0.0.1:5432/archive")
		}
	default:
		ps.add("archive.backend", fmt.Sprintf(`must be "embedded" or "postgres", got %q`, a.Backend))
	}
	if a.Proxy != "" {
		if u, err := url.Parse(a.Proxy); err != nil || (u.Scheme != "socks5" && u.Scheme != "http") || u.Host == "" {
			ps.add("archive.proxy", "must be socks5://host:port or http://host:port (the SDK's forms)")
		}
	}
	seen := map[uint32]bool{}
	for i, k := range a.PrivateKeys {
		key := fmt.Sprintf("archive.private_key[%d]", i)
		switch {
		case k.Version == 0:
			ps.add(key+".version", "must be the key's publickey_ver as the WeCom console shows it (1 or more)")
		case seen[k.Version]:
			ps.add(key+".version", fmt.Sprintf("version %d is given twice", k.Version))
		}
		seen[k.Version] = true
		if k.PEM == "" && a.Enabled {
			if k.File == "" {
				ps.add(key+".file", fmt.Sprintf("is required (a PEM file), or set %s%d", EnvArchivePrivateKey, k.Version))
			} else if _, err := os.Stat(k.File); err != nil {
				ps.add(key+".file", fmt.Sprintf("cannot be read: %v", err))
			}
		}
	}
	if a.MasterKeyID == "" || len(a.MasterKeyID) > 32 || !alnum.MatchString(a.MasterKeyID) {
		ps.add("archive.master_key_id", "must be letters and digits, 1 to 32")
	}
	for id, k := range a.OldMasterKeys {
		key := "archive.old_master_keys." + id
		if !alnum.MatchString(id) || len(id) > 32 || id == a.MasterKeyID {
			ps.add(key, "the id must be letters and digits, 1 to 32, and not master_key_id")
		}
		if _, err := Key32(k); err != nil {
			ps.add(key, err.Error())
		}
	}
	if a.MasterKey != "" {
		if _, err := Key32(a.MasterKey); err != nil {
			ps.add("archive.master_key", err.Error())
		}
	}
	if a.IndexKey != "" {
		if _, err := Key32(a.IndexKey); err != nil {
			ps.add("archive.index_key", err.Error())
		}
	}
	c.validateArchiveMedia(ps)
	if !a.Enabled {
		return
	}
	if c.WeCom.ArchiveSecret == "" {
		ps.add("wecom.archive_secret", "is required when archive.enabled = true: the SDK signs in with the 会话内容存档 Secret (not the app's)")
	}
	if len(a.PrivateKeys) == 0 {
		ps.add("archive.private_key", "at least one is required when archive.enabled = true ([[archive.private_key]] version = 1, file = \"…pem\")")
	}
	if a.MasterKey == "" {
		ps.add("archive.master_key", "is required when archive.enabled = true (or set "+EnvArchiveMasterKey+"): content is sealed at rest")
	}
	if a.IndexKey == "" {
		ps.add("archive.index_key", "is required when archive.enabled = true (or set "+EnvArchiveIndexKey+"): it keys the blind search index")
	}
	if a.IndexKey != "" && a.IndexKey == a.MasterKey {
		ps.add("archive.index_key", "must differ from archive.master_key")
	}
}

func (c *Config) validateArchiveMedia(ps *problems) {
	m := c.Archive.Media
	ps.between("archive.media.max_size_mb", int64(m.MaxSizeMB), 1, 1<<20)
	ps.durationBetween("archive.media.interval", m.Interval, time.Second, 24*time.Hour)
	switch m.Store {
	case "dir":
		if m.Enabled && strings.TrimSpace(m.Dir) == "" {
			ps.add("archive.media.dir", `is required when archive.media.store = "dir"`)
		}
	case "s3":
		if !m.Enabled {
			break
		}
		s := m.S3
		if s.Endpoint == "" || strings.Contains(s.Endpoint, "://") || strings.Contains(s.Endpoint, "/") {
			ps.add("archive.media.s3.endpoint", "must be host[:port] without a scheme or path, e.g. s3.example.com:443 (set tls for https)")
		}
		if s.Bucket == "" {
			ps.add("archive.media.s3.bucket", `is required when archive.media.store = "s3"`)
		}
		if s.AccessKey == "" {
			ps.add("archive.media.s3.access_key", `is required when archive.media.store = "s3"`)
		}
		if s.SecretKey == "" {
			ps.add("archive.media.s3.secret_key", `is required when archive.media.store = "s3" (or set `+EnvArchiveS3SecretKey+`)`)
		}
	default:
		ps.add("archive.media.store", fmt.Sprintf(`must be "dir" or "s3", got %q`, m.Store))
	}
}
