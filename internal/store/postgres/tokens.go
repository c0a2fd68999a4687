package postgres

import (
	"context"
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
	found, err := t.queryRow(ctx, "read token", `SELECT input_hash, response, created_at_ms FROM tokens
		WHERE scope = $1 AND token = $2 AND created_at_ms > $3`,
		[]any{scope, token, toMillis(notBefore)}, &tok.InputHash, &tok.Response, &created)
	if err != nil {
		return store.Token{}, err
	}
	if !found {
		return store.Token{}, fmt.Errorf("store/postgres: token %q/%q: %w", scope, token, store.ErrNotFound)
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
	_, err := t.exec(ctx, "write token", `INSERT INTO tokens (scope, token, input_hash, response, created_at_ms)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, token) DO UPDATE SET
			input_hash = excluded.input_hash,
			response = excluded.response,
			created_at_ms = excluded.created_at_ms`,
		tok.Scope, tok.Token, tok.InputHash, resp, toMillis(tok.CreatedAt))
	return err
}
