package h2server

import "golang.org/x/net/http2/hpack"

// fieldEncoder is a connection's HPACK encoder with a memo of what it
// wrote for recent fields.
//
// A response's fields are mostly the ones the connection's previous
// response had (:status 200, its content-type, its content-length), and
// the encoder answers each by searching its static and dynamic tables:
// up to four map lookups hashing the name and value, the gateway's
// largest use of maps on h2c. While the dynamic table does not change, the encoder writes
// the same bytes for the same field, so the memo writes them again
// instead. Every representation that changes the table (a literal with
// incremental indexing, a table size update) and every change of the
// table's limit empties the memo: the indexes it holds may have moved.
type fieldEncoder struct {
	enc  *hpack.Encoder
	out  *[]byte // the header block being written
	memo [fieldMemoSize]fieldMemo
	next int // the entry the next one replaces
}

// A response's fields fit, and a miss scans them all: a small number.
const fieldMemoSize = 8

// fieldMemoMax bounds what an entry keeps: longer fields are written by
// the encoder each time.
const fieldMemoMax = 64

type fieldMemo struct {
	name, value string
	rep         []byte // nil: the entry is empty
}

func newFieldEncoder(out *[]byte) *fieldEncoder {
	f := &fieldEncoder{out: out}
	f.enc = hpack.NewEncoder(f)
	return f
}

// Write collects the encoder's output.
func (f *fieldEncoder) Write(p []byte) (int, error) {
	*f.out = append(*f.out, p...)
	return len(p), nil
}

// encode appends name: value to the header block.
func (f *fieldEncoder) encode(name, value string) {
	for i := range f.memo {
		if m := &f.memo[i]; m.rep != nil && m.name == name && m.value == value {
			*f.out = append(*f.out, m.rep...)
			return
		}
	}
	start := len(*f.out)
	f.enc.WriteField(hpack.HeaderField{Name: name, Value: value})
	rep := (*f.out)[start:]
	switch {
	case len(rep) == 0:
	case rep[0]&0xc0 == 0x40, rep[0]&0xe0 == 0x20:
		// Added to the table (RFC 7541 §6.2.1), or a size update
		// (§6.3) before the field: the table changed.
		f.forget()
	case len(rep) <= fieldMemoMax:
		m := &f.memo[f.next]
		f.next = (f.next + 1) % fieldMemoSize
		m.name, m.value = name, value
		m.rep = append(m.rep[:0], rep...)
	}
}

// setMaxDynamicTableSizeLimit applies the peer's SETTINGS_HEADER_TABLE_SIZE.
func (f *fieldEncoder) setMaxDynamicTableSizeLimit(v uint32) {
	f.enc.SetMaxDynamicTableSizeLimit(v)
	f.forget() // and the next field goes to the encoder, which begins the block with the update
}

func (f *fieldEncoder) forget() {
	for i := range f.memo {
		f.memo[i].rep = nil
	}
}
