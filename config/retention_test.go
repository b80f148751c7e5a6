package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetentionDefaultsAndOff(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultRetention(); cfg.Retention != want {
		t.Errorf("default retention = %+v, want %+v", cfg.Retention, want)
	}
	if r := cfg.Retention; r.EventLogDays != 180 || r.AttestationsDays != 1095 || r.ObligationsDays != 1095 || r.SendResultsDays != 365 {
		t.Errorf("defaults changed: %+v (the example and the docs say 180, 1095, 1095 and 365)", cfg.Retention)
	}
	if cfg.Retention.RecipientClaimsDays != 3 {
		t.Errorf("recipient_claims_days = %d, want 3 (the example and the docs say so)", cfg.Retention.RecipientClaimsDays)
	}
	cfg, err = Parse("t.toml", []byte(minimal+"[retention]\nevent_log_days = 0\nattestations_days = 0\nconsents_days = 0\ndead_letters_days = 0\nobligations_days = 0\nsend_results_days = 0\nrecipient_claims_days = 0\narchive_days = 0\n"), nil)
	if err != nil {
		t.Fatalf("0 (keep forever) refused: %v", err)
	}
	if cfg.Retention != (Retention{BatchSize: defaultRetention().BatchSize}) {
		t.Errorf("retention = %+v, want every kind off", cfg.Retention)
	}
	if got := Period(2); got.Hours() != 48 {
		t.Errorf("Period(2) = %v", got)
	}
}

func TestRetentionProblemsNameTheKey(t *testing.T) {
	for _, tt := range []struct{ extra, key, want string }{
		{"event_log_days = -1", "retention.event_log_days", "between 0 and 10950, got -1"},
		{"attestations_days = 20000", "retention.attestations_days", "between 0 and 10950"},
		{"consents_days = -5", "retention.consents_days", "got -5"},
		{"dead_letters_days = -1", "retention.dead_letters_days", "between 0 and 10950"},
		{"obligations_days = -1", "retention.obligations_days", "between 0 and 10950"},
		{"send_results_days = 11000", "retention.send_results_days", "between 0 and 10950"},
		{"recipient_claims_days = -1", "retention.recipient_claims_days", "between 0 and 10950"},
		{"batch_size = 0", "retention.batch_size", "between 1 and 10000"},
		{"purge_everything = true", "retention.purge_everything", "unknown key"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			wantProblem(t, minimal+"[retention]\n"+tt.extra+"\n", tt.key, tt.want)
		})
	}
}

// TestMinClaimRetention: a claim outlives twice the send deadline and an
// hour, in whole days; a retention shorter than that is refused, naming
// both keys.
func TestMinClaimRetention(t *testing.T) {
	for _, tt := range []struct {
		deadline time.Duration
		want     int
	}{
		{time.Minute, 1}, {4 * time.Hour, 1}, {11*time.Hour + 30*time.Minute, 1}, {12 * time.Hour, 2}, {7 * 24 * time.Hour, 15},
	} {
		if got := minClaimRetention(tt.deadline); got != tt.want {
			t.Errorf("minClaimRetention(%s) = %d, want %d", tt.deadline, got, tt.want)
		}
	}
	// Every send deadline config allows today needs at most a day.
	if got := minClaimRetention(4 * time.Hour); got > defaultRetention().RecipientClaimsDays {
		t.Errorf("the default recipient_claims_days %d is below the minimum %d", defaultRetention().RecipientClaimsDays, got)
	}
	_, err := Parse("t.toml", []byte(minimal+"[notify]\nsend_deadline = \"168h\"\n[retention]\nrecipient_claims_days = 3\n"), nil)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Parse: got %v, want *config.Error", err)
	}
	for _, p := range cerr.Problems {
		if p.Key == "retention.recipient_claims_days" && strings.Contains(p.Reason, "at least 15") && strings.Contains(p.Reason, "notify.send_deadline") {
			return
		}
	}
	t.Errorf("problems = %v, want retention.recipient_claims_days: at least 15", cerr.Problems)
}
