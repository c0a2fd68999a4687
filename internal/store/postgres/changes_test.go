package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("waiting for %s: channel closed", what)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no signal for %s within 20s", what)
	}
}

func noSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("signal after %s, want none", what)
	case <-time.After(500 * time.Millisecond):
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed within 10s")
		}
	}
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// TestChangesAcrossReplicas: a replica hears the other's committed changes,
// and its own, but not writes that changed nothing.
func TestChangesAcrossReplicas(t *testing.T) {
	a, b := twoReplicas(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	a.listenIdle = 100 * time.Millisecond // exercise the idle ping too
	ch := a.Changes(ctx)
	waitSignal(t, ch, "listening")
	time.Sleep(500 * time.Millisecond) // a few idle pings

	r := record(nodeKey("m", "n"))
	mustCreate(t, b, r)
	waitSignal(t, ch, "the other replica's write")

	if err := b.Write(ctx, func(tx store.Tx) error { _, err := tx.Get(ctx, r.Key); return err }); err != nil {
		t.Fatal(err)
	}
	_ = b.Write(ctx, func(tx store.Tx) error {
		if err := tx.Create(ctx, record(nodeKey("m", "abandoned")), nil); err != nil {
			return err
		}
		return errors.New("abandon")
	})
	noSignal(t, ch, "writes that committed no change")

	mustCreate(t, a, record(nodeKey("m", "own")))
	waitSignal(t, ch, "the replica's own write")

	cancel()
	waitClosed(t, ch)
}

// TestChangesEndWithStore: Close ends every listener and closes its
// channel; Changes on a closed store returns a closed channel.
func TestChangesEndWithStore(t *testing.T) {
	s, err := Open(testContext(t), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	ch := s.Changes(context.Background())
	waitSignal(t, ch, "listening")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch)
	waitClosed(t, s.Changes(context.Background()))
}

// TestServerGoneAndBack cuts a replica off its server: its calls fail fast
// with ErrUnavailable, its listener reconnects when the server is back and
// signals once for what it may have missed, and its pool recovers.
func TestServerGoneAndBack(t *testing.T) {
	dsn := newDatabase(t)
	network, target := serverAddress(t, dsn)
	p := startProxy(t, network, target)
	a := openStore(t, withAddress(dsn, p.addr))
	b := openStore(t, dsn)
	ctx := testContext(t)

	ch := a.Changes(ctx)
	waitSignal(t, ch, "listening")
	mustCreate(t, b, record(nodeKey("m", "before")))
	waitSignal(t, ch, "a write before the outage")

	p.stop()
	for name, op := range map[string]func(context.Context) error{
		"Read": func(ctx context.Context) error {
			return a.Read(ctx, func(tx store.Tx) error { _, err := tx.Count(ctx, store.KindMesh, "", ""); return err })
		},
		"Write": func(ctx context.Context) error {
			return a.Write(ctx, func(tx store.Tx) error { return tx.Create(ctx, record(nodeKey("m", "during")), nil) })
		},
		"Revision": func(ctx context.Context) error { _, err := a.Revision(ctx); return err },
	} {
		opCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		start := time.Now()
		err := op(opCtx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with the server gone: %v, want ErrUnavailable", name, err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s took %v to report the outage", name, took)
		}
		t.Logf("%s: %v", name, err)
	}

	drain(ch)
	mustCreate(t, b, record(nodeKey("m", "missed"))) // nobody is listening on a's side
	p.start()
	waitSignal(t, ch, "reconnecting")
	mustCreate(t, b, record(nodeKey("m", "after")))
	waitSignal(t, ch, "a write after the outage")

	deadline := time.Now().Add(15 * time.Second)
	for {
		err := a.Read(ctx, func(tx store.Tx) error { _, err := tx.Get(ctx, nodeKey("m", "missed")); return err })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Read after the server came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
