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

// File is a configuration file (credentials, mesh shares) read into an
// immutable value. Readers load the current value without a lock, so a
// reload swaps everything at once and never blocks a request; a file that
// no longer parses leaves the last good value in force.
type File[T any] struct {
	path  string
	what  string                   // "credentials", "mesh shares": in errors and logs
	parse func([]byte) (*T, error) // errors must not quote secrets
	size  func(*T) int             // entries, for log lines

	cur  atomic.Pointer[T]
	mu   sync.Mutex // serializes reloads
	seen [sha256.Size]byte
}

// LoadFile reads path with parse.
func LoadFile[T any](path, what string, parse func([]byte) (*T, error), size func(*T) int) (*File[T], error) {
	f := &File[T]{path: path, what: what, parse: parse, size: size}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// staticFile holds a value that was not read from a file; Reload fails on it.
func staticFile[T any](what string, v *T, size func(*T) int) *File[T] {
	f := &File[T]{what: what, size: size}
	f.cur.Store(v)
	return f
}

// Load is the value in force.
func (f *File[T]) Load() *T { return f.cur.Load() }

// Path is the file's path, "" for a value not read from a file.
func (f *File[T]) Path() string { return f.path }

// Reload reads the file again. changed is false when its content is what
// was last read.
func (f *File[T]) Reload() (changed bool, err error) {
	if f.path == "" {
		return false, fmt.Errorf("%s: not read from a file", f.what)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", f.what, err)
	}
	sum := sha256.Sum256(data)
	if f.cur.Load() != nil && sum == f.seen {
		return false, nil
	}
	// Remember even a bad version, so that polling reports it once rather
	// than at every tick.
	f.seen = sum
	v, err := f.parse(data)
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", f.what, f.path, err)
	}
	if v == nil {
		return false, errors.New(f.what + ": empty")
	}
	f.cur.Store(v)
	return true, nil
}

// Watch reloads the file whenever its content changes, checking every
// interval until ctx ends. Reading a small file every few seconds is
// cheaper and more portable than inotify, and it sees editors that
// replace the file as well as those that rewrite it. A failure is logged
// when it first happens, not at every tick.
func (f *File[T]) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := f.Reload()
		switch {
		case err != nil && err.Error() != lastErr:
			log.Error(f.what+" not reloaded; the previous ones stay in force", "err", err)
		case changed:
			log.Info(f.what+" reloaded", "why", "file changed", "file", f.path, "entries", f.size(f.Load()))
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
	}
}

// ReloadAndLog reloads at an operator's request (SIGHUP) and reports the
// outcome whatever it is, so that the operator sees the signal arrived.
func (f *File[T]) ReloadAndLog(log *slog.Logger, why string) {
	changed, err := f.Reload()
	switch {
	case err != nil:
		log.Error(f.what+" not reloaded; the previous ones stay in force", "why", why, "err", err)
	case changed:
		log.Info(f.what+" reloaded", "why", why, "file", f.path, "entries", f.size(f.Load()))
	default:
		log.Info(f.what+" unchanged", "why", why, "file", f.path, "entries", f.size(f.Load()))
	}
}
