package rules

import (
	"bytes"
	"time"
)

// detect appends the hits of a PII rule's detectors in the folded text
// b (full-width digits and @ are already folded to ASCII) to hits, with
// offsets mapped back through offs. Numbers are read in one pass for all
// the numeric detectors.
func detect(hits []rawHit, rule int, dets []Detector, b []byte, offs []int32) []rawHit {
	add := func(start, end int, d Detector) {
		hits = append(hits, rawHit{rule: rule, start: int(offs[start]), end: int(offs[end]), detector: d})
	}
	numeric := false
	for _, d := range dets {
		if d != Email {
			numeric = true
			continue
		}
		for i := 0; i < len(b); {
			at := bytes.IndexByte(b[i:], '@')
			if at < 0 {
				break
			}
			at += i
			i = at + 1
			if start, end, ok := emailAt(b, at); ok {
				add(start, end, Email)
				i = end
			}
		}
	}
	if !numeric {
		return hits
	}
	// next[k] is where detector dets[k] may hit again (after its last hit).
	var nextBuf [len(detectorsList)]int
	next := nextBuf[:len(dets)]
	for i := 0; i < len(b); i++ {
		if !isDigit(b[i]) || i > 0 && isDigit(b[i-1]) {
			continue
		}
		n := readNumber(b, i)
		for k, d := range dets {
			if d == Email || i < next[k] {
				continue
			}
			if start, end, ok := n.is(d, b); ok {
				add(start, end, d)
				next[k] = end
				continue
			}
			if n.ng > 1 {
				first := n
				first.end, first.ng, first.nd, first.x = n.groups[0], 1, min(n.groups[0]-i, maxDigits), false
				if start, end, ok := first.is(d, b); ok {
					add(start, end, d)
					next[k] = end
				}
			}
		}
		i = n.groups[0] - 1
	}
	return hits
}

// number is a run of digit groups separated by one space or hyphen.
type number struct {
	start, end int
	// groups[:ng] are the end offsets of the groups.
	groups [maxDigits]int
	ng     int
	// digits[:nd] are the digits without separators (at most maxDigits).
	digits [maxDigits]byte
	nd     int
	// x: the run ends in x (a resident ID's check character 10).
	x bool
}

const maxDigits = 24

func readNumber(b []byte, i int) number {
	n := number{start: i}
	j := i
	for {
		k := j
		for k < len(b) && isDigit(b[k]) {
			if n.nd < maxDigits {
				n.digits[n.nd] = b[k]
				n.nd++
			}
			k++
		}
		n.groups[n.ng] = k
		n.ng++
		if n.ng < maxDigits && k+1 < len(b) && (b[k] == ' ' || b[k] == '-') && isDigit(b[k+1]) {
			j = k + 1
			continue
		}
		n.end = k
		break
	}
	if n.end < len(b) && b[n.end] == 'x' && (n.end+1 == len(b) || !isWordByte(b[n.end+1])) {
		n.x = true
	}
	return n
}

// sizes reports whether the groups' lengths are exactly want.
func (n number) sizes(want ...int) bool {
	if n.ng != len(want) {
		return false
	}
	from := n.start
	for i, end := range n.groups[:n.ng] {
		if end-from != want[i] {
			return false
		}
		from = end + 1
	}
	return true
}

// is reports whether the number is detector d's, and its span.
func (n number) is(d Detector, b []byte) (start, end int, ok bool) {
	if n.nd >= maxDigits {
		return 0, 0, false
	}
	digits := string(n.digits[:n.nd])
	if n.nd != n.end-n.start-(n.ng-1) {
		return 0, 0, false
	}
	switch d {
	case ResidentID:
		id := digits
		if n.x {
			id += "x"
		}
		if len(id) == 18 && (n.sizes(len(digits)) || n.sizes(6, 8, len(digits)-14)) && validResidentID(id) {
			end := n.end
			if n.x {
				end++
			}
			return n.start, end, true
		}
	case Mobile:
		start := n.start
		switch {
		case len(digits) == 11 && (n.sizes(11) || n.sizes(3, 4, 4)):
		case len(digits) == 13 && digits[:2] == "86" && (n.sizes(13) || n.sizes(2, 11) || n.sizes(2, 3, 4, 4)):
			digits = digits[2:]
			if start > 0 && b[start-1] == '+' {
				start--
			}
		default:
			return 0, 0, false
		}
		if isMobile(digits) && !n.x {
			return start, n.end, true
		}
	case BankCard:
		if n.x || len(digits) < 13 || len(digits) > 19 || digits[0] == '0' {
			return 0, 0, false
		}
		if !n.sizes(len(digits)) && !n.groupedByFour() && !n.sizes(4, 6, 5) {
			return 0, 0, false
		}
		// Not a resident ID, nor a mobile number written with 86.
		if luhn(digits) && !(len(digits) == 18 && validResidentID(digits)) && !(len(digits) == 13 && isMobile(digits[2:]) && digits[:2] == "86") {
			return n.start, n.end, true
		}
	}
	return 0, 0, false
}

// isMobile: 11 digits that read 1[3-9]….
func isMobile(digits string) bool {
	return len(digits) == 11 && digits[0] == '1' && digits[1] >= '3' && digits[1] <= '9'
}

// groupedByFour: groups of four, the last of one to four.
func (n number) groupedByFour() bool {
	from := n.start
	for i, end := range n.groups[:n.ng] {
		size := end - from
		if size != 4 && (i < n.ng-1 || size < 1 || size > 4) {
			return false
		}
		from = end + 1
	}
	return n.ng > 1
}

// provinces are the first two digits of a resident ID's address code
// (GB/T 2260): provinces, autonomous regions, municipalities, Hong Kong,
// Macao and Taiwan residents' permits (81, 82, 83).
var provinces = [100]bool{
	11: true, 12: true, 13: true, 14: true, 15: true,
	21: true, 22: true, 23: true,
	31: true, 32: true, 33: true, 34: true, 35: true, 36: true, 37: true,
	41: true, 42: true, 43: true, 44: true, 45: true, 46: true,
	50: true, 51: true, 52: true, 53: true, 54: true,
	61: true, 62: true, 63: true, 64: true, 65: true,
	71: true, 81: true, 82: true, 83: true,
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// validResidentID checks an 18-character resident ID (digits, the last
// may be x): its province, its birth date (1900 to 2099, a real day),
// and its ISO 7064 MOD 11-2 check character.
func validResidentID(id string) bool {
	if len(id) != 18 {
		return false
	}
	sum := 0
	for i := range 17 {
		if !isDigit(id[i]) {
			return false
		}
		sum += int(id[i]-'0') * idWeights[i]
	}
	if !provinces[int(id[0]-'0')*10+int(id[1]-'0')] {
		return false
	}
	year := atoi(id[6:10])
	month, day := atoi(id[10:12]), atoi(id[12:14])
	if year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1 {
		return false
	}
	if t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC); t.Day() != day {
		return false
	}
	check := "10x98765432"[sum%11]
	c := id[17]
	if c == 'X' {
		c = 'x'
	}
	return c == check
}

// luhn checks the Luhn (mod 10) check digit of a digit string.
func luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func atoi(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// emailAt finds the address around the @ at b[at].
func emailAt(b []byte, at int) (start, end int, ok bool) {
	start = at
	for start > 0 && isLocalByte(b[start-1]) {
		start--
	}
	for start < at && b[start] == '.' {
		start++
	}
	if start == at {
		return 0, 0, false
	}
	end = at + 1
	for end < len(b) && (isWordByte(b[end]) || b[end] == '.' || b[end] == '-') {
		end++
	}
	for end > at+1 && (b[end-1] == '.' || b[end-1] == '-') {
		end--
	}
	// At least two labels, none empty or edged with '-', and a top-level
	// domain of two or more letters.
	labels, from, tldLetters := 0, at+1, true
	for k := at + 1; k <= end; k++ {
		if k < end && b[k] != '.' {
			continue
		}
		if k == from || b[from] == '-' || b[k-1] == '-' {
			return 0, 0, false
		}
		labels++
		tldLetters = k-from >= 2
		for _, c := range b[from:k] {
			if c < 'a' || c > 'z' {
				tldLetters = false
			}
		}
		from = k + 1
	}
	if labels < 2 || !tldLetters {
		return 0, 0, false
	}
	return start, end, true
}

func isLocalByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
