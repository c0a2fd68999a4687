package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"

	"github.com/meshgate/meshgate/internal/api"
	"github.com/meshgate/meshgate/internal/service"
	"github.com/meshgate/meshgate/internal/store/sqlite"
)

func writeCredentials(t *testing.T, keyID string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials.json")
	data := `{"credentials":[{"accessKeyId":"` + keyID + `","secretAccessKey":"0123456789abcdef0123","accountId":"000000000000",` +
		`"policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]}]}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func setup(t *testing.T, cmd string, args ...string) (*apiAuth, string, error) {
	t.Helper()
	f, err := parseServerFlags(cmd, args)
	if err != nil {
		t.Fatalf("flags %v: %v", args, err)
	}
	var logs logbuf.Buffer
	a, err := setupAuth(cmd, f, slog.New(slog.NewTextHandler(&logs, nil)))
	return a, logs.String(), err
}

func TestAuthModes(t *testing.T) {
	creds := writeCredentials(t, "AKIDCMDTEST")
	cases := []struct {
		cmd      string
		args     []string
		env      string // MESHGATE_AUTH
		wantMode string // "" expects an error containing wantText
		wantText string
	}{
		{"server", nil, "", "", "--auth sigv4 needs --credentials FILE"},
		{"server", []string{"--credentials", creds}, "", authSigV4, `msg="api authentication" mode=sigv4`},
		{"server", []string{"--auth", "none"}, "", authNone, "API AUTHENTICATION IS OFF"},
		{"server", nil, "none", authNone, "API AUTHENTICATION IS OFF"},
		{"server", []string{"--auth", "sigv4"}, "none", "", "--auth sigv4 needs --credentials"}, // the flag wins
		{"server", []string{"--auth", "basic"}, "", "", `--auth "basic": want sigv4 or none`},
		{"server", []string{"--credentials", filepath.Join(t.TempDir(), "absent.json")}, "", "", "--credentials: credentials:"},
		{"up", nil, "", authNone, "level=WARN msg=\"API AUTHENTICATION IS OFF"},
		{"up", []string{"--credentials", creds}, "", authSigV4, "mode=sigv4"},
		{"up", []string{"--auth", "sigv4"}, "", "", "needs --credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.cmd+" "+strings.Join(tc.args, " ")+" env="+tc.env, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("MESHGATE_AUTH", tc.env)
			}
			a, logs, err := setup(t, tc.cmd, tc.args...)
			if tc.wantMode == "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.mode != tc.wantMode || !strings.Contains(logs, tc.wantText) {
				t.Fatalf("mode %s, logs:\n%s\nwant mode %s and %q", a.mode, logs, tc.wantMode, tc.wantText)
			}
		})
	}
}

func TestAuthWarnings(t *testing.T) {
	creds := writeCredentials(t, "AKIDCMDTEST")
	os.Chmod(creds, 0o644)
	_, logs, err := setup(t, "server", "--credentials", creds, "--account-id", "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chmod 600"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "0123456789abcdef0123") {
		t.Errorf("the secret is in the log:\n%s", logs)
	}
}

// TestMeshSharesFlag: --mesh-shares is read at start, refused without
// authentication and when broken.
func TestMeshSharesFlag(t *testing.T) {
	creds := writeCredentials(t, "AKIDCMDTEST")
	dir := t.TempDir()
	good := filepath.Join(dir, "shares.json")
	os.WriteFile(good, []byte(`{"shares":[{"meshName":"m","meshOwner":"111122223333","consumers":["444455556666"]}]}`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"shares":[{"meshName":"m","meshOwner":"1111","consumers":["444455556666"]}]}`), 0o600)

	a, _, err := setup(t, "server", "--credentials", creds, "--mesh-shares", good)
	if err != nil {
		t.Fatal(err)
	}
	if !a.shares.SharedWith("m", "111122223333", "444455556666") || a.shares.SharedWith("m", "111122223333", "777788889999") {
		t.Error("the shares file was not read as written")
	}
	if _, _, err := setup(t, "server", "--credentials", creds, "--mesh-shares", bad); err == nil || !strings.Contains(err.Error(), "meshOwner: want 12 digits") {
		t.Errorf("a broken shares file: %v", err)
	}
	if _, _, err := setup(t, "server", "--auth", "none", "--mesh-shares", good); err == nil || !strings.Contains(err.Error(), "--mesh-shares needs --auth sigv4") {
		t.Errorf("--mesh-shares without authentication: %v", err)
	}
}

// TestAuthReloadOnSIGHUP: SIGHUP reloads the credential file into the
// running handler.
func TestAuthReloadOnSIGHUP(t *testing.T) {
	creds := writeCredentials(t, "AKIDBEFORE")
	f, err := parseServerFlags("server", []string{"--credentials", creds})
	if err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := setupAuth("server", f, log)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ := service.New(st, service.Config{Region: f.region, AccountID: f.accountID})
	h, err := api.New(svc, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if a.handler(ctx, h, log) == nil {
		t.Fatal("no handler")
	}

	data, _ := os.ReadFile(writeCredentials(t, "AKIDAFTER"))
	os.WriteFile(creds, data, 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "why=SIGHUP") {
		if time.Now().After(deadline) {
			t.Fatalf("no SIGHUP reload logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := a.keys.Lookup("AKIDAFTER"); !ok {
		t.Errorf("AKIDAFTER not loaded after SIGHUP:\n%s", logs.String())
	}
}
