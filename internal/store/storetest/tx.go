package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// fnError is a distinct type, so the test can tell the very error fn
// returned from a wrapped or rebuilt one.
type fnError struct{ msg string }

func (e *fnError) Error() string { return e.msg }

// snapshot is everything the rollback cases look at.
type snapshot struct {
	a, b         store.Record
	bErr         error
	aTags        []store.Tag
	cErr         error
	cTags        []store.Tag
	tok, newTok  error
	tokResp      string
	nodes        int
	refsToTarget []store.Key
	rev          int64
}

// rollbackFixture creates records a and b, tags, a token and a ref, and
// returns the keys, so a failed write can be shown to have changed none.
func rollbackFixture(t *testing.T, s store.Store) (a, b, c store.Record) {
	target := nodeKey("m", "target")
	a = newRecord(serviceKey("m", "a"), target)
	b = newRecord(nodeKey("m", "b"))
	c = newRecord(serviceKey("m", "c"), target)
	create(t, s, newRecord(target))
	create(t, s, a, store.Tag{Key: "k", Value: "v"})
	create(t, s, b)
	putToken(t, s, store.Token{Scope: "s", Token: "t", InputHash: "h", Response: []byte("kept"), CreatedAt: base})
	return a, b, c
}

func takeSnapshot(t *testing.T, s store.Store, a, b, c store.Record) snapshot {
	t.Helper()
	var snap snapshot
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		if snap.a, err = tx.Get(ctx, a.Key); err != nil {
			return err
		}
		snap.b, snap.bErr = tx.Get(ctx, b.Key)
		if snap.aTags, err = tx.Tags(ctx, a.UID); err != nil {
			return err
		}
		_, snap.cErr = tx.Get(ctx, c.Key)
		if snap.cTags, err = tx.Tags(ctx, c.UID); err != nil {
			return err
		}
		var tok store.Token
		tok, snap.tok = tx.Token(ctx, "s", "t", time.Time{})
		snap.tokResp = string(tok.Response)
		_, snap.newTok = tx.Token(ctx, "s", "new", time.Time{})
		if snap.nodes, err = tx.Count(ctx, store.KindVirtualNode, "m", ""); err != nil {
			return err
		}
		snap.refsToTarget, err = tx.Referrers(ctx, nodeKey("m", "target"))
		return err
	})
	var err error
	if snap.rev, err = s.Revision(testContext(t)); err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return snap
}

func checkUnchanged(t *testing.T, got, want snapshot) {
	t.Helper()
	checkRecord(t, got.a, want.a)
	if got.bErr != nil {
		t.Errorf("b: %v", got.bErr)
	}
	checkRecord(t, got.b, want.b)
	if !slices.Equal(got.aTags, want.aTags) {
		t.Errorf("tags of a = %v, want %v", got.aTags, want.aTags)
	}
	if !errors.Is(got.cErr, store.ErrNotFound) || len(got.cTags) != 0 {
		t.Errorf("c: Get error %v, tags %v; want ErrNotFound and none", got.cErr, got.cTags)
	}
	if got.tok != nil || got.tokResp != want.tokResp {
		t.Errorf("token t: %v %q, want %q", got.tok, got.tokResp, want.tokResp)
	}
	if !errors.Is(got.newTok, store.ErrNotFound) {
		t.Errorf("token new: %v, want ErrNotFound", got.newTok)
	}
	if got.nodes != want.nodes {
		t.Errorf("node count = %d, want %d", got.nodes, want.nodes)
	}
	if !slices.Equal(got.refsToTarget, want.refsToTarget) {
		t.Errorf("Referrers(target) = %v, want %v", got.refsToTarget, want.refsToTarget)
	}
	if got.rev != want.rev {
		t.Errorf("Revision = %d, want %d", got.rev, want.rev)
	}
}

// writeEverything does one of each kind of write; every one succeeds.
func writeEverything(ctx context.Context, tx store.Tx, a, b, c store.Record) error {
	if err := tx.Create(ctx, c, []store.Tag{{Key: "c", Value: "c"}}); err != nil {
		return err
	}
	next := a
	next.Version = 2
	next.Spec = []byte(`{"changed":true}`)
	next.Refs = nil
	if err := tx.Update(ctx, next, 1); err != nil {
		return err
	}
	if err := tx.SetTags(ctx, a.UID, []store.Tag{{Key: "replaced", Value: "x"}}); err != nil {
		return err
	}
	if err := tx.Delete(ctx, b.Key, 1); err != nil {
		return err
	}
	if err := tx.PutToken(ctx, store.Token{Scope: "s", Token: "t", InputHash: "h2", Response: []byte("replaced"), CreatedAt: base}); err != nil {
		return err
	}
	return tx.PutToken(ctx, store.Token{Scope: "s", Token: "new", InputHash: "h", Response: []byte("new"), CreatedAt: base})
}

func testFailingFnRollsBack(t *testing.T, s store.Store) {
	a, b, c := rollbackFixture(t, s)
	before := takeSnapshot(t, s, a, b, c)

	want := &fnError{"boom"}
	ctx := testContext(t)
	err := s.Write(ctx, func(tx store.Tx) error {
		if err := writeEverything(ctx, tx, a, b, c); err != nil {
			t.Errorf("writeEverything: %v", err)
		}
		return want
	})
	// Identity, not errors.Is: the contract is the very same error value.
	if err != want {
		t.Fatalf("Write returned %#v, want the fn's error %#v unchanged", err, want)
	}
	checkUnchanged(t, takeSnapshot(t, s, a, b, c), before)

	// A sentinel from the store keeps its identity through Write too.
	err = s.Write(ctx, func(tx store.Tx) error { return tx.Delete(ctx, a.Key, 99) })
	if !errors.Is(err, store.ErrVersion) {
		t.Errorf("Write returning Delete's error: %v, want ErrVersion", err)
	}

	// The same writes, committed, do change everything the snapshot sees.
	write(t, s, func(ctx context.Context, tx store.Tx) error { return writeEverything(ctx, tx, a, b, c) })
	after := takeSnapshot(t, s, a, b, c)
	if after.a.Version != 2 || !errors.Is(after.bErr, store.ErrNotFound) || after.cErr != nil || after.tokResp != "replaced" || after.newTok != nil ||
		after.nodes != before.nodes-1 || len(after.refsToTarget) != 1 || after.rev <= before.rev {
		t.Errorf("committed writes not all visible: %+v", after)
	}
}

func testPanicRollsBack(t *testing.T, s store.Store) {
	a, b, c := rollbackFixture(t, s)
	before := takeSnapshot(t, s, a, b, c)

	ctx := testContext(t)
	type marker struct{}
	recovered := func() (p any) {
		defer func() { p = recover() }()
		_ = s.Write(ctx, func(tx store.Tx) error {
			if err := writeEverything(ctx, tx, a, b, c); err != nil {
				t.Errorf("writeEverything: %v", err)
			}
			panic(marker{})
		})
		return nil
	}()
	if recovered != (marker{}) {
		t.Fatalf("recovered %v, want the panic fn raised to come out of Write", recovered)
	}
	checkUnchanged(t, takeSnapshot(t, s, a, b, c), before)

	// The store is still usable for writes: nothing was left holding it.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Write(wctx, func(tx store.Tx) error { return tx.Create(wctx, c, nil) }); err != nil {
		t.Fatalf("Write after a panic: %v", err)
	}
	checkRecord(t, mustGet(t, s, c.Key), c)
}

func testReadOnlyTx(t *testing.T, s store.Store) {
	a, b, c := rollbackFixture(t, s)
	before := takeSnapshot(t, s, a, b, c)
	ctx := testContext(t)
	next := a
	next.Version = 2
	for name, op := range map[string]func(tx store.Tx) error{
		"Create":  func(tx store.Tx) error { return tx.Create(ctx, c, nil) },
		"Update":  func(tx store.Tx) error { return tx.Update(ctx, next, 1) },
		"Delete":  func(tx store.Tx) error { return tx.Delete(ctx, b.Key, 1) },
		"SetTags": func(tx store.Tx) error { return tx.SetTags(ctx, a.UID, nil) },
		"PutToken": func(tx store.Tx) error {
			return tx.PutToken(ctx, store.Token{Scope: "s", Token: "new", CreatedAt: base})
		},
	} {
		var opErr error
		err := s.Read(ctx, func(tx store.Tx) error {
			opErr = op(tx)
			return nil
		})
		if err != nil {
			t.Errorf("%s: Read: %v", name, err)
		}
		if opErr == nil {
			t.Errorf("%s in a Read succeeded, want an error", name)
		}
	}
	checkUnchanged(t, takeSnapshot(t, s, a, b, c), before)
}

func testReadSnapshot(t *testing.T, s store.Store) {
	n := newRecord(nodeKey("m", "n"))
	create(t, s, n)
	ctx := testContext(t)
	err := s.Read(ctx, func(tx store.Tx) error {
		first, err := tx.Count(ctx, store.KindVirtualNode, "m", "")
		if err != nil {
			return err
		}
		// A write commits while the read is open...
		next := n
		next.Version = 2
		if err := s.Write(ctx, func(wtx store.Tx) error {
			if err := wtx.Create(ctx, newRecord(nodeKey("m", "added")), nil); err != nil {
				return err
			}
			return wtx.Update(ctx, next, 1)
		}); err != nil {
			return fmt.Errorf("write during the read: %w", err)
		}
		// ...and the read goes on seeing the state it started with.
		second, err := tx.Count(ctx, store.KindVirtualNode, "m", "")
		if err != nil {
			return err
		}
		if first != 1 || second != 1 {
			t.Errorf("Count in one Read: %d then %d, want 1 both times", first, second)
		}
		if _, err := tx.Get(ctx, nodeKey("m", "added")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("record committed after the Read began: %v, want ErrNotFound", err)
		}
		got, err := tx.Get(ctx, n.Key)
		if err != nil {
			return err
		}
		if got.Version != 1 {
			t.Errorf("Version in the Read = %d, want 1", got.Version)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got := count(t, s, store.KindVirtualNode, "m", ""); got != 2 {
		t.Errorf("Count after the Read = %d, want 2", got)
	}
}

func testRevision(t *testing.T, s store.Store) {
	ctx := testContext(t)
	rev := revision(t, s)
	same := func(what string) {
		t.Helper()
		if got := revision(t, s); got != rev {
			t.Errorf("after %s: Revision %d, want %d", what, got, rev)
		}
	}
	grew := func(what string) {
		t.Helper()
		got := revision(t, s)
		if got <= rev {
			t.Errorf("after %s: Revision %d, want more than %d", what, got, rev)
		}
		rev = got
	}

	r := newRecord(nodeKey("m", "n"))
	create(t, s, r)
	grew("Create")

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.Get(ctx, r.Key)
		return err
	})
	same("a Write that only reads")

	read(t, s, func(ctx context.Context, tx store.Tx) error { _, err := tx.Get(ctx, r.Key); return err })
	same("a Read")

	_ = s.Write(ctx, func(tx store.Tx) error {
		if err := tx.Create(ctx, newRecord(nodeKey("m", "x")), nil); err != nil {
			return err
		}
		return errors.New("abandon")
	})
	same("a failed Write")

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		// Refused writes change nothing.
		if err := tx.Update(ctx, r, 7); !errors.Is(err, store.ErrVersion) {
			t.Errorf("Update: %v, want ErrVersion", err)
		}
		if err := tx.Create(ctx, r, nil); !errors.Is(err, store.ErrExists) {
			t.Errorf("Create: %v, want ErrExists", err)
		}
		return nil
	})
	same("a Write whose writes were all refused")

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, n := range []string{"a", "b", "c"} {
			if err := tx.Create(ctx, newRecord(nodeKey("m", n)), nil); err != nil {
				return err
			}
		}
		return nil
	})
	grew("three Creates")

	next := r
	next.Version = 2
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Update(ctx, next, 1) })
	grew("Update")
	setTags(t, s, r.UID, store.Tag{Key: "k", Value: "v"})
	grew("SetTags")
	putToken(t, s, store.Token{Scope: "s", Token: "t", CreatedAt: base})
	grew("PutToken")
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.Delete(ctx, r.Key, 2) })
	grew("Delete")
}

func testCanceledContext(t *testing.T, s store.Store) {
	parent := testContext(t)

	ctx, cancel := context.WithCancel(parent)
	cancel()
	r := newRecord(nodeKey("m", "before"))
	err := s.Write(ctx, func(tx store.Tx) error { return tx.Create(ctx, r, nil) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a canceled context: %v, want context.Canceled", err)
	}
	wantNotFound(t, s, r.Key)
	err = s.Read(ctx, func(tx store.Tx) error { _, err := tx.Get(ctx, r.Key); return err })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a canceled context: %v, want context.Canceled", err)
	}

	// Canceled mid-write, after fn's statements ran: nothing is committed,
	// even though fn itself reports success.
	ctx, cancel = context.WithCancel(parent)
	defer cancel()
	r = newRecord(nodeKey("m", "during"))
	err = s.Write(ctx, func(tx store.Tx) error {
		if err := tx.Create(ctx, r, nil); err != nil {
			t.Errorf("Create before cancel: %v", err)
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write canceled during fn: %v, want context.Canceled", err)
	}
	wantNotFound(t, s, r.Key)
}

func testWaitingWriterTimesOut(t *testing.T, s store.Store) {
	r := newRecord(nodeKey("m", "n"))
	create(t, s, r)
	ctx := testContext(t)

	// The first writer updates r and then holds its transaction open.
	holding, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- s.Write(ctx, func(tx store.Tx) error {
			next := r
			next.Version = 2
			if err := tx.Update(ctx, next, 1); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	select {
	case <-holding:
	case err := <-firstDone:
		t.Fatalf("first Write: %v", err)
	}

	// A second writer of the same record cannot proceed, and gives up
	// when its context does.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Write(short, func(tx store.Tx) error {
		next := r
		next.Version = 3
		next.Spec = []byte(`{"second":true}`)
		return tx.Update(short, next, 1)
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Write: %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("second Write returned after %v, long past its deadline", waited)
	}

	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first Write: %v", err)
	}
	want := r
	want.Version = 2
	checkRecord(t, mustGet(t, s, r.Key), want)
}
