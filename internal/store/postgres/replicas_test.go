package postgres

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// twoReplicas opens two stores — two pools, as two meshgate processes
// would have — on one fresh database.
func twoReplicas(t *testing.T) (a, b *Store) {
	dsn := newDatabase(t)
	return openStore(t, dsn), openStore(t, dsn)
}

// TestReplicasRacingUpdate has both replicas update one record from the
// same version at once, many times: exactly one update of each round
// commits, the rest see ErrVersion.
func TestReplicasRacingUpdate(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := testContext(t)
	const rounds, perReplica = 20, 4
	for round := range rounds {
		r := record(nodeKey("m", fmt.Sprintf("n%d", round)))
		mustCreate(t, a, r)
		start := make(chan struct{})
		errs := make(chan error, 2*perReplica)
		var wg sync.WaitGroup
		for i := range 2 * perReplica {
			s := []*Store{a, b}[i%2]
			wg.Go(func() {
				next := r
				next.Version = 2
				next.Spec = fmt.Appendf(nil, `{"winner":%d}`, i)
				<-start
				errs <- s.Write(ctx, func(tx store.Tx) error { return tx.Update(ctx, next, 1) })
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrVersion):
				t.Errorf("round %d: Update: %v, want nil or ErrVersion", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d updates from version 1 committed, want exactly 1", round, won)
		}
	}
	t.Logf("retries: replica a %d, replica b %d", a.retries.Load(), b.retries.Load())
}

var errInUse = errors.New("target still has referrers")

// TestSerializableRefGuard is the race the service's delete guard must
// survive across replicas: one replica creates a gateway route after
// checking its virtual service exists, the other deletes that virtual
// service after checking nothing refers to it. Each transaction is fine
// alone; both committing would leave a route to nothing. Odd rounds force
// the dangerous interleaving (both checks before either write); even ones
// run free. In every round at most one commits, and the final state never
// has a ref to a missing record.
func TestSerializableRefGuard(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := testContext(t)
	const rounds = 60
	var bothWon, refWon, deleteWon, neither int
	for round := range rounds {
		target := record(serviceKey("m", fmt.Sprintf("svc%d", round)))
		route := record(gatewayRouteKey("m", "gw", fmt.Sprintf("gr%d", round)), target.Key)
		mustCreate(t, a, target)

		// In forced rounds each side, on its first attempt only, waits
		// after its check until the other side has checked too.
		forced := round%2 == 1
		aChecked, bChecked := make(chan struct{}), make(chan struct{})
		var aOnce, bOnce sync.Once
		meet := func(once *sync.Once, mine, theirs chan struct{}) {
			if !forced {
				return
			}
			first := false
			once.Do(func() { close(mine); first = true })
			if first {
				select {
				case <-theirs:
				case <-time.After(5 * time.Second):
				}
			}
		}

		var aRuns, bRuns int
		var aErr, bErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			aErr = a.Write(ctx, func(tx store.Tx) error {
				aRuns++
				if _, err := tx.Get(ctx, target.Key); err != nil {
					return err
				}
				meet(&aOnce, aChecked, bChecked)
				return tx.Create(ctx, route, nil)
			})
		})
		wg.Go(func() {
			bErr = b.Write(ctx, func(tx store.Tx) error {
				bRuns++
				refs, err := tx.Referrers(ctx, target.Key)
				if err != nil {
					return err
				}
				meet(&bOnce, bChecked, aChecked)
				if len(refs) > 0 {
					return errInUse
				}
				return tx.Delete(ctx, target.Key, 1)
			})
		})
		wg.Wait()

		switch {
		case aErr == nil && bErr == nil:
			bothWon++
			t.Errorf("round %d: both transactions committed", round)
		case aErr == nil:
			refWon++
			if !errors.Is(bErr, errInUse) {
				t.Errorf("round %d: delete lost with %v, want errInUse", round, bErr)
			}
		case bErr == nil:
			deleteWon++
			if !errors.Is(aErr, store.ErrNotFound) {
				t.Errorf("round %d: create lost with %v, want ErrNotFound", round, aErr)
			}
		default:
			neither++
			t.Errorf("round %d: neither committed: %v; %v", round, aErr, bErr)
		}
		if forced && aRuns+bRuns < 3 {
			t.Errorf("round %d: fn ran %d and %d times; the loser of a forced race must run again", round, aRuns, bRuns)
		}
		routeThere, targetThere := exists(t, a, route.Key), exists(t, b, target.Key)
		if routeThere && !targetThere {
			t.Fatalf("round %d: route %v refers to a deleted %v", round, route.Key, target.Key)
		}
	}
	t.Logf("%d rounds: create won %d, delete won %d, both %d, neither %d; retries %d+%d",
		rounds, refWon, deleteWon, bothWon, neither, a.retries.Load(), b.retries.Load())
}

// TestFnErrorNotRetried: an error fn returns is the answer, returned as is
// after one run.
func TestFnErrorNotRetried(t *testing.T) {
	s := openFresh(t)
	ctx := testContext(t)
	r := record(nodeKey("m", "n"))
	mustCreate(t, s, r)
	want := errors.New("no thanks")
	runs := 0
	err := s.Write(ctx, func(tx store.Tx) error {
		runs++
		if _, err := tx.Get(ctx, r.Key); err != nil {
			return err
		}
		return want
	})
	if err != want || runs != 1 {
		t.Fatalf("Write = %v after %d runs, want fn's error after 1", err, runs)
	}
}

// TestManyWritersOneRow has writers on both replicas increment one record
// by read-modify-write: every increment lands, none is lost, and no caller
// sees a failure, though most attempts lose a race on the way.
func TestManyWritersOneRow(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := testContext(t)
	r := record(nodeKey("m", "counter"))
	mustCreate(t, a, r)
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for i := range writers {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			for range each {
				errs <- s.Write(ctx, func(tx store.Tx) error {
					cur, err := tx.Get(ctx, r.Key)
					if err != nil {
						return err
					}
					prev := cur.Version
					cur.Version++
					return tx.Update(ctx, cur, prev)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var got store.Record
	if err := a.Read(ctx, func(tx store.Tx) (err error) { got, err = tx.Get(ctx, r.Key); return err }); err != nil {
		t.Fatal(err)
	}
	if want := int64(1 + writers*each); got.Version != want {
		t.Errorf("Version = %d, want %d", got.Version, want)
	}
	t.Logf("%d writes, %d retries", writers*each, a.retries.Load()+b.retries.Load())
}
