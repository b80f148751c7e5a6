package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Charts are inline SVG drawn here, on the server: no scripts, nothing
// to fetch. Every label is escaped.

// dayCount is a cumulative count at the end of a day.
type dayCount struct {
	Day   time.Time
	Count int
}

// chart is an SVG and the text that says the same for screen readers.
type chart struct {
	SVG   template.HTML
	Label string
}

// trendChart draws the share of total acknowledged at the end of each
// day as a line over a 0–100 % grid.
func trendChart(days []dayCount, total int) chart {
	const w, h, pad = 320.0, 90.0, 4.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" xmlns="http://www.w3.org/2000/svg">`, w, h+14, w, h+14)
	for _, y := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<line x1="0" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, w, pad+(h-2*pad)*(1-y), pad+(h-2*pad)*(1-y))
	}
	var pts []string
	label := ""
	for i, d := range days {
		share := 0.0
		if total > 0 {
			share = min(1, float64(d.Count)/float64(total))
		}
		x := pad
		if len(days) > 1 {
			x = pad + (w-2*pad)*float64(i)/float64(len(days)-1)
		}
		y := pad + (h-2*pad)*(1-share)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		label = fmt.Sprintf("%s: %d/%d", d.Day.Format("01-02"), d.Count, total)
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#2a6ebb" stroke-width="2" points="%s"/>`, strings.Join(pts, " "))
	if len(days) > 0 {
		fmt.Fprintf(&b, `<text x="0" y="%.0f" font-size="10">%s</text>`, h+12, template.HTMLEscapeString(days[0].Day.Format("01-02")))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" text-anchor="end">%s</text>`, w, h+12, template.HTMLEscapeString(days[len(days)-1].Day.Format("01-02")))
	}
	b.WriteString(`</svg>`)
	return chart{SVG: template.HTML(b.String()), Label: label}
}

// bar is one bar of a bar chart.
type bar struct {
	Label string
	Value int
}

// barChart draws horizontal bars scaled to the largest value.
func barChart(bars []bar) chart {
	const w, rowH, labelW = 360.0, 20.0, 120.0
	top := 1
	for _, b := range bars {
		top = max(top, b.Value)
	}
	var sb strings.Builder
	h := rowH * float64(max(len(bars), 1))
	fmt.Fprintf(&sb, `<svg class="bars" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" xmlns="http://www.w3.org/2000/svg">`, w, h, w, h)
	var words []string
	for i, b := range bars {
		y := float64(i) * rowH
		bw := (w - labelW - 40) * float64(b.Value) / float64(top)
		fmt.Fprintf(&sb, `<text x="0" y="%.0f" font-size="12">%s</text>`, y+14, template.HTMLEscapeString(b.Label))
		fmt.Fprintf(&sb, `<rect x="%.0f" y="%.0f" width="%.1f" height="%.0f" fill="#2a6ebb"/>`, labelW, y+3, bw, rowH-6)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.0f" font-size="12">%d</text>`, labelW+bw+4, y+14, b.Value)
		words = append(words, fmt.Sprintf("%s %d", b.Label, b.Value))
	}
	sb.WriteString(`</svg>`)
	return chart{SVG: template.HTML(sb.String()), Label: strings.Join(words, ", ")}
}
