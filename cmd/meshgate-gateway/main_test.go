package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGatewayAlone: meshgate-gateway links none of the control plane (the
// API, the service and its stores, translation, the xDS server), whose
// packages' initialization would make every gateway process touch pages
// of them; the end-to-end tests run it. Built as a release is, with
// grpcnotrace, it links no text/template either: that package's use of
// reflect.MethodByName (through gRPC's golang.org/x/net/trace) keeps the
// linker from dropping unused methods, 6 MB of the binary and 3 MiB of
// every gateway's resident memory.
func TestGatewayAlone(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "grpcnotrace", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	const mod = "github.com/meshgate/meshgate/"
	forbidden := []string{
		mod + "internal/api", mod + "internal/service", mod + "internal/appmesh", mod + "internal/auth",
		mod + "internal/model", mod + "internal/translate", mod + "internal/xds",
		mod + "internal/store/sqlite", mod + "internal/store/postgres", mod + "internal/gateway/supervisor",
		"modernc.org/sqlite", "github.com/jackc/pgx",
		"text/template", "golang.org/x/net/trace",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") && !strings.HasPrefix(d, mod+"internal/xds/gwconfig") {
				t.Errorf("meshgate-gateway links %s", d)
			}
		}
	}
}
