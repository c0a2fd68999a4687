package tlsfiles

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Files is a value parsed from files, re-read when any file's
// modification time or size changes, checked at most once per interval.
// Rotation therefore needs no restart, and a half-written rotation (a new
// certificate next to the old key) keeps the last good value until the
// files agree again.
type Files[T any] struct {
	paths []string
	parse func(contents [][]byte) (T, error)
	every time.Duration
	log   *slog.Logger // carries the cluster and what the files are

	mu      sync.Mutex
	next    time.Time // no stat before this
	stamps  []fileStamp
	val     T
	loaded  bool
	lastErr error
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// Watch returns files parsed by parse, read on the first Get.
func Watch[T any](paths []string, every time.Duration, log *slog.Logger, parse func([][]byte) (T, error)) *Files[T] {
	return &Files[T]{paths: paths, parse: parse, every: every, log: log}
}

// Get returns the current value, or the error that kept any value from
// ever loading.
func (f *Files[T]) Get() (T, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if now.Before(f.next) {
		return f.val, f.errLocked()
	}
	f.next = now.Add(f.every)
	stamps, err := statFiles(f.paths)
	if err == nil && f.loaded && sameStamps(stamps, f.stamps) {
		return f.val, nil
	}
	var v T
	if err == nil {
		v, err = f.read()
	}
	if err != nil {
		if f.lastErr == nil || f.lastErr.Error() != err.Error() {
			if f.loaded {
				f.log.Warn("reloading TLS files failed; keeping the last good version", "err", err)
			} else {
				f.log.Error("loading TLS files failed", "err", err)
			}
		}
		f.lastErr = err
		return f.val, f.errLocked()
	}
	if f.loaded {
		f.log.Info("TLS files changed; reloaded")
	}
	f.val, f.loaded, f.stamps, f.lastErr = v, true, stamps, nil
	return v, nil
}

func (f *Files[T]) errLocked() error {
	if f.loaded {
		return nil
	}
	if f.lastErr != nil {
		return f.lastErr
	}
	return fmt.Errorf("files %v not loaded yet", f.paths)
}

func (f *Files[T]) read() (T, error) {
	contents := make([][]byte, len(f.paths))
	for i, p := range f.paths {
		b, err := os.ReadFile(p)
		if err != nil {
			var zero T
			return zero, err
		}
		contents[i] = b
	}
	return f.parse(contents)
}

func statFiles(paths []string) ([]fileStamp, error) {
	out := make([]fileStamp, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		out[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return out, nil
}

func sameStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}

// CheckEvery is how often the gateway looks at certificate files.
const CheckEvery = 2 * time.Second
