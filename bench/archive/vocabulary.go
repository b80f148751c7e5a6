package main

import (
	mrand "math/rand/v2"
	"strconv"
	"strings"
)

// zhChars are common Chinese characters; the vocabulary's Chinese words
// are pairs of them (so a word is one CJK bigram token).
const zhChars = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"

// latinSyllables make the vocabulary's English-looking words.
var latinSyllables = strings.Fields("ka ri to ne su mo la pe di co ver sion pro duct or der ship ment in voice con tract price quo te de liv ery re port mee ting ac count ser vice sup port ca se")

// vocabulary is the bench's words: Chinese two-character words and
// English-looking words, each list drawn by a Zipf law (a few words are
// very common, most are rare), as chat text is.
type vocabulary struct {
	zh, en []string
}

func newVocabulary(seed uint64) *vocabulary {
	rng := mrand.New(mrand.NewPCG(seed, seed+1))
	zh := []rune(zhChars)
	v := &vocabulary{}
	seen := map[string]bool{}
	for len(v.zh) < 20000 {
		w := string([]rune{zh[rng.IntN(len(zh))], zh[rng.IntN(len(zh))]})
		if !seen[w] {
			seen[w] = true
			v.zh = append(v.zh, w)
		}
	}
	for len(v.en) < 20000 {
		var sb strings.Builder
		for range 2 + rng.IntN(3) {
			sb.WriteString(latinSyllables[rng.IntN(len(latinSyllables))])
		}
		w := sb.String()
		if !seen[w] {
			seen[w] = true
			v.en = append(v.en, w)
		}
	}
	return v
}

// text is a message text of about size bytes of sealed content (the
// generator's sizing: 28 bytes of nonce and tag, 4 per word): 70% Chinese,
// 30% English, sometimes with an order number. It returns the text and
// its words.
func (v *vocabulary) text(rng *mrand.Rand, zipf *mrand.Zipf, size int) (string, []string) {
	n := max((size-28)/4, 1)
	words := make([]string, 0, n+1)
	zh := rng.IntN(10) < 7
	for range n {
		k := int(zipf.Uint64())
		if zh {
			words = append(words, v.zh[k%len(v.zh)])
		} else {
			words = append(words, v.en[k%len(v.en)])
		}
	}
	if rng.IntN(10) == 0 {
		words = append(words, "PO"+strconv.Itoa(100000+rng.IntN(900000)))
	}
	if !zh {
		return strings.Join(words, " "), words
	}
	// Chinese: clauses of a few words without spaces, as people write.
	var sb strings.Builder
	for i, w := range words {
		if i > 0 && i%4 == 0 {
			sb.WriteString("，")
		}
		sb.WriteString(w)
	}
	sb.WriteString("。")
	return sb.String(), words
}

// word is a fairly common word (among each list's 2,000 first), for
// queries whose terms are drawn at random.
func (v *vocabulary) word(rng *mrand.Rand) string {
	if rng.IntN(10) < 7 {
		return v.zh[rng.IntN(2000)]
	}
	return v.en[rng.IntN(2000)]
}
