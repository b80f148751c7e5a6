package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

//go:embed web/*.html
var webFiles embed.FS

// Prefix is the path under which the page is served; everything else
// belongs to the server.
const Prefix = "/sandbox/"

// Input limits. The page is for one person on loopback, but it still
// refuses oversized input rather than passing it on.
const (
	maxFormBytes   = 64 << 10 // a whole form
	maxValueBytes  = 2048     // one template value (WeCom's content limit)
	maxKeyBytes    = 200      // a notice key (notify's limit)
	maxIDBytes     = 64       // a userid (WeCom's limit)
	maxExtIDBytes  = 128      // an external userid
	maxButtonKey   = 1024     // a card button's key (WeCom's limit)
	maxMsgIDBytes  = 256      // a msgid
	maxKindBytes   = 100      // an event kind filter
	maxRecipients  = 1000     // one notice from the page
	maxFlashes     = 64       // flash messages kept for redirects
	maxNotices     = 50       // notices remembered for the Notices page
	eventsPageSize = 100      // events the event log page shows
)

// Options configures a Page.
type Options struct {
	// Fake is the fake WeCom the server sends to; Org is what Seed loaded
	// into it.
	Fake *wecomtest.Server
	Org  Org
	// AppURL is the base URL of the running wecomply server, e.g.
	// "http://127.0.0.1:8080".
	AppURL string
	// CallbackPath is the path of the server's callback receiver, and
	// Cipher its Token, EncodingAESKey and receive id.
	CallbackPath string
	Cipher       *wecom.Cipher
	// AdminToken is a bearer token of the server's admin API.
	AdminToken string
	// CorpID and AgentID are the corp's and the app's, as the fake knows
	// them.
	CorpID  string
	AgentID int64
	// Lang is the default language of the send form: zh-CN or en.
	Lang string
	// AckWords are the server's policy.ack_words, offered as one-click
	// replies in each inbox; nil: "确认" and "ack", the default.
	AckWords []string
	// HTTPClient calls the server (admin API and callbacks); nil: a
	// client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the page's clock (default notice keys, the events it sends);
	// nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Page is the sandbox's web page: an http.Handler for the paths under
// Prefix. It is safe for concurrent use.
type Page struct {
	o       Options
	client  *http.Client
	log     *slog.Logger
	pages   map[string]*template.Template
	handler http.Handler

	mu       sync.Mutex
	seen     map[string]int // lower-cased userid (or seenKey) → inbox messages seen
	flashes  map[string]*flash
	flashIDs []string // oldest first
	notices  []noticeRecord
	answers  map[pair]answer       // customers' archiving answers set from the page
	chats    map[string][]chatLine // lower-cased userid → what they sent in the app chat
}

// flash is the outcome of a POST, shown once on the page it redirects to.
type flash struct {
	OK     bool
	Text   string
	Detail string
}

// noticeRecord is a notice sent from the page, for the Notices page.
type noticeRecord struct {
	Key        string
	Template   string
	Lang       string
	To         []string
	Audience   string
	Recipients int
	Skipped    int
	At         time.Time
}

// New returns the page for o.
func New(o Options) (*Page, error) {
	switch {
	case o.Fake == nil:
		return nil, errors.New("sandbox: Options.Fake is required")
	case o.Cipher == nil:
		return nil, errors.New("sandbox: Options.Cipher is required")
	case o.AppURL == "" || o.CallbackPath == "" || o.AdminToken == "":
		return nil, errors.New("sandbox: Options.AppURL, CallbackPath and AdminToken are required")
	}
	if !slices.Contains(templates.Languages, o.Lang) {
		o.Lang = templates.Languages[0]
	}
	o.AppURL = strings.TrimRight(o.AppURL, "/")
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AckWords == nil {
		o.AckWords = []string{"确认", "ack"}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Page{o: o, client: o.HTTPClient, log: o.Logger, seen: map[string]int{}, flashes: map[string]*flash{},
		answers: map[pair]answer{}, chats: map[string][]chatLine{}}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	if err := p.parseTemplates(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"{$}", p.home)
	mux.HandleFunc("GET "+Prefix+"inbox", p.inbox)
	mux.HandleFunc("POST "+Prefix+"click", p.click)
	mux.HandleFunc("GET "+Prefix+"send", p.sendForm)
	mux.HandleFunc("POST "+Prefix+"send", p.send)
	mux.HandleFunc("GET "+Prefix+"simulate", p.simulateForm)
	mux.HandleFunc("POST "+Prefix+"simulate", p.simulate)
	mux.HandleFunc("GET "+Prefix+"events", p.events)
	mux.HandleFunc("GET "+Prefix+"sends", p.sends)
	mux.HandleFunc("POST "+Prefix+"reply", p.reply)
	mux.HandleFunc("POST "+Prefix+"enter", p.enter)
	mux.HandleFunc("GET "+Prefix+"customers", p.customers)
	mux.HandleFunc("GET "+Prefix+"customer", p.customer)
	mux.HandleFunc("POST "+Prefix+"consent", p.consent)
	mux.HandleFunc("POST "+Prefix+"add", p.addContact)
	mux.HandleFunc("GET "+Prefix+"compliance", p.compliance)
	mux.HandleFunc("GET "+Prefix+"attestations.csv", p.attestationsCSV)
	p.handler = ipOrLocalhostOnly(http.NewCrossOriginProtection().Handler(secureHeaders(mux)))
	return p, nil
}

// ServeHTTP serves the page.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

func (p *Page) parseTemplates() error {
	funcs := template.FuncMap{
		"clock": func(t time.Time) string { return t.Local().Format("15:04:05") },
		"stamp": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Local().Format("2006-01-02 15:04:05")
		},
		"indent": func(depth, extra int) int { return 14 + (depth+extra)*12 },
		// short cuts a hash or id for a table; the title shows it whole.
		"short": func(s string) string { return truncate(s, 12) },
		"unix": func(sec int64) string {
			if sec == 0 {
				return ""
			}
			return time.Unix(sec, 0).Local().Format("2006-01-02 15:04:05")
		},
		"personName": p.name,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(webFiles, "web/layout.html")
	if err != nil {
		return fmt.Errorf("sandbox: parse layout: %w", err)
	}
	p.pages = map[string]*template.Template{}
	for _, name := range []string{"home", "inbox", "send", "simulate", "events", "sends", "customers", "customer", "compliance"} {
		t, err := template.Must(layout.Clone()).ParseFS(webFiles, "web/"+name+".html")
		if err != nil {
			return fmt.Errorf("sandbox: parse %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return nil
}

// ipOrLocalhostOnly refuses requests whose Host is a name other than
// localhost: the page has no login, so a web site must not reach it by
// pointing a DNS name of its own at 127.0.0.1 (DNS rebinding). IP
// addresses are accepted, so -listen on a LAN address still works.
func ipOrLocalhostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if net.ParseIP(host) == nil && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			http.Error(w, "the sandbox page answers only to an IP address or localhost", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// secureHeaders keeps the page to itself: no scripts at all, forms that
// post only to the page, no framing.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// view is what every page's template gets.
type view struct {
	Title   string
	Nav     string
	Corp    string
	Refresh bool // reload every few seconds (inboxes, results, the event log)
	Flash   *flash
	Depts   []deptView
	Current string // the userid whose inbox is shown
	Data    any
}

// deptView is a department in the sidebar.
type deptView struct {
	ID     int64
	Name   string
	Depth  int
	People []personView
}

// personView is a person in the sidebar and on their inbox.
type personView struct {
	UserID   string
	Name     string
	Position string
	Officer  bool
	Unread   int
	Total    int
}

// render writes page name with data, or a 500 if the template fails.
func (p *Page) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Corp = p.o.Org.CorpName
	if v.Depts == nil {
		v.Depts = p.directory()
	}
	if v.Flash == nil {
		v.Flash = p.takeFlash(r.URL.Query().Get("note"))
	}
	var b bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&b, "layout", v); err != nil {
		p.log.Error("sandbox: render page", "page", name, "err", err)
		http.Error(w, "sandbox: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes()) //nolint:errcheck // the browser went away.
}

// directory lists the people by department with their unread counts.
func (p *Page) directory() []deptView {
	p.mu.Lock()
	seen := make(map[string]int, len(p.seen))
	for k, v := range p.seen {
		seen[k] = v
	}
	p.mu.Unlock()
	var out []deptView
	for _, d := range p.o.Org.Departments {
		dv := deptView{ID: d.ID, Name: d.Name, Depth: p.o.Org.Depth(d.ID)}
		for _, u := range p.o.Org.People {
			if len(u.Department) == 0 || u.Department[0] != d.ID {
				continue
			}
			total := len(p.o.Fake.Inbox(u.UserID))
			dv.People = append(dv.People, personView{
				UserID: u.UserID, Name: u.Name, Position: u.Position,
				Officer: slices.Contains(p.o.Org.Officers, u.UserID),
				Unread:  max(total-seen[strings.ToLower(u.UserID)], 0), Total: total,
			})
		}
		out = append(out, dv)
	}
	return out
}

// addFlash keeps f for the next page and returns its id.
func (p *Page) addFlash(f flash) string {
	id := rand.Text()[:16]
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flashes[id] = &f
	p.flashIDs = append(p.flashIDs, id)
	if len(p.flashIDs) > maxFlashes {
		delete(p.flashes, p.flashIDs[0])
		p.flashIDs = p.flashIDs[1:]
	}
	return id
}

// takeFlash returns the flash with id, once.
func (p *Page) takeFlash(id string) *flash {
	if id == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.flashes[id]
	delete(p.flashes, id)
	return f
}

// redirect answers a POST with 303 to path, carrying f.
func (p *Page) redirect(w http.ResponseWriter, r *http.Request, path string, f flash) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"note="+p.addFlash(f), http.StatusSeeOther)
}

// parseForm reads a POSTed form of at most maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "sandbox: bad form: "+err.Error(), status)
		return false
	}
	return true
}

// formValue returns a trimmed form value, and whether it fits in n bytes.
func formValue(r *http.Request, name string, n int) (string, bool) {
	v := strings.TrimSpace(r.PostForm.Get(name))
	return v, len(v) <= n
}

// ---- home ----

func (p *Page) home(w http.ResponseWriter, r *http.Request) {
	type customerRow struct {
		Customer
		FollowerNames []string
	}
	type homeData struct {
		CallbackURL string
		EventsURL   string
		FakeURL     string
		CorpID      string
		AgentID     int64
		Org         Org
		Customers   []customerRow
		Officers    []personView
		Example     personView
		ExampleDept string
		// The guide: the notices published (GET /api/v1/notices), a
		// second member of the audience to reply instead of clicking, and
		// a customer of Example's for the customer loop.
		Notices    []noticeView
		NoticesErr string
		Replier    personView
		Customer   *Customer
	}
	d := homeData{
		CallbackURL: p.o.AppURL + p.o.CallbackPath, EventsURL: p.o.AppURL + "/api/v1/events?limit=10",
		FakeURL: p.o.Fake.URL + "/cgi-bin/", CorpID: p.o.CorpID, AgentID: p.o.AgentID, Org: p.o.Org,
	}
	var err error
	if d.Notices, err = p.policyNotices(r.Context()); err != nil {
		d.NoticesErr = err.Error()
	}
	for _, c := range p.o.Org.Customers {
		row := customerRow{Customer: c}
		for _, f := range c.Followers {
			row.FollowerNames = append(row.FollowerNames, p.name(f.UserID))
		}
		d.Customers = append(d.Customers, row)
	}
	for _, id := range p.o.Org.Officers {
		d.Officers = append(d.Officers, personView{UserID: id, Name: p.name(id)})
	}
	if ms := p.o.Org.Members(4); len(ms) > 2 {
		u, _ := p.o.Org.Person(ms[1])
		d.Example = personView{UserID: u.UserID, Name: u.Name}
		d.ExampleDept = p.o.Org.Path(4)
		u, _ = p.o.Org.Person(ms[2])
		d.Replier = personView{UserID: u.UserID, Name: u.Name}
		for _, c := range p.o.Org.Customers {
			if slices.ContainsFunc(c.Followers, func(f wecomtest.FollowUser) bool { return strings.EqualFold(f.UserID, d.Example.UserID) }) {
				d.Customer = &c
				break
			}
		}
	}
	p.render(w, r, http.StatusOK, "home", view{Title: "Welcome", Nav: "home", Data: d})
}

// name is a person's display name, or the userid itself.
func (p *Page) name(userID string) string {
	if u, ok := p.o.Org.Person(userID); ok {
		return u.Name
	}
	return userID
}

// ---- inbox ----

func (p *Page) inbox(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("user")
	u, ok := p.o.Org.Person(id)
	if !ok {
		p.render(w, r, http.StatusNotFound, "home", view{Title: "No such person",
			Flash: &flash{Text: fmt.Sprintf("There is no person %q in the demo organisation.", truncate(id, maxIDBytes))}})
		return
	}
	msgs := p.o.Fake.Inbox(u.UserID)
	key := strings.ToLower(u.UserID)
	p.mu.Lock()
	seen := p.seen[key]
	p.seen[key] = len(msgs)
	p.mu.Unlock()

	type inboxData struct {
		Person    personView
		Dept      string
		Leaders   []string
		Messages  []messageView
		Customers []wecomtest.ExternalContact
		Permit    bool
		Paused    bool
		AckWords  []string
		// Record is what the server recorded of the person
		// (GET /api/v1/people/:userid).
		Record    apiPerson
		RecordErr string
	}
	d := inboxData{
		Person: personView{UserID: u.UserID, Name: u.Name, Position: u.Position, Officer: slices.Contains(p.o.Org.Officers, u.UserID), Total: len(msgs)},
		Permit: p.inPermit(u.UserID), Paused: paused(r), AckWords: p.o.AckWords,
	}
	var err error
	if d.Record, err = p.person(r.Context(), u.UserID); err != nil {
		d.RecordErr = err.Error()
	}
	if len(u.Department) > 0 {
		d.Dept = p.o.Org.Path(u.Department[0])
	}
	for _, l := range u.DirectLeader {
		d.Leaders = append(d.Leaders, p.name(l)+" ("+l+")")
	}
	for _, c := range p.o.Org.Customers {
		if slices.ContainsFunc(c.Followers, func(f wecomtest.FollowUser) bool { return strings.EqualFold(f.UserID, u.UserID) }) {
			d.Customers = append(d.Customers, c.Contact)
		}
	}
	for i, m := range msgs {
		d.Messages = append(d.Messages, newMessageView(m, i >= seen))
	}
	for _, l := range p.chatOf(u.UserID) {
		d.Messages = append(d.Messages, chatView(l))
	}
	// The conversation, newest first; a reply comes after what it answers.
	slices.SortStableFunc(d.Messages, func(a, b messageView) int { return a.At.Compare(b.At) })
	slices.Reverse(d.Messages)
	v := view{Title: u.Name + " · inbox", Nav: "inbox", Refresh: !d.Paused, Current: u.UserID, Data: d}
	v.Depts = p.directory()
	p.render(w, r, http.StatusOK, "inbox", v)
}

// ---- click ----

// click is a person clicking a card's button: the fake records the click
// and issues the event, which the page signs, encrypts and POSTs to the
// server's callback URL as WeCom would.
func (p *Page) click(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	user, ok1 := formValue(r, "user", maxIDBytes)
	msgID, ok2 := formValue(r, "msgid", maxMsgIDBytes)
	key, ok3 := formValue(r, "key", maxButtonKey)
	if !ok1 || !ok2 || !ok3 || user == "" || msgID == "" || key == "" {
		http.Error(w, "sandbox: click needs user, msgid and key, each within its limit", http.StatusBadRequest)
		return
	}
	back := Prefix + "inbox?user=" + url.QueryEscape(user)
	ev, err := p.o.Fake.Click(user, msgID, key)
	if err != nil {
		p.redirect(w, r, back, flash{Text: "The fake WeCom refused the click.", Detail: err.Error()})
		return
	}
	status, body, err := p.post(r.Context(), ev.Spec())
	if err != nil {
		p.log.Warn("sandbox: post click callback", "user", user, "err", err)
		p.redirect(w, r, back, flash{Text: "The click could not be delivered to the server.", Detail: err.Error()})
		return
	}
	f := flash{OK: status == http.StatusOK, Text: fmt.Sprintf(
		"%s (%s) clicked 「%s」. WeCom's %s callback (task_id %s, a fresh response_code) was signed, encrypted and POSTed to %s → %d %s.",
		p.name(user), user, p.buttonText(user, msgID, key), ev.Event, ev.TaskID, p.o.CallbackPath, status, http.StatusText(status))}
	if f.OK {
		f.Text += " The server stored it: see the event log."
	} else {
		f.Detail = strings.TrimSpace(string(body))
	}
	p.redirect(w, r, back, f)
}

// buttonText is the text of the button with key on card msgID in
// user's inbox, or the key itself.
func (p *Page) buttonText(user, msgID, key string) string {
	for _, m := range p.o.Fake.Inbox(user) {
		if m.MsgID != msgID || m.MsgType != wecom.MsgTemplateCard {
			continue
		}
		if c, err := newCardView(m); err == nil {
			for _, b := range append(c.Buttons, c.Menu...) {
				if b.Key == key {
					return b.Text
				}
			}
		}
	}
	return key
}

// post sends the event spec describes to the server's callback URL,
// signed and encrypted as WeCom does, on the page's clock.
func (p *Page) post(ctx context.Context, spec wecomtest.EventSpec) (int, []byte, error) {
	if spec.CreateTime == 0 {
		spec.CreateTime = p.o.Now().Unix()
	}
	plain, err := wecomtest.BuildEvent(spec)
	if err != nil {
		return 0, nil, fmt.Errorf("sandbox: build %s: %w", spec.Kind, err)
	}
	s := &wecomtest.Sender{URL: p.o.AppURL + p.o.CallbackPath, Cipher: p.o.Cipher, AgentID: spec.AgentID, Client: p.client, Now: p.o.Now}
	status, body, err := s.Post(ctx, plain)
	if err != nil {
		return 0, nil, fmt.Errorf("sandbox: post %s: %w", spec.Kind, err)
	}
	return status, body, nil
}

// truncate cuts s to at most n bytes, for echoing input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
