package configclient

import (
	"sync"
	"time"
)

// Status describes the subscription.
type Status struct {
	Endpoint       string    `json:"endpoint,omitempty"` // connected to, "" when not
	AppliedVersion string    `json:"appliedVersion,omitempty"`
	AppliedAt      time.Time `json:"appliedAt,omitzero"`
	LastRejected   string    `json:"lastRejectedVersion,omitempty"`
	LastError      string    `json:"lastError,omitempty"`
}

type statusTracker struct {
	mu sync.Mutex
	s  Status
}

func (t *statusTracker) get() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s
}

func (t *statusTracker) applied() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.AppliedVersion
}

func (t *statusTracker) setApplied(v string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.AppliedVersion != v {
		t.s.AppliedVersion, t.s.AppliedAt = v, time.Now()
	}
}

func (t *statusTracker) setRejected(v string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.LastRejected, t.s.LastError = v, err.Error()
}

func (t *statusTracker) setConnected(ep string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Endpoint = ep
}
