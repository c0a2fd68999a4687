package h1field

import (
	"strings"
	"testing"
)

func TestTrimOWS(t *testing.T) {
	for _, v := range []string{"", " ", "\t", " \t ", "a", " a", "a ", "\ta\t", " a b ", "\t \ta\t b \t", "\r a \r", "\x00 ", "é ", " \v", "  x"} {
		if got, want := TrimOWS(v), strings.Trim(v, " \t"); got != want {
			t.Errorf("TrimOWS(%q) = %q, want %q", v, got, want)
		}
	}
}

func FuzzTrimOWS(f *testing.F) {
	f.Add(" \ta b\t ")
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := TrimOWS(v), strings.Trim(v, " \t"); got != want {
			t.Errorf("TrimOWS(%q) = %q, want %q", v, got, want)
		}
	})
}
