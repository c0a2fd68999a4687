// Package sqlite is the embedded back end of store.Store: one SQLite file in
// WAL mode, opened through the pure-Go driver modernc.org/sqlite so the
// binary needs no cgo.
//
// All writes go through a single connection that begins every transaction
// with BEGIN IMMEDIATE. Writers therefore queue in Go (in database/sql's pool)
// instead of racing for SQLite's write lock, so SQLITE_BUSY never reaches a
// caller from this process; the busy timeout only covers other processes that
// open the same file. Reads use a separate pool of query-only connections,
// each read transaction seeing one WAL snapshot.
package sqlite
