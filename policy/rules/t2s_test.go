package rules

import (
	"testing"
	"unicode/utf8"
)

// TestT2STable: the two strings pair up one to one, no character maps
// to itself, no key is mapped two ways, and no simplified character is
// itself a key (folding is one step).
func TestT2STable(t *testing.T) {
	trad, simp := []rune(t2sTraditional), []rune(t2sSimplified)
	if len(trad) != len(simp) {
		t.Fatalf("%d traditional, %d simplified", len(trad), len(simp))
	}
	seen := map[rune]rune{}
	for i, r := range trad {
		if r == simp[i] {
			t.Errorf("%c maps to itself", r)
		}
		if s, ok := seen[r]; ok && s != simp[i] {
			t.Errorf("%c maps to %c and %c", r, s, simp[i])
		}
		seen[r] = simp[i]
	}
	for _, s := range simp {
		if _, ok := seen[s]; ok {
			t.Errorf("simplified %c is also a traditional key", s)
		}
	}
	f := folder{traditional: true}
	for _, tt := range []struct{ in, want string }{
		{"穩賺不賠", "稳赚不赔"}, {"內幕消息", "内幕消息"}, {"轉賬", "转账"}, {"聯繫我", "联系我"},
		{"ＡＢＣ１２３＠", "abc123@"}, {"Ｋelvin K", "kelvin k"}, {"　", " "}, {"ſ", "s"},
	} {
		if got := f.foldString(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (folder{}).foldString("穩賺"); got != "穩賺" {
		t.Errorf("without traditional folding: %q", got)
	}
	// Folding keeps offsets: every folded byte maps into the original.
	in := "Ａ穩\xffb"
	folded, offs := f.fold(nil, nil, in)
	if string(folded) != "a稳\xffb" || len(offs) != len(folded)+1 || offs[len(folded)] != int32(len(in)) || !utf8.ValidString(string(folded[:4])) {
		t.Errorf("fold(%q) = %q %v", in, folded, offs)
	}
}
