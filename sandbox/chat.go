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

// A person's side of the app chat: what they type to the app (a text
// message callback) and opening the app (enter_agent). The fake WeCom
// keeps only what the app sends, so the page remembers what each person
// sent, to show the conversation as WeCom would.

// maxChatLines is how many of a person's own chat lines the page keeps.
const maxChatLines = 50

// chatLine is something a person did in the app chat.
type chatLine struct {
	At      time.Time
	Kind    string // "text" or "enter_agent"
	Content string
}

// addChat remembers a line of userID's.
func (p *Page) addChat(userID string, l chatLine) {
	key := strings.ToLower(userID)
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := append(p.chats[key], l)
	if len(lines) > maxChatLines {
		lines = slices.Delete(lines, 0, len(lines)-maxChatLines)
	}
	p.chats[key] = lines
}

// chatOf returns userID's own chat lines, oldest first.
func (p *Page) chatOf(userID string) []chatLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.chats[strings.ToLower(userID)])
}

// reply is a person typing a message to the app: the text message
// callback, signed and encrypted as WeCom sends it. An acknowledgement
// word ("确认", "ack") acknowledges their one open notice.
func (p *Page) reply(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	u, ok := p.chatPerson(w, r)
	if !ok {
		return
	}
	content, okContent := formValue(r, "content", maxValueBytes)
	if !okContent || content == "" {
		http.Error(w, fmt.Sprintf("sandbox: a reply needs content, at most %d bytes", maxValueBytes), http.StatusBadRequest)
		return
	}
	spec := wecomtest.EventSpec{Kind: "text", CorpID: p.o.CorpID, AgentID: strconv.FormatInt(p.o.AgentID, 10),
		UserID: u.UserID, Content: content}
	p.chatEvent(w, r, u, spec, chatLine{Kind: "text", Content: content},
		fmt.Sprintf("%s (%s) wrote “%s” in the app chat", u.Name, u.UserID, truncate(content, 100)),
		" An acknowledgement word acknowledges the one notice still open; the app's answer arrives here.")
}

// enter is a person opening the app: the enter_agent callback. The server
// lists what they still owe (once a day).
func (p *Page) enter(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	u, ok := p.chatPerson(w, r)
	if !ok {
		return
	}
	spec := wecomtest.EventSpec{Kind: "enter_agent", CorpID: p.o.CorpID, AgentID: strconv.FormatInt(p.o.AgentID, 10), UserID: u.UserID}
	p.chatEvent(w, r, u, spec, chatLine{Kind: "enter_agent"},
		fmt.Sprintf("%s (%s) opened the app", u.Name, u.UserID),
		" With notices still open, the server lists them (once a day).")
}

// chatPerson reads the form's person.
func (p *Page) chatPerson(w http.ResponseWriter, r *http.Request) (wecomtest.User, bool) {
	user, okUser := formValue(r, "user", maxIDBytes)
	u, ok := p.o.Org.Person(user)
	if !okUser || !ok {
		http.Error(w, "sandbox: choose a person of the demo organisation", http.StatusBadRequest)
		return wecomtest.User{}, false
	}
	return u, true
}

// chatEvent posts a person's chat event to the server, remembers the line
// when the server took it, and returns to their inbox.
func (p *Page) chatEvent(w http.ResponseWriter, r *http.Request, u wecomtest.User, spec wecomtest.EventSpec, line chatLine, did, next string) {
	inbox := Prefix + "inbox?user=" + url.QueryEscape(u.UserID)
	status, body, err := p.post(r.Context(), spec)
	if err != nil {
		p.log.Warn("sandbox: post chat event", "kind", spec.Kind, "user", u.UserID, "err", err)
		p.redirect(w, r, inbox, flash{Text: "The event could not be delivered to the server.", Detail: err.Error()})
		return
	}
	f := flash{OK: status == http.StatusOK, Text: fmt.Sprintf("%s: WeCom's %s callback was signed, encrypted and POSTed to %s → %d %s.",
		did, spec.Kind, p.o.CallbackPath, status, http.StatusText(status))}
	if f.OK {
		line.At = p.o.Now()
		p.addChat(u.UserID, line)
		f.Text += next
	} else {
		f.Detail = strings.TrimSpace(string(body))
	}
	p.redirect(w, r, inbox, f)
}

// chatView turns a person's own line into an inbox entry.
func chatView(l chatLine) messageView {
	v := messageView{MsgType: l.Kind, At: l.At, Mine: true}
	if l.Kind == "text" {
		v.Body = renderText(l.Content)
	}
	return v
}
