// Package e2e runs meshgate as real processes on 127.0.0.1 and drives them
// with real clients (the aws CLI, the AWS SDK).
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the meshgate binary built once for the whole package;
// dataPlane is meshgate-gateway, the gateway alone.
var binary, dataPlane string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, dataPlane = filepath.Join(dir, "meshgate"), filepath.Join(dir, "meshgate-gateway")
	for _, b := range []struct{ out, pkg string }{
		{binary, "github.com/meshgate/meshgate/cmd/meshgate"},
		{dataPlane, "github.com/meshgate/meshgate/cmd/meshgate-gateway"},
	} {
		// As a release is built (README): grpcnotrace lets the linker
		// drop unused methods.
		build := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", b.out, b.pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", b.pkg+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `meshgate server` (or `meshgate gateway`) process.
type server struct {
	cmd      *exec.Cmd
	endpoint string // http://127.0.0.1:PORT of the API (server) or admin (gateway)
	xds      string // 127.0.0.1:PORT of the xDS listener (server)
	dataDir  string
	log      *syncBuilder
	done     chan struct{}
}

var (
	servingLine = regexp.MustCompile(`msg="meshgate serving".*api=(https?://127\.0\.0\.1:\d+).*xds=(\S+)`)
	adminLine   = regexp.MustCompile(`msg="gateway admin".*addr=(http://127\.0\.0\.1:\d+)`)
)

// startServer runs meshgate server on free loopback ports (xDS on xdsAddr
// when given) with its store in dataDir and waits until it serves.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"server", "--api-listen", "127.0.0.1:0", "--xds-listen", "127.0.0.1:0", "--admin-listen", "",
		"--store", "sqlite:" + filepath.Join(dataDir, "meshgate.db"),
		"--account-id", "111122223333", "--region", "us-west-2", "--auth", "none"}, extra...)
	return startProcess(t, exec.Command(binary, args...), dataDir, servingLine)
}

// startGateway runs meshgate gateway for a virtual gateway, configured by
// the server at xds, with its listeners on 127.0.0.1, and waits until its
// admin server is up (not until it is ready: see waitReady).
func startGateway(t *testing.T, resource, xds string, extraEnv ...string) *server {
	t.Helper()
	return startGatewayOf(t, []string{binary, "gateway"}, resource, xds, extraEnv...)
}

// startGatewayOf is startGateway with another command: meshgate-gateway,
// say, the gateway alone.
func startGatewayOf(t *testing.T, command []string, resource, xds string, extraEnv ...string) *server {
	t.Helper()
	args := append(command[1:len(command):len(command)], "--admin-listen", "127.0.0.1:0", "--listen-host", "127.0.0.1", "--drain-time", "0s")
	cmd := exec.Command(command[0], args...)
	cmd.Env = append(os.Environ(), append([]string{"APPMESH_RESOURCE_ARN=" + resource, "APPMESH_XDS_ENDPOINT=" + xds}, extraEnv...)...)
	return startProcess(t, cmd, t.TempDir(), adminLine)
}

// startProcess starts cmd and waits for the log line that says where it
// serves.
func startProcess(t *testing.T, cmd *exec.Cmd, dataDir string, ready *regexp.Regexp) *server {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, dataDir: dataDir, log: &syncBuilder{}, done: make(chan struct{})}
	found := make(chan []string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if m := ready.FindStringSubmatch(line); m != nil {
				select {
				case found <- m:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case m := <-found:
		s.endpoint = m[1]
		if len(m) > 2 {
			s.xds = m[2]
		}
	case <-s.done:
		t.Fatalf("meshgate exited before serving:\n%s", s.log)
	case <-time.After(15 * time.Second):
		t.Fatalf("meshgate did not start serving in 15s:\n%s", s.log)
	}
	return s
}

// stop sends SIGTERM and waits; kill sends SIGKILL.
func (s *server) stop(t *testing.T) { s.signal(t, syscall.SIGTERM) }
func (s *server) kill(t *testing.T) { s.signal(t, syscall.SIGKILL) }

func (s *server) signal(t *testing.T, sig syscall.Signal) {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("meshgate did not exit within 15s of %v", sig)
	}
}

// awsCLI runs `aws appmesh ARGS --endpoint-url ...` with dummy credentials
// and returns stdout, stderr and the exit code.
func awsCLI(t *testing.T, endpoint string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"appmesh"}, args...)
	full = append(full, "--endpoint-url", endpoint, "--output", "json")
	cmd := exec.CommandContext(ctx, "aws", full...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-west-2",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running aws %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// syncBuilder is a strings.Builder safe for the log reader and the test.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuilder) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *syncBuilder) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
