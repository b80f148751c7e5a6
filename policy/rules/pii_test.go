package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

const piiRules = `
[[rule]]
id = "pii"
kind = "pii"
severity = "high"
detectors = ["resident_id", "bank_card", "mobile", "email"]
`

// TestDetectors: each detector's edges, one row per case.
func TestDetectors(t *testing.T) {
	s := mustParse(t, piiRules)
	for _, tt := range []struct{ name, text, want string }{
		// resident_id
		{"id with X", "身份证11010519491231002X。", "pii[9:27]=11010519491231002X/resident_id"},
		{"id with lower-case x", "id 11010519491231002x", "pii[3:21]=11010519491231002x/resident_id"},
		{"id in full width", "１１０１０５１９４９１２３１００２Ｘ", "pii[0:54]=１１０１０５１９４９１２３１００２Ｘ/resident_id"},
		{"id grouped 6-8-4", "110105 19491231 002X", "pii[0:20]=110105 19491231 002X/resident_id"},
		{"id with a wrong check character", "11010519491231002Y 110105194912310021", ""},
		{"id inside a longer digit run", "911010519491231002X", ""},
		{"id with an impossible date", makeID("110105", "19490230", "002"), ""},
		// bank_card
		{"card", "卡号4111111111111111到期", "pii[6:22]=4111111111111111/bank_card"},
		{"card in groups of four", "6222 0212 3456 7890 128", "pii[0:23]=6222 0212 3456 7890 128/bank_card"},
		{"card with hyphens", "4111-1111-1111-1111", "pii[0:19]=4111-1111-1111-1111/bank_card"},
		{"card failing Luhn", "4111111111111112", ""},
		{"card inside a longer run", "14111111111111111", ""},
		{"too long for a card", "41111111111111111111", ""},
		{"twelve digits", "411111111116", ""},
		{"a run of zeros", "0000000000000000", ""},
		// mobile
		{"mobile", "电话13812345678", "pii[6:17]=13812345678/mobile"},
		{"mobile +86", "+8613812345678", "pii[0:14]=+8613812345678/mobile"},
		{"mobile +86 spaced 3-4-4", "+86 138 1234 5678", "pii[0:17]=+86 138 1234 5678/mobile"},
		{"mobile with hyphens", "138-1234-5678", "pii[0:13]=138-1234-5678/mobile"},
		{"mobile then another number", "13812345678 2", "pii[0:11]=13812345678/mobile"},
		{"not a mobile: 12x", "12812345678", ""},
		{"not a mobile: inside a longer run", "213812345678", ""},
		{"not a mobile: ten digits", "1381234567", ""},
		// email
		{"email", "发到 zhang.wei@example.com.cn。", "pii[7:31]=zhang.wei@example.com.cn/email"},
		{"email full-width @", "li＠example.com", "pii[0:16]=li＠example.com/email"},
		{"email without a dot", "root@localhost", ""},
		{"email with a numeric tld", "a@b.c1", ""},
		{"bare @", "@ @@ a@ @b.com", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hitsString(s.Scan(Message{Text: tt.text})); got != tt.want {
				t.Errorf("Scan(%q) = %s\nwant %s", tt.text, got, tt.want)
			}
		})
	}
}

// makeID completes a resident ID with its check character.
func makeID(area, birth, seq string) string {
	body := area + birth + seq
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return body + string("10X98765432"[sum%11])
}

var provinceCodes = []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
	"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}

func digits(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

// genResidentID makes a valid resident ID.
func genResidentID(rng *rand.Rand) string {
	y, m := 1930+rng.IntN(91), 1+rng.IntN(12)
	d := 1 + rng.IntN(28)
	return makeID(provinceCodes[rng.IntN(len(provinceCodes))]+digits(rng, 4), fmt.Sprintf("%04d%02d%02d", y, m, d), digits(rng, 3))
}

// wrongCheck replaces the last character with another valid-looking one
// that is not the check character.
func wrongCheck(rng *rand.Rand, id string, alphabet string) string {
	for {
		c := alphabet[rng.IntN(len(alphabet))]
		if c != id[len(id)-1] {
			return id[:len(id)-1] + string(c)
		}
	}
}

// genCard makes a Luhn-valid card number of 16 or 19 digits with a
// UnionPay, Visa or Mastercard prefix.
func genCard(rng *rand.Rand) string {
	prefix := []string{"62", "4", "51", "55"}[rng.IntN(4)]
	n := []int{16, 19}[rng.IntN(2)]
	body := prefix + digits(rng, n-1-len(prefix))
	for c := '0'; c <= '9'; c++ {
		if luhn(body + string(c)) {
			return body + string(c)
		}
	}
	panic("no Luhn digit")
}

// accuracy counts, over generated samples, how each detector did.
type accuracy struct {
	name                 string
	valid, invalid       int
	falseNeg, falsePos   int
	crossHits, crossSeen int // valid IDs flagged as bank cards
}

func measureAccuracy(t *testing.T, n int) []accuracy {
	t.Helper()
	s := mustParse(t, piiRules)
	rng := rand.New(rand.NewPCG(13, 2026))
	found := func(text, want string, d Detector) (hit, other bool) {
		for _, h := range s.Scan(Message{Text: "客户资料：" + text + "，请核对"}) {
			if h.Detector == d && h.Match == want {
				hit = true
			} else if h.Match == want {
				other = true
			}
		}
		return hit, other
	}
	ids := accuracy{name: "resident_id"}
	cards := accuracy{name: "bank_card"}
	for range n {
		id := genResidentID(rng)
		ids.valid++
		hit, other := found(id, id, ResidentID)
		if !hit {
			ids.falseNeg++
			t.Errorf("valid resident ID %s not found", id)
		}
		ids.crossSeen++
		if other {
			ids.crossHits++
			t.Errorf("valid resident ID %s also hit as something else", id)
		}
		bad := wrongCheck(rng, id, "0123456789X")
		ids.invalid++
		if hit, _ := found(bad, bad, ResidentID); hit {
			ids.falsePos++
			t.Errorf("resident ID %s with a wrong check character found", bad)
		}

		card := genCard(rng)
		cards.valid++
		if hit, _ := found(card, card, BankCard); !hit {
			cards.falseNeg++
			t.Errorf("valid card %s not found", card)
		}
		badCard := wrongCheck(rng, card, "0123456789")
		cards.invalid++
		if hit, _ := found(badCard, badCard, BankCard); hit {
			cards.falsePos++
			t.Errorf("card %s failing Luhn found", badCard)
		}
	}
	return []accuracy{ids, cards}
}

// TestDetectorChecksums: over generated samples, no valid resident ID or
// card number is missed and none with a wrong check digit is taken.
func TestDetectorChecksums(t *testing.T) {
	measureAccuracy(t, 2000)
}

// TestDetectorAccuracy logs the counts for the release note (go test -run
// TestDetectorAccuracy -v), and the Luhn check's inherent rate on random
// digit runs, which is why bank_card hits ask for a human's review.
func TestDetectorAccuracy(t *testing.T) {
	const n = 10000
	for _, a := range measureAccuracy(t, n) {
		t.Logf("%-11s valid %d: %d false negatives; wrong check digit %d: %d false positives", a.name, a.valid, a.falseNeg, a.invalid, a.falsePos)
		if a.crossSeen > 0 {
			t.Logf("%-11s valid IDs also hit by another detector: %d of %d", a.name, a.crossHits, a.crossSeen)
		}
	}
	s := mustParse(t, piiRules)
	rng := rand.New(rand.NewPCG(7, 7))
	random, luhnHits, idHits, mobileHits := 0, 0, 0, 0
	for range n {
		text := "单号" + digits(rng, 13+rng.IntN(7)) + "。"
		random++
		for _, h := range s.Scan(Message{Text: text}) {
			switch h.Detector {
			case BankCard:
				luhnHits++
			case ResidentID:
				idHits++
			case Mobile:
				mobileHits++
			}
		}
	}
	t.Logf("random 13-19 digit runs %d: bank_card %d (%.1f%%, Luhn passes one in ten), resident_id %d, mobile %d",
		random, luhnHits, 100*float64(luhnHits)/float64(random), idHits, mobileHits)
	// Mobile hits are the 13-digit runs that read 86 1[3-9]…: a +86
	// number written without its plus.
	if luhnHits > random/5 || mobileHits > random/1000 {
		t.Errorf("random runs: %d card hits (want about a tenth), %d mobile hits (want about 1 in 2,000)", luhnHits, mobileHits)
	}
}

// TestValidResidentIDKnownAnswers: the check character of published
// examples (GB 11643's 11010519491231002X) and edge dates.
func TestValidResidentIDKnownAnswers(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"11010519491231002X", true},
		{"11010519491231002x", true},
		{"110105194912310021", false},
		{makeID("440301", "20000229", "123"), true},  // leap day
		{makeID("440301", "19000229", "123"), false}, // 1900 was no leap year
		{makeID("440301", "18991231", "123"), false},
		{makeID("440301", "20991231", "123"), true},
		{makeID("990105", "19491231", "002"), false}, // no province 99
		{strings.Repeat("1", 17), false},
	} {
		if got := validResidentID(strings.ToLower(tt.id)); got != tt.want {
			t.Errorf("validResidentID(%s) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
