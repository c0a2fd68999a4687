package accesslog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// defaultTimeFormat is Envoy's START_TIME format when none is given
// (absl syntax: %E3S is seconds with three fractional digits).
const defaultTimeFormat = "%Y-%m-%dT%H:%M:%E3SZ"

// timeVerb is one piece of a compiled time format.
type timeVerb struct {
	lit    string // literal text when verb == 0
	verb   byte   // strftime conversion character
	digits int    // fractional digits for %f, %Nf and %ENS
}

// timeFormat is a compiled strftime-style format. Envoy runs these
// through absl::FormatTime (strftime plus %E#S, %E*S, %Ez) after
// substituting its own %s and %f/%Nf; this implements the common subset
// and copies unknown conversions through as text.
type timeFormat struct {
	verbs []timeVerb
	// local renders in the process's time zone (START_TIME_LOCAL); Envoy's
	// plain operators are UTC.
	local bool
}

func compileTimeFormat(s string, local bool) (*timeFormat, error) {
	if s == "" {
		s = defaultTimeFormat
	}
	// Envoy rejects time formats that would put a newline in a log line.
	if strings.ContainsAny(s, "\n\r") {
		return nil, fmt.Errorf("time format %q contains a newline", s)
	}
	tf := &timeFormat{local: local}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tf.verbs = append(tf.verbs, timeVerb{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' || i+1 >= len(s) {
			lit.WriteByte(c)
			continue
		}
		i++
		c = s[i]
		switch {
		case c == '%':
			lit.WriteByte('%')
		case c == 'n':
			return nil, fmt.Errorf("time format %q contains a newline (%%n)", s)
		case c == 't':
			lit.WriteByte('\t')
		case c >= '1' && c <= '9' && i+1 < len(s) && s[i+1] == 'f':
			flush()
			tf.verbs = append(tf.verbs, timeVerb{verb: 'f', digits: int(c - '0')})
			i++
		case c == 'f':
			flush()
			tf.verbs = append(tf.verbs, timeVerb{verb: 'f', digits: 9})
		case c == 'E' && i+2 < len(s) && s[i+2] == 'S' && (s[i+1] == '*' || s[i+1] >= '0' && s[i+1] <= '9'):
			flush()
			d := -1 // %E*S: as many digits as needed
			if s[i+1] != '*' {
				d = int(s[i+1] - '0')
			}
			tf.verbs = append(tf.verbs, timeVerb{verb: 'S', digits: d})
			i += 2
		case c == 'E' && i+1 < len(s) && s[i+1] == 'z':
			flush()
			tf.verbs = append(tf.verbs, timeVerb{verb: 'Z' + 1}) // "+hh:mm"
			i++
		case strings.IndexByte("YmdHMSyjeIpaAbhBFTDRzZsuwC", c) >= 0:
			flush()
			tf.verbs = append(tf.verbs, timeVerb{verb: c})
		default:
			// strftime leaves unknown conversions alone.
			lit.WriteByte('%')
			lit.WriteByte(c)
		}
	}
	flush()
	return tf, nil
}

var (
	shortDays   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays    = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	longMonths  = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

func (tf *timeFormat) append(dst []byte, t time.Time) []byte {
	if tf.local {
		t = t.Local()
	} else {
		t = t.UTC()
	}
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	for _, v := range tf.verbs {
		switch v.verb {
		case 0:
			dst = append(dst, v.lit...)
		case 'Y':
			dst = appendInt(dst, year, 4)
		case 'C':
			dst = appendInt(dst, year/100, 2)
		case 'y':
			dst = appendInt(dst, year%100, 2)
		case 'm':
			dst = appendInt(dst, int(month), 2)
		case 'd':
			dst = appendInt(dst, day, 2)
		case 'e':
			if day < 10 {
				dst = append(dst, ' ')
			}
			dst = appendInt(dst, day, 1)
		case 'j':
			dst = appendInt(dst, t.YearDay(), 3)
		case 'H':
			dst = appendInt(dst, hour, 2)
		case 'I':
			h := hour % 12
			if h == 0 {
				h = 12
			}
			dst = appendInt(dst, h, 2)
		case 'p':
			if hour < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case 'M':
			dst = appendInt(dst, minute, 2)
		case 'S':
			dst = appendInt(dst, sec, 2)
			if v.digits != 0 {
				dst = appendFraction(dst, t.Nanosecond(), v.digits)
			}
		case 'f':
			dst = appendNanos(dst, t.Nanosecond(), v.digits)
		case 's':
			dst = strconv.AppendInt(dst, t.Unix(), 10)
		case 'a':
			dst = append(dst, shortDays[t.Weekday()]...)
		case 'A':
			dst = append(dst, longDays[t.Weekday()]...)
		case 'b', 'h':
			dst = append(dst, shortMonths[month-1]...)
		case 'B':
			dst = append(dst, longMonths[month-1]...)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			dst = appendInt(dst, wd, 1)
		case 'w':
			dst = appendInt(dst, int(t.Weekday()), 1)
		case 'F':
			dst = appendInt(dst, year, 4)
			dst = append(dst, '-')
			dst = appendInt(dst, int(month), 2)
			dst = append(dst, '-')
			dst = appendInt(dst, day, 2)
		case 'T', 'R':
			dst = appendInt(dst, hour, 2)
			dst = append(dst, ':')
			dst = appendInt(dst, minute, 2)
			if v.verb == 'T' {
				dst = append(dst, ':')
				dst = appendInt(dst, sec, 2)
			}
		case 'D':
			dst = appendInt(dst, int(month), 2)
			dst = append(dst, '/')
			dst = appendInt(dst, day, 2)
			dst = append(dst, '/')
			dst = appendInt(dst, year%100, 2)
		case 'z', 'Z' + 1:
			_, off := t.Zone()
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			dst = append(dst, sign)
			dst = appendInt(dst, off/3600, 2)
			if v.verb != 'z' {
				dst = append(dst, ':')
			}
			dst = appendInt(dst, off%3600/60, 2)
		case 'Z':
			name, _ := t.Zone()
			dst = append(dst, name...)
		}
	}
	return dst
}

// appendNanos appends the first digits of the nanoseconds (Envoy's %Nf,
// which truncates rather than rounds).
func appendNanos(dst []byte, nanos, digits int) []byte {
	var buf [9]byte
	for i := 8; i >= 0; i-- {
		buf[i] = byte('0' + nanos%10)
		nanos /= 10
	}
	return append(dst, buf[:digits]...)
}

// appendFraction is absl's %E#S fraction: "." and exactly digits digits,
// or for %E*S (digits < 0) as many as needed with trailing zeros dropped.
func appendFraction(dst []byte, nanos, digits int) []byte {
	if digits < 0 {
		if nanos == 0 {
			return dst
		}
		var buf [9]byte
		n := nanos
		for i := 8; i >= 0; i-- {
			buf[i] = byte('0' + n%10)
			n /= 10
		}
		end := 9
		for end > 0 && buf[end-1] == '0' {
			end--
		}
		dst = append(dst, '.')
		return append(dst, buf[:end]...)
	}
	if digits > 9 {
		digits = 9
	}
	dst = append(dst, '.')
	return appendNanos(dst, nanos, digits)
}

// appendInt appends n zero-padded to width digits.
func appendInt(dst []byte, n, width int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for i > 0 && (n > 0 || len(buf)-i < width || i == len(buf)) {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, buf[i:]...)
}
