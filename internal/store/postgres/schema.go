package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order; migrations[i] takes the schema from
// version i to i+1. Never edit an entry once released: append a new one.
// Other replicas keep running on the old binary while one migrates, so a
// migration should only add (tables, nullable or defaulted columns,
// indexes) until every replica runs a binary that needs the change.
//
// Every TEXT column is COLLATE "C": List pages and orders by byte order,
// whatever collation the database was created with, and byte-order indexes
// are cheaper to search.
var migrations = [][]string{
	// 1: initial schema, the same tables as the SQLite back end's.
	{
		`CREATE TABLE resources (
			kind               TEXT COLLATE "C" NOT NULL,
			mesh               TEXT COLLATE "C" NOT NULL,
			parent             TEXT COLLATE "C" NOT NULL,
			name               TEXT COLLATE "C" NOT NULL,
			uid                TEXT COLLATE "C" NOT NULL,
			version            BIGINT NOT NULL,
			created_at_ms      BIGINT NOT NULL,
			last_updated_at_ms BIGINT NOT NULL,
			mesh_owner         TEXT COLLATE "C" NOT NULL,
			resource_owner     TEXT COLLATE "C" NOT NULL,
			spec               BYTEA NOT NULL,
			PRIMARY KEY (kind, mesh, parent, name)
		)`,
		// SetTags checks the uid names a resource.
		`CREATE INDEX resources_uid ON resources (uid)`,
		// ord keeps a record's refs in the order they were written and
		// lets one record name the same target twice.
		`CREATE TABLE refs (
			from_kind   TEXT COLLATE "C" NOT NULL,
			from_mesh   TEXT COLLATE "C" NOT NULL,
			from_parent TEXT COLLATE "C" NOT NULL,
			from_name   TEXT COLLATE "C" NOT NULL,
			ord         INTEGER NOT NULL,
			to_kind     TEXT COLLATE "C" NOT NULL,
			to_mesh     TEXT COLLATE "C" NOT NULL,
			to_parent   TEXT COLLATE "C" NOT NULL,
			to_name     TEXT COLLATE "C" NOT NULL,
			PRIMARY KEY (from_kind, from_mesh, from_parent, from_name, ord),
			FOREIGN KEY (from_kind, from_mesh, from_parent, from_name)
				REFERENCES resources (kind, mesh, parent, name) ON DELETE CASCADE
		)`,
		// Referrers looks refs up by target. Under SERIALIZABLE this index
		// is also what a delete guard's "no referrers" read locks, so a
		// concurrent insert of a ref to the same target conflicts with it.
		`CREATE INDEX refs_to ON refs (to_kind, to_mesh, to_parent, to_name)`,
		// Tags hang off the uid, not the key, so a resource deleted and
		// created again under the same name starts untagged.
		`CREATE TABLE tags (
			uid   TEXT COLLATE "C" NOT NULL,
			key   TEXT COLLATE "C" NOT NULL,
			value TEXT COLLATE "C" NOT NULL,
			PRIMARY KEY (uid, key)
		)`,
		`CREATE TABLE tokens (
			scope         TEXT COLLATE "C" NOT NULL,
			token         TEXT COLLATE "C" NOT NULL,
			input_hash    TEXT COLLATE "C" NOT NULL,
			response      BYTEA NOT NULL,
			created_at_ms BIGINT NOT NULL,
			PRIMARY KEY (scope, token)
		)`,
		`CREATE TABLE meta (
			id       INTEGER PRIMARY KEY CHECK (id = 1),
			revision BIGINT NOT NULL
		)`,
		`INSERT INTO meta (id, revision) VALUES (1, 0)`,
	},
}

// schemaVersion is the version a freshly migrated database is at.
var schemaVersion = len(migrations)

// migrationLock is the pg_advisory_xact_lock key that serializes migrations
// of one database: the first 8 bytes of "meshgate" read as an integer.
const migrationLock int64 = 0x6d65736867617465

// migrate brings the schema up to date in one transaction, so a crash or a
// failing statement leaves the database at its old version, never between.
// Replicas starting together queue on the advisory lock; the transaction is
// READ COMMITTED so that each statement after the wait sees what the
// replica before it committed, and the later ones find nothing to do. It
// refuses a database written by a newer binary rather than risk misreading
// it.
func migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	pgTx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fail(ctx, "migrate: begin", err)
	}
	defer func() {
		if err != nil {
			rollback(pgTx)
		}
	}()

	if _, err := pgTx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fail(ctx, "migrate: take the migration lock", err)
	}
	if _, err := pgTx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		id      INTEGER PRIMARY KEY CHECK (id = 1),
		version INTEGER NOT NULL
	)`); err != nil {
		return fail(ctx, "migrate: create schema_version", err)
	}
	if _, err := pgTx.Exec(ctx, `INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`); err != nil {
		return fail(ctx, "migrate: init schema_version", err)
	}
	var current int
	if err := pgTx.QueryRow(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&current); err != nil {
		return fail(ctx, "migrate: read schema_version", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("store/postgres: database schema version %d is newer than this binary supports (%d)", current, len(migrations))
	}
	for v := current; v < len(migrations); v++ {
		for i, stmt := range migrations[v] {
			if _, err := pgTx.Exec(ctx, stmt); err != nil {
				return fail(ctx, fmt.Sprintf("migrate to version %d: statement %d", v+1, i+1), err)
			}
		}
	}
	if current != len(migrations) {
		if _, err := pgTx.Exec(ctx, `UPDATE schema_version SET version = $1 WHERE id = 1`, len(migrations)); err != nil {
			return fail(ctx, "migrate: set schema_version", err)
		}
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fail(ctx, "migrate: commit", err)
	}
	return nil
}
