package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/meshgate/meshgate/internal/store"
)

// Referrers implements store.Tx.
func (t *tx) Referrers(ctx context.Context, k store.Key) ([]store.Key, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	var out []store.Key
	// DISTINCT: one record may name the same target more than once.
	err := t.query(ctx, "referrers of "+keyString(k), `SELECT DISTINCT from_kind, from_mesh, from_parent, from_name FROM refs
		WHERE to_kind = $1 AND to_mesh = $2 AND to_parent = $3 AND to_name = $4
		ORDER BY from_kind, from_mesh, from_parent, from_name`,
		[]any{string(k.Kind), k.Mesh, k.Parent, k.Name}, func(rows pgx.Rows) error {
			var (
				from store.Key
				kind string
			)
			if err := rows.Scan(&kind, &from.Mesh, &from.Parent, &from.Name); err != nil {
				return err
			}
			from.Kind = store.Kind(kind)
			out = append(out, from)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertRefs writes all of a record's refs in one statement; ord keeps the
// order they were given in and lets one record name a target twice.
func (t *tx) insertRefs(ctx context.Context, from store.Key, refs []store.Key) error {
	if len(refs) == 0 {
		return nil
	}
	kinds := make([]string, len(refs))
	meshes := make([]string, len(refs))
	parents := make([]string, len(refs))
	names := make([]string, len(refs))
	for i, to := range refs {
		kinds[i], meshes[i], parents[i], names[i] = string(to.Kind), to.Mesh, to.Parent, to.Name
	}
	_, err := t.exec(ctx, "write refs of "+keyString(from), `INSERT INTO refs
			(from_kind, from_mesh, from_parent, from_name, ord, to_kind, to_mesh, to_parent, to_name)
		SELECT $1, $2, $3, $4, u.ord - 1, u.kind, u.mesh, u.parent, u.name
		FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u(kind, mesh, parent, name, ord)`,
		string(from.Kind), from.Mesh, from.Parent, from.Name, kinds, meshes, parents, names)
	return err
}

func (t *tx) deleteRefs(ctx context.Context, from store.Key) error {
	_, err := t.exec(ctx, "delete refs of "+keyString(from), `DELETE FROM refs
		WHERE from_kind = $1 AND from_mesh = $2 AND from_parent = $3 AND from_name = $4`,
		string(from.Kind), from.Mesh, from.Parent, from.Name)
	return err
}
