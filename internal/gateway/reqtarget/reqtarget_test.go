package reqtarget

import (
	"net/url"
	"reflect"
	"testing"
)

// same checks Parse against url.ParseRequestURI for one target.
func same(t *testing.T, target string) {
	t.Helper()
	want, wantErr := url.ParseRequestURI(target)
	before := url.URL{Path: "/before"}
	got := before
	err := Parse(target, &got)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("Parse(%q): error %v, url.ParseRequestURI's %v", target, err, wantErr)
	case err != nil:
		if got != before {
			t.Fatalf("Parse(%q) failed but changed the URL to %#v", target, got)
		}
	case !reflect.DeepEqual(got, *want):
		t.Fatalf("Parse(%q) = %#v, url.ParseRequestURI %#v", target, got, *want)
	}
}

func TestMatchesParseRequestURI(t *testing.T) {
	for _, target := range []string{
		"/", "/color/", "/color/tell?x=1&y=2", "/a?", "/a??", "/a?b?c", "/?", "?x", "",
		"*", "/a%20b", "/a%2Fb", "/a%zz", "/a b", "/a#frag", "/a?#x", "/a\x00", "/a?\x7f",
		"/a?\x01", "/a?é", "/é", "//host/path", "///x", "/a/../b", "/~user/$x&y+z,w:v;u=t@s",
		"/!'()*", "/[v6]", "/a|b", "/a\\b", "/a^b", "/a`b", "/a{b}", "/a\"b", "/a<b>",
		"http://host/p", "host:80", "/a?b=%zz", "/a?b c",
	} {
		same(t, target)
	}
	// Every byte, alone in a path and in a query.
	for c := range 256 {
		same(t, "/a"+string([]byte{byte(c)})+"b")
		same(t, "/a?"+string([]byte{byte(c)}))
	}
}

func FuzzMatchesParseRequestURI(f *testing.F) {
	for _, s := range []string{"/", "/a?b", "/a%41", "/a?", "*", "/é?x=é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) { same(t, target) })
}

func TestFastAllocatesNothing(t *testing.T) {
	var u url.URL
	if n := testing.AllocsPerRun(100, func() { _ = Parse("/color/tell?x=1", &u) }); n != 0 {
		t.Errorf("%v allocations a plain target", n)
	}
}

func BenchmarkParse(b *testing.B) {
	var u url.URL
	b.Run("reqtarget", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Parse("/color/tell?x=1", &u)
		}
	})
	b.Run("url.ParseRequestURI", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := url.ParseRequestURI("/color/tell?x=1")
			u = *p
		}
	})
}
