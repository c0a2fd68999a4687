package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/echo"
)

// TestQuickStart follows docs/quickstart.md with the real binary and the
// real aws CLI: `meshgate up` alone runs the control plane and the gateway,
// and a request goes through the gateway created through the API; deleting
// the virtual gateway stops its gateway.
func TestQuickStart(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "up", "--api-listen", "127.0.0.1:0", "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Dir = dir
	up := startProcess(t, cmd, dir, servingLine)
	be := echo.Start(t, "web", "127.0.0.1:0", nil)
	_, bePort, _ := net.SplitHostPort(be.Addr)
	gwPort := freePort(t)
	_, gwPortNum, _ := net.SplitHostPort(gwPort)

	cliOK(t, up.endpoint, "create-mesh", "--mesh-name", "demo")
	cliOK(t, up.endpoint, "create-virtual-node", "--mesh-name", "demo", "--virtual-node-name", "web", "--spec",
		`{"listeners":[{"portMapping":{"port":`+bePort+`,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"127.0.0.1"}}}`)
	cliOK(t, up.endpoint, "create-virtual-service", "--mesh-name", "demo", "--virtual-service-name", "web.local",
		"--spec", `{"provider":{"virtualNode":{"virtualNodeName":"web"}}}`)
	cliOK(t, up.endpoint, "create-virtual-gateway", "--mesh-name", "demo", "--virtual-gateway-name", "ingress",
		"--spec", `{"listeners":[{"portMapping":{"port":`+gwPortNum+`,"protocol":"http"}}]}`)
	cliOK(t, up.endpoint, "create-gateway-route", "--mesh-name", "demo", "--virtual-gateway-name", "ingress", "--gateway-route-name", "web",
		"--spec", `{"httpRoute":{"match":{"prefix":"/web"},"action":{"target":{"virtualService":{"virtualServiceName":"web.local"}}}}}`)

	get := func(path string) (int, string, error) {
		resp, err := http.Get("http://" + gwPort + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	eventually(t, "a request through the gateway", func() error {
		code, body, err := get("/web/page")
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, `"path":"/page"`) || !strings.Contains(body, `"host":"web.local"`) {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	if code, _, err := get("/other"); err != nil || code != http.StatusNotFound {
		t.Errorf("GET /other: %d %v, want 404", code, err)
	}

	cliOK(t, up.endpoint, "delete-gateway-route", "--mesh-name", "demo", "--virtual-gateway-name", "ingress", "--gateway-route-name", "web")
	cliOK(t, up.endpoint, "delete-virtual-gateway", "--mesh-name", "demo", "--virtual-gateway-name", "ingress")
	eventually(t, "the deleted gateway stops listening", func() error {
		c, err := net.DialTimeout("tcp", gwPort, time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("%s still accepts connections", gwPort)
		}
		return nil
	})
	// The log says what happened, for the person reading a failure.
	sc := bufio.NewScanner(strings.NewReader(up.log.String()))
	stopped := false
	for sc.Scan() {
		stopped = stopped || strings.Contains(sc.Text(), "stopping the gateway of a deleted virtual gateway")
	}
	if !stopped {
		t.Errorf("no log line about stopping the gateway:\n%s", up.log)
	}
}
