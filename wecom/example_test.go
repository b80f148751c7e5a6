package wecom_test

import (
	"fmt"
	"log"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// Receiving WeCom's own POST example (doc path/90968): parse the
// envelope, check the timestamp, verify and decrypt, decode.
func Example() {
	body := []byte(`<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`)
	signature, timestamp, nonce := "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149"

	c, err := wecom.NewCipher("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	if err != nil {
		log.Fatal(err)
	}
	env, err := wecom.ParseEnvelope(body)
	if err != nil {
		log.Fatal(err)
	}
	if err := wecom.CheckTimestamp(timestamp, time.Unix(1409659900, 0), 5*time.Minute); err != nil {
		log.Fatal(err)
	}
	plain, err := c.Open(signature, timestamp, nonce, env.Encrypt)
	if err != nil {
		log.Fatal(err)
	}
	ev, err := wecom.Decode(plain)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Kind(), ev.DedupKey(), ev.Fields()["user_id"], ev.(*wecom.TextMessage).Content)
	// Output: text msg:4561255354251345929 mycreate hello
}
