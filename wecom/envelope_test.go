package wecom

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Envelope
	}{
		{"V1b XML body", v1bBody, Envelope{ToUserName: k1CorpID, AgentID: "218", Encrypt: v1bEncrypt}},
		{"V1c JSON body", v1cBody, Envelope{ToUserName: k1CorpID, AgentID: "218", Encrypt: jsonEncryptOf(v1cBody), JSON: true}},
		{"doc layout, indented, AgentID before Encrypt", "<xml>\n   <ToUserName><![CDATA[toUser]]></ToUserName>\n   <AgentID><![CDATA[toAgentID]]></AgentID>\n   <Encrypt><![CDATA[msg_encrypt]]></Encrypt>\n</xml>",
			Envelope{ToUserName: "toUser", AgentID: "toAgentID", Encrypt: "msg_encrypt"}},
		{"contact-sync callback without AgentID", "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>",
			Envelope{ToUserName: "ww1", Encrypt: "abc="}},
		{"bare values with white space", "<xml><ToUserName> ww1 </ToUserName><AgentID>\n218\n</AgentID><Encrypt>\n abc= \n</Encrypt></xml>",
			Envelope{ToUserName: "ww1", AgentID: "218", Encrypt: "abc="}},
		{"unknown elements are ignored", "<xml><Foo>bar</Foo><Encrypt>abc=</Encrypt></xml>", Envelope{Encrypt: "abc="}},
		{"XML declaration, comments and BOM", "\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- c --><xml><Encrypt>abc=</Encrypt></xml><!-- c -->\n", Envelope{Encrypt: "abc="}},
		{"JSON agentid as a number", `{"tousername":"ww1","encrypt":"abc=","agentid":218}`, Envelope{ToUserName: "ww1", AgentID: "218", Encrypt: "abc=", JSON: true}},
		{"JSON agentid null", `{"encrypt":"abc=","agentid":null}`, Envelope{Encrypt: "abc=", JSON: true}},
		{"JSON with leading white space", " \n{\"encrypt\":\"abc=\"}", Envelope{Encrypt: "abc=", JSON: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func jsonEncryptOf(body string) string {
	const k = `"encrypt":"`
	i := strings.Index(body, k) + len(k)
	return body[i : i+strings.Index(body[i:], `"`)]
}

func TestParseEnvelopeMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"white space", "  \n"},
		{"not an envelope", "hello"},
		{"other root", "<envelope><Encrypt>abc=</Encrypt></envelope>"},
		{"missing Encrypt", "<xml><ToUserName>ww1</ToUserName></xml>"},
		{"empty Encrypt", "<xml><Encrypt><![CDATA[]]></Encrypt></xml>"},
		{"white-space Encrypt", "<xml><Encrypt>  \n </Encrypt></xml>"},
		{"Encrypt twice", "<xml><Encrypt>abc=</Encrypt><Encrypt>def=</Encrypt></xml>"},
		{"ToUserName twice", "<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName><Encrypt>abc=</Encrypt></xml>"},
		{"unclosed", "<xml><Encrypt>abc=</Encrypt>"},
		{"mismatched", "<xml><Encrypt>abc=</xml></Encrypt>"},
		{"two roots", "<xml><Encrypt>abc=</Encrypt></xml><xml><Encrypt>def=</Encrypt></xml>"},
		{"text after the root", "<xml><Encrypt>abc=</Encrypt></xml>junk"},
		{"internal entity", `<!DOCTYPE xml [<!ENTITY e "abc=">]><xml><Encrypt>&e;</Encrypt></xml>`},
		{"external entity", `<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>`},
		{"billion laughs", `<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Encrypt>&c;</Encrypt></xml>`},
		{"declared GBK", `<?xml version="1.0" encoding="GBK"?><xml><Encrypt>abc=</Encrypt></xml>`},
		{"invalid UTF-8", "<xml><Encrypt>abc\xff</Encrypt></xml>"},
		{"JSON missing encrypt", `{"tousername":"ww1"}`},
		{"JSON empty encrypt", `{"encrypt":""}`},
		{"JSON encrypt null", `{"encrypt":null}`},
		{"JSON encrypt a number", `{"encrypt":12}`},
		{"JSON agentid an object", `{"encrypt":"abc=","agentid":{}}`},
		{"JSON agentid a boolean", `{"encrypt":"abc=","agentid":true}`},
		{"JSON truncated", `{"encrypt":"abc=`},
		{"JSON trailing garbage", `{"encrypt":"abc="} x`},
		{"JSON array", `[{"encrypt":"abc="}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.body))
			if got != (Envelope{}) {
				t.Errorf("got %+v with the error", got)
			}
			wantOnly(t, err, ErrEnvelope)
			noSecrets(t, err, "passwd")
		})
	}
}

func TestEnvelopeMarshal(t *testing.T) {
	tests := []struct {
		name string
		e    Envelope
		want string
	}{
		{"V1b XML byte for byte", Envelope{ToUserName: k1CorpID, AgentID: "218", Encrypt: v1bEncrypt}, v1bBody},
		{"V1c JSON byte for byte", Envelope{ToUserName: k1CorpID, AgentID: "218", Encrypt: jsonEncryptOf(v1cBody), JSON: true}, v1cBody},
		{"no AgentID", Envelope{ToUserName: "ww1", Encrypt: "abc="}, "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>"},
		{"Base64 characters stay as they are", Envelope{ToUserName: "ww1", Encrypt: "a+/="}, "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[a+/=]]></Encrypt></xml>"},
		{"JSON no agentid, no HTML escaping", Envelope{ToUserName: "<&>", Encrypt: "a+/=", JSON: true}, `{"tousername":"<&>","encrypt":"a+/="}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.e.Marshal()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("a character XML does not allow becomes U+FFFD", func(t *testing.T) {
		got, err := ParseEnvelope(Envelope{ToUserName: "a\x00b", Encrypt: "abc="}.Marshal())
		if err != nil || got.ToUserName != "a\uFFFDb" {
			t.Errorf("got %+v, %v", got, err)
		}
	})
	for _, e := range []Envelope{
		{ToUserName: "a]]>b", AgentID: "1", Encrypt: "x]]>"},
		{ToUserName: "<&'\">", AgentID: "1", Encrypt: "abc=", JSON: true},
		{ToUserName: "中文", Encrypt: "abc="},
		{ToUserName: "carriage\rreturn", AgentID: "tab\there", Encrypt: "abc="},
	} {
		t.Run(fmt.Sprintf("round trip %q", e.ToUserName), func(t *testing.T) {
			got, err := ParseEnvelope(e.Marshal())
			if err != nil || got != e {
				t.Errorf("got %+v, %v; want %+v", got, err, e)
			}
		})
	}
}
