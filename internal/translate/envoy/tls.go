package envoy

import (
	"fmt"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/meshgate/meshgate/internal/ir"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// downstreamTLS is the transport socket terminating TLS on a listener.
func (t *translator) downstreamTLS(l ir.Listener) (*core.TransportSocket, error) {
	common, err := t.commonTLS(l.TLS.Certificate, l.TLS.Validation)
	if err != nil {
		return nil, err
	}
	if common == nil {
		return nil, fmt.Errorf("TLS mode %s needs a certificate", l.TLS.Mode)
	}
	if l.Protocol == ir.HTTP2 || l.Protocol == ir.GRPC {
		// Without h2 in ALPN, TLS clients (gRPC ones included) would not
		// negotiate HTTP/2 with an HTTP/2-only codec.
		common.AlpnProtocols = []string{"h2", "http/1.1"}
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: common}
	if l.TLS.Validation != nil {
		ctx.RequireClientCertificate = wrapperspb.Bool(true)
	}
	return transportSocket(ctx)
}

// upstreamTLS is the transport socket originating TLS towards a cluster.
func (t *translator) upstreamTLS(c ir.Cluster) (*core.TransportSocket, error) {
	var cert ir.Certificate
	if c.TLS.Certificate != nil {
		cert = *c.TLS.Certificate
	}
	common, err := t.commonTLS(cert, c.TLS.Validation)
	if err != nil {
		return nil, err
	}
	if common == nil {
		common = &tlsv3.CommonTlsContext{}
	}
	if c.Protocol == ir.HTTP2 || c.Protocol == ir.GRPC {
		common.AlpnProtocols = []string{"h2"}
	} else {
		common.AlpnProtocols = []string{"http/1.1"}
	}
	return transportSocket(&tlsv3.UpstreamTlsContext{CommonTlsContext: common, Sni: c.TLS.SNI})
}

// commonTLS holds a certificate (files or SDS) and a validation context
// (trust bundle from a file or SDS, plus SANs). It is nil when there is
// neither.
func (t *translator) commonTLS(cert ir.Certificate, v *ir.Validation) (*tlsv3.CommonTlsContext, error) {
	common := &tlsv3.CommonTlsContext{}
	empty := true
	switch {
	case cert.SDS != "":
		common.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{t.sdsSecret(cert.SDS)}
		empty = false
	case cert.CertificateChain != "" || cert.PrivateKey != "":
		if cert.CertificateChain == "" || cert.PrivateKey == "" {
			return nil, fmt.Errorf("a file certificate needs both a chain and a key")
		}
		common.TlsCertificates = []*tlsv3.TlsCertificate{{
			CertificateChain: fileSource(cert.CertificateChain),
			PrivateKey:       fileSource(cert.PrivateKey),
		}}
		empty = false
	}
	if v != nil {
		if err := t.setValidation(common, v); err != nil {
			return nil, err
		}
		empty = false
	}
	if empty {
		return nil, nil
	}
	return common, nil
}

// setValidation sets a trust bundle plus SAN matchers. An SDS trust
// bundle with SANs needs the combined form: the SANs stay in the static part.
func (t *translator) setValidation(common *tlsv3.CommonTlsContext, v *ir.Validation) error {
	sans := sanMatchers(v.SubjectAltNames)
	switch {
	case v.TrustSDS != "" && len(sans) == 0:
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{ValidationContextSdsSecretConfig: t.sdsSecret(v.TrustSDS)}
	case v.TrustSDS != "":
		common.ValidationContextType = &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
			DefaultValidationContext:         &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: sans},
			ValidationContextSdsSecretConfig: t.sdsSecret(v.TrustSDS),
		}}
	case v.TrustChain != "":
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa:                 fileSource(v.TrustChain),
			MatchTypedSubjectAltNames: sans,
		}}
	default:
		// SANs without a trust bundle would let any self-signed certificate
		// naming the right host through; refuse rather than weaken the check.
		return fmt.Errorf("certificate validation needs a trust bundle (file or SDS)")
	}
	return nil
}

// sanMatchers accepts a name as a DNS or a URI SAN: App Mesh SANs are
// "FQDN or URI", and its Envoy matched both kinds for each name.
func sanMatchers(names []string) []*tlsv3.SubjectAltNameMatcher {
	var out []*tlsv3.SubjectAltNameMatcher
	for _, n := range names {
		for _, typ := range []tlsv3.SubjectAltNameMatcher_SanType{tlsv3.SubjectAltNameMatcher_DNS, tlsv3.SubjectAltNameMatcher_URI} {
			out = append(out, &tlsv3.SubjectAltNameMatcher{SanType: typ, Matcher: &matcher.StringMatcher{
				MatchPattern: &matcher.StringMatcher_Exact{Exact: n},
			}})
		}
	}
	return out
}

func (t *translator) sdsSecret(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: sdsSource(t.o.SDSCluster)}
}

func transportSocket(ctx proto.Message) (*core.TransportSocket, error) {
	a, err := marshalAny(ctx)
	if err != nil {
		return nil, err
	}
	return &core.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &core.TransportSocket_TypedConfig{TypedConfig: a}}, nil
}
