package wecom

// Official test vectors of WECOM.md §2 (K1: doc path/90968 and Tencent's
// own samples) and the derived vectors D1, D2, copied byte for byte.
const (
	k1Token           = `QDG6eK`
	k1Key             = `jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C`
	k1CorpID          = `wx5823bf96d3bd56c7`
	k1AESKeyHex       = `8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760`
	k1IVHex           = `8d69989bbaabe67328014c194631ad07`
	v1aSignature      = `5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3`
	v1aTimestamp      = `1409659589`
	v1aNonce          = `263014780`
	v1aEchoURLEncoded = `P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D`
	v1aEcho           = `P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==`
	v1aMsg            = `1616140317555161061`
	v1aRandom         = `c41b64491c2468d0`
	v1bSignature      = `477715d11cdb4164915debcba66cb864d751f3e6`
	v1bTimestamp      = `1409659813`
	v1bNonce          = `1372623149`
	v1bBody           = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`
	v1bEncrypt        = `RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==`
	v1bMsg            = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
	v1bRandom         = `0960688932c47ef1`
	v1cSignature      = `0623cbc5a8cbee5bcc137c70de99575366fc2af3`
	v1cTimestamp      = `1409659813`
	v1cNonce          = `1372623149`
	v1cBody           = `{"tousername":"wx5823bf96d3bd56c7","encrypt":"CZWs4CWRpI4VolQlvn4dlEC1alN2MUEY2VklGehgBVLBrlVF7SyT+SV+Toj43l4ayJ9UMGKphktKKmP7B2j/P1ey67XB8PBgS7Wr5/8+w/yWriZv3Vmoo/MH3/1HsIWZrPQ3N2mJrelStIfI2Y8kLKXA7EhfZgZX4o+ffdkZDM76SEl79Ib9mw7TGjZ9Aw/x/A2VjNbV1E8BtEbRxYYcQippYNw7hr8sFfa3nW1xLdxokt8QkRX83vK3DFP2F6TQFPL2Tu98UwhcUpPvdJBuu1/yiOQIScppV3eOuLWEsko=","agentid":"218"}`
	v1cMsg            = `{"ToUserName":"wx5823bf96d3bd56c7","FromUserName":"mycreate","CreateTime": 1409659813,"MsgType":"text","Content":"hello","MsgId":4561255354251345929,"AgentID": 218}`
	v1cRandom         = `EDH75AiKExevY8L3`
	v1dSignature      = `1f3153b7abd0ba99b4ab2e57fac2376110d03a3c`
	v1dTimestamp      = `1409659813`
	v1dNonce          = `1372623149`
	v1dEncrypt        = `pvXgeha3nZ7UQ2DG3WD3IVsNJR38QVl1+h+wmLQHIAwEG3Jey2aTZtvAWzhEZ9JEKGwIUMBWX3JlUhfo7O7WbvI10vHIsdSNr1nr3LuOwAfnwLJAMQNDxi5tHUl08Op59jxOL73r8+g60KOxMTaFwXzlr9Yxgq5ey5nzNb/2vDjjvDZNXkJVmL/XWnv6PXrVbTpNxphqWRv2BpPYqvwRMkHgdFliatljMVlkkRHS40FOHmtBhj/4RXtIexfDx8opBXwi0L9RTlYNQzGx+FA+74xVHG7Le/pmNDwc2Ri5mbw=`
	v1dMsg            = `{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate", "CreateTime": 1409659813, "MsgType": "text", "Content": "hello", "MsgId": 4561255354251345929, "AgentID": 218}`
	v1dRandom         = `WSaxmGcGQ0R23jRP`
	d1Msg             = `<xml><ToUserName><![CDATA[mycreate]]></ToUserName><FromUserName><![CDATA[wx5823bf96d3bd56c7]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId><AgentID>128</AgentID></xml>`
	d1Encrypt         = `sKqRbbiSUnDhFHOvPjtUMdc23JsNXVqHAPPZdO0pIWIMYDThPIeGEfKX2v40MaN9wqY6jfiEfXjU91lWT29R5DJekiGh+kvvWbgJb/xv+e4E7ohGxVjHMNbvtW/W79/IDuKgVJBfBuHgGc9otUO0w1l7Hsae/Ln6/jSCx2GMGlPTrk/Pd9Du8oTb3PrIs9a90wxwbaI9txmYwPqRSx+UWHWpEqcaMDQrfWyNOrIC1LMxfJN98WVM1lo7rHKcEzvuCkg0KtnJTML2WgkG7/evV+9gUXmIvHuAUwYvYhHEQjwQc8mFWnT1QCHyMMAaTYTs9YkB/njRL+wc5wMGWfU13eiwnl5qqIiQ7mvzi8TevQtz+Svc7SLFfrDfOWKuQmQOeAl9qFb+6QvXPBwEA1jAHo2cjnyeAPiQSi0YuLrvv4GqcDtRnbUKYlOP6sETKok0mOls1Z87pkjkonVbXJWABw==`
	d1Signature       = `d9cdf134dbf5386e31896eb2a79c68dbe53e8cc2`
	d2Msg             = `AAAAAAAAAAAAAAAAAAAAAAAAAA`
	d2Encrypt         = `sKqRbbiSUnDhFHOvPjtUMSY0kKMJACXmUsdvggAlOWACHrYvL7ZZ57832oUEaSRZXhRz6zPbpE7uRuxBavqFwVtjnhXa998zjENLpmXFC6fpvF+B2F0F1NcPQ5DnKeVL`
	d2Signature       = `9c6dbdb701a60ce56bb4597dd146f182e894369f`
)
