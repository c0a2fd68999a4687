// Package reqtarget parses a request's target (origin-form, or "*") into
// a url.URL the caller owns, as url.ParseRequestURI does.
//
// Both servers embed the URL in the request's own allocation. Almost
// every target is a plain path, perhaps with a query: those are split
// here in one pass, with no allocation; anything else (escapes, bytes a
// path would escape, no leading slash) goes to url.ParseRequestURI, whose
// result is then copied.
package reqtarget

import (
	"net/url"
)

// Parse sets *u to what url.ParseRequestURI(target) returns, or returns
// its error and leaves *u as it was.
func Parse(target string, u *url.URL) error {
	if fast(target, u) {
		return nil
	}
	p, err := url.ParseRequestURI(target)
	if err != nil {
		return err
	}
	*u = *p
	return nil
}

// fast handles a target of a leading slash, then path bytes that need no
// escaping, then, after the first '?', a query of any bytes but controls.
func fast(target string, u *url.URL) bool {
	if target == "" || target[0] != '/' {
		return false
	}
	i := 1
	for ; i < len(target); i++ {
		c := target[i]
		if c == '?' {
			break
		}
		if !pathByte[c] {
			return false
		}
	}
	path, query, force := target[:i], "", false
	if i < len(target) {
		query = target[i+1:]
		for j := 0; j < len(query); j++ {
			if c := query[j]; c < ' ' || c == 0x7f {
				return false
			}
		}
		// url.ParseRequestURI: a lone '?' at the end is ForceQuery.
		force = query == ""
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: force}
	return true
}

// pathByte holds the bytes url.URL leaves unescaped in a path: RFC 3986's
// unreserved characters and "$&+,/:;=@". A path made of them alone has no
// RawPath. '%' is not among them: an escape needs decoding.
var pathByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()
