package h2server

// Behaviour tests on real 127.0.0.1 sockets. A raw HTTP/2 client built on
// x/net's Framer and HPACK drives the server frame by frame: the settings
// it advertises, flow control in both directions, the stream limit, the
// rapid-reset and CONTINUATION floods, timeouts, shutdown, connection
// states, cancellation, panics, 100-continue, header limits and malformed
// frames. net/http's Transport (h2c with prior knowledge) drives it as an
// ordinary client for the concurrency test and for BenchmarkServe, which
// compares it with net/http's h2c server.
//
// Helpers here are prefixed st: other test files of the package are written
// alongside.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
	"github.com/meshgate/meshgate/internal/testutil/wait"
)

// stAuthority is the :authority of the raw client's requests.
const stAuthority = "h2.test"

// ---------------------------------------------------------------------------
// Server harness

// stSrv is a Server serving the connections of a 127.0.0.1 listener, one
// ServeConn per connection.
type stSrv struct {
	*Server
	addr string
	l    net.Listener
	log  *logbuf.Buffer

	mu    sync.Mutex
	conns []net.Conn // server side, as given to ServeConn
	wg    sync.WaitGroup
}

// stServer serves s on a fresh listener, ErrorLog captured unless set. On
// cleanup it stops accepting, shuts s down, closes what is left, and fails
// the test if a ServeConn does not return for its closed connection or if
// Shutdown fails: the clients close their connections before this runs
// (their cleanups were registered later), so a graceful shutdown has
// nothing to wait for. The test's log gets the ErrorLog if it failed.
func stServer(t testing.TB, s *Server) *stSrv {
	t.Helper()
	return stServerWrap(t, s, nil)
}

// stServerWrap is stServer with each accepted connection passed through
// wrap before ServeConn.
func stServerWrap(t testing.TB, s *Server, wrap func(net.Conn) net.Conn) *stSrv {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts := &stSrv{Server: s, addr: l.Addr().String(), l: l, log: &logbuf.Buffer{}}
	if s.ErrorLog == nil {
		s.ErrorLog = log.New(ts.log, "", 0)
	}
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if wrap != nil {
				c = wrap(c)
			}
			ts.mu.Lock()
			ts.conns = append(ts.conns, c)
			ts.mu.Unlock()
			ts.wg.Add(1)
			go func() {
				defer ts.wg.Done()
				if !s.ServeConn(c) {
					c.Close()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		shutErr := s.Shutdown(ctx)
		ts.mu.Lock()
		for _, c := range ts.conns {
			c.Close()
		}
		ts.mu.Unlock()
		done := make(chan struct{})
		go func() { ts.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("ServeConn did not return within 5s of its connection being closed")
		}
		if shutErr != nil {
			t.Errorf("Shutdown after the clients left: %v", shutErr)
		}
		if t.Failed() {
			t.Logf("ErrorLog:\n%s", ts.log.String())
		}
	})
	return ts
}

// stServe is stServer for a handler with default settings.
func stServe(t testing.TB, h http.HandlerFunc) *stSrv {
	t.Helper()
	return stServer(t, &Server{Handler: h})
}

// ---------------------------------------------------------------------------
// Raw client

// stFrame is a copy of one frame the server sent, safe to keep.
type stFrame struct {
	Type     http2.FrameType
	Flags    http2.Flags
	StreamID uint32
	Len      uint32
	Data     []byte              // DATA payload, PING data, GOAWAY debug data
	Fields   []hpack.HeaderField // HEADERS (with its CONTINUATIONs)
	Code     http2.ErrCode       // RST_STREAM, GOAWAY
	LastID   uint32              // GOAWAY
	Incr     uint32              // WINDOW_UPDATE
	Settings []http2.Setting     // SETTINGS
}

func stConvert(f http2.Frame) stFrame {
	h := f.Header()
	sf := stFrame{Type: h.Type, Flags: h.Flags, StreamID: h.StreamID, Len: h.Length}
	switch f := f.(type) {
	case *http2.DataFrame:
		sf.Data = bytes.Clone(f.Data())
	case *http2.MetaHeadersFrame:
		sf.Fields = append([]hpack.HeaderField(nil), f.Fields...)
	case *http2.SettingsFrame:
		f.ForeachSetting(func(s http2.Setting) error { sf.Settings = append(sf.Settings, s); return nil })
	case *http2.PingFrame:
		sf.Data = bytes.Clone(f.Data[:])
	case *http2.GoAwayFrame:
		sf.Code, sf.LastID, sf.Data = f.ErrCode, f.LastStreamID, bytes.Clone(f.DebugData())
	case *http2.RSTStreamFrame:
		sf.Code = f.ErrCode
	case *http2.WindowUpdateFrame:
		sf.Incr = f.Increment
	}
	return sf
}

func (f stFrame) is(typ http2.FrameType, id uint32) bool { return f.Type == typ && f.StreamID == id }

// endStream reports END_STREAM on a HEADERS or DATA frame.
func (f stFrame) endStream() bool {
	return (f.Type == http2.FrameHeaders || f.Type == http2.FrameData) && f.Flags.Has(http2.FlagDataEndStream)
}

func (f stFrame) ack() bool {
	return (f.Type == http2.FrameSettings || f.Type == http2.FramePing) && f.Flags.Has(http2.FlagSettingsAck)
}

func (f stFrame) field(name string) string {
	for _, hf := range f.Fields {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

func (f stFrame) String() string {
	s := fmt.Sprintf("%v[%d] len=%d", f.Type, f.StreamID, f.Len)
	if f.endStream() {
		s += " END_STREAM"
	}
	if f.ack() {
		s += " ACK"
	}
	switch f.Type {
	case http2.FrameHeaders:
		s += fmt.Sprintf(" %v", f.Fields)
	case http2.FrameRSTStream:
		s += " " + f.Code.String()
	case http2.FrameGoAway:
		s += fmt.Sprintf(" %v last=%d %q", f.Code, f.LastID, f.Data)
	case http2.FrameWindowUpdate:
		s += fmt.Sprintf(" +%d", f.Incr)
	case http2.FrameSettings:
		s += fmt.Sprintf(" %v", f.Settings)
	}
	return s
}

// stConn is a raw HTTP/2 client connection. Once its handshake is done a
// goroutine reads the server's frames into frames (unless noReader).
type stConn struct {
	t  testing.TB
	c  net.Conn
	fr *http2.Framer

	wmu    sync.Mutex // the framer's write side and the encoder
	enc    *hpack.Encoder
	hbuf   bytes.Buffer
	nextID uint32

	serverSettings map[http2.SettingID]uint32
	noReader       bool
	frames         chan stFrame
	readErr        error // set before frames is closed
	done           chan struct{}
	goAways        []stFrame // GOAWAYs seen by response
}

var errStTimeout = errors.New("timed out waiting for a frame")

// stDialRaw connects to addr without a handshake.
func stDialRaw(t testing.TB, addr string) *stConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := &stConn{t: t, c: c, nextID: 1, done: make(chan struct{})}
	t.Cleanup(func() { close(cl.done); c.Close() })
	cl.fr = http2.NewFramer(c, c)
	cl.fr.SetMaxReadFrameSize(16384) // the protocol's default, which the server must respect
	dec := hpack.NewDecoder(4096, nil)
	cl.fr.ReadMetaHeaders = dec
	cl.fr.MaxHeaderListSize = 1 << 20
	cl.enc = hpack.NewEncoder(&cl.hbuf)
	return cl
}

// stDial connects and handshakes with windows large enough for no
// response to wait on flow control.
func stDial(t testing.TB, addr string) *stConn {
	t.Helper()
	cl := stDialRaw(t, addr)
	cl.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	cl.windowUpdate(0, 1<<30)
	return cl
}

// handshake sends the preface and settings, reads the server's SETTINGS
// (which must be its first frame), acknowledges it and starts the reader.
func (cl *stConn) handshake(settings ...http2.Setting) {
	cl.t.Helper()
	cl.write(func(fr *http2.Framer) error {
		if _, err := io.WriteString(cl.c, http2.ClientPreface); err != nil {
			return err
		}
		return fr.WriteSettings(settings...)
	})
	for _, s := range settings {
		if s.ID == http2.SettingMaxFrameSize {
			cl.fr.SetMaxReadFrameSize(s.Val)
		}
	}
	cl.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	f, err := cl.fr.ReadFrame()
	if err != nil {
		cl.t.Fatalf("reading the server's SETTINGS: %v", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		cl.t.Fatalf("the server's first frame is %v, want SETTINGS", stConvert(f))
	}
	cl.serverSettings = make(map[http2.SettingID]uint32)
	sf.ForeachSetting(func(s http2.Setting) error { cl.serverSettings[s.ID] = s.Val; return nil })
	cl.c.SetReadDeadline(time.Time{})
	cl.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
	if !cl.noReader {
		cl.startReader()
	}
}

func (cl *stConn) startReader() {
	cl.frames = make(chan stFrame, 4096)
	go func() {
		defer close(cl.frames)
		for {
			f, err := cl.fr.ReadFrame()
			if err != nil {
				cl.readErr = err
				return
			}
			select {
			case cl.frames <- stConvert(f):
			case <-cl.done:
				cl.readErr = errors.New("test over")
				return
			}
		}
	}()
}

// next returns the next frame within d: errStTimeout if none came, the
// read error if the connection ended.
func (cl *stConn) next(d time.Duration) (stFrame, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, ok := <-cl.frames:
		if !ok {
			return stFrame{}, fmt.Errorf("connection ended: %w", cl.readErr)
		}
		return f, nil
	case <-timer.C:
		return stFrame{}, errStTimeout
	}
}

// waitFor reads frames until one satisfies pred, failing after d or when
// the connection ends.
func (cl *stConn) waitFor(d time.Duration, what string, pred func(stFrame) bool) stFrame {
	cl.t.Helper()
	deadline := time.Now().Add(d)
	var seen []string
	for {
		f, err := cl.next(time.Until(deadline))
		if err != nil {
			cl.t.Fatalf("waiting for %s: %v; frames seen: %s", what, err, stTail(seen))
		}
		if pred(f) {
			return f
		}
		seen = append(seen, f.String())
	}
}

// none checks that no frame satisfying pred arrives within d (other
// frames are dropped) and that the connection stays open.
func (cl *stConn) none(d time.Duration, what string, pred func(stFrame) bool) {
	cl.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, err := cl.next(time.Until(deadline))
		if err == errStTimeout {
			return
		}
		if err != nil {
			cl.t.Fatalf("while checking for no %s: %v", what, err)
		}
		if pred(f) {
			cl.t.Fatalf("got %v, want no %s", f, what)
		}
	}
}

// expectClosed reads until the connection ends, failing if it is still
// open after d; it returns the frames read.
func (cl *stConn) expectClosed(d time.Duration) []stFrame {
	cl.t.Helper()
	deadline := time.Now().Add(d)
	var fs []stFrame
	for {
		f, err := cl.next(time.Until(deadline))
		if err == errStTimeout {
			cl.t.Fatalf("connection still open after %v; frames: %v", d, fs)
		}
		if err != nil {
			return fs
		}
		fs = append(fs, f)
	}
}

// expectGoAway waits for a GOAWAY with code, then for the connection to
// close.
func (cl *stConn) expectGoAway(code http2.ErrCode, d time.Duration) stFrame {
	cl.t.Helper()
	g := cl.waitFor(d, "GOAWAY "+code.String(), func(f stFrame) bool { return f.Type == http2.FrameGoAway })
	if g.Code != code {
		cl.t.Errorf("GOAWAY %v (last %d, %q), want %v", g.Code, g.LastID, g.Data, code)
	}
	cl.expectClosed(d)
	return g
}

// awaitConnWindow waits for the server's first connection WINDOW_UPDATE
// (its receive window raised to 1 MiB), before sending more than 64 KiB.
func (cl *stConn) awaitConnWindow() {
	cl.t.Helper()
	cl.waitFor(2*time.Second, "the connection WINDOW_UPDATE", func(f stFrame) bool { return f.is(http2.FrameWindowUpdate, 0) })
}

// pingAlive checks that the connection answers a PING.
func (cl *stConn) pingAlive(d time.Duration) {
	cl.t.Helper()
	data := [8]byte{'a', 'l', 'i', 'v', 'e', '?', 0, byte(cl.nextID)}
	cl.write(func(fr *http2.Framer) error { return fr.WritePing(false, data) })
	cl.waitFor(d, "PING ACK", func(f stFrame) bool {
		if f.Type == http2.FrameGoAway {
			cl.t.Fatalf("got %v while waiting for PING ACK", f)
		}
		return f.Type == http2.FramePing && f.ack() && bytes.Equal(f.Data, data[:])
	})
}

func stTail(s []string) string {
	if len(s) > 12 {
		s = append([]string{fmt.Sprintf("(%d more)", len(s)-12)}, s[len(s)-12:]...)
	}
	return strings.Join(s, "; ")
}

// write runs fn on the framer under the write lock with a deadline.
func (cl *stConn) write(fn func(fr *http2.Framer) error) {
	cl.t.Helper()
	if err := cl.tryWrite(fn); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

func (cl *stConn) tryWrite(fn func(fr *http2.Framer) error) error {
	cl.wmu.Lock()
	defer cl.wmu.Unlock()
	cl.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	return fn(cl.fr)
}

// encodeLocked HPACK-encodes name, value pairs; wmu must be held, and the
// block sent before the lock is released.
func (cl *stConn) encodeLocked(fields []string) []byte {
	cl.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		cl.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(cl.hbuf.Bytes())
}

// headers sends one HEADERS frame with END_HEADERS.
func (cl *stConn) headers(id uint32, end bool, fields ...string) {
	cl.t.Helper()
	cl.write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: cl.encodeLocked(fields),
			EndStream: end, EndHeaders: true})
	})
}

// stReqFields are the pseudo-header fields of a request, then extra.
func stReqFields(method, path string, extra ...string) []string {
	return append([]string{":method", method, ":scheme", "http", ":authority", stAuthority, ":path", path}, extra...)
}

// request opens the next stream with a request; end: no body.
func (cl *stConn) request(method, path string, end bool, extra ...string) uint32 {
	cl.t.Helper()
	id := cl.nextID
	cl.nextID += 2
	cl.headers(id, end, stReqFields(method, path, extra...)...)
	return id
}

func (cl *stConn) get(path string) uint32 {
	cl.t.Helper()
	return cl.request("GET", path, true)
}

// data sends b on stream id in frames of at most 16 KiB.
func (cl *stConn) data(id uint32, end bool, b []byte) {
	cl.t.Helper()
	for {
		n := min(len(b), 16384)
		last := n == len(b)
		cl.write(func(fr *http2.Framer) error { return fr.WriteData(id, end && last, b[:n]) })
		b = b[n:]
		if last {
			return
		}
	}
}

func (cl *stConn) windowUpdate(id, incr uint32) {
	cl.t.Helper()
	cl.write(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(id, incr) })
}

func (cl *stConn) settings(s ...http2.Setting) {
	cl.t.Helper()
	cl.write(func(fr *http2.Framer) error { return fr.WriteSettings(s...) })
}

func (cl *stConn) rst(id uint32, code http2.ErrCode) {
	cl.t.Helper()
	cl.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, code) })
}

// raw sends a frame as given, legal or not.
func (cl *stConn) raw(typ http2.FrameType, flags http2.Flags, id uint32, payload []byte) {
	cl.t.Helper()
	cl.write(func(fr *http2.Framer) error { return fr.WriteRawFrame(typ, flags, id, payload) })
}

// stResp is a response as read off its stream.
type stResp struct {
	status  int
	header  http.Header
	info    []int // 1xx statuses
	body    []byte
	trailer http.Header
	reset   bool
	code    http2.ErrCode // of the RST_STREAM when reset
	frames  []stFrame
}

// response collects stream id's response until END_STREAM or RST_STREAM.
func (cl *stConn) response(id uint32, d time.Duration) *stResp {
	cl.t.Helper()
	return cl.responses([]uint32{id}, d)[id]
}

// responses collects the responses of ids, in any interleaving.
func (cl *stConn) responses(ids []uint32, d time.Duration) map[uint32]*stResp {
	cl.t.Helper()
	out := make(map[uint32]*stResp, len(ids))
	for _, id := range ids {
		out[id] = &stResp{header: http.Header{}}
	}
	left := len(ids)
	deadline := time.Now().Add(d)
	for left > 0 {
		f, err := cl.next(time.Until(deadline))
		if err != nil {
			cl.t.Fatalf("waiting for %d of %d responses: %v", left, len(ids), err)
		}
		if f.Type == http2.FrameGoAway {
			cl.goAways = append(cl.goAways, f)
			if f.Code != http2.ErrCodeNo {
				cl.t.Fatalf("got %v while waiting for responses", f)
			}
			continue
		}
		r := out[f.StreamID]
		if r == nil || r.reset || (len(r.frames) > 0 && r.frames[len(r.frames)-1].endStream()) {
			continue
		}
		r.frames = append(r.frames, f)
		switch f.Type {
		case http2.FrameHeaders:
			h := http.Header{}
			status := 0
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					status, _ = strconv.Atoi(hf.Value)
				} else if !strings.HasPrefix(hf.Name, ":") {
					h.Add(hf.Name, hf.Value)
				}
			}
			switch {
			case status >= 100 && status < 200:
				r.info = append(r.info, status)
			case status != 0:
				r.status, r.header = status, h
			default:
				r.trailer = h
			}
		case http2.FrameData:
			r.body = append(r.body, f.Data...)
		case http2.FrameRSTStream:
			r.reset, r.code = true, f.Code
			left--
			continue
		}
		if f.endStream() {
			left--
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Small helpers

// stBody is n deterministic bytes.
func stBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/251)%26)
	}
	return b
}

func stRecv[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
		panic("unreachable")
	}
}

func stOK(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

// stCounter counts a handler's concurrent and total runs.
type stCounter struct {
	running, max, total atomic.Int64
}

func (c *stCounter) enter() {
	c.total.Add(1)
	n := c.running.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (c *stCounter) exit() { c.running.Add(-1) }

// stRelease is a channel closed once.
type stRelease struct {
	ch   chan struct{}
	once sync.Once
}

func stNewRelease(t testing.TB) *stRelease {
	r := &stRelease{ch: make(chan struct{})}
	t.Cleanup(r.open)
	return r
}

func (r *stRelease) open() { r.once.Do(func() { close(r.ch) }) }

// stReadUntilClosed reads c until it ends; it returns when, or an error
// if it was still open after d.
func stReadUntilClosed(c net.Conn, d time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	buf := make([]byte, 32<<10)
	for {
		_, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return time.Since(start), fmt.Errorf("still open after %v", d)
			}
			return time.Since(start), nil
		}
	}
}

// ---------------------------------------------------------------------------
// Settings

func TestServerSettings(t *testing.T) {
	cases := []struct {
		name      string
		srv       func() *Server
		mcs, mhls uint32
	}{
		{"defaults", func() *Server { return &Server{} }, 100, http.DefaultMaxHeaderBytes + 320},
		{"configured", func() *Server { return &Server{MaxConcurrentStreams: 7, MaxHeaderBytes: 4096} }, 7, 4096 + 320},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.srv()
			s.Handler = http.HandlerFunc(stOK)
			ts := stServer(t, s)
			cl := stDialRaw(t, ts.addr)
			cl.handshake()
			want := map[http2.SettingID]uint32{
				http2.SettingMaxConcurrentStreams: tc.mcs,
				http2.SettingMaxHeaderListSize:    tc.mhls,
				http2.SettingInitialWindowSize:    1 << 20,
			}
			for id, v := range want {
				if got, ok := cl.serverSettings[id]; !ok || got != v {
					t.Errorf("advertised %v = %d (sent: %v), want %d", id, got, ok, v)
				}
			}
			if v, ok := cl.serverSettings[http2.SettingEnablePush]; ok && v != 0 {
				t.Errorf("server advertised ENABLE_PUSH %d", v)
			}
			if v, ok := cl.serverSettings[http2.SettingMaxFrameSize]; ok && (v < 16384 || v > 1<<24-1) {
				t.Errorf("server advertised invalid MAX_FRAME_SIZE %d", v)
			}
			// The connection window is raised to 1 MiB at once, and our
			// SETTINGS are acknowledged.
			var wu stFrame
			acked := false
			deadline := time.Now().Add(2 * time.Second)
			for wu.Type != http2.FrameWindowUpdate || !acked {
				f, err := cl.next(time.Until(deadline))
				if err != nil {
					t.Fatalf("waiting for the connection WINDOW_UPDATE (seen: %v) and SETTINGS ACK (%v): %v", wu.Type == http2.FrameWindowUpdate, acked, err)
				}
				switch {
				case f.is(http2.FrameWindowUpdate, 0) && wu.Type != http2.FrameWindowUpdate:
					wu = f
				case f.Type == http2.FrameSettings && f.ack():
					acked = true
				default:
					t.Errorf("unexpected frame before any request: %v", f)
				}
			}
			if wu.Incr != 1<<20-65535 {
				t.Errorf("connection WINDOW_UPDATE +%d, want +%d (window 1 MiB)", wu.Incr, 1<<20-65535)
			}
			r := cl.response(cl.get("/"), 2*time.Second)
			if r.status != 200 || string(r.body) != "ok" {
				t.Errorf("GET: %d %q", r.status, r.body)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Response flow control

// stFlow follows one response body against the window the client gave.
type stFlow struct {
	cl      *stConn
	id      uint32
	allowed int // bytes the client's windows allow so far
	body    []byte
	ended   bool
	frames  int
	maxLen  uint32
}

func (fl *stFlow) take(t testing.TB, f stFrame) {
	t.Helper()
	if f.Type == http2.FrameGoAway || f.is(http2.FrameRSTStream, fl.id) {
		t.Fatalf("got %v while reading the response", f)
	}
	if f.StreamID != fl.id {
		return
	}
	if f.Type == http2.FrameData {
		fl.body = append(fl.body, f.Data...)
		fl.frames++
		fl.maxLen = max(fl.maxLen, f.Len)
		if len(fl.body) > fl.allowed {
			t.Fatalf("server sent %d body bytes, the client's windows allowed %d", len(fl.body), fl.allowed)
		}
	}
	if f.endStream() {
		fl.ended = true
	}
}

// fill reads until the body uses the allowed window or ends.
func (fl *stFlow) fill(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !fl.ended && len(fl.body) < fl.allowed {
		f, err := fl.cl.next(time.Until(deadline))
		if err != nil {
			t.Fatalf("stream %d: have %d bytes of %d allowed: %v", fl.id, len(fl.body), fl.allowed, err)
		}
		fl.take(t, f)
	}
}

// quiet reads for d, failing on any DATA beyond the window.
func (fl *stFlow) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, err := fl.cl.next(time.Until(deadline))
		if err == errStTimeout {
			return
		}
		if err != nil {
			t.Fatalf("stream %d: %v", fl.id, err)
		}
		fl.take(t, f)
	}
}

// credit100 lets the response through 100 bytes at a time: it reads as
// far as the windows allow and waits for the server to go quiet; while
// the response has not ended, it then sends a WINDOW_UPDATE of 100 on
// stream windowID (0: the connection) and goes again. It returns how many
// it sent.
func (fl *stFlow) credit100(t testing.TB, windowID uint32) int {
	t.Helper()
	for rounds := 0; ; rounds++ {
		fl.fill(t)
		fl.quiet(t, 50*time.Millisecond)
		if fl.ended {
			return rounds
		}
		fl.cl.windowUpdate(windowID, 100)
		fl.allowed += 100
	}
}

func TestServerResponseFlowControl(t *testing.T) {
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(stBody(n))
	})
	const n = 1024
	check := func(t *testing.T, fl *stFlow) {
		t.Helper()
		if !fl.ended {
			t.Fatalf("response not ended")
		}
		if !bytes.Equal(fl.body, stBody(n)) {
			t.Errorf("body: %d bytes, want %d bytes of the pattern", len(fl.body), n)
		}
	}
	// streamWindow100 asks for 1024 bytes on a new connection whose
	// streams' windows are 100 bytes and the connection's is wide open.
	streamWindow100 := func(t *testing.T) (*stConn, *stFlow) {
		cl := stDialRaw(t, ts.addr)
		cl.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
		cl.windowUpdate(0, 1<<20)
		return cl, &stFlow{cl: cl, id: cl.get("/?n=1024"), allowed: 100}
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"stream window updates", func(t *testing.T) {
			_, fl := streamWindow100(t)
			rounds := fl.credit100(t, fl.id)
			check(t, fl)
			if rounds != 10 {
				t.Errorf("response took %d stream WINDOW_UPDATEs of 100, want 10", rounds)
			}
		}},
		{"connection window updates", func(t *testing.T) {
			cl := stDialRaw(t, ts.addr)
			cl.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
			// Use up all but 100 bytes of the connection's 65535.
			pre := &stFlow{cl: cl, id: cl.get("/?n=65435"), allowed: 65535}
			pre.fill(t)
			if !pre.ended || len(pre.body) != 65435 {
				t.Fatalf("first response: %d bytes, ended %v", len(pre.body), pre.ended)
			}
			fl := &stFlow{cl: cl, id: cl.get("/?n=1024"), allowed: 100}
			rounds := fl.credit100(t, 0)
			check(t, fl)
			if rounds != 10 {
				t.Errorf("response took %d connection WINDOW_UPDATEs of 100, want 10", rounds)
			}
		}},
		{"INITIAL_WINDOW_SIZE raised mid-stream", func(t *testing.T) {
			cl, fl := streamWindow100(t)
			fl.fill(t)
			fl.quiet(t, 50*time.Millisecond)
			cl.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1024})
			fl.allowed = 1024
			fl.fill(t)
			check(t, fl)
		}},
		{"INITIAL_WINDOW_SIZE lowered mid-stream", func(t *testing.T) {
			cl, fl := streamWindow100(t)
			fl.fill(t)
			fl.quiet(t, 50*time.Millisecond)
			// The stream's window goes to -50; +50 brings it to 0: still
			// nothing may be sent.
			cl.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 50})
			cl.windowUpdate(fl.id, 50)
			fl.quiet(t, 150*time.Millisecond)
			cl.windowUpdate(fl.id, 1000)
			fl.allowed += 1000
			fl.fill(t)
			check(t, fl)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func TestServerMaxFrameSize(t *testing.T) {
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		if k, _ := strconv.Atoi(r.URL.Query().Get("h")); k > 0 {
			w.Header().Set("X-Big", strings.Repeat("h", k))
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(stBody(n))
	})
	cases := []struct {
		name    string
		setting uint32 // 0: not sent (16384)
		n, h    int
	}{
		{"default 16384", 0, 100000, 0},
		{"default 16384 big header", 0, 10, 40000},
		{"20000", 20000, 100000, 0},
		{"20000 big header", 20000, 10, 50000},
		{"1 MiB", 1 << 20, 300000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := stDialRaw(t, ts.addr)
			settings := []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1 << 30}}
			limit := uint32(16384)
			if tc.setting != 0 {
				settings = append(settings, http2.Setting{ID: http2.SettingMaxFrameSize, Val: tc.setting})
				limit = tc.setting
			}
			cl.handshake(settings...) // the client's framer now fails on larger frames
			cl.windowUpdate(0, 1<<30)
			// Wait for our SETTINGS to be acknowledged: only then may the
			// server use the larger size.
			cl.waitFor(2*time.Second, "SETTINGS ACK", func(f stFrame) bool { return f.Type == http2.FrameSettings && f.ack() })
			r := cl.response(cl.get(fmt.Sprintf("/?n=%d&h=%d", tc.n, tc.h)), 3*time.Second)
			if r.status != 200 || !bytes.Equal(r.body, stBody(tc.n)) {
				t.Fatalf("response %d, %d bytes, want 200 with %d", r.status, len(r.body), tc.n)
			}
			if tc.h > 0 && len(r.header.Get("X-Big")) != tc.h {
				t.Errorf("X-Big: %d bytes, want %d", len(r.header.Get("X-Big")), tc.h)
			}
			var biggest uint32
			for _, f := range r.frames {
				if f.Len > limit {
					t.Errorf("%v is larger than MAX_FRAME_SIZE %d", f, limit)
				}
				if f.Type == http2.FrameData {
					biggest = max(biggest, f.Len)
				}
			}
			t.Logf("largest DATA frame: %d bytes (limit %d)", biggest, limit)
		})
	}
}

// ---------------------------------------------------------------------------
// Request body flow control

func TestServerRequestBodyFlowControl(t *testing.T) {
	t.Run("sending beyond the window", func(t *testing.T) {
		release := stNewRelease(t)
		var seen atomic.Int64
		ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
			select { // not reading the body
			case <-release.ch:
			case <-r.Context().Done():
			case <-time.After(4 * time.Second):
			}
			n, _ := io.Copy(io.Discard, r.Body)
			seen.Store(n)
		})
		cl := stDial(t, ts.addr)
		cl.awaitConnWindow()
		id := cl.request("POST", "/", false)
		cl.data(id, false, make([]byte, 1<<20)) // exactly the window
		isErr := func(f stFrame) bool { return f.Type == http2.FrameGoAway || f.is(http2.FrameRSTStream, id) }
		cl.none(100*time.Millisecond, "error for a body within the window", isErr)
		cl.data(id, false, []byte{1})
		f := cl.waitFor(2*time.Second, "FLOW_CONTROL_ERROR", isErr)
		if f.Code != http2.ErrCodeFlowControl {
			t.Fatalf("got %v, want RST_STREAM or GOAWAY FLOW_CONTROL_ERROR", f)
		}
		t.Logf("overflow answered with %v", f)
		release.open()
		time.Sleep(50 * time.Millisecond)
		if n := seen.Load(); n > 1<<20 {
			t.Errorf("handler read %d bytes, more than the window", n)
		}
	})
	t.Run("refunds as the handler reads", func(t *testing.T) {
		readReq := make(chan int)
		readDone := make(chan error, 1)
		ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
			total := 0
			buf := make([]byte, 2<<20)
			for {
				select {
				case n, ok := <-readReq:
					if !ok {
						m, err := io.Copy(io.Discard, r.Body)
						if err != nil {
							w.WriteHeader(500)
							return
						}
						fmt.Fprintf(w, "%d", total+int(m))
						return
					}
					k, err := io.ReadFull(r.Body, buf[:n])
					total += k
					readDone <- err
				case <-r.Context().Done():
					return
				case <-time.After(4 * time.Second):
					return
				}
			}
		})
		cl := stDial(t, ts.addr)
		cl.awaitConnWindow()
		id := cl.request("POST", "/", false)
		cl.data(id, false, stBody(1<<20))
		isWU := func(f stFrame) bool {
			return f.Type == http2.FrameWindowUpdate && (f.StreamID == 0 || f.StreamID == id)
		}
		// Nothing is refunded while the handler has not read.
		cl.none(150*time.Millisecond, "WINDOW_UPDATE before the handler read", func(f stFrame) bool {
			if f.Type == http2.FrameGoAway || f.is(http2.FrameRSTStream, id) {
				t.Fatalf("got %v", f)
			}
			return isWU(f)
		})
		readReq <- 1 << 20
		if err := stRecv(t, readDone, 2*time.Second, "the handler's read"); err != nil {
			t.Fatalf("handler read: %v", err)
		}
		var connSum, streamSum uint32
		deadline := time.Now().Add(2 * time.Second)
		for connSum < 1<<19 || streamSum < 1<<19 {
			f, err := cl.next(time.Until(deadline))
			if err != nil {
				t.Fatalf("refunds after the handler read 1 MiB: connection +%d, stream +%d: %v", connSum, streamSum, err)
			}
			switch {
			case f.is(http2.FrameWindowUpdate, 0):
				connSum += f.Incr
			case f.is(http2.FrameWindowUpdate, id):
				streamSum += f.Incr
			case f.Type == http2.FrameGoAway || f.is(http2.FrameRSTStream, id):
				t.Fatalf("got %v", f)
			}
		}
		if connSum > 1<<20 || streamSum > 1<<20 {
			t.Errorf("refunded connection +%d, stream +%d: more than was read", connSum, streamSum)
		}
		// The refunded window is usable.
		cl.data(id, false, stBody(1<<19))
		cl.data(id, true, nil)
		close(readReq)
		r := cl.response(id, 3*time.Second)
		if r.status != 200 || string(r.body) != strconv.Itoa(1<<20+1<<19) {
			t.Fatalf("response %d %q (reset %v %v), want 200 %d", r.status, r.body, r.reset, r.code, 1<<20+1<<19)
		}
	})
}

// ---------------------------------------------------------------------------
// Stream limits

func TestServerMaxConcurrentStreams(t *testing.T) {
	cases := []struct {
		limit uint32 // 0: the default, 100
		open  int
	}{
		{0, 130},
		{5, 8},
	}
	for _, tc := range cases {
		limit := int(tc.limit)
		if limit == 0 {
			limit = 100
		}
		t.Run(fmt.Sprintf("limit %d open %d", limit, tc.open), func(t *testing.T) {
			release := stNewRelease(t)
			var cnt stCounter
			var mu sync.Mutex
			ran := map[string]bool{}
			ts := stServer(t, &Server{MaxConcurrentStreams: tc.limit, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cnt.enter()
				defer cnt.exit()
				mu.Lock()
				ran[r.URL.Query().Get("id")] = true
				mu.Unlock()
				if r.URL.Path == "/block" {
					select {
					case <-release.ch:
					case <-r.Context().Done():
						return
					case <-time.After(4 * time.Second):
					}
				}
				io.WriteString(w, "done")
			})})
			cl := stDial(t, ts.addr)
			var ids []uint32
			for i := 0; i < tc.open; i++ {
				id := cl.nextID
				cl.get(fmt.Sprintf("/block?id=%d", id))
				ids = append(ids, id)
			}
			refused := map[uint32]bool{}
			deadline := time.Now().Add(3 * time.Second)
			for len(refused) < tc.open-limit || cnt.running.Load() < int64(limit) {
				f, err := cl.next(20 * time.Millisecond)
				if err == errStTimeout {
					if time.Now().After(deadline) {
						t.Fatalf("after 3s: %d refused (want %d), %d handlers running (want %d)", len(refused), tc.open-limit, cnt.running.Load(), limit)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if f.Type == http2.FrameRSTStream {
					if f.Code != http2.ErrCodeRefusedStream {
						t.Fatalf("got %v, want REFUSED_STREAM", f)
					}
					refused[f.StreamID] = true
				}
				if f.Type == http2.FrameGoAway {
					t.Fatalf("got %v", f)
				}
			}
			cl.none(100*time.Millisecond, "more resets", func(f stFrame) bool {
				return f.Type == http2.FrameRSTStream || f.Type == http2.FrameGoAway
			})
			if m := cnt.max.Load(); m != int64(limit) {
				t.Errorf("at most %d handlers ran at once, want %d", m, limit)
			}
			var admitted []uint32
			for i, id := range ids {
				if i < limit {
					admitted = append(admitted, id)
					if refused[id] {
						t.Errorf("stream %d (number %d) refused, within the limit", id, i+1)
					}
				} else if !refused[id] {
					t.Errorf("stream %d (number %d) not refused, beyond the limit", id, i+1)
				}
			}
			mu.Lock()
			for id := range refused {
				if ran[strconv.Itoa(int(id))] {
					t.Errorf("handler ran for refused stream %d", id)
				}
			}
			mu.Unlock()
			release.open()
			rs := cl.responses(admitted, 3*time.Second)
			for id, r := range rs {
				if r.status != 200 || string(r.body) != "done" {
					t.Errorf("stream %d: %d %q reset %v %v", id, r.status, r.body, r.reset, r.code)
				}
			}
			wait.For(t, 2*time.Second, "handlers to finish", func() bool { return cnt.running.Load() == 0 })
			r := cl.response(cl.get("/after"), 2*time.Second)
			if r.status != 200 || string(r.body) != "done" {
				t.Errorf("new stream after the release: %d %q reset %v %v", r.status, r.body, r.reset, r.code)
			}
		})
	}
}

// stSniffConn notes the GOAWAY frames the server writes, to tell a
// GOAWAY not sent from one the client lost.
type stSniffConn struct {
	net.Conn
	mu      sync.Mutex
	hdr     []byte // the current frame's header, while incomplete
	typ     byte
	left    int    // payload bytes left in the current frame
	payload []byte // the current GOAWAY's payload
	goAways []stFrame
}

func (c *stSniffConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.feed(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *stSniffConn) feed(p []byte) {
	for len(p) > 0 {
		if len(c.hdr) < 9 {
			n := min(9-len(c.hdr), len(p))
			c.hdr, p = append(c.hdr, p[:n]...), p[n:]
			if len(c.hdr) == 9 {
				c.left = int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
				c.typ, c.payload = c.hdr[3], c.payload[:0]
				if c.left == 0 {
					c.hdr = c.hdr[:0]
				}
			}
			continue
		}
		n := min(c.left, len(p))
		if c.typ == byte(http2.FrameGoAway) {
			c.payload = append(c.payload, p[:n]...)
		}
		c.left, p = c.left-n, p[n:]
		if c.left == 0 {
			if c.typ == byte(http2.FrameGoAway) && len(c.payload) >= 8 {
				b := c.payload
				c.goAways = append(c.goAways, stFrame{Type: http2.FrameGoAway,
					LastID: uint32(b[0]&0x7f)<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]),
					Len:    uint32(len(b)), Code: http2.ErrCode(uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]))})
			}
			c.hdr = c.hdr[:0]
		}
	}
}

func (c *stSniffConn) written() []stFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]stFrame(nil), c.goAways...)
}

func TestServerRapidResetFlood(t *testing.T) {
	var cnt stCounter
	var sniff atomic.Pointer[stSniffConn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/flood" {
			io.WriteString(w, "ok")
			return
		}
		cnt.enter()
		defer cnt.exit()
		select {
		case <-r.Context().Done():
			time.Sleep(20 * time.Millisecond) // a handler slow to notice
		case <-time.After(3 * time.Second):
		}
	})
	ts := stServerWrap(t, &Server{Handler: h}, func(c net.Conn) net.Conn {
		s := &stSniffConn{Conn: c}
		sniff.CompareAndSwap(nil, s)
		return s
	})
	cl := stDial(t, ts.addr)

	var refusedN, resetN atomic.Int64
	var goAway atomic.Pointer[stFrame]
	closed := make(chan struct{})
	stopDrain := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case f, ok := <-cl.frames:
				if !ok {
					close(closed)
					return
				}
				switch {
				case f.Type == http2.FrameRSTStream && f.Code == http2.ErrCodeRefusedStream:
					refusedN.Add(1)
				case f.Type == http2.FrameRSTStream:
					resetN.Add(1)
				case f.Type == http2.FrameGoAway:
					g := f
					goAway.Store(&g)
				}
			case <-stopDrain:
				return
			}
		}
	}()

	bw := bufio.NewWriterSize(cl.c, 64<<10)
	fr := http2.NewFramer(bw, nil)
	id := cl.nextID
	opened := 0
	end := time.Now().Add(2 * time.Second)
	var werr error
	for time.Now().Before(end) && goAway.Load() == nil && werr == nil {
		cl.wmu.Lock()
		for i := 0; i < 100 && werr == nil; i++ {
			werr = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id,
				BlockFragment: cl.encodeLocked(stReqFields("GET", "/flood")), EndStream: true, EndHeaders: true})
			if werr == nil {
				werr = fr.WriteRSTStream(id, http2.ErrCodeCancel)
			}
			id += 2
			opened++
		}
		cl.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if werr == nil {
			werr = bw.Flush()
		}
		cl.wmu.Unlock()
	}
	cl.nextID = id
	m := cnt.max.Load()
	if m > 100 {
		t.Errorf("%d handlers ran at once, want at most 100", m)
	}
	t.Logf("opened and reset %d streams; %d handlers ran, at most %d at once; %d refused, %d other resets; write error %v",
		opened, cnt.total.Load(), m, refusedN.Load(), resetN.Load(), werr)

	if g := goAway.Load(); g != nil || werr != nil {
		// The connection was cut: it must be with ENHANCE_YOUR_CALM.
		stRecv(t, closed, 3*time.Second, "the connection to close after GOAWAY")
		g = goAway.Load()
		if g == nil {
			t.Fatalf("connection cut without the client reading a GOAWAY (write error %v); GOAWAYs the server wrote: %v",
				werr, sniff.Load().written())
		}
		if g.Code != http2.ErrCodeEnhanceYourCalm {
			t.Errorf("got %v, want GOAWAY ENHANCE_YOUR_CALM", g)
		}
		t.Logf("outcome: connection closed with %v", g)
	} else {
		close(stopDrain)
		<-drained
		wait.For(t, 3*time.Second, "flood handlers to finish", func() bool { return cnt.running.Load() == 0 })
		r := cl.response(cl.get("/after"), 3*time.Second)
		if r.status != 200 || string(r.body) != "ok" {
			t.Fatalf("request after the flood: %d %q reset %v %v", r.status, r.body, r.reset, r.code)
		}
		t.Logf("outcome: connection kept serving")
	}
	if m := cnt.max.Load(); m > 100 {
		t.Errorf("%d handlers ran at once, want at most 100", m)
	}
	// The server still serves others.
	wait.For(t, 3*time.Second, "flood handlers to finish", func() bool { return cnt.running.Load() == 0 })
	cl2 := stDial(t, ts.addr)
	if r := cl2.response(cl2.get("/other"), 2*time.Second); r.status != 200 || string(r.body) != "ok" {
		t.Errorf("another connection after the flood: %d", r.status)
	}
}

// ---------------------------------------------------------------------------
// Timeouts

func TestServerIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts := stServer(t, &Server{IdleTimeout: idle, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, _ := time.ParseDuration(r.URL.Query().Get("sleep")); d > 0 {
			time.Sleep(d)
		}
		io.WriteString(w, "ok")
	})})
	cases := []struct {
		name     string
		paths    []string // requested one after the other
		wantLast uint32
	}{
		{"no requests", nil, 0},
		{"after a request", []string{"/"}, 1},
		{"a stream longer than the timeout", []string{"/?sleep=600ms"}, 1},
		{"several requests", []string{"/", "/?sleep=100ms", "/"}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := stDial(t, ts.addr)
			for _, p := range tc.paths {
				id := cl.get(p)
				r := cl.response(id, 3*time.Second)
				if r.status != 200 {
					t.Fatalf("GET %s: %d reset %v", p, r.status, r.reset)
				}
				if len(cl.goAways) > 0 {
					t.Fatalf("GOAWAY while a stream was open: %v", cl.goAways)
				}
			}
			idleFrom := time.Now()
			g := cl.waitFor(3*time.Second, "GOAWAY", func(f stFrame) bool { return f.Type == http2.FrameGoAway })
			elapsed := time.Since(idleFrom)
			if g.Code != http2.ErrCodeNo || g.LastID != tc.wantLast {
				t.Errorf("got %v, want GOAWAY NO_ERROR last %d", g, tc.wantLast)
			}
			if elapsed < idle*2/3 || elapsed > idle+2*time.Second {
				t.Errorf("GOAWAY %v after the connection went idle, IdleTimeout %v", elapsed, idle)
			}
			cl.expectClosed(2 * time.Second)
		})
	}
}

func TestServerReadHeaderTimeout(t *testing.T) {
	const rht = 300 * time.Millisecond
	ts := stServer(t, &Server{ReadHeaderTimeout: rht, Handler: http.HandlerFunc(stOK)})
	cases := []struct {
		name string
		send string
	}{
		{"nothing", ""},
		{"partial preface", "PRI * HTTP/2.0\r\n"},
		{"preface without SETTINGS", http2.ClientPreface},
		{"preface and a partial SETTINGS", http2.ClientPreface + "\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", ts.addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.send != "" {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := io.WriteString(c, tc.send); err != nil {
					t.Fatal(err)
				}
			}
			elapsed, err := stReadUntilClosed(c, 3*time.Second)
			if err != nil {
				t.Fatalf("connection %v", err)
			}
			if elapsed < rht*2/3 || elapsed > rht+2*time.Second {
				t.Errorf("closed after %v, ReadHeaderTimeout %v", elapsed, rht)
			}
		})
	}
	t.Run("not applied after the handshake", func(t *testing.T) {
		cl := stDial(t, ts.addr)
		time.Sleep(2 * rht)
		r := cl.response(cl.get("/"), 2*time.Second)
		if r.status != 200 || len(cl.goAways) > 0 {
			t.Errorf("request after %v: %d, GOAWAYs %v", 2*rht, r.status, cl.goAways)
		}
	})
	t.Run("bad preface closes at once", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", ts.addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		elapsed, err := stReadUntilClosed(c, 3*time.Second)
		if err != nil {
			t.Fatalf("connection %v", err)
		}
		if elapsed > rht {
			t.Errorf("bad preface: closed after %v, want at once", elapsed)
		}
	})
}

func TestServerWriteTimeout(t *testing.T) {
	type result struct {
		err     error
		written int
		elapsed time.Duration
	}
	res := make(chan result, 1)
	closedAt := make(chan time.Time, 1)
	ts := stServer(t, &Server{
		WriteTimeout: 300 * time.Millisecond,
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				closedAt <- time.Now()
			}
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			chunk := make([]byte, 32<<10)
			written := 0
			var err error
			for written < 10<<20 && err == nil {
				var n int
				n, err = w.Write(chunk)
				written += n
			}
			res <- result{err, written, time.Since(start)}
		}),
	})
	cl := stDialRaw(t, ts.addr)
	cl.noReader = true
	cl.c.(*net.TCPConn).SetReadBuffer(4096)
	cl.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	cl.windowUpdate(0, 1<<31-1-65535)
	start := time.Now()
	cl.get("/big")
	// The client never reads again.
	r := stRecv(t, res, 5*time.Second, "the handler's Write to fail")
	if r.err == nil {
		t.Fatalf("handler wrote %d bytes to a client that does not read, without error", r.written)
	}
	t.Logf("handler's Write failed after %d bytes, %v: %v", r.written, r.elapsed, r.err)
	if r.elapsed < 300*time.Millisecond {
		// A blocked write has at least WriteTimeout (writeDeadliner).
		t.Errorf("the handler's writes were cut %v after they began, before the WriteTimeout", r.elapsed)
	}
	at := stRecv(t, closedAt, 4*time.Second, "the connection to close")
	if d := at.Sub(start); d > 4*time.Second {
		t.Errorf("connection closed %v after the request", d)
	}
	// What the server had queued still arrives, then the end (a larger
	// buffer now, or the tiny window makes draining it slow).
	cl.c.(*net.TCPConn).SetReadBuffer(4 << 20)
	if _, err := stReadUntilClosed(cl.c, 3*time.Second); err != nil {
		t.Errorf("client side: %v", err)
	}
}

// ---------------------------------------------------------------------------
// Shutdown

func TestServerShutdown(t *testing.T) {
	release := stNewRelease(t)
	slowStarted := make(chan struct{}, 1)
	var afterCalled atomic.Int32
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			slowStarted <- struct{}{}
			select {
			case <-release.ch:
			case <-time.After(4 * time.Second):
			}
			io.WriteString(w, "slow")
		case "/after":
			afterCalled.Add(1)
			io.WriteString(w, "after")
		default:
			io.WriteString(w, "fast")
		}
	})
	cl := stDial(t, ts.addr)
	if r := cl.response(cl.get("/fast"), 2*time.Second); r.status != 200 {
		t.Fatalf("fast: %d", r.status)
	}
	slowID := cl.get("/slow")
	stRecv(t, slowStarted, 2*time.Second, "the slow handler")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		done <- ts.Shutdown(ctx)
	}()
	g := cl.waitFor(2*time.Second, "GOAWAY", func(f stFrame) bool { return f.Type == http2.FrameGoAway })
	goAways := []stFrame{g}
	if g.Code != http2.ErrCodeNo || g.LastID < slowID {
		t.Errorf("got %v, want GOAWAY NO_ERROR with last stream >= %d", g, slowID)
	}
	afterID := cl.get("/after") // beyond the GOAWAY: not processed

	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a stream was in flight", err)
	case <-time.After(150 * time.Millisecond):
	}

	// ServeConn after Shutdown refuses and leaves the connection open.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	served := make(chan bool, 1)
	go func() { served <- ts.ServeConn(a) }()
	if ok := stRecv(t, served, time.Second, "ServeConn after Shutdown"); ok {
		t.Errorf("ServeConn after Shutdown returned true")
	}
	b.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the refused connection: read %v, want it open and silent", err)
	}

	release.open()
	r := cl.response(slowID, 2*time.Second)
	if r.status != 200 || string(r.body) != "slow" {
		t.Errorf("in-flight stream: %d %q reset %v %v", r.status, r.body, r.reset, r.code)
	}
	goAways = append(goAways, cl.goAways...)
	for _, f := range cl.expectClosed(2 * time.Second) {
		switch {
		case f.Type == http2.FrameGoAway:
			goAways = append(goAways, f)
		case f.StreamID == afterID && f.Type != http2.FrameRSTStream:
			t.Errorf("stream %d opened after GOAWAY got %v", afterID, f)
		}
	}
	last := goAways[len(goAways)-1]
	for i, f := range goAways {
		if f.Code != http2.ErrCodeNo || i > 0 && f.LastID > goAways[i-1].LastID {
			t.Errorf("GOAWAYs %v: want NO_ERROR with non-increasing last stream", goAways)
			break
		}
	}
	if last.LastID != slowID {
		t.Errorf("last GOAWAY names stream %d, want %d (the last processed)", last.LastID, slowID)
	}
	if err := stRecv(t, done, 2*time.Second, "Shutdown to return"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := afterCalled.Load(); n != 0 {
		t.Errorf("handler ran for a stream opened after GOAWAY")
	}
}

func TestServerShutdownIdle(t *testing.T) {
	ts := stServe(t, stOK)
	a, b := stDial(t, ts.addr), stDial(t, ts.addr)
	if r := b.response(b.get("/"), 2*time.Second); r.status != 200 {
		t.Fatalf("GET: %d", r.status)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with idle connections: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown with idle connections took %v", d)
	}
	for i, tc := range []struct {
		cl   *stConn
		last uint32
	}{{a, 0}, {b, 1}} {
		var g *stFrame
		for _, f := range tc.cl.expectClosed(2 * time.Second) {
			if f.Type == http2.FrameGoAway {
				g = &f
			}
		}
		if g == nil || g.Code != http2.ErrCodeNo || g.LastID != tc.last {
			t.Errorf("connection %d: last GOAWAY %v, want NO_ERROR last %d", i, g, tc.last)
		}
	}
}

func TestServerShutdownContextEnds(t *testing.T) {
	release := stNewRelease(t)
	started := make(chan struct{}, 1)
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release.ch:
		case <-time.After(4 * time.Second):
		}
		io.WriteString(w, "late")
	})
	cl := stDial(t, ts.addr)
	id := cl.get("/")
	stRecv(t, started, 2*time.Second, "the handler")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown returned %v after its context ended", d-200*time.Millisecond)
	}
	release.open()
	if r := cl.response(id, 2*time.Second); r.status != 200 || string(r.body) != "late" {
		t.Errorf("in-flight stream after Shutdown's context ended: %d %q", r.status, r.body)
	}
	cl.expectClosed(2 * time.Second)
}

// ---------------------------------------------------------------------------
// Connection state and contexts

type stConnStates struct {
	mu     sync.Mutex
	events []stConnEvent
	closed chan net.Conn
}

type stConnEvent struct {
	c net.Conn
	s http.ConnState
}

func (cs *stConnStates) hook(c net.Conn, s http.ConnState) {
	cs.mu.Lock()
	cs.events = append(cs.events, stConnEvent{c, s})
	cs.mu.Unlock()
	if s == http.StateClosed {
		cs.closed <- c
	}
}

func TestServerConnState(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, addr string)
	}{
		{"client closes", func(t *testing.T, addr string) {
			cl := stDial(t, addr)
			if r := cl.response(cl.get("/"), 2*time.Second); r.status != 200 {
				t.Fatalf("GET: %d", r.status)
			}
			cl.c.Close()
		}},
		{"server closes on ReadHeaderTimeout", func(t *testing.T, addr string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}},
		{"server closes on protocol error", func(t *testing.T, addr string) {
			cl := stDial(t, addr)
			cl.raw(http2.FrameData, 0, 0, []byte("x"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := &stConnStates{closed: make(chan net.Conn, 4)}
			ts := stServer(t, &Server{ReadHeaderTimeout: 200 * time.Millisecond, ConnState: cs.hook, Handler: http.HandlerFunc(stOK)})
			tc.run(t, ts.addr)
			c := stRecv(t, cs.closed, 3*time.Second, "StateClosed")
			cs.mu.Lock()
			events := append([]stConnEvent(nil), cs.events...)
			cs.mu.Unlock()
			var states []http.ConnState
			for _, e := range events {
				if e.c != c {
					t.Errorf("state %v for another net.Conn", e.s)
				}
				states = append(states, e.s)
			}
			if len(states) < 2 || states[0] != http.StateNew || states[len(states)-1] != http.StateClosed {
				t.Errorf("states %v, want New first and Closed last", states)
			}
			for _, s := range states[1 : len(states)-1] {
				if s == http.StateNew || s == http.StateClosed {
					t.Errorf("states %v: New or Closed twice", states)
				}
			}
			ts.mu.Lock()
			served := ts.conns
			ts.mu.Unlock()
			if len(served) != 1 || served[0] != c {
				t.Errorf("ConnState got a net.Conn other than the one served")
			}
		})
	}
}

func TestServerContextCancel(t *testing.T) {
	cases := []struct {
		name   string
		cancel func(t *testing.T, cl *stConn, id uint32)
	}{
		{"RST_STREAM", func(t *testing.T, cl *stConn, id uint32) { cl.rst(id, http2.ErrCodeCancel) }},
		{"connection closed", func(t *testing.T, cl *stConn, id uint32) { cl.c.Close() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{}, 1)
			res := make(chan error, 1)
			ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/wait" {
					io.WriteString(w, "ok")
					return
				}
				started <- struct{}{}
				select {
				case <-r.Context().Done():
					res <- r.Context().Err()
				case <-time.After(3 * time.Second):
					res <- errors.New("context not cancelled after 3s")
				}
			})
			cl := stDial(t, ts.addr)
			id := cl.get("/wait")
			stRecv(t, started, 2*time.Second, "the handler")
			tc.cancel(t, cl, id)
			if err := stRecv(t, res, 4*time.Second, "the handler's result"); !errors.Is(err, context.Canceled) {
				t.Errorf("r.Context().Err() = %v, want context.Canceled", err)
			}
			if tc.name == "RST_STREAM" {
				if r := cl.response(cl.get("/"), 2*time.Second); r.status != 200 {
					t.Errorf("request after the reset: %d", r.status)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Panics

func TestServerHandlerPanic(t *testing.T) {
	cases := []struct {
		name       string
		val        any
		flushFirst bool
		logged     string // "" = nothing about it logged
	}{
		{"panic", "boom-value", false, "boom-value"},
		{"panic after headers", "late-boom", true, "late-boom"},
		{"ErrAbortHandler", http.ErrAbortHandler, false, ""},
		{"ErrAbortHandler after headers", http.ErrAbortHandler, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/panic" {
					io.WriteString(w, "ok")
					return
				}
				if tc.flushFirst {
					w.WriteHeader(200)
					w.(http.Flusher).Flush()
				}
				panic(tc.val)
			})
			cl := stDial(t, ts.addr)
			r := cl.response(cl.get("/panic"), 2*time.Second)
			if !r.reset || r.code != http2.ErrCodeInternal {
				t.Errorf("panicking handler: status %d, reset %v %v, want RST_STREAM INTERNAL_ERROR", r.status, r.reset, r.code)
			}
			if tc.flushFirst && r.status != 200 {
				t.Errorf("flushed headers not sent before the reset: status %d", r.status)
			}
			if r2 := cl.response(cl.get("/"), 2*time.Second); r2.status != 200 || string(r2.body) != "ok" {
				t.Errorf("request after the panic: %d %q", r2.status, r2.body)
			}
			if tc.logged != "" {
				wait.For(t, time.Second, "the panic to be logged", func() bool { return strings.Contains(ts.log.String(), tc.logged) })
			} else {
				time.Sleep(50 * time.Millisecond)
				if l := ts.log.String(); strings.Contains(l, "abort Handler") || strings.Contains(strings.ToLower(l), "panic") {
					t.Errorf("http.ErrAbortHandler was logged: %q", l)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// PING, 100-continue, early responses

func TestServerPing(t *testing.T) {
	ts := stServe(t, stOK)
	cl := stDial(t, ts.addr)
	for _, data := range [][8]byte{{}, {1, 2, 3, 4, 5, 6, 7, 8}, {0xff, 0xfe, 0, 0, 0, 0, 0x80, 1}} {
		cl.write(func(fr *http2.Framer) error { return fr.WritePing(false, data) })
		f := cl.waitFor(2*time.Second, "PING ACK", func(f stFrame) bool { return f.Type == http2.FramePing })
		if !f.ack() || !bytes.Equal(f.Data, data[:]) || f.StreamID != 0 {
			t.Errorf("PING %x answered with %v %x", data, f, f.Data)
		}
	}
	// A PING ACK is not answered.
	cl.write(func(fr *http2.Framer) error { return fr.WritePing(true, [8]byte{9}) })
	cl.none(100*time.Millisecond, "answer to a PING ACK", func(f stFrame) bool { return f.Type == http2.FramePing })
	cl.pingAlive(time.Second)
}

func TestServer100Continue(t *testing.T) {
	type seen struct {
		expect string
		body   string
	}
	gate := make(chan struct{})
	res := make(chan seen, 1)
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/noread" {
			io.WriteString(w, "not reading")
			return
		}
		select {
		case <-gate:
		case <-time.After(3 * time.Second):
		}
		b, _ := io.ReadAll(r.Body)
		res <- seen{r.Header.Get("Expect"), string(b)}
		w.Write(b)
	})
	t.Run("sent on the first read", func(t *testing.T) {
		cl := stDial(t, ts.addr)
		id := cl.request("POST", "/", false, "expect", "100-continue", "content-length", "5")
		cl.none(150*time.Millisecond, "100 before the handler reads", func(f stFrame) bool { return f.StreamID == id })
		close(gate)
		f := cl.waitFor(2*time.Second, "100 Continue", func(f stFrame) bool { return f.StreamID == id })
		if f.Type != http2.FrameHeaders || f.field(":status") != "100" || f.endStream() {
			t.Fatalf("got %v, want HEADERS :status 100", f)
		}
		cl.data(id, true, []byte("hello"))
		r := cl.response(id, 2*time.Second)
		if r.status != 200 || string(r.body) != "hello" {
			t.Errorf("final response %d %q", r.status, r.body)
		}
		s := stRecv(t, res, time.Second, "the handler")
		if s.expect != "" || s.body != "hello" {
			t.Errorf("handler saw Expect %q body %q, want no Expect and %q", s.expect, s.body, "hello")
		}
	})
	t.Run("not sent when not read", func(t *testing.T) {
		cl := stDial(t, ts.addr)
		id := cl.request("POST", "/noread", false, "expect", "100-continue", "content-length", "5")
		r := cl.response(id, 2*time.Second)
		if len(r.info) != 0 || r.status != 200 || string(r.body) != "not reading" {
			t.Errorf("got informational %v then %d %q, want 200 alone", r.info, r.status, r.body)
		}
	})
}

func TestServerEarlyResponse(t *testing.T) {
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			io.WriteString(w, "early")
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	cl := stDial(t, ts.addr)
	id := cl.request("POST", "/early", false)
	cl.data(id, false, []byte("part"))
	r := cl.response(id, 2*time.Second)
	if r.reset || r.status != 200 || string(r.body) != "early" {
		t.Fatalf("early response: %d %q reset %v %v", r.status, r.body, r.reset, r.code)
	}
	f := cl.waitFor(2*time.Second, "RST_STREAM after the response", func(f stFrame) bool {
		if f.Type == http2.FrameGoAway {
			t.Fatalf("got %v", f)
		}
		return f.is(http2.FrameRSTStream, id)
	})
	if f.Code != http2.ErrCodeNo {
		t.Errorf("got %v, want RST_STREAM NO_ERROR", f)
	}
	// Body the client had in flight is no connection error.
	cl.data(id, false, []byte("more"))
	cl.pingAlive(time.Second)
	id2 := cl.request("POST", "/echo", false)
	cl.data(id2, true, []byte("echo"))
	if r := cl.response(id2, 2*time.Second); r.status != 200 || string(r.body) != "echo" {
		t.Errorf("next request: %d %q", r.status, r.body)
	}
}

// ---------------------------------------------------------------------------
// Header limits and the CONTINUATION flood

func TestServerHeaderListTooLarge(t *testing.T) {
	var calls atomic.Int32
	ts := stServer(t, &Server{MaxHeaderBytes: 4096, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, "ok")
	})})
	many := func(n, size int) []string {
		var f []string
		for i := 0; i < n; i++ {
			f = append(f, fmt.Sprintf("x-h%d", i), strings.Repeat("v", size))
		}
		return f
	}
	cases := []struct {
		name   string
		extra  []string
		status int
	}{
		{"many fields", many(100, 40), 431},
		{"just over", []string{"x-big", strings.Repeat("b", 4416)}, 431},
		{"under the limit", []string{"x-big", strings.Repeat("b", 3000)}, 200},
		{"many small under the limit", many(40, 20), 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := stDial(t, ts.addr)
			before := calls.Load()
			r := cl.response(cl.request("GET", "/", true, tc.extra...), 2*time.Second)
			if r.status != tc.status {
				t.Errorf("status %d (reset %v %v), want %d", r.status, r.reset, r.code, tc.status)
			}
			called := calls.Load() - before
			if want := int32(0); tc.status == 200 {
				want = 1
				if called != want {
					t.Errorf("handler called %d times, want %d", called, want)
				}
			} else if called != 0 {
				t.Errorf("handler called for a %d", tc.status)
			}
			cl.pingAlive(time.Second)
		})
	}
	// One value longer than the whole list allowed: x/net's HPACK decoder
	// (whose string limit is the framer's MaxHeaderListSize) cannot take
	// it, and the connection ends with GOAWAY COMPRESSION_ERROR, as
	// net/http's HTTP/2 server ends it; the handler is never called.
	t.Run("one value longer than the limit", func(t *testing.T) {
		cl := stDial(t, ts.addr)
		before := calls.Load()
		cl.request("GET", "/", true, "x-big", strings.Repeat("b", 5000))
		for {
			f, err := cl.next(2 * time.Second)
			if err != nil {
				t.Fatalf("no GOAWAY: %v", err)
			}
			if f.Type == http2.FrameGoAway {
				if f.Code != http2.ErrCodeCompression {
					t.Errorf("got %v, want GOAWAY COMPRESSION_ERROR", f)
				}
				break
			}
		}
		if calls.Load() != before {
			t.Error("handler called")
		}
	})
}

// stHpackInt appends HPACK integer v with an n-bit prefix under first.
func stHpackInt(b []byte, first byte, n uint, v uint64) []byte {
	k := uint64(1)<<n - 1
	if v < k {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(k))
	v -= k
	for v >= 128 {
		b = append(b, byte(0x80|v&0x7f))
		v >>= 7
	}
	return append(b, byte(v))
}

func TestServerContinuationFlood(t *testing.T) {
	// Never-indexed literal fields with literal names: independent of the
	// dynamic table.
	var fieldsChunk []byte
	{
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for buf.Len() < 16000 {
			enc.WriteField(hpack.HeaderField{Name: "x-flood", Value: strings.Repeat("a", 100), Sensitive: true})
		}
		fieldsChunk = buf.Bytes()
	}
	endless := stHpackInt([]byte{0x10, 1, 'x'}, 0, 7, 100<<20) // value of 100 MiB follows
	cases := []struct {
		name  string
		first []byte // after the request's pseudo-header fields
		frag  []byte // each CONTINUATION's payload
	}{
		{"many fields", nil, fieldsChunk},
		{"one endless value", endless, bytes.Repeat([]byte("a"), 16384)},
		{"empty CONTINUATION frames", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			ts := stServe(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
			cl := stDial(t, ts.addr)
			var closedFlag atomic.Bool
			var goAway atomic.Pointer[stFrame]
			closed := make(chan struct{})
			go func() {
				for f := range cl.frames {
					if f.Type == http2.FrameGoAway {
						g := f
						goAway.Store(&g)
					}
				}
				closedFlag.Store(true)
				close(closed)
			}()
			bw := bufio.NewWriterSize(cl.c, 64<<10)
			fr := http2.NewFramer(bw, nil)
			cl.wmu.Lock()
			first := append(cl.encodeLocked(stReqFields("GET", "/flood")), tc.first...)
			err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true})
			cl.wmu.Unlock()
			const limit = 16 << 20
			sent := int64(len(first) + 9)
			start := time.Now()
			for err == nil && !closedFlag.Load() && sent < limit && time.Since(start) < 3*time.Second {
				for i := 0; i < 64 && err == nil; i++ {
					err = fr.WriteContinuation(1, false, tc.frag)
					sent += int64(len(tc.frag) + 9)
				}
				if err == nil {
					cl.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
					err = bw.Flush()
				}
			}
			sentAtStop := sent
			select {
			case <-closed:
			case <-time.After(2 * time.Second):
				t.Fatalf("connection still open after the client sent %d bytes of CONTINUATION in %v (write error %v)", sentAtStop, time.Since(start), err)
			}
			if sentAtStop >= limit {
				t.Errorf("connection closed only after the client sent %d bytes", sentAtStop)
			}
			t.Logf("closed after about %d bytes, %v; GOAWAY %v; write error %v", sentAtStop, time.Since(start), goAway.Load(), err)
			if n := calls.Load(); n != 0 {
				t.Errorf("handler called %d times", n)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Malformed frames

func TestServerMalformedFrames(t *testing.T) {
	var mu sync.Mutex
	calledPaths := map[string]bool{}
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calledPaths[r.URL.Path] = true
		mu.Unlock()
		if r.URL.Path == "/hold" {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	const (
		goAway = "GOAWAY"
		rst    = "RST_STREAM"
		either = "RST_STREAM or GOAWAY"
		none   = "no error"
	)
	settingsPayload := func(id http2.SettingID, v uint32) []byte {
		return []byte{byte(id >> 8), byte(id), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	}
	u32 := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	hold := func(cl *stConn) uint32 { return cl.request("POST", "/hold", false) }
	holdClosed := func(cl *stConn) uint32 { return cl.request("GET", "/hold", true) }
	bad := func(fields ...string) func(cl *stConn) {
		return func(cl *stConn) { cl.headers(1, true, fields...) }
	}
	cases := []struct {
		name   string
		send   func(cl *stConn)
		kind   string
		code   http2.ErrCode
		stream uint32 // of the expected RST_STREAM
	}{
		{"DATA on stream 0", func(cl *stConn) { cl.raw(http2.FrameData, 0, 0, []byte("x")) }, goAway, http2.ErrCodeProtocol, 0},
		{"HEADERS on an even stream", func(cl *stConn) { cl.headers(2, true, stReqFields("GET", "/bad")...) }, goAway, http2.ErrCodeProtocol, 0},
		{"HEADERS on stream 0", func(cl *stConn) {
			cl.wmu.Lock()
			b := cl.encodeLocked(stReqFields("GET", "/bad"))
			cl.wmu.Unlock()
			cl.raw(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersEndStream, 0, b)
		}, goAway, http2.ErrCodeProtocol, 0},
		{"stream ids decreasing", func(cl *stConn) {
			cl.headers(5, true, stReqFields("GET", "/ok")...)
			cl.headers(3, true, stReqFields("GET", "/bad")...)
		}, goAway, http2.ErrCodeProtocol, 0},
		{"WINDOW_UPDATE 0 on the connection", func(cl *stConn) { cl.raw(http2.FrameWindowUpdate, 0, 0, u32(0)) }, goAway, http2.ErrCodeProtocol, 0},
		{"WINDOW_UPDATE 0 on a stream", func(cl *stConn) { cl.raw(http2.FrameWindowUpdate, 0, hold(cl), u32(0)) }, rst, http2.ErrCodeProtocol, 1},
		{"WINDOW_UPDATE overflowing the connection", func(cl *stConn) { cl.windowUpdate(0, 1<<31-1) }, goAway, http2.ErrCodeFlowControl, 0},
		{"WINDOW_UPDATE overflowing a stream", func(cl *stConn) { cl.windowUpdate(hold(cl), 1<<31-1) }, rst, http2.ErrCodeFlowControl, 1},
		{"WINDOW_UPDATE bad length", func(cl *stConn) { cl.raw(http2.FrameWindowUpdate, 0, 0, []byte{0, 0, 1}) }, goAway, http2.ErrCodeFrameSize, 0},
		{"SETTINGS ENABLE_PUSH 2", func(cl *stConn) { cl.raw(http2.FrameSettings, 0, 0, settingsPayload(http2.SettingEnablePush, 2)) }, goAway, http2.ErrCodeProtocol, 0},
		{"SETTINGS INITIAL_WINDOW_SIZE 2^31", func(cl *stConn) {
			cl.raw(http2.FrameSettings, 0, 0, settingsPayload(http2.SettingInitialWindowSize, 1<<31))
		}, goAway, http2.ErrCodeFlowControl, 0},
		{"SETTINGS MAX_FRAME_SIZE too small", func(cl *stConn) {
			cl.raw(http2.FrameSettings, 0, 0, settingsPayload(http2.SettingMaxFrameSize, 16383))
		}, goAway, http2.ErrCodeProtocol, 0},
		{"SETTINGS MAX_FRAME_SIZE too large", func(cl *stConn) {
			cl.raw(http2.FrameSettings, 0, 0, settingsPayload(http2.SettingMaxFrameSize, 1<<24))
		}, goAway, http2.ErrCodeProtocol, 0},
		{"SETTINGS length not a multiple of 6", func(cl *stConn) { cl.raw(http2.FrameSettings, 0, 0, []byte{0, 3, 0, 0, 0}) }, goAway, http2.ErrCodeFrameSize, 0},
		{"SETTINGS ACK with a payload", func(cl *stConn) {
			cl.raw(http2.FrameSettings, http2.FlagSettingsAck, 0, settingsPayload(http2.SettingMaxConcurrentStreams, 1))
		}, goAway, http2.ErrCodeFrameSize, 0},
		{"SETTINGS on a stream", func(cl *stConn) { cl.raw(http2.FrameSettings, 0, 1, nil) }, goAway, http2.ErrCodeProtocol, 0},
		{"PING of 7 bytes", func(cl *stConn) { cl.raw(http2.FramePing, 0, 0, make([]byte, 7)) }, goAway, http2.ErrCodeFrameSize, 0},
		{"PING on a stream", func(cl *stConn) { cl.raw(http2.FramePing, 0, 1, make([]byte, 8)) }, goAway, http2.ErrCodeProtocol, 0},
		{"RST_STREAM on an idle stream", func(cl *stConn) { cl.rst(5, http2.ErrCodeCancel) }, goAway, http2.ErrCodeProtocol, 0},
		{"RST_STREAM on stream 0", func(cl *stConn) { cl.raw(http2.FrameRSTStream, 0, 0, u32(8)) }, goAway, http2.ErrCodeProtocol, 0},
		{"RST_STREAM bad length", func(cl *stConn) { cl.raw(http2.FrameRSTStream, 0, hold(cl), []byte{0, 0, 8}) }, goAway, http2.ErrCodeFrameSize, 0},
		{"PRIORITY on stream 0", func(cl *stConn) { cl.raw(http2.FramePriority, 0, 0, []byte{0, 0, 0, 1, 16}) }, goAway, http2.ErrCodeProtocol, 0},
		{"CONTINUATION without HEADERS", func(cl *stConn) {
			cl.raw(http2.FrameContinuation, http2.FlagContinuationEndHeaders, 1, []byte{0x82})
		}, goAway, http2.ErrCodeProtocol, 0},
		{"DATA inside a header block", func(cl *stConn) {
			cl.wmu.Lock()
			b := cl.encodeLocked(stReqFields("POST", "/bad"))
			cl.wmu.Unlock()
			cl.raw(http2.FrameHeaders, 0, 1, b)
			cl.raw(http2.FrameData, 0, 1, []byte("x"))
		}, goAway, http2.ErrCodeProtocol, 0},
		{"DATA on an idle stream", func(cl *stConn) { cl.raw(http2.FrameData, 0, 3, []byte("x")) }, goAway, http2.ErrCodeProtocol, 0},
		{"DATA over the frame size", func(cl *stConn) { cl.raw(http2.FrameData, 0, hold(cl), make([]byte, 16385)) }, either, http2.ErrCodeFrameSize, 1},
		{"DATA padding longer than the frame", func(cl *stConn) {
			cl.raw(http2.FrameData, http2.FlagDataPadded, hold(cl), []byte{10, 'a', 'b'})
		}, goAway, http2.ErrCodeProtocol, 0},
		{"DATA on a half-closed stream", func(cl *stConn) { cl.raw(http2.FrameData, 0, holdClosed(cl), []byte("x")) }, rst, http2.ErrCodeStreamClosed, 1},
		{"HEADERS depending on itself", func(cl *stConn) {
			cl.write(func(fr *http2.Framer) error {
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: cl.encodeLocked(stReqFields("GET", "/bad")),
					EndStream: true, EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1, Weight: 15}})
			})
		}, either, http2.ErrCodeProtocol, 1},
		{"PRIORITY depending on itself", func(cl *stConn) { cl.raw(http2.FramePriority, 0, hold(cl), []byte{0, 0, 0, 1, 15}) }, either, http2.ErrCodeProtocol, 1},
		{"uppercase header name", bad(stReqFields("GET", "/bad", "X-Upper", "v")...), rst, http2.ErrCodeProtocol, 1},
		{"missing :path", bad(":method", "GET", ":scheme", "http", ":authority", stAuthority), rst, http2.ErrCodeProtocol, 1},
		{"missing :method", bad(":scheme", "http", ":authority", stAuthority, ":path", "/bad"), rst, http2.ErrCodeProtocol, 1},
		{"empty :path", bad(stReqFields("GET", "")...), rst, http2.ErrCodeProtocol, 1},
		{"unknown pseudo-header", bad(stReqFields("GET", "/bad", ":foo", "x")...), rst, http2.ErrCodeProtocol, 1},
		{"pseudo-header after a regular one", bad(":method", "GET", ":scheme", "http", "x-a", "b", ":path", "/bad", ":authority", stAuthority), rst, http2.ErrCodeProtocol, 1},
		{"duplicate :path", bad(stReqFields("GET", "/bad", ":path", "/bad2")...), rst, http2.ErrCodeProtocol, 1},
		{"connection header", bad(stReqFields("GET", "/bad", "connection", "keep-alive")...), rst, http2.ErrCodeProtocol, 1},
		{"transfer-encoding header", bad(stReqFields("GET", "/bad", "transfer-encoding", "chunked")...), rst, http2.ErrCodeProtocol, 1},
		{"te other than trailers", bad(stReqFields("GET", "/bad", "te", "gzip")...), rst, http2.ErrCodeProtocol, 1},
		{"newline in a value", bad(stReqFields("GET", "/bad", "x-a", "b\nc")...), rst, http2.ErrCodeProtocol, 1},
		{"content-length larger than the body", func(cl *stConn) {
			id := cl.request("POST", "/cl", false, "content-length", "10")
			cl.data(id, true, []byte("hello"))
		}, rst, http2.ErrCodeProtocol, 1},
		{"content-length smaller than the body", func(cl *stConn) {
			id := cl.request("POST", "/cl", false, "content-length", "2")
			cl.data(id, true, []byte("hello"))
		}, rst, http2.ErrCodeProtocol, 1},
		{"trailers without END_STREAM", func(cl *stConn) {
			id := cl.request("POST", "/hold", false)
			cl.headers(id, false, "x-trailer", "v")
		}, either, http2.ErrCodeProtocol, 1},
		{"unknown frame types are ignored", func(cl *stConn) {
			cl.raw(0xfa, 0xff, 0, []byte("whatever"))
			cl.raw(0x20, 0, 1, nil)
			id := cl.request("POST", "/hold", false)
			cl.raw(0xfb, 0, id, []byte("in a stream"))
		}, none, 0, 0},
		{"PRIORITY and unknown SETTINGS are accepted", func(cl *stConn) {
			cl.write(func(fr *http2.Framer) error { return fr.WritePriority(9, http2.PriorityParam{StreamDep: 0, Weight: 3}) })
			cl.raw(http2.FrameSettings, 0, 0, settingsPayload(0x77, 12345))
		}, none, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := stDial(t, ts.addr)
			mu.Lock()
			clear(calledPaths)
			mu.Unlock()
			tc.send(cl)
			switch tc.kind {
			case goAway:
				cl.expectGoAway(tc.code, 2*time.Second)
			case rst, either:
				f := cl.waitFor(2*time.Second, tc.kind+" "+tc.code.String(), func(f stFrame) bool {
					return f.Type == http2.FrameGoAway || f.Type == http2.FrameRSTStream
				})
				switch {
				case f.Type == http2.FrameRSTStream && (f.StreamID != tc.stream || f.Code != tc.code):
					t.Errorf("got %v, want RST_STREAM[%d] %v", f, tc.stream, tc.code)
				case f.Type == http2.FrameGoAway && (tc.kind == rst || f.Code != tc.code):
					t.Errorf("got %v, want %s %v", f, tc.kind, tc.code)
				case f.Type == http2.FrameRSTStream:
					cl.pingAlive(time.Second) // a stream error leaves the connection usable
				default:
					t.Logf("answered with %v", f)
				}
			case none:
				cl.pingAlive(time.Second)
			}
			mu.Lock()
			defer mu.Unlock()
			if calledPaths["/bad"] {
				t.Errorf("handler called for a malformed request")
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Request and response mapping

type stSeenRequest struct {
	method, url, host, proto, requestURI, remoteAddr string
	major, minor                                     int
	header, trailer                                  http.Header
	contentLength                                    int64
	body                                             string
	tlsNil                                           bool
	ctxValue                                         any
	localAddr                                        any
}

type stCtxKey struct{}

func TestServerRequestMapping(t *testing.T) {
	seen := make(chan stSeenRequest, 1)
	ts := stServer(t, &Server{
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, stCtxKey{}, "conn-ctx")
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			seen <- stSeenRequest{method: r.Method, url: r.URL.String(), host: r.Host, proto: r.Proto,
				requestURI: r.RequestURI, remoteAddr: r.RemoteAddr, major: r.ProtoMajor, minor: r.ProtoMinor,
				header: r.Header.Clone(), trailer: r.Trailer.Clone(), contentLength: r.ContentLength, body: string(b),
				tlsNil: r.TLS == nil, ctxValue: r.Context().Value(stCtxKey{}),
				localAddr: r.Context().Value(http.LocalAddrContextKey)}
		}),
	})
	cases := []struct {
		name  string
		send  func(cl *stConn) uint32
		check func(t *testing.T, s stSeenRequest)
	}{
		{"GET with a query", func(cl *stConn) uint32 { return cl.get("/a/b?x=1&y=%20") }, func(t *testing.T, s stSeenRequest) {
			if s.method != "GET" || s.url != "/a/b?x=1&y=%20" || s.requestURI != "/a/b?x=1&y=%20" || s.host != stAuthority {
				t.Errorf("method %q url %q requestURI %q host %q", s.method, s.url, s.requestURI, s.host)
			}
			if s.proto != "HTTP/2.0" || s.major != 2 || s.minor != 0 {
				t.Errorf("proto %q %d.%d", s.proto, s.major, s.minor)
			}
			if s.contentLength != 0 || s.body != "" {
				t.Errorf("content length %d body %q, want 0 and none", s.contentLength, s.body)
			}
			if _, ok := s.header["Host"]; ok {
				t.Errorf("Host in r.Header: %v", s.header)
			}
		}},
		{"POST with content-length", func(cl *stConn) uint32 {
			id := cl.request("POST", "/p", false, "content-length", "5", "content-type", "text/plain")
			cl.data(id, true, []byte("hello"))
			return id
		}, func(t *testing.T, s stSeenRequest) {
			if s.method != "POST" || s.contentLength != 5 || s.body != "hello" || s.header.Get("Content-Type") != "text/plain" {
				t.Errorf("method %q content length %d body %q header %v", s.method, s.contentLength, s.body, s.header)
			}
		}},
		{"POST without content-length", func(cl *stConn) uint32 {
			id := cl.request("POST", "/p", false)
			cl.data(id, false, []byte("hel"))
			cl.data(id, true, []byte("lo"))
			return id
		}, func(t *testing.T, s stSeenRequest) {
			if s.contentLength != -1 || s.body != "hello" {
				t.Errorf("content length %d body %q, want -1 and hello", s.contentLength, s.body)
			}
		}},
		{"cookies joined, repeated fields kept", func(cl *stConn) uint32 {
			return cl.request("GET", "/", true, "cookie", "a=1", "x-multi", "1", "cookie", "b=2", "x-multi", "2")
		}, func(t *testing.T, s stSeenRequest) {
			if got := s.header.Values("Cookie"); len(got) != 1 || got[0] != "a=1; b=2" {
				t.Errorf("Cookie %q, want one \"a=1; b=2\"", got)
			}
			if got := s.header.Values("X-Multi"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
				t.Errorf("X-Multi %q", got)
			}
		}},
		{"host header without :authority", func(cl *stConn) uint32 {
			id := cl.nextID
			cl.nextID += 2
			cl.headers(id, true, ":method", "GET", ":scheme", "http", ":path", "/h", "host", "other.test")
			return id
		}, func(t *testing.T, s stSeenRequest) {
			if s.host != "other.test" {
				t.Errorf("Host %q, want other.test", s.host)
			}
		}},
		{"request trailers", func(cl *stConn) uint32 {
			id := cl.request("POST", "/t", false, "trailer", "x-tr")
			cl.data(id, false, []byte("body"))
			cl.headers(id, true, "x-tr", "tv")
			return id
		}, func(t *testing.T, s stSeenRequest) {
			if s.body != "body" || s.trailer.Get("X-Tr") != "tv" {
				t.Errorf("body %q trailer %v", s.body, s.trailer)
			}
		}},
		{"context", func(cl *stConn) uint32 { return cl.get("/") }, func(t *testing.T, s stSeenRequest) {
			if s.ctxValue != "conn-ctx" {
				t.Errorf("ConnContext value %v", s.ctxValue)
			}
			if a, ok := s.localAddr.(net.Addr); !ok || a.String() != ts.addr {
				t.Errorf("LocalAddrContextKey %v, want %s", s.localAddr, ts.addr)
			}
			if !s.tlsNil {
				t.Errorf("r.TLS set on a plaintext connection")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := stDial(t, ts.addr)
			id := tc.send(cl)
			s := stRecv(t, seen, 2*time.Second, "the handler")
			if s.remoteAddr != cl.c.LocalAddr().String() {
				t.Errorf("RemoteAddr %q, want %q", s.remoteAddr, cl.c.LocalAddr())
			}
			tc.check(t, s)
			if r := cl.response(id, 2*time.Second); r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		})
	}
}

func TestServerResponseHeaders(t *testing.T) {
	const fixedDate = "Mon, 02 Jan 2006 15:04:05 GMT"
	ts := stServe(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/html":
			io.WriteString(w, "<html><body>hi</body></html>")
		case "/date":
			w.Header().Set("Date", fixedDate)
			io.WriteString(w, "x")
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		case "/flushed":
			io.WriteString(w, "part1")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
		case "/trailers":
			w.Header().Set("Trailer", "X-Declared")
			io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Declared", "d")
			w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
		case "/status":
			w.Header().Set("X-A", "1")
			w.Header().Add("X-A", "2")
			w.WriteHeader(418)
			io.WriteString(w, "teapot")
		case "/adopted", "/adopted-after-set", "/adopted-after-status":
			a := w.(interface{ AdoptHeader(http.Header) bool })
			switch r.URL.Path {
			case "/adopted-after-set":
				w.Header().Set("X-Own", "1")
			case "/adopted-after-status":
				w.WriteHeader(202)
			}
			upstream := http.Header{"X-Up": {"a", "b"}, "Content-Length": {"2"}}
			adopted := a.AdoptHeader(upstream)
			w.Header().Set("X-Adopted", strconv.FormatBool(adopted))
			upstream.Set("X-Late", "1") // the adopted map is the writer's
			io.WriteString(w, "ok")
		default:
			io.WriteString(w, "hello")
		}
	})
	cases := []struct {
		name   string
		method string
		path   string
		check  func(t *testing.T, r *stResp)
	}{
		{"no sniffing, date and length added", "GET", "/html", func(t *testing.T, r *stResp) {
			if ct, ok := r.header["Content-Type"]; ok {
				t.Errorf("Content-Type %q sniffed", ct)
			}
			if _, err := http.ParseTime(r.header.Get("Date")); err != nil {
				t.Errorf("Date %q: %v", r.header.Get("Date"), err)
			}
			if r.header.Get("Content-Length") != "28" || string(r.body) != "<html><body>hi</body></html>" {
				t.Errorf("content-length %q body %q", r.header.Get("Content-Length"), r.body)
			}
		}},
		{"handler's date kept", "GET", "/date", func(t *testing.T, r *stResp) {
			if d := r.header.Values("Date"); len(d) != 1 || d[0] != fixedDate {
				t.Errorf("Date %q, want only the handler's", d)
			}
		}},
		{"204 without body", "GET", "/204", func(t *testing.T, r *stResp) {
			if r.status != 204 || len(r.body) != 0 {
				t.Errorf("%d %q", r.status, r.body)
			}
		}},
		{"304 without body", "GET", "/304", func(t *testing.T, r *stResp) {
			if r.status != 304 || len(r.body) != 0 {
				t.Errorf("%d %q", r.status, r.body)
			}
		}},
		{"HEAD has no body", "HEAD", "/", func(t *testing.T, r *stResp) {
			if r.status != 200 || len(r.body) != 0 {
				t.Errorf("%d %q", r.status, r.body)
			}
		}},
		{"flushed body streams", "GET", "/flushed", func(t *testing.T, r *stResp) {
			if string(r.body) != "part1part2" {
				t.Errorf("body %q", r.body)
			}
			if cl := r.header.Get("Content-Length"); cl != "" {
				t.Errorf("content-length %q on a body flushed before its end", cl)
			}
		}},
		{"trailers", "GET", "/trailers", func(t *testing.T, r *stResp) {
			if string(r.body) != "body" || r.trailer.Get("X-Declared") != "d" || r.trailer.Get("X-Undeclared") != "u" {
				t.Errorf("body %q trailer %v", r.body, r.trailer)
			}
		}},
		{"status and repeated fields", "GET", "/status", func(t *testing.T, r *stResp) {
			if r.status != 418 || string(r.body) != "teapot" || len(r.header.Values("X-A")) != 2 {
				t.Errorf("%d %q %v", r.status, r.body, r.header)
			}
		}},
		{"adopted header", "GET", "/adopted", func(t *testing.T, r *stResp) {
			h := r.header
			if h.Get("X-Adopted") != "true" || !slices.Equal(h.Values("X-Up"), []string{"a", "b"}) ||
				h.Get("X-Late") != "1" || h.Get("Content-Length") != "2" || string(r.body) != "ok" {
				t.Errorf("%v %q", h, r.body)
			}
		}},
		{"no adoption over the handler's fields", "GET", "/adopted-after-set", func(t *testing.T, r *stResp) {
			h := r.header
			if h.Get("X-Adopted") != "false" || h.Get("X-Own") != "1" || h.Get("X-Up") != "" {
				t.Errorf("%v", h)
			}
		}},
		{"no adoption after the status", "GET", "/adopted-after-status", func(t *testing.T, r *stResp) {
			if r.status != 202 || r.header.Get("X-Up") != "" || r.header.Get("X-Adopted") != "" {
				t.Errorf("%d %v", r.status, r.header)
			}
		}},
	}
	cl := stDial(t, ts.addr)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cl.response(cl.request(tc.method, tc.path, true), 2*time.Second)
			if r.reset {
				t.Fatalf("reset %v", r.code)
			}
			if r.status == 0 {
				t.Fatalf("no status")
			}
			tc.check(t, r)
		})
	}
}

// stRecConn records the server's writes.
type stRecConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *stRecConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func TestServerSmallResponseOneWrite(t *testing.T) {
	var rc atomic.Pointer[stRecConn]
	ts := stServerWrap(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(stBody(1000))
	})}, func(c net.Conn) net.Conn {
		r := &stRecConn{Conn: c}
		rc.Store(r)
		return r
	})
	cl := stDial(t, ts.addr)
	for i := 0; i < 3; i++ {
		id := cl.get("/")
		r := cl.response(id, 2*time.Second)
		if r.status != 200 || !bytes.Equal(r.body, stBody(1000)) || r.header.Get("Content-Length") != "1000" {
			t.Fatalf("response %d, %d bytes, content-length %q", r.status, len(r.body), r.header.Get("Content-Length"))
		}
		// Find which write held the stream's HEADERS and which its last DATA.
		c := rc.Load()
		c.mu.Lock()
		writes := append([][]byte(nil), c.writes...)
		c.mu.Unlock()
		var all bytes.Buffer
		var ends []int // end offset of each write
		for _, w := range writes {
			all.Write(w)
			ends = append(ends, all.Len())
		}
		writeOf := func(off int) int { return sort.SearchInts(ends, off+1) }
		fr := http2.NewFramer(nil, bytes.NewReader(all.Bytes()))
		off := 0
		hw, dw := -1, -1
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				break
			}
			start, end := off, off+9+int(f.Header().Length)
			off = end
			if f.Header().StreamID != id {
				continue
			}
			switch f.Header().Type {
			case http2.FrameHeaders:
				hw = writeOf(start)
			case http2.FrameData:
				if f.Header().Flags.Has(http2.FlagDataEndStream) {
					dw = writeOf(end - 1)
				}
			}
		}
		if hw < 0 || dw < 0 || hw != dw {
			t.Errorf("stream %d: HEADERS in write %d, final DATA in write %d of %d; want one write", id, hw, dw, len(writes))
		}
	}
}

// ---------------------------------------------------------------------------
// Concurrency through net/http's Transport

// stTransport returns net/http's client Transport speaking h2c with
// prior knowledge (its Protocols hold only UnencryptedHTTP2).
func stTransport() *http.Transport {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{
		Protocols: p,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

func TestServerConcurrency(t *testing.T) {
	var conns atomic.Int32
	ts := stServer(t, &Server{
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Id", r.Header.Get("X-Id"))
			if r.Method == "GET" {
				n, _ := strconv.Atoi(r.URL.Query().Get("n"))
				w.Write(stBody(n))
				return
			}
			w.Header().Set("X-Len", strconv.FormatInt(r.ContentLength, 10))
			if _, err := io.Copy(w, r.Body); err != nil {
				panic(http.ErrAbortHandler)
			}
		}),
	})
	const clients, goroutines, requests = 4, 32, 50
	var trs [clients]*http.Transport
	for i := range trs {
		trs[i] = stTransport()
		defer trs[i].CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One request per transport first, so that each holds its connection
	// before the goroutines start: net/http's Transport, unlike x/net's,
	// dials once per request that finds no connection, and keeps only one
	// of the connections so raced (the server sees the others open).
	for i, tr := range trs {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ts.addr+"/gen?n=1", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("warm-up request %d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 || !bytes.Equal(got, stBody(1)) {
			t.Fatalf("warm-up request %d: %s %s, body %q, %v", i, resp.Proto, resp.Status, got, err)
		}
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			hc := &http.Client{Transport: trs[g%clients]}
			for i := 0; i < requests; i++ {
				id := fmt.Sprintf("%d-%d", g, i)
				n := rng.Intn(32 << 10)
				if i%10 == 3 {
					n = 100<<10 + rng.Intn(200<<10)
				}
				var req *http.Request
				var want []byte
				if i%2 == 0 {
					want = make([]byte, n)
					rng.Read(want)
					req, _ = http.NewRequestWithContext(ctx, "POST", "http://"+ts.addr+"/echo", bytes.NewReader(want))
				} else {
					want = stBody(n)
					req, _ = http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/gen?n=%d", ts.addr, n), nil)
				}
				req.Header.Set("X-Id", id)
				resp, err := hc.Do(req)
				if err != nil {
					errs <- fmt.Errorf("%s: %v", id, err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s: reading body: %v", id, err)
					return
				case resp.StatusCode != 200 || resp.ProtoMajor != 2:
					errs <- fmt.Errorf("%s: %s %s", id, resp.Proto, resp.Status)
					return
				case resp.Header.Get("X-Id") != id:
					errs <- fmt.Errorf("%s: response for %q", id, resp.Header.Get("X-Id"))
					return
				case !bytes.Equal(got, want):
					errs <- fmt.Errorf("%s: body of %d bytes differs from the %d expected", id, len(got), len(want))
					return
				case req.Method == "POST" && resp.Header.Get("X-Len") != strconv.Itoa(n):
					errs <- fmt.Errorf("%s: server saw content length %s, sent %d", id, resp.Header.Get("X-Len"), n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load(); n != clients {
		t.Errorf("%d connections, want %d (one per transport)", n, clients)
	}
}

// ---------------------------------------------------------------------------
// Benchmark

// BenchmarkServe: GETs of a 1 KiB body over one HTTP/2 connection from
// net/http's Transport, to this server and to net/http's h2c server.
func BenchmarkServe(b *testing.B) {
	body := stBody(1024)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	run := func(b *testing.B, addr string) {
		tr := stTransport()
		defer tr.CloseIdleConnections()
		req, err := http.NewRequest("GET", "http://"+addr+"/bench", nil)
		if err != nil {
			b.Fatal(err)
		}
		get := func() {
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != int64(len(body)) || resp.StatusCode != 200 {
				b.Fatalf("response %d, %d bytes, %v", resp.StatusCode, n, err)
			}
		}
		get() // connect outside the timing
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			get()
		}
	}
	b.Run("h2server", func(b *testing.B) {
		ts := stServer(b, &Server{Handler: handler})
		run(b, ts.addr)
	})
	b.Run("nethttp", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		hs := &http.Server{Handler: handler, Protocols: p}
		go hs.Serve(l)
		defer hs.Close()
		run(b, l.Addr().String())
	})
}
