package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// DType is an element type.
type DType uint8

// The element types. Models compute in F32 or F64; I32 holds class targets
// and counts, I64 token ids and the num_batches_tracked buffers of
// BatchNorm, as PyTorch. I8, U8 and Bool are the types of quantized
// values, raw bytes and masks: the arena and both back ends hold them.
const (
	InvalidDType DType = iota
	F32
	F64
	I32
	I64
	I8
	U8
	Bool
)

var dtypeNames = [...]string{InvalidDType: "invalid", F32: "f32", F64: "f64", I32: "i32", I64: "i64", I8: "i8", U8: "u8", Bool: "bool"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == F32 || d == F64 }

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case F32, I32:
		return 4
	case F64, I64:
		return 8
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// ParseDType returns the DType named s ("f32", ...).
func ParseDType(s string) (DType, bool) {
	for d, n := range dtypeNames {
		if n == s && d != int(InvalidDType) {
			return DType(d), true
		}
	}
	return InvalidDType, false
}

// Batch marks the symbolic batch dimension in a Shape. A Shape holds it at
// most once; its size is known only when a graph runs.
const Batch = -1

// Shape is a list of dimensions, outermost first; a dimension is a positive
// size or Batch.
type Shape []int

// Rank is the number of dimensions.
func (s Shape) Rank() int { return len(s) }

// HasBatch reports whether s holds the batch dimension.
func (s Shape) HasBatch() bool {
	for _, d := range s {
		if d == Batch {
			return true
		}
	}
	return false
}

// Elems returns the number of elements per batch row: the product of the
// dimensions other than the batch one.
func (s Shape) Elems() int {
	n := 1
	for _, d := range s {
		if d != Batch {
			n *= d
		}
	}
	return n
}

// Size returns the number of elements for batch size n.
func (s Shape) Size(n int) int {
	if s.HasBatch() {
		return s.Elems() * n
	}
	return s.Elems()
}

// Channels splits a [N, C] or [N, C, H, W] shape, as batch norm and the
// per-channel kernels see it: c channels of hw elements per row.
func (s Shape) Channels() (c, hw int) {
	c, hw = s[1], 1
	for _, d := range s[2:] {
		hw *= d
	}
	return c, hw
}

// Equal reports whether s and t are the same shape.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Format writes s with the batch dimension called batch and sep between
// dimensions: "[N, 10]" for diagnostics, "[N,10]" for the IR text.
func (s Shape) Format(batch, sep string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteString(sep)
		}
		if d == Batch {
			b.WriteString(batch)
		} else {
			b.WriteString(strconv.Itoa(d))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// String formats s as in diagnostics: [N, 10].
func (s Shape) String() string { return s.Format("N", ", ") }

// Type is the type of a value: an element type and a shape.
type Type struct {
	DType DType
	Shape Shape
}

// String formats t as in the IR text: f32[N,10].
func (t Type) String() string { return t.DType.String() + t.Shape.Format("N", ",") }

// Equal reports whether t and u are the same type.
func (t Type) Equal(u Type) bool { return t.DType == u.DType && t.Shape.Equal(u.Shape) }

// Broadcast returns the NumPy broadcast of shapes a and b, or false when
// they do not broadcast. The batch dimension broadcasts with itself and
// with 1 only: its size is not known when the graph is built.
func Broadcast(a, b Shape) (Shape, bool) {
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := 1; i <= n; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db:
			out[n-i] = da
		case da == 1:
			out[n-i] = db
		case db == 1:
			out[n-i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// parseType parses the IR text form of a type, f32[N,10].
func parseType(s string) (Type, error) {
	open := strings.IndexByte(s, '[')
	if open < 0 || !strings.HasSuffix(s, "]") {
		return Type{}, fmt.Errorf("bad type %q", s)
	}
	dt, ok := ParseDType(s[:open])
	if !ok {
		return Type{}, fmt.Errorf("unknown dtype %q", s[:open])
	}
	t := Type{DType: dt, Shape: Shape{}}
	body := s[open+1 : len(s)-1]
	if body == "" {
		return t, nil
	}
	for _, f := range strings.Split(body, ",") {
		if f == "N" {
			t.Shape = append(t.Shape, Batch)
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d <= 0 {
			return Type{}, fmt.Errorf("bad dimension %q in type %q", f, s)
		}
		t.Shape = append(t.Shape, d)
	}
	return t, nil
}
