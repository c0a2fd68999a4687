package accesslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// DefaultQueueSize is how many rendered lines may wait for the writer
// before new ones are dropped (a few MB at typical line sizes).
const DefaultQueueSize = 8192

// Options tune a Logger.
type Options struct {
	// QueueSize bounds the lines waiting to be written; 0 means
	// DefaultQueueSize.
	QueueSize int
	// OnDrop, if set, is called once per dropped line (e.g. to count it in
	// metrics). It runs on the request's goroutine and must not block.
	OnDrop func()
}

// Logger writes access-log lines from a single goroutine. Requests render
// their line and hand it over through a bounded queue; when the queue is
// full (the disk cannot keep up) the line is dropped and counted rather
// than making the request wait, the trade-off Envoy makes too with its
// buffered file writer.
type Logger struct {
	queue   chan *[]byte
	reopen  chan chan error
	done    chan struct{}
	onDrop  func()
	path    string
	closed  atomic.Bool
	pending atomic.Int64 // Log calls between their closed check and their send
	dropped atomic.Uint64
	failed  atomic.Uint64
	once    sync.Once
	err     error

	// Owned by the writer goroutine (and by Close once it has stopped).
	bw   *bufio.Writer
	out  io.Writer
	file *os.File // nil when the Logger does not own the writer
}

// Open starts a Logger appending to path. "/dev/stdout" and "/dev/stderr"
// are the process's own streams (not reopened, not closed); any other
// path is created if needed and opened for appending.
func Open(path string, opts Options) (*Logger, error) {
	switch path {
	case "/dev/stdout":
		return start(os.Stdout, nil, path, opts), nil
	case "/dev/stderr":
		return start(os.Stderr, nil, path, opts), nil
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return start(f, f, path, opts), nil
}

// NewLogger starts a Logger writing to w, which it does not close.
func NewLogger(w io.Writer, opts Options) *Logger {
	return start(w, nil, "", opts)
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log: open %s: %w", path, err)
	}
	return f, nil
}

func start(w io.Writer, f *os.File, path string, opts Options) *Logger {
	n := opts.QueueSize
	if n <= 0 {
		n = DefaultQueueSize
	}
	l := &Logger{
		queue:  make(chan *[]byte, n),
		reopen: make(chan chan error),
		done:   make(chan struct{}),
		onDrop: opts.OnDrop,
		path:   path,
		bw:     bufio.NewWriterSize(w, 64<<10),
		out:    w,
		file:   f,
	}
	go l.run()
	return l
}

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledLine keeps one huge line from pinning memory in the pool.
const maxPooledLine = 64 << 10

// Log renders e with f and queues the line. It never blocks: it returns
// false when the line was dropped (queue full, or the Logger closed).
func (l *Logger) Log(f *Format, e *Entry) bool {
	if l == nil || f == nil {
		return false
	}
	if l.closed.Load() {
		l.drop()
		return false
	}
	bp := lines.Get().(*[]byte)
	*bp = f.Append((*bp)[:0], e)
	return l.enqueue(bp)
}

// WriteLine queues a copy of an already rendered line.
func (l *Logger) WriteLine(line []byte) bool {
	if l == nil {
		return false
	}
	bp := lines.Get().(*[]byte)
	*bp = append((*bp)[:0], line...)
	return l.enqueue(bp)
}

func (l *Logger) enqueue(bp *[]byte) bool {
	// pending lets Close wait for senders that passed the closed check,
	// so the queue is never closed under a send.
	l.pending.Add(1)
	defer l.pending.Add(-1)
	if l.closed.Load() {
		recycle(bp)
		l.drop()
		return false
	}
	select {
	case l.queue <- bp:
		return true
	default:
		recycle(bp)
		l.drop()
		return false
	}
}

func (l *Logger) drop() {
	l.dropped.Add(1)
	if l.onDrop != nil {
		l.onDrop()
	}
}

func recycle(bp *[]byte) {
	if cap(*bp) <= maxPooledLine {
		lines.Put(bp)
	}
}

// Dropped is how many lines were dropped because the queue was full or
// the Logger was closed.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// WriteErrors is how many writes to the file failed (the lines are lost).
func (l *Logger) WriteErrors() uint64 { return l.failed.Load() }

// Reopen flushes and reopens the file, for log rotation (call it on
// SIGHUP). It is a no-op for the standard streams and caller writers.
func (l *Logger) Reopen() error {
	ch := make(chan error, 1)
	select {
	case l.reopen <- ch:
		return <-ch
	case <-l.done:
		return errors.New("access log: reopen after close")
	}
}

// Close writes everything queued, stops the writer and closes the file.
// Lines logged after Close are dropped.
func (l *Logger) Close() error {
	l.once.Do(func() {
		l.closed.Store(true)
		for l.pending.Load() != 0 {
			runtime.Gosched()
		}
		close(l.queue)
		<-l.done
		if l.file != nil {
			l.err = l.file.Close()
		}
	})
	return l.err
}

func (l *Logger) run() {
	defer close(l.done)
	for {
		select {
		case bp, ok := <-l.queue:
			if !ok {
				l.flush()
				return
			}
			l.write(bp)
			// Take what is already queued, then flush once: one write
			// system call per burst instead of per line.
			for more := true; more; {
				select {
				case bp, ok := <-l.queue:
					if !ok {
						l.flush()
						return
					}
					l.write(bp)
				default:
					more = false
				}
			}
			l.flush()
		case ch := <-l.reopen:
			ch <- l.doReopen()
		}
	}
}

func (l *Logger) write(bp *[]byte) {
	if _, err := l.bw.Write(*bp); err != nil {
		l.failed.Add(1)
		l.bw.Reset(l.writer())
	}
	recycle(bp)
}

func (l *Logger) flush() {
	if err := l.bw.Flush(); err != nil {
		l.failed.Add(1)
		// Drop the unwritable buffer so one bad write does not wedge it.
		l.bw.Reset(l.writer())
	}
}

// writer is the current destination; bufio.Writer has no accessor.
func (l *Logger) writer() io.Writer {
	if l.file != nil {
		return l.file
	}
	return l.out
}

func (l *Logger) doReopen() error {
	l.flush()
	if l.file == nil {
		return nil
	}
	f, err := openAppend(l.path)
	if err != nil {
		return err // keep writing to the old file
	}
	old := l.file
	l.file = f
	l.bw.Reset(f)
	if err := old.Close(); err != nil {
		return fmt.Errorf("access log: close %s: %w", l.path, err)
	}
	return nil
}
