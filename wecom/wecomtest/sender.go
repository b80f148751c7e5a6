// Package wecomtest is a test double of WeCom, both ways: a Sender that
// signs, encrypts and delivers callbacks exactly as WeCom does, builders
// of realistic event plaintexts in WeCom's documented shapes, and Server,
// a fake of WeCom's server API (the same paths, JSON, errcodes and limits
// as the docs, with scripted faults, inboxes and a record of every
// request). Tests, the load tools, `wecomply simulate` and `wecomply
// sandbox` use it; the production server never does.
package wecomtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// maxResponse bounds how much of a response Post and VerifyURL read.
const maxResponse = 1 << 20

// Sender delivers callbacks to a receiver as WeCom does: a POST of the
// signed, encrypted XML envelope, or the GET with an encrypted echostr
// that the admin console sends when the URL is saved. The zero values of
// the optional fields give WeCom's behaviour.
type Sender struct {
	URL        string           // full callback URL, e.g. http://127.0.0.1:8080/wecom/callback
	Cipher     *wecom.Cipher    // the receiver's token, key and receiveid
	Client     *http.Client     // nil: a client with a 10 s timeout
	Now        func() time.Time // nil: time.Now; gives the timestamp parameter
	Nonce      func() string    // nil: a random decimal nonce like WeCom's
	AgentID    string           // the envelope's AgentID; empty leaves it out
	ToUserName string           // the envelope's ToUserName; empty: the cipher's receiveid
}

// Request returns the POST WeCom would send for plaintext:
// ?msg_signature=..&timestamp=..&nonce=.. added to the URL, the XML
// envelope as body, Content-Type text/xml.
func (s *Sender) Request(ctx context.Context, plaintext []byte) (*http.Request, error) {
	if s.Cipher == nil {
		return nil, errors.New("wecomtest: request: Sender.Cipher is nil")
	}
	ts, nonce, err := s.stamp()
	if err != nil {
		return nil, fmt.Errorf("wecomtest: request: %w", err)
	}
	encrypt, signature, err := s.Cipher.Seal(plaintext, ts, nonce)
	if err != nil {
		return nil, fmt.Errorf("wecomtest: request: %w", err)
	}
	to := s.ToUserName
	if to == "" {
		to = s.Cipher.ReceiveID()
	}
	body := wecom.Envelope{ToUserName: to, AgentID: s.AgentID, Encrypt: encrypt}.Marshal()
	target, err := s.target("msg_signature", signature, "timestamp", ts, "nonce", nonce)
	if err != nil {
		return nil, fmt.Errorf("wecomtest: request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("wecomtest: request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nil
}

// Post sends plaintext as a callback and returns the receiver's answer.
// A non-200 status is not an error: the caller judges it.
func (s *Sender) Post(ctx context.Context, plaintext []byte) (status int, body []byte, err error) {
	req, err := s.Request(ctx, plaintext)
	if err != nil {
		return 0, nil, err
	}
	return s.do(req)
}

// VerifyURL sends the URL-verification GET the admin console sends when
// the callback URL is saved: echo encrypted as echostr (percent-encoded in
// the query, so its '+', '/' and '=' survive), signed with the timestamp
// and nonce. A correct receiver answers 200 with exactly echo.
func (s *Sender) VerifyURL(ctx context.Context, echo string) (status int, body []byte, err error) {
	if s.Cipher == nil {
		return 0, nil, errors.New("wecomtest: verify URL: Sender.Cipher is nil")
	}
	ts, nonce, err := s.stamp()
	if err != nil {
		return 0, nil, fmt.Errorf("wecomtest: verify URL: %w", err)
	}
	echostr, signature, err := s.Cipher.Seal([]byte(echo), ts, nonce)
	if err != nil {
		return 0, nil, fmt.Errorf("wecomtest: verify URL: %w", err)
	}
	target, err := s.target("msg_signature", signature, "timestamp", ts, "nonce", nonce, "echostr", echostr)
	if err != nil {
		return 0, nil, fmt.Errorf("wecomtest: verify URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("wecomtest: verify URL: %w", err)
	}
	return s.do(req)
}

func (s *Sender) do(req *http.Request) (int, []byte, error) {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("wecomtest: %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("wecomtest: read response: %w", err)
	}
	return resp.StatusCode, body, nil
}

// stamp returns the timestamp and nonce of one callback.
func (s *Sender) stamp() (timestamp, nonce string, err error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	timestamp = strconv.FormatInt(now().Unix(), 10)
	if s.Nonce != nil {
		return timestamp, s.Nonce(), nil
	}
	nonce, err = randomNonce()
	return timestamp, nonce, err
}

// randomNonce returns a 9- or 10-digit decimal, like WeCom's nonces
// ("1372623149", "263014780").
func randomNonce() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	n := uint64(binary.BigEndian.Uint32(b[:]))
	if n < 100000000 {
		n += 100000000
	}
	return strconv.FormatUint(n, 10), nil
}

// target returns s.URL with the query pairs appended in WeCom's order
// (msg_signature, timestamp, nonce[, echostr]), each percent-encoded.
func (s *Sender) target(pairs ...string) (string, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return "", fmt.Errorf("callback URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("callback URL %q is not an absolute http(s) URL", s.URL)
	}
	var q bytes.Buffer
	q.WriteString(u.RawQuery)
	for i := 0; i+1 < len(pairs); i += 2 {
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(url.QueryEscape(pairs[i]))
		q.WriteByte('=')
		q.WriteString(url.QueryEscape(pairs[i+1]))
	}
	u.RawQuery = q.String()
	return u.String(), nil
}
