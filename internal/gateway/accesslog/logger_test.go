package accesslog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
)

func TestLoggerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("existing line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Compile("%REQ(X-N)% %RESPONSE_CODE%\n")
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				e := fixture()
				e.RequestHeader = map[string][]string{"X-N": {fmt.Sprint(i)}}
				if !l.Log(f, e) {
					t.Errorf("line %d dropped", i)
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) != n+1 || got[0] != "existing line" {
		t.Fatalf("file has %d lines (first %q), want %d after the existing one", len(got), got[0], n)
	}
	seen := map[string]bool{}
	for _, line := range got[1:] {
		if !strings.HasSuffix(line, " 204") {
			t.Fatalf("bad line %q", line)
		}
		seen[line] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct lines, want %d", len(seen), n)
	}
	if l.Dropped() != 0 || l.WriteErrors() != 0 {
		t.Errorf("dropped %d, write errors %d", l.Dropped(), l.WriteErrors())
	}
	// Closed: lines are dropped and counted, Close stays idempotent.
	if l.Log(f, fixture()) {
		t.Error("Log after Close succeeded")
	}
	if l.Dropped() != 1 {
		t.Errorf("dropped after close = %d, want 1", l.Dropped())
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen after Close: want an error")
	}
}

// blockingWriter holds every write until released, and says when the
// first write arrives.
type blockingWriter struct {
	entered chan struct{}
	once    sync.Once
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestLoggerDropsWhenFull(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	var onDrop atomic.Int64
	l := NewLogger(w, Options{QueueSize: 4, OnDrop: func() { onDrop.Add(1) }})
	// Stall the writer goroutine in a write, as a hung disk would.
	if !l.WriteLine([]byte("first\n")) {
		t.Fatal("first line dropped")
	}
	<-w.entered
	const n = 100
	accepted := 1
	for i := 0; i < n; i++ {
		if l.WriteLine([]byte(fmt.Sprintf("line %d\n", i))) {
			accepted++
		}
	}
	if accepted != 1+4 {
		t.Errorf("accepted %d lines with a stuck disk, want 1 + the queue of 4", accepted)
	}
	if got := l.Dropped(); got != uint64(n+1-accepted) || onDrop.Load() != int64(got) {
		t.Errorf("dropped %d, OnDrop %d, want %d", got, onDrop.Load(), n+1-accepted)
	}
	close(w.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(w.buf.String(), "\n"); lines != accepted {
		t.Errorf("wrote %d lines, want the %d accepted", lines, accepted)
	}
}

func TestLoggerReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.WriteLine([]byte("before\n"))
	// Rotate as logrotate does: rename, then ask for a reopen.
	if err := l.Reopen(); err != nil { // flushes "before" into the old file
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.WriteLine([]byte("after\n"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{path + ".1": "before\n", path: "after\n"} {
		got, err := os.ReadFile(file)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", file, got, err, want)
		}
	}
}

func TestLoggerOpenErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing-dir", "access.log"), Options{})
	if err == nil || !strings.Contains(err.Error(), "missing-dir") {
		t.Errorf("open in a missing directory: %v", err)
	}
	for _, p := range []string{"/dev/stdout", "/dev/stderr"} {
		l, err := Open(p, Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := l.Reopen(); err != nil {
			t.Errorf("%s: Reopen: %v", p, err)
		}
		if err := l.Close(); err != nil { // must not close the process's stream
			t.Errorf("%s: Close: %v", p, err)
		}
	}
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("stdout closed by the logger: %v", err)
	}
	var nilLogger *Logger
	if nilLogger.Log(nil, nil) || nilLogger.WriteLine(nil) {
		t.Error("nil Logger accepted a line")
	}
}

// TestLoggerCloseRace logs from many goroutines while closing: no panic
// (send on a closed channel), and every line is either written or counted
// as dropped.
func TestLoggerCloseRace(t *testing.T) {
	var buf logbuf.Buffer
	l := NewLogger(&buf, Options{QueueSize: 16})
	f, _ := Compile("x\n")
	var wg sync.WaitGroup
	var ok atomic.Int64
	const goroutines, each = 8, 200
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if l.Log(f, nil) {
					ok.Add(1)
				}
			}
		}()
	}
	l.Close()
	wg.Wait()
	written := int64(strings.Count(buf.String(), "\n"))
	if written != ok.Load() || written+int64(l.Dropped()) != goroutines*each {
		t.Errorf("written %d, accepted %d, dropped %d, total %d", written, ok.Load(), l.Dropped(), goroutines*each)
	}
}
