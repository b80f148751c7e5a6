package processor

import (
	"time"

	"github.com/wecomply/wecomply/policy"
)

// CardData is the data notice n's card is rendered with, in lang, for a
// person due at due: exactly what sendCard gives the notifier, so that
// rendering it again (the console showing the text a person was sent)
// gives the same content hash.
func (p *Processor) CardData(n policy.Notice, lang string, due time.Time) map[string]any {
	return policy.CardData(p.cfg.Settings, n, policy.DueDay(p.cfg.Settings, due, lang))
}
