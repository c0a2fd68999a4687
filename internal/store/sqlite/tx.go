package sqlite

import (
	"database/sql"
	"sync/atomic"

	"github.com/meshgate/meshgate/internal/store"
)

var _ store.Tx = (*tx)(nil)

// tx is the store.Tx handed to Read and Write callbacks.
type tx struct {
	sqlTx    *sql.Tx
	writable bool
	// changed records that some statement modified a row, so Write bumps
	// the revision exactly when watchers have something to reload. Atomic
	// because fn may share the Tx between goroutines.
	changed atomic.Bool
	// done is set once Read or Write returns; fn may have kept the Tx.
	done atomic.Bool
}

func (t *tx) finish() { t.done.Store(true) }

// usable reports why the Tx cannot run a statement, if it cannot.
func (t *tx) usable() error {
	if t.done.Load() {
		return errTxDone
	}
	return nil
}

// writeable is usable plus the read-only check, for the write methods.
func (t *tx) writeable() error {
	if err := t.usable(); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	return nil
}

// markChanged notes that a statement changed n rows.
func (t *tx) markChanged(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		t.changed.Store(true)
	}
	return nil
}
