package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/meshgate/meshgate/internal/store"
)

// Tags implements store.Tx. An unknown uid has no tags.
func (t *tx) Tags(ctx context.Context, uid string) ([]store.Tag, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	rows, err := t.sqlTx.QueryContext(ctx, `SELECT key, value FROM tags WHERE uid = ? ORDER BY key`, uid)
	if err != nil {
		return nil, fail(ctx, "read tags", err)
	}
	defer rows.Close()
	var out []store.Tag
	for rows.Next() {
		var tag store.Tag
		if err := rows.Scan(&tag.Key, &tag.Value); err != nil {
			return nil, fail(ctx, "read tags", err)
		}
		out = append(out, tag)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "read tags", err)
	}
	return out, nil
}

// SetTags implements store.Tx. It fails with ErrNotFound when no resource
// has the uid: tags written there would belong to nothing and never be
// removed, since Delete removes tags by the uid of the row it deletes.
func (t *tx) SetTags(ctx context.Context, uid string, tags []store.Tag) error {
	if err := t.writeable(); err != nil {
		return err
	}
	var one int
	err := t.sqlTx.QueryRowContext(ctx, `SELECT 1 FROM resources WHERE uid = ? LIMIT 1`, uid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store/sqlite: set tags of uid %q: %w", uid, store.ErrNotFound)
	}
	if err != nil {
		return fail(ctx, "set tags: find resource", err)
	}
	res, err := t.sqlTx.ExecContext(ctx, `DELETE FROM tags WHERE uid = ?`, uid)
	if err != nil {
		return fail(ctx, "set tags: delete old", err)
	}
	if err := t.markChanged(res); err != nil {
		return fail(ctx, "set tags: delete old", err)
	}
	return t.insertTags(ctx, uid, tags)
}

// insertTags adds tags to uid; of two tags with the same key the later
// wins, as it would applied one by one.
func (t *tx) insertTags(ctx context.Context, uid string, tags []store.Tag) error {
	for _, tag := range tags {
		if _, err := t.sqlTx.ExecContext(ctx, `INSERT INTO tags (uid, key, value) VALUES (?, ?, ?)
			ON CONFLICT (uid, key) DO UPDATE SET value = excluded.value`,
			uid, tag.Key, tag.Value); err != nil {
			return fail(ctx, "write tags", err)
		}
		t.changed.Store(true)
	}
	return nil
}
