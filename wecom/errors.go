package wecom

import "errors"

// Sentinel errors of the callback crypto and decoding. Every error this
// package returns wraps at most one of them, with the operation and a
// detail ("wecom: decrypt: ..."); check them with errors.Is. No error
// carries a token, a key or decrypted content. The negative numbers are
// the return codes of Tencent's own crypto libraries (path/90307).
var (
	// ErrAESKey: the EncodingAESKey is not 43 characters of Base64 that
	// decode to 32 bytes (-40004).
	ErrAESKey = errors.New("invalid EncodingAESKey (-40004)")

	// ErrSignature: msg_signature is missing or does not match the token,
	// timestamp, nonce and ciphertext (-40001).
	ErrSignature = errors.New("msg_signature does not match (-40001)")

	// ErrStaleTimestamp: the timestamp is missing, not a decimal integer,
	// or farther from now than the allowed window (a replay or a wrong
	// clock).
	ErrStaleTimestamp = errors.New("timestamp missing, malformed or outside the allowed window")

	// ErrBase64: the ciphertext (Encrypt or echostr) is not valid
	// standard, padded Base64 (-40010).
	ErrBase64 = errors.New("ciphertext is not valid base64 (-40010)")

	// ErrCiphertextSize: the decoded ciphertext is shorter than 32 bytes
	// or not a multiple of the 16-byte AES block (-40007).
	ErrCiphertextSize = errors.New("ciphertext has an invalid size (-40007)")

	// ErrPadding: after decryption the PKCS#7 padding is invalid (a pad
	// byte outside 1..32, or pad bytes that differ) while the msg_len
	// frame is sane (-40008).
	ErrPadding = errors.New("invalid PKCS#7 padding (-40008)")

	// ErrMsgLen: after decryption the padding is valid but the frame is
	// not: shorter than 20 bytes, or msg_len runs past the buffer (-40008).
	ErrMsgLen = errors.New("msg_len does not fit the decrypted buffer (-40008)")

	// ErrWrongKey: after decryption both the padding and the msg_len
	// frame are invalid, which is what a different EncodingAESKey
	// produces.
	ErrWrongKey = errors.New("padding and msg_len are both invalid: the EncodingAESKey probably does not match the one set in the WeCom console")

	// ErrReceiveID: the receiveid at the end of the plaintext is not the
	// expected CorpID (or suiteid) (-40005).
	ErrReceiveID = errors.New("receiveid does not match the expected one (-40005)")

	// ErrEnvelope: the POST body is not a well-formed XML or JSON
	// envelope with a non-empty Encrypt (-40002).
	ErrEnvelope = errors.New("malformed callback envelope (-40002)")

	// ErrDecode: the decrypted plaintext is not a well-formed event: not
	// XML or JSON, the root is not <xml>, MsgType is missing, or a typed
	// field (such as CreateTime) has a bad value. An unknown MsgType,
	// Event or ChangeType is never an error.
	ErrDecode = errors.New("malformed event")
)
