package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Keys is the credential store. Lookups read an immutable snapshot, so a
// reload swaps every credential at once and never blocks a request.
type Keys struct {
	path string
	cur  atomic.Pointer[map[string]*Credential]

	mu   sync.Mutex // serializes reloads
	seen [sha256.Size]byte
}

// LoadKeys reads the credential file at path.
func LoadKeys(path string) (*Keys, error) {
	k := &Keys{path: path}
	if _, err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// ParseKeys is a store read from data rather than a file; Reload fails on it.
func ParseKeys(data []byte) (*Keys, error) {
	byID, err := parseCredentials(data)
	if err != nil {
		return nil, err
	}
	k := &Keys{}
	k.cur.Store(&byID)
	return k, nil
}

// Lookup returns the credential with this access key id.
func (k *Keys) Lookup(accessKeyID string) (*Credential, bool) {
	c, ok := (*k.cur.Load())[accessKeyID]
	return c, ok
}

// Len is the number of credentials.
func (k *Keys) Len() int { return len(*k.cur.Load()) }

// Path is the credential file's path.
func (k *Keys) Path() string { return k.path }

// Reload reads the file again. A file that no longer parses leaves the
// credentials as they were: locking every client out because of a typo
// would be worse than keeping the last good set for a while. changed is
// false when the file's content is what was last read.
func (k *Keys) Reload() (changed bool, err error) {
	if k.path == "" {
		return false, errors.New("credentials: not read from a file")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	data, err := os.ReadFile(k.path)
	if err != nil {
		return false, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(data)
	if k.cur.Load() != nil && sum == k.seen {
		return false, nil
	}
	// Remember even a bad version, so that polling reports it once rather
	// than at every tick.
	k.seen = sum
	byID, err := parseCredentials(data)
	if err != nil {
		return false, fmt.Errorf("credentials %s: %w", k.path, err)
	}
	k.cur.Store(&byID)
	return true, nil
}

// Watch reloads the file whenever its content changes, checking every
// interval until ctx ends. Reading a small file every few seconds is
// cheaper and more portable than inotify, and it sees editors that
// replace the file as well as those that rewrite it. A failure is logged
// when it first happens, not at every tick.
func (k *Keys) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := k.Reload()
		switch {
		case err != nil && err.Error() != lastErr:
			log.Error("credentials not reloaded; the previous ones stay in force", "err", err)
		case changed:
			log.Info("credentials reloaded", "why", "file changed", "file", k.path, "keys", k.Len())
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
	}
}

// ReloadAndLog reloads at an operator's request (SIGHUP) and reports the
// outcome whatever it is, so that the operator sees the signal arrived.
func (k *Keys) ReloadAndLog(log *slog.Logger, why string) {
	changed, err := k.Reload()
	switch {
	case err != nil:
		log.Error("credentials not reloaded; the previous ones stay in force", "why", why, "err", err)
	case changed:
		log.Info("credentials reloaded", "why", why, "file", k.path, "keys", k.Len())
	default:
		log.Info("credentials unchanged", "why", why, "file", k.path, "keys", k.Len())
	}
}

// Credentials lists the credentials in no particular order.
func (k *Keys) Credentials() []*Credential {
	m := *k.cur.Load()
	out := make([]*Credential, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	return out
}
