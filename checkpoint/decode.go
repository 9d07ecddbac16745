package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header, in bytes, that Decode accepts.
const MaxHeaderSize = 100 << 20

// metadataKey is the header key that holds the metadata instead of a
// tensor.
const metadataKey = "__metadata__"

// Decode parses a safetensors file held in b.
//
// It checks every claim of the header against b before using it, so a
// truncated, corrupt or hostile file yields an error that says what is
// wrong. Beyond the format's own rules, a tensor name may appear only once
// and a tensor entry may hold no field other than dtype, shape and
// data_offsets. The data of distinct tensors must not overlap; unused
// bytes between or after them are allowed.
//
// The returned tensors are sorted by name and do not share memory with b.
func Decode(b []byte) (*File, error) {
	f, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return f, nil
}

// entry is a tensor as the header describes it.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int
}

func decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	rest := uint64(len(b) - 8)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > rest {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after it", n, rest)
	}
	header, data := b[8:8+n], b[8+n:]
	if !utf8.Valid(header) {
		return nil, errors.New("header is not valid UTF-8")
	}

	p := &parser{dec: json.NewDecoder(bytes.NewReader(header))}
	p.dec.UseNumber()
	f := &File{}
	entries, err := p.header(f, len(data))
	if err != nil {
		return nil, err
	}

	// Check for overlaps in data order; an empty tensor overlaps nothing.
	byOffset := slices.DeleteFunc(slices.Clone(entries), func(e *entry) bool { return e.begin == e.end })
	slices.SortFunc(byOffset, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), strings.Compare(a.name, b.name))
	})
	for i := 1; i < len(byOffset); i++ {
		a, b := byOffset[i-1], byOffset[i]
		if b.begin < a.end {
			return nil, fmt.Errorf("tensors %q %s and %q %s overlap", a.name, offsets(a.begin, a.end), b.name, offsets(b.begin, b.end))
		}
	}

	slices.SortFunc(entries, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	f.Tensors = make([]*Tensor, len(entries))
	for i, e := range entries {
		f.Tensors[i] = e.tensor(data[e.begin:e.end])
	}
	return f, nil
}

// offsets formats a tensor's data offsets as they appear in the header.
func offsets(begin, end int) string {
	return fmt.Sprintf("[%d, %d]", begin, end)
}

// tensor converts the little-endian bytes of e, whose length has been
// checked, into a Tensor.
func (e *entry) tensor(b []byte) *Tensor {
	t := &Tensor{Name: e.name, Shape: e.shape}
	switch e.dtype {
	case F32:
		t.F32 = make([]float32, len(b)/4)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F64:
		t.F64 = make([]float64, len(b)/8)
		for i := range t.F64 {
			t.F64[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I64:
		t.I64 = make([]int64, len(b)/8)
		for i := range t.I64 {
			t.I64[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		t.I32 = make([]int32, len(b)/4)
		for i := range t.I32 {
			t.I32[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case I8:
		t.I8 = make([]int8, len(b))
		for i := range t.I8 {
			t.I8[i] = int8(b[i])
		}
	}
	return t
}

// parser walks the JSON header token by token, which lets it see repeated
// keys that decoding into a map would silently merge.
type parser struct {
	dec *json.Decoder
}

// token returns the next JSON token, turning the decoder's errors into
// errors that say the header is not valid JSON.
func (p *parser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("header is not valid JSON: %v", err)
	}
	return tok, nil
}

// key returns the next key of the object being walked, or ok false at the
// end of the object.
func (p *parser) key() (key string, ok bool, err error) {
	tok, err := p.token()
	if err != nil {
		return "", false, err
	}
	if tok == json.Delim('}') {
		return "", false, nil
	}
	// The decoder guarantees that an object key is a string.
	return tok.(string), true, nil
}

// header parses the whole header, storing the metadata in f and returning
// the tensor entries in header order. Each entry's offsets are checked
// against dataLen, the number of bytes after the header.
func (p *parser) header(f *File, dataLen int) ([]*entry, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("header is not a JSON object")
	}
	var entries []*entry
	seen := make(map[string]bool)
	for {
		name, ok, err := p.key()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if seen[name] {
			if name == metadataKey {
				return nil, fmt.Errorf("%q appears more than once in the header", name)
			}
			return nil, fmt.Errorf("tensor %q appears more than once in the header", name)
		}
		seen[name] = true
		if name == metadataKey {
			if f.Metadata, err = p.metadata(); err != nil {
				return nil, err
			}
			continue
		}
		e, err := p.entry(name, dataLen)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errors.New("header has data after its JSON object")
	}
	return entries, nil
}

// metadata parses the "__metadata__" object, which maps strings to strings.
// A null is taken as no metadata.
func (p *parser) metadata() (map[string]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("%q is not an object", metadataKey)
	}
	m := make(map[string]string)
	for {
		k, ok, err := p.key()
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("metadata key %q appears more than once", k)
		}
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		v, isString := tok.(string)
		if !isString {
			return nil, fmt.Errorf("metadata value for %q is not a string", k)
		}
		m[k] = v
	}
}

// entry parses the object that describes tensor name and checks it against
// the dataLen bytes of data.
func (p *parser) entry(name string, dataLen int) (*entry, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("header entry %q is not an object", name)
	}
	e := &entry{name: name}
	var haveDType, haveShape, haveOffsets bool
	var begin, end uint64
	for {
		field, ok, err := p.key()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		var dup bool
		switch field {
		case "dtype":
			dup, haveDType = haveDType, true
			if !dup {
				err = p.dtype(e)
			}
		case "shape":
			dup, haveShape = haveShape, true
			if !dup {
				err = p.shape(e)
			}
		case "data_offsets":
			dup, haveOffsets = haveOffsets, true
			if !dup {
				begin, end, err = p.offsets(name)
			}
		default:
			return nil, fmt.Errorf("tensor %q has unknown field %q", name, field)
		}
		if dup {
			return nil, fmt.Errorf("tensor %q has field %q more than once", name, field)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case !haveDType:
		return nil, fmt.Errorf("tensor %q has no %q", name, "dtype")
	case !haveShape:
		return nil, fmt.Errorf("tensor %q has no %q", name, "shape")
	case !haveOffsets:
		return nil, fmt.Errorf("tensor %q has no %q", name, "data_offsets")
	}

	size := e.dtype.size()
	if size == 0 {
		return nil, fmt.Errorf("tensor %q has unsupported dtype %q (supported: F32, F64, I64, I32, I8)", name, e.dtype)
	}
	count, ok := numElements(e.shape, size)
	if !ok {
		return nil, fmt.Errorf("tensor %q has shape %s, whose size in bytes overflows", name, shapeString(e.shape))
	}
	if begin > end {
		return nil, fmt.Errorf("tensor %q has data_offsets [%d, %d], whose begin is after its end", name, begin, end)
	}
	if end > uint64(dataLen) {
		return nil, fmt.Errorf("tensor %q has data_offsets [%d, %d] beyond the %d bytes of data", name, begin, end, dataLen)
	}
	e.begin, e.end = int(begin), int(end)
	if want := count * size; e.end-e.begin != want {
		return nil, fmt.Errorf("tensor %q has data_offsets [%d, %d] holding %d bytes, but %s %s takes %d", name, begin, end, e.end-e.begin, e.dtype, shapeString(e.shape), want)
	}
	return e, nil
}

// dtype parses the value of a "dtype" field into e.
func (p *parser) dtype(e *entry) error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	s, ok := tok.(string)
	if !ok {
		return fmt.Errorf("tensor %q has a %q that is not a string", e.name, "dtype")
	}
	e.dtype = DType(s)
	return nil
}

// shape parses the value of a "shape" field into e.
func (p *parser) shape(e *entry) error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("tensor %q has a %q that is not an array", e.name, "shape")
	}
	e.shape = []int{}
	for {
		tok, err := p.token()
		if err != nil {
			return err
		}
		if tok == json.Delim(']') {
			return nil
		}
		d, ok := nonNegative(tok)
		if !ok || d > math.MaxInt {
			return fmt.Errorf("tensor %q has shape dimension %s, which is not a non-negative integer", e.name, tokenString(tok))
		}
		e.shape = append(e.shape, int(d))
	}
}

// offsets parses the value of a "data_offsets" field of tensor name.
func (p *parser) offsets(name string) (begin, end uint64, err error) {
	bad := func() error {
		return fmt.Errorf("tensor %q has %q that are not two non-negative integers", name, "data_offsets")
	}
	tok, err := p.token()
	if err != nil {
		return 0, 0, err
	}
	if tok != json.Delim('[') {
		return 0, 0, bad()
	}
	var v []uint64
	for {
		tok, err := p.token()
		if err != nil {
			return 0, 0, err
		}
		if tok == json.Delim(']') {
			break
		}
		x, ok := nonNegative(tok)
		if !ok || len(v) == 2 {
			return 0, 0, bad()
		}
		v = append(v, x)
	}
	if len(v) != 2 {
		return 0, 0, bad()
	}
	return v[0], v[1], nil
}

// nonNegative returns the value of tok if it is a JSON number written as a
// non-negative integer that fits in a uint64.
func nonNegative(tok json.Token) (uint64, bool) {
	n, ok := tok.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(string(n), 10, 64)
	return x, err == nil
}

// tokenString formats a JSON token for an error message.
func tokenString(tok json.Token) string {
	switch t := tok.(type) {
	case json.Number:
		return string(t)
	case string:
		return strconv.Quote(t)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}
