package rules

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
)

// The benchmark corpus: the example rule set, plus a generated lexicon
// of 10,000 terms and 20 regexes, over synthetic zh/en chat messages
// (seeded, so every run scans the same bytes).
const (
	benchTerms    = 10000
	benchRegexes  = 20
	benchMessages = 2000
)

var (
	hanzi   = []rune("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研")
	enWords = strings.Fields(`the a to of and in for on with your our we you this that fund account return rate market
		please call today tomorrow meeting report price client portfolio bond equity yield quarter review transfer
		update policy risk document contract signed thanks regards team office schedule plan product`)
	zhFiller = []string{"您好，", "请问", "这款产品", "今天", "市场波动较大，", "基金净值", "我们的", "客户经理", "会在", "明天",
		"联系您。", "合同已经", "签好了", "，", "。", "谢谢！", "收益情况", "请查收", "附件", "会议", "改到下午三点", "理财"}
)

// benchSet builds the benchmark rule file and returns the set and the
// lexicon terms (for the strings.Contains baseline).
func benchSet(tb testing.TB) (*Set, []string) {
	tb.Helper()
	example, err := os.ReadFile("../../rules.example.toml")
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var terms []string
	seen := map[string]bool{}
	for len(terms) < benchTerms {
		var t string
		if rng.IntN(4) == 0 { // a quarter English: two or three words
			n := 2 + rng.IntN(2)
			w := make([]string, n)
			for i := range w {
				w[i] = enWords[rng.IntN(len(enWords))] + string(rune('a'+rng.IntN(26)))
			}
			t = strings.Join(w, " ")
		} else {
			r := make([]rune, 3+rng.IntN(4))
			for i := range r {
				r[i] = hanzi[rng.IntN(len(hanzi))]
			}
			t = string(r)
		}
		if !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	var b strings.Builder
	b.Write(example)
	b.WriteString("\n[[rule]]\nid = \"bench-lexicon\"\nkind = \"lexicon\"\nseverity = \"low\"\nterms = [\n")
	for _, t := range terms {
		fmt.Fprintf(&b, "  %q,\n", t)
	}
	b.WriteString("]\n\n[[rule]]\nid = \"bench-regex\"\nkind = \"regex\"\nseverity = \"low\"\npatterns = [\n")
	templates := []string{`%s[^。]{0,8}\d+(\.\d+)?%%`, `(?i)\b%s\s+\w+`, `%s\d{4,}`, `(%s|%s)[：:]\s*\S+`}
	for i := range benchRegexes {
		lit := func() string {
			return string([]rune{hanzi[rng.IntN(len(hanzi))], hanzi[rng.IntN(len(hanzi))]})
		}
		var p string
		switch tpl := templates[i%len(templates)]; i % len(templates) {
		case 1:
			p = fmt.Sprintf(tpl, enWords[rng.IntN(len(enWords))]+"x")
		case 3:
			p = fmt.Sprintf(tpl, lit(), lit())
		default:
			p = fmt.Sprintf(tpl, lit())
		}
		fmt.Fprintf(&b, "  '%s',\n", p)
	}
	b.WriteString("]\n")
	s, err := Parse([]byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range s.Rules() {
		if r.Kind == Lexicon && r.ID != "bench-lexicon" {
			terms = append(terms, r.Terms...)
		}
	}
	return s, terms
}

// benchMessagesFor makes chat messages of 20 to 300 bytes, half Chinese
// and half English; when hits, about one in fifty carries a term.
func benchMessagesFor(terms []string, hits bool) []Message {
	rng := rand.New(rand.NewPCG(3, 4))
	msgs := make([]Message, benchMessages)
	for i := range msgs {
		var b strings.Builder
		n := 20 + rng.IntN(280)
		zh := i%2 == 0
		for b.Len() < n {
			if zh {
				b.WriteString(zhFiller[rng.IntN(len(zhFiller))])
			} else {
				b.WriteString(enWords[rng.IntN(len(enWords))])
				b.WriteByte(' ')
			}
		}
		if hits && rng.IntN(50) == 0 {
			b.WriteString(terms[rng.IntN(len(terms))])
		}
		msgs[i] = Message{Text: b.String(), Chat: External, Direction: Outbound, MsgType: "text"}
	}
	return msgs
}

func corpusBytes(msgs []Message) int64 {
	var n int64
	for _, m := range msgs {
		n += int64(len(m.Text))
	}
	return n
}

// BenchmarkScan scans the corpus with the whole set (example rules, the
// 10,000-term lexicon, 20 regexes, the PII detectors), beside a plain
// strings.Contains loop over the same lexicon terms. One op is the whole
// corpus; MB/s is over its bytes; allocs/msg and hits/msg are per
// message. Run: go test -run XXX -bench Scan -benchmem -cpu 1 ./policy/rules/
func BenchmarkScan(b *testing.B) {
	s, terms := benchSet(b)
	for _, tt := range []struct {
		name string
		hits bool
	}{{"hits", true}, {"nohit", false}} {
		msgs := benchMessagesFor(terms, tt.hits)
		b.Run("Set/"+tt.name, func(b *testing.B) {
			b.SetBytes(corpusBytes(msgs))
			hits := 0
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				for _, m := range msgs {
					hits += len(s.Scan(m))
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			per := float64(b.N * len(msgs))
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/msg")
			b.ReportMetric(float64(hits)/per, "hits/msg")
		})
		b.Run("Contains/"+tt.name, func(b *testing.B) {
			b.SetBytes(corpusBytes(msgs))
			hits := 0
			for range b.N {
				for _, m := range msgs {
					for _, t := range terms {
						if strings.Contains(m.Text, t) {
							hits++
						}
					}
				}
			}
			b.ReportMetric(float64(hits)/float64(b.N*len(msgs)), "hits/msg")
		})
	}
}

// BenchmarkParse is the cost of compiling the benchmark set (at start-up
// and at each reload).
// It reports the automaton's states and the heap the compiled set holds.
func BenchmarkParse(b *testing.B) {
	var s *Set
	var heap uint64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, _ = benchSet(b)
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = max(after.HeapAlloc, before.HeapAlloc) - before.HeapAlloc
	}
	b.ReportMetric(float64(s.ac.StateCount()), "states")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
}
