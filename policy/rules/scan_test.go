package rules

import (
	"fmt"
	"strings"
	"testing"
)

// hitsString renders hits as "rule[start:end]=match" for comparisons.
func hitsString(hits []Hit) string {
	var b []string
	for _, h := range hits {
		s := fmt.Sprintf("%s[%d:%d]=%s", h.RuleID, h.Start, h.End, h.Match)
		if h.Detector != "" {
			s += "/" + string(h.Detector)
		}
		b = append(b, s)
	}
	return strings.Join(b, " ")
}

// TestScanLexicon: folding (case, width, traditional), overlapping terms
// of different rules, whole words for Latin terms, and offsets into the
// original text.
func TestScanLexicon(t *testing.T) {
	s := mustParse(t, `
[[rule]]
id = "ret"
kind = "lexicon"
severity = "high"
terms = ["保本保收益", "保本", "稳赚不赔", "Guaranteed Returns"]

[[rule]]
id = "short"
kind = "lexicon"
severity = "low"
terms = ["保本", "vx"]
`)
	for _, tt := range []struct{ name, text, want string }{
		{"plain", "这个保本保收益", "ret[6:21]=保本保收益 short[6:12]=保本"},
		{"same rule's shorter term inside is dropped", "保本保收益", "ret[0:15]=保本保收益 short[0:6]=保本"},
		{"traditional", "穩賺不賠！", "ret[0:12]=穩賺不賠"},
		{"full width and case", "ＧＵＡＲＡＮＴＥＥＤ ｒｅｔｕｒｎｓ", "ret[0:52]=ＧＵＡＲＡＮＴＥＥＤ ｒｅｔｕｒｎｓ"},
		{"ideographic space folds to a space", "Guaranteed　Returns", "ret[0:20]=Guaranteed　Returns"},
		{"mixed widths", "a GUARANTEED ｒeturns!", "ret[2:22]=GUARANTEED ｒeturns"},
		{"Latin term needs word edges", "devx vx1 xvx", ""},
		{"Latin term at word edges", "加vx,VX。Ｖｘ", "short[3:5]=vx short[6:8]=VX short[11:17]=Ｖｘ"},
		{"nothing", "投资有风险，入市需谨慎", ""},
		{"invalid UTF-8 is kept apart", "保\xff本 \xe4\xbf保本", "ret[10:16]=保本 short[10:16]=保本"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hitsString(s.Scan(Message{Text: tt.text})); got != tt.want {
				t.Errorf("Scan(%q) = %s\nwant %s", tt.text, got, tt.want)
			}
		})
	}
}

// TestScanFoldTraditionalOff: with fold_traditional = false a
// traditional spelling is matched only as written.
func TestScanFoldTraditionalOff(t *testing.T) {
	s := mustParse(t, "fold_traditional = false\n[[rule]]\nid = \"a\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\"稳赚\"]\n")
	if got := hitsString(s.Scan(Message{Text: "穩賺 稳赚"})); got != "a[7:13]=稳赚" {
		t.Errorf("Scan = %s", got)
	}
}

// TestScanRegex: expressions run on the original text; those with a
// required literal only when it occurs; without one, always.
func TestScanRegex(t *testing.T) {
	s := mustParse(t, `
[[rule]]
id = "yield"
kind = "regex"
severity = "high"
patterns = ['保证[^。]{0,6}\d+%', '(?i)guarantee[ds]?\s+\d+%']

[[rule]]
id = "digits"
kind = "regex"
severity = "low"
patterns = ['\d{6}']
`)
	for _, tt := range []struct{ text, want string }{
		{"保证年化8%，保证 10%", "yield[0:14]=保证年化8% yield[17:27]=保证 10%"},
		{"We GUARANTEE 9% p.a.", "yield[3:15]=GUARANTEE 9%"},
		{"保證年化8%", ""}, // regexes see the original text: 證 is not 证
		{"code 123456", "digits[5:11]=123456"},
	} {
		if got := hitsString(s.Scan(Message{Text: tt.text})); got != tt.want {
			t.Errorf("Scan(%q) = %s\nwant %s", tt.text, got, tt.want)
		}
	}
}

// TestScanScope: each scope list selects messages; empty lists select
// all.
func TestScanScope(t *testing.T) {
	s := mustParse(t, `
[[rule]]
id = "all"
kind = "lexicon"
severity = "low"
terms = ["加我微信"]

[[rule]]
id = "ext-out"
kind = "lexicon"
severity = "low"
terms = ["加我微信"]
[rule.scope]
chats = ["external"]
direction = ["outbound"]

[[rule]]
id = "sales"
kind = "lexicon"
severity = "low"
terms = ["加我微信"]
[rule.scope]
departments = [7]
tags = [41]
msgtypes = ["text"]
`)
	ext := Message{Text: "加我微信", Chat: External, Direction: Outbound, MsgType: "text"}
	for _, tt := range []struct {
		name string
		edit func(*Message)
		want string
	}{
		{"external outbound, no department", func(*Message) {}, "all ext-out"},
		{"internal", func(m *Message) { m.Chat = Internal }, "all"},
		{"inbound", func(m *Message) { m.Direction = Inbound }, "all"},
		{"department and tag", func(m *Message) { m.Departments, m.Tags = []int64{3, 7}, []int64{41} }, "all ext-out sales"},
		{"department without the tag", func(m *Message) { m.Departments, m.Tags = []int64{7}, []int64{42} }, "all ext-out"},
		{"tag, other msgtype", func(m *Message) { m.Departments, m.Tags, m.MsgType = []int64{7}, []int64{41}, "markdown" }, "all ext-out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := ext
			tt.edit(&m)
			var ids []string
			for _, h := range s.Scan(m) {
				ids = append(ids, h.RuleID)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("rules hit = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestScanHitFields: a hit carries its rule's version, kind, severity
// and action.
func TestScanHitFields(t *testing.T) {
	s := mustParse(t, "[[rule]]\nid = \"a\"\nkind = \"pii\"\nseverity = \"critical\"\naction = \"notify_sender\"\ndetectors = [\"email\"]\n")
	hits := s.Scan(Message{Text: "mail Li.Na@Example.COM."})
	r, _ := s.Rule("a")
	want := Hit{RuleID: "a", RuleVersion: r.Version, Kind: PII, Severity: Critical, Action: NotifySender, Start: 5, End: 22, Match: "Li.Na@Example.COM", Detector: Email}
	if len(hits) != 1 || hits[0] != want {
		t.Errorf("hits = %+v\nwant %+v", hits, want)
	}
}

// TestScanConcurrent: one Set scans from many goroutines at once (run
// with -race), each getting its own message's hits.
func TestScanConcurrent(t *testing.T) {
	s, err := loadFile("../../rules.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"这款产品保本保收益", "加我微信聊", "电话13812345678", "投资有风险"}
	want := make([]string, len(texts))
	for i, text := range texts {
		want[i] = hitsString(s.Scan(Message{Text: text}))
	}
	done := make(chan string)
	for g := range 8 {
		go func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				if got := hitsString(s.Scan(Message{Text: texts[k]})); got != want[k] {
					done <- fmt.Sprintf("Scan(%q) = %s, want %s", texts[k], got, want[k])
					return
				}
			}
			done <- ""
		}()
	}
	for range 8 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}
