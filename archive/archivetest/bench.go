package archivetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/wecom"
)

// DiskUser is what a backend may offer so that the benchmarks report the
// bytes it uses per message: the bytes its data occupies now.
type DiskUser interface {
	DiskBytes(ctx context.Context) (int64, error)
}

// Pather is the other way: the file the store lives in (its size is
// taken as the bytes used).
type Pather interface {
	Path() string
}

// Bench runs the same benchmarks against a backend, so their numbers
// compare: open returns a fresh, empty store.
//
//	Commit         batches of 1,000 realistic messages (Realistic): reports
//	               msgs/s and, if the store can tell (DiskUser or Pather),
//	               bytes/msg
//	CommitBigRoom  batches of 1,000 messages in rooms of 500 members (each
//	               message's ToList has 499 ids; BigRoomBatch): msgs/s, bytes/msg
//	Search         one person, a 30-day range and two tokens, over 100,000
//	               realistic messages spread over 60 days: ns/op, results/op
//	SearchPerson   the same person and range, no tokens, first page of 100
func Bench(b *testing.B, open func(b *testing.B) archive.Store) {
	b.Run("Commit", func(b *testing.B) {
		g := NewGenerator(1)
		benchCommit(b, open(b), func(from uint64) archive.Batch { return g.Batch(from, 1000) })
	})
	b.Run("CommitBigRoom", func(b *testing.B) {
		g := NewGenerator(2)
		benchCommit(b, open(b), func(from uint64) archive.Batch { return g.BigRoomBatch(from, 1000, 500) })
	})

	// One large store for both searches, opened on the outer b so that it
	// lives through every run of the sub-benchmarks.
	outer := b
	var big archive.Store
	bigStore := func(b *testing.B) archive.Store {
		if big == nil {
			big = open(outer)
			g := NewGenerator(3)
			for i := range 100 {
				if _, err := big.Commit(context.Background(), g.Batch(uint64(i*1000), 1000)); err != nil {
					b.Fatal(err)
				}
			}
		}
		return big
	}
	from := Start.Add(15 * 24 * time.Hour)
	searchQuery := archive.Query{User: "user0003", From: from, To: from.Add(30 * 24 * time.Hour),
		Tokens: []uint64{TokenOfRank(20), TokenOfRank(60)}}
	b.Run("Search", func(b *testing.B) {
		s := bigStore(b)
		benchSearch(b, s, searchQuery, true)
	})
	b.Run("SearchPerson", func(b *testing.B) {
		s := bigStore(b)
		q := searchQuery
		q.Tokens = nil
		benchSearch(b, s, q, false)
	})
}

// benchCommit commits b.N batches of 1,000 messages that batch makes
// (from the cursor it is given) and reports msgs/s and, if s can tell,
// bytes/msg.
func benchCommit(b *testing.B, s archive.Store, batch func(from uint64) archive.Batch) {
	ctx := context.Background()
	batches := make([]archive.Batch, b.N)
	for i := range batches {
		batches[i] = batch(uint64(i * 1000))
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Commit(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
	if n, ok := diskBytes(b, s); ok {
		b.ReportMetric(float64(n)/float64(b.N*1000), "bytes/msg")
	}
}

// benchSearch runs q (all pages when all, else the first page) b.N times.
func benchSearch(b *testing.B, s archive.Store, q archive.Query, all bool) {
	ctx := context.Background()
	b.ResetTimer()
	results := 0
	for range b.N {
		q := q
		for {
			ms, next, err := s.Search(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			results += len(ms)
			if next == "" || !all {
				break
			}
			q.Cursor = next
		}
	}
	b.ReportMetric(float64(results)/float64(b.N), "results/op")
}

func diskBytes(b *testing.B, s archive.Store) (int64, bool) {
	switch d := s.(type) {
	case DiskUser:
		n, err := d.DiskBytes(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		return n, true
	case Pather:
		fi, err := os.Stat(d.Path())
		if err != nil {
			b.Fatal(err)
		}
		return fi.Size(), true
	}
	return 0, false
}

// Start is where the generator's messages start (UTC).
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// vocabulary is how many distinct tokens the generator's texts draw from.
const vocabulary = 100000

// TokenOfRank is the generator's token of that frequency rank (0 the
// most frequent): a stand-in for a blind-index hash.
func TokenOfRank(rank int) uint64 {
	// splitmix64, so tokens look like hashes and spread over the key space.
	z := uint64(rank) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Generator makes realistic archive messages, the same for the same seed:
// 2,000 employees and 20,000 customers; 55% of messages between an
// employee and a customer, 20% between employees, 25% in one of 400 rooms
// (most of 3–30 members, a few of 100–500); texts of a few words to a
// few KB as sealed content (nonce and tag included) with their distinct
// tokens drawn from a Zipf vocabulary of 100,000; images and files with
// media; 8% withheld; times about 52 s apart, so 100,000 messages span
// about 60 days.
type Generator struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	users *rand.Zipf
	rooms [][]string
	at    time.Time
	n     int
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	g := &Generator{
		rng:   rng,
		zipf:  rand.NewZipf(rng, 1.1, 10, vocabulary-1),
		users: rand.NewZipf(rng, 1.2, 20, 1999),
		at:    Start,
	}
	for i := range 400 {
		size := 3 + rng.IntN(28)
		if i%40 == 0 {
			size = 100 + rng.IntN(401)
		}
		members := make([]string, 0, size)
		for j := range size {
			if j%4 == 3 {
				members = append(members, fmt.Sprintf("wmcustomer%05d", rng.IntN(20000)))
			} else {
				members = append(members, fmt.Sprintf("user%04d", (i*7+j*13)%2000))
			}
		}
		slices.Sort(members)
		g.rooms = append(g.rooms, slices.Compact(members))
	}
	return g
}

func (g *Generator) user() string     { return fmt.Sprintf("user%04d", g.users.Uint64()) }
func (g *Generator) customer() string { return fmt.Sprintf("wmcustomer%05d", g.rng.IntN(20000)) }

// Message returns the next message, with record seq seq.
func (g *Generator) Message(seq uint64) archive.Message {
	g.n++
	g.at = g.at.Add(time.Duration(1+g.rng.IntN(104000)) * time.Millisecond)
	var from, room string
	var to []string
	switch r := g.rng.IntN(100); {
	case r < 55:
		from, to = g.user(), []string{g.customer()}
		if g.rng.IntN(2) == 0 {
			from, to = to[0], []string{from}
		}
	case r < 75:
		from, to = g.user(), []string{g.user()}
	default:
		k := g.rng.IntN(len(g.rooms))
		members := g.rooms[k]
		from = members[g.rng.IntN(len(members))]
		room = fmt.Sprintf("wrRoom%04d", k)
		to = make([]string, 0, len(members)-1)
		for _, m := range members {
			if m != from {
				to = append(to, m)
			}
		}
	}
	m := archive.Message{
		MsgID:        fmt.Sprintf("%020d_%d_external", g.rng.Uint64(), g.at.UnixMilli()),
		Seq:          seq,
		PublicKeyVer: 3,
		Action:       wecom.ActionSend,
		From:         from,
		ToList:       to,
		RoomID:       room,
		Time:         g.at,
		Conversation: archive.ConversationID(from, to, room),
		Consent:      "internal",
		KeyDay:       archive.KeyDay(g.at),
		KeyID:        "dk1",
		StoredAt:     g.at.Add(time.Second),
	}
	for _, id := range append([]string{from}, to...) {
		if wecom.IsExternalID(id) {
			m.External, m.Consent = true, "agreed:msg_audit_approved"
			break
		}
	}
	words := 0
	switch r := g.rng.IntN(100); {
	case r < 75:
		m.Type = "text"
		words = 3 + int(g.rng.ExpFloat64()*15)
		if g.rng.IntN(50) == 0 {
			words = 300 + g.rng.IntN(700)
		}
		m.Content = make([]byte, 28+words*4+g.rng.IntN(20))
	case r < 90:
		m.Type = "image"
		m.Content = make([]byte, 28+220)
		m.Media = []wecom.ChatMedia{{Type: "image", SDKFileID: fmt.Sprintf("CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAw%040x", g.rng.Uint64()),
			MD5Sum: fmt.Sprintf("%032x", g.rng.Uint64()), Size: int64(20000 + g.rng.IntN(500000))}}
	default:
		m.Type = "file"
		words = 2 + g.rng.IntN(4)
		m.Content = make([]byte, 28+260)
		m.Media = []wecom.ChatMedia{{Type: "file", SDKFileID: fmt.Sprintf("CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAw%040x", g.rng.Uint64()),
			MD5Sum: fmt.Sprintf("%032x", g.rng.Uint64()), Size: int64(1000 + g.rng.IntN(5000000)), FileName: fmt.Sprintf("report-%d.pdf", g.n)}}
	}
	for i := range m.Content {
		m.Content[i] = byte(g.rng.Uint32())
	}
	for range words {
		m.Tokens = append(m.Tokens, TokenOfRank(int(g.zipf.Uint64())))
	}
	slices.Sort(m.Tokens)
	m.Tokens = slices.Compact(m.Tokens)
	if g.rng.IntN(100) < 8 {
		m.Withheld, m.Consent = archive.WithheldNoConsent, "unknown"
		m.Content, m.Tokens, m.Media, m.KeyID = nil, nil, nil, ""
	}
	return m
}

// Batch returns a batch of n messages after cursor from.
func (g *Generator) Batch(from uint64, n int) archive.Batch {
	b := archive.Batch{From: from, To: from + uint64(n)}
	for i := range n {
		b.Messages = append(b.Messages, g.Message(from+uint64(i)+1))
	}
	return b
}

// BigRoomBatch returns a batch of n text messages after cursor from, all
// in four rooms of size members, sent by members drawn from a Zipf
// distribution (a few members write most messages, as in real groups).
func (g *Generator) BigRoomBatch(from uint64, n, size int) archive.Batch {
	rooms := make([][]string, 4)
	for k := range rooms {
		for j := range size {
			rooms[k] = append(rooms[k], fmt.Sprintf("member%02d%04d", k, j))
		}
	}
	b := archive.Batch{From: from, To: from + uint64(n)}
	senders := rand.NewZipf(g.rng, 1.2, 5, uint64(size-1))
	for i := range n {
		m := g.Message(from + uint64(i) + 1)
		for m.Type != "text" || m.Withheld != "" {
			m = g.Message(from + uint64(i) + 1)
		}
		k := g.rng.IntN(len(rooms))
		m.RoomID = fmt.Sprintf("wrBig%d", k)
		m.From = rooms[k][senders.Uint64()]
		m.ToList = slices.DeleteFunc(slices.Clone(rooms[k]), func(id string) bool { return id == m.From })
		m.Conversation = archive.ConversationID(m.From, m.ToList, m.RoomID)
		b.Messages = append(b.Messages, m)
	}
	return b
}
