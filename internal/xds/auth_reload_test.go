package xds

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshgate/meshgate/internal/testutil/certs"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

// testRecheck is how often the reload tests' files are looked at.
const testRecheck = 20 * time.Millisecond

// fileClock gives each rewrite of a watched file its own modification
// time, so that a rewrite of the same size within the file system's
// timestamp resolution is still seen.
var fileClock atomic.Int64

// rewrite replaces path atomically, as an operator's mv does.
func rewrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := certs.WriteFileAtomic(path, data); err != nil {
		t.Fatal(err)
	}
	mod := time.Now().Add(time.Duration(fileClock.Add(1)) * time.Second)
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// watchedFiles makes the harness's server read its client CA and tokens
// from files the test rewrites, looked at every testRecheck.
func watchedFiles(t *testing.T, caFile, tokensFile string) func(*Config) {
	return func(c *Config) {
		c.Auth.ClientCAFile = caFile
		c.Auth.Recheck = testRecheck
		c.Auth.Logger = c.Logger
		c.Auth.Tokens = nil
		if tokensFile != "" {
			tokens, err := WatchTokens(tokensFile, testRecheck, c.Logger)
			if err != nil {
				t.Fatal(err)
			}
			c.Auth.Tokens = tokens
		}
	}
}

func tokensJSON(entries ...string) []byte {
	return []byte(`{"tokens":[` + strings.Join(entries, ",") + `]}`)
}

func tokenEntry(name, tok string, resources ...string) string {
	return `{"name":"` + name + `","token":"` + tok + `","resources":["` + strings.Join(resources, `","`) + `"]}`
}

// A token removed from the tokens file stops working without a restart:
// new calls with it get 16, and an open stream that authenticated with it
// is closed with 16 while the streams of other tokens go on. A token whose
// resources no longer cover its stream's gateway closes that stream with
// 7. A file that does not parse keeps the last good set, and neither the
// logs nor the errors show a token.
func TestTokensFileReload(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "proxy CA")
	caFile := ca.WriteFile(t, dir, "clients.pem")
	tokensFile := filepath.Join(dir, "tokens.json")
	rewrite(t, tokensFile, tokensJSON(tokenEntry("a", tokenA, gwA), tokenEntry("prod", tokenProd, "mesh/prod/virtualGateway/*")))
	a := newAuthHarness(t, AuthToken, watchedFiles(t, caFile, tokensFile))
	a.gateways()
	conn := a.conn(t, nil)

	sa := newADS(t, conn, gwA, bearer(tokenA))
	sa.start()
	sa.until(5*time.Second, "a's listener", func() bool { return sa.hasListenerOn(8080) })
	sp := newADS(t, conn, gwEdge, bearer(tokenProd))
	sp.start()
	sp.until(5*time.Second, "edge's listener", func() bool { return sp.hasListenerOn(8082) })
	sp.settle(200 * time.Millisecond)

	// Revoke a.
	rewrite(t, tokensFile, tokensJSON(tokenEntry("prod", tokenProd, "mesh/prod/virtualGateway/*")))
	if st := streamEnd(t, sa); st.Code() != codes.Unauthenticated || !strings.Contains(st.Message(), "revoked") {
		t.Errorf("a's open stream: %v, want Unauthenticated (revoked)", st)
	}
	refusedBeforeAnything(t, conn, bearer(tokenA), gwA, codes.Unauthenticated)
	sp.quiet(300*time.Millisecond, "prod's stream after a's token was revoked")
	if !strings.Contains(a.log.String(), "xds stream closed: its credentials no longer hold") ||
		!strings.Contains(a.log.String(), "caller=token:a") {
		t.Errorf("no log line for the closed stream:\n%s", a.log.String())
	}

	// A broken file keeps prod (and keeps a revoked).
	rewrite(t, tokensFile, []byte(`{"tokens":[{"name":"prod","token":"`+tokenProd+`" oops`))
	time.Sleep(10 * testRecheck)
	c := newADS(t, conn, gwEdge, bearer(tokenProd))
	c.start()
	c.until(5*time.Second, "edge's listener with the last good tokens", func() bool { return c.hasListenerOn(8082) })
	refusedBeforeAnything(t, conn, bearer(tokenA), gwA, codes.Unauthenticated)
	sp.quiet(100*time.Millisecond, "prod's stream after a broken tokens file")
	wait.For(t, 5*time.Second, "the reload failure in the log", func() bool {
		return strings.Contains(a.log.String(), `files="xDS tokens"`) && strings.Contains(a.log.String(), "keeping the last good version")
	})

	// Narrow prod to another gateway: its streams on edge end with 7.
	rewrite(t, tokensFile, tokensJSON(tokenEntry("prod", tokenProd, "mesh/prod/virtualGateway/other")))
	for _, s := range []*adsClient{sp, c} {
		if st := streamEnd(t, s); st.Code() != codes.PermissionDenied {
			t.Errorf("prod's stream on edge after narrowing: %v, want PermissionDenied", st)
		}
	}

	// A token added back works again.
	rewrite(t, tokensFile, tokensJSON(tokenEntry("a", tokenA, gwA)))
	wait.For(t, 5*time.Second, "a's token back", func() bool { return a.srv.auth.tokens.Len() == 1 && hasToken(a.srv.auth.tokens, tokenA) })
	back := newADS(t, conn, gwA, bearer(tokenA))
	back.start()
	back.until(5*time.Second, "a's listener with its token back", func() bool { return back.hasListenerOn(8080) })

	if n := testutil.ToFloat64(a.srv.m.rejected.WithLabelValues("Unauthenticated")); n < 3 {
		t.Errorf("unauthenticated refusals counted: %v", n)
	}
	for _, tok := range []string{tokenA, tokenProd} {
		if strings.Contains(a.log.String(), tok) {
			t.Errorf("the log shows a token:\n%s", a.log.String())
		}
	}
}

func hasToken(t *Tokens, tok string) bool {
	_, ok := t.lookup(tok)
	return ok
}

// Rotating the client CA bundle needs no restart: with the old and new CA
// both in it, clients of either connect; with the new one only, a client
// of the old CA is refused at the handshake and its open stream is closed
// with 16, while the new CA's stream goes on. A bundle that does not
// parse keeps the last good one.
func TestClientCAReload(t *testing.T) {
	dir := t.TempDir()
	oldCA, newCA := certs.NewCA(t, "old proxy CA"), certs.NewCA(t, "new proxy CA")
	caFile := filepath.Join(dir, "clients.pem")
	rewrite(t, caFile, oldCA.CertPEM)
	a := newAuthHarness(t, AuthMTLS, watchedFiles(t, caFile, ""))
	a.gateways()
	oldLeaf := oldCA.Client(t, "spiffe://example.org/"+gwA)
	newLeaf := newCA.Client(t, "spiffe://example.org/"+gwA)

	so := newADS(t, a.conn(t, oldLeaf), gwA)
	so.start()
	so.until(5*time.Second, "a's listener with the old CA", func() bool { return so.hasListenerOn(8080) })
	so.settle(200 * time.Millisecond)
	refusedBeforeAnything(t, a.conn(t, newLeaf), context.Background(), gwA, codes.Unavailable)

	// Both CAs: the new one is accepted, the old stream goes on.
	rewrite(t, caFile, append(append([]byte{}, oldCA.CertPEM...), newCA.CertPEM...))
	wait.For(t, 5*time.Second, "the new CA accepted", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return callFetchSecretsErr(ctx, a, newLeaf) == codes.OK
	})
	sn := newADS(t, a.conn(t, newLeaf), gwA)
	sn.start()
	sn.until(5*time.Second, "a's listener with the new CA", func() bool { return sn.hasListenerOn(8080) })
	sn.settle(200 * time.Millisecond)
	so.quiet(200*time.Millisecond, "the old CA's stream with both CAs in the bundle")

	// The new CA only: the old stream is closed, the old CA refused.
	rewrite(t, caFile, newCA.CertPEM)
	if st := streamEnd(t, so); st.Code() != codes.Unauthenticated || !strings.Contains(st.Message(), "client certificate") {
		t.Errorf("the old CA's open stream: %v, want Unauthenticated", st)
	}
	refusedBeforeAnything(t, a.conn(t, oldLeaf), context.Background(), gwA, codes.Unavailable)
	sn.quiet(200*time.Millisecond, "the new CA's stream after the old CA was removed")

	// A damaged bundle (cut short mid-write) keeps the last good one.
	rewrite(t, caFile, oldCA.CertPEM[:len(oldCA.CertPEM)/2])
	time.Sleep(10 * testRecheck)
	refusedBeforeAnything(t, a.conn(t, oldLeaf), context.Background(), gwA, codes.Unavailable)
	if code := callFetchSecretsErr(context.Background(), a, newLeaf); code != codes.OK {
		t.Errorf("the new CA after a damaged bundle: %v", code)
	}
	sn.quiet(100*time.Millisecond, "the new CA's stream after a damaged bundle")
	wait.For(t, 5*time.Second, "the reload failure in the log", func() bool {
		return strings.Contains(a.log.String(), `files="xDS client CA"`) && strings.Contains(a.log.String(), "keeping the last good version")
	})
}

// callFetchSecretsErr makes a unary call as gateway a with leaf and
// returns its code (a refused handshake is Unavailable).
func callFetchSecretsErr(ctx context.Context, a *authHarness, leaf *certs.Leaf) codes.Code {
	_, err := callFetchSecrets(ctx, a.conn(a.t, leaf), gwA, nil)
	return status.Code(err)
}

// Streams are tracked only while they are open, and the goroutine that
// watches the files for them ends with the last one.
func TestLiveStreamsEnd(t *testing.T) {
	dir := t.TempDir()
	ca := certs.NewCA(t, "proxy CA")
	tokensFile := filepath.Join(dir, "tokens.json")
	rewrite(t, tokensFile, tokensJSON(tokenEntry("a", tokenA, gwA)))
	a := newAuthHarness(t, AuthToken, watchedFiles(t, ca.WriteFile(t, dir, "ca.pem"), tokensFile))
	a.gateways()
	conn := a.conn(t, nil)
	s := newADS(t, conn, gwA, bearer(tokenA))
	s.start()
	s.until(5*time.Second, "a's listener", func() bool { return s.hasListenerOn(8080) })
	live := func() (int, bool) {
		a.srv.auth.live.mu.Lock()
		defer a.srv.auth.live.mu.Unlock()
		return len(a.srv.auth.live.streams), a.srv.auth.live.stop != nil
	}
	if n, running := live(); n != 1 || !running {
		t.Errorf("%d streams tracked, watching %v; want 1, true", n, running)
	}
	s.close()
	wait.For(t, 5*time.Second, "the stream untracked", func() bool { n, running := live(); return n == 0 && !running })
}

// Errors of a tokens file never quote it: a reload failure is logged.
func TestTokensErrorsQuoteNothing(t *testing.T) {
	const secret = "s3cr3t-t0ken-th4t-must-n0t-leak"
	for _, bad := range []string{
		`{"tokens":[{"token":"` + secret + `" x}]}`,
		`{"tokens":[{"token":"` + secret + `",` + `"` + secret + `":1,"resources":["mesh/m/virtualGateway/a"]}]}`,
		`{"tokens":[{"token":` + `["` + secret + `"]}]}`,
		`{"tokens":[{"token":"` + secret + `"`,
		`{"tokens":[{"token":"` + secret[:10] + `","resources":["mesh/m/virtualGateway/a"]}]}`,
		`{"tokens":[{"token":"` + secret + ` x","resources":["mesh/m/virtualGateway/a"]}]}`,
	} {
		_, err := ParseTokens([]byte(bad))
		if err == nil {
			t.Errorf("%s: accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), secret[:6]) {
			t.Errorf("%s: the error shows the token: %v", bad, err)
		}
	}
}

func TestParseClientCA(t *testing.T) {
	a, b := certs.NewCA(t, "a"), certs.NewCA(t, "b")
	both := append(append([]byte("# a comment line, as system bundles have\n"), a.CertPEM...), b.CertPEM...)
	if _, err := parseClientCA([][]byte{both}); err != nil {
		t.Errorf("two CAs: %v", err)
	}
	for name, bad := range map[string][]byte{
		"empty":         nil,
		"not PEM":       []byte("not pem"),
		"cut short":     both[:len(both)-40],
		"bad DER":       bytes.Replace(a.CertPEM, []byte("MII"), []byte("AAA"), 1),
		"only a key":    []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"second broken": append(append([]byte{}, a.CertPEM...), []byte("-----BEGIN CERTIFICATE-----\nAAAA")...),
	} {
		if _, err := parseClientCA([][]byte{bad}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
