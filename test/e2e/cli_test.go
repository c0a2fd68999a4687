package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var uidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// cliOK runs the aws CLI, expects success and decodes what it printed.
func cliOK(t *testing.T, endpoint string, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := awsCLI(t, endpoint, args...)
	if code != 0 {
		t.Fatalf("aws appmesh %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errOut)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("aws appmesh %s printed non-JSON: %v\n%s", args[0], err, out)
	}
	return v
}

// cliError runs the aws CLI, expects the given App Mesh error and returns
// the message the CLI printed.
func cliError(t *testing.T, endpoint, code string, args ...string) string {
	t.Helper()
	_, errOut, exit := awsCLI(t, endpoint, args...)
	if exit == 0 {
		t.Fatalf("aws appmesh %s succeeded, want %s", strings.Join(args, " "), code)
	}
	want := "An error occurred (" + code + ") when calling the "
	if !strings.Contains(errOut, want) {
		t.Fatalf("aws appmesh %s: stderr %q does not contain %q", args[0], errOut, want)
	}
	return errOut
}

func field(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %s: not an object: %v", p, v)
		}
		v, ok = m[p]
		if !ok {
			t.Fatalf("member %s missing in %v", strings.Join(path, "."), m)
		}
	}
	return v
}

func expect(t *testing.T, v map[string]any, want any, path ...string) {
	t.Helper()
	if got := field(t, v, path...); got != want {
		t.Errorf("%s = %#v, want %#v", strings.Join(path, "."), got, want)
	}
}

// TestCLIVirtualGatewayFlow is the virtual-gateway flow of the App Mesh
// walkthroughs through the real aws CLI, checking what it prints.
func TestCLIVirtualGatewayFlow(t *testing.T) {
	srv := startServer(t, t.TempDir())
	ep := srv.endpoint
	const arnPrefix = "arn:aws:appmesh:us-west-2:111122223333:"

	mesh := cliOK(t, ep, "create-mesh", "--mesh-name", "m")
	expect(t, mesh, "m", "mesh", "meshName")
	expect(t, mesh, arnPrefix+"mesh/m", "mesh", "metadata", "arn")
	expect(t, mesh, 1.0, "mesh", "metadata", "version")
	expect(t, mesh, "ACTIVE", "mesh", "status", "status")
	if spec := field(t, mesh, "mesh", "spec").(map[string]any); len(spec) != 0 {
		t.Errorf("create-mesh without spec echoed spec %v, want {}", spec)
	}

	gw := cliOK(t, ep, "create-virtual-gateway", "--mesh-name", "m", "--virtual-gateway-name", "gw",
		"--cli-input-json", `{"spec":{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}]}}`)
	vg := field(t, gw, "virtualGateway").(map[string]any)
	expect(t, vg, "m", "meshName")
	expect(t, vg, "gw", "virtualGatewayName")
	expect(t, vg, arnPrefix+"mesh/m/virtualGateway/gw", "metadata", "arn")
	expect(t, vg, 1.0, "metadata", "version")
	expect(t, vg, "111122223333", "metadata", "meshOwner")
	expect(t, vg, "111122223333", "metadata", "resourceOwner")
	expect(t, vg, "ACTIVE", "status", "status")
	uid := field(t, vg, "metadata", "uid").(string)
	if !uidPattern.MatchString(uid) {
		t.Errorf("uid %q is not a UUID", uid)
	}
	created, updated := field(t, vg, "metadata", "createdAt"), field(t, vg, "metadata", "lastUpdatedAt")
	if created != updated {
		t.Errorf("createdAt %v != lastUpdatedAt %v on create", created, updated)
	}
	specJSON, _ := json.Marshal(field(t, vg, "spec"))
	if string(specJSON) != `{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}]}` {
		t.Errorf("spec echoed as %s", specJSON)
	}

	desc := cliOK(t, ep, "describe-virtual-gateway", "--mesh-name", "m", "--virtual-gateway-name", "gw")
	expect(t, desc, uid, "virtualGateway", "metadata", "uid")
	expect(t, desc, 1.0, "virtualGateway", "metadata", "version")

	list := cliOK(t, ep, "list-virtual-gateways", "--mesh-name", "m")
	refs := field(t, list, "virtualGateways").([]any)
	if len(refs) != 1 {
		t.Fatalf("list-virtual-gateways returned %d gateways, want 1", len(refs))
	}
	ref := refs[0].(map[string]any)
	expect(t, ref, "gw", "virtualGatewayName")
	expect(t, ref, "m", "meshName")
	expect(t, ref, arnPrefix+"mesh/m/virtualGateway/gw", "arn")
	expect(t, ref, 1.0, "version")
	if _, ok := ref["uid"]; ok {
		t.Errorf("a VirtualGatewayRef carries uid: %v", ref)
	}

	cliOK(t, ep, "create-virtual-service", "--mesh-name", "m", "--virtual-service-name", "svc.local", "--spec", "{}")
	gr := cliOK(t, ep, "create-gateway-route", "--mesh-name", "m", "--virtual-gateway-name", "gw", "--gateway-route-name", "r1",
		"--spec", `{"httpRoute":{"match":{"prefix":"/svc"},"action":{"target":{"virtualService":{"virtualServiceName":"svc.local"}}}}}`)
	expect(t, gr, arnPrefix+"mesh/m/virtualGateway/gw/gatewayRoute/r1", "gatewayRoute", "metadata", "arn")
	if _, ok := field(t, gr, "gatewayRoute", "spec").(map[string]any)["priority"]; ok {
		t.Errorf("gateway route without priority echoed one: %v", field(t, gr, "gatewayRoute", "spec"))
	}

	msg := cliError(t, ep, "ResourceInUseException", "delete-virtual-gateway", "--mesh-name", "m", "--virtual-gateway-name", "gw")
	if !strings.Contains(msg, "r1") {
		t.Errorf("ResourceInUse message does not name the gateway route r1: %s", msg)
	}
	msg = cliError(t, ep, "ResourceInUseException", "delete-virtual-service", "--mesh-name", "m", "--virtual-service-name", "svc.local")
	if !strings.Contains(msg, "GATEWAY_ROUTE: [gw/r1]") {
		t.Errorf("ResourceInUse message does not name the referring gateway route: %s", msg)
	}

	delRoute := cliOK(t, ep, "delete-gateway-route", "--mesh-name", "m", "--virtual-gateway-name", "gw", "--gateway-route-name", "r1")
	expect(t, delRoute, "DELETED", "gatewayRoute", "status", "status")
	expect(t, delRoute, 2.0, "gatewayRoute", "metadata", "version")

	del := cliOK(t, ep, "delete-virtual-gateway", "--mesh-name", "m", "--virtual-gateway-name", "gw")
	expect(t, del, "DELETED", "virtualGateway", "status", "status")
	expect(t, del, 2.0, "virtualGateway", "metadata", "version")
	expect(t, del, uid, "virtualGateway", "metadata", "uid")
	expect(t, del, "gw", "virtualGateway", "virtualGatewayName")

	msg = cliError(t, ep, "NotFoundException", "describe-virtual-gateway", "--mesh-name", "m", "--virtual-gateway-name", "gw")
	if !strings.Contains(msg, "gw") {
		t.Errorf("NotFound message does not name the gateway: %s", msg)
	}

	// The mesh still has a virtual service; once it is gone the mesh goes,
	// keeping its version (App Mesh does not bump a mesh on delete).
	cliError(t, ep, "ResourceInUseException", "delete-mesh", "--mesh-name", "m")
	cliOK(t, ep, "delete-virtual-service", "--mesh-name", "m", "--virtual-service-name", "svc.local")
	dm := cliOK(t, ep, "delete-mesh", "--mesh-name", "m")
	expect(t, dm, "DELETED", "mesh", "status", "status")
	expect(t, dm, 1.0, "mesh", "metadata", "version")
}

// TestCLIValidationErrors: what the CLI prints for bad input the service
// (not botocore) must catch: max, enum and cross-field rules.
func TestCLIValidationErrors(t *testing.T) {
	srv := startServer(t, t.TempDir())
	ep := srv.endpoint
	cliOK(t, ep, "create-mesh", "--mesh-name", "m")
	cases := []struct {
		name, spec, want string
	}{
		{"port above 65535", `{"listeners":[{"portMapping":{"port":70000,"protocol":"http"}}]}`, "spec.listeners[0].portMapping.port"},
		{"tcp is not a gateway protocol", `{"listeners":[{"portMapping":{"port":8080,"protocol":"tcp"}}]}`, "spec.listeners[0].portMapping.protocol"},
		{"no listeners", `{"listeners":[]}`, "spec.listeners"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := cliError(t, ep, "BadRequestException", "create-virtual-gateway", "--mesh-name", "m",
				"--virtual-gateway-name", "gw", "--spec", c.spec)
			if !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not name %s", msg, c.want)
			}
		})
	}
	list := cliOK(t, ep, "list-virtual-gateways", "--mesh-name", "m")
	if n := len(field(t, list, "virtualGateways").([]any)); n != 0 {
		t.Errorf("failed creates left %d gateways behind", n)
	}
}
