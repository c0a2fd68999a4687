package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/meshgate/meshgate/internal/store"
)

// Token implements store.Tx.
func (t *tx) Token(ctx context.Context, scope, token string, notBefore time.Time) (store.Token, error) {
	if err := t.usable(); err != nil {
		return store.Token{}, err
	}
	tok := store.Token{Scope: scope, Token: token}
	var created int64
	// UnixMilli floors, so "> floor(notBefore)" is "after notBefore" for
	// millisecond-precision created times.
	err := t.sqlTx.QueryRowContext(ctx, `SELECT input_hash, response, created_at_ms FROM tokens
		WHERE scope = ? AND token = ? AND created_at_ms > ?`,
		scope, token, toMillis(notBefore)).Scan(&tok.InputHash, &tok.Response, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("store/sqlite: token %q/%q: %w", scope, token, store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fail(ctx, "read token", err)
	}
	tok.CreatedAt = fromMillis(created)
	return tok, nil
}

// PutToken implements store.Tx.
func (t *tx) PutToken(ctx context.Context, tok store.Token) error {
	if err := t.writeable(); err != nil {
		return err
	}
	resp := tok.Response
	if resp == nil {
		resp = []byte{} // the column is NOT NULL
	}
	res, err := t.sqlTx.ExecContext(ctx, `INSERT INTO tokens (scope, token, input_hash, response, created_at_ms)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (scope, token) DO UPDATE SET
			input_hash = excluded.input_hash,
			response = excluded.response,
			created_at_ms = excluded.created_at_ms`,
		tok.Scope, tok.Token, tok.InputHash, resp, toMillis(tok.CreatedAt))
	if err != nil {
		return fail(ctx, "write token", err)
	}
	if err := t.markChanged(res); err != nil {
		return fail(ctx, "write token", err)
	}
	return nil
}
