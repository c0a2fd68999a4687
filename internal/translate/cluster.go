package translate

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/ir"
)

// cluster returns (and remembers) the cluster for a virtual node's listener
// on port: ok=false when the node or that listener does not exist.
func (s *serviceSet) cluster(node string, port uint32) (ir.Cluster, bool) {
	n, ok := s.m.Nodes[node]
	if !ok {
		return ir.Cluster{}, false
	}
	var l *appmesh.Listener
	for i := range n.Spec.Listeners {
		if uint32(*n.Spec.Listeners[i].PortMapping.Port) == port {
			l = &n.Spec.Listeners[i]
		}
	}
	if l == nil || n.Spec.ServiceDiscovery == nil {
		return ir.Cluster{}, false
	}
	protocol := ir.Protocol(*l.PortMapping.Protocol)
	name := fmt.Sprintf("cds_egress_%s_%s_%s_%d", s.m.Mesh, node, protocol, port)
	if c, ok := s.clusters[name]; ok {
		return c, true
	}
	c := ir.Cluster{Name: name, Node: node, Port: port, Protocol: protocol,
		Discovery: discovery(n.Spec.ServiceDiscovery, s.meshIPPreference(), port)}
	if hc := l.HealthCheck; hc != nil {
		c.HealthCheck = &ir.HealthCheck{
			Protocol: ir.Protocol(*hc.Protocol), Port: u32(hc.Port),
			Interval:         ir.Duration(time.Duration(*hc.IntervalMillis) * time.Millisecond),
			Timeout:          ir.Duration(time.Duration(*hc.TimeoutMillis) * time.Millisecond),
			HealthyThreshold: u32(hc.HealthyThreshold), UnhealthyThreshold: u32(hc.UnhealthyThreshold),
		}
		// App Mesh ignores the path of tcp and grpc health checks.
		if c.HealthCheck.Protocol == ir.HTTP || c.HealthCheck.Protocol == ir.HTTP2 {
			c.HealthCheck.Path = deref(hc.Path)
		}
	}
	if od := l.OutlierDetection; od != nil {
		c.Outlier = &ir.OutlierDetection{MaxServerErrors: u32(od.MaxServerErrors), Interval: duration(od.Interval),
			BaseEjectionDuration: duration(od.BaseEjectionDuration), MaxEjectionPercent: u32(od.MaxEjectionPercent)}
	}
	c.TLS = s.upstreamTLS(l, c.Discovery.Hostname, port)
	s.clusters[name] = c
	return c, true
}

func (s *serviceSet) meshIPPreference() string {
	if sd := s.m.MeshSpec.ServiceDiscovery; sd != nil {
		return deref(sd.IpPreference)
	}
	return ""
}

// discovery maps a node's service discovery. Cloud Map has no meaning
// without AWS; meshgate resolves it through DNS as serviceName.namespaceName,
// the name a Cloud Map private DNS namespace publishes, using every
// address as Cloud Map instances were.
func discovery(sd *appmesh.ServiceDiscovery, meshPref string, port uint32) ir.Discovery {
	d := ir.Discovery{Port: port, IPPreference: meshPref}
	switch {
	case sd.Dns != nil:
		d.Hostname = *sd.Dns.Hostname
		d.AllEndpoints = deref(sd.Dns.ResponseType) == "ENDPOINTS"
		if sd.Dns.IpPreference != nil {
			d.IPPreference = *sd.Dns.IpPreference
		}
	case sd.AwsCloudMap != nil:
		d.Hostname = *sd.AwsCloudMap.ServiceName + "." + *sd.AwsCloudMap.NamespaceName
		d.AllEndpoints = true
		if sd.AwsCloudMap.IpPreference != nil {
			d.IPPreference = *sd.AwsCloudMap.IpPreference
		}
	}
	return d
}

// upstreamTLS decides TLS origination to a node listener (UG:tls "How App
// Mesh configures Envoys to negotiate TLS"): the gateway's client policy
// when it is enforced and covers the port; otherwise the node listener's
// own TLS mode decides, and then the certificate is not validated.
func (s *serviceSet) upstreamTLS(l *appmesh.Listener, hostname string, port uint32) *ir.UpstreamTLS {
	var policy *appmesh.VirtualGatewayClientPolicyTls
	if bd := s.m.Gateway.Spec.BackendDefaults; bd != nil && bd.ClientPolicy != nil {
		policy = bd.ClientPolicy.Tls
	}
	if policy != nil && (policy.Enforce == nil || *policy.Enforce) &&
		(len(policy.Ports) == 0 || slices.Contains(policy.Ports, int64(port))) {
		t := &ir.UpstreamTLS{SNI: hostname}
		if c := policy.Certificate; c != nil {
			if c.File != nil {
				t.Certificate = &ir.Certificate{CertificateChain: *c.File.CertificateChain, PrivateKey: *c.File.PrivateKey}
			} else if c.Sds != nil {
				t.Certificate = &ir.Certificate{SDS: *c.Sds.SecretName}
			}
		}
		if v := policy.Validation; v != nil {
			t.Validation = &ir.Validation{SubjectAltNames: sans(v.SubjectAlternativeNames)}
			if v.Trust.File != nil {
				t.Validation.TrustChain = *v.Trust.File.CertificateChain
			} else if v.Trust.Sds != nil {
				t.Validation.TrustSDS = *v.Trust.Sds.SecretName
			}
			// Without SANs, the certificate must name the node's DNS host.
			if len(t.Validation.SubjectAltNames) == 0 && hostname != "" {
				t.Validation.SubjectAltNames = []string{hostname}
			}
		}
		return t
	}
	if l.Tls != nil && (deref(l.Tls.Mode) == "STRICT" || deref(l.Tls.Mode) == "PERMISSIVE") {
		return &ir.UpstreamTLS{SNI: hostname}
	}
	return nil
}
