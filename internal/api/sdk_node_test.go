package api_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/appmesh/types"
)

// richNodeSpec uses most of VirtualNodeSpec, with optional members (enforce,
// responseType on the second listener...) deliberately left out so that a
// filled-in default would show.
func richNodeSpec() *types.VirtualNodeSpec {
	sec := func(v int64) *types.Duration { return &types.Duration{Value: aws.Int64(v), Unit: types.DurationUnitS} }
	return &types.VirtualNodeSpec{
		Listeners: []types.Listener{
			{
				PortMapping: &types.PortMapping{Port: aws.Int32(8080), Protocol: types.PortProtocolHttp},
				HealthCheck: &types.HealthCheckPolicy{
					HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(3),
					IntervalMillis: aws.Int64(5000), TimeoutMillis: aws.Int64(2000),
					Protocol: types.PortProtocolHttp, Path: aws.String("/ping"), Port: aws.Int32(8080),
				},
				ConnectionPool: &types.VirtualNodeConnectionPoolMemberHttp{Value: types.VirtualNodeHttpConnectionPool{
					MaxConnections: aws.Int32(10), MaxPendingRequests: aws.Int32(5)}},
				OutlierDetection: &types.OutlierDetection{
					MaxServerErrors: aws.Int64(5), Interval: sec(10), BaseEjectionDuration: &types.Duration{Value: aws.Int64(300), Unit: types.DurationUnitMs},
					MaxEjectionPercent: aws.Int32(50),
				},
				Timeout: &types.ListenerTimeoutMemberHttp{Value: types.HttpTimeout{PerRequest: sec(15), Idle: sec(0)}},
				Tls: &types.ListenerTls{
					Mode: types.ListenerTlsModeStrict,
					Certificate: &types.ListenerTlsCertificateMemberFile{Value: types.ListenerTlsFileCertificate{
						CertificateChain: aws.String("/certs/chain.pem"), PrivateKey: aws.String("/certs/key.pem")}},
					Validation: &types.ListenerTlsValidationContext{
						Trust: &types.ListenerTlsValidationContextTrustMemberSds{Value: types.TlsValidationContextSdsTrust{SecretName: aws.String("client-ca")}},
						SubjectAlternativeNames: &types.SubjectAlternativeNames{Match: &types.SubjectAlternativeNameMatchers{
							Exact: []string{"client.example.com"}}},
					},
				},
			},
			{PortMapping: &types.PortMapping{Port: aws.Int32(9090), Protocol: types.PortProtocolTcp}},
		},
		ServiceDiscovery: &types.ServiceDiscoveryMemberDns{Value: types.DnsServiceDiscovery{
			Hostname: aws.String("node.example.local"), ResponseType: types.DnsResponseTypeEndpoints, IpPreference: types.IpPreferenceIPv4Only}},
		Backends: []types.Backend{
			&types.BackendMemberVirtualService{Value: types.VirtualServiceBackend{
				VirtualServiceName: aws.String("svc-a.example.local"),
				ClientPolicy: &types.ClientPolicy{Tls: &types.ClientPolicyTls{
					Enforce: aws.Bool(false), Ports: []int32{443, 8443},
					Certificate: &types.ClientTlsCertificateMemberSds{Value: types.ListenerTlsSdsCertificate{SecretName: aws.String("my-cert")}},
					Validation: &types.TlsValidationContext{Trust: &types.TlsValidationContextTrustMemberFile{
						Value: types.TlsValidationContextFileTrust{CertificateChain: aws.String("/certs/ca.pem")}}},
				}},
			}},
			&types.BackendMemberVirtualService{Value: types.VirtualServiceBackend{VirtualServiceName: aws.String("svc-b.example.local")}},
		},
		BackendDefaults: &types.BackendDefaults{ClientPolicy: &types.ClientPolicy{Tls: &types.ClientPolicyTls{
			Validation: &types.TlsValidationContext{Trust: &types.TlsValidationContextTrustMemberSds{
				Value: types.TlsValidationContextSdsTrust{SecretName: aws.String("mesh-ca")}}},
		}}},
		Logging: &types.Logging{AccessLog: &types.AccessLogMemberFile{Value: types.FileAccessLog{
			Path: aws.String("/dev/stdout"),
			Format: &types.LoggingFormatMemberJson{Value: []types.JsonFormatRef{
				{Key: aws.String("start"), Value: aws.String("%START_TIME%")},
				{Key: aws.String("code"), Value: aws.String("%RESPONSE_CODE%")},
			}},
		}}},
	}
}

// TestVirtualNodeLifecycle drives the five virtual node operations.
func TestVirtualNodeLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkMesh(t, c, "other")

	spec := richNodeSpec()
	created := res(c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{
		MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: spec,
	})).ok(t).VirtualNode
	if deref(created.MeshName) != "m" || deref(created.VirtualNodeName) != "vn" {
		t.Errorf("names = %q/%q", deref(created.MeshName), deref(created.VirtualNodeName))
	}
	checkCreated(t, "CreateVirtualNode", created.Metadata, arnPrefix+"mesh/m/virtualNode/vn")
	if created.Status == nil || created.Status.Status != types.VirtualNodeStatusCodeActive {
		t.Errorf("status = %+v", created.Status)
	}
	sameSpec(t, "CreateVirtualNode", spec, created.Spec)

	// The same name in another mesh is another resource.
	twin := mkNode(t, c, "other", "vn", 80)
	if deref(twin.Metadata.Uid) == deref(created.Metadata.Uid) {
		t.Error("nodes in two meshes share a uid")
	}
	if deref(twin.Metadata.Arn) != arnPrefix+"mesh/other/virtualNode/vn" {
		t.Errorf("twin arn = %q", deref(twin.Metadata.Arn))
	}

	desc := res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{
		MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), MeshOwner: aws.String(testAccount),
	})).ok(t).VirtualNode
	sameSpec(t, "DescribeVirtualNode", created, desc)

	// Update to a node without listeners: the old members are gone.
	spec2 := &types.VirtualNodeSpec{Backends: []types.Backend{
		&types.BackendMemberVirtualService{Value: types.VirtualServiceBackend{VirtualServiceName: aws.String("svc-c")}}}}
	updated := res(c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{
		MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: spec2,
	})).ok(t).VirtualNode
	checkUpdated(t, "UpdateVirtualNode", created.Metadata, updated.Metadata)
	sameSpec(t, "UpdateVirtualNode", spec2, updated.Spec)
	desc = res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{
		MeshName: aws.String("m"), VirtualNodeName: aws.String("vn")})).ok(t).VirtualNode
	sameSpec(t, "DescribeVirtualNode after update", updated, desc)

	list := res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m")})).ok(t)
	if len(list.VirtualNodes) != 1 || list.NextToken != nil {
		t.Fatalf("ListVirtualNodes = %s, next %v", dump(list.VirtualNodes), list.NextToken)
	}
	r := list.VirtualNodes[0]
	if deref(r.MeshName) != "m" || deref(r.VirtualNodeName) != "vn" {
		t.Errorf("ref names = %q/%q", deref(r.MeshName), deref(r.VirtualNodeName))
	}
	checkRef(t, "VirtualNodeRef", updated.Metadata, r.Arn, r.CreatedAt, r.LastUpdatedAt, r.MeshOwner, r.ResourceOwner, r.Version)

	deleted := res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{
		MeshName: aws.String("m"), VirtualNodeName: aws.String("vn")})).ok(t).VirtualNode
	checkDeleted(t, "DeleteVirtualNode", updated.Metadata, deleted.Metadata, false)
	if deleted.Status.Status != types.VirtualNodeStatusCodeDeleted {
		t.Errorf("delete status = %q", deleted.Status.Status)
	}
	if deref(deleted.Metadata.Version) != 3 {
		t.Errorf("delete version = %d, want 3", deref(deleted.Metadata.Version))
	}
	sameSpec(t, "DeleteVirtualNode", spec2, deleted.Spec)

	_, err := c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn")})
	notFound(t, err, "vn", "m")
	_, err = c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn")})
	notFound(t, err, "vn")
	list = res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m")})).ok(t)
	if len(list.VirtualNodes) != 0 {
		t.Errorf("ListVirtualNodes after delete = %s", dump(list.VirtualNodes))
	}
	// The twin in the other mesh is untouched.
	res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("other"), VirtualNodeName: aws.String("vn")})).ok(t)

	again := mkNode(t, c, "m", "vn", 80)
	checkCreated(t, "recreated node", again.Metadata, arnPrefix+"mesh/m/virtualNode/vn")
	if deref(again.Metadata.Uid) == deref(created.Metadata.Uid) {
		t.Error("recreated node reuses the uid")
	}
}

// TestVirtualNodeErrors covers the virtual node error paths.
func TestVirtualNodeErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	orig := mkNode(t, c, "m", "vn", 80)

	unchanged := func(t *testing.T) {
		t.Helper()
		d := res(c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn")})).ok(t).VirtualNode
		sameSpec(t, "node after a failed request", orig, d)
		l := res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m")})).ok(t)
		if len(l.VirtualNodes) != 1 {
			t.Errorf("nodes after a failed request = %s", dump(l.VirtualNodes))
		}
	}

	t.Run("missing mesh", func(t *testing.T) {
		_, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("nomesh"), VirtualNodeName: aws.String("vn"), Spec: nodeSpec("h", 80)})
		notFound(t, err, "nomesh")
		_, err = c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("nomesh"), VirtualNodeName: aws.String("vn")})
		notFound(t, err, "nomesh")
		_, err = c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("nomesh"), VirtualNodeName: aws.String("vn"), Spec: nodeSpec("h", 80)})
		notFound(t, err, "nomesh")
		_, err = c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("nomesh"), VirtualNodeName: aws.String("vn")})
		notFound(t, err, "nomesh")
		_, err = c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("nomesh")})
		notFound(t, err, "nomesh")
	})
	t.Run("missing node", func(t *testing.T) {
		_, err := c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("ghost")})
		notFound(t, err, "ghost")
		_, err = c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("ghost"), Spec: nodeSpec("h", 80)})
		notFound(t, err, "ghost")
		_, err = c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("ghost")})
		notFound(t, err, "ghost")
		unchanged(t)
	})
	t.Run("foreign meshOwner", func(t *testing.T) {
		other := aws.String("444455556666")
		_, err := c.DescribeVirtualNode(ctx(t), &appmesh.DescribeVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), MeshOwner: other})
		notFound(t, err, "444455556666")
		_, err = c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn2"), Spec: nodeSpec("h", 80), MeshOwner: other})
		notFound(t, err, "444455556666")
		_, err = c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: nodeSpec("h", 81), MeshOwner: other})
		notFound(t, err, "444455556666")
		_, err = c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), MeshOwner: other})
		notFound(t, err, "444455556666")
		_, err = c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m"), MeshOwner: other})
		notFound(t, err, "444455556666")
		unchanged(t)
	})
	t.Run("duplicate name", func(t *testing.T) {
		_, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: nodeSpec("h", 81)})
		conflict(t, err, "vn")
		unchanged(t)
	})
	t.Run("port 0", func(t *testing.T) {
		_, err := c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: nodeSpec("h", 0)})
		badRequest(t, err, "port")
		unchanged(t)
	})
	t.Run("port 70000", func(t *testing.T) {
		_, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn2"), Spec: nodeSpec("h", 70000)})
		badRequest(t, err, "port", "70000")
		unchanged(t)
	})
	t.Run("bad protocol enum", func(t *testing.T) {
		s := nodeSpec("h", 80)
		s.Listeners[0].PortMapping.Protocol = "udp"
		_, err := c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: s})
		badRequest(t, err, "protocol", "udp")
		unchanged(t)
	})
	t.Run("listener without service discovery", func(t *testing.T) {
		s := nodeSpec("h", 80)
		s.ServiceDiscovery = nil
		_, err := c.CreateVirtualNode(ctx(t), &appmesh.CreateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn2"), Spec: s})
		badRequest(t, err, "serviceDiscovery")
		unchanged(t)
	})
	t.Run("grpc health check on http listener", func(t *testing.T) {
		s := nodeSpec("h", 80)
		s.Listeners[0].HealthCheck = &types.HealthCheckPolicy{HealthyThreshold: aws.Int32(2), UnhealthyThreshold: aws.Int32(2),
			IntervalMillis: aws.Int64(5000), TimeoutMillis: aws.Int64(2000), Protocol: types.PortProtocolGrpc}
		_, err := c.UpdateVirtualNode(ctx(t), &appmesh.UpdateVirtualNodeInput{MeshName: aws.String("m"), VirtualNodeName: aws.String("vn"), Spec: s})
		badRequest(t, err, "GRPC HealthCheck requires listener type of HTTP2 or GRPC")
		unchanged(t)
	})
}
