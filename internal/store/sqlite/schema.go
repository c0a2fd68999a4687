package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are applied in order; migrations[i] takes the schema from
// version i to i+1. Never edit an entry once released: append a new one.
var migrations = [][]string{
	// 1: initial schema.
	{
		// resources keeps rowids (no WITHOUT ROWID): specs can run to
		// kilobytes, and wide rows make a clustered primary key slow.
		`CREATE TABLE resources (
			kind               TEXT    NOT NULL,
			mesh               TEXT    NOT NULL,
			parent             TEXT    NOT NULL,
			name               TEXT    NOT NULL,
			uid                TEXT    NOT NULL,
			version            INTEGER NOT NULL,
			created_at_ms      INTEGER NOT NULL,
			last_updated_at_ms INTEGER NOT NULL,
			mesh_owner         TEXT    NOT NULL,
			resource_owner     TEXT    NOT NULL,
			spec               BLOB    NOT NULL,
			PRIMARY KEY (kind, mesh, parent, name)
		)`,
		// SetTags checks the uid names a resource.
		`CREATE INDEX resources_uid ON resources (uid)`,
		// ord keeps a record's refs in the order they were written and
		// lets one record name the same target twice.
		`CREATE TABLE refs (
			from_kind   TEXT    NOT NULL,
			from_mesh   TEXT    NOT NULL,
			from_parent TEXT    NOT NULL,
			from_name   TEXT    NOT NULL,
			ord         INTEGER NOT NULL,
			to_kind     TEXT    NOT NULL,
			to_mesh     TEXT    NOT NULL,
			to_parent   TEXT    NOT NULL,
			to_name     TEXT    NOT NULL,
			PRIMARY KEY (from_kind, from_mesh, from_parent, from_name, ord),
			FOREIGN KEY (from_kind, from_mesh, from_parent, from_name)
				REFERENCES resources (kind, mesh, parent, name) ON DELETE CASCADE
		) WITHOUT ROWID`,
		// Referrers looks refs up by target.
		`CREATE INDEX refs_to ON refs (to_kind, to_mesh, to_parent, to_name)`,
		// Tags hang off the uid, not the key, so a resource deleted and
		// created again under the same name starts untagged.
		`CREATE TABLE tags (
			uid   TEXT NOT NULL,
			key   TEXT NOT NULL,
			value TEXT NOT NULL,
			PRIMARY KEY (uid, key)
		) WITHOUT ROWID`,
		`CREATE TABLE tokens (
			scope         TEXT    NOT NULL,
			token         TEXT    NOT NULL,
			input_hash    TEXT    NOT NULL,
			response      BLOB    NOT NULL,
			created_at_ms INTEGER NOT NULL,
			PRIMARY KEY (scope, token)
		)`,
		`CREATE TABLE meta (
			id       INTEGER PRIMARY KEY CHECK (id = 1),
			revision INTEGER NOT NULL
		)`,
		`INSERT INTO meta (id, revision) VALUES (1, 0)`,
	},
}

// schemaVersion is the version a freshly migrated database is at.
var schemaVersion = len(migrations)

// migrate brings the schema up to date in one transaction, so a crash or a
// failing statement leaves the database at its old version, never between.
// It refuses a database written by a newer binary rather than risk
// misreading it.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fail(ctx, "migrate: begin", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		id      INTEGER PRIMARY KEY CHECK (id = 1),
		version INTEGER NOT NULL
	)`); err != nil {
		return fail(ctx, "migrate: create schema_version", err)
	}
	var current int
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&current); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (id, version) VALUES (1, 0)`); err != nil {
			return fail(ctx, "migrate: init schema_version", err)
		}
	case err != nil:
		return fail(ctx, "migrate: read schema_version", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("store/sqlite: database schema version %d is newer than this binary supports (%d)", current, len(migrations))
	}
	for v := current; v < len(migrations); v++ {
		for i, stmt := range migrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fail(ctx, fmt.Sprintf("migrate to version %d: statement %d", v+1, i+1), err)
			}
		}
	}
	if current != len(migrations) {
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ? WHERE id = 1`, len(migrations)); err != nil {
			return fail(ctx, "migrate: set schema_version", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(ctx, "migrate: commit", err)
	}
	return nil
}
