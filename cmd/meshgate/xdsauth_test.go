package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/xds"
)

func TestXDSAuthFlags(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "ca")
	caFile := ca.WriteFile(t, dir, "ca.pem")
	cert, key := ca.Server(t, "127.0.0.1").WriteFiles(t, dir, "xds")
	tokens := filepath.Join(dir, "tokens.json")
	os.WriteFile(tokens, []byte(`{"tokens":[{"token":"a-token-of-16-chars-or-more","resources":["mesh/m/virtualGateway/*"]}]}`), 0o600)
	creds := filepath.Join(dir, "credentials.json")
	os.WriteFile(creds, []byte(`{"credentials":[{"accessKeyId":"AKIDENVOY","secretAccessKey":"secret-of-16-chars-or-more",
		"accountId":"000000000000","policy":[{"effect":"Allow","action":"appmesh:StreamAggregatedResources","resource":"*"}]}]}`), 0o600)
	tls := []string{"--xds-tls-cert", cert, "--xds-tls-key", key}
	quiet := slog.New(slog.DiscardHandler)

	config := func(cmd string, args ...string) (xds.AuthConfig, error) {
		t.Helper()
		f, err := parseServerFlags(cmd, args)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return f.xdsAuth.config(f, nil, quiet)
	}
	for _, tc := range []struct {
		cmd    string
		args   []string
		mode   xds.AuthMode
		tokens bool
		sigv4  bool
	}{
		{"server", nil, xds.AuthNone, false, false},
		{"up", nil, xds.AuthNone, false, false},
		{"server", append([]string{"--xds-client-ca", caFile}, tls...), xds.AuthMTLS, false, false},
		{"server", []string{"--xds-tokens", tokens}, xds.AuthToken, true, false},
		{"server", append([]string{"--xds-tokens", tokens, "--xds-client-ca", caFile}, tls...), xds.AuthToken, true, false},
		{"server", []string{"--xds-auth", "token", "--credentials", creds}, xds.AuthToken, false, true},
		{"server", append([]string{"--xds-auth", "mtls", "--xds-client-ca", caFile, "--credentials", creds}, tls...), xds.AuthMTLS, false, true},
		{"up", []string{"--xds-tokens", tokens}, xds.AuthToken, true, false},
		// With auth off, --credentials is the API's alone.
		{"server", []string{"--credentials", creds}, xds.AuthNone, false, false},
	} {
		cfg, err := config(tc.cmd, tc.args...)
		if err != nil {
			t.Errorf("%s %v: %v", tc.cmd, tc.args, err)
			continue
		}
		if cfg.Mode != tc.mode || (cfg.Tokens != nil) != tc.tokens || (cfg.SigV4 != nil) != tc.sigv4 {
			t.Errorf("%s %v: mode %s, tokens %v, sigv4 %v", tc.cmd, tc.args, cfg.Mode, cfg.Tokens != nil, cfg.SigV4 != nil)
		}
	}
	for _, tc := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"server", []string{"--xds-auth", "jwt"}, "want none, mtls or token"},
		{"server", []string{"--xds-auth", "none", "--xds-tokens", tokens}, "not none"},
		{"server", append([]string{"--xds-auth", "mtls"}, tls...), "needs --xds-client-ca"},
		{"server", []string{"--xds-client-ca", caFile}, "needs TLS"},
		{"server", []string{"--xds-auth", "token"}, "needs --xds-tokens or --credentials"},
		{"server", []string{"--xds-tokens", filepath.Join(dir, "missing.json")}, "no such file"},
		{"server", []string{"--xds-auth", "token", "--credentials", filepath.Join(dir, "missing.json")}, "--credentials"},
		{"up", []string{"--xds-tokens", tokens, "--xds-socket", ""}, "needs --xds-socket"},
	} {
		if _, err := config(tc.cmd, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want an error saying %q", tc.cmd, tc.args, err, tc.want)
		}
	}
	t.Setenv("MESHGATE_XDS_AUTH", "token")
	t.Setenv("MESHGATE_XDS_TOKENS", tokens)
	if cfg, err := config("server"); err != nil || cfg.Mode != xds.AuthToken || cfg.Tokens == nil {
		t.Errorf("from the environment: %+v %v", cfg, err)
	}
}

// freePort is a loopback port nothing listens on (for a moment).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// `meshgate gateway`, as a user runs it, gets its configuration from a
// server that authenticates proxies: once with a client certificate
// (--xds-cert/--xds-key), once with a bearer token (--xds-token-file). The
// gateway is LIVE only once the configuration has applied and its
// listener is bound. Without credentials it never gets there.
func TestGatewayCommandAuthenticated(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := certs.NewCA(t, "xds server CA"), certs.NewCA(t, "proxy CA")
	srvCert, srvKey := serverCA.Server(t, "127.0.0.1").WriteFiles(t, dir, "xds")
	serverCAFile := serverCA.WriteFile(t, dir, "server-ca.pem")
	clientCAFile := clientCA.WriteFile(t, dir, "client-ca.pem")
	gwCert, gwKey := clientCA.Client(t, "mesh/m/virtualGateway/gw").WriteFiles(t, dir, "gw")
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("gateway-gw-token-0123456789\n"), 0o600)
	tokens, err := xds.ParseTokens([]byte(`{"tokens":[{"token":"gateway-gw-token-0123456789","resources":["mesh/m/virtualGateway/gw"]}]}`))
	if err != nil {
		t.Fatal(err)
	}

	addr := xdsTestServer(t, srvCert, srvKey, xds.AuthConfig{Mode: xds.AuthToken, ClientCAFile: clientCAFile, Tokens: tokens}, freePort(t))

	ready := func(admin string) string {
		resp, err := http.Get("http://" + admin + "/ready")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		name  string
		creds []string
		live  bool
	}{
		{"client certificate", []string{"--xds-cert", gwCert, "--xds-key", gwKey}, true},
		{"bearer token", []string{"--xds-token-file", tokenFile}, true},
		{"no credentials", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			args := append([]string{"--resource", "arn:aws:appmesh:us-east-1:000000000000:mesh/m/virtualGateway/gw",
				"--xds", addr, "--xds-ca", serverCAFile, "--admin-listen", admin, "--listen-host", "127.0.0.1",
				"--drain-time", "0s", "--log-level", "error"}, tc.creds...)
			done := make(chan error, 1)
			go func() { done <- runGateway(args) }()
			deadline := time.Now().Add(5 * time.Second)
			if !tc.live {
				deadline = time.Now().Add(time.Second)
			}
			state := ""
			for time.Now().Before(deadline) {
				if state = ready(admin); state == "LIVE" {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if want := map[bool]string{true: "LIVE", false: "PRE_INITIALIZING"}[tc.live]; state != want {
				t.Errorf("gateway state %q, want %s", state, want)
			}
			// runGateway stops on SIGTERM, like the process would; it
			// listens for it from before its admin server answers.
			for i := 0; i < 500 && ready(admin) != "PRE_INITIALIZING" && ready(admin) != "LIVE"; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if s := ready(admin); s != "PRE_INITIALIZING" && s != "LIVE" {
				select { // no SIGTERM for a process that would not catch it
				case err := <-done:
					t.Fatalf("runGateway returned: %v", err)
				case <-time.After(time.Second):
					t.Fatalf("the gateway's admin server never answered: %s", s)
				}
			}
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runGateway: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the gateway did not stop")
			}
		})
	}
	// A bad combination is refused before anything starts.
	err = runGateway([]string{"--resource", "mesh/m/virtualGateway/gw", "--xds", "10.0.0.1:7071", "--xds-token-file", tokenFile, "--admin-listen", ""})
	if err == nil || !strings.Contains(err.Error(), "over TLS") {
		t.Errorf("a token in the clear to another host: %v", err)
	}
}
