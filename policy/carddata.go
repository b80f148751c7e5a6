package policy

import "time"

// NoticeData is the template data a notice's card or reminder shows of
// it: the company, the notice's title, version, summary and link (a card
// adds its due day: CardData). The processor sends reminders with it, and
// whoever renders a sent one again (the console, evidence packs) must use
// it too, or the content hash will not match.
func NoticeData(s Settings, n Notice) map[string]any {
	return map[string]any{"Company": s.Company, "Title": n.Title, "Version": n.Version,
		"Summary": n.Summary, "URL": n.URL}
}

// CardData is the template data of notice n's card for a person due on
// day (DueDay): NoticeData and "Due". The processor sends cards with it;
// whoever renders a sent card again must use it too.
func CardData(s Settings, n Notice, day string) map[string]any {
	data := NoticeData(s, n)
	data["Due"] = day
	return data
}

// DueDay is a due date as a card shows it: its day in s.Location (China
// time when unset), as every text policy renders shows a day
// (formatDay); no due date reads as such.
func DueDay(s Settings, t time.Time, lang string) string {
	if t.IsZero() {
		if english(lang) {
			return "any time"
		}
		return "随时"
	}
	return formatDay(t, s)
}
