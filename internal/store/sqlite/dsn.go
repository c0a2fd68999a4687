package sqlite

import (
	"net/url"
	"strconv"
	"time"
)

// busyTimeout bounds how long a connection waits for a lock held by another
// process on the same file (in-process writers never contend, see doc.go).
const busyTimeout = 5 * time.Second

// dsn builds the connection string for one of the two pools. A file: URI,
// rather than a plain name with a query, keeps a '?' or '#' in the path from
// being taken for the start of the parameters.
func dsn(absPath string, write bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	// FULL makes every commit fsync the WAL, so an acknowledged write
	// survives power loss, not only a crash of the process.
	q.Set("_synchronous", "FULL")
	if write {
		q.Set("_journal_mode", "WAL")
		// Taking the write lock at BEGIN means a transaction never has to
		// upgrade a read lock later, which is what fails with SQLITE_BUSY
		// (without waiting) when another writer got there first.
		q.Set("_txlock", "immediate")
	} else {
		// Readers must never write; the Tx wrapper already refuses, this
		// makes SQLite refuse too.
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Path: absPath, RawQuery: q.Encode()}
	return u.String()
}
