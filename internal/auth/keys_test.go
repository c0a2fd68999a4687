package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
)

func credentialFile(keyID, secret string) string {
	return `{"credentials":[{"accessKeyId":"` + keyID + `","secretAccessKey":"` + secret + `","accountId":"111122223333",` +
		`"policy":[{"effect":"Allow","action":"appmesh:*","resource":"*"}]}]}`
}

func TestParseKeysErrors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	cases := map[string]string{
		``:                                   "not a credential file",
		`{"credentials":[]}`:                 "no credentials",
		`{"keys":[]}`:                        `unknown field "keys"`,
		`{"credentials":[]} {}`:              "data after the JSON object",
		credentialFile("AK/ID", secret):      "accessKeyId: want",
		credentialFile("AKIDOK", "short"):    "secretAccessKey: want at least 16",
		credentialFile("AKIDOK", " "+secret): "white space",
		`{"credentials":[{"accessKeyId":"AKIDOK","secretAccessKey":"` + secret + `","accountId":"12"}]}`: "accountId: want 12 digits",
		`{"credentials":[{"accessKeyId":"AKIDOK","secretAccessKey":"` + secret + `","accountId":"111122223333"},` +
			`{"accessKeyId":"AKIDOK","secretAccessKey":"` + secret + `","accountId":"111122223333"}]}`: "appears twice",
		// The secret pasted where the key id goes must not be echoed.
		credentialFile(secret, secret): "(bad accessKeyId)",
	}
	for file, want := range cases {
		_, err := ParseKeys([]byte(file))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", file, err, want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the secret: %v", file, err)
		}
	}
}

// TestCredentialPrintsNoSecret: a Credential printed or logged by mistake
// shows its key id and account, never its secret or token.
func TestCredentialPrintsNoSecret(t *testing.T) {
	keys, err := ParseKeys([]byte(testCredentials))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := keys.Lookup(tokenKeyID)
	if !ok {
		t.Fatal("token key not found")
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "cred", c)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", c, *c, c), logged.String()} {
		if strings.Contains(out, testSecret) || strings.Contains(out, testToken) {
			t.Errorf("printed credential holds a secret: %s", out)
		}
	}
	if !strings.Contains(logged.String(), tokenKeyID) {
		t.Errorf("log lacks the key id: %s", logged.String())
	}
	if c.ARN() != "arn:aws:iam::111122223333:user/"+tokenKeyID {
		t.Errorf("ARN = %s", c.ARN())
	}
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(credentialFile("AKIDFIRST", testSecret))
	keys, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Lookup("AKIDFIRST"); !ok {
		t.Fatal("AKIDFIRST not loaded")
	}
	if changed, err := keys.Reload(); changed || err != nil {
		t.Fatalf("reload of the same file: changed %v, err %v", changed, err)
	}

	write(credentialFile("AKIDSECOND", testSecret))
	if changed, err := keys.Reload(); !changed || err != nil {
		t.Fatalf("reload of a new file: changed %v, err %v", changed, err)
	}
	if _, ok := keys.Lookup("AKIDFIRST"); ok {
		t.Error("AKIDFIRST survived the reload")
	}
	if _, ok := keys.Lookup("AKIDSECOND"); !ok {
		t.Error("AKIDSECOND not loaded")
	}

	write(`{"credentials":[{"accessKeyId":`) // half-written
	if _, err := keys.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	if _, ok := keys.Lookup("AKIDSECOND"); !ok {
		t.Error("a broken file dropped the previous credentials")
	}
	if _, err := LoadKeys(filepath.Join(t.TempDir(), "absent.json")); err == nil {
		t.Error("LoadKeys of a missing file succeeded")
	}
}

// TestWatch: a changed file is picked up without a signal, and a broken
// one is reported once, not at every poll.
func TestWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	os.WriteFile(path, []byte(credentialFile("AKIDFIRST", testSecret)), 0o600)
	keys, err := LoadKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf logbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		keys.Watch(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(&buf, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()

	// Replace the file as editors do: write a new one, rename it over.
	tmp := path + ".tmp"
	os.WriteFile(tmp, []byte(credentialFile("AKIDSECOND", testSecret)), 0o600)
	os.Rename(tmp, path)
	waitFor(t, func() bool { _, ok := keys.Lookup("AKIDSECOND"); return ok })

	// Atomically again: an in-place write may be seen half-done, which is
	// reported as a second broken version.
	os.WriteFile(tmp, []byte(`{`), 0o600)
	os.Rename(tmp, path)
	waitFor(t, func() bool { return strings.Contains(buf.String(), "credentials not reloaded") })
	time.Sleep(50 * time.Millisecond)
	if n := strings.Count(buf.String(), "credentials not reloaded"); n != 1 {
		t.Errorf("a broken file was reported %d times, want once:\n%s", n, buf.String())
	}
	if _, ok := keys.Lookup("AKIDSECOND"); !ok {
		t.Error("a broken file dropped the credentials")
	}
	if strings.Contains(buf.String(), testSecret) {
		t.Errorf("the log holds the secret:\n%s", buf.String())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
