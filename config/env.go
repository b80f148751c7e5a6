package config

import (
	"fmt"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable wecomply reads.
const EnvPrefix = "WECOMPLY_"

// Environment variables that override secrets of the file. Callback
// secrets are addressed by the callback's index in the file:
// WECOMPLY_WECOM_CALLBACK_0_TOKEN, WECOMPLY_WECOM_CALLBACK_0_ENCODING_AES_KEY.
const (
	EnvWeComSecret         = "WECOMPLY_WECOM_SECRET"
	EnvWeComContactsSecret = "WECOMPLY_WECOM_CONTACTS_SECRET"
	EnvWeComCustomerSecret = "WECOMPLY_WECOM_CUSTOMER_SECRET"
	EnvWeComArchiveSecret  = "WECOMPLY_WECOM_ARCHIVE_SECRET"
	EnvStoreRedisURL       = "WECOMPLY_STORE_REDIS_URL"
	EnvAdminTokens         = "WECOMPLY_ADMIN_TOKENS" // comma-separated
	envCallback            = "WECOMPLY_WECOM_CALLBACK_"
)

// applyEnv overrides secrets from WECOMPLY_… variables. A variable with
// the prefix that wecomply does not know is a problem: a misspelt name
// would otherwise leave a secret silently unset.
func (c *Config) applyEnv(environ []string) []Problem {
	var problems []Problem
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		switch name {
		case EnvWeComSecret:
			c.WeCom.Secret = Secret(value)
		case EnvWeComContactsSecret:
			c.WeCom.ContactsSecret = Secret(value)
		case EnvWeComCustomerSecret:
			c.WeCom.CustomerSecret = Secret(value)
		case EnvWeComArchiveSecret:
			c.WeCom.ArchiveSecret = Secret(value)
		case EnvStoreRedisURL:
			c.Store.RedisURL = Secret(value)
		case EnvAdminTokens:
			c.Admin.Tokens = nil
			for _, t := range strings.Split(value, ",") {
				if t = strings.TrimSpace(t); t != "" {
					c.Admin.Tokens = append(c.Admin.Tokens, Secret(t))
				}
			}
		default:
			if c.applyEvidenceEnv(name, value) {
				continue
			}
			if p, ok := c.applyArchiveEnv(name, value); ok {
				if p != nil {
					problems = append(problems, *p)
				}
				continue
			}
			if p, ok := c.applyCallbackEnv(name, value); !ok {
				problems = append(problems, Problem{Key: name, Reason: "unknown environment variable (known: " +
					EnvWeComSecret + ", " + EnvWeComContactsSecret + ", " + EnvWeComCustomerSecret + ", " + EnvWeComArchiveSecret + ", " +
					EnvStoreRedisURL + ", " + EnvAdminTokens + ", " +
					EnvArchivePostgresURL + ", " + EnvArchiveMasterKey + ", " + EnvArchiveIndexKey + ", " + EnvArchiveProxyPassword + ", " + EnvArchiveS3SecretKey + ", " + EnvArchivePrivateKey + "<version>, " +
					EnvEvidenceSigningKey + ", " + EnvTransferPseudonymKey + ", " +
					envCallback + "<index>_TOKEN, " + envCallback + "<index>_ENCODING_AES_KEY)"})
			} else if p != nil {
				problems = append(problems, *p)
			}
		}
	}
	return problems
}

// applyCallbackEnv handles WECOMPLY_WECOM_CALLBACK_<i>_TOKEN and
// _ENCODING_AES_KEY. ok is false if name is not of that form.
func (c *Config) applyCallbackEnv(name, value string) (problem *Problem, ok bool) {
	rest, found := strings.CutPrefix(name, envCallback)
	if !found {
		return nil, false
	}
	idx, field, found := strings.Cut(rest, "_")
	if !found || (field != "TOKEN" && field != "ENCODING_AES_KEY") {
		return nil, false
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return nil, false
	}
	if i >= len(c.WeCom.Callbacks) {
		return &Problem{Key: name, Reason: fmt.Sprintf("there is no [[wecom.callback]] number %d (the file has %d)", i, len(c.WeCom.Callbacks))}, true
	}
	if field == "TOKEN" {
		c.WeCom.Callbacks[i].Token = Secret(value)
	} else {
		c.WeCom.Callbacks[i].EncodingAESKey = Secret(value)
	}
	return nil, true
}
