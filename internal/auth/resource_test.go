package auth

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/appmesh"
)

// TestResource pins the ARN every operation is authorized against.
func TestResource(t *testing.T) {
	const p = "arn:aws:appmesh:us-west-2:111122223333:"
	uri := map[string]string{"meshName": "m", "virtualGatewayName": "g", "virtualRouterName": "r",
		"gatewayRouteName": "gr", "routeName": "rt", "virtualNodeName": "n", "virtualServiceName": "s.local"}
	body := map[string]string{
		"CreateMesh":           `{"meshName":"new"}`,
		"CreateVirtualNode":    `{"virtualNodeName":"new"}`,
		"CreateVirtualRouter":  `{"virtualRouterName":"new"}`,
		"CreateVirtualService": `{"virtualServiceName":"new"}`,
		"CreateVirtualGateway": `{"virtualGatewayName":"new"}`,
		"CreateRoute":          `{"routeName":"new"}`,
		"CreateGatewayRoute":   `{"gatewayRouteName":"new"}`,
	}
	want := map[string]string{
		"CreateMesh":             p + "mesh/new",
		"CreateVirtualNode":      p + "mesh/m/virtualNode/new",
		"CreateVirtualRouter":    p + "mesh/m/virtualRouter/new",
		"CreateVirtualService":   p + "mesh/m/virtualService/new",
		"CreateVirtualGateway":   p + "mesh/m/virtualGateway/new",
		"CreateRoute":            p + "mesh/m/virtualRouter/r/route/new",
		"CreateGatewayRoute":     p + "mesh/m/virtualGateway/g/gatewayRoute/new",
		"DescribeMesh":           p + "mesh/m",
		"UpdateMesh":             p + "mesh/m",
		"DeleteMesh":             p + "mesh/m",
		"DescribeVirtualNode":    p + "mesh/m/virtualNode/n",
		"UpdateVirtualNode":      p + "mesh/m/virtualNode/n",
		"DeleteVirtualNode":      p + "mesh/m/virtualNode/n",
		"DescribeVirtualRouter":  p + "mesh/m/virtualRouter/r",
		"UpdateVirtualRouter":    p + "mesh/m/virtualRouter/r",
		"DeleteVirtualRouter":    p + "mesh/m/virtualRouter/r",
		"DescribeVirtualService": p + "mesh/m/virtualService/s.local",
		"UpdateVirtualService":   p + "mesh/m/virtualService/s.local",
		"DeleteVirtualService":   p + "mesh/m/virtualService/s.local",
		"DescribeVirtualGateway": p + "mesh/m/virtualGateway/g",
		"UpdateVirtualGateway":   p + "mesh/m/virtualGateway/g",
		"DeleteVirtualGateway":   p + "mesh/m/virtualGateway/g",
		"DescribeRoute":          p + "mesh/m/virtualRouter/r/route/rt",
		"UpdateRoute":            p + "mesh/m/virtualRouter/r/route/rt",
		"DeleteRoute":            p + "mesh/m/virtualRouter/r/route/rt",
		"DescribeGatewayRoute":   p + "mesh/m/virtualGateway/g/gatewayRoute/gr",
		"UpdateGatewayRoute":     p + "mesh/m/virtualGateway/g/gatewayRoute/gr",
		"DeleteGatewayRoute":     p + "mesh/m/virtualGateway/g/gatewayRoute/gr",
		"ListMeshes":             "*",
		"ListVirtualNodes":       p + "mesh/m",
		"ListVirtualRouters":     p + "mesh/m",
		"ListVirtualServices":    p + "mesh/m",
		"ListVirtualGateways":    p + "mesh/m",
		"ListRoutes":             p + "mesh/m/virtualRouter/r",
		"ListGatewayRoutes":      p + "mesh/m/virtualGateway/g",
		"TagResource":            "arn:aws:appmesh:eu-west-1:999999999999:mesh/x",
		"UntagResource":          "arn:aws:appmesh:eu-west-1:999999999999:mesh/x",
		"ListTagsForResource":    "arn:aws:appmesh:eu-west-1:999999999999:mesh/x",
	}
	if len(want) != len(appmesh.Operations) {
		t.Fatalf("the table has %d operations, the API %d", len(want), len(appmesh.Operations))
	}
	for i := range appmesh.Operations {
		op := &appmesh.Operations[i]
		in := op.NewInput()
		if b, ok := body[op.Name]; ok {
			if err := json.Unmarshal([]byte(b), in); err != nil {
				t.Fatal(err)
			}
		}
		in.Bind(func(location, name string) *string {
			if location == "uri" {
				if v, ok := uri[name]; ok {
					return &v
				}
				return nil
			}
			if name == "resourceArn" {
				v := "arn:aws:appmesh:eu-west-1:999999999999:mesh/x"
				return &v
			}
			return nil
		})
		if got := Resource("us-west-2", "111122223333", op, in); got != want[op.Name] {
			t.Errorf("%s: resource %q, want %q", op.Name, got, want[op.Name])
		}
	}
}

// TestResourceMissingMembers: an input without its names yields an ARN
// with empty names (or an empty resourceArn), never a panic.
func TestResourceMissingMembers(t *testing.T) {
	for i := range appmesh.Operations {
		op := &appmesh.Operations[i]
		got := Resource("us-west-2", "111122223333", op, op.NewInput())
		switch op.Name {
		case "ListMeshes":
		case "TagResource", "UntagResource", "ListTagsForResource":
			if got != "" {
				t.Errorf("%s without resourceArn: %q", op.Name, got)
			}
		default:
			if !strings.HasPrefix(got, "arn:aws:appmesh:us-west-2:111122223333:mesh/") {
				t.Errorf("%s without names: %q", op.Name, got)
			}
		}
	}
	if got := member(nil, "MeshName"); got != "" {
		t.Errorf("member(nil) = %q", got)
	}
}
