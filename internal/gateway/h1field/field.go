// Package h1field holds the HTTP/1 field syntax that the server's request
// parser (h1server) and the cluster client's response parser (upstream)
// share.
package h1field

// TrimOWS returns v without the optional whitespace (spaces and tabs,
// RFC 9110 section 5.6.3) around a field value. It is what
// strings.Trim(v, " \t") returns, without building a cutset per call:
// that was 0.8 % of a gateway's CPU, called for every field of every
// request and response.
func TrimOWS(v string) string {
	i, j := 0, len(v)
	for i < j && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t') {
		j--
	}
	return v[i:j]
}
