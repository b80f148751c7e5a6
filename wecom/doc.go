// Package wecom speaks WeCom (企业微信), both ways.
//
// Callbacks: it verifies and decrypts them (Cipher, ParseEnvelope,
// CheckTimestamp), encrypts passive replies, and decodes the decrypted
// plaintext into typed events (Decode) — path/90968 for the crypto,
// path/90239, 90240, 90970–90972, 92130, 92005 and 95039 for the payloads.
//
// The server API: Client sends messages and cards, updates and recalls
// them, sends welcome messages, reads members, departments, external
// contacts and the archive's permit list and consent (path/90236, 94888,
// 94867, 92137, 92114, 90196, 96067, 90208, 91614, 91782). Each app's
// access token is cached in a TokenCache shared by every replica and
// refreshed under a lease, so replicas fetch it once between them; every
// non-zero errcode is an *APIError, and Classify says whether to retry,
// refresh the token, wait for a frequency window or give up.
//
// It follows the official docs as summarised in WECOM.md. Non-test code
// uses the standard library only; tokens and secrets never appear in its
// errors or logs.
package wecom
