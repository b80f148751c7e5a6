package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/templates"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// ---- the server's admin API ----

// apiError is an answer of the admin API other than 2xx.
type apiError struct {
	Status  int
	Message string
	Body    string // the whole answer, at most maxAPIResponse
}

func (e *apiError) Error() string {
	return fmt.Sprintf("the server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// maxAPIResponse bounds how much of an admin API answer the page reads.
const maxAPIResponse = 8 << 20

// api calls the server's admin API with the admin token: in, if not nil,
// is sent as JSON; a 2xx answer is decoded into out. Any other answer is
// an *apiError carrying the server's "error" text.
func (p *Page) api(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sandbox: %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.o.AppURL+path, body)
	if err != nil {
		return fmt.Errorf("sandbox: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.o.AdminToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return fmt.Errorf("sandbox: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &apiError{Status: resp.StatusCode, Message: truncate(msg, 2048), Body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("sandbox: %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// ---- send a notice ----

// option is an entry of a select.
type option struct {
	Value    string
	Label    string
	Selected bool
}

// sendData is the send form.
type sendData struct {
	Templates []templates.Template
	Template  string
	Kind      templates.Kind
	Langs     []string
	Lang      string
	Key       string
	Fields    []Field
	Mode      string // "dept", "all" or "people"
	Depts     []option
	People    []option
	Users     string // userids typed in
	Error     string
}

// sendForm shows the form for one template with its demo values.
func (p *Page) sendForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := sendData{Template: q.Get("template"), Lang: q.Get("lang"), Mode: "dept"}
	if !p.sendable(d.Template) {
		d.Template = "ack_card"
	}
	if !slices.Contains(templates.Languages, d.Lang) {
		d.Lang = p.o.Lang
	}
	d.Key = p.defaultKey(d.Template)
	d.Fields = DemoData(d.Template, d.Lang)
	dept := "4" // a sales team: a good first audience
	if _, ok := p.o.Org.Department(4); !ok {
		dept = "1"
	}
	p.renderSend(w, r, http.StatusOK, d, dept, nil)
}

// renderSend fills the form's choices and renders it.
func (p *Page) renderSend(w http.ResponseWriter, r *http.Request, status int, d sendData, dept string, picked []string) {
	d.Templates, d.Langs = Sendable(), templates.Languages
	for _, t := range d.Templates {
		if t.Name == d.Template {
			d.Kind = t.Kind
		}
	}
	for _, dep := range p.o.Org.Departments {
		v := strconv.FormatInt(dep.ID, 10)
		d.Depts = append(d.Depts, option{Value: v, Selected: v == dept,
			Label: fmt.Sprintf("%s%s (%d people)", strings.Repeat("　", p.o.Org.Depth(dep.ID)), dep.Name, len(p.o.Org.Members(dep.ID)))})
	}
	for _, u := range p.o.Org.People {
		d.People = append(d.People, option{Value: u.UserID, Label: u.Name + " · " + u.UserID, Selected: slices.Contains(picked, u.UserID)})
	}
	p.render(w, r, status, "send", view{Title: "Send a notice", Nav: "send", Data: d})
}

func (p *Page) sendable(name string) bool {
	return slices.ContainsFunc(Sendable(), func(t templates.Template) bool { return t.Name == name })
}

// defaultKey is a fresh notice key: a notice key is what makes a notice
// be delivered once, so each send from the form gets its own.
func (p *Page) defaultKey(tmpl string) string {
	return "sandbox-" + tmpl + "-" + p.o.Now().Format("20060102-150405")
}

// sendRequest is the body of POST /api/v1/sends.
type sendRequest struct {
	Key      string         `json:"key"`
	Template string         `json:"template"`
	Lang     string         `json:"lang"`
	Data     map[string]any `json:"data"`
	To       []string       `json:"to"`
}

// send submits a notice through the server's POST /api/v1/sends.
func (p *Page) send(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	f := r.PostForm
	d := sendData{Template: f.Get("template"), Lang: f.Get("lang"), Mode: f.Get("mode"), Users: f.Get("users")}
	d.Key, _ = formValue(r, "key", maxKeyBytes)
	dept := f.Get("dept")
	picked := f["user"]
	fail := func(format string, args ...any) {
		d.Error = fmt.Sprintf(format, args...)
		p.renderSend(w, r, http.StatusBadRequest, d, dept, picked)
	}
	if !p.sendable(d.Template) {
		d.Template = "ack_card"
		d.Fields = DemoData(d.Template, p.o.Lang)
		fail("Choose one of the templates.")
		return
	}
	data := map[string]any{}
	for _, fd := range DemoData(d.Template, d.Lang) {
		v := f.Get("data." + fd.Name)
		d.Fields = append(d.Fields, Field{Name: fd.Name, Value: v})
		data[fd.Name] = v
	}
	if !slices.Contains(templates.Languages, d.Lang) {
		fail("Choose a language: %s.", strings.Join(templates.Languages, " or "))
		return
	}
	if len(d.Key) > maxKeyBytes {
		fail("The notice key is longer than %d characters.", maxKeyBytes)
		return
	}
	for _, fd := range d.Fields {
		if len(fd.Value) > maxValueBytes {
			fail("%s is longer than %d bytes, more than WeCom takes.", fd.Name, maxValueBytes)
			return
		}
	}
	to, audience, err := p.recipients(d.Mode, dept, picked, d.Users)
	if err != nil {
		fail("%v", err)
		return
	}
	var out struct {
		Recipients int  `json:"recipients"`
		Skipped    int  `json:"skipped"`
		Duplicate  bool `json:"duplicate"`
	}
	err = p.api(r.Context(), http.MethodPost, "/api/v1/sends", sendRequest{Key: d.Key, Template: d.Template, Lang: d.Lang, Data: data, To: to}, &out)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		fail("The server refused the notice: %s", ae.Message)
		return
	case err != nil:
		p.log.Warn("sandbox: submit notice", "key", d.Key, "err", err)
		fail("The notice could not be submitted: %v", err)
		return
	}
	p.mu.Lock()
	p.notices = append(p.notices, noticeRecord{Key: d.Key, Template: d.Template, Lang: d.Lang, To: to, Audience: audience,
		Recipients: out.Recipients, Skipped: out.Skipped, At: p.o.Now()})
	if len(p.notices) > maxNotices {
		p.notices = slices.Delete(p.notices, 0, len(p.notices)-maxNotices)
	}
	p.mu.Unlock()
	text := fmt.Sprintf("POST /api/v1/sends → 202 Accepted: notice %s (%s, %s) is recorded for %d recipient(s) in %s", d.Key, d.Template, d.Lang, out.Recipients, audience)
	if out.Skipped > 0 {
		text += fmt.Sprintf("; %d skipped (they already got this exact text under this key)", out.Skipped)
	}
	if out.Duplicate {
		text += "; the same notice was submitted moments ago, nothing new"
	}
	p.redirect(w, r, Prefix+"sends?key="+url.QueryEscape(d.Key), flash{OK: true, Text: text + ". The workers are sending it now."})
}

// recipients resolves the audience chosen in the form to UserIDs, and
// describes it.
func (p *Page) recipients(mode, dept string, picked []string, typed string) ([]string, string, error) {
	switch mode {
	case "all":
		var all []string
		for _, u := range p.o.Org.People {
			all = append(all, u.UserID)
		}
		return all, "everyone", nil
	case "dept":
		id, err := strconv.ParseInt(dept, 10, 64)
		if err != nil {
			return nil, "", errors.New("choose a department")
		}
		if _, ok := p.o.Org.Department(id); !ok {
			return nil, "", errors.New("choose a department")
		}
		to := p.o.Org.Members(id)
		if len(to) == 0 {
			return nil, "", fmt.Errorf("%s has nobody in it", p.o.Org.Path(id))
		}
		return to, p.o.Org.Path(id), nil
	case "people":
		ids := slices.Clone(picked)
		ids = append(ids, strings.FieldsFunc(typed, func(r rune) bool {
			return r == ',' || r == '|' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '，'
		})...)
		seen := map[string]bool{}
		var to []string
		for _, id := range ids {
			id = strings.TrimSpace(id)
			if id == "" || seen[strings.ToLower(id)] {
				continue
			}
			if len(id) > maxIDBytes {
				return nil, "", fmt.Errorf("%q is not a userid (at most %d bytes)", truncate(id, maxIDBytes), maxIDBytes)
			}
			seen[strings.ToLower(id)] = true
			to = append(to, id)
		}
		switch {
		case len(to) == 0:
			return nil, "", errors.New("pick at least one person, or type userids")
		case len(to) > maxRecipients:
			return nil, "", fmt.Errorf("at most %d recipients from this form", maxRecipients)
		}
		return to, fmt.Sprintf("%d picked people", len(to)), nil
	}
	return nil, "", errors.New("choose the recipients: a department, everyone, or people")
}

// ---- notices and their results ----

// resultRow is one recipient's result.
type resultRow struct {
	UserID string
	Name   string
	Status string
	MsgID  string
	Error  string
	At     time.Time
}

// sendsData is the Notices page.
type sendsData struct {
	Key     string
	Notice  *noticeRecord
	Counts  []option // status → count
	Rows    []resultRow
	Pending []personView
	Notices []noticeRecord
	Error   string
}

// sends shows a notice's results (GET /api/v1/sends/:key), and the
// notices sent from the page.
func (p *Page) sends(w http.ResponseWriter, r *http.Request) {
	d := sendsData{Key: strings.TrimSpace(r.URL.Query().Get("key"))}
	p.mu.Lock()
	for i := len(p.notices) - 1; i >= 0; i-- {
		n := p.notices[i]
		d.Notices = append(d.Notices, n)
		if n.Key == d.Key && d.Notice == nil {
			d.Notice = &n
		}
	}
	p.mu.Unlock()
	refresh := false
	switch {
	case d.Key == "":
	case len(d.Key) > maxKeyBytes:
		d.Error = "That is not a notice key."
	default:
		var res struct {
			Counts  map[string]int `json:"counts"`
			Results []struct {
				UserID string    `json:"user_id"`
				Status string    `json:"status"`
				MsgID  string    `json:"msg_id"`
				Error  string    `json:"error"`
				At     time.Time `json:"at"`
			} `json:"results"`
		}
		if err := p.api(r.Context(), http.MethodGet, "/api/v1/sends/"+url.PathEscape(d.Key), nil, &res); err != nil {
			d.Error = err.Error()
			break
		}
		for _, s := range slices.Sorted(maps.Keys(res.Counts)) {
			d.Counts = append(d.Counts, option{Value: s, Label: strconv.Itoa(res.Counts[s])})
		}
		done := map[string]bool{}
		for _, rr := range res.Results {
			d.Rows = append(d.Rows, resultRow{UserID: rr.UserID, Name: p.name(rr.UserID), Status: rr.Status, MsgID: rr.MsgID, Error: rr.Error, At: rr.At})
			done[strings.ToLower(rr.UserID)] = true
		}
		if d.Notice != nil {
			for _, u := range d.Notice.To {
				if !done[strings.ToLower(u)] {
					d.Pending = append(d.Pending, personView{UserID: u, Name: p.name(u)})
				}
			}
		}
		refresh = len(d.Pending) > 0 || (d.Notice == nil && len(d.Rows) == 0)
	}
	p.render(w, r, http.StatusOK, "sends", view{Title: "Notices", Nav: "sends", Refresh: refresh, Data: d})
}

// ---- the event log ----

// eventRow is one entry of the event log.
type eventRow struct {
	Kind       string
	UserID     string
	Name       string
	Receiver   string
	DedupKey   string
	CreateTime int64
	Received   time.Time
	Fields     []option
}

// eventsData is the event log page.
type eventsData struct {
	Kind   string
	Kinds  []string
	Events []eventRow
	Error  string
}

// logFixed are the members every log entry has; the rest are the event's
// identifying fields.
var logFixed = []string{"kind", "dedup_key", "create_time", "received_at", "receiver", "user_id"}

// events shows the event log (GET /api/v1/events).
func (p *Page) events(w http.ResponseWriter, r *http.Request) {
	d := eventsData{Kind: strings.TrimSpace(r.URL.Query().Get("kind")), Kinds: wecomtest.Kinds()}
	if len(d.Kind) > maxKindBytes {
		d.Kind = ""
	}
	q := url.Values{"limit": {strconv.Itoa(eventsPageSize)}}
	if d.Kind != "" {
		q.Set("kind", d.Kind)
	}
	var res struct {
		Events []map[string]any `json:"events"`
	}
	if err := p.api(r.Context(), http.MethodGet, "/api/v1/events?"+q.Encode(), nil, &res); err != nil {
		d.Error = err.Error()
	}
	for _, e := range res.Events {
		str := func(k string) string {
			if v, ok := e[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
			return ""
		}
		row := eventRow{Kind: str("kind"), UserID: str("user_id"), Receiver: str("receiver"), DedupKey: str("dedup_key")}
		if row.UserID != "" {
			row.Name = p.name(row.UserID)
		}
		if f, ok := e["create_time"].(float64); ok {
			row.CreateTime = int64(f)
		}
		if t, err := time.Parse(time.RFC3339Nano, str("received_at")); err == nil {
			row.Received = t
		}
		for _, k := range slices.Sorted(maps.Keys(e)) {
			if !slices.Contains(logFixed, k) {
				row.Fields = append(row.Fields, option{Value: k, Label: str(k)})
			}
		}
		d.Events = append(d.Events, row)
	}
	p.render(w, r, http.StatusOK, "events", view{Title: "Event log", Nav: "events", Refresh: true, Data: d})
}

// ---- simulate an event ----

// simulateData is the simulate form.
type simulateData struct {
	Kinds     []option
	People    []option
	Customers []option
	Content   string
	Error     string
}

func (p *Page) simulateForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.renderSimulate(w, r, http.StatusOK, q.Get("kind"), q.Get("user"), q.Get("external"), "", "")
}

func (p *Page) renderSimulate(w http.ResponseWriter, r *http.Request, status int, kind, user, external, content, errText string) {
	if kind == "" {
		kind = "change_external_contact.add_external_contact"
	}
	if user == "" && len(p.o.Org.People) > 0 {
		user = p.o.Org.People[min(5, len(p.o.Org.People)-1)].UserID
	}
	d := simulateData{Content: content, Error: errText}
	for _, k := range wecomtest.Kinds() {
		d.Kinds = append(d.Kinds, option{Value: k, Label: k, Selected: k == kind})
	}
	for _, u := range p.o.Org.People {
		d.People = append(d.People, option{Value: u.UserID, Label: u.Name + " · " + u.UserID, Selected: strings.EqualFold(u.UserID, user)})
	}
	d.Customers = append(d.Customers, option{Value: "", Label: "(a customer the person follows)", Selected: external == ""})
	for _, c := range p.o.Org.Customers {
		label := c.Contact.Name
		if c.Contact.CorpName != "" {
			label += " · " + c.Contact.CorpName
		}
		d.Customers = append(d.Customers, option{Value: c.Contact.ExternalUserID, Label: label, Selected: c.Contact.ExternalUserID == external})
	}
	p.render(w, r, status, "simulate", view{Title: "Simulate an event", Nav: "simulate", Data: d})
}

// simulate builds the event chosen in the form and POSTs it, signed and
// encrypted, to the server's callback URL.
func (p *Page) simulate(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	kind, okKind := formValue(r, "kind", maxKindBytes)
	user, okUser := formValue(r, "user", maxIDBytes)
	external, okExt := formValue(r, "external", maxExtIDBytes)
	content, okContent := formValue(r, "content", maxValueBytes)
	fail := func(text string) { p.renderSimulate(w, r, http.StatusBadRequest, kind, user, external, content, text) }
	switch {
	case !okKind || !slices.Contains(wecomtest.Kinds(), kind):
		kind = ""
		fail("Choose an event kind.")
		return
	case !okExt || !okContent:
		fail(fmt.Sprintf("An input is too long (external userid ≤ %d, content ≤ %d bytes).", maxExtIDBytes, maxValueBytes))
		return
	}
	u, ok := p.o.Org.Person(user)
	if !okUser || !ok {
		fail("Choose a person of the demo organisation.")
		return
	}
	spec := wecomtest.EventSpec{Kind: kind, CorpID: p.o.CorpID, AgentID: strconv.FormatInt(p.o.AgentID, 10),
		UserID: u.UserID, Content: content}
	if strings.HasPrefix(kind, "change_external_contact.") || strings.HasPrefix(kind, "change_external_chat.") {
		spec.ExternalUserID = p.customerOf(u.UserID, external)
	}
	switch kind {
	case "change_external_contact.add_external_contact", "change_external_contact.add_half_external_contact":
		// A real code: the server may answer it with send_welcome_msg
		// within 20 s, and the fake will take it.
		spec.WelcomeCode = p.o.Fake.IssueWelcomeCode(u.UserID, spec.ExternalUserID)
	case "change_contact.create_user", "change_contact.update_user":
		spec.Name, spec.Position = u.Name, u.Position
		var ds []string
		for _, id := range u.Department {
			ds = append(ds, strconv.FormatInt(id, 10))
		}
		spec.Department = strings.Join(ds, ",")
		spec.DirectLeader = strings.Join(u.DirectLeader, ",")
	}
	status, body, err := p.post(r.Context(), spec)
	if err != nil {
		p.log.Warn("sandbox: post simulated event", "kind", kind, "err", err)
		fail("The event could not be delivered to the server: " + err.Error())
		return
	}
	f := flash{OK: status == http.StatusOK, Text: fmt.Sprintf("%s for %s (%s)", kind, u.Name, u.UserID)}
	if spec.ExternalUserID != "" {
		f.Text += " and customer " + p.customerName(spec.ExternalUserID)
	}
	f.Text += fmt.Sprintf(": signed, encrypted and POSTed to %s as WeCom would → %d %s.", p.o.CallbackPath, status, http.StatusText(status))
	if spec.WelcomeCode != "" {
		f.Text += " It carries a real WelcomeCode, valid for 20 s."
	}
	if !f.OK {
		f.Detail = strings.TrimSpace(string(body))
	}
	p.redirect(w, r, Prefix+"events", f)
}

// customerOf is external if given, else a customer user follows, else
// the first customer.
func (p *Page) customerOf(user, external string) string {
	if external != "" {
		return external
	}
	for _, c := range p.o.Org.Customers {
		if slices.ContainsFunc(c.Followers, func(f wecomtest.FollowUser) bool { return strings.EqualFold(f.UserID, user) }) {
			return c.Contact.ExternalUserID
		}
	}
	if len(p.o.Org.Customers) > 0 {
		return p.o.Org.Customers[0].Contact.ExternalUserID
	}
	return ""
}

func (p *Page) customerName(id string) string {
	if c, ok := p.o.Org.Customer(id); ok {
		return c.Contact.Name + " (" + id + ")"
	}
	return id
}
