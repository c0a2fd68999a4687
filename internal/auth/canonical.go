package auth

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// canonicalInput is what a canonical request is built from: the request as
// it arrived, the signed header names the client listed and the payload
// hash.
type canonicalInput struct {
	method      string
	escapedPath string // the path as sent, still percent-encoded
	rawQuery    string
	host        string // Go keeps the Host header out of http.Header
	header      http.Header
	signed      []string // lower-case names, in the client's order
	payloadHash string
	presigned   bool // X-Amz-Signature is then in the query and left out
}

// canonicalRequest is SigV4's canonical request:
//
//	METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
//
// where HEADERS ends in its own newline.
func canonicalRequest(in canonicalInput) string {
	var b strings.Builder
	b.WriteString(in.method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(in.escapedPath))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(in.rawQuery, in.presigned))
	b.WriteByte('\n')
	writeCanonicalHeaders(&b, in.host, in.header, in.signed)
	b.WriteByte('\n')
	b.WriteString(strings.Join(in.signed, ";"))
	b.WriteByte('\n')
	b.WriteString(in.payloadHash)
	return b.String()
}

// canonicalURI encodes the path as sent once more, which is what SigV4
// asks of every service but S3, and what botocore (quote(path, safe="/~"))
// and aws-sdk-go-v2 (httpbinding.EscapePath) do: a name "a b" travels as
// a%20b and is signed as a%2520b. The path is not normalized: signing
// exactly what the router will read means no two different paths share a
// signature.
func canonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	return uriEncode(escapedPath, true)
}

// canonicalQuery decodes every name and value and encodes them again the
// SigV4 way, then sorts the pairs by name and value after encoding.
func canonicalQuery(rawQuery string, presigned bool) string {
	if rawQuery == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, false), uriEncode(v, false)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes a query component as Go's url.ParseQuery does
// ("+" is a space). A malformed escape is kept as sent: the signature
// will then not match, which is the right answer for a mangled request.
func queryUnescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// writeCanonicalHeaders writes "name:value\n" for every signed header.
// Repeated header lines are joined with commas; values are trimmed and
// runs of spaces collapsed. A signed header the request lacks is signed
// as empty, and so will not match what the client signed.
func writeCanonicalHeaders(b *strings.Builder, host string, h http.Header, signed []string) {
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		if name == "host" {
			b.WriteString(trimAll(host))
		} else {
			for i, v := range h.Values(name) {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(trimAll(v))
			}
		}
		b.WriteByte('\n')
	}
}

// trimAll is SigV4's Trimall: trim, then collapse runs of spaces.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	prevSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' && prevSpace {
			continue
		}
		prevSpace = c == ' '
		b.WriteByte(c)
	}
	return b.String()
}

// uriEncode is SigV4's UriEncode: every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), and '/' when keepSlash, becomes %XX with
// upper-case hex.
func uriEncode(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
