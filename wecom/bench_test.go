package wecom

import "testing"

func BenchmarkOpen(b *testing.B) {
	c := k1(b)
	b.SetBytes(int64(len(v1bMsg)))
	for b.Loop() {
		if _, err := c.Open(v1bSignature, v1bTimestamp, v1bNonce, v1bEncrypt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	c := k1(b)
	msg := []byte(v1bMsg)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := c.Seal(msg, v1bTimestamp, v1bNonce); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEnvelope(b *testing.B) {
	body := []byte(v1bBody)
	for b.Loop() {
		if _, err := ParseEnvelope(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"text", "change_contact.create_user", "change_external_contact.add_external_contact", "template_card_event"} {
		in := []byte(sample(b, name))
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				ev, err := Decode(in)
				if err != nil {
					b.Fatal(err)
				}
				_ = ev.DedupKey()
			}
		})
	}
}
