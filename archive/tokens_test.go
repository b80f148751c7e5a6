package archive

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func testIndexKey(t *testing.T, b byte) IndexKey {
	t.Helper()
	k, err := NewIndexKey(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTerms(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"latin words lower-cased", "Hello World", []string{"hello", "world"}},
		{"digit runs apart from words", "order A123 costs 4500", []string{"order", "a", "123", "costs", "4500"}},
		// Full-width letters and digits (全角) fold to ASCII under NFKC.
		{"full-width", "ＡＢＣ　１２３", []string{"abc", "123"}},
		{"cjk bigrams and single chars", "合同到期", []string{"合", "同", "到", "期", "合同", "同到", "到期"}},
		{"single cjk char on its own", "好", []string{"好"}},
		// Mixed zh/en: a script change ends a run.
		{"mixed zh en", "请看PDF文件v2", []string{"请", "看", "请看", "pdf", "文", "件", "文件", "v", "2"}},
		{"punctuation separates", "价格：100元，OK?", []string{"价", "格", "价格", "100", "元", "ok"}},
		{"emoji separates", "好的👍thanks😀", []string{"好", "的", "好的", "thanks"}},
		{"duplicates once", "go go GO", []string{"go"}},
		{"japanese kana", "ありがとう", []string{"あ", "り", "が", "と", "う", "あり", "りが", "がと", "とう"}},
		{"accented latin kept whole", "Café Straße", []string{"café", "straße"}},
		// A decomposed é (e + U+0301) composes under NFKC.
		{"combining mark", "cafe\u0301", []string{"café"}},
		{"nothing to index", "😀 !!! —", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Terms(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Terms(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestQueryTerms(t *testing.T) {
	tests := []struct {
		name, query string
		want        []string
	}{
		{"cjk run gives only bigrams", "合同到期", []string{"合同", "同到", "到期"}},
		{"one cjk char is its own token", "王", []string{"王"}},
		{"mixed", "王 合同 PDF", []string{"王", "合同", "pdf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QueryTerms(tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("QueryTerms(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

// Every query token of a piece of a text is among the text's tokens: the
// index never loses a true match.
func TestQueryTokensSubsetOfTextTokens(t *testing.T) {
	k := testIndexKey(t, 1)
	text := "客户王先生说：合同ＰＤＦ在 v2 里，价格 4500 元 👍 OK"
	all := k.Tokens(text)
	for _, q := range []string{"王", "合同", "pdf", "PDF", "价格 4500", "王先生", "ok", "客户王"} {
		for _, h := range k.QueryTokens(q) {
			if _, ok := slices.BinarySearch(all, h); !ok {
				t.Errorf("query %q: token %x not in the text's tokens", q, h)
			}
		}
	}
}

func TestTokensSortedDistinctKeyed(t *testing.T) {
	a, b := testIndexKey(t, 1), testIndexKey(t, 2)
	ta := a.Tokens("alpha beta alpha 甲乙")
	if !slices.IsSorted(ta) || len(slices.Compact(slices.Clone(ta))) != len(ta) {
		t.Fatalf("tokens not sorted and distinct: %x", ta)
	}
	if len(ta) != 5 { // alpha beta 甲 乙 甲乙
		t.Fatalf("got %d tokens, want 5", len(ta))
	}
	if slices.Equal(ta, b.Tokens("alpha beta alpha 甲乙")) {
		t.Fatal("two index keys gave the same tokens")
	}
	if a.Tokens("") != nil {
		t.Fatal("empty text gave tokens")
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		text, query string
		want        bool
	}{
		{"合同到期了", "合同", true},
		{"合同到期了", "到期 合同", true},
		{"合同到期了", "合到", false}, // both bigram-free chars present, not the phrase
		{"Invoice ＮＯ．４５", "no.45", true},
		{"hello world", "HELLO", true},
		{"hello world", "hello there", false},
		{"anything", "", true},
	}
	for _, tt := range tests {
		if got := Matches(tt.text, tt.query); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.text, tt.query, got, tt.want)
		}
	}
}

func TestKeysNeverPrint(t *testing.T) {
	raw := bytes.Repeat([]byte{0xAB}, KeySize)
	ik, err := NewIndexKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := NewMasterKey("m1", raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{ik, mk, &ik, &mk, mk.key} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			out := fmt.Sprintf(f, v)
			if strings.Contains(out, "ab") || strings.Contains(out, "171") || strings.Contains(out, "\xab") {
				t.Errorf("%s of %T printed key bytes: %s", f, v, out)
			}
		}
	}
	_, err = ParseMasterKey("m1", "bm90IGEga2V5") // "not a key"
	if err == nil || strings.Contains(err.Error(), "bm90") {
		t.Errorf("ParseMasterKey error %v: want an error without the text", err)
	}
	_, err = ParseIndexKey("%%%secret%%%")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("ParseIndexKey error %v: want an error without the text", err)
	}
}
