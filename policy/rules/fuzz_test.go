package rules

import (
	"os"
	"slices"
	"testing"
)

// FuzzParse: any bytes parse or fail with an *Error, never panic; what
// parses scans and checks its samples.
func FuzzParse(f *testing.F) {
	if ex, err := os.ReadFile("../../rules.example.toml"); err == nil {
		f.Add(ex)
	}
	f.Add([]byte(rule("a", "block = true")))
	f.Add([]byte("[[rule]]\nid = \"r\"\nkind = \"regex\"\nseverity = \"low\"\npatterns = ['(保本|保息)\\d+%', '(?i)\\bvx']\n"))
	f.Add([]byte("[[rule]]\nid = 'p'\nkind = 'pii'\nseverity = 'low'\ndetectors = ['email', 'mobile']\n[rule.scope]\nchats = ['external']\n"))
	f.Add([]byte("[[rule]]\nid = \"a\"\nkind = lexicon\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if ParseProblems(err) == nil {
				t.Fatalf("Parse error is not an *Error: %v", err)
			}
			return
		}
		if _, err := s.CheckSamples(); err != nil {
			t.Fatalf("CheckSamples: %v", err)
		}
		checkHits(t, s, "保本保收益 加我微信 13812345678 a@b.cn 4111111111111111 "+string(data))
	})
}

// FuzzScan: on any text, hits lie within it, Match is the text they
// cover, and they come in order.
func FuzzScan(f *testing.F) {
	s, err := loadFile("../../rules.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, text := range []string{
		"保本保收益", "穩賺不賠", "ＧＵＡＲＡＮＴＥＥＤ ｒｅｔｕｒｎｓ", "加个ＶＸ：zhang_wei88", "11010519491231002X",
		"+86 138-1234-5678", "li＠example.com", "保\xff本\xe4\xbf", "6222 0212 3456 7890 128", "ǅǆǄ Kk ſs",
	} {
		f.Add(text, true)
	}
	f.Fuzz(func(t *testing.T, text string, external bool) {
		checkHits(t, s, text)
		if external {
			hits := s.Scan(Message{Text: text, Chat: External, Direction: Outbound, MsgType: "text"})
			checkHitList(t, text, hits)
		}
	})
}

func checkHits(t *testing.T, s *Set, text string) {
	t.Helper()
	checkHitList(t, text, s.Scan(Message{Text: text}))
}

func checkHitList(t *testing.T, text string, hits []Hit) {
	t.Helper()
	for i, h := range hits {
		if h.Start < 0 || h.Start >= h.End || h.End > len(text) {
			t.Fatalf("hit %+v out of [0, %d]", h, len(text))
		}
		if h.Match != text[h.Start:h.End] {
			t.Fatalf("hit %+v: Match is not text[%d:%d] = %q", h, h.Start, h.End, text[h.Start:h.End])
		}
		if i > 0 && hits[i-1].Start > h.Start {
			t.Fatalf("hits out of order: %+v", hits)
		}
	}
	if !slices.IsSortedFunc(hits, func(a, b Hit) int { return a.Start - b.Start }) {
		t.Fatalf("hits out of order: %+v", hits)
	}
}
