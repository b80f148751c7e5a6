package sandbox

import (
	"html"
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

// Rendering message content as WeCom shows it. Content comes from the
// notices (and so from whoever wrote a template or its data): it is
// escaped completely first, and only then are the few constructs WeCom
// supports turned into HTML, by patterns over the escaped text. Nothing
// of the input ever reaches the page as markup; link targets must be
// http(s) and cannot contain a quote (escaped text has none).

var (
	// mdLink is [text](url) in WeCom's markdown, on escaped text.
	mdLink = regexp.MustCompile(`\[([^\]]*)\]\((https?://[^\s()<>"']+)\)`)
	// mdFont is <font color="info|comment|warning">…</font>, escaped: the
	// only colours WeCom has (info green, comment grey, warning orange).
	mdFont = regexp.MustCompile(`&lt;font color=(?:&#34;|&#39;)?(info|comment|warning)(?:&#34;|&#39;)?&gt;(.*?)&lt;/font&gt;`)
	// mdBold is **text**.
	mdBold = regexp.MustCompile(`\*\*(.+?)\*\*`)
	// mdCode is `code` (single line).
	mdCode = regexp.MustCompile("`([^`]+)`")
	// mdHeading is "# " to "###### " at the start of a line.
	mdHeading = regexp.MustCompile(`^(#{1,6}) +(.*)$`)
	// textLink is <a href="url">text</a>, which WeCom's text messages allow.
	textLink = regexp.MustCompile(`&lt;a href=(?:&#34;|&#39;)(https?://[^\s<>"']+?)(?:&#34;|&#39;)&gt;(.*?)&lt;/a&gt;`)
)

// renderMarkdown renders WeCom's markdown subset (path/90236): headings
// "#" to "######", **bold**, [links](https://…), `code`, "> " quotes
// and <font color="info|comment|warning">. Everything else is text.
func renderMarkdown(src string) template.HTML {
	var b strings.Builder
	inQuote := false
	for _, raw := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		line := html.EscapeString(raw)
		if rest, ok := strings.CutPrefix(line, "&gt;"); ok {
			if inQuote {
				b.WriteString("<br>")
			} else {
				b.WriteString(`<blockquote class="md-quote">`)
				inQuote = true
			}
			b.WriteString(mdInline(strings.TrimPrefix(rest, " ")))
			continue
		}
		if inQuote {
			b.WriteString("</blockquote>")
			inQuote = false
		}
		switch m := mdHeading.FindStringSubmatch(line); {
		case m != nil:
			level := strconv.Itoa(len(m[1]))
			b.WriteString(`<div class="md-h md-h` + level + `">` + mdInline(m[2]) + `</div>`)
		case strings.TrimSpace(line) == "":
			b.WriteString(`<div class="md-gap"></div>`)
		default:
			b.WriteString(`<div class="md-p">` + mdInline(line) + `</div>`)
		}
	}
	if inQuote {
		b.WriteString("</blockquote>")
	}
	return template.HTML(b.String()) //nolint:gosec // built from escaped text; see the comment above.
}

// mdInline applies the inline rules to one escaped line: code spans are
// left as they are inside; links keep their target untouched.
func mdInline(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range mdCode.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(mdLinks(s[last:m[0]]))
		b.WriteString("<code>" + s[m[2]:m[3]] + "</code>")
		last = m[1]
	}
	b.WriteString(mdLinks(s[last:]))
	return b.String()
}

// mdLinks turns [text](url) into links and styles the text around and
// inside them.
func mdLinks(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range mdLink.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(mdStyles(s[last:m[0]]))
		b.WriteString(`<a href="` + s[m[4]:m[5]] + `" rel="noopener noreferrer" target="_blank">` + mdStyles(s[m[2]:m[3]]) + `</a>`)
		last = m[1]
	}
	b.WriteString(mdStyles(s[last:]))
	return b.String()
}

// mdStyles applies font colours and bold.
func mdStyles(s string) string {
	s = mdFont.ReplaceAllString(s, `<span class="md-$1">$2</span>`)
	return mdBold.ReplaceAllString(s, `<strong>$1</strong>`)
}

// renderText renders a text message: line breaks kept (by the page's
// CSS) and <a href="http(s)://…">…</a> made a link, as WeCom does.
func renderText(src string) template.HTML {
	s := html.EscapeString(src)
	s = textLink.ReplaceAllString(s, `<a href="$1" rel="noopener noreferrer" target="_blank">$2</a>`)
	return template.HTML(s) //nolint:gosec // built from escaped text.
}
