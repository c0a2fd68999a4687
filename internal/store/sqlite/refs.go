package sqlite

import (
	"context"

	"github.com/meshgate/meshgate/internal/store"
)

// refsOf returns the refs of the record under k in the order written.
func (t *tx) refsOf(ctx context.Context, k store.Key) ([]store.Key, error) {
	rows, err := t.sqlTx.QueryContext(ctx, `SELECT to_kind, to_mesh, to_parent, to_name FROM refs
		WHERE from_kind = ? AND from_mesh = ? AND from_parent = ? AND from_name = ?
		ORDER BY ord`,
		string(k.Kind), k.Mesh, k.Parent, k.Name)
	if err != nil {
		return nil, fail(ctx, "read refs of "+keyString(k), err)
	}
	defer rows.Close()
	var out []store.Key
	for rows.Next() {
		var (
			to   store.Key
			kind string
		)
		if err := rows.Scan(&kind, &to.Mesh, &to.Parent, &to.Name); err != nil {
			return nil, fail(ctx, "read refs of "+keyString(k), err)
		}
		to.Kind = store.Kind(kind)
		out = append(out, to)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "read refs of "+keyString(k), err)
	}
	return out, nil
}

// refsOfPage returns the refs of every record of one List page, the records
// named in (after, last], in one query instead of one per record.
func (t *tx) refsOfPage(ctx context.Context, kind store.Kind, mesh, parent, after, last string) (map[store.Key][]store.Key, error) {
	const cols = `SELECT from_kind, from_mesh, from_parent, from_name, to_kind, to_mesh, to_parent, to_name FROM refs`
	query := cols + ` WHERE from_kind = ? AND from_mesh = ? AND from_parent = ? AND from_name > ? AND from_name <= ?
		ORDER BY from_name, ord`
	args := []any{string(kind), mesh, parent, after, last}
	if kind == store.KindMesh {
		query = cols + ` WHERE from_kind = ? AND from_name > ? AND from_name <= ?
			ORDER BY from_mesh, from_parent, from_name, ord`
		args = []any{string(kind), after, last}
	}
	rows, err := t.sqlTx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fail(ctx, "read refs of "+string(kind)+" page", err)
	}
	defer rows.Close()
	out := make(map[store.Key][]store.Key)
	for rows.Next() {
		var (
			from, to         store.Key
			fromKind, toKind string
		)
		if err := rows.Scan(&fromKind, &from.Mesh, &from.Parent, &from.Name, &toKind, &to.Mesh, &to.Parent, &to.Name); err != nil {
			return nil, fail(ctx, "read refs of "+string(kind)+" page", err)
		}
		from.Kind, to.Kind = store.Kind(fromKind), store.Kind(toKind)
		out[from] = append(out[from], to)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "read refs of "+string(kind)+" page", err)
	}
	return out, nil
}

// Referrers implements store.Tx.
func (t *tx) Referrers(ctx context.Context, k store.Key) ([]store.Key, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	// DISTINCT: one record may name the same target more than once.
	rows, err := t.sqlTx.QueryContext(ctx, `SELECT DISTINCT from_kind, from_mesh, from_parent, from_name FROM refs
		WHERE to_kind = ? AND to_mesh = ? AND to_parent = ? AND to_name = ?
		ORDER BY from_kind, from_mesh, from_parent, from_name`,
		string(k.Kind), k.Mesh, k.Parent, k.Name)
	if err != nil {
		return nil, fail(ctx, "referrers of "+keyString(k), err)
	}
	defer rows.Close()
	var out []store.Key
	for rows.Next() {
		var (
			from store.Key
			kind string
		)
		if err := rows.Scan(&kind, &from.Mesh, &from.Parent, &from.Name); err != nil {
			return nil, fail(ctx, "referrers of "+keyString(k), err)
		}
		from.Kind = store.Kind(kind)
		out = append(out, from)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "referrers of "+keyString(k), err)
	}
	return out, nil
}

func (t *tx) insertRefs(ctx context.Context, from store.Key, refs []store.Key) error {
	for i, to := range refs {
		if _, err := t.sqlTx.ExecContext(ctx, `INSERT INTO refs
			(from_kind, from_mesh, from_parent, from_name, ord, to_kind, to_mesh, to_parent, to_name)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			string(from.Kind), from.Mesh, from.Parent, from.Name, i,
			string(to.Kind), to.Mesh, to.Parent, to.Name); err != nil {
			return fail(ctx, "write refs of "+keyString(from), err)
		}
	}
	return nil
}

func (t *tx) deleteRefs(ctx context.Context, from store.Key) error {
	if _, err := t.sqlTx.ExecContext(ctx, `DELETE FROM refs
		WHERE from_kind = ? AND from_mesh = ? AND from_parent = ? AND from_name = ?`,
		string(from.Kind), from.Mesh, from.Parent, from.Name); err != nil {
		return fail(ctx, "delete refs of "+keyString(from), err)
	}
	return nil
}
