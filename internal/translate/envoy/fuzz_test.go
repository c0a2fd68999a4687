package envoy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/meshgate/meshgate/internal/ir"
	"github.com/meshgate/meshgate/internal/translate/envoy"
)

// FuzzTranslate builds small IRs from the fuzzer's bytes, with every
// feature the IR has and awkward values (empty strings, regex syntax,
// zero durations, duplicate names), and checks that Translate never panics,
// that what it returns passes Validate, and that the evaluator can route a
// request through it.
func FuzzTranslate(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x01\x02\x03\x04\x05\x06\x07\x08", "abcdefghijklmnopqrstuvwxyz0123456789",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0", "\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := genGateway(&bytesSource{b: data})
		res, err := envoy.Translate(g, envoy.Options{})
		if errors.Is(err, envoy.ErrInvalid) {
			t.Fatalf("Translate made resources that fail validation instead of refusing the IR: %v", err)
		}
		if err != nil {
			return // refused: fine, as long as it did not panic
		}
		if err := envoy.Validate(res); err != nil {
			t.Fatalf("invalid resources: %v", err)
		}
		for _, rs := range [][]types.Resource{res.Listeners, res.Routes, res.Clusters} {
			for _, r := range rs {
				if err := envoy.ValidateDeep(r); err != nil {
					t.Fatalf("%s: %v", envoy.ResourceName(r), err)
				}
			}
		}
		for _, l := range g.Listeners {
			if _, err := envoy.Evaluate(res, envoy.Request{Port: l.Port, Path: "/a/b?q=1", Host: "a.example.com", Headers: map[string]string{"x-a": "v1"}}); err != nil {
				t.Fatalf("evaluate: %v", err)
			}
		}
	})
}

// bytesSource hands out the fuzzer's bytes; past the end it gives zeros,
// so every input makes some gateway.
type bytesSource struct {
	b []byte
	i int
}

func (s *bytesSource) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

func (s *bytesSource) n(max int) int { return int(s.byte()) % max }

func pick[T any](s *bytesSource, xs ...T) T { return xs[s.n(len(xs))] }

// usually is xs[0] fifteen times in sixteen, else any of xs: the first
// value is the sound one, the others probe refusals.
func usually[T any](s *bytesSource, xs ...T) T {
	if s.n(16) != 0 {
		return xs[0]
	}
	return pick(s, xs...)
}

func (s *bytesSource) str(xs ...string) *string {
	if s.n(3) == 0 {
		return nil
	}
	v := pick(s, xs...)
	return &v
}

var (
	fuzzPaths   = []string{"/", "/a", "/a/", "/a.b", "", "/(x)", `/\1`, "/%", "a", "/a//b", "/" + strings.Repeat("x", 70), "/" + strings.Repeat("y", 70) + "/"}
	fuzzRegexes = []string{"/re/[0-9]+", "a*", "", "(", ".*", `\d{3}`, "[", "x|y"}
	fuzzValues  = []string{"v1", "", "%REQ(x)%", "a b", "\x00", "ü"}
	fuzzHosts   = []string{"*", "a.example.com", "*.example.com", "", "**", "b.*", "*.a*"}
	fuzzProtos  = []ir.Protocol{ir.HTTP, ir.HTTP2, ir.GRPC, ir.TCP, ""}
)

func genGateway(s *bytesSource) *ir.Gateway {
	g := &ir.Gateway{Mesh: usually(s, "m", "", "m_1"), Name: usually(s, "gw", "", "g w")}
	nc := 1 + s.n(3)
	for i := 0; i < nc; i++ {
		c := ir.Cluster{
			Name:     usually(s, fmt.Sprintf("c%d", i), "c0"),
			Node:     "n",
			Port:     uint32(usually(s, 9080, 0, 70000)),
			Protocol: usually(s, pick(s, ir.HTTP, ir.HTTP2, ir.GRPC), ir.TCP, ""),
			Discovery: ir.Discovery{Hostname: usually(s, "n.local", "", "127.0.0.1"), Port: uint32(usually(s, 9080, 0)),
				AllEndpoints: s.n(2) == 0, IPPreference: usually(s, pick(s, "", "IPv4_ONLY", "IPv6_PREFERRED", "IPv4_PREFERRED", "IPv6_ONLY"), "bogus")},
		}
		if s.n(2) == 0 {
			c.HealthCheck = &ir.HealthCheck{Protocol: usually(s, pick(s, ir.HTTP, ir.HTTP2, ir.TCP), ir.GRPC, ""), Path: pick(s, fuzzPaths...), Port: uint32(s.n(3)) * 9080,
				Interval: ir.Duration(time.Duration(usually(s, 5, 0)) * time.Second), Timeout: ir.Duration(time.Duration(usually(s, 2, 0)) * time.Second),
				HealthyThreshold: uint32(s.n(4)), UnhealthyThreshold: uint32(s.n(4))}
		}
		if s.n(2) == 0 {
			c.Outlier = &ir.OutlierDetection{MaxServerErrors: uint32(usually(s, 1+s.n(3), 0)), Interval: ir.Duration(time.Duration(s.n(3)) * time.Second),
				BaseEjectionDuration: ir.Duration(time.Duration(s.n(3)) * time.Second), MaxEjectionPercent: uint32(s.byte())}
		}
		if s.n(2) == 0 {
			c.TLS = &ir.UpstreamTLS{SNI: pick(s, "n.local", ""), Certificate: genCert(s), Validation: genValidation(s)}
		}
		g.Clusters = append(g.Clusters, c)
	}
	ns := s.n(3)
	for i := 0; i < ns; i++ {
		svc := ir.Service{Name: usually(s, fmt.Sprintf("s%d.local", i), "s0.local", "", "S0.LOCAL", "a b:c%"), Port: uint32(usually(s, 9080, 0)), Provider: pick(s, "virtualRouter/vr", "virtualNode/n", ""), Protocol: pick(s, fuzzProtos...)}
		nr := s.n(3)
		for j := 0; j < nr; j++ {
			r := ir.Route{Name: pick(s, "r", ""), Match: genMatch(s), Timeout: ir.Duration(time.Duration(usually(s, s.n(3), -1)) * time.Second),
				IdleTimeout: ir.Duration(time.Duration(s.n(3)) * time.Second)}
			nt := s.n(3)
			for k := 0; k < nt; k++ {
				r.Targets = append(r.Targets, ir.WeightedTarget{Cluster: usually(s, fmt.Sprintf("c%d", s.n(nc)), "nope"), Weight: uint32(s.n(3))})
			}
			if s.n(2) == 0 {
				r.Retry = &ir.RetryPolicy{MaxRetries: uint32(s.n(4)), PerTryTimeout: ir.Duration(time.Duration(s.n(3)) * time.Millisecond),
					HTTPEvents: pickSome(s, "server-error", "gateway-error", "client-error", "stream-error", usually(s, "server-error", "bogus")),
					TCPEvents:  pickSome(s, "connection-error"), GRPCEvents: pickSome(s, "cancelled", "unavailable"),
					StatusCodes: []uint32{uint32(usually(s, 503, 0, 700))}}
			}
			svc.Routes = append(svc.Routes, r)
		}
		g.Services = append(g.Services, svc)
	}
	nl := s.n(4)
	for i := 0; i < nl; i++ {
		l := ir.Listener{Port: uint32(usually(s, 8080+i, 0, 15001, 8080)), Protocol: usually(s, pick(s, ir.HTTP, ir.HTTP2, ir.GRPC), ir.TCP, "")}
		if s.n(2) == 0 {
			l.TLS = &ir.ListenerTLS{Mode: usually(s, pick(s, ir.TLSStrict, ir.TLSPermissive, ir.TLSDisabled), "BOGUS"), Validation: genValidation(s)}
			if c := genCert(s); c != nil {
				l.TLS.Certificate = *c
			}
		}
		if s.n(2) == 0 {
			l.Limits = &ir.ConnectionLimits{MaxConnections: uint32(s.n(3)), MaxPendingRequests: uint32(s.n(3)), MaxRequests: uint32(s.n(3))}
		}
		nv := 1 + s.n(3)
		for j := 0; j < nv; j++ {
			vh := ir.VirtualHost{Name: usually(s, fmt.Sprintf("vh%d", j), "vh0"), Domains: []string{usually(s, pick(s, "*", fmt.Sprintf("h%d.example.com", j), fmt.Sprintf("*.s%d.example.com", j), fmt.Sprintf("p%d.*", j)), pick(s, fuzzHosts...))}}
			ngr := s.n(4)
			for k := 0; k < ngr; k++ {
				gr := ir.GatewayRoute{Name: pick(s, "gr", ""), Match: genMatch(s), Action: ir.GatewayRouteAction{
					Service: usually(s, fmt.Sprintf("s%d.local", s.n(max(ns, 1))), ""), Port: uint32(usually(s, 9080, 0)),
					HostRewrite: pick(s, "", "a.local", "100%", `a\b`), PathRewrite: usually(s, "", pick(s, "/x", "x", `/\1`))}}
				if gr.Action.PathRewrite == "" && gr.Match.Path == "" && gr.Match.PathRegex == "" || s.n(8) == 0 {
					if s.n(3) != 0 {
						v := usually(s, "/", pick(s, fuzzPaths...))
						gr.Action.PrefixRewrite = &v
					}
				}
				vh.Routes = append(vh.Routes, gr)
			}
			l.VirtualHosts = append(l.VirtualHosts, vh)
		}
		g.Listeners = append(g.Listeners, l)
	}
	if s.n(2) == 0 {
		g.AccessLog = &ir.AccessLog{Path: pick(s, "/dev/stdout", ""), Text: pick(s, "", "%START_TIME%", "x\n")}
		if s.n(2) == 0 {
			g.AccessLog.JSON = []ir.JSONField{{Key: pick(s, "k", ""), Value: pick(s, fuzzValues...)}}
		}
	}
	return g
}

func genMatch(s *bytesSource) ir.Match {
	m := ir.Match{}
	switch s.n(4) {
	case 0:
		m.Prefix = pick(s, fuzzPaths...)
	case 1:
		m.Path = pick(s, fuzzPaths...)
	case 2:
		m.PathRegex = usually(s, pick(s, "/re/[0-9]+", "a*", ".*", `\d{3}`, "x|y"), pick(s, fuzzRegexes...))
	}
	if s.n(8) == 0 {
		m.Prefix = pick(s, fuzzPaths...) // sometimes two path criteria
	}
	m.Method = pick(s, "", "GET", "POST")
	m.Scheme = pick(s, "", "http", "https")
	nh := s.n(4)
	for i := 0; i < nh; i++ {
		h := ir.HeaderMatch{Name: usually(s, pick(s, "x-a", "host", ":authority"), "", "X-Up"), Invert: s.n(2) == 0}
		switch s.n(13) {
		case 0:
			h.Exact = s.str(fuzzValues...)
		case 1:
			h.Prefix = s.str(fuzzValues...)
		case 2:
			h.Suffix = s.str(fuzzValues...)
		case 3:
			h.Regex = s.str(fuzzRegexes...)
		case 4:
			h.Range = &ir.Range{Start: int64(s.n(20)) - 5, End: int64(s.n(20)) - 5}
		case 5:
			h.Exact, h.Suffix = s.str(fuzzValues...), s.str(fuzzValues...) // two criteria
		}
		m.Headers = append(m.Headers, h)
	}
	nq := s.n(3)
	for i := 0; i < nq; i++ {
		m.Query = append(m.Query, ir.QueryMatch{Name: usually(s, "q", "", "a b"), Exact: s.str(fuzzValues...)})
	}
	return m
}

func genCert(s *bytesSource) *ir.Certificate {
	switch usually(s, s.n(2), 2, 3) {
	case 0:
		return &ir.Certificate{CertificateChain: "/c.pem", PrivateKey: "/k.pem"}
	case 1:
		return &ir.Certificate{SDS: usually(s, "secret", "")}
	case 2:
		return &ir.Certificate{CertificateChain: "/c.pem"}
	}
	return nil
}

func genValidation(s *bytesSource) *ir.Validation {
	if s.n(2) == 0 {
		return nil
	}
	v := &ir.Validation{}
	switch usually(s, s.n(2), 2) {
	case 0:
		v.TrustChain = "/ca.pem"
	case 1:
		v.TrustSDS = pick(s, "ca", "")
	}
	if s.n(2) == 0 {
		v.SubjectAltNames = []string{pick(s, "a.example", "", "spiffe://x/y")}
	}
	return v
}

func pickSome(s *bytesSource, xs ...string) []string {
	var out []string
	for _, x := range xs {
		if s.n(3) == 0 {
			out = append(out, x)
		}
	}
	return out
}
