package index

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wecomply/wecomply/store"
)

type tuple struct {
	a string
	n int64
	b string
}

func (t tuple) key() []byte { return AppendString(AppendInt(AppendString(nil, t.a), t.n), t.b) }

func compareTuples(x, y tuple) int {
	return cmp.Or(strings.Compare(x.a, y.a), cmp.Compare(x.n, y.n), strings.Compare(x.b, y.b))
}

// TestKeyOrderIsTupleOrder: sorting encoded keys byte-wise sorts the
// tuples field by field, whatever bytes the strings hold.
func TestKeyOrderIsTupleOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 0xFF, 0xFE, 'a', 'b'}
	str := func() string {
		b := make([]byte, r.IntN(4))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	ints := []int64{math.MinInt64, -256, -1, 0, 1, 2, 10, 255, 256, math.MaxInt64}
	var ts []tuple
	for range 5000 {
		ts = append(ts, tuple{str(), ints[r.IntN(len(ints))], str()})
	}
	byKey := slices.Clone(ts)
	slices.SortStableFunc(byKey, func(x, y tuple) int { return bytes.Compare(x.key(), y.key()) })
	byTuple := slices.Clone(ts)
	slices.SortStableFunc(byTuple, compareTuples)
	for i := range ts {
		if compareTuples(byKey[i], byTuple[i]) != 0 {
			t.Fatalf("at %d: key order gives %+v, tuple order %+v", i, byKey[i], byTuple[i])
		}
	}
	// A key is a prefix of another only if its tuple is a prefix.
	for i := range 500 {
		x, y := ts[i], ts[i+1]
		px := AppendString(nil, x.a)
		if bytes.HasPrefix(y.key(), px) != (y.a == x.a) {
			t.Errorf("(%q) prefix of key of (%q, …): %v", x.a, y.a, !(y.a == x.a))
		}
	}
}

func TestReadBack(t *testing.T) {
	for _, s := range []string{"", "a", "\x00", "\x00\x00\xff", "a\x00\x01b", "张三"} {
		k := AppendInt(AppendString(nil, s), -7)
		got, rest, ok := ReadString(k)
		if !ok || got != s {
			t.Errorf("ReadString(AppendString(%q)) = %q, %v", s, got, ok)
		}
		if n, rest, ok := ReadInt(rest); !ok || n != -7 || len(rest) != 0 {
			t.Errorf("ReadInt after %q = %d, %q, %v", s, n, rest, ok)
		}
	}
	for _, bad := range [][]byte{nil, []byte("abc"), {'a', 0x00}, {'a', 0x00, 0x02}} {
		if _, _, ok := ReadString(bad); ok {
			t.Errorf("ReadString(%q) succeeded", bad)
		}
	}
	if _, _, ok := ReadInt([]byte{1, 2, 3}); ok {
		t.Error("ReadInt of 3 bytes succeeded")
	}
}

func TestSuccessor(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{0xFF, 0xFF}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte{'a', 0x01}, []byte{'a', 0x02}},
		{[]byte{'a', 0xFF}, []byte("b")},
	} {
		if got := Successor(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("Successor(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCursors(t *testing.T) {
	key := ObligationKey("archive", 3, "zhangsan")
	sc, err := ObligationScan(store.ObligationFilter{Status: "pending"}, store.Page{Cursor: Cursor(key), Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Index != ByStatus || !bytes.Equal(sc.PrimaryKey(sc.After), key) || sc.Limit != 5 {
		t.Errorf("scan = %+v", sc)
	}
	for _, bad := range []string{"***", Cursor([]byte("x")), Cursor(ConsentKey("a", "b")), Cursor(append(key, 0))} {
		if _, err := ObligationScan(store.ObligationFilter{}, store.Page{Cursor: bad}); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("ObligationScan with cursor %q: %v", bad, err)
		}
	}
	if _, err := ConsentScan(store.ConsentFilter{}, store.Page{Cursor: Cursor(key)}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("ConsentScan with an obligation's cursor: %v", err)
	}
}
