package h2server

// FuzzConn sends the fuzzer's bytes to a server after a valid connection
// preface and SETTINGS, over net.Pipe. The server must not panic, must not
// stop reading, must answer a PING (or say GOAWAY, or close) once the
// input is complete frames, must return from ServeConn (its handlers done) soon after the
// client closes, must write only frames a client can parse, and must never
// hand its handler a request that is not a valid one.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// stFuzzPing is the PING the harness sends after the fuzzer's bytes.
var stFuzzPing = [8]byte{'s', 't', 'f', 'u', 'z', 'z', '!', '!'}

// stCheckRequest says what is wrong with a request a handler got, if
// anything.
func stCheckRequest(r *http.Request) string {
	switch {
	case r.Method == "" || !httpguts.ValidHeaderFieldName(r.Method): // a token
		return fmt.Sprintf("method %q", r.Method)
	case r.URL == nil:
		return "nil URL"
	case r.Proto != "HTTP/2.0" || r.ProtoMajor != 2 || r.ProtoMinor != 0:
		return fmt.Sprintf("proto %q %d.%d", r.Proto, r.ProtoMajor, r.ProtoMinor)
	case r.Header == nil || r.Body == nil:
		return "nil Header or Body"
	case r.Method == "CONNECT" && r.URL.Host == "" && r.Host == "":
		return "CONNECT without authority"
	case r.Method != "CONNECT" && r.RequestURI == "":
		return "empty request URI"
	case r.ContentLength < -1:
		return fmt.Sprintf("content length %d", r.ContentLength)
	case strings.ContainsAny(r.Host, " \r\n\x00"):
		return fmt.Sprintf("host %q", r.Host)
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) || strings.HasPrefix(k, ":") {
			return fmt.Sprintf("header name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Sprintf("header %s value %q", k, v)
			}
		}
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			return fmt.Sprintf("connection-specific header %s", k)
		}
	}
	return ""
}

// stCompleteFrames reports whether b is a sequence of whole frames that
// ends outside a header block: then whatever the server makes of it, a
// PING after it is either answered or the connection closes.
func stCompleteFrames(b []byte) bool {
	inBlock := false
	for len(b) > 0 {
		if len(b) < 9 {
			return false
		}
		n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		if len(b) < 9+n {
			return false
		}
		typ, flags := http2.FrameType(b[3]), http2.Flags(b[4])
		switch typ {
		case http2.FrameHeaders:
			inBlock = !flags.Has(http2.FlagHeadersEndHeaders)
		case http2.FrameContinuation:
			if inBlock {
				inBlock = !flags.Has(http2.FlagContinuationEndHeaders)
			}
		case http2.FramePushPromise:
			inBlock = !flags.Has(http2.FlagPushPromiseEndHeaders)
		}
		b = b[9+n:]
	}
	return !inBlock
}

func FuzzConn(f *testing.F) {
	for _, seed := range stFuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			badMu    sync.Mutex
			bad      []string
			inFlight atomic.Int32
		)
		report := func(s string) {
			badMu.Lock()
			bad = append(bad, s)
			badMu.Unlock()
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inFlight.Add(1)
			defer inFlight.Add(-1)
			if p := stCheckRequest(r); p != "" {
				report("handler got an invalid request: " + p)
				return
			}
			const limit = 1 << 20
			n, err := io.Copy(io.Discard, io.LimitReader(r.Body, limit))
			if err == nil && n < limit && r.ContentLength >= 0 && n != r.ContentLength {
				report(fmt.Sprintf("body of %d bytes read without error, content-length %d", n, r.ContentLength))
			}
			switch r.URL.Path {
			case "/big":
				w.Write(make([]byte, 100<<10))
			case "/flush":
				io.WriteString(w, "a")
				w.(http.Flusher).Flush()
				io.WriteString(w, "b")
			default:
				io.WriteString(w, "ok")
			}
		})
		s := &Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0),
			ReadHeaderTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxConcurrentStreams: 16}
		cc, sc := net.Pipe()
		defer cc.Close()
		served := make(chan bool, 1)
		go func() { served <- s.ServeConn(sc) }()

		// Read and parse all the server writes.
		var (
			outMu    sync.Mutex
			outErr   error // a frame the server wrote that does not parse
			pinged   = make(chan struct{})
			outEnded = make(chan struct{})
		)
		go func() {
			defer close(outEnded)
			fr := http2.NewFramer(nil, cc)
			fr.SetMaxReadFrameSize(1<<24 - 1) // the input may raise MAX_FRAME_SIZE
			dec := hpack.NewDecoder(4096, nil)
			dec.SetAllowedMaxDynamicTableSize(math.MaxUint32)
			fr.ReadMetaHeaders = dec
			fr.MaxHeaderListSize = 1 << 24
			first, once := true, sync.Once{}
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					var se http2.StreamError
					var ce http2.ConnectionError
					if errors.As(err, &se) || errors.As(err, &ce) || errors.Is(err, http2.ErrFrameTooLarge) {
						outMu.Lock()
						outErr = fmt.Errorf("server wrote an invalid frame: %v (%v)", err, fr.ErrorDetail())
						outMu.Unlock()
						io.Copy(io.Discard, cc)
					}
					return
				}
				if first {
					first = false
					if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
						outMu.Lock()
						outErr = fmt.Errorf("server's first frame is %v, want SETTINGS", f.Header())
						outMu.Unlock()
					}
				}
				// The PING answered, or a GOAWAY: the server is closing.
				if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == stFuzzPing || f.Header().Type == http2.FrameGoAway {
					once.Do(func() { close(pinged) })
				}
			}
		}()

		var pre bytes.Buffer
		pre.WriteString(http2.ClientPreface)
		http2.NewFramer(&pre, nil).WriteSettings()
		cc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := cc.Write(pre.Bytes())
		if err == nil {
			_, err = cc.Write(data)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("server stopped reading for 2s without closing the connection")
		}
		if err == nil && stCompleteFrames(data) {
			var ping bytes.Buffer
			http2.NewFramer(&ping, nil).WritePing(false, stFuzzPing)
			_, err = cc.Write(ping.Bytes())
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("server stopped reading for 2s without closing the connection")
			}
			select {
			case <-pinged:
			case <-outEnded:
			case <-time.After(2 * time.Second):
				t.Fatalf("after complete frames, the server neither answered a PING, nor sent GOAWAY, nor closed within 2s")
			}
		}
		cc.Close()
		select {
		case ok := <-served:
			if !ok {
				t.Fatalf("ServeConn returned false")
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("ServeConn did not return within 2s of the client closing")
		}
		deadline := time.Now().Add(2 * time.Second)
		for inFlight.Load() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d handlers still running 2s after the connection closed", inFlight.Load())
			}
			time.Sleep(time.Millisecond)
		}
		<-outEnded
		outMu.Lock()
		defer outMu.Unlock()
		if outErr != nil {
			t.Error(outErr)
		}
		badMu.Lock()
		defer badMu.Unlock()
		for _, b := range bad {
			t.Error(b)
		}
	})
}

// stFuzzSeeds are valid and invalid frame sequences, each as sent after
// the preface and the client's SETTINGS.
func stFuzzSeeds() [][]byte {
	type seq func(fr *http2.Framer, enc func(fields ...string) []byte)
	req := func(method, path string, extra ...string) []string {
		return append([]string{":method", method, ":scheme", "http", ":authority", "fuzz.test", ":path", path}, extra...)
	}
	hdrs := func(fr *http2.Framer, id uint32, end bool, block []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: end, EndHeaders: true})
	}
	seqs := []seq{
		// Valid.
		func(fr *http2.Framer, enc func(...string) []byte) { // GET
			hdrs(fr, 1, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // settings ack, then GET
			fr.WriteSettingsAck()
			hdrs(fr, 1, true, enc(req("GET", "/?q=1", "user-agent", "fuzz", "cookie", "a=1", "cookie", "b=2")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // POST with body
			hdrs(fr, 1, false, enc(req("POST", "/echo", "content-length", "5")...))
			fr.WriteData(1, true, []byte("hello"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // POST without length, several DATA
			hdrs(fr, 1, false, enc(req("POST", "/")...))
			fr.WriteData(1, false, []byte("a"))
			fr.WriteData(1, false, nil)
			fr.WriteData(1, true, []byte("bc"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // padded DATA
			hdrs(fr, 1, false, enc(req("PUT", "/p", "content-length", "3")...))
			fr.WriteDataPadded(1, true, []byte("abc"), make([]byte, 7))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // HEADERS + CONTINUATION
			b := enc(req("GET", "/cont", "x-a", strings.Repeat("v", 40))...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:10], EndStream: true})
			fr.WriteContinuation(1, false, b[10:20])
			fr.WriteContinuation(1, true, b[20:])
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // HEADERS with priority and padding
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: enc(req("GET", "/")...), EndStream: true,
				EndHeaders: true, PadLength: 5, Priority: http2.PriorityParam{StreamDep: 1, Exclusive: true, Weight: 200}})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // PRIORITY frames
			fr.WritePriority(1, http2.PriorityParam{StreamDep: 0, Weight: 16})
			fr.WritePriority(5, http2.PriorityParam{StreamDep: 3, Weight: 1})
			hdrs(fr, 7, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // request then RST_STREAM
			hdrs(fr, 1, false, enc(req("POST", "/")...))
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
			hdrs(fr, 3, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // SETTINGS of every kind
			fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0},
				http2.Setting{ID: http2.SettingEnablePush, Val: 0},
				http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 10},
				http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10},
				http2.Setting{ID: http2.SettingMaxFrameSize, Val: 20000},
				http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: 100},
				http2.Setting{ID: 0x99, Val: 7})
			hdrs(fr, 1, true, enc(req("GET", "/big")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // small window, then updates
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
			hdrs(fr, 1, true, enc(req("GET", "/big")...))
			fr.WriteWindowUpdate(1, 1000)
			fr.WriteWindowUpdate(0, 1000)
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
			fr.WriteWindowUpdate(1, 1<<20)
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // client GOAWAY
			hdrs(fr, 1, true, enc(req("GET", "/")...))
			fr.WriteGoAway(0, http2.ErrCodeNo, []byte("bye"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // PINGs
			fr.WritePing(false, [8]byte{1})
			fr.WritePing(true, [8]byte{2})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // unknown frame types
			fr.WriteRawFrame(0xfa, 0xff, 0, []byte("x"))
			fr.WriteRawFrame(0x0a, 0, 1, nil)
			hdrs(fr, 1, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // trailers
			hdrs(fr, 1, false, enc(req("POST", "/", "trailer", "x-t", "te", "trailers")...))
			fr.WriteData(1, false, []byte("body"))
			hdrs(fr, 1, true, enc("x-t", "v"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // expect 100-continue
			hdrs(fr, 1, false, enc(req("POST", "/", "expect", "100-continue", "content-length", "2")...))
			fr.WriteData(1, true, []byte("hi"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // many streams, flushed responses
			for id := uint32(1); id < 40; id += 2 {
				hdrs(fr, id, true, enc(req("GET", "/flush")...))
			}
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // HEAD and OPTIONS *
			hdrs(fr, 1, true, enc(req("HEAD", "/big")...))
			hdrs(fr, 3, true, enc(req("OPTIONS", "*")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // CONNECT
			hdrs(fr, 1, false, enc(":method", "CONNECT", ":authority", "fuzz.test:443"))
			fr.WriteData(1, true, []byte("tunnel"))
		},
		// Invalid.
		func(fr *http2.Framer, enc func(...string) []byte) { // DATA on stream 0
			fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("x"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // HEADERS on an even stream
			hdrs(fr, 2, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // WINDOW_UPDATE of 0
			hdrs(fr, 1, false, enc(req("POST", "/")...))
			fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 1, []byte{0, 0, 0, 0})
			fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 0, []byte{0, 0, 0, 0})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // invalid SETTINGS
			fr.WriteRawFrame(http2.FrameSettings, 0, 0, []byte{0, 4, 0x80, 0, 0, 0})
			fr.WriteRawFrame(http2.FrameSettings, 0, 0, []byte{0, 5, 0, 0, 0, 1})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // CONTINUATION without HEADERS
			fr.WriteContinuation(1, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // header block left open
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(req("GET", "/")...)})
			fr.WriteContinuation(1, false, nil)
			fr.WriteData(1, true, []byte("x"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // malformed requests
			hdrs(fr, 1, true, enc(":method", "GET", ":path", "/"))
			hdrs(fr, 3, true, enc(req("GET", "/", "Upper", "x")...))
			hdrs(fr, 5, true, enc(req("GET", "/", "connection", "close")...))
			hdrs(fr, 7, true, enc(req("G T", "")...))
			hdrs(fr, 9, true, enc(req("GET", "/", ":path", "/2")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // content-length mismatch
			hdrs(fr, 1, false, enc(req("POST", "/", "content-length", "10")...))
			fr.WriteData(1, true, []byte("short"))
			hdrs(fr, 3, false, enc(req("POST", "/", "content-length", "1")...))
			fr.WriteData(3, true, []byte("long"))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // stream reuse and decreasing ids
			hdrs(fr, 5, true, enc(req("GET", "/")...))
			hdrs(fr, 5, true, enc(req("GET", "/")...))
			hdrs(fr, 3, true, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // DATA on a half-closed stream, over-long padding
			hdrs(fr, 1, true, enc(req("GET", "/")...))
			fr.WriteData(1, false, []byte("x"))
			hdrs(fr, 3, false, enc(req("POST", "/")...))
			fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, 3, []byte{9, 'a'})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // garbage HPACK
			hdrs(fr, 1, true, []byte{0xff, 0xff, 0xff, 0xff, 0x7f, 0x3f, 0xe1, 0x1f})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // oversized frame
			fr.WriteRawFrame(http2.FrameData, 0, 1, make([]byte, 16385))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // truncated frame
			fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 1, enc(req("GET", "/")...))
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // PUSH_PROMISE and RST on idle
			fr.WriteRawFrame(http2.FramePushPromise, http2.FlagPushPromiseEndHeaders, 1, []byte{0, 0, 0, 2})
			fr.WriteRSTStream(9, http2.ErrCodeCancel)
		},
	}
	var out [][]byte
	for i, s := range seqs {
		var buf, hbuf bytes.Buffer
		he := hpack.NewEncoder(&hbuf)
		enc := func(fields ...string) []byte {
			hbuf.Reset()
			for i := 0; i+1 < len(fields); i += 2 {
				he.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
			}
			return bytes.Clone(hbuf.Bytes())
		}
		fr := http2.NewFramer(&buf, nil)
		fr.AllowIllegalWrites = true
		s(fr, enc)
		b := buf.Bytes()
		if i == len(seqs)-2 { // the truncated frame
			b = b[:len(b)-3]
		}
		out = append(out, b)
	}
	return append(out, nil)
}
