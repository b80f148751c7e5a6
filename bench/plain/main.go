// Command plain is the yardstick of bench/wrk.sh (issue 10): the callback
// route anyone would write in an afternoon with Gin and silenceper —
// verify the signature, decrypt with silenceper's util.DecryptMsg, decode
// the XML into a small struct with encoding/xml — and nothing kept. It
// shares no code with wecomply, so wecomply's ratio against it says what
// our own verify, decrypt, decode and durable enqueue cost.
//
// With -log or -redis it also keeps each decrypted message before its 200,
// in the plainest durable way: -log appends it to one preallocated file
// and answers once an fdatasync covers it (one flush at a time, each
// taking all that arrived meanwhile); -redis RPUSHes it to one Redis list,
// the pushes that arrive while a pipeline is out going together in the
// next (run Redis with appendfsync always for a durable one). No dedup, no
// queue to claim from, no recovery: less work than any route that keeps
// events exactly once, so their ratios say what durability alone costs on
// the machine (issue 10's note). They are not the fastest possible:
// wecomply's own ingress log, alone, measured faster than -log.
//
//	go run ./bench/plain -listen 127.0.0.1:9000 -token T -aes-key K -corp-id ww…
//	go run ./bench/plain … -log /tmp/plain.log
//	go run ./bench/plain … -redis 127.0.0.1:6379
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/util"
)

// envelope is the POST body WeCom sends.
type envelope struct {
	ToUserName string `xml:"ToUserName"`
	AgentID    string `xml:"AgentID"`
	Encrypt    string `xml:"Encrypt"`
}

// message is the little an afternoon's handler would read of the event.
type message struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Event        string `xml:"Event"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	path := flag.String("path", "/wecom/callback", "callback path")
	token := flag.String("token", "", "the callback Token")
	key := flag.String("aes-key", "", "the callback EncodingAESKey (43 characters)")
	corpID := flag.String("corp-id", "", "the corp id (receiveid)")
	logPath := flag.String("log", "", "also append each message to this file, fdatasynced before the 200")
	redisAddr := flag.String("redis", "", "also RPUSH each message to this Redis (host:port, or a Unix socket's path) before the 200")
	senders := flag.Int("redis-senders", 1, "with -redis: pipelines in flight at once")
	flag.Parse()
	if *token == "" || len(*key) != 43 || *corpID == "" {
		log.Fatal("plain: -token, -aes-key (43 characters) and -corp-id are required")
	}
	if *logPath != "" && *redisAddr != "" {
		log.Fatal("plain: -log and -redis are exclusive")
	}
	keep := func(*gin.Context, []byte) error { return nil }
	if *logPath != "" {
		fl, err := openFileLog(*logPath, preallocate)
		if err != nil {
			log.Fatal(err)
		}
		keep = func(_ *gin.Context, msg []byte) error { return fl.append(msg) }
	}
	if *redisAddr != "" {
		opts := &redis.Options{Addr: *redisAddr}
		if strings.HasPrefix(*redisAddr, "/") {
			opts.Network = "unix"
		}
		p := newPusher(redis.NewClient(opts), *senders)
		keep = func(c *gin.Context, msg []byte) error { return p.push(c.Request.Context(), msg) }
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/healthz", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.POST(*path, func(c *gin.Context) {
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
		if err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		var env envelope
		if err := xml.Unmarshal(body, &env); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		q := c.Request.URL.Query()
		if util.Signature(*token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) != q.Get("msg_signature") {
			c.Status(http.StatusForbidden)
			return
		}
		_, plain, err := util.DecryptMsg(*corpID, env.Encrypt, *key)
		if err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		var m message
		if err := xml.Unmarshal(plain, &m); err != nil || m.MsgType == "" {
			c.Status(http.StatusBadRequest)
			return
		}
		if err := keep(c, plain); err != nil {
			c.Status(http.StatusServiceUnavailable)
			return
		}
		c.Status(http.StatusOK)
	})
	fmt.Println("plain: listening on", *listen)
	log.Fatal(http.ListenAndServe(*listen, r))
}
