package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meshgate/meshgate/internal/store"
)

// Tags implements store.Tx. An unknown uid has no tags.
func (t *tx) Tags(ctx context.Context, uid string) ([]store.Tag, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var out []store.Tag
	err := t.query(ctx, "read tags", `SELECT key, value FROM tags WHERE uid = $1 ORDER BY key`,
		[]any{uid}, func(rows pgx.Rows) error {
			var tag store.Tag
			if err := rows.Scan(&tag.Key, &tag.Value); err != nil {
				return err
			}
			out = append(out, tag)
			return nil
		})
	if err != nil {
		return nil, err
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
	var exists bool
	if _, err := t.queryRow(ctx, "set tags: find resource",
		`SELECT EXISTS (SELECT 1 FROM resources WHERE uid = $1)`, []any{uid}, &exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("store/postgres: set tags of uid %q: %w", uid, store.ErrNotFound)
	}
	if _, err := t.exec(ctx, "set tags: delete old", `DELETE FROM tags WHERE uid = $1`, uid); err != nil {
		return err
	}
	return t.insertTags(ctx, uid, tags)
}

// insertTags adds tags to uid in one statement; of two tags with the same
// key the later wins, as it would applied one by one. The duplicates go
// before the statement: ON CONFLICT DO UPDATE refuses to touch one row twice.
func (t *tx) insertTags(ctx context.Context, uid string, tags []store.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	last := make(map[string]int, len(tags))
	for i, tag := range tags {
		last[tag.Key] = i
	}
	keys := make([]string, 0, len(last))
	values := make([]string, 0, len(last))
	for i, tag := range tags {
		if last[tag.Key] == i {
			keys = append(keys, tag.Key)
			values = append(values, tag.Value)
		}
	}
	_, err := t.exec(ctx, "write tags", `INSERT INTO tags (uid, key, value)
		SELECT $1, u.key, u.value FROM unnest($2::text[], $3::text[]) AS u(key, value)
		ON CONFLICT (uid, key) DO UPDATE SET value = excluded.value`,
		uid, keys, values)
	return err
}
