// Package wecom speaks WeCom's (企业微信) callback protocol: it verifies
// and decrypts callbacks (Cipher, ParseEnvelope, CheckTimestamp), encrypts
// passive replies, and decodes the decrypted plaintext into typed events
// (Decode). It follows the official docs as summarised in WECOM.md
// (https://developer.work.weixin.qq.com/document/path/90968 for the
// crypto, path/90239, 90240, 90970–90972, 92130, 92005 and 95039 for the
// payloads). Non-test code uses the standard library only.
package wecom
