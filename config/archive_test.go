package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key32(b byte) string {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b + byte(i)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func TestArchiveProblems(t *testing.T) {
	pem := filepath.Join(t.TempDir(), "v1.pem")
	if err := os.WriteFile(pem, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := "[archive]\nenabled = true\nmaster_key = \"" + key32(1) + "\"\nindex_key = \"" + key32(50) + "\"\n" +
		"[[archive.private_key]]\nversion = 1\nfile = \"" + pem + "\"\n"
	withSecret := func(s string) string {
		return strings.Replace(s, "[wecom]\n", "[wecom]\narchive_secret = \"arch\"\n", 1)
	}
	tests := []struct {
		name, extra string
		edit        func(string) string
		key, want   string
	}{
		{name: "enabled without the archive secret", extra: good, key: "wecom.archive_secret", want: "会话内容存档 Secret"},
		{name: "enabled without keys", edit: withSecret, extra: "[archive]\nenabled = true\n", key: "archive.private_key", want: "at least one"},
		{name: "enabled without a master key", edit: withSecret, extra: "[archive]\nenabled = true\n", key: "archive.master_key", want: "WECOMPLY_ARCHIVE_MASTER_KEY"},
		{name: "enabled without an index key", edit: withSecret, extra: "[archive]\nenabled = true\n", key: "archive.index_key", want: "blind search index"},
		{name: "short master key", edit: withSecret, extra: strings.Replace(good, key32(1), "c2hvcnQ=", 1), key: "archive.master_key", want: "got 5 bytes"},
		{name: "index key equals the master key", edit: withSecret, extra: strings.Replace(good, key32(50), key32(1), 1), key: "archive.index_key", want: "differ"},
		{name: "bad backend", extra: "[archive]\nbackend = \"mongo\"\n", key: "archive.backend", want: `got "mongo"`},
		{name: "postgres without url", edit: withSecret, extra: strings.Replace(good, "enabled = true\n", "enabled = true\nbackend = \"postgres\"\n", 1),
			key: "archive.postgres_url", want: "WECOMPLY_ARCHIVE_POSTGRES_URL"},
		{name: "postgres url of another scheme", extra: "[archive]\nbackend = \"postgres\"\npostgres_url = \"mysql://u:pw@h/db\"\n", key: "archive.postgres_url", want: "postgres://"},
		{name: "key file missing", edit: withSecret, extra: strings.Replace(good, pem, pem+".gone", 1), key: "archive.private_key[0].file", want: "cannot be read"},
		{name: "version zero", extra: "[[archive.private_key]]\nversion = 0\nfile = \"k.pem\"\n", key: "archive.private_key[0].version", want: "1 or more"},
		{name: "version twice", extra: "[[archive.private_key]]\nversion = 2\nfile = \"a\"\n[[archive.private_key]]\nversion = 2\nfile = \"b\"\n",
			key: "archive.private_key[1].version", want: "given twice"},
		{name: "limit above the SDK's", extra: "[archive]\nbatch_limit = 1001\n", key: "archive.batch_limit", want: "between 1 and 1000"},
		{name: "horizon fraction", extra: "[archive]\nhorizon_alert = 1.5\n", key: "archive.horizon_alert", want: "at most 1"},
		{name: "proxy scheme", extra: "[archive]\nproxy = \"ftp://h:1\"\n", key: "archive.proxy", want: "socks5://"},
		{name: "old master key", extra: "[archive]\nold_master_keys = { k0 = \"x\" }\n", key: "archive.old_master_keys.k0", want: "32 bytes"},
		{name: "old master key named like the current", extra: "[archive]\nold_master_keys = { k1 = \"" + key32(9) + "\" }\n", key: "archive.old_master_keys.k1", want: "not master_key_id"},
		{name: "media store", extra: "[archive.media]\nstore = \"ftp\"\n", key: "archive.media.store", want: `got "ftp"`},
		{name: "s3 endpoint with a scheme", extra: "[archive.media]\nenabled = true\nstore = \"s3\"\n[archive.media.s3]\nendpoint = \"https://s3.example.com\"\n",
			key: "archive.media.s3.endpoint", want: "without a scheme"},
		{name: "s3 without a secret key", extra: "[archive.media]\nenabled = true\nstore = \"s3\"\n", key: "archive.media.s3.secret_key", want: "WECOMPLY_ARCHIVE_S3_SECRET_KEY"},
		{name: "media interval", extra: "[archive.media]\ninterval = \"10ms\"\n", key: "archive.media.interval", want: "between 1s"},
		{name: "archive days", extra: "[retention]\narchive_days = -1\n", key: "retention.archive_days", want: "between 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal
			if tt.edit != nil {
				src = tt.edit(src)
			}
			_, err := Parse("t.toml", []byte(src+tt.extra), nil)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse: got %v, want *config.Error", err)
			}
			for _, p := range cerr.Problems {
				if p.Key == tt.key && strings.Contains(p.Reason, tt.want) {
					if strings.Contains(err.Error(), key32(1)) {
						t.Errorf("a problem quotes the master key: %v", err)
					}
					return
				}
			}
			t.Errorf("no problem %s: …%s…; got:\n%v", tt.key, tt.want, err)
		})
	}

	cfg, err := Parse("t.toml", []byte(withSecret(minimal)+good), nil)
	if err != nil {
		t.Fatalf("a complete archive section refused: %v", err)
	}
	if cfg.Archive.Backend != "embedded" || cfg.Archive.BatchLimit != 1000 || cfg.Retention.ArchiveDays != 2190 {
		t.Errorf("defaults: %+v, archive_days %d", cfg.Archive, cfg.Retention.ArchiveDays)
	}
}

func TestArchiveEnv(t *testing.T) {
	src := strings.Replace(minimal, "[wecom]\n", "[wecom]\narchive_secret = \"arch\"\n", 1) +
		"[archive]\nenabled = true\n[[archive.private_key]]\nversion = 1\nfile = \"/nonexistent.pem\"\n"
	cfg, err := Parse("t.toml", []byte(src), []string{
		EnvArchiveMasterKey + "=" + key32(1),
		EnvArchiveIndexKey + "=" + key32(60),
		EnvArchivePrivateKey + "1=PEM-ONE",
		EnvArchivePrivateKey + "2=PEM-TWO",
		EnvArchivePostgresURL + "=postgres://u:pw@h/db",
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	a := cfg.Archive
	if len(a.PrivateKeys) != 2 {
		t.Fatalf("private keys = %d, want 2 (one from the file, one from the environment)", len(a.PrivateKeys))
	}
	for i, want := range []string{"PEM-ONE", "PEM-TWO"} {
		got, err := a.PrivateKeys[i].PrivateKeyPEM()
		if err != nil || string(got) != want {
			t.Errorf("key %d = %q, %v; want %q (the environment wins over the file)", a.PrivateKeys[i].Version, got, err, want)
		}
	}
	if m, err := Key32(a.MasterKey); err != nil || len(m) != 32 {
		t.Errorf("master key: %v", err)
	}
	if a.PostgresURL.Reveal() != "postgres://u:pw@h/db" {
		t.Errorf("postgres url not taken from the environment")
	}

	_, err = Parse("t.toml", []byte(minimal), []string{EnvArchivePrivateKey + "x1=PEM"})
	if err == nil || !strings.Contains(err.Error(), EnvArchivePrivateKey+"x1") {
		t.Errorf("a bad key version name: got %v", err)
	}
	if strings.Contains(err.Error(), "PEM") && strings.Contains(err.Error(), "=PEM") {
		t.Errorf("the error quotes the key: %v", err)
	}
}
