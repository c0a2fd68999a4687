package h2server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// fieldStep is one step of a connection's header writing: a header
// block's fields, or a change of the peer's table size limit.
type fieldStep struct {
	fields   []string // name, value pairs
	setLimit bool     // instead of a block: the peer's SETTINGS_HEADER_TABLE_SIZE
	limit    uint32
}

func limitStep(v uint32) fieldStep { return fieldStep{setLimit: true, limit: v} }

// countingWriter counts the encoder's writes: one a field it encodes.
type countingWriter struct {
	f *fieldEncoder
	n *int
}

func (w countingWriter) Write(p []byte) (int, error) {
	*w.n++
	return w.f.Write(p)
}

// encodeBoth encodes steps with a fieldEncoder and with a plain
// hpack.Encoder, and fails unless every block is byte for byte the same
// and decodes to its fields. It returns how many fields the memo wrote.
func encodeBoth(t testing.TB, steps []fieldStep) (hits int) {
	var got, want bytes.Buffer
	var block []byte
	f := newFieldEncoder(&block)
	encoded := 0
	f.enc = hpack.NewEncoder(countingWriter{f, &encoded})
	plain := hpack.NewEncoder(&want)
	dec := hpack.NewDecoder(4096, nil)
	for i, s := range steps {
		if s.setLimit {
			f.setMaxDynamicTableSizeLimit(s.limit)
			plain.SetMaxDynamicTableSizeLimit(s.limit)
			continue
		}
		block = block[:0]
		want.Reset()
		for j := 0; j < len(s.fields); j += 2 {
			before := encoded
			f.encode(s.fields[j], s.fields[j+1])
			if encoded == before {
				hits++
			}
			plain.WriteField(hpack.HeaderField{Name: s.fields[j], Value: s.fields[j+1]})
		}
		got.Reset()
		got.Write(block)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("step %d: memo wrote %x, the encoder %x", i, got.Bytes(), want.Bytes())
		}
		hf, err := dec.DecodeFull(got.Bytes())
		if err != nil {
			t.Fatalf("step %d: decoding: %v", i, err)
		}
		var fields []string
		for _, h := range hf {
			fields = append(fields, h.Name, h.Value)
		}
		if fmt.Sprint(fields) != fmt.Sprint(s.fields) {
			t.Fatalf("step %d: decoded %q, want %q", i, fields, s.fields)
		}
	}
	return hits
}

func TestFieldEncoderMatchesTheEncoder(t *testing.T) {
	resp := func(date, length string) []string {
		return []string{":status", "200", "content-type", "text/plain", "content-length", length, "date", date}
	}
	long := strings.Repeat("v", 3000) // most of the table: adding it evicts
	for _, tc := range []struct {
		name  string
		steps []fieldStep
		hits  int // fields the memo wrote, worked out by hand
	}{
		{"the same response again", []fieldStep{
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "1024")},
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "1024")},
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "1024")},
		}, 4}, // the first block adds three fields; the second fills the memo
		{"a new date moves every index", []fieldStep{
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "1024")},
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "1024")},
			{fields: resp("Fri, 27 Nov 2026 00:00:01 GMT", "1024")},
			{fields: resp("Fri, 27 Nov 2026 00:00:01 GMT", "1024")},
			{fields: resp("Fri, 27 Nov 2026 00:00:01 GMT", "1024")},
		}, 7}, // the third block's date empties the memo, the fourth fills it again
		{"evictions", []fieldStep{
			{fields: []string{"x-a", "1", "x-long", long}},
			{fields: []string{"x-a", "1", "x-b", long}},
			{fields: []string{"x-a", "1", "x-long", long}},
			{fields: []string{"x-a", "1"}},
		}, 0}, // every other block adds to the table
		{"the peer shrinks the table", []fieldStep{
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "7")},
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "7")},
			limitStep(64),
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "7")},
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "7")},
			limitStep(0),
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "7")},
			{fields: resp("Fri, 27 Nov 2026 00:00:00 GMT", "7")},
		}, 3}, // at 64 bytes the table keeps at most one field; at 0 nothing is added
		{"a long field is not kept", []fieldStep{
			{fields: []string{"x-v", strings.Repeat("w", 100)}},
			{fields: []string{"x-v", strings.Repeat("w", 100)}},
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if hits := encodeBoth(t, tc.steps); hits != tc.hits {
				t.Errorf("the memo wrote %d fields, want %d", hits, tc.hits)
			}
		})
	}
}

// FuzzFieldEncoder: any sequence of fields and limits encodes as the
// plain encoder does.
func FuzzFieldEncoder(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 1, 2, 9, 3, 0, 1}, uint16(100))
	f.Add([]byte{5, 5, 5, 7, 7, 7, 200, 5}, uint16(0))
	f.Fuzz(func(t *testing.T, ops []byte, limit uint16) {
		names := []string{":status", "content-type", "date", "x-a", "set-cookie"}
		values := []string{"200", "text/plain", "a", strings.Repeat("b", 40), strings.Repeat("c", 900)}
		var steps []fieldStep
		var cur []string
		for _, op := range ops {
			switch {
			case op >= 200:
				steps = append(steps, fieldStep{fields: cur}, limitStep(uint32(limit)%5000))
				cur = nil
			case op%7 == 6:
				steps = append(steps, fieldStep{fields: cur})
				cur = nil
			default:
				cur = append(cur, names[int(op)%len(names)], values[int(op/7)%len(values)])
			}
		}
		steps = append(steps, fieldStep{fields: cur})
		encodeBoth(t, steps)
	})
}

// BenchmarkFieldEncoder encodes a response's fields, the same ones each
// time as a connection's responses mostly are, with the memo and with the
// plain encoder.
func BenchmarkFieldEncoder(b *testing.B) {
	fields := []string{":status", "200", "content-type", "text/plain; charset=utf-8", "content-length", "1024",
		"date", "Fri, 27 Nov 2026 00:00:00 GMT", "x-envoy-upstream-service-time", "1"}
	b.Run("memo", func(b *testing.B) {
		var block []byte
		f := newFieldEncoder(&block)
		b.ReportAllocs()
		for b.Loop() {
			block = block[:0]
			for i := 0; i < len(fields); i += 2 {
				f.encode(fields[i], fields[i+1])
			}
		}
	})
	b.Run("hpack", func(b *testing.B) {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			for i := 0; i < len(fields); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
			}
		}
	})
}
