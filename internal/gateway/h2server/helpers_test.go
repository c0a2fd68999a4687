package h2server

// Shared test helpers of the differential test (diff_test.go) and the
// h2spec run (h2spec_test.go); other tests of the package may use them.
//
//   - diffStartH2 and diffStartStd start an h2server and net/http's
//     prior-knowledge h2c server on 127.0.0.1 with a handler.
//   - diffNewTransport is a net/http client Transport that speaks h2c
//     with prior knowledge (Protocols with only UnencryptedHTTP2) to one
//     address whatever the request URL's host.
//   - diffDialRaw is a raw HTTP/2 client connection (http2.Framer and
//     hpack) that keeps flow control both ways, answers SETTINGS and PING,
//     and records what the server sends on each stream.
//
// Every wait is bounded.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/internal/testutil/logbuf"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// diffOpts configures the servers of a test the same way on both sides.
type diffOpts struct {
	// MaxHeaderBytes of both servers; zero: their default.
	MaxHeaderBytes int
	// MaxConcurrentStreams of both servers; zero: 100, h2server's
	// default (net/http's is 250, so it is set explicitly there).
	MaxConcurrentStreams uint32
}

// diffStartH2 starts an h2server with h on 127.0.0.1 and returns its
// address and the log it writes. It is stServer's: at the end of the test
// the server is shut down, and the test fails if Shutdown does or if a
// ServeConn does not return for its closed connection.
func diffStartH2(t testing.TB, h http.Handler, o diffOpts) (string, *logbuf.Buffer) {
	t.Helper()
	ts := stServer(t, &Server{
		Handler:              h,
		MaxHeaderBytes:       o.MaxHeaderBytes,
		MaxConcurrentStreams: o.MaxConcurrentStreams,
	})
	return ts.addr, ts.log
}

// diffStartStd starts net/http's server with h on 127.0.0.1, serving
// HTTP/2 with prior knowledge (h2c) only, and returns its address and log.
func diffStartStd(t testing.TB, h http.Handler, o diffOpts) (string, *logbuf.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	logs := new(logbuf.Buffer)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	streams := o.MaxConcurrentStreams
	if streams == 0 {
		streams = 100
	}
	srv := &http.Server{
		Handler:        h,
		Protocols:      p,
		MaxHeaderBytes: o.MaxHeaderBytes,
		HTTP2:          &http.HTTP2Config{MaxConcurrentStreams: int(streams)},
		ErrorLog:       log.New(logs, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("net/http: Serve still running 5s after Close")
		}
	})
	return ln.Addr().String(), logs
}

// diffNewTransport returns an h2c client Transport (net/http's own, with
// prior knowledge: its Protocols hold only UnencryptedHTTP2) whose
// connections all go to addr, whatever host the request URL names (so
// that both servers see the same :authority), and a count of its dials.
// Its idle connections are closed at the end of the test.
func diffNewTransport(t testing.TB, addr string) (*http.Transport, *atomic.Int32) {
	dials := new(atomic.Int32)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{
		Protocols:          p,
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			dials.Add(1)
			d := net.Dialer{Timeout: 5 * time.Second}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr, dials
}

// diffAuthority is the :authority (URL host) of the differential tests'
// requests: the same for both servers, whose ports differ.
const diffAuthority = "diff.test"

// diffPattern is n deterministic bytes that are not all alike (a
// misplaced or repeated frame changes the hash).
func diffPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/251)%26)
	}
	return b
}

// diffFormatBody is b for a message: quoted when short, else length and
// hash.
func diffFormatBody(b []byte) string {
	if len(b) <= 80 {
		return strconv.Quote(string(b))
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("len=%d sha256=%x", len(b), sum[:8])
}

// diffFormatHeader renders h sorted by name, one field a line.
func diffFormatHeader(h map[string][]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q: %q\n", k, h[k])
	}
	return b.String()
}

// diffStream is what the server sent on one stream of a diffRawConn.
type diffStream struct {
	id     uint32
	blocks [][]hpack.HeaderField // each HEADERS(+CONTINUATION) block in order
	data   bytes.Buffer
	frames []string // "HEADERS", "DATA(5)", "RST_STREAM(CANCEL)"... in order

	endStream   bool
	rst         *http2.ErrCode
	rstAfterEnd bool
	firstData   time.Time
	// clientErr is a frame of this stream that the client's framer
	// rejected (a malformed response header block).
	clientErr string
	// violations: frames beyond the client's flow-control windows, frames
	// after the stream closed.
	violations []string

	recvWin   int64 // our receive window for the stream
	sendWin   int64 // the server's window for our DATA
	sentEnd   bool  // we sent END_STREAM
	weReset   bool  // we sent RST_STREAM
	recvBytes int64 // DATA payload bytes received
}

func (s *diffStream) closed() bool { return s.endStream || s.rst != nil }

// diffGoAway is a GOAWAY the server sent.
type diffGoAway struct {
	last  uint32
	code  http2.ErrCode
	debug string
}

// diffEvent is one frame (or read error) handed from the reader goroutine
// to the goroutine driving the connection; it owns its data.
type diffEvent struct {
	typ      http2.FrameType
	stream   uint32
	flags    http2.Flags
	length   uint32 // frame payload length (DATA: flow-controlled bytes)
	data     []byte
	fields   []hpack.HeaderField
	code     http2.ErrCode
	settings []http2.Setting
	incr     uint32
	last     uint32
	ping     [8]byte
	err      error
}

// diffRawConn is a raw HTTP/2 client connection for frame-level tests. It
// is driven from one goroutine (the test's): a reader goroutine only
// decodes frames and hands them over. Its methods that wait (pump, wait,
// writeData) process the server's frames meanwhile: SETTINGS and PING
// are answered, WINDOW_UPDATEs credit the send windows, and DATA is
// recorded and (unless manualWindow) its flow-control credit returned at
// once. Frames beyond the windows the client advertised are recorded as
// violations.
type diffRawConn struct {
	t  testing.TB
	nc net.Conn
	fr *http2.Framer

	enc  *hpack.Encoder
	ebuf bytes.Buffer

	events     chan diffEvent
	done       chan struct{}
	readerDone chan struct{}
	closeOnce  sync.Once

	serverSettings map[http2.SettingID]uint32
	gotSettings    bool
	settingsAcked  int
	pingAcks       int
	peerInitWin    int64
	peerMaxFrame   uint32
	sendConnWin    int64

	recvInitWin int64
	recvConnWin int64
	// manualWindow: the client returns no flow-control credit by itself;
	// the test calls grant.
	manualWindow bool

	streams map[uint32]*diffStream
	nextID  uint32
	goAway  *diffGoAway
	connErr error
	// trace is every frame received, for failure messages.
	trace []string
}

// diffDialRaw connects to addr, sends the connection preface and SETTINGS
// (ENABLE_PUSH=0 and extra), and waits for the server's SETTINGS.
func diffDialRaw(t testing.TB, addr string, extra ...http2.Setting) *diffRawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	rc := &diffRawConn{
		t:              t,
		nc:             nc,
		events:         make(chan diffEvent, 256),
		done:           make(chan struct{}),
		readerDone:     make(chan struct{}),
		serverSettings: map[http2.SettingID]uint32{},
		peerInitWin:    65535,
		peerMaxFrame:   16384,
		sendConnWin:    65535,
		recvInitWin:    65535,
		recvConnWin:    65535,
		streams:        map[uint32]*diffStream{},
		nextID:         1,
	}
	rc.fr = http2.NewFramer(nc, nc)
	rc.fr.AllowIllegalWrites = true
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	rc.fr.MaxHeaderListSize = 1 << 20
	rc.fr.SetMaxReadFrameSize(16384) // what the client advertises (the default)
	rc.enc = hpack.NewEncoder(&rc.ebuf)
	t.Cleanup(rc.Close)

	settings := []http2.Setting{{ID: http2.SettingEnablePush, Val: 0}}
	for _, s := range extra {
		settings = append(settings, s)
		if s.ID == http2.SettingInitialWindowSize {
			rc.recvInitWin = int64(s.Val)
		}
	}
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatalf("write preface: %v", err)
	}
	if err := rc.fr.WriteSettings(settings...); err != nil {
		t.Fatalf("write SETTINGS: %v", err)
	}
	go rc.readLoop()
	if !rc.pump(5*time.Second, func() bool { return rc.gotSettings }) {
		t.Fatalf("no SETTINGS from the server within 5s (connection: %v; frames: %v)", rc.connErr, rc.trace)
	}
	return rc
}

// Close closes the connection and waits for the reader goroutine.
func (rc *diffRawConn) Close() {
	rc.closeOnce.Do(func() {
		close(rc.done)
		rc.nc.Close()
		select {
		case <-rc.readerDone:
		case <-time.After(5 * time.Second):
			rc.t.Errorf("raw client: reader goroutine did not stop")
		}
	})
}

func (rc *diffRawConn) readLoop() {
	defer close(rc.readerDone)
	for {
		f, err := rc.fr.ReadFrame()
		ev := diffEvent{err: err}
		var se http2.StreamError
		if err != nil && errors.As(err, &se) {
			ev.stream = se.StreamID
		}
		if f != nil && err == nil {
			h := f.Header()
			ev.typ, ev.stream, ev.flags, ev.length = h.Type, h.StreamID, h.Flags, h.Length
			switch f := f.(type) {
			case *http2.DataFrame:
				ev.data = append([]byte(nil), f.Data()...)
			case *http2.MetaHeadersFrame:
				ev.typ = http2.FrameHeaders
				ev.fields = append([]hpack.HeaderField(nil), f.Fields...)
				if f.Truncated {
					ev.err = errors.New("response header list truncated")
				}
			case *http2.RSTStreamFrame:
				ev.code = f.ErrCode
			case *http2.SettingsFrame:
				f.ForeachSetting(func(s http2.Setting) error {
					ev.settings = append(ev.settings, s)
					return nil
				})
			case *http2.WindowUpdateFrame:
				ev.incr = f.Increment
			case *http2.GoAwayFrame:
				ev.last, ev.code = f.LastStreamID, f.ErrCode
				ev.data = append([]byte(nil), f.DebugData()...)
			case *http2.PingFrame:
				ev.ping = f.Data
			}
		}
		select {
		case rc.events <- ev:
		case <-rc.done:
			return
		}
		if err != nil && se.StreamID == 0 {
			return
		}
	}
}

// stream returns the record of stream id, creating it.
func (rc *diffRawConn) stream(id uint32) *diffStream {
	s := rc.streams[id]
	if s == nil {
		s = &diffStream{id: id, recvWin: rc.recvInitWin, sendWin: rc.peerInitWin}
		rc.streams[id] = s
	}
	return s
}

func (rc *diffRawConn) write(what string, f func() error) {
	rc.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := f(); err != nil && rc.connErr == nil {
		rc.connErr = fmt.Errorf("write %s: %w", what, err)
	}
}

// handle processes one event from the reader.
func (rc *diffRawConn) handle(ev diffEvent) {
	if ev.err != nil {
		var se http2.StreamError
		if errors.As(ev.err, &se) && se.StreamID != 0 {
			s := rc.stream(se.StreamID)
			s.clientErr = fmt.Sprintf("%v: %v", se.Code, se.Cause)
			s.frames = append(s.frames, "MALFORMED("+se.Code.String()+")")
			rc.trace = append(rc.trace, fmt.Sprintf("s%d malformed: %v", se.StreamID, ev.err))
			return
		}
		if ev.typ == http2.FrameHeaders {
			rc.trace = append(rc.trace, fmt.Sprintf("s%d %v", ev.stream, ev.err))
			rc.stream(ev.stream).clientErr = ev.err.Error()
			return
		}
		if rc.connErr == nil {
			rc.connErr = ev.err
		}
		rc.trace = append(rc.trace, "read: "+ev.err.Error())
		return
	}
	desc := fmt.Sprintf("s%d %v", ev.stream, ev.typ)
	switch ev.typ {
	case http2.FrameSettings:
		if ev.flags.Has(http2.FlagSettingsAck) {
			rc.settingsAcked++
			desc += " ACK"
			break
		}
		for _, s := range ev.settings {
			rc.serverSettings[s.ID] = s.Val
			switch s.ID {
			case http2.SettingInitialWindowSize:
				delta := int64(s.Val) - rc.peerInitWin
				rc.peerInitWin = int64(s.Val)
				for _, st := range rc.streams {
					st.sendWin += delta
				}
			case http2.SettingMaxFrameSize:
				rc.peerMaxFrame = s.Val
			}
		}
		desc += fmt.Sprint(ev.settings)
		rc.gotSettings = true
		rc.write("SETTINGS ACK", rc.fr.WriteSettingsAck)
	case http2.FramePing:
		if ev.flags.Has(http2.FlagPingAck) {
			rc.pingAcks++
			break
		}
		rc.write("PING ACK", func() error { return rc.fr.WritePing(true, ev.ping) })
	case http2.FrameWindowUpdate:
		desc += fmt.Sprintf("(+%d)", ev.incr)
		if ev.stream == 0 {
			rc.sendConnWin += int64(ev.incr)
		} else {
			rc.stream(ev.stream).sendWin += int64(ev.incr)
		}
	case http2.FrameGoAway:
		rc.goAway = &diffGoAway{last: ev.last, code: ev.code, debug: string(ev.data)}
		desc += fmt.Sprintf("(last=%d %v %q)", ev.last, ev.code, ev.data)
	case http2.FrameRSTStream:
		s := rc.stream(ev.stream)
		desc += "(" + ev.code.String() + ")"
		s.frames = append(s.frames, "RST_STREAM("+ev.code.String()+")")
		if s.rst != nil {
			s.violations = append(s.violations, "second RST_STREAM "+ev.code.String())
			break
		}
		if s.weReset {
			s.violations = append(s.violations, "RST_STREAM "+ev.code.String()+" in answer to the client's RST_STREAM")
		}
		code := ev.code
		s.rst = &code
		s.rstAfterEnd = s.endStream
	case http2.FrameHeaders:
		s := rc.stream(ev.stream)
		if s.closed() || s.weReset {
			s.violations = append(s.violations, "HEADERS after the stream closed")
		}
		s.blocks = append(s.blocks, ev.fields)
		f := "HEADERS"
		if ev.flags.Has(http2.FlagHeadersEndStream) {
			s.endStream = true
			f += "+END_STREAM"
		}
		s.frames = append(s.frames, f)
		desc += fmt.Sprintf("%v end_stream=%v", ev.fields, s.endStream)
	case http2.FrameData:
		s := rc.stream(ev.stream)
		if s.closed() || s.weReset {
			s.violations = append(s.violations, "DATA after the stream closed")
		}
		n := int64(ev.length)
		rc.recvConnWin -= n
		s.recvWin -= n
		if rc.recvConnWin < 0 {
			s.violations = append(s.violations, fmt.Sprintf("DATA beyond the connection window by %d bytes", -rc.recvConnWin))
		}
		if s.recvWin < 0 {
			s.violations = append(s.violations, fmt.Sprintf("DATA beyond the stream window by %d bytes", -s.recvWin))
		}
		if len(ev.data) > 0 && s.firstData.IsZero() {
			s.firstData = time.Now()
		}
		s.data.Write(ev.data)
		s.recvBytes += int64(len(ev.data))
		f := fmt.Sprintf("DATA(%d)", len(ev.data))
		if ev.flags.Has(http2.FlagDataEndStream) {
			s.endStream = true
			f += "+END_STREAM"
		}
		s.frames = append(s.frames, f)
		desc += fmt.Sprintf("(%d) end_stream=%v", len(ev.data), s.endStream)
		if !rc.manualWindow && n > 0 {
			rc.grantConn(n)
			if !s.endStream && s.rst == nil {
				rc.grant(s.id, n)
			}
		}
	case http2.FramePushPromise:
		rc.stream(ev.stream).violations = append(rc.stream(ev.stream).violations, "PUSH_PROMISE with ENABLE_PUSH=0")
	}
	rc.trace = append(rc.trace, desc)
}

// grantConn returns n bytes of connection-level credit to the server.
func (rc *diffRawConn) grantConn(n int64) {
	rc.recvConnWin += n
	rc.write("WINDOW_UPDATE", func() error { return rc.fr.WriteWindowUpdate(0, uint32(n)) })
}

// grant returns n bytes of credit on stream id.
func (rc *diffRawConn) grant(id uint32, n int64) {
	rc.stream(id).recvWin += n
	rc.write("WINDOW_UPDATE", func() error { return rc.fr.WriteWindowUpdate(id, uint32(n)) })
}

// pump processes the server's frames until cond holds, the connection
// ends or timeout passes, and reports cond.
func (rc *diffRawConn) pump(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for !cond() {
		select {
		case ev := <-rc.events:
			rc.handle(ev)
		case <-timer.C:
			return cond()
		case <-rc.readerDone:
			// drain what the reader handed over before it stopped
			for {
				select {
				case ev := <-rc.events:
					rc.handle(ev)
					continue
				default:
				}
				break
			}
			return cond()
		}
	}
	return true
}

// idle processes frames for d.
func (rc *diffRawConn) idle(d time.Duration) { rc.pump(d, func() bool { return false }) }

// newStreamID returns the next client stream id.
func (rc *diffRawConn) newStreamID() uint32 {
	id := rc.nextID
	rc.nextID += 2
	return id
}

// diffFields turns name, value pairs into header fields.
func diffFields(kv ...string) []hpack.HeaderField {
	if len(kv)%2 != 0 {
		panic("diffFields: odd number of arguments")
	}
	var fs []hpack.HeaderField
	for i := 0; i < len(kv); i += 2 {
		fs = append(fs, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return fs
}

// writeHeaders sends a header block on id (HEADERS, then CONTINUATION
// when it exceeds 16 KiB), fields as name, value pairs in order.
func (rc *diffRawConn) writeHeaders(id uint32, endStream bool, kv ...string) {
	rc.writeFields(id, endStream, diffFields(kv...))
}

func (rc *diffRawConn) writeFields(id uint32, endStream bool, fs []hpack.HeaderField) {
	rc.ebuf.Reset()
	for _, f := range fs {
		rc.enc.WriteField(f)
	}
	block := rc.ebuf.Bytes()
	const max = 16384
	first := block
	if len(first) > max {
		first = first[:max]
	}
	s := rc.stream(id)
	if endStream {
		s.sentEnd = true
	}
	rc.write("HEADERS", func() error {
		return rc.fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(first) == len(block),
		})
	})
	for rest := block[len(first):]; len(rest) > 0; {
		n := min(len(rest), max)
		frag := rest[:n]
		rest = rest[n:]
		rc.write("CONTINUATION", func() error { return rc.fr.WriteContinuation(id, len(rest) == 0, frag) })
	}
}

// writeData sends data on id within the server's flow-control windows,
// waiting (up to 10 s in all) for WINDOW_UPDATEs. It reports whether all
// of it was sent: false when the stream closed or the credit did not come.
func (rc *diffRawConn) writeData(id uint32, endStream bool, data []byte) bool {
	s := rc.stream(id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s.rst != nil || rc.connErr != nil {
			return false
		}
		n := min(int64(len(data)), int64(rc.peerMaxFrame), 16384, rc.sendConnWin, s.sendWin)
		if n <= 0 && len(data) > 0 {
			left := time.Until(deadline)
			if left <= 0 || !rc.pump(left, func() bool {
				return s.rst != nil || rc.connErr != nil || (rc.sendConnWin > 0 && s.sendWin > 0)
			}) {
				rc.trace = append(rc.trace, fmt.Sprintf("s%d: no flow-control credit for %d bytes (conn %d, stream %d)", id, len(data), rc.sendConnWin, s.sendWin))
				return false
			}
			continue
		}
		chunk := data[:n]
		data = data[n:]
		end := endStream && len(data) == 0
		rc.sendConnWin -= n
		s.sendWin -= n
		if end {
			s.sentEnd = true
		}
		rc.write("DATA", func() error { return rc.fr.WriteData(id, end, chunk) })
		if len(data) == 0 {
			return true
		}
		// take in what arrived meanwhile (WINDOW_UPDATE, a reset)
		for drained := false; !drained; {
			select {
			case ev := <-rc.events:
				rc.handle(ev)
			default:
				drained = true
			}
		}
	}
}

// rst resets stream id.
func (rc *diffRawConn) rst(id uint32, code http2.ErrCode) {
	rc.stream(id).weReset = true
	rc.write("RST_STREAM", func() error { return rc.fr.WriteRSTStream(id, code) })
}

// wait processes frames until stream id is closed by the server (END_STREAM
// or RST_STREAM), the connection ends or timeout passes. When the server
// ended the stream while the client's side is still open, it lingers a
// little for the RST_STREAM that may follow (RFC 9113 §8.1).
func (rc *diffRawConn) wait(id uint32, timeout time.Duration) *diffStream {
	s := rc.stream(id)
	rc.pump(timeout, func() bool {
		return s.closed() || rc.connErr != nil || (rc.goAway != nil && id > rc.goAway.last)
	})
	if s.endStream && s.rst == nil && !s.sentEnd && !s.weReset {
		rc.pump(300*time.Millisecond, func() bool { return s.rst != nil || rc.connErr != nil })
	}
	return s
}

// request opens a stream with a GET-like header block (:method, :scheme
// http, :path, :authority diffAuthority, then extra pairs), sends body
// (END_STREAM after it; on the HEADERS when body is nil) and waits for
// the response.
func (rc *diffRawConn) request(method, path string, body []byte, extra ...string) *diffStream {
	id := rc.newStreamID()
	kv := append([]string{":method", method, ":scheme", "http", ":path", path, ":authority", diffAuthority}, extra...)
	rc.writeHeaders(id, body == nil, kv...)
	if body != nil {
		rc.writeData(id, true, body)
	}
	return rc.wait(id, 10*time.Second)
}
