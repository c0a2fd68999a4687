package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgCluster is a PostgreSQL server the test owns, so it can stop and
// start it (the database-outage test); others only need a database.
type pgCluster struct {
	dir, port, bin string
}

// pgBin finds PostgreSQL's server binaries (Debian installs them under
// /usr/lib/postgresql/VERSION/bin).
func pgBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// needPostgres skips outside CI when PostgreSQL is not installed, and
// fails in CI, where .ci/run installs it.
func needPostgres(t *testing.T) string {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed; .ci/run installs it")
		}
		t.Skip("PostgreSQL is not installed (apt-get install postgresql); skipping the multi-replica tests")
	}
	return bin
}

// startPostgres initializes and starts a private cluster on a free
// loopback port and returns it; it is stopped when the test ends.
func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	bin := needPostgres(t)
	dir, err := os.MkdirTemp("", "meshgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	_, port, _ := net.SplitHostPort(freePort(t))
	c := &pgCluster{dir: dir, port: port, bin: bin}
	// initdb refuses to run as root: run the server as the postgres user.
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	c.run(t, "initdb", "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync")
	c.start(t)
	t.Cleanup(func() { c.stop(t) })
	return c
}

func (c *pgCluster) run(t *testing.T, tool string, args ...string) {
	t.Helper()
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, tool)}, args...)...)
	} else {
		cmd = exec.Command(filepath.Join(c.bin, tool), args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir))
}

func (c *pgCluster) stop(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-w", "-m", "fast", "stop")
}

// database creates a fresh database and returns its DSN.
func (c *pgCluster) database(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("meshgate_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return c.dsn(name)
}

func (c *pgCluster) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", c.port, db)
}
