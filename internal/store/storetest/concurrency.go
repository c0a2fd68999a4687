package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/meshgate/meshgate/internal/store"
)

func testRacingUpdatesOneWins(t *testing.T, s store.Store) {
	r := newRecord(nodeKey("m", "n"))
	create(t, s, r)
	ctx := testContext(t)

	const racers = 16
	start := make(chan struct{})
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	for i := range racers {
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

	won, lost := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrVersion):
			lost++
		default:
			t.Errorf("racing Update: %v, want nil or ErrVersion", err)
		}
	}
	if won != 1 || lost != racers-1 {
		t.Errorf("%d won and %d got ErrVersion, want 1 and %d", won, lost, racers-1)
	}
	if got := mustGet(t, s, r.Key); got.Version != 2 {
		t.Errorf("Version = %d, want 2", got.Version)
	}
}

// testNoLostUpdates has writers increment one record by read-modify-write
// inside Write while readers watch: writes must serialize, so none of them
// fails or is lost, and no reader sees the version or revision go back.
func testNoLostUpdates(t *testing.T, s store.Store) {
	r := newRecord(nodeKey("m", "counter"))
	create(t, s, r)
	ctx := testContext(t)

	const writers, perWriter, readers = 8, 12, 2
	errs := make(chan error, writers*perWriter+readers)
	stop := make(chan struct{})
	var readersWG, writersWG sync.WaitGroup
	for range readers {
		readersWG.Go(func() {
			var lastVersion, lastRev int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				var v int64
				if err := s.Read(ctx, func(tx store.Tx) error {
					got, err := tx.Get(ctx, r.Key)
					v = got.Version
					return err
				}); err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
				rev, err := s.Revision(ctx)
				if err != nil {
					errs <- fmt.Errorf("reader: Revision: %w", err)
					return
				}
				if v < lastVersion || rev < lastRev {
					errs <- fmt.Errorf("reader saw version %d after %d, revision %d after %d", v, lastVersion, rev, lastRev)
					return
				}
				lastVersion, lastRev = v, rev
			}
		})
	}
	for range writers {
		writersWG.Go(func() {
			for range perWriter {
				err := s.Write(ctx, func(tx store.Tx) error {
					cur, err := tx.Get(ctx, r.Key)
					if err != nil {
						return err
					}
					prev := cur.Version
					cur.Version++
					cur.Spec = fmt.Appendf(nil, `{"n":%d}`, cur.Version)
					return tx.Update(ctx, cur, prev)
				})
				if err != nil {
					errs <- fmt.Errorf("writer: %w", err)
				}
			}
		})
	}
	writersWG.Wait()
	close(stop)
	readersWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	want := int64(writers*perWriter + 1)
	got := mustGet(t, s, r.Key)
	if got.Version != want {
		t.Errorf("Version = %d, want %d", got.Version, want)
	}
	if string(got.Spec) != fmt.Sprintf(`{"n":%d}`, want) {
		t.Errorf("Spec = %s, want the last writer's", got.Spec)
	}
}
