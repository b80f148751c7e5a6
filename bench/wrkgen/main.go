// Command wrkgen writes -n distinct, freshly signed and encrypted WeCom
// text callbacks for bench/wrk.sh, one request a line: the path with its
// query (msg_signature, timestamp, nonce), a space, the XML envelope on
// one line. wrk's Lua script (bench/wrk.lua) reads the file at start.
//
//	go run ./bench/wrkgen -n 200000 -token T -aes-key K -corp-id ww… > requests.txt
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wrkgen:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 200000, "how many distinct callbacks")
	path := flag.String("path", "/wecom/callback", "callback path")
	token := flag.String("token", "", "the callback Token")
	key := flag.String("aes-key", "", "the callback EncodingAESKey")
	corpID := flag.String("corp-id", "", "the corp id (receiveid)")
	users := flag.Int("users", 5000, "distinct senders")
	flag.Parse()
	c, err := wecom.NewCipher(*token, *key, *corpID)
	if err != nil {
		return err
	}
	// Distinct MsgIds across runs too: a random 40-bit prefix.
	var salt [5]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return err
	}
	base := int64(salt[0])<<32 | int64(salt[1])<<24 | int64(salt[2])<<16 | int64(salt[3])<<8 | int64(salt[4])
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	var nonce [8]byte
	for i := range *n {
		plain, err := wecomtest.BuildEvent(wecomtest.EventSpec{
			Kind: "text", CorpID: *corpID, CreateTime: now,
			UserID:  fmt.Sprintf("user%d", i%*users),
			Content: "收到，谢谢 / noted, thanks",
			MsgID:   strconv.FormatInt(base<<22|int64(i), 10),
		})
		if err != nil {
			return err
		}
		if _, err := rand.Read(nonce[:]); err != nil {
			return err
		}
		nc := hex.EncodeToString(nonce[:])
		encrypt, sig, err := c.Seal(plain, ts, nc)
		if err != nil {
			return err
		}
		body := wecom.Envelope{ToUserName: *corpID, AgentID: "1000002", Encrypt: encrypt}.Marshal()
		q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nc}}
		fmt.Fprintf(w, "%s?%s ", *path, q.Encode())
		for _, b := range body {
			if b != '\n' && b != '\r' {
				w.WriteByte(b)
			}
		}
		w.WriteByte('\n')
	}
	return w.Flush()
}
