package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/meshgate/meshgate/internal/store"
)

// selectRecords reads records with their refs in one round trip: the
// lateral subquery folds a record's refs, in the order written, into four
// parallel arrays (NULL when it has none). Callers append WHERE, ORDER BY
// and LIMIT on resources r.
const selectRecords = `SELECT r.kind, r.mesh, r.parent, r.name, r.uid, r.version,
	r.created_at_ms, r.last_updated_at_ms, r.mesh_owner, r.resource_owner, r.spec,
	f.kinds, f.meshes, f.parents, f.names
FROM resources r
CROSS JOIN LATERAL (
	SELECT array_agg(to_kind ORDER BY ord) AS kinds, array_agg(to_mesh ORDER BY ord) AS meshes,
		array_agg(to_parent ORDER BY ord) AS parents, array_agg(to_name ORDER BY ord) AS names
	FROM refs
	WHERE from_kind = r.kind AND from_mesh = r.mesh AND from_parent = r.parent AND from_name = r.name
) f`

// recordScan holds one row of selectRecords while it is scanned.
type recordScan struct {
	r                             store.Record
	kind                          string
	created, updated              int64
	kinds, meshes, parents, names []string
}

func (s *recordScan) dest() []any {
	return []any{&s.kind, &s.r.Mesh, &s.r.Parent, &s.r.Name, &s.r.UID, &s.r.Version,
		&s.created, &s.updated, &s.r.MeshOwner, &s.r.ResourceOwner, &s.r.Spec,
		&s.kinds, &s.meshes, &s.parents, &s.names}
}

func (s *recordScan) record() (store.Record, error) {
	r := s.r
	r.Kind = store.Kind(s.kind)
	r.CreatedAt = fromMillis(s.created)
	r.LastUpdatedAt = fromMillis(s.updated)
	if r.Spec == nil {
		r.Spec = []byte{}
	}
	n := len(s.kinds)
	if len(s.meshes) != n || len(s.parents) != n || len(s.names) != n {
		return store.Record{}, fmt.Errorf("store/postgres: refs of %s came back ragged", keyString(r.Key))
	}
	for i := range n {
		r.Refs = append(r.Refs, store.Key{Kind: store.Kind(s.kinds[i]), Mesh: s.meshes[i], Parent: s.parents[i], Name: s.names[i]})
	}
	return r, nil
}

// Get implements store.Tx.
func (t *tx) Get(ctx context.Context, k store.Key) (store.Record, error) {
	if err := t.usable(); err != nil {
		return store.Record{}, err
	}
	op := "get " + keyString(k)
	var sc recordScan
	found, err := t.queryRow(ctx, op, selectRecords+`
		WHERE r.kind = $1 AND r.mesh = $2 AND r.parent = $3 AND r.name = $4`,
		[]any{string(k.Kind), k.Mesh, k.Parent, k.Name}, sc.dest()...)
	if err != nil {
		return store.Record{}, err
	}
	if !found {
		return store.Record{}, fmt.Errorf("store/postgres: %s: %w", op, store.ErrNotFound)
	}
	return sc.record()
}

// List implements store.Tx. limit must be positive: App Mesh pages are
// bounded, and an unbounded read is better asked for explicitly.
func (t *tx) List(ctx context.Context, kind store.Kind, mesh, parent, after string, limit int) ([]store.Record, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("store/postgres: list %s: limit %d is not positive", kind, limit)
	}
	// Names compare in byte order: the columns are COLLATE "C" (schema.go).
	query := selectRecords + ` WHERE r.kind = $1 AND r.mesh = $2 AND r.parent = $3 AND r.name > $4 ORDER BY r.name LIMIT $5`
	args := []any{string(kind), mesh, parent, after, limit}
	if kind == store.KindMesh {
		query = selectRecords + ` WHERE r.kind = $1 AND r.name > $2 ORDER BY r.name LIMIT $3`
		args = []any{string(kind), after, limit}
	}
	out := []store.Record{}
	err := t.query(ctx, "list "+string(kind), query, args, func(rows pgx.Rows) error {
		var sc recordScan
		if err := rows.Scan(sc.dest()...); err != nil {
			return err
		}
		r, err := sc.record()
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Count implements store.Tx.
func (t *tx) Count(ctx context.Context, kind store.Kind, mesh, parent string) (int, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	query := `SELECT count(*) FROM resources WHERE kind = $1 AND mesh = $2 AND parent = $3`
	args := []any{string(kind), mesh, parent}
	if kind == store.KindMesh {
		query = `SELECT count(*) FROM resources WHERE kind = $1`
		args = args[:1]
	}
	var n int64
	if _, err := t.queryRow(ctx, "count "+string(kind), query, args, &n); err != nil {
		return 0, err
	}
	return int(n), nil
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
	// constraint failures, and leave the transaction usable: any error
	// aborts a PostgreSQL transaction, and a caller that handles ErrExists
	// keeps the rest of its work.
	tag, err := t.exec(ctx, op, `INSERT INTO resources (kind, mesh, parent, name, uid, version,
			created_at_ms, last_updated_at_ms, mesh_owner, resource_owner, spec)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (kind, mesh, parent, name) DO NOTHING`,
		string(r.Kind), r.Mesh, r.Parent, r.Name, r.UID, r.Version,
		toMillis(r.CreatedAt), toMillis(r.LastUpdatedAt), r.MeshOwner, r.ResourceOwner, spec)
	if sqlState(err) == codeUniqueViolation {
		// Not expected with ON CONFLICT, but a taken key is a taken key,
		// not an outage (the transaction is aborted all the same).
		return fmt.Errorf("store/postgres: %s: unique violation: %w", op, store.ErrExists)
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store/postgres: %s: %w", op, store.ErrExists)
	}
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
	tag, err := t.exec(ctx, op, `UPDATE resources
		SET version = $1, last_updated_at_ms = $2, spec = $3
		WHERE kind = $4 AND mesh = $5 AND parent = $6 AND name = $7 AND version = $8`,
		r.Version, toMillis(r.LastUpdatedAt), spec,
		string(r.Kind), r.Mesh, r.Parent, r.Name, prevVersion)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return t.whyNot(ctx, op, r.Key, prevVersion)
	}
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
	found, err := t.queryRow(ctx, op, `DELETE FROM resources
		WHERE kind = $1 AND mesh = $2 AND parent = $3 AND name = $4 AND version = $5
		RETURNING uid`,
		[]any{string(k.Kind), k.Mesh, k.Parent, k.Name, prevVersion}, &uid)
	if err != nil {
		return err
	}
	if !found {
		return t.whyNot(ctx, op, k, prevVersion)
	}
	t.changed.Store(true)
	// The refs went with the row (ON DELETE CASCADE); tags are not keyed
	// by the row, so they go explicitly.
	_, err = t.exec(ctx, op+": delete tags", `DELETE FROM tags WHERE uid = $1`, uid)
	return err
}

// whyNot tells why a versioned update or delete of k matched no row:
// ErrNotFound if there is no record, else ErrVersion.
func (t *tx) whyNot(ctx context.Context, op string, k store.Key, prevVersion int64) error {
	var version int64
	found, err := t.queryRow(ctx, op, `SELECT version FROM resources
		WHERE kind = $1 AND mesh = $2 AND parent = $3 AND name = $4`,
		[]any{string(k.Kind), k.Mesh, k.Parent, k.Name}, &version)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("store/postgres: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("store/postgres: %s: stored version %d, expected %d: %w", op, version, prevVersion, store.ErrVersion)
}
