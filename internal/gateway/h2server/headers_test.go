package h2server

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// hdrFrames is a header block as frames: the block split into fragments
// of at most split bytes (0: one HEADERS frame).
type hdrFrames struct {
	block     []byte
	split     int
	endStream bool
}

func encodeFields(enc *hpack.Encoder, buf *bytes.Buffer, fields ...string) []byte {
	buf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(buf.Bytes())
}

func writeBlock(t *testing.T, fr *http2.Framer, id uint32, b hdrFrames) {
	t.Helper()
	frag, rest := b.block, []byte(nil)
	if b.split > 0 && len(frag) > b.split {
		frag, rest = b.block[:b.split], b.block[b.split:]
	}
	err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag,
		EndStream: b.endStream, EndHeaders: len(rest) == 0})
	for err == nil && len(rest) > 0 {
		frag, rest = rest, nil
		if len(frag) > b.split {
			frag, rest = frag[:b.split], frag[b.split:]
		}
		err = fr.WriteContinuation(id, len(rest) == 0, frag)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// decoded is a header block as both readers report it.
type decoded struct {
	id        uint32
	endStream bool
	pseudo    []hpack.HeaderField
	regular   []hpack.HeaderField
	truncated bool
	err       string // the error's kind and code, not its text
}

func errKind(err error) string {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return fmt.Sprintf("stream %d %v", se.StreamID, se.Code)
	case errors.As(err, &ce):
		return fmt.Sprintf("connection %v", http2.ErrCode(ce))
	}
	return "other: " + err.Error()
}

// readWithFramer is the reference: http2.Framer with ReadMetaHeaders.
func readWithFramer(wire []byte, max uint32, n int) []decoded {
	fr := http2.NewFramer(nil, bytes.NewReader(wire))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = max
	var out []decoded
	for range n {
		f, err := fr.ReadFrame()
		if err != nil {
			out = append(out, decoded{err: errKind(err)})
			if _, ok := err.(http2.StreamError); ok {
				continue
			}
			break
		}
		mh := f.(*http2.MetaHeadersFrame)
		out = append(out, decoded{id: mh.StreamID, endStream: mh.StreamEnded(),
			pseudo: mh.PseudoFields(), regular: mh.RegularFields(), truncated: mh.Truncated})
	}
	return out
}

func readWithHeaderReader(wire []byte, max uint32, n int) []decoded {
	fr := http2.NewFramer(nil, bytes.NewReader(wire))
	hr := newHeaderReader(max)
	var out []decoded
	for range n {
		f, err := fr.ReadFrame()
		var b *headerBlock
		if err == nil {
			b, err = hr.read(fr, f.(*http2.HeadersFrame))
		}
		if err != nil {
			out = append(out, decoded{err: errKind(err)})
			if _, ok := err.(http2.StreamError); ok {
				continue
			}
			break
		}
		// The fields are the reader's until the next block.
		out = append(out, decoded{id: b.streamID, endStream: b.endStream,
			pseudo: slices.Clone(b.pseudoFields()), regular: slices.Clone(b.regularFields()), truncated: b.truncated})
	}
	return normalize(out)
}

// normalize: an empty part of a block is nil or empty, depending on the
// reader; compare them as nil.
func normalize(ds []decoded) []decoded {
	for i := range ds {
		if len(ds[i].pseudo) == 0 {
			ds[i].pseudo = nil
		}
		if len(ds[i].regular) == 0 {
			ds[i].regular = nil
		}
	}
	return ds
}

// TestHeaderReaderAsFramer: the header reader decodes every block as
// http2.Framer with ReadMetaHeaders does (fields, truncation, stream and
// connection errors), over blocks in one frame and split into
// CONTINUATIONs, with the HPACK state carried from block to block.
func TestHeaderReaderAsFramer(t *testing.T) {
	req := []string{":method", "GET", ":scheme", "http", ":path", "/color/", ":authority", "gw.local",
		"user-agent", "test", "accept", "*/*"}
	long := strings.Repeat("v", 300)
	huffBad := []byte{0x40, 0x0a} // literal with a name of 10 bytes, then nothing: the block ends mid-field
	cases := []struct {
		name   string
		max    uint32
		blocks func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames
	}{
		{"request", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, req...), endStream: true}}
		}},
		{"continuations", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, append(req, "x-long", long)...), split: 7}}
		}},
		{"dynamic table across blocks", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{
				{block: encodeFields(enc, buf, append(req, "x-a", "1")...)},
				{block: encodeFields(enc, buf, append(req, "x-a", "1")...), split: 3},
				{block: encodeFields(enc, buf, append(req, "x-a", "2")...)},
			}
		}},
		{"trailers", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, "grpc-status", "0", "trailer", "a, b,c"), endStream: true}}
		}},
		{"pseudo after regular", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{
				{block: encodeFields(enc, buf, "user-agent", "x", ":method", "GET")},
				{block: encodeFields(enc, buf, req...)},
			}
		}},
		{"upper-case name", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, append(req, "X-Up", "1")...)}, {block: encodeFields(enc, buf, req...)}}
		}},
		{"invalid value", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, append(req, "x-bad", "a\x00b")...)}, {block: encodeFields(enc, buf, req...)}}
		}},
		{"invalid field, then a CONTINUATION", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, "X-Up", "1", "x-long", long), split: 8}}
		}},
		{"duplicate pseudo", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, append(req, ":path", "/b")...)}}
		}},
		{"unknown pseudo", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, ":method", "GET", ":nope", "1")}}
		}},
		{"request and response pseudo", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, ":method", "GET", ":status", "200")}}
		}},
		{"over the list size", 200, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, append(req, "x-a", "1", "x-b", "2", "x-c", "3")...)},
				{block: encodeFields(enc, buf, req...)}}
		}},
		{"trailer over its budget", 60, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, "trailer", "a,b,c", "x", "1")}}
		}},
		{"fragment beyond twice the list size", 100, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: encodeFields(enc, buf, "x-long", long)}}
		}},
		{"bad HPACK", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: []byte{0xff, 0xff, 0xff, 0xff, 0xff}}}
		}},
		{"block ends mid-field", 0, func(enc *hpack.Encoder, buf *bytes.Buffer) []hdrFrames {
			return []hdrFrames{{block: huffBad}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := hpack.NewEncoder(&buf)
			blocks := tc.blocks(enc, &buf)
			var wire bytes.Buffer
			fw := http2.NewFramer(&wire, nil)
			for i, b := range blocks {
				writeBlock(t, fw, uint32(2*i+1), b)
			}
			max := tc.max
			if max == 0 {
				max = 16 << 10
			}
			want := normalize(readWithFramer(wire.Bytes(), max, len(blocks)))
			got := readWithHeaderReader(wire.Bytes(), max, len(blocks))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("header reader:\n%+v\nhttp2.Framer:\n%+v", got, want)
			}
			if len(want) == 0 {
				t.Fatal("no block read")
			}
		})
	}
}

// BenchmarkHeaderReader: reading a request's header block, mostly
// indexed in the dynamic table, as the connection's reader does; the
// readers start over every 1024 blocks.
func BenchmarkHeaderReader(b *testing.B) {
	var buf, wire bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	fields := []string{":method", "GET", ":scheme", "http", ":path", "/color/", ":authority", "gw.local",
		"user-agent", "h2load nghttp2/1.64.0", "accept", "*/*"}
	fw := http2.NewFramer(&wire, nil)
	const blocks = 1024
	for i := range blocks {
		block := encodeFields(enc, &buf, fields...)
		fw.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block, EndStream: true, EndHeaders: true})
	}
	r := bytes.NewReader(nil)
	run := func(b *testing.B, read func(fr *http2.Framer) error, start func() *http2.Framer) {
		b.ReportAllocs()
		var fr *http2.Framer
		i := 0
		for b.Loop() {
			if i%blocks == 0 {
				r.Reset(wire.Bytes())
				fr = start()
			}
			i++
			if err := read(fr); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("framer", func(b *testing.B) {
		run(b, func(fr *http2.Framer) error {
			_, err := fr.ReadFrame()
			return err
		}, func() *http2.Framer {
			fr := http2.NewFramer(nil, r)
			fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
			return fr
		})
	})
	b.Run("headerReader", func(b *testing.B) {
		var hr *headerReader
		run(b, func(fr *http2.Framer) error {
			f, err := fr.ReadFrame()
			if err == nil {
				_, err = hr.read(fr, f.(*http2.HeadersFrame))
			}
			return err
		}, func() *http2.Framer {
			hr = newHeaderReader(16 << 10)
			return http2.NewFramer(nil, r)
		})
	})
}
