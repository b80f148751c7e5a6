package wecomtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom"
)

var (
	archKeysOnce sync.Once
	archKeys     [2]*rsa.PrivateKey
	archKeysErr  error
)

// testArchiveKeys are two keys made once per test binary (RSA key
// generation is slow under -race).
func testArchiveKeys(t *testing.T) [2]*rsa.PrivateKey {
	t.Helper()
	archKeysOnce.Do(func() {
		for i := range archKeys {
			archKeys[i], archKeysErr = GenerateArchiveKey()
			if archKeysErr != nil {
				return
			}
		}
	})
	if archKeysErr != nil {
		t.Fatal(archKeysErr)
	}
	return archKeys
}

var archStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newTestArchive is a server on a frozen clock with key version 1
// uploaded, and a source holding that key.
func newTestArchive(t *testing.T, cfg ArchiveConfig) (*ArchiveServer, *ArchiveSource, *testclock.Clock) {
	t.Helper()
	keys := testArchiveKeys(t)
	clock := testclock.Frozen(archStart)
	cfg.Now = clock.Now
	srv := NewArchiveServer(cfg)
	if v := srv.UploadPublicKey(&keys[0].PublicKey); v != 1 {
		t.Fatalf("first upload is version %d", v)
	}
	src := NewArchiveSource(srv, cfg.Secret, map[uint32]*rsa.PrivateKey{1: keys[0]})
	t.Cleanup(func() { src.Close() })
	return srv, src, clock
}

// pullAll pulls from seq until caught up with limit.
func pullAll(t *testing.T, src wecom.ArchiveSource, seq uint64, limit int) []wecom.ChatRecord {
	t.Helper()
	var out []wecom.ChatRecord
	for {
		recs, err := src.ChatData(context.Background(), seq, limit)
		if err != nil {
			t.Fatalf("ChatData(%d, %d): %v", seq, limit, err)
		}
		if len(recs) == 0 {
			return out
		}
		if len(recs) > limit {
			t.Fatalf("%d records for limit %d", len(recs), limit)
		}
		for _, r := range recs {
			if r.Seq <= seq {
				t.Fatalf("seq %d not after %d", r.Seq, seq)
			}
			seq = r.Seq
		}
		out = append(out, recs...)
	}
}

func sdkCode(err error) int {
	var se *wecom.SDKError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestArchiveEveryKindRoundTrips(t *testing.T) {
	keys := testArchiveKeys(t)
	srv, _, clock := newTestArchive(t, ArchiveConfig{Seed: 7})
	kinds := ArchiveKinds()
	if _, err := srv.Generate(len(kinds)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if v := srv.UploadPublicKey(&keys[1].PublicKey); v != 2 { // a rotation mid-stream
		t.Fatalf("second upload is version %d", v)
	}
	if _, err := srv.Generate(300); err != nil {
		t.Fatal(err)
	}
	src := NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{1: keys[0], 2: keys[1]})
	defer src.Close()

	recs := pullAll(t, src, 0, 97)
	if len(recs) != len(kinds)+300 {
		t.Fatalf("pulled %d records", len(recs))
	}
	types := map[string]int{}
	actions := map[string]int{}
	var external, rooms, raw int
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		wantVer := uint32(1)
		if i >= len(kinds) {
			wantVer = 2
		}
		if r.PublicKeyVer != wantVer {
			t.Fatalf("seq %d: publickey_ver %d, want %d", r.Seq, r.PublicKeyVer, wantVer)
		}
		plain, err := src.Decrypt(context.Background(), r)
		if err != nil {
			t.Fatalf("Decrypt seq %d: %v", r.Seq, err)
		}
		if want, _ := srv.Plaintext(r.MsgID); !bytes.Equal(plain, want) {
			t.Fatalf("seq %d: plaintext differs from the server's", r.Seq)
		}
		m, err := wecom.DecodeChatMessage(plain)
		if err != nil {
			t.Fatalf("seq %d: %v", r.Seq, err)
		}
		if m.MsgID != r.MsgID {
			t.Fatalf("seq %d: inner msgid %q, outer %q", r.Seq, m.MsgID, r.MsgID)
		}
		if !json.Valid(plain) {
			raw++
		}
		types[m.Type]++
		actions[m.Action]++
		if strings.HasSuffix(m.MsgID, "_external") {
			external++
			if !m.External() {
				t.Errorf("seq %d: _external message without an external party", r.Seq)
			}
		}
		if m.RoomID != "" {
			rooms++
		}
		if i < len(kinds) {
			wantType := kinds[i]
			switch wantType {
			case "quote", "unknown":
				wantType = "text"
			case "switch":
				wantType = ""
			}
			if m.Type != wantType {
				t.Errorf("seq %d: type %q, want %q (kind %s)", r.Seq, m.Type, wantType, kinds[i])
			}
			if kinds[i] == "unknown" && m.Text != ArchiveUnknownText {
				t.Errorf("unknown kind: text %q", m.Text)
			}
		}
		if m.Action != wecom.ActionSwitch && m.Time.IsZero() {
			t.Errorf("seq %d: no msgtime", r.Seq)
		}
	}
	for _, typ := range []string{"text", "image", "voice", "video", "file", "revoke", "agree", "disagree", "card", "link", "chatrecord", "mixed", "meeting", "markdown", "emotion", "location", "weapp", "todo", "vote", "collect", "redpacket", "external_redpacket", "meeting_notification", "docmsg", "news", "calendar", "meeting_voice_call", "voip_doc_share", "sphfeed", "voiptext", "qydiskfile", "solitaire", "note"} {
		if types[typ] == 0 {
			t.Errorf("no %s message", typ)
		}
	}
	if actions[wecom.ActionRecall] == 0 || actions[wecom.ActionSwitch] == 0 || actions[wecom.ActionSend] == 0 {
		t.Errorf("actions %v", actions)
	}
	if external == 0 || rooms == 0 || raw == 0 {
		t.Errorf("external %d, room %d, raw-control-byte %d messages", external, rooms, raw)
	}
	served := srv.Served()
	if len(served) != len(recs) || served[0].Seq != 1 || served[len(served)-1].MsgID != recs[len(recs)-1].MsgID {
		t.Errorf("served %d records", len(served))
	}
}

func TestArchiveMediaMatchesMessages(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 11})
	if _, err := srv.Generate(len(ArchiveKinds()) + 150); err != nil {
		t.Fatal(err)
	}
	var refs []wecom.ChatMedia
	for _, r := range pullAll(t, src, 0, 1000) {
		plain, err := src.Decrypt(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wecom.DecodeChatMessage(plain)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, m.Media...)
	}
	nested, multiChunk := 0, 0
	for _, ref := range refs {
		var buf bytes.Buffer
		before := srv.Calls(OpMedia)
		n, err := src.Media(context.Background(), ref.SDKFileID, &buf)
		if err != nil {
			t.Fatalf("Media %s: %v", ref.Type, err)
		}
		calls := srv.Calls(OpMedia) - before
		if want := (buf.Len() + wecom.MediaChunkSize - 1) / wecom.MediaChunkSize; calls != max(want, 1) {
			t.Errorf("%d bytes in %d calls", buf.Len(), calls)
		}
		if calls > 1 {
			multiChunk++
		}
		if n != int64(buf.Len()) {
			t.Errorf("Media returned %d, wrote %d", n, buf.Len())
		}
		sum := md5.Sum(buf.Bytes())
		if ref.MD5Sum != "" && hex.EncodeToString(sum[:]) != ref.MD5Sum {
			t.Errorf("%s %s: md5 differs", ref.Type, ref.SDKFileID)
		}
		if ref.Size != 0 && ref.Size != n {
			t.Errorf("%s: size %d, message says %d", ref.Type, n, ref.Size)
		}
		if ref.MD5Sum == "" && ref.Type != "meeting_voice_call" {
			t.Errorf("%s: no md5sum", ref.Type)
		}
		if want, _ := srv.MediaBytes(ref.SDKFileID); !bytes.Equal(want, buf.Bytes()) {
			t.Errorf("%s: bytes differ from the server's", ref.Type)
		}
		if ref.Type == "image" || ref.Type == "file" {
			nested++
		}
	}
	if len(refs) == 0 || multiChunk == 0 || nested == 0 {
		t.Errorf("%d media, %d in several chunks", len(refs), multiChunk)
	}
	// Every media file the generator made is referred to by a message.
	if len(srv.MediaIDs()) != len(refs) {
		t.Errorf("%d media stored, %d referred to", len(srv.MediaIDs()), len(refs))
	}
}

func TestArchiveKeyRing(t *testing.T) {
	keys := testArchiveKeys(t)
	srv, _, _ := newTestArchive(t, ArchiveConfig{Seed: 3})
	if _, err := srv.Generate(2); err != nil {
		t.Fatal(err)
	}
	srv.UploadPublicKey(&keys[1].PublicKey)
	if _, err := srv.Generate(2); err != nil {
		t.Fatal(err)
	}
	if err := srv.UseKeyVersion(1); err != nil { // back to version 1
		t.Fatal(err)
	}
	if _, err := srv.Generate(1); err != nil {
		t.Fatal(err)
	}
	if err := srv.UseKeyVersion(9); err == nil {
		t.Error("UseKeyVersion(9) succeeded")
	}
	only1 := NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{1: keys[0]})
	wrong := NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{1: keys[1], 2: keys[0]})
	recs := pullAll(t, only1, 0, 10)
	vers := []uint32{1, 1, 2, 2, 1}
	for i, r := range recs {
		if r.PublicKeyVer != vers[i] {
			t.Fatalf("seq %d: version %d, want %d", r.Seq, r.PublicKeyVer, vers[i])
		}
		_, err := only1.Decrypt(context.Background(), r)
		if r.PublicKeyVer == 2 {
			if !errors.Is(err, wecom.ErrNoArchiveKey) {
				t.Errorf("seq %d without its key: %v", r.Seq, err)
			}
		} else if err != nil {
			t.Errorf("seq %d: %v", r.Seq, err)
		}
		_, err = wrong.Decrypt(context.Background(), r)
		if c := sdkCode(err); c != wecom.SDKErrDecrypt && c != wecom.SDKErrDecryptKey {
			t.Errorf("seq %d with the wrong key: %v", r.Seq, err)
		}
	}
	// A corrupt encrypt_chat_msg.
	r := recs[0]
	r.EncryptChatMsg = r.EncryptChatMsg[:len(r.EncryptChatMsg)-8] + "AAAAAAA="
	if _, err := only1.Decrypt(context.Background(), r); sdkCode(err) != wecom.SDKErrDecryptKey && sdkCode(err) != wecom.SDKErrDecrypt {
		t.Errorf("corrupt record: %v", err)
	}
}

func TestArchiveChatDataLimit(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 1})
	if _, err := srv.Generate(5); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{-1, 0, 1001} {
		if _, err := src.ChatData(context.Background(), 0, limit); sdkCode(err) != wecom.SDKErrParam {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
	for _, tt := range []struct {
		seq   uint64
		limit int
		want  []uint64
	}{
		{0, 1, []uint64{1}},
		{0, 1000, []uint64{1, 2, 3, 4, 5}},
		{2, 2, []uint64{3, 4}},
		{5, 10, nil},
		{99, 10, nil},
	} {
		recs, err := src.ChatData(context.Background(), tt.seq, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, r := range recs {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ChatData(%d, %d) = %v, want %v", tt.seq, tt.limit, got, tt.want)
		}
	}
}

func TestArchiveFaults(t *testing.T) {
	ctx := context.Background()
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 5, Secret: "archive-secret"})
	if _, err := srv.Generate(3); err != nil {
		t.Fatal(err)
	}
	t.Run("ChatData codes in order, then success", func(t *testing.T) {
		srv.FailNext(OpChatData, wecom.SDKErrNetwork, wecom.SDKErrParse, wecom.SDKErrIPNotAllowed)
		for _, want := range []int{10001, 10002, 10009} {
			_, err := src.ChatData(ctx, 0, 10)
			var se *wecom.SDKError
			if !errors.As(err, &se) || se.Code != want || se.Op != "GetChatData" {
				t.Fatalf("err = %v, want code %d", err, want)
			}
			if se.Temporary() != (want <= 10003) {
				t.Errorf("code %d: Temporary %v", want, se.Temporary())
			}
		}
		if recs, err := src.ChatData(ctx, 0, 10); err != nil || len(recs) != 3 {
			t.Fatalf("after the faults: %d records, %v", len(recs), err)
		}
	})
	t.Run("JSON errcode with SDK code 0", func(t *testing.T) {
		srv.FailNextJSON(41001, "access_token missing", 1)
		if _, err := src.ChatData(ctx, 0, 10); sdkCode(err) != 41001 {
			t.Fatalf("err = %v", err)
		}
		wrongSecret := NewArchiveSource(srv, "the-app-secret", map[uint32]*rsa.PrivateKey{1: testArchiveKeys(t)[0]})
		_, err := wrongSecret.ChatData(ctx, 0, 10)
		if sdkCode(err) != 48002 {
			t.Fatalf("wrong secret: %v", err)
		}
		if strings.Contains(err.Error(), "the-app-secret") || strings.Contains(err.Error(), "archive-secret") {
			t.Errorf("error shows a secret: %v", err)
		}
	})
	t.Run("Decrypt codes", func(t *testing.T) {
		recs, _ := src.ChatData(ctx, 0, 1)
		srv.FailNext(OpDecrypt, wecom.SDKErrDecrypt)
		if _, err := src.Decrypt(ctx, recs[0]); sdkCode(err) != 10006 {
			t.Fatalf("err = %v", err)
		}
		if _, err := src.Decrypt(ctx, recs[0]); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Media: a failed chunk is retried, not the file", func(t *testing.T) {
		data := bytes.Repeat([]byte("媒体"), wecom.MediaChunkSize/3) // 2 chunks
		srv.AddMedia("FILE1", data)
		before := srv.Calls(OpMedia)
		// Chunk 1 fails once, chunk 2 twice: still within 3 attempts.
		srv.FailNext(OpMedia, wecom.SDKErrNetwork)
		var buf bytes.Buffer
		if _, err := src.Media(ctx, "FILE1", &buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatal("bytes differ")
		}
		if calls := srv.Calls(OpMedia) - before; calls != 3 {
			t.Errorf("%d calls, want 3", calls)
		}
		srv.FailNext(OpMedia, wecom.SDKErrSystem, wecom.SDKErrSystem, wecom.SDKErrSystem)
		if _, err := src.Media(ctx, "FILE1", &bytes.Buffer{}); sdkCode(err) != 10003 {
			t.Errorf("three failures of one chunk: %v", err)
		}
		if _, err := src.Media(ctx, "NOPE", &bytes.Buffer{}); sdkCode(err) != wecom.SDKErrFileID {
			t.Errorf("unknown sdkfileid: %v", err)
		}
		if _, err := src.Media(ctx, "", &bytes.Buffer{}); sdkCode(err) != wecom.SDKErrParam {
			t.Errorf("empty sdkfileid: %v", err)
		}
	})
}

func TestArchiveGapsAndDuplicates(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 9})
	ids, err := srv.Generate(3)
	if err != nil {
		t.Fatal(err)
	}
	srv.SkipSeqs(5)
	dup, err := srv.Duplicate(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if dup != 9 {
		t.Errorf("duplicate at seq %d, want 9 (after a gap of 5)", dup)
	}
	if _, err := srv.Duplicate("never-sent"); err == nil {
		t.Error("Duplicate of an unknown msgid succeeded")
	}
	recs := pullAll(t, src, 0, 100)
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3, 9}) {
		t.Fatalf("seqs %v", seqs)
	}
	if recs[3].MsgID != ids[1] || recs[3].EncryptChatMsg == recs[1].EncryptChatMsg {
		t.Errorf("duplicate: msgid %q, ciphertext reused %v", recs[3].MsgID, recs[3].EncryptChatMsg == recs[1].EncryptChatMsg)
	}
	a, _ := src.Decrypt(context.Background(), recs[1])
	b, _ := src.Decrypt(context.Background(), recs[3])
	if !bytes.Equal(a, b) {
		t.Error("the duplicate's plaintext differs")
	}
}

func TestArchiveHorizon(t *testing.T) {
	for _, mode := range []StaleSeqMode{StaleSeqRestart, StaleSeqExpired} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			srv, src, clock := newTestArchive(t, ArchiveConfig{Seed: 13, StaleSeq: mode})
			data := []byte("old media")
			srv.AddMedia("OLD", data)
			if _, err := srv.Generate(4); err != nil { // seqs 1–4
				t.Fatal(err)
			}
			clock.Advance(3 * 24 * time.Hour)
			if _, err := srv.Generate(2); err != nil { // seqs 5–6
				t.Fatal(err)
			}
			clock.Advance(2*24*time.Hour + time.Minute) // 1–4 are now older than 5 days
			info := srv.Records()
			if !info[3].Expired || info[4].Expired {
				t.Fatalf("expiry %v", info)
			}
			seqsFrom := func(seq uint64) ([]uint64, error) {
				recs, err := src.ChatData(context.Background(), seq, 100)
				var out []uint64
				for _, r := range recs {
					out = append(out, r.Seq)
				}
				return out, err
			}
			if got, err := seqsFrom(0); err != nil || !slices.Equal(got, []uint64{5, 6}) {
				t.Errorf("first pull: %v %v", got, err)
			}
			if got, err := seqsFrom(4); err != nil || !slices.Equal(got, []uint64{5, 6}) {
				t.Errorf("from the last expired seq: %v %v", got, err)
			}
			got, err := seqsFrom(2) // 3 and 4 are gone
			switch mode {
			case StaleSeqRestart:
				if err != nil || !slices.Equal(got, []uint64{5, 6}) {
					t.Errorf("restart: %v %v", got, err)
				}
			case StaleSeqExpired:
				if sdkCode(err) != wecom.SDKErrExpired {
					t.Errorf("expired: %v %v", got, err)
				}
			}
			if _, err := src.Media(context.Background(), "OLD", &bytes.Buffer{}); sdkCode(err) != wecom.SDKErrExpired {
				t.Errorf("old media: %v", err)
			}
		})
	}
}

func TestArchiveAdd(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 2})
	ctx := context.Background()
	plain := "{\"msgid\":\"m-raw\",\"action\":\"send\",\"from\":\"zhangsan\",\"tolist\":[\"lisi\"],\"roomid\":\"\",\"msgtime\":1,\"msgtype\":\"text\",\"text\":{\"content\":\"两行\n文本\"}}"
	for _, tt := range []struct {
		name string
		msg  any
		want string // the plaintext, "" = don't compare
	}{
		{"string with a raw newline", plain, plain},
		{"bytes", []byte(`{"msgid":"m-bytes"}`), `{"msgid":"m-bytes"}`},
		{"RawMessage", json.RawMessage(`{"msgid":"m-rm","action":"switch","time":1,"user":"u"}`), ""},
		{"map, no HTML escaping", map[string]any{"msgid": "m-map", "msgtype": "text", "text": map[string]any{"content": "a&b<c>"}}, `{"msgid":"m-map","msgtype":"text","text":{"content":"a&b<c>"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seq, err := srv.Add(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := src.ChatData(ctx, seq-1, 1)
			if err != nil || len(recs) != 1 {
				t.Fatalf("%v %v", recs, err)
			}
			got, err := src.Decrypt(ctx, recs[0])
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("plaintext %q", got)
			}
		})
	}
	if _, err := srv.Add(`{"action":"send"}`); !errors.Is(err, wecom.ErrChatNoMsgID) {
		t.Errorf("no msgid: %v", err)
	}
	if _, err := srv.Add(make(chan int)); err == nil {
		t.Error("unmarshallable value added")
	}
	seq, err := srv.AddRaw("corrupt", []byte("not json \x00"))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := src.ChatData(ctx, seq-1, 1)
	got, err := src.Decrypt(ctx, recs[0])
	if err != nil || string(got) != "not json \x00" {
		t.Errorf("AddRaw: %q %v", got, err)
	}
	empty := NewArchiveServer(ArchiveConfig{})
	if _, err := empty.Add(`{"msgid":"x"}`); err == nil {
		t.Error("Add without a public key succeeded")
	}
}

func TestArchiveTrickle(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 21})
	at := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	ids, err := srv.Trickle(at)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < 3 {
		t.Fatalf("%d messages", len(ids))
	}
	recs := pullAll(t, src, 0, 10)
	var hasRoom, hasExternal bool
	for _, r := range recs {
		plain, err := src.Decrypt(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wecom.DecodeChatMessage(plain)
		if err != nil {
			t.Fatal(err)
		}
		if m.Time.After(at) || at.Sub(m.Time) > time.Minute {
			t.Errorf("msgtime %v, trickled at %v", m.Time, at)
		}
		if m.Text == "" || !strings.ContainsFunc(m.Text, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("text %q is not Chinese", m.Text)
		}
		hasRoom = hasRoom || m.RoomID != ""
		hasExternal = hasExternal || m.External()
	}
	if !hasRoom || !hasExternal {
		t.Errorf("room %v, external %v", hasRoom, hasExternal)
	}
}

func TestArchiveCleanJSON(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 7, CleanJSON: true})
	if _, err := srv.Generate(len(ArchiveKinds()) + 100); err != nil {
		t.Fatal(err)
	}
	for _, r := range pullAll(t, src, 0, 1000) {
		plain, err := src.Decrypt(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(plain) {
			t.Fatalf("seq %d: not valid JSON with CleanJSON", r.Seq)
		}
	}
}

func TestArchiveClose(t *testing.T) {
	srv, src, _ := newTestArchive(t, ArchiveConfig{Seed: 1})
	if _, err := srv.Generate(1); err != nil {
		t.Fatal(err)
	}
	recs, err := src.ChatData(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.ChatData(context.Background(), 0, 1); !errors.Is(err, wecom.ErrArchiveClosed) {
		t.Errorf("ChatData after Close: %v", err)
	}
	if _, err := src.Decrypt(context.Background(), recs[0]); !errors.Is(err, wecom.ErrArchiveClosed) {
		t.Errorf("Decrypt after Close: %v", err)
	}
	if _, err := src.Media(context.Background(), "x", &bytes.Buffer{}); !errors.Is(err, wecom.ErrArchiveClosed) {
		t.Errorf("Media after Close: %v", err)
	}
}

func TestArchiveKeyFiles(t *testing.T) {
	keys := testArchiveKeys(t)
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "v1.pem"), filepath.Join(dir, "v2.pem")
	if err := WriteArchiveKeyPEM(p1, keys[0], false); err != nil {
		t.Fatal(err)
	}
	if err := WriteArchiveKeyPEM(p2, keys[1], true); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{p1: "RSA PRIVATE KEY", p2: "BEGIN PRIVATE KEY"} {
		b, _ := os.ReadFile(p)
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q", p, want)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", p, fi.Mode())
		}
	}
	ring, err := LoadArchiveKeys(map[uint32]string{1: p1, 2: p2})
	if err != nil {
		t.Fatal(err)
	}
	if !ring[1].Equal(keys[0]) || !ring[2].Equal(keys[1]) {
		t.Error("loaded keys differ")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadArchiveKeys(map[uint32]string{3: filepath.Join(dir, "bad.pem")}); err == nil || !strings.Contains(err.Error(), "version 3") {
		t.Errorf("bad key file: %v", err)
	}
}

// archiveScenario runs the same steps on a server made from seed with the
// key ring, pulls everything and returns one line per record (seq, msgid,
// version, plaintext digest) and per media file (id, md5).
func archiveScenario(t *testing.T, seed uint64, ring map[uint32]*rsa.PrivateKey) []string {
	t.Helper()
	clock := testclock.Frozen(archStart)
	srv := NewArchiveServer(ArchiveConfig{Seed: seed, Now: clock.Now})
	srv.UploadPublicKey(&ring[1].PublicKey)
	ids, err := srv.Generate(60)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	srv.UploadPublicKey(&ring[2].PublicKey)
	if _, err := srv.Generate(30); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Duplicate(ids[4]); err != nil {
		t.Fatal(err)
	}
	srv.SkipSeqs(3)
	if _, err := srv.Trickle(clock.Now()); err != nil {
		t.Fatal(err)
	}
	src := NewArchiveSource(srv, "", ring)
	defer src.Close()
	var lines []string
	for _, r := range pullAll(t, src, 0, 25) {
		plain, err := src.Decrypt(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(plain)
		lines = append(lines, fmt.Sprintf("%d %s v%d %x", r.Seq, r.MsgID, r.PublicKeyVer, sum[:8]))
	}
	mids := srv.MediaIDs()
	sort.Strings(mids)
	for _, id := range mids {
		b, _ := srv.MediaBytes(id)
		lines = append(lines, "media "+id+" "+mediaMD5(b))
	}
	return lines
}

// TestArchiveDeterministicAcrossProcesses runs the same scenario here and
// in a child process that loads the keys from PEM files: the records and
// media must be the same. With WECOMTEST_ARCHIVE_CHILD set it is the
// child.
func TestArchiveDeterministicAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("WECOMTEST_ARCHIVE_CHILD"); dir != "" {
		ring, err := LoadArchiveKeys(map[uint32]string{1: filepath.Join(dir, "v1.pem"), 2: filepath.Join(dir, "v2.pem")})
		if err != nil {
			t.Fatal(err)
		}
		lines := archiveScenario(t, 4242, ring)
		if err := os.WriteFile(filepath.Join(dir, "child.txt"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	keys := testArchiveKeys(t)
	dir := t.TempDir()
	if err := WriteArchiveKeyPEM(filepath.Join(dir, "v1.pem"), keys[0], true); err != nil {
		t.Fatal(err)
	}
	if err := WriteArchiveKeyPEM(filepath.Join(dir, "v2.pem"), keys[1], false); err != nil {
		t.Fatal(err)
	}
	ring := map[uint32]*rsa.PrivateKey{1: keys[0], 2: keys[1]}
	here := archiveScenario(t, 4242, ring)
	if again := archiveScenario(t, 4242, ring); !slices.Equal(here, again) {
		t.Fatal("the same seed gave different records in one process")
	}
	if other := archiveScenario(t, 4243, ring); slices.Equal(here[:5], other[:5]) {
		t.Fatal("another seed gave the same records")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestArchiveDeterministicAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WECOMTEST_ARCHIVE_CHILD="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "child.txt"))
	if err != nil {
		t.Fatal(err)
	}
	child := strings.Split(string(b), "\n")
	if !slices.Equal(here, child) {
		for i := range min(len(here), len(child)) {
			if here[i] != child[i] {
				t.Fatalf("line %d differs:\nhere  %s\nchild %s", i, here[i], child[i])
			}
		}
		t.Fatalf("%d lines here, %d in the child", len(here), len(child))
	}
	if len(here) < 94 {
		t.Fatalf("only %d lines", len(here))
	}
}
