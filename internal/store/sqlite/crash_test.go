package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// The crash test runs the test binary again as a child that writes until it
// is killed with SIGKILL. Set in the child's environment only.
const (
	crashEnvDB    = "MESHGATE_SQLITE_CRASH_DB"
	crashEnvRound = "MESHGATE_SQLITE_CRASH_ROUND"
)

var crashCounter = store.Key{Kind: store.KindVirtualRouter, Mesh: "m", Name: "counter"}

func crashNodeKey(name string) store.Key {
	return store.Key{Kind: store.KindVirtualNode, Mesh: "m", Name: name}
}

// crashWrite is one write of the child: a node with two refs and three
// tags, and the counter bumped, all in one transaction, so a torn write
// would show as a node without its refs or tags or a counter out of step.
func crashWrite(ctx context.Context, s *Store, name string) error {
	return s.Write(ctx, func(tx store.Tx) error {
		c, err := tx.Get(ctx, crashCounter)
		if err != nil {
			return err
		}
		prev := c.Version
		c.Version++
		if err := tx.Update(ctx, c, prev); err != nil {
			return err
		}
		now := time.Now()
		return tx.Create(ctx, store.Record{
			Key:     crashNodeKey(name),
			UID:     "uid-" + name,
			Version: 1, CreatedAt: now, LastUpdatedAt: now,
			Spec: bytes.Repeat([]byte("x"), 2000),
			Refs: []store.Key{
				{Kind: store.KindVirtualService, Mesh: "m", Name: "a-" + name},
				{Kind: store.KindVirtualService, Mesh: "m", Name: "b-" + name},
			},
		}, []store.Tag{{Key: "a", Value: name}, {Key: "b", Value: name}, {Key: "c", Value: name}})
	})
}

// TestCrashChild is the child's side; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnvDB)
	if path == "" {
		t.Skip("runs only as the child of TestCrashKeepsAcknowledgedWrites")
	}
	round := os.Getenv(crashEnvRound)
	// Bounded in case the parent never kills it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	for i := 0; i < 100_000; i++ {
		name := fmt.Sprintf("r%s-%06d", round, i)
		if err := crashWrite(ctx, s, name); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(2)
		}
		// Only now is the write acknowledged. os.Stdout is unbuffered, so
		// the parent has the line as soon as this returns.
		if _, err := fmt.Fprintf(os.Stdout, "ack %s\n", name); err != nil {
			os.Exit(2)
		}
	}
	os.Exit(3) // never killed: the parent reports it
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(tx store.Tx) error {
		return tx.Create(ctx, store.Record{Key: crashCounter, UID: "uid-counter", Version: 1}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	var acked []string
	for round, killAfter := range []int{200, 237, 311} {
		acked = append(acked, runCrashChild(ctx, t, path, round, killAfter)...)
		checkAfterCrash(ctx, t, path, acked)
	}
}

// runCrashChild starts a child writing to path, kills it with SIGKILL after
// killAfter acknowledgements, and returns every key it acknowledged,
// including those whose lines were still in the pipe at the kill.
func runCrashChild(ctx context.Context, t *testing.T, path string, round, killAfter int) []string {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDB+"="+path, crashEnvRound+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		name, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue // the test framework's own output
		}
		acked = append(acked, name)
		if !killed && len(acked) >= killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill: %v", err)
			}
			killed = true
		}
	}
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child exited after %d acks (%v) before the kill; stderr:\n%s", round, len(acked), waitErr, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("round %d: timed out", round)
	}
	t.Logf("round %d: killed after %d acknowledged writes", round, len(acked))
	return acked
}

// checkAfterCrash reopens the database as a restarted server would and
// checks it holds every acknowledged write, whole, and nothing torn.
func checkAfterCrash(ctx context.Context, t *testing.T, path string, acked []string) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()

	var integrity string
	if err := s.wdb.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil {
		t.Fatal(err)
	}
	if integrity != "ok" {
		t.Fatalf("integrity_check: %s", integrity)
	}
	rows, err := s.wdb.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports violations")
	}
	rows.Close()

	err = s.Read(ctx, func(tx store.Tx) error {
		for _, name := range acked {
			r, err := tx.Get(ctx, crashNodeKey(name))
			if err != nil {
				return fmt.Errorf("acknowledged %s: %w", name, err)
			}
			if len(r.Refs) != 2 {
				t.Errorf("%s has %d refs, want 2", name, len(r.Refs))
			}
		}
		// Every stored node, acknowledged or not (the write in flight at
		// the kill may have committed), is whole.
		nodes, err := tx.Count(ctx, store.KindVirtualNode, "m", "")
		if err != nil {
			return err
		}
		if nodes < len(acked) || nodes > len(acked)+3 { // at most one unacknowledged write per round
			t.Errorf("%d nodes stored, %d acknowledged", nodes, len(acked))
		}
		all, err := tx.List(ctx, store.KindVirtualNode, "m", "", "", nodes+1)
		if err != nil {
			return err
		}
		for _, r := range all {
			tags, err := tx.Tags(ctx, r.UID)
			if err != nil {
				return err
			}
			if len(r.Refs) != 2 || len(tags) != 3 || len(r.Spec) != 2000 {
				t.Errorf("%s is torn: %d refs, %d tags, %d spec bytes", r.Name, len(r.Refs), len(tags), len(r.Spec))
			}
		}
		c, err := tx.Get(ctx, crashCounter)
		if err != nil {
			return err
		}
		if c.Version != int64(len(all))+1 {
			t.Errorf("counter at %d after %d node writes: a write was torn", c.Version, len(all))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var orphans int
	if err := s.rdb.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM tags WHERE uid NOT IN (SELECT uid FROM resources)) +
		(SELECT count(*) FROM refs WHERE NOT EXISTS (SELECT 1 FROM resources r
			WHERE r.kind = from_kind AND r.mesh = from_mesh AND r.parent = from_parent AND r.name = from_name))`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d orphaned tags or refs", orphans)
	}
}
