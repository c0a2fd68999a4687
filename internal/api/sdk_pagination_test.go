package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
)

// lister creates items of one kind and lists one page of them.
type lister struct {
	kind   string
	setup  func(t *testing.T, c *appmesh.Client)
	create func(t *testing.T, c *appmesh.Client, name string)
	remove func(t *testing.T, c *appmesh.Client, name string)
	page   func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error)
}

func listers() []lister {
	m := aws.String("m")
	meshSetup := func(t *testing.T, c *appmesh.Client) { mkMesh(t, c, "m") }
	return []lister{
		{
			kind:   "meshes",
			setup:  func(t *testing.T, c *appmesh.Client) {},
			create: func(t *testing.T, c *appmesh.Client, name string) { mkMesh(t, c, name) },
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteMesh(ctx(t), &appmesh.DeleteMeshInput{MeshName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.Meshes {
					names = append(names, deref(r.MeshName))
				}
				return names, o.NextToken, nil
			},
		},
		{
			kind:   "virtual nodes",
			setup:  meshSetup,
			create: func(t *testing.T, c *appmesh.Client, name string) { mkNode(t, c, "m", name, 80) },
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteVirtualNode(ctx(t), &appmesh.DeleteVirtualNodeInput{MeshName: m, VirtualNodeName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: m, Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.VirtualNodes {
					names = append(names, deref(r.VirtualNodeName))
				}
				return names, o.NextToken, nil
			},
		},
		{
			kind:   "virtual routers",
			setup:  meshSetup,
			create: func(t *testing.T, c *appmesh.Client, name string) { mkRouter(t, c, "m", name, 80) },
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteVirtualRouter(ctx(t), &appmesh.DeleteVirtualRouterInput{MeshName: m, VirtualRouterName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListVirtualRouters(ctx(t), &appmesh.ListVirtualRoutersInput{MeshName: m, Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.VirtualRouters {
					names = append(names, deref(r.VirtualRouterName))
				}
				return names, o.NextToken, nil
			},
		},
		{
			kind: "routes",
			setup: func(t *testing.T, c *appmesh.Client) {
				mkMesh(t, c, "m")
				mkNode(t, c, "m", "n", 80)
				mkRouter(t, c, "m", "vr", 80)
				// A route of another router must not show up.
				mkRouter(t, c, "m", "other", 80)
				mkRoute(t, c, "m", "other", "b", httpRouteSpec("/", "n", 0))
			},
			create: func(t *testing.T, c *appmesh.Client, name string) {
				mkRoute(t, c, "m", "vr", name, httpRouteSpec("/"+name, "n", 0))
			},
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteRoute(ctx(t), &appmesh.DeleteRouteInput{MeshName: m, VirtualRouterName: aws.String("vr"), RouteName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListRoutes(ctx(t), &appmesh.ListRoutesInput{MeshName: m, VirtualRouterName: aws.String("vr"), Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.Routes {
					names = append(names, deref(r.RouteName))
				}
				return names, o.NextToken, nil
			},
		},
		{
			kind:   "virtual services",
			setup:  meshSetup,
			create: func(t *testing.T, c *appmesh.Client, name string) { mkService(t, c, "m", name, nil) },
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteVirtualService(ctx(t), &appmesh.DeleteVirtualServiceInput{MeshName: m, VirtualServiceName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: m, Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.VirtualServices {
					names = append(names, deref(r.VirtualServiceName))
				}
				return names, o.NextToken, nil
			},
		},
		{
			kind:   "virtual gateways",
			setup:  meshSetup,
			create: func(t *testing.T, c *appmesh.Client, name string) { mkGateway(t, c, "m", name, 80) },
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteVirtualGateway(ctx(t), &appmesh.DeleteVirtualGatewayInput{MeshName: m, VirtualGatewayName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListVirtualGateways(ctx(t), &appmesh.ListVirtualGatewaysInput{MeshName: m, Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.VirtualGateways {
					names = append(names, deref(r.VirtualGatewayName))
				}
				return names, o.NextToken, nil
			},
		},
		{
			kind: "gateway routes",
			setup: func(t *testing.T, c *appmesh.Client) {
				mkMesh(t, c, "m")
				mkService(t, c, "m", "svc", nil)
				mkGateway(t, c, "m", "gw", 80)
				mkGateway(t, c, "m", "other", 80)
				mkGatewayRoute(t, c, "m", "other", "b", gwRouteSpec("/", 0, "svc", 0))
			},
			create: func(t *testing.T, c *appmesh.Client, name string) {
				mkGatewayRoute(t, c, "m", "gw", name, gwRouteSpec("/"+name, 0, "svc", 0))
			},
			remove: func(t *testing.T, c *appmesh.Client, name string) {
				res(c.DeleteGatewayRoute(ctx(t), &appmesh.DeleteGatewayRouteInput{MeshName: m, VirtualGatewayName: aws.String("gw"), GatewayRouteName: aws.String(name)})).ok(t)
			},
			page: func(c *appmesh.Client, t *testing.T, limit *int32, next *string) ([]string, *string, error) {
				o, err := c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: m, VirtualGatewayName: aws.String("gw"), Limit: limit, NextToken: next})
				if err != nil {
					return nil, nil, err
				}
				var names []string
				for _, r := range o.GatewayRoutes {
					names = append(names, deref(r.GatewayRouteName))
				}
				return names, o.NextToken, nil
			},
		},
	}
}

// TestPagination lists three items of every kind with limit 1 (3 pages in
// name order, no nextToken on the last), other limits, and the limit and
// nextToken errors.
func TestPagination(t *testing.T) {
	t.Parallel()
	for _, l := range listers() {
		t.Run(l.kind, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			l.setup(t, c)
			// Created out of order; listed by name.
			for _, n := range []string{"charlie", "alpha", "bravo"} {
				l.create(t, c, n)
			}
			walk := func(limit int32) ([]string, int) {
				var all []string
				var next *string
				pages := 0
				for {
					var lim *int32
					if limit > 0 {
						lim = aws.Int32(limit)
					}
					names, tok, err := l.page(c, t, lim, next)
					if err != nil {
						t.Fatalf("page %d: %v", pages+1, err)
					}
					pages++
					if limit > 0 && len(names) > int(limit) {
						t.Errorf("page of %d with limit %d", len(names), limit)
					}
					all = append(all, names...)
					if tok == nil {
						return all, pages
					}
					if *tok == "" {
						t.Fatal("empty nextToken")
					}
					next = tok
					if pages > 10 {
						t.Fatal("pagination does not end")
					}
				}
			}
			const want = "alpha,bravo,charlie"
			for _, tc := range []struct {
				limit int32
				pages int
			}{{1, 3}, {2, 2}, {3, 1}, {100, 1}, {0, 1}} {
				got, pages := walk(tc.limit)
				if strings.Join(got, ",") != want || pages != tc.pages {
					t.Errorf("limit %d: %v in %d pages, want %s in %d", tc.limit, got, pages, want, tc.pages)
				}
			}
			// The same first page twice (stable order).
			p1, tok1, err := l.page(c, t, aws.Int32(1), nil)
			if err != nil {
				t.Fatal(err)
			}
			p1b, tok1b, err := l.page(c, t, aws.Int32(1), nil)
			if err != nil {
				t.Fatal(err)
			}
			if dump(p1) != `["alpha"]` || dump(p1) != dump(p1b) || deref(tok1) != deref(tok1b) {
				t.Errorf("first pages differ: %v/%v %q/%q", p1, p1b, deref(tok1), deref(tok1b))
			}
			// A token stays valid while items come and go: delete the last
			// item returned and add one that sorts after it.
			l.remove(t, c, "alpha")
			l.create(t, c, "alpha2")
			rest, _, err := l.page(c, t, aws.Int32(100), tok1)
			if err != nil {
				t.Fatalf("page after changes: %v", err)
			}
			if strings.Join(rest, ",") != "alpha2,bravo,charlie" {
				t.Errorf("page after changes = %v", rest)
			}

			// Limit outside 1..100, invalid or foreign tokens: BadRequest.
			for _, lim := range []int32{0, 101, -1} {
				_, _, err := l.page(c, t, aws.Int32(lim), nil)
				badRequest(t, err, "limit", fmt.Sprint(lim))
			}
			for _, bad := range []string{"garbage", "eyJsIjoibWVzaGVzIiwiYSI6IiJ9", "%%%"} {
				_, _, err := l.page(c, t, aws.Int32(1), aws.String(bad))
				badRequest(t, err, "nextToken")
			}
		})
	}
}

// TestPaginationTokensAreScoped checks that a token from one list is refused
// by another list (another kind, another mesh or another parent).
func TestPaginationTokensAreScoped(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, m := range []string{"m1", "m2"} {
		mkMesh(t, c, m)
		for _, n := range []string{"a", "b"} {
			mkNode(t, c, m, n, 80)
			mkService(t, c, m, n, nil)
		}
		mkService(t, c, m, "svc", nil)
		for _, g := range []string{"g1", "g2"} {
			mkGateway(t, c, m, g, 80)
			for _, r := range []string{"a", "b"} {
				mkGatewayRoute(t, c, m, g, r, gwRouteSpec("/"+r, 0, "svc", 0))
			}
		}
	}
	nodes := res(c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m1"), Limit: aws.Int32(1)})).ok(t)
	if nodes.NextToken == nil {
		t.Fatal("no nextToken")
	}
	_, err := c.ListVirtualServices(ctx(t), &appmesh.ListVirtualServicesInput{MeshName: aws.String("m1"), NextToken: nodes.NextToken})
	badRequest(t, err, "nextToken")
	_, err = c.ListVirtualNodes(ctx(t), &appmesh.ListVirtualNodesInput{MeshName: aws.String("m2"), NextToken: nodes.NextToken})
	badRequest(t, err, "nextToken")
	_, err = c.ListMeshes(ctx(t), &appmesh.ListMeshesInput{NextToken: nodes.NextToken})
	badRequest(t, err, "nextToken")
	grs := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m1"), VirtualGatewayName: aws.String("g1"), Limit: aws.Int32(1)})).ok(t)
	if grs.NextToken == nil {
		t.Fatal("no nextToken")
	}
	_, err = c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m1"), VirtualGatewayName: aws.String("g2"), NextToken: grs.NextToken})
	badRequest(t, err, "nextToken")
	// The right list accepts it.
	rest := res(c.ListGatewayRoutes(ctx(t), &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m1"), VirtualGatewayName: aws.String("g1"), NextToken: grs.NextToken})).ok(t)
	if len(rest.GatewayRoutes) != 1 || deref(rest.GatewayRoutes[0].GatewayRouteName) != "b" || rest.NextToken != nil {
		t.Errorf("second page = %s", dump(rest))
	}
}

// TestSDKPaginator runs the SDK's own paginator over gateway routes.
func TestSDKPaginator(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mkMesh(t, c, "m")
	mkService(t, c, "m", "svc", nil)
	mkGateway(t, c, "m", "gw", 80)
	for i := range 5 {
		mkGatewayRoute(t, c, "m", "gw", fmt.Sprintf("gr%d", 4-i), gwRouteSpec(fmt.Sprintf("/%d", i), 0, "svc", 0))
	}
	p := appmesh.NewListGatewayRoutesPaginator(c, &appmesh.ListGatewayRoutesInput{MeshName: aws.String("m"), VirtualGatewayName: aws.String("gw"), Limit: aws.Int32(2)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		o, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range o.GatewayRoutes {
			names = append(names, deref(r.GatewayRouteName))
			if deref(r.Arn) != arnPrefix+"mesh/m/virtualGateway/gw/gatewayRoute/"+deref(r.GatewayRouteName) || deref(r.Version) != 1 {
				t.Errorf("ref = %s", dump(r))
			}
		}
	}
	if pages != 3 || strings.Join(names, ",") != "gr0,gr1,gr2,gr3,gr4" {
		t.Errorf("paginator: %v in %d pages", names, pages)
	}
}
