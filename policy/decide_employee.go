package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wecomply/wecomply/wecom"
)

// The employee loop: who owes which notice version, and acknowledging it.

// obligationID is an obligation's identity.
type obligationID struct {
	userID, noticeID string
	version          int
}

func (o Obligation) id() obligationID { return obligationID{o.UserID, o.NoticeID, o.Version} }

// cardGroup is the key of one SendCard: one card per notice version,
// language and reason.
type cardGroup struct {
	noticeID string
	version  int
	lang     string
	reason   Reason
}

// decision collects one Decide call's obligation actions and cards,
// without duplicates.
type decision struct {
	st      State
	now     time.Time
	acts    []Action
	closed  map[obligationID]bool
	created map[obligationID]bool
	cards   map[cardGroup]*SendCard
}

func newDecision(st State, now time.Time) *decision {
	return &decision{
		st:      st,
		now:     now,
		closed:  map[obligationID]bool{},
		created: map[obligationID]bool{},
		cards:   map[cardGroup]*SendCard{},
	}
}

// closes reports whether this decision closes o (as status, for reason):
// it is open, or this decision closed it already — an earlier run of the
// same event, cut off after that, closed it so at now (the event's time),
// and deciding again decides the same.
func (d *decision) closes(o Obligation, status ObligationStatus, reason Reason) bool {
	return o.Status.Open() || (o.Status == status && o.ClosedReason == reason && o.ClosedAt.Equal(d.now))
}

// owned reports whether this decision made o owed already: an earlier run
// of the same event created (or reopened) it at now (the event's time)
// for the reason it gives a new (or a reopened) obligation.
func (d *decision) owned(o Obligation, newReason, reopenReason Reason) bool {
	reason := newReason
	if o.Reopened {
		reason = reopenReason
	}
	return o.CreatedAt.Equal(d.now) && o.Reason == reason
}

// close closes the obligation o of userID (open, or closed so by this
// decision before: see closes).
func (d *decision) close(userID string, o Obligation, status ObligationStatus, reason Reason) {
	id := obligationID{userID, o.NoticeID, o.Version}
	if d.closed[id] {
		return
	}
	d.closed[id] = true
	d.acts = append(d.acts, CloseObligation{
		UserID: userID, NoticeID: o.NoticeID, Version: o.Version,
		Status: status, Reason: reason, At: d.now,
	})
}

// owe makes userID (p) owe n's current version and sends them its card.
func (d *decision) owe(userID string, p *Person, n Notice, reason Reason, reopen bool) {
	id := obligationID{userID, n.ID, n.Version}
	if d.created[id] {
		return
	}
	d.created[id] = true
	var due time.Time
	if n.DueDays > 0 {
		due = d.now.AddDate(0, 0, n.DueDays)
	}
	d.acts = append(d.acts, CreateObligation{
		Obligation: Obligation{
			UserID: userID, NoticeID: n.ID, Version: n.Version,
			Status: Pending, Reason: reason, CreatedAt: d.now, DueAt: due, Reopened: reopen,
		},
		Reopen: reopen,
	})
	d.card(userID, p, n, reason)
}

// card sends userID (p) n's card, grouped with the others of its
// language and reason.
func (d *decision) card(userID string, p *Person, n Notice, reason Reason) {
	lang := cardLang(n, p, d.st.Settings)
	g := cardGroup{n.ID, n.Version, lang, reason}
	card := d.cards[g]
	if card == nil {
		card = &SendCard{Notice: n, Lang: lang, Reason: reason}
		d.cards[g] = card
	}
	card.UserIDs = append(card.UserIDs, userID)
}

// reconcile decides one person's obligations for notice n: in its
// audience, they owe its current version (created with newReason, or
// reopened with reopenReason if it was cancelled) and their open older
// versions are superseded; out of it, their open obligations of n are
// cancelled (left_audience).
//
// resend also sends the card again to someone whose obligation for the
// current version is already open. It is set when the event is what put
// them in the audience (a publish, a create, a join): if a crash came
// between recording the obligation and sending its card, the event runs
// again with the obligation already there, and the card must still go
// out. notify sends a person one card per notice version, so this never
// doubles one.
//
// An obligation this event created, reopened or closed in an earlier run
// (see owned and closes) is decided as the first run decided it, so that
// the event decided again after a crash anywhere in between decides the
// same actions.
func (d *decision) reconcile(userID string, p *Person, obligations []Obligation, n Notice, newReason, reopenReason Reason, resend bool) {
	if !n.Audience.Includes(*p) {
		for _, o := range obligations {
			if o.NoticeID == n.ID && d.closes(o, Cancelled, ReasonLeftAudience) {
				d.close(userID, o, Cancelled, ReasonLeftAudience)
			}
		}
		return
	}
	cur, ok := findObligation(obligations, n.ID, n.Version)
	switch {
	case !ok:
		d.owe(userID, p, n, newReason, false)
	case d.owned(cur, newReason, reopenReason):
		d.owe(userID, p, n, cur.Reason, cur.Reopened)
	case cur.Status == Cancelled:
		d.owe(userID, p, n, reopenReason, true)
	case cur.Status.Open() && resend:
		d.card(userID, p, n, cur.Reason)
	}
	for _, o := range obligations {
		if o.NoticeID == n.ID && o.Version < n.Version && d.closes(o, Superseded, ReasonNewVersion) {
			d.close(userID, o, Superseded, ReasonNewVersion)
		}
	}
}

// actions returns what was decided, the cards with sorted recipients.
func (d *decision) actions() []Action {
	for _, c := range d.cards {
		c.UserIDs = sortedUnique(c.UserIDs)
		d.acts = append(d.acts, *c)
	}
	return d.acts
}

// findObligation returns the obligation for a notice version.
func findObligation(obligations []Obligation, noticeID string, version int) (Obligation, bool) {
	for _, o := range obligations {
		if o.NoticeID == noticeID && o.Version == version {
			return o, true
		}
	}
	return Obligation{}, false
}

// latestNotices returns the latest version of each published notice,
// sorted by ID.
func latestNotices(notices []Notice) []Notice {
	var out []Notice
	for _, n := range notices {
		if n.ID == "" {
			continue
		}
		if latest, _ := latestNotice(notices, n.ID); latest.Version != n.Version {
			continue
		}
		if !slices.ContainsFunc(out, func(m Notice) bool { return m.ID == n.ID }) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b Notice) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// membershipChange is how a contact event changes people.
type membershipChange struct {
	reason   Reason // of the obligations it creates
	deleted  bool   // delete_user: every person's open obligations are cancelled
	from, to string // update_user with NewUserID
}

// decideUserChange handles create_user, update_user and delete_user.
func decideUserChange(e *wecom.UserChange, st State, now time.Time) []Action {
	mc := membershipChange{reason: ReasonJoinedAudience}
	switch e.ChangeType {
	case "create_user":
		mc.reason = ReasonNewMember
	case "update_user":
		if e.NewUserID != "" && e.NewUserID != e.UserID {
			mc.from, mc.to = e.UserID, e.NewUserID
		}
	case "delete_user":
		mc.deleted = true
	default:
		return nil
	}
	return decideMembership(mc, st, now)
}

// decideMembership compares each person in st.People before and after the
// event with each notice's audience.
func decideMembership(mc membershipChange, st State, now time.Time) []Action {
	d := newDecision(st, now)
	if mc.from != "" {
		d.acts = append(d.acts, RenamePerson{From: mc.from, To: mc.to, Reason: ReasonUserRenamed})
	}
	notices := latestNotices(st.Notices)
	for _, key := range sortedPeople(st) {
		pc := st.People[key]
		userID := key
		if mc.from != "" && userID == mc.from {
			userID = mc.to // the rename is applied first
		}
		if mc.deleted || pc.After == nil {
			// Gone from the company (After is nil for the deleted, even
			// when the caller knew nothing of them before): nothing they
			// owed stands, whichever notice, published still or not.
			for _, o := range pc.Obligations {
				if d.closes(o, Cancelled, ReasonMemberDeleted) {
					d.close(userID, o, Cancelled, ReasonMemberDeleted)
				}
			}
			continue
		}
		for _, n := range notices {
			entered := pc.Before == nil || !n.Audience.Includes(*pc.Before)
			d.reconcile(userID, pc.After, pc.Obligations, n, mc.reason, mc.reason, entered)
		}
	}
	return d.actions()
}

// decidePublished makes n's audience owe it.
func decidePublished(n Notice, st State, now time.Time) []Action {
	if n.ID == "" {
		return nil
	}
	d := newDecision(st, now)
	for _, userID := range sortedPeople(st) {
		pc := st.People[userID]
		p := pc.current()
		if p == nil {
			continue
		}
		reason := ReasonPublished
		if slices.ContainsFunc(pc.Obligations, func(o Obligation) bool { return o.NoticeID == n.ID && o.Version < n.Version }) {
			reason = ReasonNewVersion
		}
		d.reconcile(userID, p, pc.Obligations, n, reason, ReasonJoinedAudience, true)
	}
	return d.actions()
}

// parseButtonKey parses a ButtonKey, "ack:<noticeID>:v<version>".
func parseButtonKey(key string) (noticeID string, version int, ok bool) {
	rest, ok := strings.CutPrefix(key, "ack:")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, ":v")
	if i <= 0 {
		return "", 0, false
	}
	v, err := strconv.Atoi(rest[i+2:])
	if err != nil || v < 1 || strconv.Itoa(v) != rest[i+2:] {
		return "", 0, false
	}
	return rest[:i], v, true
}

// decideClick handles a click on a notice card's acknowledgement button.
func decideClick(e *wecom.TemplateCardEvent, st State, now time.Time) []Action {
	noticeID, version, ok := parseButtonKey(e.EventKey)
	if !ok {
		return nil
	}
	n, ok := latestNotice(st.Notices, noticeID)
	if !ok {
		return nil
	}
	user := e.FromUserName
	pc, ok := st.People[user]
	if !ok || user == "" {
		return nil
	}
	o, ok := findObligation(pc.Obligations, noticeID, version)
	if !ok {
		return nil
	}
	lang := cardLang(n, pc.current(), st.Settings)
	loc := st.Settings.location()
	card := UpdateCard{UserID: user, ResponseCode: e.ResponseCode, Notice: n}
	ack := func(a Attestation) []Action {
		card.Text, card.Reason = acknowledgedText(lang, now, loc), ReasonCardClicked
		return []Action{Acknowledge{Attestation: a, Reason: ReasonCardClicked}, card}
	}
	att := Attestation{
		UserID: user, NoticeID: noticeID, Version: version,
		ContentHash: st.ContentHash, Channel: ChannelCard,
		CreateTime: e.CreateTime, ReceivedAt: st.ReceivedAt,
		TaskID: e.TaskID, DedupKey: dedupKey(st, e), Round: o.Round,
	}
	if a, ok := ownAttestation(pc.Attestations, att); ok {
		// This click acknowledged it in an earlier run: the same again.
		return ack(a)
	}
	switch {
	case o.Status == Acknowledged:
		card.Text, card.Reason = acknowledgedText(lang, o.AcknowledgedAt, loc), ReasonAlreadyAcked
		return []Action{card}
	case o.Status == Superseded || (o.Status.Open() && version < n.Version):
		card.Text, card.Reason = staleText(lang), ReasonStaleVersion
		return []Action{card}
	case o.Status.Open():
		return ack(att)
	}
	return nil // cancelled: they owe nothing
}

// ownAttestation finds among atts the one that the event of a (its
// DedupKey) recorded in an earlier run, through the same channel, for the
// same person (and, for a click, the same notice version): a as it was
// decided then, in the round and with the content hash it was recorded
// with.
func ownAttestation(atts []Attestation, a Attestation) (Attestation, bool) {
	for _, x := range atts {
		if x.DedupKey != a.DedupKey || x.Channel != a.Channel || x.UserID != a.UserID ||
			(a.Channel == ChannelCard && (x.NoticeID != a.NoticeID || x.Version != a.Version)) {
			continue
		}
		a.NoticeID, a.Version, a.Round, a.ContentHash = x.NoticeID, x.Version, x.Round, x.ContentHash
		return a, true
	}
	return Attestation{}, false
}

// acknowledgedText is the greyed-out button's text of an acknowledged
// card.
func acknowledgedText(lang string, at time.Time, loc *time.Location) string {
	word := "已确认"
	if english(lang) {
		word = "Acknowledged"
	}
	if at.IsZero() {
		return word
	}
	return word + " " + at.In(loc).Format(minuteLayout)
}

// staleText is the greyed-out button's text of an older version's card.
func staleText(lang string) string {
	if english(lang) {
		return "A newer version exists"
	}
	return "已有新版本"
}

// IsAckWord reports whether content is one of words (Settings.AckWords),
// ignoring case and surrounding spaces (full-width too) and punctuation
// ("ACK。").
func IsAckWord(content string, words []string) bool {
	c := trimWord(content)
	if c == "" {
		return false
	}
	for _, w := range words {
		if w = trimWord(w); w != "" && strings.EqualFold(c, w) {
			return true
		}
	}
	return false
}

func trimWord(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
}

// openObligations returns the open obligations among obligations, soonest
// due first (none due last), then by notice and version.
func openObligations(obligations []Obligation) []Obligation {
	var open []Obligation
	for _, o := range obligations {
		if o.Status.Open() && !slices.ContainsFunc(open, func(p Obligation) bool { return p.id() == o.id() }) {
			open = append(open, o)
		}
	}
	slices.SortFunc(open, func(a, b Obligation) int {
		if a.DueAt.IsZero() != b.DueAt.IsZero() {
			if a.DueAt.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.NoticeID, b.NoticeID), cmp.Compare(a.Version, b.Version))
	})
	return open
}

// noticeTitle is the title of notice id, or id if it is not published.
func noticeTitle(st State, id string) string {
	if n, ok := latestNotice(st.Notices, id); ok && n.Title != "" {
		return n.Title
	}
	return id
}

// openItems lists open obligations for a text's Data: Title, Version and
// Due (its day, "" if none).
func openItems(st State, open []Obligation) []map[string]any {
	items := make([]map[string]any, 0, len(open))
	for _, o := range open {
		items = append(items, map[string]any{"Title": noticeTitle(st, o.NoticeID), "Version": o.Version, "Due": formatDay(o.DueAt, st.Settings)})
	}
	return items
}

// decideReply handles a text message: an acknowledgement word
// acknowledges the one open obligation, or says which are open. An
// acknowledgement by reply is evidence like a click's: it carries the
// content hash of the card the member was shown (st.Cards), and greys out
// that card's button (UpdateCard with the send's response code), so the
// card no longer asks for what is done.
func decideReply(e *wecom.TextMessage, st State, now time.Time) []Action {
	user := e.FromUserName
	if user == "" || !IsAckWord(e.Content, st.Settings.AckWords) {
		return nil
	}
	pc := st.People[user]
	open := openObligations(pc.Obligations)
	text := SendText{
		Key:     "reply:" + dedupKey(st, e),
		Lang:    personLang(pc.current(), st.Settings),
		UserIDs: []string{user},
	}
	ack := func(a Attestation) []Action {
		text.Template, text.Reason = "ack_confirm", ReasonReplyAck
		text.Data = map[string]any{"Title": noticeTitle(st, a.NoticeID), "Version": a.Version, "At": formatMinute(now, st.Settings)}
		acts := []Action{Acknowledge{Attestation: a, Reason: ReasonReplyAck}}
		if card := replyCard(st, pc.current(), a, now); card != nil {
			acts = append(acts, *card)
		}
		return append(acts, text)
	}
	att := Attestation{
		UserID: user, Channel: ChannelReply,
		CreateTime: e.CreateTime, ReceivedAt: st.ReceivedAt, DedupKey: dedupKey(st, e),
	}
	if a, ok := ownAttestation(pc.Attestations, att); ok {
		// This reply acknowledged one in an earlier run (which is no
		// longer open): the same again, not "nothing open".
		return ack(a)
	}
	switch len(open) {
	case 0:
		text.Template, text.Reason = "nothing_open", ReasonNothingOpen
		return []Action{text}
	case 1:
		o := open[0]
		att.NoticeID, att.Version, att.Round = o.NoticeID, o.Version, o.Round
		att.ContentHash = st.Cards[Notice{ID: o.NoticeID, Version: o.Version}.Key()].ContentHash
		return ack(att)
	default:
		text.Template, text.Reason = "ack_choose", ReasonAmbiguousReply
		text.Data = map[string]any{"Items": openItems(st, open)}
		return []Action{text}
	}
}

// replyCard is the update of the card of the version a acknowledges by
// reply: its button greyed out, saying when, as after a click; nil when
// the card's send gave no response code (or none is known).
func replyCard(st State, p *Person, a Attestation, now time.Time) *UpdateCard {
	card := st.Cards[Notice{ID: a.NoticeID, Version: a.Version}.Key()]
	if card.ResponseCode == "" {
		return nil
	}
	n, ok := latestNotice(st.Notices, a.NoticeID)
	if !ok {
		n = Notice{ID: a.NoticeID, Version: a.Version}
	}
	return &UpdateCard{UserID: a.UserID, ResponseCode: card.ResponseCode, Notice: n,
		Text: acknowledgedText(cardLang(n, p, st.Settings), now, st.Settings.location()), Reason: ReasonReplyAck}
}

// decideEnter lists a member's open obligations when they enter the app,
// at most once a day.
func decideEnter(e *wecom.EnterAgent, st State, now time.Time) []Action {
	user := e.FromUserName
	if user == "" {
		return nil
	}
	pc := st.People[user]
	open := openObligations(pc.Obligations)
	if len(open) == 0 {
		return nil
	}
	day := formatDay(now, st.Settings)
	return []Action{SendText{
		Key:      "open-list:" + user + ":" + day,
		Template: "open_list",
		Lang:     personLang(pc.current(), st.Settings),
		Data:     map[string]any{"Items": openItems(st, open)},
		UserIDs:  []string{user},
		Reason:   ReasonOpenReminder,
	}}
}
