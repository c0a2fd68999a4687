package accesslog

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// emptyEntry stands in for a nil *Entry so Append never dereferences nil.
var emptyEntry Entry

// Append renders e and appends the line to dst. It allocates nothing for
// the common operators (the TLS certificate ones build strings).
func (f *Format) Append(dst []byte, e *Entry) []byte {
	if f == nil {
		return dst
	}
	if e == nil {
		e = &emptyEntry
	}
	if f.json {
		return f.appendJSON(dst, e)
	}
	for i := range f.parts {
		var ok bool
		if dst, ok = f.parts[i].appendValue(dst, e); !ok {
			dst = append(dst, '-')
		}
	}
	return dst
}

// appendValue appends the part's value for e; ok is false, with nothing
// appended, when the value is missing.
func (p *part) appendValue(dst []byte, e *Entry) ([]byte, bool) {
	switch p.kind {
	case opLiteral:
		return append(dst, p.lit...), true
	case opConstant:
		return append(dst, p.lit...), !p.missing
	case opStartTime:
		if e.StartTime.IsZero() {
			return dst, false
		}
		return p.tf.append(dst, e.StartTime), true
	case opEmitTime:
		return p.tf.append(dst, time.Now()), true

	case opReq, opReqWithoutQuery:
		v, ok := e.requestHeader(p.hdr)
		if !ok && p.hasAlt {
			v, ok = e.requestHeader(p.alt)
		}
		if !ok {
			return dst, false
		}
		if p.kind == opReqWithoutQuery {
			if i := strings.IndexByte(v, '?'); i >= 0 {
				v = v[:i]
			}
		}
		return append(dst, truncate(v, p.maxLen)...), true
	case opResp, opTrailer:
		h := e.ResponseHeader
		if p.kind == opTrailer {
			h = e.ResponseTrailer
		}
		for i, ref := range [2]headerRef{p.hdr, p.alt} {
			if i == 1 && !p.hasAlt {
				break
			}
			if ref.pseudo == pseudoStatus {
				if e.ResponseCode == 0 {
					continue
				}
				start := len(dst)
				dst = strconv.AppendInt(dst, int64(e.ResponseCode), 10)
				if p.maxLen >= 0 && len(dst)-start > p.maxLen {
					dst = dst[:start+p.maxLen]
				}
				return dst, true
			}
			if v, ok := first(h, ref.canon); ok {
				return append(dst, truncate(v, p.maxLen)...), true
			}
		}
		return dst, false

	case opResponseCode:
		return strconv.AppendInt(dst, int64(e.ResponseCode), 10), true
	case opResponseCodeDetails:
		return appendString(dst, e.ResponseCodeDetails)
	case opResponseFlags:
		return e.ResponseFlags.appendTo(dst, false), true
	case opResponseFlagsLong:
		return e.ResponseFlags.appendTo(dst, true), true
	case opBytesReceived:
		return strconv.AppendUint(dst, e.BytesReceived, 10), true
	case opBytesSent:
		return strconv.AppendUint(dst, e.BytesSent, 10), true
	case opDuration:
		return appendMillis(dst, e.StartTime, e.EndTime)
	case opRequestDuration:
		return appendMillis(dst, e.StartTime, e.RequestEnd)
	case opRequestTxDuration:
		return appendMillis(dst, e.StartTime, e.UpstreamRequestEnd)
	case opResponseDuration:
		return appendMillis(dst, e.StartTime, e.UpstreamResponseStart)
	case opResponseTxDuration:
		return appendMillis(dst, e.UpstreamResponseStart, e.EndTime)

	case opUpstreamHost:
		return appendString(dst, e.UpstreamHost)
	case opUpstreamHostWithoutPort:
		return appendHost(dst, e.UpstreamHost)
	case opUpstreamHostPort:
		return appendPort(dst, e.UpstreamHost)
	case opUpstreamCluster:
		return appendString(dst, e.UpstreamCluster)
	case opUpstreamLocalAddress:
		return appendString(dst, e.UpstreamLocalAddress)
	case opUpstreamLocalAddressWithoutPort:
		return appendHost(dst, e.UpstreamLocalAddress)
	case opUpstreamLocalPort:
		return appendPort(dst, e.UpstreamLocalAddress)
	case opUpstreamTransportFailureReason:
		return appendString(dst, e.UpstreamTransportFailureReason)
	case opUpstreamProtocol:
		return appendString(dst, e.UpstreamProtocol)
	case opUpstreamAttempts:
		return strconv.AppendUint(dst, uint64(e.UpstreamAttempts), 10), true

	case opDownstreamRemoteAddress:
		return appendString(dst, e.DownstreamRemoteAddress)
	case opDownstreamRemoteAddressWithoutPort:
		return appendHost(dst, e.DownstreamRemoteAddress)
	case opDownstreamRemotePort:
		return appendPort(dst, e.DownstreamRemoteAddress)
	case opDownstreamDirectRemoteAddress:
		return appendString(dst, e.directRemote())
	case opDownstreamDirectRemoteAddressWithoutPort:
		return appendHost(dst, e.directRemote())
	case opDownstreamDirectRemotePort:
		return appendPort(dst, e.directRemote())
	case opDownstreamLocalAddress:
		return appendString(dst, e.DownstreamLocalAddress)
	case opDownstreamLocalAddressWithoutPort:
		return appendHost(dst, e.DownstreamLocalAddress)
	case opDownstreamLocalPort:
		return appendPort(dst, e.DownstreamLocalAddress)

	case opProtocol:
		return appendString(dst, e.Protocol)
	case opRouteName:
		return appendString(dst, e.RouteName)
	case opConnectionID:
		return strconv.AppendUint(dst, e.ConnectionID, 10), true
	case opGrpcStatus:
		code, ok := grpcStatus(e)
		if !ok {
			return dst, false
		}
		return p.grpc.append(dst, code), true
	case opLocalReplyBody:
		// Envoy renders the (possibly empty) body, never "-".
		return append(dst, e.LocalReplyBody...), true
	case opAccessLogType:
		return append(dst, "DownstreamEnd"...), true
	case opRequestHeadersBytes:
		n := headerBytes(e.RequestHeader) + pseudoBytes(":method", e.Method) + pseudoBytes(":path", e.Path) +
			pseudoBytes(":authority", e.Authority) + pseudoBytes(":scheme", e.Scheme)
		return strconv.AppendUint(dst, n, 10), true
	case opResponseHeadersBytes:
		n := headerBytes(e.ResponseHeader)
		if e.ResponseCode != 0 {
			n += uint64(len(":status") + 3)
		}
		return strconv.AppendUint(dst, n, 10), true
	case opResponseTrailersBytes:
		return strconv.AppendUint(dst, headerBytes(e.ResponseTrailer), 10), true
	case opUnsupported:
		return dst, false
	}
	return p.appendTLS(dst, e)
}

// appendTLS renders the downstream TLS operators.
func (p *part) appendTLS(dst []byte, e *Entry) ([]byte, bool) {
	cs := e.TLS
	if cs == nil {
		return dst, false
	}
	switch p.kind {
	case opRequestedServerName:
		return appendString(dst, cs.ServerName)
	case opDownstreamTLSVersion:
		return appendString(dst, tlsVersionName(cs.Version))
	case opDownstreamTLSCipher:
		return appendString(dst, cipherName(cs.CipherSuite))
	}
	if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0] == nil {
		return dst, false
	}
	c := cs.PeerCertificates[0]
	switch p.kind {
	case opDownstreamPeerURISAN:
		start := len(dst)
		for i, u := range c.URIs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, u.String()...)
		}
		return dst, len(dst) > start
	case opDownstreamPeerDNSSAN:
		return appendString(dst, strings.Join(c.DNSNames, ","))
	case opDownstreamPeerIPSAN:
		start := len(dst)
		for i, ip := range c.IPAddresses {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, ip.String()...)
		}
		return dst, len(dst) > start
	case opDownstreamPeerSubject:
		return appendString(dst, c.Subject.String())
	case opDownstreamPeerIssuer:
		return appendString(dst, c.Issuer.String())
	case opDownstreamPeerSerial:
		if c.SerialNumber == nil {
			return dst, false
		}
		return hex.AppendEncode(dst, c.SerialNumber.Bytes()), true
	case opDownstreamPeerFingerprint256:
		sum := sha256.Sum256(c.Raw)
		return hex.AppendEncode(dst, sum[:]), true
	case opDownstreamPeerFingerprint1:
		sum := sha1.Sum(c.Raw)
		return hex.AppendEncode(dst, sum[:]), true
	case opDownstreamPeerCertVStart, opDownstreamPeerCertVEnd:
		return p.tf.append(dst, certTime(c, p.kind == opDownstreamPeerCertVStart)), true
	}
	return dst, false
}

func certTime(c *x509.Certificate, start bool) time.Time {
	if start {
		return c.NotBefore
	}
	return c.NotAfter
}

func appendString(dst []byte, s string) ([]byte, bool) {
	return append(dst, s...), s != ""
}

// appendMillis appends to-from in whole milliseconds (Envoy truncates).
func appendMillis(dst []byte, from, to time.Time) ([]byte, bool) {
	if from.IsZero() || to.IsZero() {
		return dst, false
	}
	d := to.Sub(from)
	if d < 0 {
		d = 0
	}
	return strconv.AppendInt(dst, d.Milliseconds(), 10), true
}

func appendHost(dst []byte, addr string) ([]byte, bool) {
	h, _ := splitHostPort(addr)
	return appendString(dst, h)
}

// appendPort appends the port as a plain number ("0080" prints 80), so
// typed JSON can print it bare; anything but 0-65535 is missing.
func appendPort(dst []byte, addr string) ([]byte, bool) {
	_, port := splitHostPort(addr)
	if port == "" {
		return dst, false
	}
	n := 0
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return dst, false
		}
		if n = n*10 + int(port[i]-'0'); n > 65535 {
			return dst, false
		}
	}
	return strconv.AppendInt(dst, int64(n), 10), true
}

// splitHostPort splits "host:port", "[v6]:port", or a bare host, without
// allocating; the host of "[v6]:port" has no brackets, as Envoy prints it.
func splitHostPort(a string) (host, port string) {
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 {
			return a, ""
		}
		if i+1 < len(a) && a[i+1] == ':' {
			port = a[i+2:]
		}
		return a[1:i], port
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 || strings.IndexByte(a[:i], ':') >= 0 { // no port, or a bare IPv6 address
		return a, ""
	}
	return a[:i], a[i+1:]
}

func (e *Entry) directRemote() string {
	if e.DownstreamDirectRemoteAddress != "" {
		return e.DownstreamDirectRemoteAddress
	}
	return e.DownstreamRemoteAddress
}

func (e *Entry) requestHeader(h headerRef) (string, bool) {
	switch h.pseudo {
	case pseudoPath:
		return e.Path, e.Path != ""
	case pseudoMethod:
		return e.Method, e.Method != ""
	case pseudoAuthority:
		return e.Authority, e.Authority != ""
	case pseudoScheme:
		return e.Scheme, e.Scheme != ""
	case originalPath:
		if e.OriginalPath != "" {
			return e.OriginalPath, true
		}
	}
	return first(e.RequestHeader, h.canon)
}

// headerBytes approximates Envoy's HeaderMap::byteSize: names plus values.
func headerBytes(h http.Header) uint64 {
	var n uint64
	for k, vs := range h {
		for _, v := range vs {
			n += uint64(len(k) + len(v))
		}
	}
	return n
}

func pseudoBytes(name, value string) uint64 {
	if value == "" {
		return 0
	}
	return uint64(len(name) + len(value))
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// opensslCiphers maps Go's (IANA) suite names to the OpenSSL names Envoy
// logs; TLS 1.3 suites have the same name in both.
var opensslCiphers = map[uint16]string{
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
}

func cipherName(id uint16) string {
	if n, ok := opensslCiphers[id]; ok {
		return n
	}
	if id == 0 {
		return ""
	}
	return tls.CipherSuiteName(id)
}
