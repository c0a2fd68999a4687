// Package httpdate gives the Date field's value for responses, formatted
// once a second rather than once a response.
package httpdate

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Now is the current time in the Date field's format (http.TimeFormat).
func Now() string {
	now := time.Now()
	sec := now.Unix()
	if d := cached.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &text{sec: sec, text: now.UTC().Format(http.TimeFormat)}
	cached.Store(d)
	return d.text
}

type text struct {
	sec  int64
	text string
}

var cached atomic.Pointer[text]
