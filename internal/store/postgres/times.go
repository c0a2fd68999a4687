package postgres

import "time"

// Times are stored as Unix milliseconds in BIGINT columns, as in the SQLite
// back end: integers compare and index cheaply, carry no time zone to get
// wrong, and milliseconds are what App Mesh reports.

func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
