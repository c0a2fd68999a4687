package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestSecretsNeverLogged (reference S22): with debug logging, signed
// requests that succeed and that fail leave no secret key, signature or
// Authorization value in the server's log.
func TestSecretsNeverLogged(t *testing.T) {
	srv := startAuthServer(t, "--log-level", "debug")
	awsCLIAs(t, srv.endpoint, e2eAdminKey, e2eSecret, "us-west-2", "create-mesh", "--mesh-name", "logs")
	awsCLIAs(t, srv.endpoint, e2eAdminKey, "wrong-secret-wrong-secret-000", "us-west-2", "list-meshes")
	awsCLIAs(t, srv.endpoint, e2eReaderKey, e2eSecret, "us-west-2", "delete-mesh", "--mesh-name", "logs")
	awsCLIAs(t, srv.endpoint, "AKIAUNKNOWNKEY000000", e2eSecret, "us-west-2", "list-meshes")
	srv.stop(t)
	log := srv.log.String()
	if !strings.Contains(log, "api request") {
		t.Fatalf("no debug request lines were logged; the test would prove nothing:\n%s", log)
	}
	for _, secret := range []string{e2eSecret, "wrong-secret-wrong-secret-000"} {
		if strings.Contains(log, secret) {
			t.Errorf("a secret key appears in the log")
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`Signature=[0-9a-f]{16,}`),
		regexp.MustCompile(`AWS4-HMAC-SHA256 Credential=`),
		regexp.MustCompile(`\b[0-9a-f]{64}\b`), // a signature or signing key in hex
	} {
		if m := re.FindString(log); m != "" {
			t.Errorf("the log holds %q", m)
		}
	}
}
