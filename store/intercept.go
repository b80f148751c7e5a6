package store

import (
	"context"
	"time"
)

// InterceptMapping ties one of wecomply's rules (a lexicon rule pushed to
// WeCom as a sensitive-word rule, 管理聊天敏感词) to the rule WeCom created
// for it. The mapping is how the intercept sync tells the rules it owns
// from the ones an administrator made in the WeCom console: it touches
// only rules whose WeCom id is mapped.
type InterceptMapping struct {
	// RuleID is wecomply's rule id. Required.
	RuleID string `json:"rule_id"`
	// WeComRuleID is WeCom's rule_id. Required.
	WeComRuleID string `json:"wecom_rule_id"`
	// Fingerprint digests the desired state last written to WeCom, so the
	// sync can tell a change of ours (update) from an edit made in WeCom
	// (drift, repaired).
	Fingerprint string `json:"fingerprint,omitempty"`
	// UpdatedAt is when the mapping was last written.
	UpdatedAt time.Time `json:"updated_at"`
}

// InterceptMappings keeps the intercept sync's mappings. There are at
// most a few hundred (WeCom allows 100 rules a corp), so they are listed
// whole.
type InterceptMappings interface {
	// PutInterceptMapping stores m, replacing the mapping of m.RuleID.
	// RuleID and WeComRuleID must not be empty.
	PutInterceptMapping(ctx context.Context, m InterceptMapping) error
	// DeleteInterceptMapping removes the mapping of ruleID; removing one
	// that does not exist is not an error.
	DeleteInterceptMapping(ctx context.Context, ruleID string) error
	// ListInterceptMappings returns every mapping, in RuleID order.
	ListInterceptMappings(ctx context.Context) ([]InterceptMapping, error)
}
