package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/meshgate/meshgate/internal/store"
)

const recordColumns = `kind, mesh, parent, name, uid, version, created_at_ms,
	last_updated_at_ms, mesh_owner, resource_owner, spec`

func scanRecord(sc interface{ Scan(...any) error }) (store.Record, error) {
	var (
		r                store.Record
		kind             string
		created, updated int64
	)
	err := sc.Scan(&kind, &r.Mesh, &r.Parent, &r.Name, &r.UID, &r.Version,
		&created, &updated, &r.MeshOwner, &r.ResourceOwner, &r.Spec)
	r.Kind = store.Kind(kind)
	r.CreatedAt = fromMillis(created)
	r.LastUpdatedAt = fromMillis(updated)
	return r, err
}

// Get implements store.Tx.
func (t *tx) Get(ctx context.Context, k store.Key) (store.Record, error) {
	if err := t.usable(); err != nil {
		return store.Record{}, err
	}
	row := t.sqlTx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM resources
		WHERE kind = ? AND mesh = ? AND parent = ? AND name = ?`,
		string(k.Kind), k.Mesh, k.Parent, k.Name)
	r, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Record{}, fmt.Errorf("store/sqlite: get %s: %w", keyString(k), store.ErrNotFound)
	}
	if err != nil {
		return store.Record{}, fail(ctx, "get "+keyString(k), err)
	}
	if r.Refs, err = t.refsOf(ctx, k); err != nil {
		return store.Record{}, err
	}
	return r, nil
}

// List implements store.Tx. limit must be positive: App Mesh pages are
// bounded, and an unbounded read is better asked for explicitly.
func (t *tx) List(ctx context.Context, kind store.Kind, mesh, parent, after string, limit int) ([]store.Record, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("store/sqlite: list %s: limit %d is not positive", kind, limit)
	}
	var (
		rows *sql.Rows
		err  error
	)
	if kind == store.KindMesh {
		rows, err = t.sqlTx.QueryContext(ctx, `SELECT `+recordColumns+` FROM resources
			WHERE kind = ? AND name > ? ORDER BY name LIMIT ?`,
			string(kind), after, limit)
	} else {
		rows, err = t.sqlTx.QueryContext(ctx, `SELECT `+recordColumns+` FROM resources
			WHERE kind = ? AND mesh = ? AND parent = ? AND name > ? ORDER BY name LIMIT ?`,
			string(kind), mesh, parent, after, limit)
	}
	if err != nil {
		return nil, fail(ctx, "list "+string(kind), err)
	}
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fail(ctx, "list "+string(kind), err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "list "+string(kind), err)
	}
	if len(out) == 0 {
		return out, nil
	}
	refs, err := t.refsOfPage(ctx, kind, mesh, parent, after, out[len(out)-1].Name)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Refs = refs[out[i].Key]
	}
	return out, nil
}

// Count implements store.Tx.
func (t *tx) Count(ctx context.Context, kind store.Kind, mesh, parent string) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	var (
		n   int
		err error
	)
	if kind == store.KindMesh {
		err = t.sqlTx.QueryRowContext(ctx, `SELECT count(*) FROM resources WHERE kind = ?`,
			string(kind)).Scan(&n)
	} else {
		err = t.sqlTx.QueryRowContext(ctx, `SELECT count(*) FROM resources
			WHERE kind = ? AND mesh = ? AND parent = ?`,
			string(kind), mesh, parent).Scan(&n)
	}
	if err != nil {
		return 0, fail(ctx, "count "+string(kind), err)
	}
	return n, nil
}

// Create implements store.Tx.
func (t *tx) Create(ctx context.Context, r store.Record, tags []store.Tag) error {
	if err := t.writeable(); err != nil {
		return err
	}
	if err := checkRecord(r); err != nil {
		return err
	}
	op := "create " + keyString(r.Key)
	spec := r.Spec
	if spec == nil {
		spec = []byte{} // the column is NOT NULL
	}
	// DO NOTHING and a row count tell a taken key apart from other
	// constraint failures without parsing driver error codes.
	res, err := t.sqlTx.ExecContext(ctx, `INSERT INTO resources (`+recordColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, mesh, parent, name) DO NOTHING`,
		string(r.Kind), r.Mesh, r.Parent, r.Name, r.UID, r.Version,
		toMillis(r.CreatedAt), toMillis(r.LastUpdatedAt), r.MeshOwner, r.ResourceOwner, spec)
	if err != nil {
		return fail(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(ctx, op, err)
	}
	if n == 0 {
		return fmt.Errorf("store/sqlite: %s: %w", op, store.ErrExists)
	}
	t.changed.Store(true)
	if err := t.insertRefs(ctx, r.Key, r.Refs); err != nil {
		return err
	}
	return t.insertTags(ctx, r.UID, tags)
}

// Update implements store.Tx.
func (t *tx) Update(ctx context.Context, r store.Record, prevVersion int64) error {
	if err := t.writeable(); err != nil {
		return err
	}
	op := "update " + keyString(r.Key)
	spec := r.Spec
	if spec == nil {
		spec = []byte{}
	}
	res, err := t.sqlTx.ExecContext(ctx, `UPDATE resources
		SET version = ?, last_updated_at_ms = ?, spec = ?
		WHERE kind = ? AND mesh = ? AND parent = ? AND name = ? AND version = ?`,
		r.Version, toMillis(r.LastUpdatedAt), spec,
		string(r.Kind), r.Mesh, r.Parent, r.Name, prevVersion)
	if err != nil {
		return fail(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(ctx, op, err)
	}
	if n == 0 {
		return t.whyNot(ctx, op, r.Key, prevVersion)
	}
	t.changed.Store(true)
	if err := t.deleteRefs(ctx, r.Key); err != nil {
		return err
	}
	return t.insertRefs(ctx, r.Key, r.Refs)
}

// Delete implements store.Tx.
func (t *tx) Delete(ctx context.Context, k store.Key, prevVersion int64) error {
	if err := t.writeable(); err != nil {
		return err
	}
	op := "delete " + keyString(k)
	// RETURNING gives the uid the tags hang off in the same statement.
	var uid string
	err := t.sqlTx.QueryRowContext(ctx, `DELETE FROM resources
		WHERE kind = ? AND mesh = ? AND parent = ? AND name = ? AND version = ?
		RETURNING uid`,
		string(k.Kind), k.Mesh, k.Parent, k.Name, prevVersion).Scan(&uid)
	if errors.Is(err, sql.ErrNoRows) {
		return t.whyNot(ctx, op, k, prevVersion)
	}
	if err != nil {
		return fail(ctx, op, err)
	}
	t.changed.Store(true)
	// The refs went with the row (ON DELETE CASCADE); tags are not keyed
	// by the row, so they go explicitly.
	if _, err := t.sqlTx.ExecContext(ctx, `DELETE FROM tags WHERE uid = ?`, uid); err != nil {
		return fail(ctx, op+": delete tags", err)
	}
	return nil
}

// whyNot tells why a versioned update or delete of k matched no row:
// ErrNotFound if there is no record, else ErrVersion.
func (t *tx) whyNot(ctx context.Context, op string, k store.Key, prevVersion int64) error {
	var version int64
	err := t.sqlTx.QueryRowContext(ctx, `SELECT version FROM resources
		WHERE kind = ? AND mesh = ? AND parent = ? AND name = ?`,
		string(k.Kind), k.Mesh, k.Parent, k.Name).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store/sqlite: %s: %w", op, store.ErrNotFound)
	}
	if err != nil {
		return fail(ctx, op, err)
	}
	return fmt.Errorf("store/sqlite: %s: stored version %d, expected %d: %w", op, version, prevVersion, store.ErrVersion)
}
