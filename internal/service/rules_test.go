package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/appmesh"
	"github.com/meshgate/meshgate/internal/store"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

func newTestService(t testing.TB, q Quotas) *Service {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(st, Config{Region: "us-west-2", AccountID: "111122223333", Quotas: q,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// must decodes a JSON spec for a test or stops it.
func must[S any](t testing.TB, js string) *S {
	t.Helper()
	s := new(S)
	if err := json.Unmarshal([]byte(js), s); err != nil {
		t.Fatalf("test spec %s: %v", js, err)
	}
	return s
}

// rulesFixture is a mesh with gateways, routers, nodes and services of one
// and two listeners, for the rules that look across resources.
func rulesFixture(t *testing.T, s *Service) {
	ctx := context.Background()
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: new("m")})
	step(err)
	for name, spec := range map[string]string{
		"one":  `{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}]}`,
		"two":  `{"listeners":[{"portMapping":{"port":1111,"protocol":"http"}},{"portMapping":{"port":2222,"protocol":"http"}}]}`,
		"grpc": `{"listeners":[{"portMapping":{"port":9000,"protocol":"grpc"}}]}`,
	} {
		_, err := s.CreateVirtualGateway(ctx, &appmesh.CreateVirtualGatewayInput{MeshName: new("m"), VirtualGatewayName: new(name), Spec: must[appmesh.VirtualGatewaySpec](t, spec)})
		step(err)
	}
	for name, spec := range map[string]string{
		"single": `{"listeners":[{"portMapping":{"port":5555,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"single.local"}}}`,
		"double": `{"listeners":[{"portMapping":{"port":5555,"protocol":"http"}},{"portMapping":{"port":6666,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"double.local"}}}`,
	} {
		_, err := s.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: new("m"), VirtualNodeName: new(name), Spec: must[appmesh.VirtualNodeSpec](t, spec)})
		step(err)
	}
	for name, spec := range map[string]string{
		"single-r": `{"listeners":[{"portMapping":{"port":3333,"protocol":"http"}}]}`,
		"double-r": `{"listeners":[{"portMapping":{"port":3333,"protocol":"http"}},{"portMapping":{"port":4444,"protocol":"http"}}]}`,
	} {
		_, err := s.CreateVirtualRouter(ctx, &appmesh.CreateVirtualRouterInput{MeshName: new("m"), VirtualRouterName: new(name), Spec: must[appmesh.VirtualRouterSpec](t, spec)})
		step(err)
	}
	for name, spec := range map[string]string{
		"to-single":   `{"provider":{"virtualNode":{"virtualNodeName":"single"}}}`,
		"to-double":   `{"provider":{"virtualNode":{"virtualNodeName":"double"}}}`,
		"to-router2":  `{"provider":{"virtualRouter":{"virtualRouterName":"double-r"}}}`,
		"no-provider": `{}`,
	} {
		_, err := s.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: new("m"), VirtualServiceName: new(name), Spec: must[appmesh.VirtualServiceSpec](t, spec)})
		step(err)
	}
}

// TestCrossResourceRules: each rule that looks at other stored resources,
// one valid and one invalid input each (reference §3.2, §5.5, §5.6 V2,
// V15, V16, V19, §12.4).
func TestCrossResourceRules(t *testing.T) {
	s := newTestService(t, DefaultQuotas())
	rulesFixture(t, s)
	ctx := context.Background()
	gr := func(gw, name, spec string) error {
		_, err := s.CreateGatewayRoute(ctx, &appmesh.CreateGatewayRouteInput{MeshName: new("m"), VirtualGatewayName: new(gw),
			GatewayRouteName: new(name), Spec: must[appmesh.GatewayRouteSpec](t, spec)})
		return err
	}
	route := func(vr, name, spec string) error {
		_, err := s.CreateRoute(ctx, &appmesh.CreateRouteInput{MeshName: new("m"), VirtualRouterName: new(vr),
			RouteName: new(name), Spec: must[appmesh.RouteSpec](t, spec)})
		return err
	}
	vs := func(name, spec string) error {
		_, err := s.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: new("m"), VirtualServiceName: new(name),
			Spec: must[appmesh.VirtualServiceSpec](t, spec)})
		return err
	}
	httpGR := func(match, target string) string {
		return `{"httpRoute":{"match":` + match + `,"action":{"target":` + target + `}}}`
	}
	cases := []struct {
		rule string
		run  func() error
		code string // "" = accepted
		want string
	}{
		{"V2 route type matches the listener", func() error {
			return gr("one", "a", httpGR(`{"prefix":"/"}`, `{"virtualService":{"virtualServiceName":"to-single"}}`))
		}, "", ""},
		{"V2 grpcRoute on an http listener", func() error {
			return gr("one", "b", `{"grpcRoute":{"match":{"serviceName":"x.Y"},"action":{"target":{"virtualService":{"virtualServiceName":"to-single"}}}}}`)
		}, "BadRequestException", "spec.grpcRoute does not match the protocol http"},
		{"V2 httpRoute on a grpc listener", func() error {
			return gr("grpc", "c", httpGR(`{"prefix":"/"}`, `{"virtualService":{"virtualServiceName":"to-single"}}`))
		},
			"BadRequestException", "spec.httpRoute does not match the protocol grpc"},
		{"V15 match.port names a listener", func() error {
			return gr("two", "d", httpGR(`{"prefix":"/","port":2222}`, `{"virtualService":{"virtualServiceName":"to-single"}}`))
		}, "", ""},
		{"V15 match.port missing with two listeners", func() error {
			return gr("two", "e", httpGR(`{"prefix":"/"}`, `{"virtualService":{"virtualServiceName":"to-single"}}`))
		},
			"BadRequestException", "spec.httpRoute.match.port is required"},
		{"V15 match.port is no listener", func() error {
			return gr("two", "f", httpGR(`{"prefix":"/","port":9999}`, `{"virtualService":{"virtualServiceName":"to-single"}}`))
		}, "BadRequestException", "spec.httpRoute.match.port 9999 is not a listener port"},
		{"V16 target.port names a provider listener", func() error {
			return gr("one", "g", httpGR(`{"prefix":"/g"}`, `{"virtualService":{"virtualServiceName":"to-double"},"port":6666}`))
		}, "", ""},
		{"V16 target.port missing for a two-listener node", func() error {
			return gr("one", "h", httpGR(`{"prefix":"/h"}`, `{"virtualService":{"virtualServiceName":"to-double"}}`))
		}, "BadRequestException", "spec.httpRoute.action.target.port is required"},
		{"V16 target.port missing for a two-listener router", func() error {
			return gr("one", "i", httpGR(`{"prefix":"/i"}`, `{"virtualService":{"virtualServiceName":"to-router2"}}`))
		}, "BadRequestException", "VirtualRouter double-r"},
		{"V16 target.port not a provider listener", func() error {
			return gr("one", "j", httpGR(`{"prefix":"/j"}`, `{"virtualService":{"virtualServiceName":"to-router2"},"port":5555}`))
		}, "BadRequestException", "spec.httpRoute.action.target.port 5555 is not a listener port"},
		{"V19 target virtual service exists (no provider)", func() error {
			return gr("one", "k", httpGR(`{"prefix":"/k"}`, `{"virtualService":{"virtualServiceName":"no-provider"}}`))
		}, "", ""},
		{"V19 target virtual service missing", func() error {
			return gr("one", "l", httpGR(`{"prefix":"/l"}`, `{"virtualService":{"virtualServiceName":"missing.local"}}`))
		}, "NotFoundException", "VirtualService with name missing.local under mesh m is missing"},
		{"route on a one-listener router", func() error {
			return route("single-r", "a", `{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"single","weight":1}]}}}`)
		}, "", ""},
		{"route without match.port on a two-listener router", func() error {
			return route("double-r", "b", `{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"single","weight":1}]}}}`)
		}, "BadRequestException", "spec.httpRoute.match.port is required"},
		{"tcpRoute on an http router listener", func() error {
			return route("single-r", "c", `{"tcpRoute":{"action":{"weightedTargets":[{"virtualNode":"single","weight":1}]}}}`)
		}, "BadRequestException", "spec.tcpRoute does not match the protocol http"},
		{"weighted target node missing", func() error {
			return route("single-r", "d", `{"httpRoute":{"match":{"prefix":"/d"},"action":{"weightedTargets":[{"virtualNode":"ghost","weight":1}]}}}`)
		}, "NotFoundException", "VirtualNode with name ghost under mesh m is missing"},
		{"weighted target port required for a two-listener node", func() error {
			return route("single-r", "e", `{"httpRoute":{"match":{"prefix":"/e"},"action":{"weightedTargets":[{"virtualNode":"double","weight":1}]}}}`)
		}, "BadRequestException", "spec.httpRoute.action.weightedTargets[0].port is required"},
		{"weighted target port names a node listener", func() error {
			return route("single-r", "f", `{"httpRoute":{"match":{"prefix":"/f"},"action":{"weightedTargets":[{"virtualNode":"double","weight":1,"port":6666}]}}}`)
		}, "", ""},
		{"virtual service provider exists", func() error { return vs("p1", `{"provider":{"virtualRouter":{"virtualRouterName":"single-r"}}}`) }, "", ""},
		{"virtual service provider missing", func() error { return vs("p2", `{"provider":{"virtualNode":{"virtualNodeName":"ghost"}}}`) },
			"NotFoundException", "VirtualNode with name ghost under mesh m is missing"},
		{"gateway listener change keeps its routes valid", func() error {
			_, err := s.UpdateVirtualGateway(ctx, &appmesh.UpdateVirtualGatewayInput{MeshName: new("m"), VirtualGatewayName: new("two"),
				Spec: must[appmesh.VirtualGatewaySpec](t, `{"listeners":[{"portMapping":{"port":2222,"protocol":"http"}},{"portMapping":{"port":1112,"protocol":"http"}}]}`)})
			return err
		}, "", ""},
		{"gateway listener change orphaning a route", func() error {
			_, err := s.UpdateVirtualGateway(ctx, &appmesh.UpdateVirtualGatewayInput{MeshName: new("m"), VirtualGatewayName: new("two"),
				Spec: must[appmesh.VirtualGatewaySpec](t, `{"listeners":[{"portMapping":{"port":1111,"protocol":"http"}},{"portMapping":{"port":1112,"protocol":"http"}}]}`)})
			return err
		}, "BadRequestException", "would break GatewayRoute with name d"},
		{"router listener change to another protocol", func() error {
			_, err := s.UpdateVirtualRouter(ctx, &appmesh.UpdateVirtualRouterInput{MeshName: new("m"), VirtualRouterName: new("single-r"),
				Spec: must[appmesh.VirtualRouterSpec](t, `{"listeners":[{"portMapping":{"port":3333,"protocol":"http2"}}]}`)})
			return err
		}, "BadRequestException", "would break Route with name a"},
		{"node listener change under a route's target port", func() error {
			_, err := s.UpdateVirtualNode(ctx, &appmesh.UpdateVirtualNodeInput{MeshName: new("m"), VirtualNodeName: new("double"),
				Spec: must[appmesh.VirtualNodeSpec](t, `{"listeners":[{"portMapping":{"port":5555,"protocol":"http"}},{"portMapping":{"port":7777,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"double.local"}}}`)})
			return err
		}, "BadRequestException", "would break Route with name f"},
		{"provider change under a gateway route's target port", func() error {
			_, err := s.UpdateVirtualService(ctx, &appmesh.UpdateVirtualServiceInput{MeshName: new("m"), VirtualServiceName: new("to-double"),
				Spec: must[appmesh.VirtualServiceSpec](t, `{"provider":{"virtualNode":{"virtualNodeName":"single"}}}`)})
			return err
		}, "BadRequestException", "would break GatewayRoute with name g"},
		{"provider change that keeps gateway routes valid", func() error {
			_, err := s.UpdateVirtualService(ctx, &appmesh.UpdateVirtualServiceInput{MeshName: new("m"), VirtualServiceName: new("to-single"),
				Spec: must[appmesh.VirtualServiceSpec](t, `{"provider":{"virtualRouter":{"virtualRouterName":"single-r"}}}`)})
			return err
		}, "", ""},
		{"clientToken of the documented form", func() error {
			_, err := s.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: new("m"), VirtualServiceName: new("tok"),
				Spec: &appmesh.VirtualServiceSpec{}, ClientToken: new("0b7c3a5e-5d2f-4c57-9a0e-1f4f2b8c9d10")})
			return err
		}, "", ""},
		{"clientToken too long", func() error {
			_, err := s.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{MeshName: new("m"), VirtualServiceName: new("tok2"),
				Spec: &appmesh.VirtualServiceSpec{}, ClientToken: new(strings.Repeat("a", 37))})
			return err
		}, "BadRequestException", "clientToken"},
		{"a name with a slash", func() error { return vs("a/b", `{}`) }, "BadRequestException", `virtualServiceName "a/b" must not contain "/"`},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			err := c.run()
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *appmesh.Error
			if !errors.As(err, &ae) || ae.Code != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
			if !strings.Contains(ae.Message, c.want) {
				t.Fatalf("message %q does not contain %q", ae.Message, c.want)
			}
		})
	}
}

// TestBackendsQuota: the backends of a node count against their quota.
func TestBackendsQuota(t *testing.T) {
	q := DefaultQuotas()
	q.BackendsPerVirtualNode = 2
	s := newTestService(t, q)
	ctx := context.Background()
	if _, err := s.CreateMesh(ctx, &appmesh.CreateMeshInput{MeshName: new("m")}); err != nil {
		t.Fatal(err)
	}
	backends := func(n int) *appmesh.VirtualNodeSpec {
		var b []string
		for i := range n {
			b = append(b, `{"virtualService":{"virtualServiceName":"s`+string(rune('a'+i))+`.local"}}`)
		}
		return must[appmesh.VirtualNodeSpec](t, `{"backends":[`+strings.Join(b, ",")+`]}`)
	}
	if _, err := s.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: new("m"), VirtualNodeName: new("ok"), Spec: backends(2)}); err != nil {
		t.Fatalf("2 backends refused: %v", err)
	}
	_, err := s.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{MeshName: new("m"), VirtualNodeName: new("over"), Spec: backends(3)})
	var ae *appmesh.Error
	if !errors.As(err, &ae) || ae.Code != "LimitExceededException" {
		t.Fatalf("3 backends: got %v, want LimitExceededException", err)
	}
}

// TestConcurrentModificationIsConflict: a store's version conflict (a
// concurrent writer, e.g. another replica) reaches the client as
// ConflictException, never as an internal error.
func TestConcurrentModificationIsConflict(t *testing.T) {
	s := newTestService(t, DefaultQuotas())
	err := s.storeError(context.Background(), "UpdateVirtualGateway", fmt.Errorf("update: %w", store.ErrVersion))
	var ae *appmesh.Error
	if !errors.As(err, &ae) || ae.Code != "ConflictException" || ae.Status != 409 {
		t.Fatalf("got %v, want ConflictException 409", err)
	}
}
