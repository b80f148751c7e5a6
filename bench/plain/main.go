// Command plain is the yardstick of bench/wrk.sh (issue 10): the callback
// route anyone would write in an afternoon with Gin and silenceper —
// verify the signature, decrypt with silenceper's util.DecryptMsg, decode
// the XML into a small struct with encoding/xml — and nothing kept. It
// shares no code with wecomply, so wecomply's ratio against it says what
// our own verify, decrypt, decode and durable enqueue cost.
//
//	go run ./bench/plain -listen 127.0.0.1:9000 -token T -aes-key K -corp-id ww…
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
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
	flag.Parse()
	if *token == "" || len(*key) != 43 || *corpID == "" {
		log.Fatal("plain: -token, -aes-key (43 characters) and -corp-id are required")
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
		c.Status(http.StatusOK)
	})
	fmt.Println("plain: listening on", *listen)
	log.Fatal(http.ListenAndServe(*listen, r))
}
