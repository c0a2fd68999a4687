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
	"syscall"
	"testing"
	"time"
)

// binary is the meshgate binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "meshgate")
	build := exec.Command("go", "build", "-o", binary, "github.com/meshgate/meshgate/cmd/meshgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building meshgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `meshgate server` process.
type server struct {
	cmd      *exec.Cmd
	endpoint string // http://127.0.0.1:PORT
	dataDir  string
	log      *strings.Builder
	done     chan struct{}
}

var servingLine = regexp.MustCompile(`api=(http://127\.0\.0\.1:\d+)`)

// startServer runs meshgate server on a free loopback port with its store
// in dataDir and waits until it serves.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"server", "--api-listen", "127.0.0.1:0",
		"--store", "sqlite:" + filepath.Join(dataDir, "meshgate.db"),
		"--account-id", "111122223333", "--region", "us-west-2"}, extra...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, dataDir: dataDir, log: &strings.Builder{}, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.endpoint = <-found:
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
