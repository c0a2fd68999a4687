package appmesh

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestModelValidation covers each kind of model constraint the generated
// validator enforces (required, string length, integer range, list size,
// enum, pattern, union), each with a valid and an invalid input, through
// the operation inputs the API decodes.
func TestModelValidation(t *testing.T) {
	gw := func(listener string) string {
		return `{"virtualGatewayName":"gw","spec":{"listeners":[` + listener + `]}}`
	}
	vn := func(spec string) string { return `{"virtualNodeName":"vn","spec":` + spec + `}` }
	cases := []struct {
		name string
		in   func() Input
		uri  map[string]string
		body string
		want string // "" = valid
	}{
		{"required member present", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":8080,"protocol":"http"}}`), ""},
		{"required member missing", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			`{"virtualGatewayName":"gw"}`, "spec is required"},
		{"nested required member missing", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":8080}}`), "spec.listeners[0].portMapping.protocol is required"},
		{"uri name too long", func() Input { return new(CreateVirtualGatewayInput) }, map[string]string{"meshName": strings.Repeat("m", 256)},
			gw(`{"portMapping":{"port":8080,"protocol":"http"}}`), "meshName must be at most 255"},
		{"integer below range", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":0,"protocol":"http"}}`), "spec.listeners[0].portMapping.port must be between 1 and 65535"},
		{"integer above range", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":65536,"protocol":"http"}}`), "spec.listeners[0].portMapping.port must be between 1 and 65535"},
		{"enum value outside the set", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":8080,"protocol":"tcp"}}`), "spec.listeners[0].portMapping.protocol must be one of http, http2, grpc"},
		{"health check threshold in range", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{"healthyThreshold":10,"unhealthyThreshold":2,"intervalMillis":5000,"timeoutMillis":2000,"protocol":"http"}}`), ""},
		{"health check threshold out of range", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			gw(`{"portMapping":{"port":8080,"protocol":"http"},"healthCheck":{"healthyThreshold":11,"unhealthyThreshold":2,"intervalMillis":5000,"timeoutMillis":2000,"protocol":"http"}}`),
			"spec.listeners[0].healthCheck.healthyThreshold must be between 2 and 10"},
		{"union with one member", func() Input { return new(CreateVirtualNodeInput) }, nil,
			vn(`{"serviceDiscovery":{"dns":{"hostname":"a"}}}`), ""},
		{"union with two members", func() Input { return new(CreateVirtualNodeInput) }, nil,
			vn(`{"serviceDiscovery":{"dns":{"hostname":"a"},"awsCloudMap":{"namespaceName":"n","serviceName":"s"}}}`),
			"spec.serviceDiscovery must set exactly one of awsCloudMap, dns"},
		{"union with no member", func() Input { return new(CreateVirtualNodeInput) }, nil,
			vn(`{"serviceDiscovery":{}}`), "spec.serviceDiscovery must set exactly one of"},
		{"pattern matched", func() Input { return new(CreateVirtualNodeInput) }, nil,
			vn(`{"serviceDiscovery":{"awsCloudMap":{"namespaceName":"n","serviceName":"s","attributes":[{"key":"k","value":"v"}]}}}`), ""},
		{"pattern not matched", func() Input { return new(CreateVirtualNodeInput) }, nil,
			vn(`{"serviceDiscovery":{"awsCloudMap":{"namespaceName":"n","serviceName":"s","attributes":[{"key":"a b","value":"v"}]}}}`),
			"spec.serviceDiscovery.awsCloudMap.attributes[0].key must match"},
		{"list within size", func() Input { return new(CreateRouteInput) }, map[string]string{"virtualRouterName": "vr"},
			`{"routeName":"r","spec":{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[{"virtualNode":"a","weight":1}]}}}}`, ""},
		{"list too short", func() Input { return new(CreateRouteInput) }, map[string]string{"virtualRouterName": "vr"},
			`{"routeName":"r","spec":{"httpRoute":{"match":{"prefix":"/"},"action":{"weightedTargets":[]}}}}`,
			"spec.httpRoute.action.weightedTargets must have at least 1 items"},
		{"string too long", func() Input { return new(CreateVirtualGatewayInput) }, nil,
			`{"virtualGatewayName":"gw","spec":{"listeners":[{"portMapping":{"port":8080,"protocol":"http"}}],"logging":{"accessLog":{"file":{"path":"/` + strings.Repeat("a", 255) + `"}}}}}`,
			"spec.logging.accessLog.file.path must be at most 255"},
		{"query limit in range", func() Input { return new(ListMeshesInput) }, map[string]string{"limit": "100"}, ``, ""},
		{"query limit out of range", func() Input { return new(ListMeshesInput) }, map[string]string{"limit": "101"}, ``, "limit must be between 1 and 100"},
		{"tags limit 50", func() Input { return new(ListTagsForResourceInput) }, map[string]string{"limit": "51", "resourceArn": "arn"}, ``, "limit must be between 1 and 50"},
		{"meshOwner of 12 characters", func() Input { return new(DescribeMeshInput) }, map[string]string{"meshOwner": "123"}, ``, "meshOwner must be at least 12"},
		{"query integer not a number", func() Input { return new(ListMeshesInput) }, map[string]string{"limit": "ten"}, ``, "limit must be an integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in()
			if c.body != "" {
				if err := json.Unmarshal([]byte(c.body), in); err != nil {
					t.Fatalf("test body: %v", err)
				}
			}
			defaults := map[string]string{"meshName": "m", "virtualGatewayName": "gw", "virtualNodeName": "vn", "routeName": "r", "virtualRouterName": "vr"}
			err := in.Bind(func(location, name string) *string {
				if v, ok := c.uri[name]; ok {
					return &v
				}
				if v, ok := defaults[name]; ok && location == "uri" {
					return &v
				}
				return nil
			})
			if err == nil {
				err = in.Validate()
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid input refused: %v", err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != "BadRequestException" {
				t.Fatalf("got %v, want a BadRequestException", err)
			}
			if !strings.Contains(ae.Message, c.want) {
				t.Fatalf("message %q does not contain %q", ae.Message, c.want)
			}
		})
	}
}

// TestOperationsTable holds the generated table to the App Mesh API: 38
// operations, their methods and the singular/plural URI mix.
func TestOperationsTable(t *testing.T) {
	if len(Operations) != 38 {
		t.Fatalf("%d operations, want 38", len(Operations))
	}
	want := map[string]string{
		"CreateGatewayRoute":  "PUT /v20190125/meshes/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes",
		"ListVirtualGateways": "GET /v20190125/meshes/{meshName}/virtualGateways",
		"DeleteRoute":         "DELETE /v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes/{routeName}",
		"TagResource":         "PUT /v20190125/tag",
		"UntagResource":       "PUT /v20190125/untag",
		"ListTagsForResource": "GET /v20190125/tags",
	}
	for _, op := range Operations {
		if w, ok := want[op.Name]; ok && op.Method+" "+op.URI != w {
			t.Errorf("%s: %s %s, want %s", op.Name, op.Method, op.URI, w)
		}
		if strings.HasPrefix(op.Name, "Describe") && op.Payload == "" {
			t.Errorf("%s has no payload member", op.Name)
		}
	}
}
