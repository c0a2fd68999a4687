package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meshgate/meshgate/internal/store"
)

var (
	// errReadOnly is returned by the write methods of a Read transaction.
	errReadOnly = errors.New("store/postgres: write in a read-only transaction")
	// errTxDone is returned when fn kept its Tx and used it after Read or
	// Write returned.
	errTxDone = errors.New("store/postgres: transaction already finished")
)

// SQLSTATE codes the back end acts on; see the PostgreSQL manual's
// "PostgreSQL Error Codes" appendix.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	// Class 22 (data exception) and 54 (program limit exceeded): the server
	// is fine, the value is not storable (a NUL byte in a TEXT column, a key
	// too long for its index).
	classDataException = "22"
	classProgramLimit  = "54"
)

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// lostRace reports whether err means the transaction lost to a concurrent
// one and running it again from the start may succeed.
func lostRace(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// fail wraps an error from pgx with the operation that failed. When the
// caller's context is done, that is the error (callers test it with
// errors.Is) rather than an outage: the database may be fine, the caller
// gave up. A value the server refuses to store is the caller's problem and
// wraps no sentinel, so the API does not tell a client to retry what can
// never succeed. Everything else — refused or dropped connections, a server
// shutting down, connect timeouts, lost serialization races that ran out of
// retries — is the back end failing and wraps store.ErrUnavailable, keeping
// pgx's error reachable through errors.As.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("store/postgres: %s: %w", op, cerr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's context is fine, so this is pgx's own timeout
		// (connect_timeout): an outage. %v, not %w, so the caller is not
		// told that its own deadline passed.
		return fmt.Errorf("store/postgres: %s: %w: %v", op, store.ErrUnavailable, err)
	}
	if code := sqlState(err); strings.HasPrefix(code, classDataException) || strings.HasPrefix(code, classProgramLimit) {
		return fmt.Errorf("store/postgres: %s: value not storable: %w", op, err)
	}
	return fmt.Errorf("store/postgres: %s: %w: %w", op, store.ErrUnavailable, err)
}
