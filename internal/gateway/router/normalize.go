package router

import "strings"

// NormalizePath is what the gateway matches and forwards: the path with
// percent-encoded unreserved characters decoded and other escapes in upper
// case (RFC 3986 §6.2.2), runs of slashes merged and "." and ".." segments
// resolved (§5.2.4), as Envoy's normalize_path and merge_slashes do at App
// Mesh gateways. Matching and forwarding use the same result, so a route
// can't be bypassed with "/a/../b", "//b" or "/%2e%2e/b". An encoded slash
// (%2F) stays encoded, as in Envoy's default. A ".." above the root stays
// at the root.
func NormalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if strings.IndexByte(p, '%') >= 0 {
		p = normalizeEscapes(p)
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p // the common case: nothing to do, nothing allocated
	}
	trailing := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if trailing && s != "/" {
		s += "/"
	}
	return s
}

// normalizeEscapes decodes %XX of unreserved characters and upper-cases
// the hex digits of the others; a malformed escape is kept as it is.
func normalizeEscapes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			b.WriteByte(p[i])
			continue
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(upper(p[i+1]))
			b.WriteByte(upper(p[i+2]))
		}
		i += 2
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
