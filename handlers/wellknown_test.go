package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestEvidenceKey(t *testing.T) {
	const pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAexample\n-----END PUBLIC KEY-----\n"
	tests := []struct {
		name     string
		key      []byte
		wantCode int
		wantBody string
	}{
		{"served as PEM when configured", []byte(pem), http.StatusOK, pem},
		{"absent without a signing key", nil, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), func(o *Options) { o.EvidenceKey = tt.key })
			rec := e.do(httptest.NewRequest(http.MethodGet, EvidenceKeyPath, nil))
			if rec.Code != tt.wantCode || (tt.wantBody != "" && rec.Body.String() != tt.wantBody) {
				t.Fatalf("GET %s = %d %q, want %d %q", EvidenceKeyPath, rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
			if tt.key != nil && rec.Header().Get("Content-Type") != "application/x-pem-file" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}
