package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/meshgate/meshgate/internal/store"
)

var (
	// errReadOnly is returned by the write methods of a Read transaction.
	errReadOnly = errors.New("store/sqlite: write in a read-only transaction")
	// errTxDone is returned when fn kept its Tx and used it after Read or
	// Write returned.
	errTxDone = errors.New("store/sqlite: transaction already finished")
)

// fail wraps an error from the driver with the operation that failed. A done
// context is reported as such (callers test it with errors.Is) rather than as
// an outage: the back end is fine, the caller gave up. Everything else is
// the back end failing and wraps store.ErrUnavailable, keeping the driver's
// error reachable through errors.As.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("store/sqlite: %s: %w", op, cerr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store/sqlite: %s: %w", op, err)
	}
	return fmt.Errorf("store/sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
}
