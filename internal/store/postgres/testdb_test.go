package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// envDSN names the environment variable with the DSN of a PostgreSQL server
// the tests may create and drop databases on.
const envDSN = "MESHGATE_TEST_POSTGRES"

// adminDSN returns the server's DSN. Without one the test is skipped on a
// developer's machine, but fails under CI, which must run these tests.
func adminDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(envDSN); dsn != "" {
		return dsn
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set, but CI is: CI must run the PostgreSQL tests (.ci/run starts a throwaway server and sets %s)", envDSN, envDSN)
	}
	t.Skipf("%s is not set: set it to the DSN of a PostgreSQL server whose role may CREATE DATABASE "+
		"(e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests", envDSN)
	return ""
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newDatabase creates an empty database for this test alone and returns a
// DSN for it. It is dropped at cleanup, after the stores opened on it are
// closed (cleanups run last registered first). A database per test, not a
// schema, also keeps notifications and advisory locks apart, as both are
// per database.
func newDatabase(t testing.TB) string {
	t.Helper()
	admin := adminDSN(t)
	ctx := testContext(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "meshgate_test_" + hex.EncodeToString(b[:])
	adminExec(t, ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		adminExec(t, ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return withDatabase(admin, name)
}

func adminExec(t testing.TB, ctx context.Context, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", envDSN, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withDatabase points dsn, a URL or keyword=value string, at another
// database on the same server.
func withDatabase(dsn, name string) string {
	if u, ok := parseURL(dsn); ok {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name // a later keyword overrides an earlier one
}

// withAddress points dsn at another host and port, keeping the rest.
func withAddress(dsn, addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if u, ok := parseURL(dsn); ok {
		u.Host = addr
		q := u.Query()
		q.Del("host")
		q.Del("port")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s host=%s port=%s", dsn, host, port)
}

func parseURL(dsn string) (*url.URL, bool) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil, false
	}
	u, err := url.Parse(dsn)
	return u, err == nil
}

// serverAddress is where dsn's server listens, as a network and address to
// dial (a Unix socket when the host is a directory).
func serverAddress(t testing.TB, dsn string) (network, addr string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", envDSN, err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// openStore opens dsn and closes the store at cleanup.
func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(testContext(t), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openFresh opens a store on a database of its own.
func openFresh(t testing.TB) *Store {
	t.Helper()
	return openStore(t, newDatabase(t))
}
