// Package postgres is the shared back end of store.Store: one PostgreSQL
// database that several meshgate replicas use at once, reached through a
// jackc/pgx connection pool.
//
// Replicas coordinate only through the database. Every Write is one
// SERIALIZABLE transaction, so PostgreSQL itself refuses any interleaving of
// two replicas' writes that no serial order could produce (a gateway route
// created on one replica while its virtual service is deleted on another).
// The loser gets a serialization failure, and Write runs fn again from the
// start on a fresh snapshot, where fn's own checks now see the winner's
// result. Reads are REPEATABLE READ READ ONLY: one snapshot for the whole of
// fn, and never a serialization failure.
//
// The revision is a single row that every changing Write increments in its
// own transaction, so it becomes visible exactly when the data does. The
// same transaction sends NOTIFY meshgate_changes, which PostgreSQL delivers
// on commit; Changes turns those notifications into a channel.
//
// Schema changes are ordered migrations recorded in schema_version and run
// by Open under a transaction-scoped advisory lock, so replicas that start
// together migrate once, one after the other.
package postgres
