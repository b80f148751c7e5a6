// Package templates holds the texts of wecomply's notices, in zh-CN and
// en, embedded in the binary. A template renders to named parts (a
// card's title, its button, a message's content); notify turns the parts
// into a WeCom message. Every rendered notice carries a content hash, so
// an attestation can record exactly which text a person saw.
package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// Kind is the WeCom message a template makes.
type Kind string

// Kinds, with the parts each requires (see Catalog).
const (
	// KindText is a text message: part "content" (≤ 2,048 bytes).
	KindText Kind = "text"
	// KindMarkdown is a markdown message: part "content" (≤ 2,048 bytes).
	KindMarkdown Kind = "markdown"
	// KindButtonCard is a template card of type button_interaction:
	// parts "source", "title", "desc", "body", "button" (the button's
	// text), "done" (what the card shows once acknowledged) and
	// optionally "url" (a link to the full text) and "fields" (the card's
	// key-value lines: one a line, the key, a tab, the value, and for a
	// link another tab and its URL; at most 6, see Fields).
	KindButtonCard Kind = "button_card"
	// KindReviewCard is a template card of type button_interaction with
	// two buttons, for an officer to decide a supervision alert: parts
	// "source", "title", "desc", "body", "confirm" and "dismiss" (the
	// buttons' texts: 确认违规 / 误报) and optionally "url". Once decided,
	// the processor replaces the buttons with 「已确认违规 · 王芳」 or
	// 「误报 · 王芳」.
	KindReviewCard Kind = "review_card"
	// KindNoticeCard is a template card of type text_notice, tapped to
	// open a link: parts "source", "title", "desc", "body" and "url".
	KindNoticeCard Kind = "notice_card"
	// KindWelcome is the text of a welcome message to a new customer
	// (send_welcome_msg): part "content" (≤ 4,000 bytes).
	KindWelcome Kind = "welcome"
)

// Disclosure is what PIPL Art. 17 asks a notice about personal data to
// tell the people it concerns (config's [disclosure]). Templates get it
// as .Disclosure, nil when it is not configured: {{with .Disclosure}}
// shows it only then.
type Disclosure struct {
	Controller string // the personal information handler
	Contact    string // how to reach whoever answers for the data
	Purpose    string // why the data is processed
	Retention  string // how long it is kept
	RightsURL  string // how to exercise one's rights
}

// Field is one key-value line of a card (part "fields").
type Field struct {
	Key, Value, URL string
}

// maxFields is how many key-value lines WeCom shows on a card
// (horizontal_content_list).
const maxFields = 6

// Fields parses a card's "fields" part: one field a line, its key, a
// tab, its value and, for a link, another tab and the URL.
func Fields(part string) ([]Field, error) {
	var out []Field
	for line := range strings.Lines(part) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 || len(f) > 3 || strings.TrimSpace(f[0]) == "" || strings.TrimSpace(f[1]) == "" {
			return nil, fmt.Errorf("templates: field %q: want a key, a tab, a value and optionally a tab and a URL", line)
		}
		fd := Field{Key: strings.TrimSpace(f[0]), Value: strings.TrimSpace(f[1])}
		if len(f) == 3 {
			fd.URL = strings.TrimSpace(f[2])
		}
		out = append(out, fd)
	}
	if len(out) > maxFields {
		return nil, fmt.Errorf("templates: %d fields, WeCom shows at most %d", len(out), maxFields)
	}
	return out, nil
}

// Languages are the languages every template ships in.
var Languages = []string{"zh-CN", "en"}

// Template describes one notice template.
type Template struct {
	Name string
	Kind Kind
	// Reply marks the texts wecomply sends by itself in answer to an event
	// (a confirmation, the list of open notices, a consent card); they
	// are not meant to be sent as ad-hoc notices.
	Reply bool
}

// Catalog lists every template. Each has a file NAME.LANG.tmpl per
// language defining its parts as named templates:
//
//	{{define "title"}}…{{end}}
var Catalog = []Template{
	{Name: "ack_card", Kind: KindButtonCard},
	{Name: "disclosure", Kind: KindMarkdown},
	{Name: "reminder", Kind: KindText},
	{Name: "alert", Kind: KindMarkdown},
	{Name: "welcome", Kind: KindWelcome},
	{Name: "ack_confirm", Reply: true, Kind: KindText},
	{Name: "ack_choose", Reply: true, Kind: KindText},
	{Name: "nothing_open", Reply: true, Kind: KindText},
	{Name: "open_list", Reply: true, Kind: KindText},
	{Name: "consent_employee", Reply: true, Kind: KindNoticeCard},
	{Name: "consent_alert", Reply: true, Kind: KindMarkdown},
	// The reminder run's: a fresh card with the notice's button, and the
	// overdue lists for leaders and compliance owners.
	{Name: "remind_card", Reply: true, Kind: KindButtonCard},
	{Name: "escalation_leader", Reply: true, Kind: KindMarkdown},
	{Name: "escalation_owner", Reply: true, Kind: KindMarkdown},
	// The daily digest to the compliance officers and owners.
	{Name: "digest", Reply: true, Kind: KindMarkdown},
	// Supervision: the alert card to the compliance officers, the notice
	// to a sender whose message hit a notify_sender rule, and the
	// escalation of alerts left open too long.
	{Name: "alert_review", Reply: true, Kind: KindReviewCard},
	{Name: "alert_sender", Reply: true, Kind: KindText},
	{Name: "alert_escalation", Reply: true, Kind: KindMarkdown},
}

// parts lists the parts a kind requires, and those it may have.
func parts(k Kind) (required, optional []string) {
	switch k {
	case KindButtonCard:
		return []string{"source", "title", "desc", "body", "button", "done"}, []string{"url", "fields"}
	case KindReviewCard:
		return []string{"source", "title", "desc", "body", "confirm", "dismiss"}, []string{"url"}
	case KindNoticeCard:
		return []string{"source", "title", "desc", "body", "url"}, nil
	default:
		return []string{"content"}, nil
	}
}

// limits bounds the size in bytes of parts WeCom would truncate or refuse.
var limits = map[Kind]map[string]int{
	KindText:       {"content": 2048},
	KindMarkdown:   {"content": 2048},
	KindWelcome:    {"content": 4000},
	KindButtonCard: {"title": 128, "desc": 512, "body": 512, "button": 30, "done": 30, "source": 30, "url": 2048, "fields": 2048},
	KindReviewCard: {"title": 128, "desc": 512, "body": 512, "confirm": 30, "dismiss": 30, "source": 30, "url": 2048},
	KindNoticeCard: {"title": 128, "desc": 512, "body": 512, "source": 30, "url": 2048},
}

// Rendered is a template rendered in one language.
type Rendered struct {
	Name  string
	Lang  string
	Kind  Kind
	Parts map[string]string
}

// Hash is the content hash of exactly this text: the hex SHA-256 of the
// template, language, kind and every part.
func (r Rendered) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.Name, r.Lang, r.Kind)
	for _, k := range slices.Sorted(maps.Keys(r.Parts)) {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", k, len(r.Parts[k]), r.Parts[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Set is every template, parsed and checked. It is safe for concurrent
// use.
type Set struct {
	byKey map[string]*template.Template // "name.lang"
	kinds map[string]Kind
}

// Load parses every embedded template and checks that each template of
// the Catalog exists in every language with every part its kind needs.
func Load() (*Set, error) { return load(files) }

func load(fsys fs.FS) (*Set, error) {
	s := &Set{byKey: map[string]*template.Template{}, kinds: map[string]Kind{}}
	var errs []error
	for _, t := range Catalog {
		s.kinds[t.Name] = t.Kind
		required, optional := parts(t.Kind)
		for _, lang := range Languages {
			file := t.Name + "." + lang + ".tmpl"
			src, err := fs.ReadFile(fsys, file)
			if err != nil {
				errs = append(errs, fmt.Errorf("templates: %s: %w", file, err))
				continue
			}
			tmpl, err := template.New(file).Option("missingkey=error").Parse(string(src))
			if err != nil {
				errs = append(errs, fmt.Errorf("templates: %w", err))
				continue
			}
			for _, p := range required {
				if tmpl.Lookup(p) == nil {
					errs = append(errs, fmt.Errorf("templates: %s: part %q is missing", file, p))
				}
			}
			for _, d := range tmpl.Templates() {
				if name := d.Name(); name != file && !slices.Contains(required, name) && !slices.Contains(optional, name) {
					errs = append(errs, fmt.Errorf("templates: %s: part %q is not a part of a %s", file, name, t.Kind))
				}
			}
			s.byKey[t.Name+"."+lang] = tmpl
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Kind is the kind of template name, or "" if there is none.
func (s *Set) Kind(name string) Kind { return s.kinds[name] }

// Render renders template name in lang with data. Every value the
// template uses must be in data: a missing one is an error, never an
// empty string in a notice. Parts are trimmed of surrounding white space
// and checked against WeCom's length limits.
func (s *Set) Render(name, lang string, data any) (Rendered, error) {
	kind, ok := s.kinds[name]
	if !ok {
		return Rendered{}, fmt.Errorf("templates: no template %q", name)
	}
	tmpl, ok := s.byKey[name+"."+lang]
	if !ok {
		return Rendered{}, fmt.Errorf("templates: %s has no language %q (have %s)", name, lang, strings.Join(Languages, ", "))
	}
	r := Rendered{Name: name, Lang: lang, Kind: kind, Parts: map[string]string{}}
	required, optional := parts(kind)
	for _, p := range append(slices.Clone(required), optional...) {
		if tmpl.Lookup(p) == nil {
			continue
		}
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, p, data); err != nil {
			return Rendered{}, fmt.Errorf("templates: render %s.%s part %s: %w", name, lang, p, err)
		}
		text := strings.TrimSpace(b.String())
		if max := limits[kind][p]; max > 0 && len(text) > max {
			return Rendered{}, fmt.Errorf("templates: render %s.%s: part %s is %d bytes, WeCom allows %d", name, lang, p, len(text), max)
		}
		if text == "" && slices.Contains(required, p) {
			return Rendered{}, fmt.Errorf("templates: render %s.%s: part %s is empty", name, lang, p)
		}
		if p == "fields" {
			if _, err := Fields(text); err != nil {
				return Rendered{}, fmt.Errorf("templates: render %s.%s: %w", name, lang, err)
			}
		}
		if text != "" {
			r.Parts[p] = text
		}
	}
	return r, nil
}
