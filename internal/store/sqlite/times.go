package sqlite

import "time"

// Times are stored as Unix milliseconds: integers compare and index
// cheaply, and milliseconds are what App Mesh reports.

func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
