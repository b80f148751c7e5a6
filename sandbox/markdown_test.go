package sandbox

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func TestRenderMarkdown(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain text", "hello", `<div class="md-p">hello</div>`},
		{"script is text", "<script>alert(1)</script>", `<div class="md-p">&lt;script&gt;alert(1)&lt;/script&gt;</div>`},
		{"html attributes are text", `<img src=x onerror="alert(1)">`, `<div class="md-p">&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</div>`},
		{"heading", "### 会话存档告知", `<div class="md-h md-h3">会话存档告知</div>`},
		{"heading needs a space", "#tag", `<div class="md-p">#tag</div>`},
		{"seven hashes are text", "####### x", `<div class="md-p">####### x</div>`},
		{"bold", "a **b** c", `<div class="md-p">a <strong>b</strong> c</div>`},
		{"bold with script inside", "**<script>x</script>**", `<div class="md-p"><strong>&lt;script&gt;x&lt;/script&gt;</strong></div>`},
		{"link", "[WeCom](https://work.weixin.qq.com/api/doc?a=1&b=2)",
			`<div class="md-p"><a href="https://work.weixin.qq.com/api/doc?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">WeCom</a></div>`},
		{"javascript link is text", "[x](javascript:alert(1))", `<div class="md-p">[x](javascript:alert(1))</div>`},
		{"link cannot break out of href", `[x](https://a.example/"onmouseover="alert(1))`,
			`<div class="md-p">[x](https://a.example/&#34;onmouseover=&#34;alert(1))</div>`},
		{"link target is not styled", "[**a**](https://a.example/**b**)",
			`<div class="md-p"><a href="https://a.example/**b**" rel="noopener noreferrer" target="_blank"><strong>a</strong></a></div>`},
		{"font colours", `<font color="info">绿</font><font color="comment">灰</font><font color="warning">橙</font>`,
			`<div class="md-p"><span class="md-info">绿</span><span class="md-comment">灰</span><span class="md-warning">橙</span></div>`},
		{"unknown font colour is text", `<font color="red">x</font>`, `<div class="md-p">&lt;font color=&#34;red&#34;&gt;x&lt;/font&gt;</div>`},
		{"font with script inside", `<font color="info"><script>x</script></font>`,
			`<div class="md-p"><span class="md-info">&lt;script&gt;x&lt;/script&gt;</span></div>`},
		{"heading with colour", `### <font color="warning">合规提醒</font>`, `<div class="md-h md-h3"><span class="md-warning">合规提醒</span></div>`},
		{"code span is literal", "`**not bold** <b>`", `<div class="md-p"><code>**not bold** &lt;b&gt;</code></div>`},
		{"quote lines join", "> 存档范围：单聊\n> 保存期限：3 年\nafter",
			`<blockquote class="md-quote">存档范围：单聊<br>保存期限：3 年</blockquote><div class="md-p">after</div>`},
		{"quote with script", "> <script>x</script>", `<blockquote class="md-quote">&lt;script&gt;x&lt;/script&gt;</blockquote>`},
		{"blank line", "a\n\nb", `<div class="md-p">a</div><div class="md-gap"></div><div class="md-p">b</div>`},
		{"CRLF", "a\r\nb", `<div class="md-p">a</div><div class="md-p">b</div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(renderMarkdown(tt.in)); got != tt.want {
				t.Errorf("renderMarkdown(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestRenderText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"line breaks stay", "a\nb", "a\nb"},
		{"script is text", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"WeCom's link", `see <a href="https://a.example/x?y=1&z=2">here</a>`,
			`see <a href="https://a.example/x?y=1&amp;z=2" rel="noopener noreferrer" target="_blank">here</a>`},
		{"javascript link is text", `<a href="javascript:alert(1)">x</a>`, "&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;"},
		{"markdown is not rendered", "**a**", "**a**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(renderText(tt.in)); got != tt.want {
				t.Errorf("renderText(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzRenderMarkdown checks that no input makes the renderer emit a tag
// or attribute of its own choosing: every '<' in the output starts one of
// the few tags the renderer writes.
func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{"### x", "**a**", "[a](https://b)", `<font color="info">x</font>`, "> q", "`c`", "<script>"} {
		f.Add(s)
	}
	allowed := []string{`<div class="md-`, `</div>`, `<blockquote class="md-quote">`, `</blockquote>`, `<br>`,
		`<strong>`, `</strong>`, `<code>`, `</code>`, `<a href="http`, `</a>`, `<span class="md-`, `</span>`}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(renderMarkdown(s))
		for i := strings.Index(out, "<"); i >= 0; {
			ok := false
			for _, a := range allowed {
				if strings.HasPrefix(out[i:], a) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("renderMarkdown(%q) emits an unexpected tag at %d: %s", s, i, out)
			}
			j := strings.Index(out[i+1:], "<")
			if j < 0 {
				break
			}
			i += 1 + j
		}
	})
}

func TestCardView(t *testing.T) {
	card := json.RawMessage(`{"card_type":"button_interaction","source":{"desc":"示例科技 合规","desc_color":1},
		"main_title":{"title":"请确认：会话存档告知","desc":"请于 2026-12-01 前阅读并确认"},"sub_title_text":"正文",
		"card_action":{"type":1,"url":"https://example.com/n/3"},
		"button_list":[{"text":"我已阅读并确认","style":1,"key":"ack"},{"type":1,"text":"全文","url":"https://example.com"}],
		"task_id":"wc-1"}`)
	base := wecomtest.InboxMessage{MsgID: "m1", MsgType: "template_card", Message: card, Card: card, CardType: "button_interaction", TaskID: "wc-1"}
	tests := []struct {
		name      string
		edit      func(m *wecomtest.InboxMessage)
		clickable bool
		greyed    string
		clicked   string
	}{
		{"as sent", func(*wecomtest.InboxMessage) {}, true, "", ""},
		{"clicked, not yet updated", func(m *wecomtest.InboxMessage) { m.Clicked = "ack" }, true, "", "我已阅读并确认"},
		{"button replaced", func(m *wecomtest.InboxMessage) { m.Clicked, m.ReplaceName = "ack", "已确认" }, false, "已确认", "我已阅读并确认"},
		{"whole card replaced", func(m *wecomtest.InboxMessage) {
			m.Card = json.RawMessage(`{"card_type":"button_interaction","main_title":{"title":"已更新"},"button_list":[{"text":"x","key":"k"}],"replace_text":"已处理"}`)
			m.ReplaceText = "已处理"
		}, false, "已处理", ""},
		{"recalled", func(m *wecomtest.InboxMessage) { m.Recalled = true }, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.edit(&m)
			v := newMessageView(m, false)
			if v.Card == nil {
				t.Fatalf("no card view: %+v", v)
			}
			c := v.Card
			if c.Greyed != tt.greyed || c.Clicked != tt.clicked {
				t.Errorf("greyed %q clicked %q, want %q %q", c.Greyed, c.Clicked, tt.greyed, tt.clicked)
			}
			if len(c.Buttons) == 0 || c.Buttons[0].Clickable != tt.clickable {
				t.Errorf("buttons %+v, want the first clickable=%v", c.Buttons, tt.clickable)
			}
			if len(c.Buttons) > 1 && (c.Buttons[1].Clickable || c.Buttons[1].URL == "") {
				t.Errorf("a link button is a link, never a callback: %+v", c.Buttons[1])
			}
		})
	}
	v := newMessageView(base, true)
	if c := v.Card; c.Source != "示例科技 合规" || c.Title != "请确认：会话存档告知" || c.SubTitle != "正文" || c.ActionURL != "https://example.com/n/3" || c.TaskID != "wc-1" {
		t.Errorf("card view %+v", c)
	}
}

// TestDemoDataFitsTheTemplates renders every template the send form
// offers with its demo values, in every language: a template added to
// the catalog without demo values fails here.
func TestDemoDataFitsTheTemplates(t *testing.T) {
	set, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(Sendable()) == 0 {
		t.Fatal("no template to send")
	}
	for _, tmpl := range Sendable() {
		for _, lang := range templates.Languages {
			// The server adds .Disclosure to what the form sends (notify
			// does, from [disclosure]); with and without one configured.
			demoDisclosure := Demo().DemoPolicy(lang, 1).Disclosure
			for _, d := range []*templates.Disclosure{nil, &demoDisclosure} {
				data := map[string]any{"Disclosure": d}
				for _, f := range DemoData(tmpl.Name, lang) {
					data[f.Name] = f.Value
				}
				if _, err := set.Render(tmpl.Name, lang, data); err != nil {
					t.Errorf("%s.%s with the demo values (disclosure %v): %v", tmpl.Name, lang, d != nil, err)
				}
			}
		}
		if tmpl.Kind == templates.KindWelcome {
			t.Errorf("%s is a welcome message; the form sends app messages only", tmpl.Name)
		}
	}
}
