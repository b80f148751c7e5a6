package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// The customer side of the sandbox: each customer's inbox (the welcome
// messages the server sends with send_welcome_msg), and the customer's
// answer to chat archiving per employee, which the page sets in the fake
// WeCom (check_single_agree answers with it).

// Archiving answers, as check_single_agree spells them.
const (
	agree    = "Agree"
	disagree = "Disagree"
)

// pair is an (employee, customer) chat: a lower-cased userid and an
// external userid.
type pair struct{ user, external string }

// answer is a customer's archiving answer the page set in the fake.
type answer struct {
	Status string
	At     time.Time
}

// followerView is an employee who follows a customer, with the customer's
// answer for their chats.
type followerView struct {
	UserID string
	Name   string
	Permit bool // in the archive permit list: their chats are archived
	Answer answer
	// Recorded is the server's record of the pair (GET /api/v1/consents),
	// nil if it has none.
	Recorded *apiConsent
}

// customerView is a customer for the page.
type customerView struct {
	Contact   wecomtest.ExternalContact
	Followers []followerView
	Messages  []messageView
	Total     int
	Unread    int
}

// seenKey is the key of a customer's inbox in Page.seen (userids and
// external userids never collide, but keep them apart anyway).
func seenKey(externalUserID string) string { return "ext:" + externalUserID }

// customerView builds c's view; with messages, its inbox too, which then
// counts as seen.
func (p *Page) customerView(c Customer, messages bool) customerView {
	msgs := p.o.Fake.Inbox(c.Contact.ExternalUserID)
	v := customerView{Contact: c.Contact, Total: len(msgs)}
	key := seenKey(c.Contact.ExternalUserID)
	p.mu.Lock()
	seen := p.seen[key]
	if messages {
		p.seen[key] = len(msgs)
	}
	for _, f := range c.Followers {
		v.Followers = append(v.Followers, followerView{UserID: f.UserID, Name: p.name(f.UserID),
			Permit: p.inPermit(f.UserID), Answer: p.answers[pair{strings.ToLower(f.UserID), c.Contact.ExternalUserID}]})
	}
	p.mu.Unlock()
	v.Unread = max(len(msgs)-seen, 0)
	if messages {
		for i := len(msgs) - 1; i >= 0; i-- {
			v.Messages = append(v.Messages, newMessageView(msgs[i], i >= seen))
		}
	}
	return v
}

func (p *Page) inPermit(userID string) bool {
	return slices.ContainsFunc(p.o.Org.Permit, func(id string) bool { return strings.EqualFold(id, userID) })
}

// customers lists the customers with their answers and inboxes.
func (p *Page) customers(w http.ResponseWriter, r *http.Request) {
	var d []customerView
	for _, c := range p.o.Org.Customers {
		d = append(d, p.customerView(c, false))
	}
	p.render(w, r, http.StatusOK, "customers", view{Title: "Customers", Nav: "customers", Refresh: true, Data: d})
}

// customer shows one customer's inbox and, per employee who follows the
// customer, the answer to archiving and what the server recorded.
func (p *Page) customer(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	c, ok := p.o.Org.Customer(id)
	if !ok {
		p.render(w, r, http.StatusNotFound, "home", view{Title: "No such customer",
			Flash: &flash{Text: fmt.Sprintf("There is no customer %q in the demo organisation.", truncate(id, maxExtIDBytes))}})
		return
	}
	type customerData struct {
		customerView
		ConsentsErr string
	}
	d := customerData{customerView: p.customerView(c, true)}
	consents, err := p.consents(r.Context(), "")
	if err != nil {
		d.ConsentsErr = err.Error()
	}
	for i := range d.Followers {
		f := &d.Followers[i]
		for _, rec := range consents {
			if rec.ExternalUserID == c.Contact.ExternalUserID && strings.EqualFold(rec.UserID, f.UserID) {
				f.Recorded = &rec
			}
		}
	}
	p.render(w, r, http.StatusOK, "customer", view{Title: c.Contact.Name + " · customer", Nav: "customers", Refresh: !paused(r), Data: d})
}

// paused reports whether the page's auto-refresh is paused (?pause=1), so
// that one can type into its forms.
func paused(r *http.Request) bool { return r.URL.Query().Get("pause") != "" }

// pairForm reads the employee ("user") and the customer ("external") of a
// POSTed form; ok is false once an error has been answered.
func (p *Page) pairForm(w http.ResponseWriter, r *http.Request) (wecomtest.User, Customer, bool) {
	user, ok1 := formValue(r, "user", maxIDBytes)
	external, ok2 := formValue(r, "external", maxExtIDBytes)
	u, ok3 := p.o.Org.Person(user)
	c, ok4 := p.o.Org.Customer(external)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		http.Error(w, "sandbox: choose a person and a customer of the demo organisation", http.StatusBadRequest)
		return wecomtest.User{}, Customer{}, false
	}
	return u, c, true
}

// back is where a customer form returns: the home page's guide, or the
// customer's page.
func back(r *http.Request, c Customer) string {
	if r.PostForm.Get("back") == "home" {
		return Prefix
	}
	return Prefix + "customer?id=" + url.QueryEscape(c.Contact.ExternalUserID)
}

// consent sets a customer's answer to archiving of their chats with an
// employee in the fake WeCom, as the customer would in WeChat.
func (p *Page) consent(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	u, c, ok := p.pairForm(w, r)
	if !ok {
		return
	}
	status := r.PostForm.Get("status")
	if status != agree && status != disagree {
		http.Error(w, "sandbox: status must be Agree or Disagree", http.StatusBadRequest)
		return
	}
	now := p.o.Now()
	p.o.Fake.SetAgree(u.UserID, c.Contact.ExternalUserID, status, now)
	p.mu.Lock()
	p.answers[pair{strings.ToLower(u.UserID), c.Contact.ExternalUserID}] = answer{Status: status, At: now}
	p.mu.Unlock()
	text := fmt.Sprintf("%s now answers %s to archiving of chats with %s (%s): WeCom's check_single_agree says so from now on.",
		c.Contact.Name, status, u.Name, u.UserID)
	switch {
	case !p.inPermit(u.UserID):
		text += fmt.Sprintf(" %s is not on the archive permit list, so the server does not ask for this pair.", u.Name)
	case status == disagree:
		text += fmt.Sprintf(" Now simulate %s adding %s: the server asks, and tells %s and the compliance officers.", u.Name, c.Contact.Name, u.Name)
	}
	p.redirect(w, r, back(r, c), flash{OK: true, Text: text})
}

// addContact simulates an employee adding a customer: the
// add_external_contact callback with a real welcome code, signed and
// encrypted as WeCom sends it.
func (p *Page) addContact(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	u, c, ok := p.pairForm(w, r)
	if !ok {
		return
	}
	spec := p.addSpec(u, c.Contact.ExternalUserID)
	status, body, err := p.post(r.Context(), spec)
	if err != nil {
		p.log.Warn("sandbox: post add_external_contact", "user", u.UserID, "err", err)
		p.redirect(w, r, back(r, c), flash{Text: "The event could not be delivered to the server.", Detail: err.Error()})
		return
	}
	f := flash{OK: status == http.StatusOK, Text: fmt.Sprintf(
		"%s (%s) added %s: change_external_contact.add_external_contact, with a real WelcomeCode (valid 20 s), was signed, encrypted and POSTed to %s → %d %s.",
		u.Name, u.UserID, c.Contact.Name, p.o.CallbackPath, status, http.StatusText(status))}
	if f.OK {
		f.Text += " The welcome message arrives in the customer's inbox"
		if p.inPermit(u.UserID) {
			f.Text += fmt.Sprintf("; %s is on the archive permit list, so the server checks the customer's answer (check_single_agree)", u.Name)
		}
		f.Text += "."
	} else {
		f.Detail = strings.TrimSpace(string(body))
	}
	p.redirect(w, r, back(r, c), f)
}

// addSpec is the add_external_contact event of user adding external,
// with a welcome code the fake issued: the server may answer it with
// send_welcome_msg within 20 s.
func (p *Page) addSpec(u wecomtest.User, external string) wecomtest.EventSpec {
	return wecomtest.EventSpec{Kind: "change_external_contact.add_external_contact", CorpID: p.o.CorpID,
		AgentID: strconv.FormatInt(p.o.AgentID, 10), UserID: u.UserID, ExternalUserID: external,
		WelcomeCode: p.o.Fake.IssueWelcomeCode(u.UserID, external)}
}
