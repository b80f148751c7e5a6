package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// callback serves one receiver's URL: GET verifies the URL, POST accepts
// events. POST answers, in this order: 413 body too large; 400 no
// envelope; 403 bad signature, stale timestamp or wrong receiver; 400
// undecryptable or undecodable; 503 store unavailable; otherwise 200 with
// an empty body, and only once the event is durable.
type callback struct {
	rc       Receiver
	o        *Options
	m        *metrics
	counters *callbackCounters // m.callbacks for this receiver
	baseline bool              // verify and decode, persist nothing (load-test baseline)
	// bodies recycles the *bytes.Buffer bodies are read into: nothing
	// keeps a body past accept (ParseEnvelope copies what it returns).
	bodies sync.Pool
}

func newCallback(rc Receiver, o *Options, m *metrics, baseline bool) *callback {
	return &callback{rc: rc, o: o, m: m, counters: newCallbackCounters(m.callbacks, rc.Name), baseline: baseline}
}

// maxPooledBody is the largest body buffer put back: an occasional large
// body is left to the collector rather than pinned.
const maxPooledBody = 64 << 10

func (cb *callback) getBodyBuffer() *bytes.Buffer {
	if b, ok := cb.bodies.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (cb *callback) putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		cb.bodies.Put(b)
	}
}

// outcome is how one callback ended: the status, a reason for the log
// and the event's kind when it got that far.
type outcome struct {
	status int
	reason string
	kind   string
	err    error
}

func (cb *callback) verifyURL(c *gin.Context) {
	q := c.Request.URL.Query() // percent-decoded once, as WECOM.md §1.2 asks
	echo := q.Get("echostr")
	out := outcome{status: http.StatusOK, kind: "url_verification"}
	msg, err := cb.open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), echo)
	if err != nil {
		out = failure(err)
		out.kind = "url_verification"
	}
	cb.finish(c, out)
	if out.status == http.StatusOK {
		// Exactly the plaintext: no quotes, no newline.
		c.Data(http.StatusOK, "text/plain; charset=utf-8", msg)
	}
}

func (cb *callback) receive(c *gin.Context) {
	out := cb.accept(c)
	cb.finish(c, out)
	if out.status == http.StatusOK {
		c.Status(http.StatusOK) // empty body: no passive reply
	}
}

func (cb *callback) accept(c *gin.Context) outcome {
	req := c.Request
	if req.ContentLength > cb.o.MaxBodyBytes {
		return outcome{status: http.StatusRequestEntityTooLarge, reason: "body too large"}
	}
	buf := cb.getBodyBuffer()
	defer cb.putBodyBuffer(buf)
	if req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead free before each read
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, req.Body, cb.o.MaxBodyBytes))
	body := buf.Bytes() // ParseEnvelope copies what it keeps
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return outcome{status: http.StatusRequestEntityTooLarge, reason: "body too large"}
		}
		return outcome{status: http.StatusBadRequest, reason: "read body", err: err}
	}
	env, err := wecom.ParseEnvelope(body)
	if err != nil {
		return outcome{status: http.StatusBadRequest, reason: "malformed envelope", err: err}
	}
	q := queryOf(req.URL.RawQuery)
	plain, err := cb.open(q.signature, q.timestamp, q.nonce, env.Encrypt)
	if err != nil {
		return failure(err)
	}
	ev, err := wecom.Decode(plain)
	if err != nil {
		return outcome{status: http.StatusBadRequest, reason: "undecodable event", err: err}
	}
	out := outcome{status: http.StatusOK, kind: ev.Kind()}
	if _, raw := ev.(*wecom.RawEvent); raw {
		// Kept and processed like any other; logged so we learn of it.
		cb.o.Logger.Info("callback: event kind unknown to wecomply, kept raw", "receiver", cb.rc.Name, "kind", out.kind)
	}
	if cb.baseline {
		return out
	}
	if cb.o.Arrived != nil {
		cb.o.Arrived()
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), cb.o.EnqueueTimeout)
	defer cancel()
	start := time.Now()
	added, err := cb.o.Store.Enqueue(ctx, store.Event{
		DedupKey:   ev.DedupKey(),
		Kind:       out.kind,
		Receiver:   cb.rc.Path,
		ReceivedAt: cb.o.Now().UTC(),
		Payload:    plain,
	})
	cb.m.enqueue.Observe(time.Since(start).Seconds())
	if err != nil {
		return outcome{status: http.StatusServiceUnavailable, reason: "store unavailable", kind: out.kind, err: err}
	}
	if !added {
		out.reason = "duplicate"
	}
	return out
}

// open checks the timestamp window, then the signature, then decrypts.
// The signature is checked first so an unsigned request learns nothing.
func (cb *callback) open(sig, ts, nonce, encrypt string) ([]byte, error) {
	if err := cb.rc.Cipher.Verify(sig, ts, nonce, encrypt); err != nil {
		return nil, err
	}
	if err := wecom.CheckTimestamp(ts, cb.o.Now(), cb.o.TimestampWindow); err != nil {
		return nil, err
	}
	return cb.rc.Cipher.Decrypt(encrypt)
}

// failure maps a crypto error to its status.
func failure(err error) outcome {
	switch {
	case errors.Is(err, wecom.ErrSignature):
		return outcome{status: http.StatusForbidden, reason: "bad signature", err: err}
	case errors.Is(err, wecom.ErrStaleTimestamp):
		return outcome{status: http.StatusForbidden, reason: "timestamp outside the window", err: err}
	case errors.Is(err, wecom.ErrReceiveID):
		return outcome{status: http.StatusForbidden, reason: "wrong receiver", err: err}
	default:
		return outcome{status: http.StatusBadRequest, reason: "undecryptable", err: err}
	}
}

// finish counts and logs the callback and writes any error response.
// Nothing of the body, the key or the token is logged.
func (cb *callback) finish(c *gin.Context, out outcome) {
	kind := out.kind
	if kind == "" {
		kind = "none"
	}
	cb.counters.get(out.status, kind).Inc()
	level := slog.LevelDebug
	switch {
	case out.status >= 500:
		level = slog.LevelError
	case out.status >= 400:
		level = slog.LevelWarn
	}
	ctx := c.Request.Context()
	if cb.o.Logger.Enabled(ctx, level) { // the attributes cost more than the check
		attrs := make([]slog.Attr, 0, 7)
		attrs = append(attrs, slog.String("receiver", cb.rc.Name), slog.String("method", c.Request.Method),
			slog.Int("status", out.status), slog.String("kind", kind), slog.String("remote", c.ClientIP()))
		if out.reason != "" {
			attrs = append(attrs, slog.String("reason", out.reason))
		}
		if out.err != nil {
			attrs = append(attrs, slog.String("err", out.err.Error()))
		}
		cb.o.Logger.LogAttrs(ctx, level, "callback", attrs...)
	}
	if out.status != http.StatusOK {
		c.Header("Cache-Control", "no-store")
		c.String(out.status, "%s", out.reason)
	}
}

// callbackQuery holds the three query parameters of a callback POST.
type callbackQuery struct{ signature, timestamp, nonce string }

// queryOf reads msg_signature, timestamp and nonce from a raw query as
// url.ParseQuery and Values.Get would (first well-formed value; pairs
// with a ';' or a bad escape skipped), without building the map.
func queryOf(raw string) callbackQuery {
	var (
		q    callbackQuery
		have [3]bool
	)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		var i int
		var dst *string
		switch k {
		case "msg_signature":
			i, dst = 0, &q.signature
		case "timestamp":
			i, dst = 1, &q.timestamp
		case "nonce":
			i, dst = 2, &q.nonce
		default:
			continue
		}
		if have[i] {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		have[i], *dst = true, v
	}
	return q
}
